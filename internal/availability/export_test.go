package availability

import (
	"context"
	"time"
)

// SetClock makes p read the time from now. Call it before p is used.
func (p *Presence) SetClock(now func() time.Time) { p.now = now }

// Flush writes p's connection changes at once, as Run does once they
// have settled.
func (p *Presence) Flush(ctx context.Context) { p.flush(ctx) }
