package whatsapp

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/outbox"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// TestNumberLookupFailure: when the numbers cannot be read (the database
// is gone), an inbox is not taken for one that is not on WhatsApp: a send
// is refused rather than let through without the window and pacing
// checks, and delivery is retried rather than failed for good.
func TestNumberLookupFailure(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		logger := slog.New(slog.DiscardHandler)
		log := event.NewLog(d, event.NewLocal(), logger)
		box, err := secret.NewBox(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		store := inbox.NewStore(d, log, box, Channel(job.NewQueue()))
		in, _, err := store.Create(ctx, inbox.NewInbox{Type: Type, Name: "Line", Settings: map[inbox.Type]any{Type: number("106540352242922")}})
		if err != nil {
			t.Fatal(err)
		}
		conv := conversation.NewService(d, log, job.NewQueue(), attachment.DefaultLimits, nil)
		s := New(d, log, job.NewQueue(), store, conv, nil, nil, nil, logger, Options{})
		d.Close() // every read fails from here on

		if ok, err := s.IsWhatsApp(ctx, in.ID); err == nil {
			t.Errorf("IsWhatsApp = %v without an error", ok)
		}
		c := &conversation.Conversation{ID: 1, InboxID: in.ID, ContactID: 1}
		if _, err := s.checkSend(ctx, nil, c, &conversation.Message{Type: conversation.TypeText, Text: "hi"}); err == nil {
			t.Error("the send was let through unchecked: the failed lookup was read as \"not a WhatsApp inbox\"")
		}
		if _, err := s.replyWindow(ctx, c); err == nil {
			t.Error("the reply window was read as none")
		}
		_, err = s.Deliver(ctx, in, conversation.Message{ID: 1, ConversationID: 1, Type: conversation.TypeText, Text: "hi"})
		var se *outbox.SendError
		if err == nil || (errors.As(err, &se) && se.Permanent) {
			t.Errorf("delivery: %v, want an error that is retried", err)
		}
	})
}
