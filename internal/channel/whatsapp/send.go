package whatsapp

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/outbox"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// recipient is who a conversation's messages go to, and when the
// customer last wrote.
type recipient struct {
	WaID        string
	UserID      string
	LastInbound *time.Time
}

// key names the customer for the pair rate.
func (r recipient) key() string {
	if r.WaID != "" {
		return r.WaID
	}
	return r.UserID
}

// errNoRecipient is a contact the number has no WhatsApp ids of.
var errNoRecipient = problem.Conflict("This customer has no WhatsApp identity on this number.")

func recipientOf(ctx context.Context, q db.Querier, inboxID, contactID int64) (recipient, error) {
	var r recipient
	var wa, user *string
	err := q.QueryRow(ctx, `SELECT wa_id, user_id, last_inbound_at FROM whatsapp_contacts WHERE inbox_id = $1 AND contact_id = $2`, inboxID, contactID).
		Scan(&wa, &user, &r.LastInbound)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return r, errNoRecipient
	} else if err != nil {
		return r, errorf("recipient: %w", err)
	}
	if wa != nil {
		r.WaID = *wa
	}
	if user != nil {
		r.UserID = *user
	}
	return r, nil
}

// windowEnd is when free-form messages stop being allowed; zero when the
// customer never wrote.
func (s *Service) windowEnd(r recipient) time.Time {
	if r.LastInbound == nil {
		return time.Time{}
	}
	return r.LastInbound.Add(s.opt.Window)
}

// windowClosed is the refusal of a free-form message outside the window.
func (s *Service) windowClosed(r recipient) *problem.Error {
	if r.LastInbound == nil {
		return problem.Conflict("This customer has not written to this number yet: start the conversation with an approved template.")
	}
	return problem.Conflict("The 24-hour window to reply freely closed at %s UTC (the customer last wrote at %s UTC): send an approved template to reach them again.",
		s.windowEnd(r).UTC().Format("Jan 2, 15:04"), r.LastInbound.UTC().Format("Jan 2, 15:04"))
}

// replyWindow is the conversation's window end, for the workspace.
func (s *Service) replyWindow(ctx context.Context, c *conversation.Conversation) (*time.Time, error) {
	if ok, err := s.IsWhatsApp(ctx, c.InboxID); err != nil || !ok {
		return nil, err
	}
	r, err := recipientOf(ctx, s.db, c.InboxID, c.ContactID)
	if errors.Is(err, errNoRecipient) {
		return nil, nil // the customer never wrote to the number
	} else if err != nil {
		return nil, err
	}
	if r.LastInbound == nil {
		return nil, nil
	}
	end := s.windowEnd(r)
	return &end, nil
}

// mediaKind is how WhatsApp carries a file, with its size limit, or a
// reason it cannot.
func mediaKind(a attachment.Attachment) (kind string, max int64, why string) {
	switch ct := a.ContentType; {
	case ct == "image/jpeg" || ct == "image/png":
		return "image", 5 << 20, ""
	case ct == "image/webp":
		return "sticker", 500 << 10, ""
	case ct == "image/gif":
		return "", 0, "WhatsApp does not take GIF images: send a PNG or JPEG, or a video."
	case ct == "video/mp4" || ct == "video/3gpp":
		return "video", 16 << 20, ""
	case strings.HasPrefix(ct, "audio/"):
		return "audio", 16 << 20, ""
	case ct == "application/zip":
		return "", 0, "WhatsApp does not take ZIP files."
	case a.Kind == attachment.Document:
		return "document", 100 << 20, ""
	}
	return "", 0, "WhatsApp does not take this type of file."
}

