package realtime

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	th := NewThrottle[int64](3*time.Second, func() time.Time { return now })
	step := func(d time.Duration) { now = now.Add(d) }
	for _, tc := range []struct {
		after time.Duration
		key   int64
		want  bool
	}{
		{0, 1, true},
		{0, 1, false},                       // at once again
		{0, 2, true},                        // another key has its own
		{2900 * time.Millisecond, 1, false}, // not yet
		{100 * time.Millisecond, 1, true},   // 3 s after the first
		{time.Second, 2, true},              // 4 s after its first
		{time.Second, 1, false},
	} {
		step(tc.after)
		if got := th.Allow(tc.key); got != tc.want {
			t.Fatalf("at %s key %d: Allow = %v, want %v", now.Format("15:04:05.000"), tc.key, got, tc.want)
		}
	}
	// Idle keys are forgotten.
	step(time.Minute)
	th.Allow(3)
	th.mu.Lock()
	n := len(th.last)
	th.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept, want 1", n)
	}
}
