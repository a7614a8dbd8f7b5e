package flash_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/flash"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestOnce: a flash is read once, by its user, before it expires, and the
// database holds its value sealed.
func TestOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		users := user.NewStore(d, event.NewLog(d, event.NewLocal(), nil), func(string) (string, error) { return "hash", nil })
		var ids []int64
		for _, e := range []string{"ana@example.com", "bo@example.com"} {
			u, err := users.Create(ctx, user.NewUser{Email: e, Name: "X", Role: policy.Admin, Password: "long enough password"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		now := db.Now()
		s := flash.NewStore(d)
		s.Now = func() time.Time { return now }

		type shown struct{ Secret string }
		id, err := s.Put(ctx, ids[0], "inbox", shown{"sbs_very_secret"})
		if err != nil {
			t.Fatal(err)
		}
		var sealed string
		if err := d.QueryRow(ctx, `SELECT sealed FROM flashes`).Scan(&sealed); err != nil || strings.Contains(sealed, "very_secret") {
			t.Fatalf("stored %q, %v", sealed, err)
		}
		var got shown
		if err := s.Take(ctx, ids[1], "inbox", id, &got); !errors.Is(err, flash.ErrNotFound) {
			t.Fatalf("another user's take: %v", err)
		}
		if err := s.Take(ctx, ids[0], "token", id, &got); !errors.Is(err, flash.ErrNotFound) {
			t.Fatalf("another kind: %v", err)
		}
		if err := s.Take(ctx, ids[0], "inbox", id, &got); err != nil || got.Secret != "sbs_very_secret" {
			t.Fatalf("take: %+v, %v", got, err)
		}
		if err := s.Take(ctx, ids[0], "inbox", id, &got); !errors.Is(err, flash.ErrNotFound) {
			t.Fatalf("second take: %v", err)
		}

		// Expired: not shown, and removed by the next put.
		old, err := s.Put(ctx, ids[0], "inbox", shown{"old"})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(flash.Lifetime)
		if err := s.Take(ctx, ids[0], "inbox", old, &got); !errors.Is(err, flash.ErrNotFound) {
			t.Fatalf("expired take: %v", err)
		}
		if _, err := s.Put(ctx, ids[0], "inbox", shown{"new"}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM flashes`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows after expiry: %d, %v", n, err)
		}
	})
}
