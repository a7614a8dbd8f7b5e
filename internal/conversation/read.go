package conversation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/attachment"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/problem"
	"github.com/switchboardhq/switchboard/internal/tag"
)

// ErrNotFound is returned for a conversation that does not exist or that
// the actor may not see (the two are not told apart).
var ErrNotFound = problem.NotFound("Conversation")

const convColumns = `c.id, c.inbox_id, c.contact_id, c.status, c.assignee_id, c.owner_id, c.started_by, c.last_message_id,
	c.last_message_preview, c.last_activity_at, c.last_customer_message_at, c.last_agent_message_at, c.closed_at,
	c.created_at, c.updated_at, c.last_customer_message_id, ct.name, ct.phone, ct.email,
	c.queued_at, c.queue_agent_id, c.queue_until, c.awaiting_customer, c.bot_id, `

// queuePosition is a queued conversation's place in its inbox's queue
// (1 first), counted on the queue's index; 0 when it is not queued. It
// costs a count of those before it, so only the reads that show a
// conversation ask for it (withTags), not the writes (withTagsInWrite).
const queuePosition = `CASE WHEN c.queued_at IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM conversations q
	WHERE q.inbox_id = c.inbox_id AND q.queued_at IS NOT NULL AND (q.queued_at, q.id) <= (c.queued_at, c.id)) END`

// withTags is convColumns, the queue position and the conversation's
// tags, one per line, in one column (a correlated subquery: no second
// query for the tags).
func withTags(d db.Dialect) string {
	if d == db.Postgres {
		return convColumnsTagsPostgres
	}
	return convColumnsTagsSQLite
}

// withTagsInWrite is withTags with a position of 0 for every queued
// conversation: what transactions read.
func withTagsInWrite(d db.Dialect) string {
	if d == db.Postgres {
		return convColumnsWritePostgres
	}
	return convColumnsWriteSQLite
}

var (
	tagsPostgres             = `, (SELECT ` + db.Postgres.LinesAgg("t.tag", "t.tag") + ` FROM conversation_tags t WHERE t.conversation_id = c.id)`
	tagsSQLite               = `, (SELECT ` + db.SQLite.LinesAgg("t.tag", "t.tag") + ` FROM conversation_tags t WHERE t.conversation_id = c.id)`
	convColumnsTagsPostgres  = convColumns + queuePosition + tagsPostgres
	convColumnsTagsSQLite    = convColumns + queuePosition + tagsSQLite
	convColumnsWritePostgres = convColumns + `0` + tagsPostgres
	convColumnsWriteSQLite   = convColumns + `0` + tagsSQLite
)

// scanConv scans the columns of withTags, then extra.
func scanConv(row interface{ Scan(...any) error }, extra ...any) (Conversation, error) {
	var c Conversation
	var tags *string
	var q Queue
	var queuedAt *time.Time
	dest := []any{&c.ID, &c.InboxID, &c.ContactID, &c.Status, &c.AssigneeID, &c.OwnerID, &c.StartedBy, &c.LastMessageID,
		&c.LastMessagePreview, &c.LastActivityAt, &c.LastCustomerMessageAt, &c.LastAgentMessageAt, &c.ClosedAt,
		&c.CreatedAt, &c.UpdatedAt, &c.lastCustomerMessageID, &c.Contact.Name, &c.Contact.Phone, &c.Contact.Email,
		&queuedAt, &q.WaitingFor, &q.WaitingUntil, &c.awaiting, &c.BotID, &q.Position, &tags}
	err := row.Scan(append(dest, extra...)...)
	if queuedAt != nil {
		q.Since = *queuedAt
		c.Queue = &q
	}
	c.Tags = []string{}
	if tags != nil && *tags != "" {
		c.Tags = strings.Split(*tags, "\n")
	}
	return c, err
}

// load reads a conversation regardless of who asks, in q.
func load(ctx context.Context, q db.Querier, id int64) (Conversation, error) {
	c, err := scanConv(q.QueryRow(ctx, `SELECT `+withTagsInWrite(q.Dialect())+` FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1`, id))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("conversation: load %d: %w", id, err)
	}
	return c, nil
}

