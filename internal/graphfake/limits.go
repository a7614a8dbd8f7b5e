package graphfake

import (
	"time"
)

// Endpoint names a class of Graph calls, for error injection.
type Endpoint string

// The endpoint classes.
const (
	EndpointAny         Endpoint = "*"              // every Graph call
	EndpointMessages    Endpoint = "messages"       // POST /{phone-number-id}/messages (sends and mark-as-read)
	EndpointMediaUpload Endpoint = "media_upload"   // POST /{phone-number-id}/media
	EndpointMedia       Endpoint = "media"          // GET and DELETE /{media-id}
	EndpointDownload    Endpoint = "media_download" // GET of a media URL (plain-text errors)
	EndpointTemplates   Endpoint = "templates"      // /{waba-id}/message_templates and /{template-id}
	EndpointAutomation  Endpoint = "automation"     // /{phone-number-id}/conversational_automation
	EndpointNumber      Endpoint = "number"         // GET /{phone-number-id}
	EndpointAccount     Endpoint = "account"        // /{waba-id} and its other edges
)

type errorRate struct {
	rate float64
	errs []*Error
}

// FailNext makes the next calls to ep answer errs, one call each, in
// order (before any validation, after the token check).
func (f *Fake) FailNext(ep Endpoint, errs ...*Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range errs {
		f.failNext[ep] = append(f.failNext[ep], e.clone())
	}
}

// SetErrorRate makes a fraction (0..1) of the calls to ep answer one of
// errs, picked at random (Options.Seed makes it repeatable). Without errs
// the mix is Injectable(time.Second): 500, 503 and 429s with Retry-After.
// A rate of 0 turns it off.
func (f *Fake) SetErrorRate(ep Endpoint, rate float64, errs ...*Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rate <= 0 {
		delete(f.rates, ep)
		return
	}
	if len(errs) == 0 {
		errs = Injectable(time.Second)
	}
	f.rates[ep] = errorRate{rate: rate, errs: errs}
}

// ClearErrors removes every injected error, queued or random.
func (f *Fake) ClearErrors() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.failNext)
	clear(f.rates)
}

// injection returns the error to inject for a call to ep, if any. f.mu is
// held.
func (f *Fake) injection(ep Endpoint, _ string) *Error {
	for _, k := range []Endpoint{ep, EndpointAny} {
		if q := f.failNext[k]; len(q) > 0 {
			f.failNext[k] = q[1:]
			f.injected++
			return q[0].clone()
		}
	}
	for _, k := range []Endpoint{ep, EndpointAny} {
		if r, ok := f.rates[k]; ok && f.rng.Float64() < r.rate {
			f.injected++
			return r.errs[f.rng.IntN(len(r.errs))].clone()
		}
	}
	return nil
}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends one token if there is one: the bucket refills at rate per
// second up to burst.
func (b *bucket) take(now time.Time, rate float64, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// SetThroughput changes the per-number limit (messages per second, 0 for
// none).
func (f *Fake) SetThroughput(perSecond float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opt.Throughput = perSecond
	clear(f.throughput)
}

// SetPairRate changes the per-recipient limit (zero for none).
func (f *Fake) SetPairRate(p PairRate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opt.PairRate = p
	clear(f.pairs)
}

// limit checks the number's throughput and the pair rate for a send and
// records a violation when one is exceeded. f.mu is held.
func (f *Fake) limit(pnid, user string) *Error {
	now := f.now()
	if r := f.opt.Throughput; r > 0 {
		b := f.throughput[pnid]
		if b == nil {
			b = &bucket{}
			f.throughput[pnid] = b
		}
		if !b.take(now, r, max(1, r)) {
			f.violations = append(f.violations, Violation{Kind: ViolationThroughput, PhoneNumberID: pnid, Recipient: user, At: now})
			// Meta's answer carries no Retry-After: backing off is the
			// sender's business.
			return oauth(400, 130429, "Rate limit hit", "Cloud API message throughput has been reached.")
		}
	}
	if p := f.opt.PairRate; p.Every > 0 {
		k := threadKey{pnid, user}
		b := f.pairs[k]
		if b == nil {
			b = &bucket{}
			f.pairs[k] = b
		}
		if !b.take(now, 1/p.Every.Seconds(), float64(max(1, p.Burst))) {
			f.violations = append(f.violations, Violation{Kind: ViolationPairRate, PhoneNumberID: pnid, Recipient: user, At: now})
			return ErrPairRate()
		}
	}
	return nil
}
