package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// TestSealed writes a sealed job whose payload does not show its value,
// runs it with the value opened and a deadline, and fails at once a payload
// that cannot be opened.
func TestSealed(t *testing.T) {
	t.Parallel()
	type note struct{ Code string }
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		box, err := secret.NewBox(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		q := job.NewQueue()
		got := make(chan note, 1)
		s := job.NewSealed(q, box, "note.send", job.Options{MaxAttempts: 2}, time.Minute, func(ctx context.Context, n note) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("run without a deadline")
			}
			got <- n
			return nil
		})
		ctx := context.Background()
		if err := d.Write(ctx, func(tx *db.Tx) error { return s.Enqueue(ctx, tx, note{Code: "918273"}) }); err != nil {
			t.Fatal(err)
		}
		var payload string
		var attempts int
		if err := d.QueryRow(ctx, `SELECT payload, max_attempts FROM jobs WHERE kind = 'note.send'`).Scan(&payload, &attempts); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(payload, "918273") || attempts != 2 {
			t.Fatalf("job payload %s, max attempts %d", payload, attempts)
		}
		if err := s.Handle(ctx, &job.Job{Kind: "note.send", Payload: json.RawMessage(payload)}); err != nil {
			t.Fatal(err)
		}
		if n := <-got; n.Code != "918273" {
			t.Errorf("ran with %+v", n)
		}
		err = s.Handle(ctx, &job.Job{Kind: "note.send", Payload: json.RawMessage(`{"sealed":"not sealed"}`)})
		if !job.IsPermanent(err) {
			t.Errorf("unreadable payload: %v, want a permanent error", err)
		}
	})
}
