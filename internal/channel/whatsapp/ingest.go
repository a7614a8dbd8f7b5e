package whatsapp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/phone"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// ErrSignature is a webhook whose X-Hub-Signature-256 is missing or was
// not made with any number's app secret.
var ErrSignature = errors.New("whatsapp: webhook signature missing or wrong")

// IngestResult counts what a webhook delivery did.
type IngestResult struct {
	Messages   int `json:"messages"`
	Duplicates int `json:"duplicates"`
	Reactions  int `json:"reactions"`
	Statuses   int `json:"statuses"`
	Templates  int `json:"templates"`
	// Unrouted are changes for a phone_number_id no inbox has, or signed
	// by another app than the number's.
	Unrouted int `json:"unrouted"`
}

// ingestConcurrency bounds how many senders of one delivery are stored
// at once (each sender's messages in order).
const ingestConcurrency = 16

// Ingest takes a webhook POST: the raw body and its X-Hub-Signature-256.
// It returns ErrSignature (answer 401), ErrMalformed (400), another error
// when something could not be stored (500: Meta delivers again, and what
// was stored is not stored twice), or nil once everything is committed
// (200). Changes for unknown numbers are acknowledged and logged: Meta
// must not retry them forever.
func (s *Service) Ingest(ctx context.Context, body []byte, signature string) (IngestResult, error) {
	var res IngestResult
	nums, err := s.numbers(ctx)
	if err != nil {
		return res, err
	}
	secret := verifySignature(body, signature, nums.secrets)
	if secret == "" && signature != "" {
		// A number added on another node, or a rotated app secret.
		if c, reloaded, err := s.reloadOnMiss(ctx); err != nil {
			return res, err
		} else if reloaded {
			nums, secret = c, verifySignature(body, signature, c.secrets)
		}
	}
	if secret == "" {
		s.signatureFailures.Inc()
		return res, ErrSignature
	}
	d, err := Parse(body)
	if err != nil {
		return res, err
	}
	for _, ch := range d.Changes {
		for _, why := range ch.Skipped {
			s.logger.Warn("whatsapp: webhook item left out", "phone_number_id", ch.PhoneNumberID, "reason", why)
		}
	}
	for _, ch := range d.Changes {
		switch ch.Field {
		case FieldMessages:
			n := nums.byPNID[ch.PhoneNumberID]
			if n == nil {
				if c, _, err := s.reloadOnMiss(ctx); err == nil && c != nil {
					nums, n = c, c.byPNID[ch.PhoneNumberID]
				}
			}
			if n == nil || n.AppSecret != secret {
				res.Unrouted++
				s.unknownNumbers.Inc()
				s.logger.Warn("whatsapp: webhook for a number no inbox has; acknowledged and dropped",
					"phone_number_id", ch.PhoneNumberID, "waba_id", ch.WABAID, "signed_by_another_app", n != nil)
				continue
			}
			if n.Archived {
				res.Unrouted++
				s.logger.Info("whatsapp: webhook for an archived inbox; acknowledged and dropped",
					"inbox_id", n.InboxID, "phone_number_id", ch.PhoneNumberID)
				continue
			}
			if err := s.ingestChange(ctx, n, &ch, &res); err != nil {
				return res, err
			}
		case FieldTemplateStatus, FieldTemplateQuality, FieldTemplateCategory:
			if ch.Template == nil {
				continue
			}
			routed := false
			for _, n := range nums.byInbox {
				if n.WABAID == ch.WABAID && n.AppSecret == secret {
					routed = true
					if err := s.applyTemplateEvent(ctx, n, ch.Field, ch.Template); err != nil {
						return res, err
					}
				}
			}
			if routed {
				res.Templates++
			} else {
				res.Unrouted++
				s.logger.Warn("whatsapp: template webhook for an account no inbox has", "waba_id", ch.WABAID)
			}
		default:
			s.logger.Debug("whatsapp: webhook field not used", "field", ch.Field)
		}
	}
	return res, nil
}