// checkSend is the conversation service's check of agents' messages for
// WhatsApp inboxes: the message fits WhatsApp, the window is open (for
// anything but a template), and its job is planned against the number's
// throughput and the customer's pair rate.
func (s *Service) checkSend(ctx context.Context, tx *event.Tx, c *conversation.Conversation, m *conversation.Message) (time.Time, error) {
	n, err := s.number(ctx, c.InboxID)
	if isNotFound(err) {
		return time.Time{}, nil // not a WhatsApp inbox
	} else if err != nil {
		return time.Time{}, err // perhaps one: not sent unchecked
	}
	r, err := recipientOf(ctx, tx, c.InboxID, c.ContactID)
	if err != nil {
		return time.Time{}, err
	}
	content, _ := DecodeContent(m)
	switch m.Type {
	case conversation.TypeText:
	case conversation.TypeImage, conversation.TypeVideo, conversation.TypeAudio, conversation.TypeDocument:
		if err := checkMedia(m); err != nil {
			return time.Time{}, err
		}
	case conversation.TypeInteractive:
		if content.Interactive == nil {
			return time.Time{}, problem.Invalid("interactive", "Give the buttons, the list or the link button.")
		}
	case conversation.TypeTemplate:
		if content.Template == nil {
			return time.Time{}, problem.Invalid("template", "Choose a template.")
		}
	case conversation.TypeReaction:
		rc := content.Reaction
		if rc == nil || rc.MessageID == 0 {
			return time.Time{}, problem.Invalid("reaction", "Choose the message to react to.")
		}
		if _, err := conversation.ReactInTx(ctx, tx, rc.MessageID, conversation.ByBusiness, rc.Emoji, s.now()); err != nil {
			return time.Time{}, err
		}
	default:
		return time.Time{}, problem.Invalid("type", "WhatsApp messages from the workspace are text, files, buttons, lists, link buttons, templates or reactions.")
	}
	if m.Type != conversation.TypeTemplate {
		if end := s.windowEnd(r); end.IsZero() || !s.now().Before(end) {
			return time.Time{}, s.windowClosed(r)
		}
	}
	return s.plan(ctx, tx, n, r)
}

