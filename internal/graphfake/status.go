package graphfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

var statusRank = map[string]int{"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4}

// afterLocked is after for callers holding f.mu.
func (f *Fake) afterLocked(d time.Duration, fn func()) {
	if f.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return
		}
		delete(f.timers, t)
		f.mu.Unlock()
		fn()
	})
	f.timers[t] = struct{}{}
}

// schedule plans the statuses of an accepted message: a failure at once,
// or the ladder (only "sent" for reactions). f.mu is held.
func (f *Fake) schedule(m *ChatMessage, fail *WebhookError) {
	id := m.ID
	if fail != nil {
		e := *fail
		f.afterLocked(0, func() { f.emitStatus(id, "failed", &e) })
		return
	}
	for _, s := range f.plan {
		if m.Type == "reaction" && s.Status != "sent" {
			continue
		}
		status := s.Status
		f.afterLocked(s.After, func() { f.emitStatus(id, status, nil) })
	}
}

// emitStatus records a status of a business message and posts its
// webhook.
func (f *Fake) emitStatus(id, status string, werr *WebhookError) {
	f.mu.Lock()
	m, ok := f.messages[id]
	if !ok || !m.FromBusiness {
		f.mu.Unlock()
		return
	}
	n := f.numbers[m.PhoneNumberID]
	c := f.customers[m.Customer]
	if n == nil || c == nil {
		f.mu.Unlock()
		return
	}
	now := f.now()
	switch {
	case status == "failed":
		m.Status = "failed"
		if werr != nil {
			m.Errors = append(m.Errors, *werr)
		}
	case m.Status != "failed" && statusRank[status] > statusRank[m.Status]:
		m.Status = status
	}
	st := Status{ID: m.ID, Status: status, Timestamp: unix(now), BizOpaqueCallbackData: m.CallbackData}
	if c.Phone != "" {
		st.RecipientID = c.Phone
	}
	if !(status == "failed" && !m.byBSUID) {
		st.RecipientUserID = c.UserID
	}
	if status == "failed" {
		if werr != nil {
			st.Errors = []WebhookError{*werr}
		}
	} else if m.Type != "reaction" {
		if m.version > 0 && m.version <= 23 {
			conv := &Conversation{ID: conversationID(m), Origin: Origin{Type: m.category}}
			if status == "sent" {
				conv.ExpirationTimestamp = unix(m.Timestamp.Add(24 * time.Hour))
			}
			st.Conversation = conv
		}
		if status == "sent" {
			st.Pricing = pricingOf(m)
		}
	}
	b := f.Batch()
	v := b.value(n, c.UserID)
	if status != "failed" {
		v.Contacts = []Contact{contactOf(c, status != "sent")}
	}
	v.Statuses = append(v.Statuses, st)
	f.publish(Event{Kind: EventStatus, PhoneNumberID: n.ID, Customer: c.UserID, Message: m})
	f.mu.Unlock()
	if _, err := b.Post(); err != nil {
		f.logger.Warn("graphfake: status webhook", "err", err)
	}
}

// conversationID is a stable id per number, customer, category and day.
func conversationID(m *ChatMessage) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s", m.PhoneNumberID, m.Customer, m.category, m.Timestamp.UTC().Format(time.DateOnly))))
	return hex.EncodeToString(sum[:16])
}

// pricingOf is per-message pricing (PMP): service messages and utility
// templates inside the window are free.
func pricingOf(m *ChatMessage) *Pricing {
	p := &Pricing{PricingModel: "PMP", Category: m.category, Type: "regular", Billable: true}
	if m.category == "service" {
		p.Type, p.Billable = "free_customer_service", false
	}
	return p
}

// Read is the customer opening the chat: the business's messages that
// reached the phone turn read (blue ticks), with their webhooks.
func (f *Fake) Read(pnid, customer string) error {
	f.mu.Lock()
	c := f.lookup(customer)
	if c == nil {
		f.mu.Unlock()
		return errNoCustomer
	}
	var ids []string
	if t := f.threads[threadKey{pnid, c.UserID}]; t != nil {
		for _, m := range t.messages {
			if m.FromBusiness && m.Type != "reaction" && (m.Status == "sent" || m.Status == "delivered") {
				ids = append(ids, m.ID)
			}
		}
	}
	f.mu.Unlock()
	for _, id := range ids {
		f.emitStatus(id, "read", nil)
	}
	return nil
}

// SetStatus sends a status of a business message now, whatever came
// before (to test out-of-order or repeated statuses).
func (f *Fake) SetStatus(wamid, status string) error {
	f.mu.Lock()
	_, ok := f.messages[wamid]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("graphfake: no message %s", wamid)
	}
	f.emitStatus(wamid, status, nil)
	return nil
}

// FailMessage fails a business message with an asynchronous error code
// (131026, 131047, 131049, 131050, 131053, 130472, …).
func (f *Fake) FailMessage(wamid string, code int) error {
	f.mu.Lock()
	_, ok := f.messages[wamid]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("graphfake: no message %s", wamid)
	}
	e := FailureError(code)
	f.emitStatus(wamid, "failed", &e)
	return nil
}

// Unreachable marks a phone number as not on WhatsApp: messages to it
// are accepted and then fail with 131026.
func (f *Fake) Unreachable(phone string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.undeliver[digitsOnly(phone)] = true
}
