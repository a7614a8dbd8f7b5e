package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/secret"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Device cookies keep the account lockout from locking out the account's
// owner (OWASP's "device cookies"). Anyone who knows an email address can
// keep its account throttled by guessing passwords; a browser that signed
// in to the account before presents its device cookie, and its sign-ins
// are throttled by a counter of that device alone (login_attempts key
// "device:ID"), not by the account's or the address's. The cookie holds a
// random token, bound to one user and stored as a SHA-256 hash in
// login_devices; each sign-in replaces it (a copied cookie stops working
// when its owner signs in again). Wrong passwords from a device count
// against it like an account's (5 free, then a doubling wait), and the
// tenth revokes its token: that browser is a stranger again. Both the rows
// and the counters are in the database, so this holds across nodes.

const devicePrefix = "sbd_"

// DeviceLifetime is how long a device cookie is honoured after the last
// sign-in with it.
const DeviceLifetime = 180 * 24 * time.Hour

// deviceMaxFailures is the count of wrong passwords that revokes a device.
const deviceMaxFailures = 10

// devicesPerUser bounds how many browsers are remembered per user (the
// most recently used); programs that sign in without keeping cookies would
// otherwise add one each time.
const devicesPerUser = 20

func deviceKey(id int64) string { return "device:" + strconv.FormatInt(id, 10) }

// deviceOf returns the id of the live device of token when it belongs to
// the account of email, 0 otherwise (no cookie, an unknown, expired or
// revoked one, or another account's).
func (s *Service) deviceOf(ctx context.Context, token, email string) (int64, error) {
	if !strings.HasPrefix(token, devicePrefix) || len(token) > 100 {
		return 0, nil
	}
	var id int64
	err := s.db.QueryRow(ctx, `SELECT d.id FROM login_devices d JOIN users u ON u.id = d.user_id
		WHERE d.token_hash = $1 AND u.email = $2 AND d.expires_at > $3`, secret.HashToken(token), user.NormalizeEmail(email), s.now()).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("auth: device cookie: %w", err)
	}
	return id, nil
}

// deviceFailure counts a wrong password from device id; the last one it
// is allowed revokes it.
func (s *Service) deviceFailure(ctx context.Context, id int64) error {
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := s.failure(ctx, tx, []string{deviceKey(id)})
		if err != nil || n < deviceMaxFailures {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_devices WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM login_attempts WHERE key = $1`, deviceKey(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: device failure: %w", err)
	}
	return nil
}

// RememberDevice records that this browser signed in as userID and
// returns the token of its new device cookie. The browser's old token
// (previous, "" for none) is replaced when it was userID's; another
// user's is left to expire (a browser shared by two people remembers the
// last one).
func (s *Service) RememberDevice(ctx context.Context, userID int64, previous string) (string, error) {
	token, hash := secret.NewToken(devicePrefix)
	now := s.now()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if strings.HasPrefix(previous, devicePrefix) && len(previous) <= 100 {
			res, err := tx.Exec(ctx, `UPDATE login_devices SET token_hash = $3, last_used_at = $4, expires_at = $5 WHERE token_hash = $1 AND user_id = $2`,
				secret.HashToken(previous), userID, hash, now, now.Add(DeviceLifetime))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n > 0 {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO login_devices (user_id, token_hash, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
			userID, hash, now, now.Add(DeviceLifetime)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM login_devices WHERE user_id = $1 AND id NOT IN
			(SELECT id FROM login_devices WHERE user_id = $1 ORDER BY last_used_at DESC, id DESC LIMIT $2)`, userID, devicesPerUser)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("auth: remember device: %w", err)
	}
	return token, nil
}

// Prune deletes device cookies past their time. It returns how many went.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM login_devices WHERE expires_at < $1`, s.now())
	if err != nil {
		return 0, fmt.Errorf("auth: prune devices: %w", err)
	}
	return res.RowsAffected()
}
