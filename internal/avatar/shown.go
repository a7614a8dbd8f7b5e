package avatar

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Shown returns the avatar of a version if it is the picture of someone
// who shows customers their name (user.User.PublicName): what the web
// chat widget shows beside their replies. A version is the picture's
// hash, so two people with the same picture share it.
func (s *Store) Shown(ctx context.Context, version string) ([]byte, error) {
	if version == "" {
		return nil, ErrNone
	}
	var img []byte
	err := s.db.QueryRow(ctx, `SELECT a.image FROM avatars a JOIN users u ON u.id = a.user_id
		WHERE u.avatar_version = $1 AND u.public_name <> '' ORDER BY u.id LIMIT 1`, version).Scan(&img)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil, ErrNone
	} else if err != nil {
		return nil, fmt.Errorf("avatar: shown: %w", err)
	}
	return img, nil
}
