package realtime

import (
	"sync"
	"time"
)

// Throttle lets through at most one signal per key per interval, on this
// node: what ephemeral signals (typing indicators) need, where a lost one
// does not matter and one too many only costs a message. Keys idle for
// longer than the interval are forgotten as new ones come.
type Throttle[K comparable] struct {
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex // guards last and swept
	last  map[K]time.Time
	swept time.Time
}

// NewThrottle returns a throttle of one signal per key every interval,
// reading the time from now (time.Now when nil).
func NewThrottle[K comparable](every time.Duration, now func() time.Time) *Throttle[K] {
	if now == nil {
		now = time.Now
	}
	return &Throttle[K]{every: every, now: now, last: map[K]time.Time{}}
}

// Allow reports whether a signal for key may go now, and if so counts it.
func (t *Throttle[K]) Allow(key K) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) >= t.every {
		for k, at := range t.last {
			if now.Sub(at) >= t.every {
				delete(t.last, k)
			}
		}
		t.swept = now
	}
	if at, ok := t.last[key]; ok && now.Sub(at) < t.every {
		return false
	}
	t.last[key] = now
	return true
}
