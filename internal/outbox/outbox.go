// Package outbox sends agents' messages through their channel. A reply is
// committed as pending together with a job (see conversation.Send); this
// package's job handler hands it to the channel's Sender, records "sent"
// with the channel's id, retries transient failures with backoff and marks
// the message failed, with the reason, when retrying cannot help.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/metrics"
)

// Sender delivers a message on one kind of channel and returns the
// channel's id for it. It returns a *SendError to say what went wrong.
type Sender interface {
	Deliver(ctx context.Context, in inbox.Inbox, m conversation.Message) (string, error)
}

// SendError is a failed send as the channel explains it.
type SendError struct {
	Code      string
	Message   string
	Details   string // the channel's details, shown beside Message
	Permanent bool   // retrying cannot help
}

func (e *SendError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Outbox is the handler of conversation.SendJob.
type Outbox struct {
	conv    *conversation.Service
	inboxes *inbox.Store
	senders map[inbox.Type]Sender
	metrics *metrics.Metrics
}

// New returns the outbox with a sender per channel type.
func New(conv *conversation.Service, inboxes *inbox.Store, senders map[inbox.Type]Sender, m *metrics.Metrics) *Outbox {
	return &Outbox{conv: conv, inboxes: inboxes, senders: senders, metrics: m}
}

// Handle sends the message of a job. It is idempotent: a message already
// past pending is not sent again.
func (o *Outbox) Handle(ctx context.Context, j *job.Job) error {
	var p conversation.SendPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(fmt.Errorf("outbox: payload: %w", err))
	}
	m, err := o.conv.LoadMessage(ctx, p.MessageID)
	if err != nil {
		return job.Permanent(err)
	}
	if m.Status != conversation.Pending {
		return nil // sent before a crash, or already failed
	}
	in, err := o.inboxes.Get(ctx, m.InboxID)
	if err != nil {
		return err
	}
	sender, ok := o.senders[in.Type]
	if !ok {
		return o.fail(ctx, m, in, &SendError{Code: "no_channel", Message: "This inbox cannot send messages yet.", Permanent: true})
	}
	channelID, err := sender.Deliver(ctx, in, m)
	if err != nil {
		var se *SendError
		if !errors.As(err, &se) {
			se = &SendError{Code: "error", Message: err.Error()}
		}
		if se.Permanent || j.Final() {
			return o.fail(ctx, m, in, se)
		}
		o.metrics.SendFailures.WithLabelValues(string(in.Type), "true").Inc()
		return err
	}
	if _, err := o.conv.SetDelivery(ctx, m.ID, conversation.Sent, channelID, nil); err != nil {
		return err
	}
	o.metrics.MessagesSent.WithLabelValues(string(in.Type)).Inc()
	return nil
}

func (o *Outbox) fail(ctx context.Context, m conversation.Message, in inbox.Inbox, se *SendError) error {
	o.metrics.SendFailures.WithLabelValues(string(in.Type), "false").Inc()
	_, err := o.conv.SetDelivery(ctx, m.ID, conversation.Failed, "", &conversation.MessageError{Code: se.Code, Message: se.Message, Details: se.Details})
	return err
}