// ingestChange stores one change of a number: messages and reactions by
// sender (each sender's in order, senders side by side), then statuses,
// id updates and the number's errors.
func (s *Service) ingestChange(ctx context.Context, n *Number, ch *Change, res *IngestResult) error {
	type item struct {
		m *Inbound
		r *InReaction
	}
	bySender := map[string][]item{}
	var order []string
	key := func(f Sender) string {
		if f.UserID != "" {
			return "u:" + f.UserID
		}
		return "w:" + f.WaID
	}
	add := func(k string, it item) {
		if _, ok := bySender[k]; !ok {
			order = append(order, k)
		}
		bySender[k] = append(bySender[k], it)
	}
	for i := range ch.Messages {
		add(key(ch.Messages[i].From), item{m: &ch.Messages[i]})
	}
	for i := range ch.Reactions {
		add(key(ch.Reactions[i].From), item{r: &ch.Reactions[i]})
	}
	var counts struct{ messages, duplicates, reactions, statuses int }
	var mu sync.Mutex // guards counts
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ingestConcurrency)
	for _, k := range order {
		items := bySender[k]
		g.Go(func() error {
			for _, it := range items {
				if it.m != nil {
					dup, err := s.receive(gctx, n, it.m)
					if err != nil {
						return err
					}
					mu.Lock()
					if dup {
						counts.duplicates++
					} else {
						counts.messages++
					}
					mu.Unlock()
					continue
				}
				if err := s.receiveReaction(gctx, n, it.r); err != nil {
					return err
				}
				mu.Lock()
				counts.reactions++
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Statuses: those of one message in order, messages side by side.
	byMsg := map[string][]*StatusUpdate{}
	var msgs []string
	for i := range ch.Statuses {
		st := &ch.Statuses[i]
		if _, ok := byMsg[st.ID]; !ok {
			msgs = append(msgs, st.ID)
		}
		byMsg[st.ID] = append(byMsg[st.ID], st)
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(ingestConcurrency)
	for _, id := range msgs {
		list := byMsg[id]
		g.Go(func() error {
			for _, st := range list {
				if err := s.status(gctx, n, st); err != nil {
					return err
				}
			}
			mu.Lock()
			counts.statuses += len(list)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, u := range ch.IDUpdates {
		if err := s.updateUserID(ctx, n, u); err != nil {
			return err
		}
	}
	for _, e := range ch.Errors {
		s.alert(ctx, n, strconv.Itoa(e.Code), "Meta reports a problem with "+n.Name+": "+e.Title, e.Title, e.Details)
	}
	res.Messages += counts.messages
	res.Duplicates += counts.duplicates
	res.Reactions += counts.reactions
	res.Statuses += counts.statuses
	return nil
}

// identities are the contact identities of a WhatsApp sender: the
// business-scoped id first (it survives a hidden phone number), then the
// phone-based id.
func identities(f Sender) (string, []string) {
	switch {
	case f.UserID != "" && f.WaID != "":
		return "bsuid:" + f.UserID, []string{"wa:" + f.WaID}
	case f.UserID != "":
		return "bsuid:" + f.UserID, nil
	}
	return "wa:" + f.WaID, nil
}

// phoneOf is the E.164 form of a wa_id (digits), or "".
func phoneOf(waID string) string {
	if waID == "" || strings.TrimLeft(waID, "0123456789") != "" {
		return ""
	}
	phones.mu.Lock()
	p, ok := phones.m[waID]
	phones.mu.Unlock()
	if ok {
		return p
	}
	if e164, msg := phone.Normalize("+"+waID, phone.Possible); msg == "" {
		p = e164
	}
	phones.mu.Lock()
	if len(phones.m) >= maxPhones {
		clear(phones.m)
	}
	phones.m[waID] = p
	phones.mu.Unlock()
	return p
}

// phones remembers what phoneOf made of the wa_ids it saw last: reading a
// number against the numbering plans costs more than storing a message's
// row, and customers write many messages.
var phones = struct {
	mu sync.Mutex
	m  map[string]string
}{m: map[string]string{}}

// maxPhones bounds phones; past it, it starts over.
const maxPhones = 10000

// receive stores one inbound message; dup reports a redelivery.
func (s *Service) receive(ctx context.Context, n *Number, m *Inbound) (bool, error) {
	primary, alt := identities(m.From)
	in := conversation.Incoming{
		InboxID: n.InboxID, ExternalID: primary, AltExternalIDs: alt,
		Profile:          contact.Profile{Name: m.From.Name, Phone: phoneOf(m.From.WaID)},
		ChannelMessageID: m.ID, Type: m.Type, Text: m.Text, ReplyToChannelID: m.ReplyTo,
	}
	if in.Type == conversation.TypeText && strings.TrimSpace(in.Text) == "" {
		in.Type = conversation.TypeUnsupported // an empty text: kept, shown as such
		m.Content.Unsupported = "empty_text"
	}
	if in.Profile.Name == "" && m.From.Username != "" {
		in.Profile.Name = m.From.Username
	}
	in.Content = m.Content.raw()
	in.Opened = m.Content.Kind == "request_welcome"
	if r := m.Content.Reply; r != nil {
		in.Choice = r.ID
	}
	at := m.Timestamp
	now := s.now().UTC()
	if at.IsZero() || at.After(now.Add(time.Minute)) {
		at = now
	}
	opensWindow := m.Type != conversation.TypeSystem || m.Content.Kind == "request_welcome"
	in.Then = func(ctx context.Context, tx *event.Tx, r *conversation.Receipt) error {
		var last *time.Time
		if opensWindow {
			last = &at
		}
		if err := upsertContact(ctx, tx.Tx, n.InboxID, r.Conversation.ContactID, m.From, last); err != nil {
			return err
		}
		if sys := m.Content.System; sys != nil {
			if err := s.systemChange(ctx, tx.Tx, n.InboxID, r.Conversation.ContactID, sys); err != nil {
				return err
			}
		}
		if md := m.Content.Media; md != nil && md.State == MediaPending {
			_, err := s.queue.Enqueue(ctx, tx.Tx, MediaJob, messagePayload{MessageID: r.Message.ID},
				job.Options{DedupKey: "wa-media:" + strconv.FormatInt(r.Message.ID, 10), MaxAttempts: 8})
			return err
		}
		return nil
	}
	r, err := s.conv.Receive(ctx, in)
	if p, ok := problem.As(err); ok && p.Kind == problem.KindInvalid {
		// Not storable as it is (cannot happen with what Parse makes):
		// acknowledged, so that Meta does not retry it forever.
		s.logger.Warn("whatsapp: message refused", "inbox", n.InboxID, "id", m.ID, "err", err)
		return false, nil
	}
	if err != nil {
		return false, errorf("receive %s: %w", m.ID, err)
	}
	if !r.Duplicate && s.m != nil {
		s.m.MessagesIngested.WithLabelValues("whatsapp").Inc()
	}
	return r.Duplicate, nil
}

type messagePayload struct {
	MessageID int64 `json:"message_id"`
}

// upsertContact records what the number knows of a contact: Meta's ids,
// the profile, and (for a message that opens it) the window.
func upsertContact(ctx context.Context, tx *db.Tx, inboxID, contactID int64, f Sender, lastInbound *time.Time) error {
	var last any
	if lastInbound != nil {
		last = db.Time(*lastInbound)
	}
	_, err := tx.Exec(ctx, `INSERT INTO whatsapp_contacts (inbox_id, contact_id, wa_id, user_id, username, profile_name, last_inbound_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (inbox_id, contact_id) DO UPDATE SET
			wa_id = COALESCE(excluded.wa_id, whatsapp_contacts.wa_id),
			user_id = COALESCE(excluded.user_id, whatsapp_contacts.user_id),
			username = CASE WHEN excluded.username <> '' THEN excluded.username ELSE whatsapp_contacts.username END,
			profile_name = CASE WHEN excluded.profile_name <> '' THEN excluded.profile_name ELSE whatsapp_contacts.profile_name END,
			last_inbound_at = CASE WHEN whatsapp_contacts.last_inbound_at IS NULL OR excluded.last_inbound_at > whatsapp_contacts.last_inbound_at
				THEN COALESCE(excluded.last_inbound_at, whatsapp_contacts.last_inbound_at) ELSE whatsapp_contacts.last_inbound_at END,
			updated_at = excluded.updated_at`,
		inboxID, contactID, nullable(f.WaID), nullable(f.UserID), f.Username, f.Name, last, db.Now())
	if err != nil {
		return errorf("contact: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// systemChange follows a customer's new number or new business-scoped id.
func (s *Service) systemChange(ctx context.Context, tx *db.Tx, inboxID, contactID int64, sys *System) error {
	var ext string
	newWa := sys.NewWaID
	if newWa == "" {
		newWa = sys.WaID
	}
	switch {
	case sys.Type == "user_changed_number" && newWa != "":
		ext = "wa:" + newWa
		if _, err := tx.Exec(ctx, `UPDATE whatsapp_contacts SET wa_id = $3, updated_at = $4 WHERE inbox_id = $1 AND contact_id = $2`, inboxID, contactID, newWa, db.Now()); err != nil {
			return err
		}
	case sys.Type == "user_changed_user_id" && sys.UserID != "":
		ext = "bsuid:" + sys.UserID
		if _, err := tx.Exec(ctx, `UPDATE whatsapp_contacts SET user_id = $3, updated_at = $4 WHERE inbox_id = $1 AND contact_id = $2`, inboxID, contactID, sys.UserID, db.Now()); err != nil {
			return err
		}
	default:
		return nil
	}
	return contact.LinkIdentity(ctx, tx, contactID, inboxID, ext)
}

// updateUserID links a customer's new business-scoped id.
func (s *Service) updateUserID(ctx context.Context, n *Number, u IDUpdate) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		ids := []string{}
		if u.Previous != "" {
			ids = append(ids, "bsuid:"+u.Previous)
		}
		if u.WaID != "" {
			ids = append(ids, "wa:"+u.WaID)
		}
		if len(ids) == 0 {
			return nil
		}
		ct, _, err := contact.FindOrCreateAny(ctx, tx, n.InboxID, append(ids, "bsuid:"+u.Current), contact.Profile{Phone: phoneOf(u.WaID)})
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE whatsapp_contacts SET user_id = $3, updated_at = $4 WHERE inbox_id = $1 AND contact_id = $2`, n.InboxID, ct.ID, u.Current, db.Now())
		return err
	})
}

// receiveReaction puts a customer's reaction on the business's message.
func (s *Service) receiveReaction(ctx context.Context, n *Number, r *InReaction) error {
	target, err := s.conv.FindByChannelID(ctx, n.InboxID, r.MessageID)
	if isNotFound(err) {
		s.logger.Info("whatsapp: reaction to a message Switchboard does not have", "inbox", n.InboxID, "message", r.MessageID)
		return nil
	} else if err != nil {
		return err
	}
	at := r.Timestamp
	if at.IsZero() {
		at = s.now()
	}
	if _, err := s.conv.React(ctx, target, conversation.ByContact, r.Emoji, at); err != nil {
		return errorf("reaction %s: %w", r.ID, err)
	}
	// A reaction is the customer writing: it keeps the window open.
	contactID, err := s.conv.ContactOfMessage(ctx, target)
	if err != nil {
		return errorf("reaction %s: %w", r.ID, err)
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE whatsapp_contacts SET last_inbound_at = $3, updated_at = $4
			WHERE inbox_id = $1 AND contact_id = $2 AND (last_inbound_at IS NULL OR last_inbound_at < $3)`, n.InboxID, contactID, db.Time(at), db.Now())
		return err
	})
}

func isNotFound(err error) bool {
	p, ok := problem.As(err)
	return ok && p.Kind == problem.KindNotFound
}

// deliveries are Meta's statuses as Switchboard's.
var deliveries = map[string]conversation.Delivery{
	"sent": conversation.Sent, "delivered": conversation.Delivered, "read": conversation.Read,
	"played": conversation.Played, "failed": conversation.Failed,
}

// status applies a status webhook to the message it is about.
func (s *Service) status(ctx context.Context, n *Number, st *StatusUpdate) error {
	d, ok := deliveries[st.Status]
	if !ok {
		s.logger.Debug("whatsapp: status not used", "status", st.Status)
		return nil
	}
	var e *conversation.MessageError
	if d == conversation.Failed {
		code, title, details := webhookFailure(st.Errors)
		e = &conversation.MessageError{Code: code, Message: title, Details: details}
	}
	fallback, _ := strconv.ParseInt(st.Callback, 10, 64)
	found, _, err := s.conv.SetDeliveryByChannelID(ctx, n.InboxID, st.ID, fallback, d, e)
	if err != nil {
		return errorf("status %s %s: %w", st.ID, st.Status, err)
	}
	if !found {
		// Sent by another system on the same number, or long deleted.
		s.logger.Debug("whatsapp: status of an unknown message", "inbox", n.InboxID, "id", st.ID, "status", st.Status)
	}
	return nil
}
