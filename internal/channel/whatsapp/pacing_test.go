package whatsapp

import (
	"testing"
	"time"
)

func TestGCRA(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, tc := range []struct {
		name           string
		tat            time.Time
		interval       time.Duration
		burst          int
		newTAT, slotAt time.Time
	}{
		{"a cell at rest", time.Time{}, 100 * ms, 1, now.Add(100 * ms), now},
		{"a TAT in the past counts as now", now.Add(-time.Hour), 100 * ms, 1, now.Add(100 * ms), now},
		{"a TAT of exactly now", now, 100 * ms, 1, now.Add(100 * ms), now},
		{"no burst: the slot is the TAT", now.Add(30 * ms), 100 * ms, 1, now.Add(130 * ms), now.Add(30 * ms)},
		{"a burst of zero is a burst of one", now.Add(30 * ms), 100 * ms, 0, now.Add(130 * ms), now.Add(30 * ms)},
		{"within the burst: at once", now.Add(2 * time.Second), time.Second, 5, now.Add(3 * time.Second), now},
		{"the burst's last message: at once", now.Add(4 * time.Second), time.Second, 5, now.Add(5 * time.Second), now},
		{"one past the burst: one interval later", now.Add(5 * time.Second), time.Second, 5, now.Add(6 * time.Second), now.Add(time.Second)},
		{"Meta's pair rate: the 46th message in a row waits 6 s", now.Add(45 * 6 * time.Second), 6 * time.Second, 45,
			now.Add(46 * 6 * time.Second), now.Add(6 * time.Second)},
		{"a microsecond past the tolerance", now.Add(time.Second + time.Microsecond), time.Second, 2, now.Add(2*time.Second + time.Microsecond), now.Add(time.Microsecond)},
	} {
		gotTAT, gotSlot := gcra(tc.tat, now, tc.interval, tc.burst)
		if !gotTAT.Equal(tc.newTAT) || !gotSlot.Equal(tc.slotAt) {
			t.Errorf("%s: gcra = TAT %v, slot %v; want TAT %v, slot %v", tc.name,
				gotTAT.Sub(now), gotSlot.Sub(now), tc.newTAT.Sub(now), tc.slotAt.Sub(now))
		}
	}
}

// TestGCRASequence applies gcra to a stream of messages arriving at once:
// the burst goes at once, the rest one interval apart, and a cell left
// alone for its tolerance takes a whole burst again.
func TestGCRASequence(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const interval, burst = 6 * time.Second, 3
	var tat time.Time
	var slots []time.Duration
	for range 6 {
		var slot time.Time
		tat, slot = gcra(tat, now, interval, burst)
		slots = append(slots, slot.Sub(now))
	}
	want := []time.Duration{0, 0, 0, 6 * time.Second, 12 * time.Second, 18 * time.Second}
	for i := range want {
		if slots[i] != want[i] {
			t.Fatalf("slots %v, want %v", slots, want)
		}
	}
	// The cell's TAT is 36 s ahead: after it, the burst is whole again.
	later := now.Add(36 * time.Second)
	for i := range burst {
		var slot time.Time
		tat, slot = gcra(tat, later, interval, burst)
		if !slot.Equal(later) {
			t.Fatalf("message %d after a rest waits %v", i+1, slot.Sub(later))
		}
	}
	if _, slot := gcra(tat, later, interval, burst); !slot.Equal(later.Add(interval)) {
		t.Errorf("past the burst again: slot %v, want %v", slot.Sub(later), interval)
	}
}
