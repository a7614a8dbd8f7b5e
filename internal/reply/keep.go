package reply

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Keep makes the file of a stored message its holder's, in the
// transaction that saves the message: holder names what keeps the message
// ("canned:12", "welcome:3", "automation:7:welcome"), uploader who saves
// it. A file the holder keeps already stays; a new one must be an upload
// of uploader's not yet sent or kept (a problem on field.attachment_id
// otherwise); any other file the holder kept is let go. Kept, a file is
// never sent itself and the daily cleanup of uploads leaves it (and its
// content on disk); Prepare copies its row for each message sent. It
// returns the file kept, nil for none.
func Keep(ctx context.Context, tx *db.Tx, m Message, uploader, holder, field string) (*attachment.Attachment, error) {
	id := m.AttachmentID
	if id != 0 {
		at, err := attachment.Held(ctx, tx, id, holder)
		if err != nil {
			name := "attachment_id"
			if field != "" {
				name = field + "." + name
			}
			at, err = attachment.Hold(ctx, tx, id, uploader, holder, name)
		}
		if err != nil {
			return nil, err
		}
		if err := attachment.Release(ctx, tx, holder, id); err != nil {
			return nil, err
		}
		return &at, nil
	}
	return nil, attachment.Release(ctx, tx, holder, 0)
}

// Release lets go of the file a holder's message kept, when the message
// is deleted: the cleanup of uploads removes it (and its content, once no
// message sent with it names it).
func Release(ctx context.Context, tx *db.Tx, holder string) error {
	return attachment.Release(ctx, tx, holder, 0)
}
