package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channel/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/event"
	"github.com/switchboardhq/switchboard/internal/job"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/reply"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Teams places a conversation among a team's members (routing's
// PlaceAmong).
type Teams interface {
	// PlaceAmong gives c to the least busy Available member of the inbox
	// among userIDs, reporting whether it did.
	PlaceAmong(ctx context.Context, tx *event.Tx, c *conversation.Conversation, userIDs []int64) (bool, error)
}

// Service runs bots. It is the conversation core's Assigner (wrapping
// routing); set the conversation service with SetConversations before
// serving.
type Service struct {
	db     *db.DB
	log    *event.Log
	queue  *job.Queue
	box    *secret.Box
	inner  conversation.Assigner // routing (and what wraps it)
	teams  Teams
	convs  *conversation.Service
	client *http.Client
	now    func() time.Time
	logger *slog.Logger
}

// Options tune the service.
type Options struct {
	// Client posts to external bots (a client with a 10 s timeout when nil).
	Client *http.Client
	// Clock is the time of deliveries' failures and of silence (tests);
	// time.Now when nil.
	Clock func() time.Time
}

// Wrap returns the bot service over inner, the Assigner that places what
// no bot takes and what bots hand off (routing, and what wraps it); teams
// places hand-offs to a team.
func Wrap(inner conversation.Assigner, teams Teams, d *db.DB, log *event.Log, queue *job.Queue, box *secret.Box, logger *slog.Logger, opt Options) *Service {
	s := &Service{db: d, log: log, queue: queue, box: box, inner: inner, teams: teams, client: opt.Client, now: opt.Clock, logger: logger}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// SetConversations gives the service the conversation service (which has
// the service as its Assigner, so it is made after).
func (s *Service) SetConversations(c *conversation.Service) { s.convs = c }

// The jobs of bots.
const (
	// DeliverJob posts a customer message to an external bot; its dedup
	// key is bot.deliver:<message>.
	DeliverJob = "bot.deliver"
	// SilenceJob closes a bot's conversation whose customer has been
	// silent for Silence; its dedup key is bot.silence:<conversation>.
	SilenceJob = "bot.silence"
)

// Register makes runner run the bots' jobs.
func (s *Service) Register(runner *job.Runner) {
	runner.Handle(DeliverJob, job.HandlerFunc(s.handleDeliver))
	runner.Handle(SilenceJob, job.HandlerFunc(s.handleSilence))
}

// Place implements conversation.Assigner: a conversation a customer has
// just opened in an inbox with an active bot is held by that bot; any
// other goes to routing. A conversation that comes back to routing (its
// agent deactivated, an owner's change) never goes to a bot: only one
// with nothing in its history yet does.
func (s *Service) Place(ctx context.Context, tx *event.Tx, c *conversation.Conversation) error {
	if c.Status == conversation.Open && c.AssigneeID == nil && c.BotID == nil && c.StartedBy == conversation.ByCustomer {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM bots WHERE inbox_id = $1 AND active
			AND NOT EXISTS (SELECT 1 FROM conversation_activities WHERE conversation_id = $2)`, c.InboxID, c.ID).Scan(&id)
		if err == nil {
			return s.hold(ctx, tx, c, id)
		}
		if !errors.Is(db.MapErr(err), db.ErrNotFound) {
			return fmt.Errorf("bot: place: %w", err)
		}
	}
	return s.inner.Place(ctx, tx, c)
}

// Freed implements conversation.Assigner: the inner one's.
func (s *Service) Freed(ctx context.Context, tx *event.Tx, inboxID int64) error {
	return s.inner.Freed(ctx, tx, inboxID)
}

// hold gives c to bot botID in tx, with the timer of the customer's
// silence. The caller emits c's event.
func (s *Service) hold(ctx context.Context, tx *event.Tx, c *conversation.Conversation, botID int64) error {
	now := db.Now()
	if _, err := tx.Exec(ctx, `UPDATE conversations SET bot_id = $2, queued_at = NULL, queue_agent_id = NULL, queue_until = NULL,
		updated_at = $3 WHERE id = $1`, c.ID, botID, now); err != nil {
		return fmt.Errorf("bot: hold: %w", err)
	}
	c.BotID, c.Queue, c.UpdatedAt = &botID, nil, now
	_, err := s.queue.Enqueue(ctx, tx.Tx, SilenceJob, silencePayload{ConversationID: c.ID},
		job.Options{RunAt: now.Add(Silence), DedupKey: silenceKey(c.ID)})
	return err
}

func silenceKey(convID int64) string { return fmt.Sprintf("%s:%d", SilenceJob, convID) }

// handoff takes c from its bot in tx and gives it to a member of team
// teamID, or when none may take it (or teamID is nil) to the inbox's
// routing, with c's event.
func (s *Service) handoff(ctx context.Context, tx *event.Tx, c *conversation.Conversation, teamID *int64) error {
	if c.BotID == nil {
		return nil
	}
	now := db.Now()
	if _, err := tx.Exec(ctx, `UPDATE conversations SET bot_id = NULL, updated_at = $2 WHERE id = $1`, c.ID, now); err != nil {
		return fmt.Errorf("bot: hand off: %w", err)
	}
	c.BotID, c.UpdatedAt = nil, now
	if err := s.queue.Cancel(ctx, tx.Tx, silenceKey(c.ID)); err != nil {
		return err
	}
	placed := false
	if teamID != nil && c.Status == conversation.Open {
		ids, err := db.IDs(ctx, tx, `SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id`, *teamID)
		if err != nil {
			return err
		}
		if placed, err = s.teams.PlaceAmong(ctx, tx, c, ids); err != nil {
			return err
		}
	}
	if !placed && c.Status == conversation.Open {
		if err := s.inner.Place(ctx, tx, c); err != nil {
			return err
		}
	}
	conversation.Emit(tx, c, 0)
	return nil
}

// Handoff hands conversation id to a human: to a member of team teamID
// when one may take it, else through the inbox's routing. A bot may hand
// off only what it holds (another conversation is not found); a person
// any conversation they may see that a bot holds (409 when none does).
func (s *Service) Handoff(ctx context.Context, a policy.Actor, id int64, teamID *int64) (conversation.Conversation, error) {
	var c conversation.Conversation
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		var err error
		if c, err = s.held(ctx, tx, a, id); err != nil {
			return err
		}
		if teamID != nil {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)`, *teamID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return problem.Invalid("team_id", "There is no team with id %d.", *teamID)
			}
		}
		return s.handoff(ctx, tx, &c, teamID)
	})
	return c, err
}