// checkMedia checks a message's file against what WhatsApp takes.
func checkMedia(m *conversation.Message) error {
	if len(m.Attachments) != 1 {
		return problem.Invalid("attachments", "A WhatsApp message carries one file: send them one at a time.")
	}
	a := m.Attachments[0]
	kind, max, why := mediaKind(a)
	switch {
	case why != "":
		return problem.Invalid("attachments", "%s", why)
	case a.Size > max:
		msgs := mediaMessages(kind)
		return problem.Invalid("attachments", msgs[len(msgs)-1], humanBytes(max), humanBytes(a.Size))
	case m.Text != "" && (kind == "audio" || kind == "sticker"):
		return problem.Invalid("text", "%s", mediaMessages(kind)[0])
	case runes(m.Text) > MaxCaption:
		return problem.Invalid("text", "A caption has at most %d characters.", MaxCaption)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// plan reserves the message's place in the number's and the customer's
// schedules and returns when its job should run (zero: now). The job
// runner on this node is woken then.
func (s *Service) plan(ctx context.Context, tx *event.Tx, n *Number, r recipient) (time.Time, error) {
	now := s.now().UTC()
	// The plan rows are hot: reserved alone (a slot of a message that is
	// then not committed is only a gap in the plan).
	var slot time.Time
	err := tx.Tx.Alone(ctx, func(tx *db.Tx) error {
		pair, _, err := reserve(ctx, tx, pairPlanKey(n.InboxID, r.key()), rule{s.opt.PairInterval, s.opt.PairBurst}, now, 0)
		if err != nil {
			return err
		}
		slot, _, err = reserve(ctx, tx, numberPlanKey(n.InboxID), numberRule(n.MessagesPerSecond), pair, 0)
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	if slot.Sub(now) < 20*time.Millisecond {
		return time.Time{}, nil
	}
	tx.OnCommit(func() { time.AfterFunc(time.Until(slot), s.queue.Wake) })
	return slot, nil
}

// Deliver is the outbox's sender for WhatsApp: it checks the window again
// (the message may have waited), builds Meta's request (uploading the
// file first), waits for the number's slot and the customer's pair rate,
// and sends. It returns the WhatsApp id, or an error the outbox acts on.
func (s *Service) Deliver(ctx context.Context, in inbox.Inbox, m conversation.Message) (string, error) {
	n, err := s.number(ctx, in.ID)
	if isNotFound(err) {
		return "", &outbox.SendError{Code: "not_configured", Message: "This WhatsApp inbox has no number configured.", Permanent: true}
	} else if err != nil {
		return "", err // retried
	}
	contactID, err := s.conv.ContactOf(ctx, m.ConversationID)
	if err != nil {
		return "", errorf("deliver: %w", err)
	}
	r, err := recipientOf(ctx, s.db, n.InboxID, contactID)
	if err != nil {
		return "", &outbox.SendError{Code: "no_recipient", Message: err.Error(), Permanent: true}
	}
	if m.Type != conversation.TypeTemplate {
		if end := s.windowEnd(r); end.IsZero() || !s.now().Before(end) {
			return "", &outbox.SendError{Code: "window_closed", Message: s.windowClosed(r).Message, Permanent: true}
		}
	}
	req, err := s.request(ctx, n, &m, r)
	if err != nil {
		return "", s.failed(ctx, n, &m, r, err)
	}
	// Each send leaves within jitterAllowance/2 of its slot, or gives the
	// slot up (an unused slot never breaks the limit) and takes another:
	// a reservation slow to commit, a busy node, never bunch sends.
	for try := 0; try < 10; try++ {
		slot, err := s.admit(ctx, n, &m, r, try == 0)
		if err != nil {
			return "", err
		}
		wamid, err := s.graph.SendBefore(ctx, n.AccessToken, n.PhoneNumberID, req, slot.Add(jitterAllowance/2))
		if errors.Is(err, ErrLate) {
			s.logger.Debug("whatsapp: late for the send slot; taking another", "message", m.ID, "late", time.Since(slot))
			continue
		}
		if err != nil {
			return "", s.failed(ctx, n, &m, r, err)
		}
		return wamid, nil
	}
	// The node is too busy to keep to its slots: try again a little later
	// (nothing was sent: the send is not in flight).
	if _, err := s.db.Exec(ctx, `UPDATE whatsapp_sends SET in_flight_at = NULL WHERE message_id = $1`, m.ID); err != nil {
		s.logger.Warn("whatsapp: clear in flight", "message", m.ID, "err", err) // the next attempt waits for a status first
	}
	return "", job.RetryAt(&outbox.SendError{Code: "busy", Message: "The node is too busy to send at the number's pace."}, time.Now().Add(100*time.Millisecond))
}

// errInFlight waits for the status webhook of a send whose answer was
// lost.
var errInFlight = errors.New("whatsapp: an earlier attempt may have been sent; waiting for Meta's status before sending again")

// admit reserves the send's slot under the limits, in one transaction
// that also marks the send in flight, and waits for it. A send that was
// in flight when its answer was lost waits InFlightGrace for the status
// webhook first (checkInFlight: the first reservation of an attempt).
func (s *Service) admit(ctx context.Context, n *Number, m *conversation.Message, r recipient, checkInFlight bool) (time.Time, error) {
	slot, err := s.admitOnce(ctx, n, m, r, checkInFlight)
	if err != nil {
		return slot, err
	}
	if wait := time.Until(slot); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return slot, ctx.Err()
		case <-t.C:
		}
	}
	return slot, nil
}

func (s *Service) admitOnce(ctx context.Context, n *Number, m *conversation.Message, r recipient, checkInFlight bool) (time.Time, error) {
	var slot time.Time
	var retry error
	err := s.db.WriteAlone(ctx, func(tx *db.Tx) error {
		retry = nil // set afresh when the write runs again
		now := s.now().UTC()
		if checkInFlight {
			var inFlight *time.Time
			err := tx.QueryRow(ctx, `SELECT in_flight_at FROM whatsapp_sends WHERE message_id = $1`, m.ID).Scan(&inFlight)
			if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
				return err
			}
			if inFlight != nil && now.Before(inFlight.Add(s.opt.InFlightGrace)) {
				retry = job.RetryAt(&outbox.SendError{Code: "in_flight", Message: errInFlight.Error()}, inFlight.Add(s.opt.InFlightGrace))
				return nil
			}
		}
		pair, ok, err := reserve(ctx, tx, pairKey(n.InboxID, r.key()), rule{s.opt.PairInterval, s.opt.PairBurst}, now, time.Millisecond)
		if err != nil {
			return err
		}
		if !ok {
			retry = job.RetryAt(&outbox.SendError{Code: "pair_rate", Message: "Waiting: this customer got many messages in a short time (WhatsApp's pair rate)."}, pair)
			return nil
		}
		if slot, ok, err = reserve(ctx, tx, numberKey(n.InboxID), numberRule(n.MessagesPerSecond), now.Add(sendLead), s.opt.MaxPacingWait); err != nil {
			return err
		}
		if !ok {
			// Undo the pair reservation with the rest of this transaction.
			retry = job.RetryAt(&outbox.SendError{Code: "throughput", Message: "Waiting for the number's throughput."}, slot)
			return errRollback
		}
		_, err = tx.Exec(ctx, `INSERT INTO whatsapp_sends (message_id, in_flight_at, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (message_id) DO UPDATE SET in_flight_at = excluded.in_flight_at, updated_at = excluded.updated_at`, m.ID, slot, now)
		return err
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return time.Time{}, err
	}
	if retry != nil {
		return time.Time{}, retry
	}
	return slot, nil
}

// errRollback ends a transaction whose work must not stay.
var errRollback = errors.New("whatsapp: roll back")

// failed turns a failed Graph call into what the outbox does: fail the
// message, retry it (when, and with what held back), flag the inbox.
func (s *Service) failed(ctx context.Context, n *Number, m *conversation.Message, r recipient, err error) error {
	var se *outbox.SendError
	if errors.As(err, &se) {
		return err // decided already
	}
	if ctx.Err() != nil {
		return err // stopping: the send is retried (it is still marked in flight)
	}
	f := classify(err)
	now := s.now().UTC()
	out := &outbox.SendError{Code: f.Code, Message: f.Message, Details: f.Details, Permanent: f.Permanent}
	if !f.Ambiguous {
		// An answer came: the message was not taken, it may go again at once.
		if _, err := s.db.Exec(ctx, `UPDATE whatsapp_sends SET in_flight_at = NULL, updated_at = $2 WHERE message_id = $1`, m.ID, now); err != nil {
			s.logger.Warn("whatsapp: clear in flight", "message", m.ID, "err", err) // the next attempt waits for a status first
		}
	}
	switch {
	case f.Permanent:
		return out
	case f.Token:
		s.flagToken(ctx, n, f)
		return job.RetryAt(out, now.Add(5*time.Minute))
	case f.Throttled:
		wait := max(f.RetryAfter, s.opt.ThrottleWait)
		at := now.Add(wait)
		if err := s.db.WriteAlone(ctx, func(tx *db.Tx) error { return holdUntil(ctx, tx, numberKey(n.InboxID), at) }); err != nil {
			s.logger.Warn("whatsapp: hold the number's sends", "inbox", n.InboxID, "err", err)
		}
		return job.RetryAt(out, at)
	case f.PairRate:
		var k int
		if err := s.db.Write(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO whatsapp_sends (message_id, pair_retries, updated_at) VALUES ($1, 1, $2)
				ON CONFLICT (message_id) DO UPDATE SET pair_retries = whatsapp_sends.pair_retries + 1, updated_at = excluded.updated_at
				RETURNING pair_retries`, m.ID, now).Scan(&k)
		}); err != nil {
			s.logger.Warn("whatsapp: count pair-rate retries", "message", m.ID, "err", err) // waits as after the first
		}
		wait := time.Duration(math.Pow(4, float64(max(k-1, 0)))) * time.Second
		at := now.Add(max(wait, f.RetryAfter))
		pr := rule{s.opt.PairInterval, s.opt.PairBurst}
		if err := s.db.WriteAlone(ctx, func(tx *db.Tx) error { return holdUntil(ctx, tx, pairKey(n.InboxID, r.key()), at.Add(pr.tolerance())) }); err != nil {
			s.logger.Warn("whatsapp: hold the customer's sends", "inbox", n.InboxID, "err", err)
		}
		return job.RetryAt(out, at)
	case f.Ambiguous:
		// Meta may have taken it: the next attempt waits for its status.
		return job.RetryAt(out, now.Add(s.opt.InFlightGrace))
	}
	if f.RetryAfter > 0 {
		return job.RetryAt(out, now.Add(f.RetryAfter))
	}
	return out
}

// request builds Meta's request for a message, uploading its file.
func (s *Service) request(ctx context.Context, n *Number, m *conversation.Message, r recipient) (*SendRequest, error) {
	req := &SendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", BizOpaque: strconv.FormatInt(m.ID, 10)}
	if r.WaID != "" {
		req.To = r.WaID
	} else {
		req.Recipient = r.UserID
	}
	content, _ := DecodeContent(m)
	upload := func() (string, string, error) {
		if len(m.Attachments) == 0 {
			return "", "", &outbox.SendError{Code: "no_file", Message: "The message's file is missing.", Permanent: true}
		}
		a := m.Attachments[0]
		kind, _, why := mediaKind(a)
		if why != "" {
			return "", "", &outbox.SendError{Code: "file_type", Message: why, Permanent: true}
		}
		f, err := s.uploads.Open(a)
		if err != nil {
			return "", "", errorf("open attachment %d: %w", a.ID, err)
		}
		defer f.Close()
		ctype := a.ContentType
		if ctype == "text/csv" {
			ctype = "text/plain" // Meta refuses text/csv
		}
		id, err := s.graph.Upload(ctx, n.AccessToken, n.PhoneNumberID, a.Filename, ctype, f, a.Size)
		return id, kind, err
	}
	switch m.Type {
	case conversation.TypeText:
		req.Type = "text"
		req.Text = &TextBody{Body: m.Text, PreviewURL: strings.Contains(m.Text, "https://") || strings.Contains(m.Text, "http://")}
	case conversation.TypeImage, conversation.TypeVideo, conversation.TypeAudio, conversation.TypeDocument:
		id, kind, err := upload()
		if err != nil {
			return nil, err
		}
		body := &MediaBody{ID: id}
		if kind == "image" || kind == "video" || kind == "document" {
			body.Caption = m.Text
		}
		req.Type = kind
		switch kind {
		case "image":
			req.Image = body
		case "video":
			req.Video = body
		case "audio":
			req.Audio = body
		case "sticker":
			req.Sticker = body
		case "document":
			body.Filename = m.Attachments[0].Filename
			req.Document = body
		}
	case conversation.TypeInteractive:
		if content.Interactive == nil {
			return nil, &outbox.SendError{Code: "bad_content", Message: "The interactive message is incomplete.", Permanent: true}
		}
		var id string
		if h := content.Interactive.Header; h != nil && h.Type != "text" {
			var err error
			if id, _, err = upload(); err != nil {
				return nil, err
			}
		}
		req.Type = "interactive"
		req.Interactive = content.Interactive.wire(id)
	case conversation.TypeTemplate:
		u := content.Template
		if u == nil {
			return nil, &outbox.SendError{Code: "bad_content", Message: "The template message is incomplete.", Permanent: true}
		}
		t, err := s.templateByName(ctx, n.InboxID, u.Name, u.Language)
		if err != nil {
			return nil, &outbox.SendError{Code: "132001", Message: "The template " + u.Name + " (" + u.Language + ") is no longer known: synchronise the templates.", Permanent: true}
		}
		var id string
		if u.HeaderMedia != "" {
			if id, _, err = upload(); err != nil {
				return nil, err
			}
		}
		req.Type = "template"
		req.Template = u.wire(t, id)
	case conversation.TypeReaction:
		rc := content.Reaction
		if rc == nil || rc.ChannelMessageID == "" {
			return nil, &outbox.SendError{Code: "bad_content", Message: "The reaction has no message to go on.", Permanent: true}
		}
		req.Type = "reaction"
		req.Reaction = &ReactionBody{MessageID: rc.ChannelMessageID, Emoji: rc.Emoji}
	default:
		return nil, &outbox.SendError{Code: "unsupported", Message: "WhatsApp cannot send a " + string(m.Type) + " message from here.", Permanent: true}
	}
	return req, nil
}

// Compose is an agent's WhatsApp message: the body of POST
// /api/v1/conversations/{id}/whatsapp/messages.
type Compose struct {
	// Type is text, media (the attachment, with Text as its caption),
	// interactive, template or reaction.
	Type           string        `json:"type"`
	Text           string        `json:"text,omitempty"`
	AttachmentIDs  []int64       `json:"attachments,omitempty"`
	Interactive    *Interactive  `json:"interactive,omitempty"`
	Template       *TemplateSend `json:"template,omitempty"`
	Reaction       *ReactionSend `json:"reaction,omitempty"`
	IdempotencyKey string        `json:"idempotency_key,omitempty"`
}

// ReactionSend is an agent's reaction to a message of the conversation;
// an empty emoji removes it.
type ReactionSend struct {
	MessageID int64  `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// outgoing checks a composed message and turns it into what the
// conversation service stores.
func (s *Service) outgoing(ctx context.Context, a attachmentOwner, inboxID, convID int64, c Compose) (conversation.Outgoing, error) {
	o := conversation.Outgoing{Text: c.Text, AttachmentIDs: c.AttachmentIDs, IdempotencyKey: c.IdempotencyKey}
	var media *attachment.Attachment
	if len(c.AttachmentIDs) > 1 {
		return o, problem.Invalid("attachments", "A WhatsApp message carries one file: send them one at a time.")
	}
	if len(c.AttachmentIDs) == 1 {
		ref, err := attachment.Get(ctx, s.db, c.AttachmentIDs[0])
		if err != nil || ref.MessageID != 0 || ref.Uploader != a.uploader {
			return o, problem.Invalid("attachments", "Attachment %d does not exist, is not yours or is already sent.", c.AttachmentIDs[0])
		}
		media = &ref.Attachment
	}
	switch c.Type {
	case "", "text":
		if media != nil {
			return o, problem.Invalid("attachments", "To send a file, use the type media.")
		}
	case "media":
		if media == nil {
			return o, problem.Invalid("attachments", "Attach the file to send.")
		}
	case "interactive":
		if c.Interactive == nil {
			return o, problem.Invalid("interactive", "Give the buttons, the list or the link button.")
		}
		if err := c.Interactive.Validate(media); err != nil {
			return o, err
		}
		o.Type, o.Text = conversation.TypeInteractive, c.Interactive.Summary()
		o.Content = (&Content{Kind: "interactive", Interactive: c.Interactive}).raw()
	case "template":
		if c.Template == nil || strings.TrimSpace(c.Template.Name) == "" {
			return o, problem.Invalid("template.name", "Choose a template.")
		}
		t, err := s.templateByName(ctx, inboxID, c.Template.Name, c.Template.Language)
		if err != nil {
			return o, problem.Invalid("template.name", "There is no template %s in %s for this number: synchronise the templates.", c.Template.Name, c.Template.Language)
		}
		u, err := t.Use(c.Template.Params, media)
		if err != nil {
			return o, err
		}
		o.Type, o.Text = conversation.TypeTemplate, u.Body
		o.Content = (&Content{Kind: "template", Template: &u}).raw()
	case "reaction":
		rc := c.Reaction
		if rc == nil || rc.MessageID <= 0 {
			return o, problem.Invalid("reaction.message_id", "Choose the message to react to.")
		}
		rc.Emoji = strings.TrimSpace(rc.Emoji)
		if rc.Emoji != "" && (!HasEmoji(rc.Emoji) || runes(rc.Emoji) > 10) {
			return o, problem.Invalid("reaction.emoji", "React with one emoji (or none, to remove your reaction).")
		}
		if media != nil || c.Text != "" {
			return o, problem.Invalid("reaction", "A reaction is an emoji alone.")
		}
		target, err := s.conv.LoadMessage(ctx, rc.MessageID)
		if err != nil || target.ConversationID != convID {
			return o, problem.Invalid("reaction.message_id", "That message is not in this conversation.")
		}
		if target.ChannelMessageID == nil || target.Type == conversation.TypeReaction || target.Status == conversation.Pending || target.Status == conversation.Failed {
			return o, problem.Invalid("reaction.message_id", "Only messages that reached WhatsApp can get a reaction.")
		}
		o.Type, o.Text = conversation.TypeReaction, rc.Emoji
		o.Content = (&Content{Kind: "reaction", Reaction: &Reaction{MessageID: target.ID, ChannelMessageID: *target.ChannelMessageID, Emoji: rc.Emoji}}).raw()
	default:
		return o, problem.Invalid("type", "Use text, media, interactive, template or reaction.")
	}
	return o, nil
}

// attachmentOwner names who uploaded the files of a message.
type attachmentOwner struct{ uploader string }

func ownerOf(a policy.Actor) attachmentOwner {
	return attachmentOwner{uploader: attachment.Uploader("user", a.UserID)}
}

// Send stores an agent's WhatsApp message in a conversation (through the
// outbox, like every reply). created is false for a repeated idempotency
// key.
func (s *Service) Send(ctx context.Context, a policy.Actor, convID int64, c Compose) (conversation.Message, bool, error) {
	conv, err := s.conv.Get(ctx, a, convID)
	if err != nil {
		return conversation.Message{}, false, err
	}
	if ok, err := s.IsWhatsApp(ctx, conv.InboxID); err != nil {
		return conversation.Message{}, false, err
	} else if !ok {
		return conversation.Message{}, false, problem.Conflict("This conversation is not on WhatsApp.")
	}
	o, err := s.outgoing(ctx, ownerOf(a), conv.InboxID, convID, c)
	if err != nil {
		return conversation.Message{}, false, err
	}
	return s.conv.Send(ctx, a, convID, o)
}

// StartResult is a conversation an agent started and its first message.
type StartResult struct {
	Conversation conversation.Conversation `json:"conversation"`
	Message      conversation.Message      `json:"message"`
}

// Start writes first to a customer by phone number (E.164): their open
// conversation on the number, or a new one, gets the message (a template,
// unless the customer wrote in the last 24 hours).
func (s *Service) Start(ctx context.Context, a policy.Actor, inboxID int64, number string, c Compose) (StartResult, bool, error) {
	if ok, err := s.IsWhatsApp(ctx, inboxID); err != nil {
		return StartResult{}, false, err
	} else if !ok {
		return StartResult{}, false, errNoNumber
	}
	e164, msg := phone.Normalize(number, phone.Possible)
	if msg != "" {
		return StartResult{}, false, problem.Invalid("phone", "%s", msg)
	}
	waID := strings.TrimPrefix(e164, "+")
	o, err := s.outgoing(ctx, ownerOf(a), inboxID, 0, c)
	if err != nil {
		return StartResult{}, false, err
	}
	if c.Type == "reaction" {
		return StartResult{}, false, problem.Invalid("type", "A conversation starts with a message, not a reaction.")
	}
	m, conv, created, err := s.conv.Start(ctx, a, conversation.NewConversation{
		InboxID: inboxID, ExternalID: "wa:" + waID, Profile: contact.Profile{Phone: e164}, Message: o,
		Then: func(ctx context.Context, tx *event.Tx, ct contact.Contact) error {
			return upsertContact(ctx, tx.Tx, inboxID, ct.ID, Sender{WaID: waID}, nil)
		},
	})
	return StartResult{Conversation: conv, Message: m}, created, err
}
