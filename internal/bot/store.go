package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// List returns every bot, by name.
func (s *Service) List(ctx context.Context) ([]Bot, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM bots b ORDER BY lower(b.name), b.id`)
	if err != nil {
		return nil, fmt.Errorf("bot: list: %w", err)
	}
	defer rows.Close()
	out := []Bot{}
	for rows.Next() {
		b, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Get returns bot id.
func (s *Service) Get(ctx context.Context, id int64) (Bot, error) {
	return get(ctx, s.db, id)
}

// secretPrefix starts a bot's signing secret.
const secretPrefix = "sbk_"

// Create adds a bot. An external bot gets its token and signing secret,
// in this answer only.
func (s *Service) Create(ctx context.Context, n NewBot) (Created, error) {
	st := settings{name: n.Name, kind: n.Kind, inboxID: n.InboxID, active: n.Active == nil || *n.Active, menu: n.Menu, url: n.URL,
		handoffAfterS: n.HandoffAfterS}
	if st.handoffAfterS == 0 {
		st.handoffAfterS = int(DefaultHandoffAfter.Seconds())
	}
	var out Created
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		out = Created{}
		if err := st.check(ctx, tx); err != nil {
			return err
		}
		if err := freeInbox(ctx, tx, st, 0); err != nil {
			return err
		}
		var tokenHash, sealed any
		if st.kind == External {
			var hash string
			out.Token, hash = secret.NewToken(auth.BotTokenPrefix)
			tokenHash = hash
			key, _ := secret.NewToken(secretPrefix)
			out.SigningSecret = key
			var err error
			if sealed, err = s.box.Seal(key); err != nil {
				return err
			}
		} else {
			sealed = ""
		}
		now := db.Now()
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO bots (name, kind, inbox_id, active, menu, url, signing_secret, token_hash, handoff_after_s, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			st.name, st.kind, st.inboxID, st.active, marshalMenu(st.menu), st.url, sealed, tokenHash, st.handoffAfterS, now).Scan(&id)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return problem.Invalid("inbox_id", "This inbox has a bot already: switch that one off first.")
		} else if err != nil {
			return fmt.Errorf("bot: create: %w", err)
		}
		out.Bot, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// freeInbox refuses a bot active on an inbox that has another active bot
// (than exceptID).
func freeInbox(ctx context.Context, tx *event.Tx, st settings, exceptID int64) error {
	if !st.active || st.inboxID == nil {
		return nil
	}
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM bots WHERE inbox_id = $1 AND active AND id <> $2`, *st.inboxID, exceptID).Scan(&name)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return problem.Invalid("inbox_id", "This inbox has a bot already (%s): switch that one off first.", name)
}

// Update changes bot id. A bot switched off, or moved to another inbox,
// hands its open conversations to routing in the same transaction.
func (s *Service) Update(ctx context.Context, id int64, p Patch) (Created, error) {
	var out Created
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		out = Created{}
		b, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		st := settings{name: b.Name, kind: b.Kind, inboxID: b.InboxID, active: b.Active, menu: b.Menu, url: b.URL, handoffAfterS: b.HandoffAfterS}
		if p.Name != nil {
			st.name = *p.Name
		}
		if p.InboxID != nil {
			st.inboxID = p.InboxID
		}
		if p.NoInbox {
			st.inboxID = nil
		}
		if p.Active != nil {
			st.active = *p.Active
		}
		if p.Menu != nil {
			if b.Kind != Menu {
				return problem.Invalid("menu", "Only menu bots have a menu.")
			}
			st.menu = p.Menu
		}
		if p.URL != nil {
			if b.Kind != External {
				return problem.Invalid("url", "Only external bots have an address.")
			}
			st.url = *p.URL
		}
		if p.HandoffAfterS != nil {
			st.handoffAfterS = *p.HandoffAfterS
		}
		if (p.RotateToken || p.RotateSecret) && b.Kind != External {
			return problem.Invalid("kind", "Only external bots have a token and a signing secret.")
		}
		if err := st.check(ctx, tx); err != nil {
			return err
		}
		if err := freeInbox(ctx, tx, st, id); err != nil {
			return err
		}
		now := db.Now()
		_, err = tx.Exec(ctx, `UPDATE bots SET name = $2, inbox_id = $3, active = $4, menu = $5, url = $6, handoff_after_s = $7,
			updated_at = $8 WHERE id = $1`, id, st.name, st.inboxID, st.active, marshalMenu(st.menu), st.url, st.handoffAfterS, now)
		if errors.Is(db.MapErr(err), db.ErrConflict) {
			return problem.Invalid("inbox_id", "This inbox has a bot already: switch that one off first.")
		} else if err != nil {
			return fmt.Errorf("bot: update: %w", err)
		}
		if p.RotateToken {
			var hash string
			out.Token, hash = secret.NewToken(auth.BotTokenPrefix)
			if _, err := tx.Exec(ctx, `UPDATE bots SET token_hash = $2 WHERE id = $1`, id, hash); err != nil {
				return err
			}
		}
		if p.RotateSecret {
			key, _ := secret.NewToken(secretPrefix)
			sealed, err := s.box.Seal(key)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE bots SET signing_secret = $2 WHERE id = $1`, id, sealed); err != nil {
				return err
			}
			out.SigningSecret = key
		}
		if !st.active || deref(st.inboxID) != deref(b.InboxID) {
			if err := s.release(ctx, tx, id); err != nil {
				return err
			}
		}
		out.Bot, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// Delete removes bot id; its open conversations go to routing first.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return s.log.Write(ctx, func(tx *event.Tx) error {
		if _, err := get(ctx, tx, id); err != nil {
			return err
		}
		if err := s.release(ctx, tx, id); err != nil {
			return err
		}
		// Closed conversations keep no bot.
		if _, err := tx.Exec(ctx, `UPDATE conversations SET bot_id = NULL WHERE bot_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bots WHERE id = $1`, id); err != nil {
			return fmt.Errorf("bot: delete: %w", err)
		}
		return nil
	})
}

// release hands bot id's open conversations to routing, in tx.
func (s *Service) release(ctx context.Context, tx *event.Tx, id int64) error {
	ids, err := db.IDs(ctx, tx, `SELECT id FROM conversations WHERE bot_id = $1 AND status = 'open' ORDER BY id`, id)
	if err != nil {
		return err
	}
	for _, cid := range ids {
		c, err := conversation.Load(ctx, tx, cid)
		if err != nil {
			return err
		}
		if err := s.handoff(ctx, tx, &c, nil); err != nil {
			return err
		}
	}
	return nil
}
