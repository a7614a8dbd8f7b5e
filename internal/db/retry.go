package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// The retry policy of Retry: at most retryAttempts runs; before run n+1 a
// wait of about retryBase·2^(n-1) (5, 10, 20, 40 ms), each drawn at random
// between half and one and a half of that so that the two sides of a
// deadlock do not meet again.
const (
	retryAttempts = 5
	retryBase     = 5 * time.Millisecond
)

// Retry runs fn until it succeeds or fails with an error that is not
// ErrRetryable (after MapErr, which Retry applies to fn's errors), at most a few times, with backoff and jitter
// between the runs. It is the one retry policy of the database layer:
// Write and WriteAlone use it, so their callers do not retry again. When
// ctx ends during a wait Retry stops and returns fn's last error together
// with the context's.
//
// fn must be safe to run again: its effects are its transaction's (and
// variables it sets afresh).
func Retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := MapErr(fn())
		if err == nil || attempt == retryAttempts || !errors.Is(err, ErrRetryable) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (not retried: %w)", err, context.Cause(ctx))
		}
		t := time.NewTimer(retryWait(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (not retried: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// retryWait is the wait after the attempt-th run.
func retryWait(attempt int) time.Duration {
	d := retryBase << (attempt - 1)
	return d/2 + rand.N(d)
}
