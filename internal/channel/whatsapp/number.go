package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
)

// ---- Read receipts ----

type readPayload struct {
	ConversationID int64 `json:"conversation_id"`
}

// onRead is told when an agent has seen a conversation: if its latest
// customer message is not marked read on WhatsApp yet, a job does it (the
// customer sees blue ticks).
func (s *Service) onRead(ctx context.Context, _ policy.Actor, c conversation.Conversation) {
	if ok, err := s.IsWhatsApp(ctx, c.InboxID); err != nil {
		s.logger.Warn("whatsapp: read receipt", "conversation", c.ID, "err", err)
		return
	} else if !ok {
		return
	}
	latest, marked, err := s.readState(ctx, c.ID)
	if err != nil {
		s.logger.Warn("whatsapp: read state", "conversation", c.ID, "err", err)
		return
	}
	if latest == 0 || latest <= marked {
		return
	}
	if err := s.enqueue(ctx, ReadJob, readPayload{ConversationID: c.ID}, "wa-read:"+strconv.FormatInt(c.ID, 10), time.Time{}); err != nil {
		s.logger.Warn("whatsapp: enqueue read receipt", "conversation", c.ID, "err", err)
	}
}

// readState is the conversation's latest customer message with a
// WhatsApp id, and the last one marked read.
func (s *Service) readState(ctx context.Context, convID int64) (latest, marked int64, err error) {
	if latest, err = s.conv.LatestFromCustomer(ctx, convID); err != nil {
		return 0, 0, err
	}
	err = s.db.QueryRow(ctx, `SELECT message_id FROM whatsapp_read_marks WHERE conversation_id = $1`, convID).Scan(&marked)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		err = nil
	}
	return latest, marked, err
}

