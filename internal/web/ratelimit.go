package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters are token buckets per key (an IP, a visitor), kept in memory on
// this node. Buckets idle for a while are forgotten.
type limiters struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex // guards buckets and swept
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}, swept: time.Now()}
}

// allow takes one token for key at the default rate, or reports how long
// to wait for one.
func (l *limiters) allow(key string) (bool, time.Duration) {
	return l.allowAt(key, l.rate, l.burst)
}

// allowAt is allow with a rate of its own for this kind of key.
func (l *limiters) allowAt(key string, r rate.Limit, burst int) (bool, time.Duration) {
	if r <= 0 {
		return true, 0 // unlimited
	}
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(r, burst)}
		l.buckets[key] = b
	}
	b.seen = now
	l.mu.Unlock()
	res := b.l.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
