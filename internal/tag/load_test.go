package tag_test

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/tag"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestFill gives each contact its own tags in order with one query, and
// leaves the list of a contact without tags as it was.
func TestFill(t *testing.T) {
	type item struct {
		ID   int64
		Tags []string
	}
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var ids [3]int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			for i := range ids {
				if err := tx.QueryRow(ctx, `INSERT INTO contacts (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id`, "C", db.Now()).Scan(&ids[i]); err != nil {
					return err
				}
			}
			for _, r := range []struct {
				id  int64
				tag string
			}{{ids[0], "vip"}, {ids[0], "billing"}, {ids[1], "new"}} {
				if _, err := tx.Exec(ctx, `INSERT INTO contact_tags (contact_id, tag) VALUES ($1, $2)`, r.id, r.tag); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		items := []*item{{ID: ids[0]}, {ID: ids[1]}, {ID: ids[2], Tags: []string{}}}
		if err := tag.Fill(ctx, d, tag.Table{Name: "contact_tags", Item: "contact_id"}, items, func(it *item) (int64, *[]string) { return it.ID, &it.Tags }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(items[0].Tags, []string{"billing", "vip"}) || !slices.Equal(items[1].Tags, []string{"new"}) || items[2].Tags == nil || len(items[2].Tags) != 0 {
			t.Errorf("tags %v %v %#v", items[0].Tags, items[1].Tags, items[2].Tags)
		}
	})
}