// handleRead marks the conversation's latest customer message read.
func (s *Service) handleRead(ctx context.Context, j *job.Job) error {
	var p readPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	latest, marked, err := s.readState(ctx, p.ConversationID)
	if err != nil || latest == 0 || latest <= marked {
		return err
	}
	m, err := s.conv.LoadMessage(ctx, latest)
	if err != nil {
		return err
	}
	n, err := s.number(ctx, m.InboxID)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if err := s.graph.MarkRead(ctx, n.AccessToken, n.PhoneNumberID, *m.ChannelMessageID); err != nil {
		f := classify(err)
		switch {
		case f.Token:
			s.flagToken(ctx, n, f)
			return job.RetryAt(err, s.now().Add(5*time.Minute))
		case !f.Permanent:
			return err
		}
		// Meta will not mark it (too old, unknown): do not ask again.
		s.logger.Info("whatsapp: read receipt refused", "conversation", p.ConversationID, "err", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO whatsapp_read_marks (conversation_id, message_id) VALUES ($1, $2)
		ON CONFLICT (conversation_id) DO UPDATE SET message_id = excluded.message_id WHERE whatsapp_read_marks.message_id < excluded.message_id`, p.ConversationID, latest)
	return err
}

// ---- The number: test connection, state, ice breakers ----

// Connection is what "test connection" found: the number as Graph
// describes it, or the error Graph gave.
type Connection struct {
	OK                 bool   `json:"ok"`
	VerifiedName       string `json:"verified_name,omitempty"`
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	QualityRating      string `json:"quality_rating,omitempty"`
	Status             string `json:"code_verification_status,omitempty"`
	Throughput         string `json:"throughput,omitempty"`
	// Error is Graph's answer, as it was given, when the test failed.
	Error     string `json:"error,omitempty"`
	ErrorCode int    `json:"error_code,omitempty"`
}

// TestConnection asks Graph for the number with the inbox's token.
func (s *Service) TestConnection(ctx context.Context, inboxID int64) (Connection, error) {
	n, err := s.number(ctx, inboxID)
	if err != nil {
		return Connection{}, err
	}
	p, err := s.graph.PhoneNumber(ctx, n.AccessToken, n.PhoneNumberID)
	if err != nil {
		if ctx.Err() != nil {
			return Connection{}, err
		}
		c := Connection{Error: describe(err)}
		var ge *GraphError
		if errors.As(err, &ge) {
			c.ErrorCode = ge.Code
		}
		if f := classify(err); f.Token {
			s.flagToken(ctx, n, f)
		}
		return c, nil
	}
	s.clearToken(ctx, inboxID)
	return Connection{OK: true, VerifiedName: p.VerifiedName, DisplayPhoneNumber: p.DisplayPhoneNumber, QualityRating: p.QualityRating,
		Status: p.CodeVerificationStatus, Throughput: p.Throughput.Level}, nil
}

// describe is a Graph error exactly as Graph gave it.
func describe(err error) string {
	var ge *GraphError
	if !errors.As(err, &ge) {
		return err.Error()
	}
	if ge.Network != nil {
		return ge.Describe()
	}
	s := "(#" + strconv.Itoa(ge.Code) + ") " + ge.Message
	if ge.Subcode != 0 {
		s += " [subcode " + strconv.Itoa(ge.Subcode) + "]"
	}
	if ge.Details != "" {
		s += ": " + ge.Details
	}
	if ge.UserMsg != "" && ge.UserMsg != ge.Message {
		s += " — " + ge.UserMsg
	}
	return s + " (HTTP " + strconv.Itoa(ge.HTTPStatus) + ")"
}

// State is what the channel keeps about a number, for the admin page.
type State struct {
	InboxID            int64      `json:"inbox_id"`
	TokenError         string     `json:"token_error,omitempty"`
	TokenErrorAt       *time.Time `json:"token_error_at,omitempty"`
	TemplatesSyncedAt  *time.Time `json:"templates_synced_at"`
	TemplatesError     string     `json:"templates_error,omitempty"`
	IceBreakers        []string   `json:"ice_breakers"`
	IceBreakersStatus  string     `json:"ice_breakers_status"`
	IceBreakersError   string     `json:"ice_breakers_error,omitempty"`
	IceBreakersPushed  *time.Time `json:"ice_breakers_pushed_at"`
	TemplatesApproved  int        `json:"templates_approved"`
	TemplatesAll       int        `json:"templates"`
	MessagesPerSecond  int        `json:"messages_per_second"`
	WindowHours        int        `json:"window_hours"`
	PhoneNumberID      string     `json:"phone_number_id"`
	DisplayPhoneNumber string     `json:"display_phone_number"`
}

// The ice breakers' states.
const (
	IceNone     = "none"
	IcePending  = "pending"
	IceAccepted = "accepted"
	IceRejected = "rejected"
)

// State returns what the channel keeps about an inbox's number.
func (s *Service) State(ctx context.Context, inboxID int64) (State, error) {
	n, err := s.number(ctx, inboxID)
	if err != nil {
		return State{}, err
	}
	st := State{InboxID: inboxID, IceBreakers: []string{}, IceBreakersStatus: IceNone, MessagesPerSecond: n.MessagesPerSecond,
		WindowHours: int(s.opt.Window / time.Hour), PhoneNumberID: n.PhoneNumberID, DisplayPhoneNumber: n.DisplayPhoneNumber}
	var ice string
	err = s.db.QueryRow(ctx, `SELECT token_error, token_error_at, templates_synced_at, templates_error, ice_breakers, ice_breakers_status,
		ice_breakers_error, ice_breakers_pushed_at FROM whatsapp_state WHERE inbox_id = $1`, inboxID).
		Scan(&st.TokenError, &st.TokenErrorAt, &st.TemplatesSyncedAt, &st.TemplatesError, &ice, &st.IceBreakersStatus, &st.IceBreakersError, &st.IceBreakersPushed)
	if err != nil && !errors.Is(db.MapErr(err), db.ErrNotFound) {
		return st, errorf("state: %w", err)
	}
	if ice != "" {
		json.Unmarshal([]byte(ice), &st.IceBreakers)
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'APPROVED') FROM whatsapp_templates WHERE inbox_id = $1`, inboxID).
		Scan(&st.TemplatesAll, &st.TemplatesApproved); err != nil {
		return st, errorf("state: templates: %w", err)
	}
	return st, nil
}

// CheckIceBreakers validates ice breakers as Meta takes them: at most
// four, each at most 80 characters, no emoji, none twice; it returns them
// trimmed, empty ones left out.
func CheckIceBreakers(prompts []string) ([]string, error) {
	f := problem.Fields{}
	out := []string{}
	seen := map[string]bool{}
	for i, p := range prompts {
		p = strings.TrimSpace(p)
		field := "prompts." + strconv.Itoa(i)
		switch {
		case p == "":
			continue
		case runes(p) > MaxIceBreakerLength:
			f.Add(field, "An ice breaker has at most %d characters (this one has %d).", MaxIceBreakerLength, runes(p))
		case HasEmoji(p):
			f.Add(field, "Ice breakers cannot contain emoji: WhatsApp refuses them.")
		case strings.IndexFunc(p, func(r rune) bool { return r == '\n' || r == '\r' || !unicode.IsPrint(r) }) >= 0:
			f.Add(field, "An ice breaker is one line of text.")
		case seen[strings.ToLower(p)]:
			f.Add(field, "This ice breaker is there twice.")
		}
		seen[strings.ToLower(p)] = true
		out = append(out, p)
	}
	if len(out) > MaxIceBreakers {
		f.Add("prompts", "A number has at most %d ice breakers.", MaxIceBreakers)
	}
	return out, f.Err()
}

// SetIceBreakers saves a number's ice breakers and pushes them to Graph
// now; when Graph cannot answer, a job pushes them until it does (and the
// periodic sweep restarts that job should it be lost). The state says
// whether Graph accepted them.
func (s *Service) SetIceBreakers(ctx context.Context, inboxID int64, prompts []string) (State, error) {
	prompts, err := CheckIceBreakers(prompts)
	if err != nil {
		return State{}, err
	}
	if _, err := s.number(ctx, inboxID); err != nil {
		return State{}, err
	}
	b, _ := json.Marshal(prompts)
	_, err = s.db.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, ice_breakers, ice_breakers_status, ice_breakers_error, updated_at) VALUES ($1, $2, 'pending', '', $3)
		ON CONFLICT (inbox_id) DO UPDATE SET ice_breakers = excluded.ice_breakers, ice_breakers_status = 'pending', ice_breakers_error = '', updated_at = excluded.updated_at`,
		inboxID, string(b), db.Now())
	if err != nil {
		return State{}, errorf("ice breakers: %w", err)
	}
	if err := s.pushIceBreakers(ctx, inboxID); err != nil {
		s.logger.Info("whatsapp: ice breakers not pushed yet; a job retries", "inbox", inboxID, "err", err)
		if err := s.enqueueAutomation(ctx, inboxID); err != nil {
			return State{}, err
		}
	}
	return s.State(ctx, inboxID)
}

// SetWelcome switches a number's welcome message on or off at Meta
// (enable_welcome_message, pushed with the ice breakers; a job pushes it
// until Graph answers). Inboxes of other channels are left alone.
func (s *Service) SetWelcome(ctx context.Context, inboxID int64, on bool) error {
	if ok, err := s.IsWhatsApp(ctx, inboxID); err != nil || !ok {
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO whatsapp_state (inbox_id, welcome_enabled, ice_breakers_status, updated_at) VALUES ($1, $2, 'pending', $3)
		ON CONFLICT (inbox_id) DO UPDATE SET welcome_enabled = excluded.welcome_enabled, ice_breakers_status = 'pending', ice_breakers_error = '',
		updated_at = excluded.updated_at`, inboxID, on, db.Now())
	if err != nil {
		return errorf("welcome switch: %w", err)
	}
	if err := s.pushIceBreakers(ctx, inboxID); err != nil {
		s.logger.Info("whatsapp: welcome switch not pushed yet; a job retries", "inbox", inboxID, "err", err)
		return s.enqueueAutomation(ctx, inboxID)
	}
	return nil
}

