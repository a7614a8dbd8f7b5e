package httpx

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversation"
	"github.com/switchboardhq/switchboard/internal/inbox"
	"github.com/switchboardhq/switchboard/internal/policy"
	"github.com/switchboardhq/switchboard/internal/user"
)

// Names turns ids into the names people read (and users into their
// avatars and statuses, shown beside their names).
type Names struct {
	users    map[int64]string
	inboxes  map[int64]string
	Avatars  map[int64]string
	Statuses map[int64]string
	// public are the names customers see ("" for none).
	Public map[int64]string
}

// User is the name of a user, "" for none.
func (n *Names) User(id *int64) string {
	if id == nil {
		return ""
	}
	if s, ok := n.users[*id]; ok {
		return s
	}
	return "#" + strconv.FormatInt(*id, 10)
}

// Inbox is the name of an inbox.
func (n *Names) Inbox(id int64) string {
	if s, ok := n.inboxes[id]; ok {
		return s
	}
	return "#" + strconv.FormatInt(id, 10)
}

// knows reports whether n has every one of the ids.
func (n *Names) knows(users, inboxes []int64) bool {
	for _, id := range users {
		if _, ok := n.users[id]; !ok {
			return false
		}
	}
	for _, id := range inboxes {
		if _, ok := n.inboxes[id]; !ok {
			return false
		}
	}
	return true
}

// nameTTL is how long names are reused. Every live update renders a row
// for every agent who sees it, and names change rarely: a rename shows
// after at most this long on other nodes (at once on this one).
const nameTTL = 10 * time.Second

// NameCache keeps the names of users and inboxes for a little while
// (nameTTL), for the pages and the widget.
type NameCache struct {
	users   *user.Store
	inboxes *inbox.Store

	mu  sync.Mutex // guards set and at
	set *Names
	at  time.Time
}

// NewNameCache makes an empty cache of the names of users and inboxes.
func NewNameCache(users *user.Store, inboxes *inbox.Store) *NameCache {
	return &NameCache{users: users, inboxes: inboxes}
}

// Get returns the names of users and inboxes, from the cache while it
// is fresh and knows the ids asked for (a new user or inbox reloads it).
func (c *NameCache) Get(ctx context.Context, users, inboxes []int64) (*Names, error) {
	c.mu.Lock()
	n, at := c.set, c.at
	c.mu.Unlock()
	if n != nil && time.Since(at) < nameTTL && n.knows(users, inboxes) {
		return n, nil
	}
	us, err := c.users.List(ctx)
	if err != nil {
		return nil, err
	}
	ins, err := c.inboxes.List(ctx, policy.Actor{Role: policy.Admin})
	if err != nil {
		return nil, err
	}
	n = &Names{users: make(map[int64]string, len(us)), inboxes: make(map[int64]string, len(ins)),
		Avatars: map[int64]string{}, Statuses: make(map[int64]string, len(us)), Public: map[int64]string{}}
	for _, x := range us {
		n.users[x.ID] = x.Name
		n.Statuses[x.ID] = string(x.Status)
		if x.PublicName != "" {
			n.Public[x.ID] = x.PublicName
		}
		if x.AvatarURL != "" {
			n.Avatars[x.ID] = x.AvatarURL
		}
	}
	for _, x := range ins {
		n.inboxes[x.ID] = x.Name
	}
	c.mu.Lock()
	c.set, c.at = n, time.Now()
	c.mu.Unlock()
	return n, nil
}

// Forget drops the cached names after a change to them.
func (c *NameCache) Forget() {
	c.mu.Lock()
	c.set = nil
	c.mu.Unlock()
}

// OfConversations returns names for conversations: their assignees, owners and
// inboxes.
func (c *NameCache) OfConversations(ctx context.Context, cs ...conversation.Conversation) (*Names, error) {
	var users, inboxes []int64
	for _, cv := range cs {
		if cv.AssigneeID != nil {
			users = append(users, *cv.AssigneeID)
		}
		if cv.OwnerID != nil {
			users = append(users, *cv.OwnerID)
		}
		inboxes = append(inboxes, cv.InboxID)
	}
	return c.Get(ctx, users, inboxes)
}

// OfMessages returns names for messages: their agents.
func (c *NameCache) OfMessages(ctx context.Context, ms ...conversation.Message) (*Names, error) {
	var users []int64
	for _, m := range ms {
		if m.SenderID != nil {
			users = append(users, *m.SenderID)
		}
	}
	return c.Get(ctx, users, nil)
}

// Fresh are the names of people and inboxes read anew: the admin
// pages list what may have changed a moment ago.
func (c *NameCache) Fresh(ctx context.Context) (*Names, error) {
	c.Forget()
	return c.Get(ctx, nil, nil)
}