// Get returns a conversation the actor may see.
func (s *Service) Get(ctx context.Context, a policy.Actor, id int64) (Conversation, error) {
	var lastRead *int64
	c, err := scanConv(s.db.QueryRow(ctx, `SELECT `+withTags(s.db.Dialect())+`, r.last_read_message_id FROM conversations c
		JOIN contacts ct ON ct.id = c.contact_id
		LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = $2
		WHERE c.id = $1`, id, a.UserID), &lastRead)
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return c, ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("conversation: get %d: %w", id, err)
	}
	if !policy.ConversationScope(a).Allows(c.ref()) {
		return Conversation{}, ErrNotFound
	}
	c.Unread = c.unreadBy(lastRead)
	if s.replyWindow != nil {
		if c.ReplyWindowEndsAt, err = s.replyWindow(ctx, &c); err != nil {
			return Conversation{}, err
		}
	}
	return c, nil
}

// conversationTags are the tags of each conversation.
var conversationTags = tag.Table{Name: "conversation_tags", Item: "conversation_id"}

func fillTags(ctx context.Context, q db.Querier, cs []*Conversation) error {
	return tag.Fill(ctx, q, conversationTags, cs, func(c *Conversation) (int64, *[]string) { return c.ID, &c.Tags })
}

// Assignee filters the list by who works a conversation.
type Assignee struct {
	Me   bool  // assigned to the viewer
	None bool  // unassigned
	ID   int64 // assigned to this user
}

// ListOptions filter and page the conversation list.
type ListOptions struct {
	Status    Status // "" for any
	InboxID   int64
	Assignee  Assignee
	Tag       string
	ContactID int64
	// Queued keeps the conversations waiting in their inbox's queue.
	Queued bool
	Cursor string
	Limit  int
}

// Page is one page of a list, with the cursor of the next ("" at the end).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// cursor is a position in the list: the last row's activity time and id.
type cursor struct {
	at time.Time
	id int64
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixMicro(), 10) + ":" + strconv.FormatInt(c.id, 10)))
}

func parseCursor(s string) (cursor, error) {
	bad := problem.Invalid("cursor", "The cursor is not valid; start again without it.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return cursor{}, bad
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return cursor{}, bad
	}
	return cursor{at: time.UnixMicro(us).UTC(), id: n}, nil
}

