// Package flash keeps what a page shows once after a redirect: a form that
// creates something answers 303 to a page that can be reloaded safely, and
// what must be shown exactly once (a new inbox's identity secret, a new API
// token, an invitation link) waits for that page in a short-lived,
// single-use row.
//
// The row is looked up by the hash of a random id that travels in the
// redirect's URL, and its value is sealed with a key made from that id:
// the database alone does not give the secret away, and the row is deleted
// by the read that shows it, so reloading the page shows it no more. A row
// belongs to the user whose form made it; another user's read finds
// nothing. Rows are good for Lifetime; older ones are deleted as new ones
// are put.
package flash

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Lifetime is how long a flash waits to be shown.
const Lifetime = 10 * time.Minute

// ErrNotFound is a flash that does not exist, was shown already, has
// expired or is another user's.
var ErrNotFound = errors.New("flash: not found")

// Store keeps flashes in the database.
type Store struct {
	db *db.DB
	// Now is the clock (db.Now unless a test sets it).
	Now func() time.Time
}

// NewStore returns a store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d, Now: db.Now} }

// box seals with the key of id.
func box(id string) *secret.Box {
	k := sha256.Sum256([]byte("switchboard flash\x00" + id))
	b, err := secret.NewBox(k[:])
	if err != nil {
		panic(err) // a 32-byte key never fails
	}
	return b
}

// Put keeps v (encoded as JSON) for userID under kind and returns the id
// to carry in the URL of the page that shows it.
func (s *Store) Put(ctx context.Context, userID int64, kind string, v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("flash: put: %w", err)
	}
	id, hash := secret.NewToken("")
	sealed, err := box(id).Seal(string(raw))
	if err != nil {
		return "", fmt.Errorf("flash: put: %w", err)
	}
	now := s.Now()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM flashes WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO flashes (id_hash, user_id, kind, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hash, userID, kind, sealed, now.Add(Lifetime))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("flash: put: %w", err)
	}
	return id, nil
}

// Take reads into v the flash id of userID and kind, and deletes it: a
// second Take of the same id is ErrNotFound.
func (s *Store) Take(ctx context.Context, userID int64, kind, id string, v any) error {
	if id == "" {
		return ErrNotFound
	}
	var sealed string
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM flashes WHERE id_hash = $1 AND user_id = $2 AND kind = $3 AND expires_at > $4 RETURNING sealed`,
			secret.HashToken(id), userID, kind, s.Now()).Scan(&sealed)
		return db.MapErr(err)
	})
	if errors.Is(err, db.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("flash: take: %w", err)
	}
	raw, err := box(id).Open(sealed)
	if err != nil {
		return fmt.Errorf("flash: take: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("flash: take: %w", err)
	}
	return nil
}
