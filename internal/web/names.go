package web

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

// names turns ids into the names people read (and users into their
// avatars and statuses, shown beside their names).
type names struct {
	users    map[int64]string
	inboxes  map[int64]string
	avatars  map[int64]string
	statuses map[int64]string
	// public are the names customers see ("" for none).
	public map[int64]string
}

// User is the name of a user, "" for none.
func (n *names) User(id *int64) string {
	if id == nil {
		return ""
	}
	if s, ok := n.users[*id]; ok {
		return s
	}
	return "#" + strconv.FormatInt(*id, 10)
}

// Inbox is the name of an inbox.
func (n *names) Inbox(id int64) string {
	if s, ok := n.inboxes[id]; ok {
		return s
	}
	return "#" + strconv.FormatInt(id, 10)
}

// knows reports whether n has every one of the ids.
func (n *names) knows(users, inboxes []int64) bool {
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

// nameCache keeps the names of users and inboxes for a little while
// (nameTTL), for the pages and the widget.
type nameCache struct {
	users   *user.Store
	inboxes *inbox.Store

	mu  sync.Mutex // guards set and at
	set *names
	at  time.Time
}

// get returns the names of users and inboxes, from the cache while it
// is fresh and knows the ids asked for (a new user or inbox reloads it).
func (c *nameCache) get(ctx context.Context, users, inboxes []int64) (*names, error) {
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
	n = &names{users: make(map[int64]string, len(us)), inboxes: make(map[int64]string, len(ins)),
		avatars: map[int64]string{}, statuses: make(map[int64]string, len(us)), public: map[int64]string{}}
	for _, x := range us {
		n.users[x.ID] = x.Name
		n.statuses[x.ID] = string(x.Status)
		if x.PublicName != "" {
			n.public[x.ID] = x.PublicName
		}
		if x.AvatarURL != "" {
			n.avatars[x.ID] = x.AvatarURL
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

// forget drops the cached names after a change to them.
func (c *nameCache) forget() {
	c.mu.Lock()
	c.set = nil
	c.mu.Unlock()
}

// ofConversations returns names for conversations: their assignees, owners and
// inboxes.
func (c *nameCache) ofConversations(ctx context.Context, cs ...conversation.Conversation) (*names, error) {
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
	return c.get(ctx, users, inboxes)
}

// ofMessages returns names for messages: their agents.
func (c *nameCache) ofMessages(ctx context.Context, ms ...conversation.Message) (*names, error) {
	var users []int64
	for _, m := range ms {
		if m.SenderID != nil {
			users = append(users, *m.SenderID)
		}
	}
	return c.get(ctx, users, nil)
}

// fresh are the names of people and inboxes read anew: the admin
// pages list what may have changed a moment ago.
func (c *nameCache) fresh(ctx context.Context) (*names, error) {
	c.forget()
	return c.get(ctx, nil, nil)
}
