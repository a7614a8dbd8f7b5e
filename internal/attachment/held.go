package attachment

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// Files kept by a stored message (a canned response, a welcome or an
// automatic message) are uploaded once and sent many times. The upload's
// row is held by the message (attachments.held_by names the holder, like
// "canned:12"): it is never sent itself, and the cleanup of uploads never
// sent leaves it, and so its file. Each send copies the row for its new
// message (Copy); the copy names the same content, so nothing is copied on
// disk, and a file is removed only when no row, held, sent or waiting,
// names its content.

// Hold gives the uploader's unattached upload id to holder. It fails with
// a problem on field when the upload is unknown, someone else's, already
// sent or already held.
func Hold(ctx context.Context, tx *db.Tx, id int64, uploader, holder, field string) (Attachment, error) {
	var a Attachment
	err := tx.QueryRow(ctx, `UPDATE attachments SET held_by = $1, client_ip = NULL
		WHERE id = $2 AND uploader = $3 AND message_id IS NULL AND held_by IS NULL
		RETURNING id, kind, filename, content_type, size, sha256, created_at`, holder, id, uploader).
		Scan(&a.ID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return a, problem.Invalid(field, "Attachment %d does not exist, is not yours or is already used: upload the file again.", id)
	}
	if err != nil {
		return a, fmt.Errorf("attachment: hold: %w", err)
	}
	return a, nil
}

// Release lets go of what holder holds, but keep (0 for nothing): the
// rows become uploads never sent, which the cleanup removes (with their
// file when nothing else names it).
func Release(ctx context.Context, tx *db.Tx, holder string, keep int64) error {
	if _, err := tx.Exec(ctx, `UPDATE attachments SET held_by = NULL WHERE held_by = $1 AND id <> $2`, holder, keep); err != nil {
		return fmt.Errorf("attachment: release: %w", err)
	}
	return nil
}

// Held returns the attachment holder holds.
func Held(ctx context.Context, q db.Querier, id int64, holder string) (Attachment, error) {
	var a Attachment
	err := q.QueryRow(ctx, `SELECT id, kind, filename, content_type, size, sha256, created_at FROM attachments WHERE id = $1 AND held_by = $2`, id, holder).
		Scan(&a.ID, &a.Kind, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return a, problem.NotFound("Attachment")
	}
	return a, err
}

// Copy makes a new upload of uploader's from the file holder holds as id:
// a row of its own, not yet sent, naming the same content (nothing is
// copied on disk). Link attaches it to a message like any upload; never
// sent, the cleanup removes the row and leaves the file to the holder.
func Copy(ctx context.Context, tx *db.Tx, id int64, holder, uploader string) (Attachment, error) {
	a, err := Held(ctx, tx, id, holder)
	if err != nil {
		return a, err
	}
	a.CreatedAt = db.Now()
	err = tx.QueryRow(ctx, `INSERT INTO attachments (uploader, kind, filename, content_type, size, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, uploader, a.Kind, a.Filename, a.ContentType, a.Size, a.SHA256, a.CreatedAt).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("attachment: copy: %w", err)
	}
	return a, nil
}

// HeldFile is a file a stored message keeps, with its holder.
type HeldFile struct {
	Attachment
	Holder string
}

// HeldByID returns the held attachments among ids, by id.
func HeldByID(ctx context.Context, q db.Querier, ids []int64) (map[int64]HeldFile, error) {
	out := map[int64]HeldFile{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, kind, filename, content_type, size, sha256, created_at, held_by
		FROM attachments WHERE id IN (`+db.IDList(ids)+`) AND held_by IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("attachment: held: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h HeldFile
		if err := rows.Scan(&h.ID, &h.Kind, &h.Filename, &h.ContentType, &h.Size, &h.SHA256, &h.CreatedAt, &h.Holder); err != nil {
			return nil, err
		}
		out[h.ID] = h
	}
	return out, rows.Err()
}
