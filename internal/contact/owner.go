package contact

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/user"
)

// OwnerRef names a contact's new owner: an agent by id, or by email. An
// email that is a user's sign-in address means that user; another
// address is kept as a pending owner until its person accepts an
// invitation. Neither (both nil, or an empty email) means no owner.
type OwnerRef struct {
	AgentID *int64  `json:"agent_id,omitempty"`
	Email   *string `json:"email,omitempty"`
}

// Patch is the change of owner that r names.
func (r OwnerRef) Patch() (Patch, error) {
	switch {
	case r.AgentID != nil && r.Email != nil:
		return Patch{}, problem.Invalid("agent_id", "Give either agent_id or email, not both.")
	case r.AgentID != nil:
		if *r.AgentID <= 0 {
			return Patch{}, problem.Invalid("agent_id", "There is no agent with id %d.", *r.AgentID)
		}
		return Patch{OwnerID: r.AgentID, ownerField: "agent_id"}, nil
	case r.Email != nil:
		return Patch{OwnerEmail: r.Email, ownerField: "email"}, nil
	}
	return Patch{OwnerID: new(int64)}, nil
}

// ResolveOwner turns the owner email of p into what it names, in tx:
// the user with that sign-in address (p.OwnerID, to be checked by
// Validate as any owner), or a pending owner (p.OwnerID 0 and
// p.OwnerEmail kept, normalised); an empty address clears the owner. A
// patch without an owner email is left as it is.
//
// On PostgreSQL an invitation of the address may be being accepted at
// the same moment; its acceptance claims the contacts pending on the
// address (ClaimPending). The invitation's row is locked before the
// users are read, so that either the acceptance commits first and the
// user is found here, or it waits for this transaction and then finds
// the contact pending. (SQLite has one writer: nothing runs between.)
func ResolveOwner(ctx context.Context, tx *db.Tx, p *Patch) error {
	if p.OwnerEmail == nil {
		return nil
	}
	field := p.ownerField
	if field == "" {
		field = "owner_email"
	}
	email := user.NormalizeEmail(*p.OwnerEmail)
	if email == "" {
		p.OwnerID, p.OwnerEmail = new(int64), nil
		return nil
	}
	if msg := user.ValidateEmail(email); msg != "" {
		return problem.Invalid(field, "%s", msg)
	}
	if _, err := tx.Exec(ctx, `UPDATE invitations SET email = email WHERE email = $1`, email); err != nil {
		return fmt.Errorf("contact: owner: %w", err)
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&id)
	switch {
	case errors.Is(db.MapErr(err), db.ErrNotFound):
		p.OwnerID, p.OwnerEmail = new(int64), &email
	case err != nil:
		return fmt.Errorf("contact: owner: %w", err)
	default:
		p.OwnerID, p.OwnerEmail = &id, nil
	}
	return nil
}

// ClaimPending makes userID the owner of every contact pending on email,
// and of their conversations, in tx: for the acceptance of an invitation,
// in its transaction. It returns how many contacts it gave the user.
func ClaimPending(ctx context.Context, tx *db.Tx, email string, userID int64) (int64, error) {
	email = user.NormalizeEmail(email)
	if _, err := tx.Exec(ctx, `UPDATE conversations SET owner_id = $2
		WHERE contact_id IN (SELECT id FROM contacts WHERE owner_email = $1)`, email, userID); err != nil {
		return 0, fmt.Errorf("contact: claim pending: %w", err)
	}
	res, err := tx.Exec(ctx, `UPDATE contacts SET owner_id = $2, owner_email = NULL, updated_at = $3 WHERE owner_email = $1`, email, userID, db.Now())
	if err != nil {
		return 0, fmt.Errorf("contact: claim pending: %w", err)
	}
	return res.RowsAffected()
}
