package user_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

func TestSplitName(t *testing.T) {
	for in, want := range map[string][2]string{"Ana": {"Ana", ""}, " Bo Berg ": {"Bo", "Berg"}, "María José García": {"María", "José García"}, "": {"", ""}} {
		if f, l := user.SplitName(in); f != want[0] || l != want[1] {
			t.Errorf("SplitName(%q) = %q, %q", in, f, l)
		}
	}
}

// TestNames: a name is given in parts (the profile's first and last name)
// or whole (split at its first space); the whole name follows the parts,
// also when one part changes alone; the location is kept with the
// profile; bad parts are refused field by field and change nothing.
func TestNames(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := user.NewStore(d, event.NewLog(d, event.NewLocal(), nil), func(string) (string, error) { return "hash", nil })
		langs := []string{"en"}
		check := func(u user.User, err error, name, first, last, location string) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []user.User{u, got} {
				if x.Name != name || x.FirstName != first || x.LastName != last || x.Location != location {
					t.Errorf("name %q (%q, %q), location %q; want %q (%q, %q), %q", x.Name, x.FirstName, x.LastName, x.Location, name, first, last, location)
				}
			}
		}
		ana, err := s.Create(ctx, user.NewUser{Email: "ana@example.com", FirstName: " María José ", LastName: "García", Role: policy.Service, Password: "long enough password"})
		check(ana, err, "María José García", "María José", "García", "")
		bo, err := s.Create(ctx, user.NewUser{Email: "bo@example.com", Name: "Bo van Berg", Role: policy.Service, Password: "long enough password"})
		check(bo, err, "Bo van Berg", "Bo", "van Berg", "")

		u, err := s.UpdateProfile(ctx, ana.ID, user.ProfilePatch{LastName: new("García López"), Location: new(" Madrid, Spain ")}, langs)
		check(u, err, "María José García López", "María José", "García López", "Madrid, Spain")
		u, err = s.UpdateProfile(ctx, ana.ID, user.ProfilePatch{FirstName: new("Ana"), LastName: new(""), Location: new("")}, langs)
		check(u, err, "Ana", "Ana", "", "")
		u, err = s.UpdateProfile(ctx, ana.ID, user.ProfilePatch{Name: new("Ana Díaz")}, langs)
		check(u, err, "Ana Díaz", "Ana", "Díaz", "")
		u, err = s.Update(ctx, bo.ID, user.Patch{FirstName: new("Bob")})
		check(u, err, "Bob van Berg", "Bob", "van Berg", "")
		u, err = s.Update(ctx, bo.ID, user.Patch{Name: new("Bo Berg")})
		check(u, err, "Bo Berg", "Bo", "Berg", "")

		for _, tc := range []struct {
			p      user.ProfilePatch
			fields []string
		}{
			{user.ProfilePatch{FirstName: new(" "), LastName: new(strings.Repeat("x", 101))}, []string{"first_name", "last_name"}},
			{user.ProfilePatch{FirstName: new("A\x07"), Location: new(strings.Repeat("x", 101))}, []string{"first_name", "location"}},
			{user.ProfilePatch{Name: new("Ana Díaz"), FirstName: new("Ana")}, []string{"name"}},
			{user.ProfilePatch{Location: new("Madrid\tSpain")}, []string{"location"}},
		} {
			_, err := s.UpdateProfile(ctx, ana.ID, tc.p, langs)
			p, ok := problem.As(err)
			if !ok || len(p.Fields) != len(tc.fields) {
				t.Errorf("%+v: %v", tc.p, err)
				continue
			}
			for _, f := range tc.fields {
				if p.Fields[f] == "" {
					t.Errorf("%+v: no message on %s: %v", tc.p, f, p.Fields)
				}
			}
		}
		_, err = s.Create(ctx, user.NewUser{Email: "cy@example.com", LastName: "Cruz", Role: policy.Service, Password: "long enough password"})
		if p, ok := problem.As(err); !ok || p.Fields["first_name"] != "Enter a first name." {
			t.Errorf("a last name alone: %v", err)
		}
		u, _ = s.Get(ctx, ana.ID)
		check(u, nil, "Ana Díaz", "Ana", "Díaz", "")
	})
}
