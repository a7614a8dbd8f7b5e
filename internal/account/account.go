// Package account runs what happens to a whole account and spans features:
// deactivating a user (signed out everywhere, API tokens revoked, out of
// automatic assignment, open conversations returned to routing) and
// reactivating them. The user's row stays, so history keeps their name.
package account

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/availability"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Service deactivates and reactivates accounts.
type Service struct {
	log           *event.Log
	auth          *auth.Service
	availability  *availability.Service
	conversations *conversation.Service
}

// New returns the service.
func New(log *event.Log, a *auth.Service, av *availability.Service, c *conversation.Service) *Service {
	return &Service{log: log, auth: a, availability: av, conversations: c}
}

// Deactivated says what deactivating an account did.
type Deactivated struct {
	User user.User `json:"user"`
	// APITokensRevoked is how many API tokens stopped working.
	APITokensRevoked int `json:"api_tokens_revoked"`
	// ConversationsReleased is how many open conversations were assigned
	// to them and went back to routing.
	ConversationsReleased int `json:"conversations_released"`
}

// Deactivate deactivates user id, by byUserID (who cannot deactivate
// themselves), in one transaction: the account is marked, becomes
// Unavailable (so automatic assignment passes it by), every session ends
// and every API token is revoked, and the open conversations assigned to
// it go to whom the inbox's automatic assignment picks, or wait
// unassigned.
func (s *Service) Deactivate(ctx context.Context, id, byUserID int64) (Deactivated, error) {
	if id == byUserID {
		return Deactivated{}, problem.Conflict("You cannot deactivate your own account.")
	}
	var out Deactivated
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		now := db.Now()
		u, err := user.SetDeactivated(ctx, tx.Tx, id, &now)
		if err != nil {
			return err
		}
		if _, err := s.availability.SetIn(ctx, tx, id, user.Unavailable); err != nil {
			return err
		}
		u.Status = user.Unavailable
		if out.APITokensRevoked, err = s.auth.SignOutEverywhere(ctx, tx.Tx, id); err != nil {
			return err
		}
		if out.ConversationsReleased, err = s.conversations.Release(ctx, tx, id); err != nil {
			return err
		}
		out.User = u
		return nil
	})
	if err != nil {
		return Deactivated{}, fmt.Errorf("account: deactivate: %w", err)
	}
	return out, nil
}

// Reactivate lets user id sign in again with their password. They come
// back Unavailable, with their role and inbox memberships; sessions and
// API tokens ended by the deactivation stay ended.
func (s *Service) Reactivate(ctx context.Context, id int64) (user.User, error) {
	var u user.User
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		u, err = user.SetDeactivated(ctx, tx.Tx, id, nil)
		return err
	})
	if err != nil {
		return user.User{}, fmt.Errorf("account: reactivate: %w", err)
	}
	s.auth.Forget(id)
	return u, nil
}
