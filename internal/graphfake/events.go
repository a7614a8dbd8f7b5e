package graphfake

// Event is something a customer's phone would show: a message in a chat,
// a status change, the typing indicator going up or down, or a change of
// a number's ice breakers.
type Event struct {
	Kind          string       `json:"kind"` // message, status, typing, automation
	PhoneNumberID string       `json:"phone_number_id"`
	Customer      string       `json:"customer,omitempty"` // user id
	Message       *ChatMessage `json:"message,omitempty"`
	Typing        bool         `json:"typing,omitempty"`
}

// Event kinds.
const (
	EventMessage    = "message"
	EventStatus     = "status"
	EventTyping     = "typing"
	EventAutomation = "automation"
)

type subscriber struct {
	ch chan Event
}

// Subscribe returns a channel of events and a function that ends the
// subscription. A subscriber that falls 256 events behind has its
// channel closed: it should subscribe again and reload what it shows.
func (f *Fake) Subscribe() (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, 256)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	f.subs[s] = struct{}{}
	return s.ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[s]; ok {
			delete(f.subs, s)
			close(s.ch)
		}
	}
}

// publish sends e to every subscriber. f.mu is held.
func (f *Fake) publish(e Event) {
	if e.Message != nil {
		m := *e.Message
		e.Message = &m
	}
	for s := range f.subs {
		select {
		case s.ch <- e:
		default:
			delete(f.subs, s)
			close(s.ch)
		}
	}
}