// held loads conversation id for a, in tx: open and held by a bot — by a
// itself when a is a bot.
func (s *Service) held(ctx context.Context, tx *event.Tx, a policy.Actor, id int64) (conversation.Conversation, error) {
	c, err := conversation.Load(ctx, tx, id)
	if err != nil {
		return c, err
	}
	if a.Bot() {
		if c.BotID == nil || *c.BotID != a.BotID {
			return conversation.Conversation{}, conversation.ErrNotFound
		}
	} else if !policy.ConversationScope(a).Allows(policy.Ref{InboxID: c.InboxID, AssigneeID: deref(c.AssigneeID), OwnerID: deref(c.OwnerID)}) {
		return conversation.Conversation{}, conversation.ErrNotFound
	}
	switch {
	case c.Status != conversation.Open:
		return c, problem.Conflict("This conversation is closed.")
	case c.BotID == nil:
		return c, problem.Conflict("No bot is handling this conversation.")
	}
	return c, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Identify is the actor of a bot's token: an active external bot
// (auth.BotTokens).
func (s *Service) Identify(ctx context.Context, token string) (policy.Actor, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM bots WHERE token_hash = $1 AND active AND kind = 'external'`, secret.HashToken(token)).Scan(&id)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return policy.Actor{}, auth.ErrUnauthenticated
	} else if err != nil {
		return policy.Actor{}, fmt.Errorf("bot: identify: %w", err)
	}
	return policy.Actor{BotID: id}, nil
}

// Outgoing is a bot's message through the API: a text, or with Interactive
// reply buttons, a list or a link button (Text is then the body).
type Outgoing struct {
	Text        string                `json:"text"`
	Interactive *whatsapp.Interactive `json:"interactive,omitempty"`
}

// Post sends bot a's message r in conversation id, which a must hold
// (another is not found), checked like every prepared message (Meta's
// limits, a 422 per field).
func (s *Service) Post(ctx context.Context, a policy.Actor, id int64, r Outgoing) (conversation.Message, error) {
	if !a.Bot() {
		return conversation.Message{}, problem.Forbidden("Only bots post this way.")
	}
	m := reply.Message{Kind: reply.Text, Text: r.Text}
	if r.Interactive != nil {
		m.Kind, m.Interactive = reply.Interactive, r.Interactive
	}
	var out conversation.Message
	err := s.log.Write(ctx, func(tx *event.Tx) error {
		c, err := s.held(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := m.Check(ctx, tx, ""); err != nil {
			return err
		}
		o, err := m.Prepare(ctx, tx.Tx, conversation.AutoUploader)
		if err != nil {
			return err
		}
		out, err = s.convs.PostAuto(ctx, tx, &c, conversation.Author{Type: conversation.SenderBot, ID: a.BotID, Kind: AutoKind}, o)
		return err
	})
	return out, err
}