func (s *Service) enqueueAutomation(ctx context.Context, inboxID int64) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := s.queue.Enqueue(ctx, tx, AutomationJob, inboxPayload{InboxID: inboxID}, job.Options{DedupKey: "wa-automation:" + strconv.FormatInt(inboxID, 10), MaxAttempts: 10})
		return err
	})
}

// pushIceBreakers sends pending ice breakers to Graph and records its
// answer: accepted, or rejected with Graph's reason. It returns an error
// only when trying again may help.
func (s *Service) pushIceBreakers(ctx context.Context, inboxID int64) error {
	n, err := s.number(ctx, inboxID)
	if err != nil {
		return err
	}
	var raw, status string
	var updated time.Time
	var welcome bool
	err = s.db.QueryRow(ctx, `SELECT ice_breakers, ice_breakers_status, updated_at, welcome_enabled FROM whatsapp_state WHERE inbox_id = $1`, inboxID).
		Scan(&raw, &status, &updated, &welcome)
	if errors.Is(db.MapErr(err), db.ErrNotFound) || (err == nil && status != IcePending) {
		return nil
	} else if err != nil {
		return err
	}
	var prompts []string
	json.Unmarshal([]byte(raw), &prompts)
	perr := s.graph.SetAutomation(ctx, n.AccessToken, n.PhoneNumberID, prompts, welcome)
	result, reason := IceAccepted, ""
	if perr != nil {
		f := classify(perr)
		switch {
		case f.Token:
			s.flagToken(ctx, n, f)
			return perr
		case !f.Permanent:
			return perr
		}
		result, reason = IceRejected, describe(perr)
	}
	// Only if nobody saved other ice breakers or switched the welcome
	// meanwhile.
	_, err = s.db.Exec(ctx, `UPDATE whatsapp_state SET ice_breakers_status = $2, ice_breakers_error = $3, ice_breakers_pushed_at = $4
		WHERE inbox_id = $1 AND ice_breakers = $5 AND ice_breakers_status = 'pending' AND welcome_enabled = $6`, inboxID, result, reason, db.Now(), raw, welcome)
	return err
}

// handleAutomation is the job that pushes ice breakers until Graph
// answers.
func (s *Service) handleAutomation(ctx context.Context, j *job.Job) error {
	var p inboxPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(err)
	}
	err := s.pushIceBreakers(ctx, p.InboxID)
	if isNotFound(err) {
		return nil
	}
	if err != nil && j.Final() {
		if _, derr := s.db.Exec(ctx, `UPDATE whatsapp_state SET ice_breakers_status = 'rejected', ice_breakers_error = $2 WHERE inbox_id = $1 AND ice_breakers_status = 'pending'`,
			p.InboxID, "Graph could not be reached: "+describe(err)); derr != nil {
			s.logger.Error("whatsapp: record ice breakers failure", "inbox", p.InboxID, "err", derr)
		}
	}
	return err
}