// List returns the conversations the actor may see that match o, newest
// activity first. Visibility is part of the SQL: each branch of the query
// is a range scan of one index, so a page costs the same with a thousand
// conversations or a million.
func (s *Service) List(ctx context.Context, a policy.Actor, o ListOptions) (Page[Conversation], error) {
	if o.Limit <= 0 || o.Limit > 100 {
		o.Limit = 25
	}
	var after *cursor
	if o.Cursor != "" {
		c, err := parseCursor(o.Cursor)
		if err != nil {
			return Page[Conversation]{}, err
		}
		after = &c
	}
	q, args := listQuery(policy.ConversationScope(a), a.UserID, o, after)
	if q == "" {
		return Page[Conversation]{Items: []Conversation{}}, nil
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page[Conversation]{}, fmt.Errorf("conversation: list: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return Page[Conversation]{}, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Page[Conversation]{}, err
	}
	items, err := s.byIDs(ctx, a.UserID, ids)
	if err != nil {
		return Page[Conversation]{}, err
	}
	page := Page[Conversation]{Items: items}
	if len(ids) > o.Limit {
		page.Items = items[:o.Limit]
		last := page.Items[o.Limit-1]
		page.NextCursor = cursor{at: last.LastActivityAt, id: last.ID}.String()
	}
	return page, nil
}

// byIDs loads full rows for ids, in the order given, with the viewer's
// unread marks and the tags, in one query.
func (s *Service) byIDs(ctx context.Context, viewer int64, ids []int64) ([]Conversation, error) {
	if len(ids) == 0 {
		return []Conversation{}, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+withTags(s.db.Dialect())+`, r.last_read_message_id FROM conversations c
		JOIN contacts ct ON ct.id = c.contact_id
		LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = $1
		WHERE c.id IN (`+db.IDList(ids)+`)`, viewer)
	if err != nil {
		return nil, fmt.Errorf("conversation: load page: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]*Conversation, len(ids))
	for rows.Next() {
		var lastRead *int64
		c, err := scanConv(rows, &lastRead)
		if err != nil {
			return nil, err
		}
		c.Unread = c.unreadBy(lastRead)
		byID[c.ID] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Conversation, 0, len(ids))
	for _, id := range ids {
		if c := byID[id]; c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// sqlArgs numbers query arguments.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// listQuery builds the id query of List. It returns "" when the scope
// cannot match anything.
//
// Every branch is "WHERE <equality on an index prefix> AND status AND
// (last_activity_at, id) < cursor ORDER BY last_activity_at DESC, id DESC
// LIMIT n+1": one index range scan. Scopes that are a union (several
// inboxes; assigned or owned) run one branch per part and merge the
// branches' first n+1 rows.
func listQuery(s policy.Scope, viewer int64, o ListOptions, after *cursor) (string, []any) {
	var args sqlArgs
	// A customer who only opened the chat is not listed until they write
	// (Conversation.Pending): a filter on rows the index range reads.
	common := []string{"NOT awaiting_customer"}
	if o.Status != "" {
		common = append(common, "status = "+args.add(string(o.Status)))
	}
	if o.Tag != "" {
		common = append(common, "EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = conversations.id AND t.tag = "+args.add(o.Tag)+")")
	}
	if o.ContactID != 0 {
		common = append(common, "contact_id = "+args.add(o.ContactID))
	}
	if o.Queued {
		common = append(common, "queued_at IS NOT NULL")
	}
	if after != nil {
		common = append(common, "(last_activity_at, id) < ("+args.add(after.at)+", "+args.add(after.id)+")")
	}
	var assignee string
	switch {
	case o.Assignee.Me:
		assignee = "assignee_id = " + args.add(viewer)
	case o.Assignee.None:
		assignee = "assignee_id IS NULL"
	case o.Assignee.ID != 0:
		assignee = "assignee_id = " + args.add(o.Assignee.ID)
	}
	limit := args.add(o.Limit + 1)
	branch := func(conds ...string) string {
		all := append(slices.Clip(conds), common...)
		where := "TRUE"
		if len(all) > 0 {
			where = strings.Join(all, " AND ")
		}
		return "SELECT id, last_activity_at FROM conversations WHERE " + where +
			" ORDER BY last_activity_at DESC, id DESC LIMIT " + limit
	}
	// inbox is the inbox filter, for the scopes that do not filter by
	// inbox themselves (PostgreSQL refuses unused arguments).
	inbox := func() string {
		if o.InboxID == 0 {
			return ""
		}
		return "inbox_id = " + args.add(o.InboxID)
	}
	// add adds the branch for conds. Without a status filter a branch on
	// an (x, status, last_activity_at, id) index would have to sort all of
	// x's conversations: it becomes one branch per status instead, each a
	// range scan in order, merged like the others.
	var branches []string
	add := func(conds ...string) {
		if o.Status != "" || len(conds) == 0 {
			branches = append(branches, branch(conds...))
			return
		}
		for _, st := range []Status{Open, Closed} {
			branches = append(branches, branch(append(slices.Clip(conds), "status = '"+string(st)+"'")...))
		}
	}
	switch s.Kind {
	case policy.ScopeAll:
		add(nonEmpty(inbox(), assignee)...)
	case policy.ScopeInboxes:
		inboxes := s.Inboxes
		if o.InboxID != 0 {
			if !slices.Contains(inboxes, o.InboxID) {
				return "", nil
			}
			inboxes = []int64{o.InboxID}
		}
		switch {
		case len(inboxes) == 0:
			return "", nil
		case assignee != "" || len(inboxes) > 20:
			// One person's conversations: the assignee index, filtered.
			add(nonEmpty(assignee, "inbox_id IN ("+db.IDList(inboxes)+")")...)
		default:
			for _, id := range inboxes {
				add(nonEmpty("inbox_id = "+args.add(id), assignee)...)
			}
		}
	case policy.ScopeAssignedOrOwned:
		switch {
		case o.Assignee.Me:
			add(nonEmpty(inbox(), assignee)...)
		case o.Assignee.None, o.Assignee.ID != 0:
			add(nonEmpty(inbox(), assignee, "owner_id = "+args.add(s.UserID))...)
		default:
			me, in := args.add(s.UserID), inbox()
			add(nonEmpty(in, "assignee_id = "+me)...)
			add(nonEmpty(in, "owner_id = "+me)...)
		}
	default:
		return "", nil
	}
	if len(branches) == 1 {
		return branches[0], args
	}
	// UNION also removes a conversation both assigned to and owned by me.
	var b strings.Builder
	b.WriteString("SELECT id, last_activity_at FROM (")
	for i, br := range branches {
		if i > 0 {
			b.WriteString(" UNION ")
		}
		b.WriteString("SELECT * FROM (" + br + ") b" + strconv.Itoa(i))
	}
	b.WriteString(") u ORDER BY last_activity_at DESC, id DESC LIMIT " + limit)
	return b.String(), args
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

const msgColumns = `id, conversation_id, inbox_id, direction, sender_type, sender_id, type, text, content, status,
	error_code, error_message, error_details, channel_message_id, idempotency_key, reply_to_id, created_at, updated_at, COALESCE(auto_kind, ''), bot_id`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var content, code, msg, details string
	err := row.Scan(&m.ID, &m.ConversationID, &m.InboxID, &m.Direction, &m.SenderType, &m.SenderID, &m.Type, &m.Text,
		&content, &m.Status, &code, &msg, &details, &m.ChannelMessageID, &m.IdempotencyKey, &m.ReplyToID, &m.CreatedAt, &m.UpdatedAt, &m.AutoKind, &m.BotID)
	if content != "" {
		m.Content = json.RawMessage(content)
	}
	if code != "" || msg != "" {
		m.Error = &MessageError{Code: code, Message: msg, Details: details}
	}
	m.Attachments = []attachment.Attachment{}
	return m, err
}

func loadMessage(ctx context.Context, q db.Querier, id int64) (Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+msgColumns+` FROM messages WHERE id = $1`, id))
	if errors.Is(db.MapErr(err), db.ErrNotFound) {
		return m, problem.NotFound("Message")
	} else if err != nil {
		return m, fmt.Errorf("conversation: load message %d: %w", id, err)
	}
	att, err := attachment.ForMessages(ctx, q, []int64{id})
	if err != nil {
		return m, err
	}
	if a := att[id]; a != nil {
		m.Attachments = a
	}
	reactions, err := reactionsOf(ctx, q, []int64{id})
	m.Reactions = reactions[id]
	return m, err
}

// MessageOptions page a conversation's history.
type MessageOptions struct {
	Before int64 // messages older than this id; 0 for the newest
	Limit  int
	// Visible, when set, drops messages the reader should not see (a
	// customer does not see agent replies that were not sent yet).
	Visible func(*Message) bool
}

// Messages returns a page of history, newest first; NextCursor pages to
// older messages.
func (s *Service) Messages(ctx context.Context, a policy.Actor, convID int64, o MessageOptions) (Page[Message], error) {
	if _, err := s.Get(ctx, a, convID); err != nil {
		return Page[Message]{}, err
	}
	return s.history(ctx, convID, o)
}

// History returns messages of a conversation without checking who asks;
// the caller has (the web chat channel, for a visitor's own conversation).
func (s *Service) History(ctx context.Context, convID int64, o MessageOptions) (Page[Message], error) {
	return s.history(ctx, convID, o)
}

func (s *Service) history(ctx context.Context, convID int64, o MessageOptions) (Page[Message], error) {
	if o.Limit <= 0 || o.Limit > 200 {
		o.Limit = 50
	}
	var rows interface {
		Next() bool
		Scan(...any) error
		Close() error
		Err() error
	}
	var err error
	switch {
	case o.Before > 0:
		rows, err = s.db.Query(ctx, `SELECT `+msgColumns+` FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, convID, o.Before, o.Limit+1)
	default:
		rows, err = s.db.Query(ctx, `SELECT `+msgColumns+` FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2`, convID, o.Limit+1)
	}
	if err != nil {
		return Page[Message]{}, fmt.Errorf("conversation: messages: %w", err)
	}
	var ms []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return Page[Message]{}, err
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Page[Message]{}, err
	}
	page := Page[Message]{Items: ms}
	if len(ms) > o.Limit {
		page.Items = ms[:o.Limit]
		page.NextCursor = strconv.FormatInt(page.Items[o.Limit-1].ID, 10)
	}
	ids := make([]int64, len(page.Items))
	for i, m := range page.Items {
		ids[i] = m.ID
	}
	att, err := attachment.ForMessages(ctx, s.db, ids)
	if err != nil {
		return Page[Message]{}, err
	}
	reactions, err := reactionsOf(ctx, s.db, ids)
	if err != nil {
		return Page[Message]{}, err
	}
	visible := page.Items[:0]
	for _, m := range page.Items {
		if a := att[m.ID]; a != nil {
			m.Attachments = a
		}
		m.Reactions = reactions[m.ID]
		if o.Visible == nil || o.Visible(&m) {
			visible = append(visible, m)
		}
	}
	page.Items = visible
	if page.Items == nil {
		page.Items = []Message{}
	}
	return page, nil
}

// Earlier returns the contact's conversation before the one given (on
// any inbox): the latest one started before it that the actor may see.
// It is ErrNotFound when there is none, and when the actor may not see
// the one given.
func (s *Service) Earlier(ctx context.Context, a policy.Actor, convID int64) (Conversation, error) {
	c, err := s.Get(ctx, a, convID)
	if err != nil {
		return Conversation{}, err
	}
	scope := policy.ConversationScope(a)
	// The contact's conversations by the (contact_id, id) index, newest
	// first, until one is visible: a contact has few.
	rows, err := s.db.Query(ctx, `SELECT id, inbox_id, assignee_id, owner_id FROM conversations WHERE contact_id = $1 AND id < $2 ORDER BY id DESC`,
		c.ContactID, c.ID)
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation: earlier: %w", err)
	}
	var found int64
	for rows.Next() {
		var e Conversation
		if err := rows.Scan(&e.ID, &e.InboxID, &e.AssigneeID, &e.OwnerID); err != nil {
			rows.Close()
			return Conversation{}, err
		}
		if scope.Allows(e.ref()) {
			found = e.ID
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Conversation{}, err
	}
	if found == 0 {
		return Conversation{}, ErrNotFound
	}
	return s.Get(ctx, a, found)
}

// Replied returns the messages that ids answer (a WhatsApp reply's
// quote), by id, with their attachments: those in conversations the
// actor may see; the others are left out.
func (s *Service) Replied(ctx context.Context, a policy.Actor, ids []int64) (map[int64]Message, error) {
	out := map[int64]Message{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+msgColumns+` FROM messages WHERE id IN (`+db.IDList(ids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("conversation: replied: %w", err)
	}
	var convs []int64
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[m.ID] = m
		convs = append(convs, m.ConversationID)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	scope := policy.ConversationScope(a)
	visible := map[int64]bool{}
	rows, err = s.db.Query(ctx, `SELECT id, inbox_id, assignee_id, owner_id FROM conversations WHERE id IN (`+db.IDList(convs)+`)`)
	if err != nil {
		return nil, fmt.Errorf("conversation: replied: %w", err)
	}
	for rows.Next() {
		var c Conversation
		if err := rows.Scan(&c.ID, &c.InboxID, &c.AssigneeID, &c.OwnerID); err != nil {
			rows.Close()
			return nil, err
		}
		visible[c.ID] = scope.Allows(c.ref())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	found := make([]int64, 0, len(out))
	for id, m := range out {
		if !visible[m.ConversationID] {
			delete(out, id)
			continue
		}
		found = append(found, id)
	}
	att, err := attachment.ForMessages(ctx, s.db, found)
	if err != nil {
		return nil, err
	}
	for id, list := range att {
		m := out[id]
		m.Attachments = list
		out[id] = m
	}
	return out, nil
}
