package job

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/secret"
)

// Sealed is a kind of job whose payload, a T, is encrypted with a
// secret.Box before it is written: mail and texts carry sign-in links and
// codes that a copy of the jobs table must not give away. Sealed is the
// job's Handler; each run opens the payload and passes it to the function
// given to NewSealed.
type Sealed[T any] struct {
	kind    string
	queue   *Queue
	box     *secret.Box
	opts    Options
	timeout time.Duration
	run     func(ctx context.Context, v T) error
}

// sealedPayload is the stored payload of a sealed job.
type sealedPayload struct {
	Sealed string `json:"sealed"`
}

// NewSealed returns the sealed job kind: Enqueue writes jobs with opts,
// and each run calls run with a context that ends after timeout (no limit
// when zero).
func NewSealed[T any](queue *Queue, box *secret.Box, kind string, opts Options, timeout time.Duration, run func(ctx context.Context, v T) error) *Sealed[T] {
	return &Sealed[T]{kind: kind, queue: queue, box: box, opts: opts, timeout: timeout, run: run}
}

// Enqueue adds a job carrying v in tx; it runs once tx commits.
func (s *Sealed[T]) Enqueue(ctx context.Context, tx *db.Tx, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("job: marshal %s: %w", s.kind, err)
	}
	sealed, err := s.box.Seal(string(b))
	if err != nil {
		return fmt.Errorf("job: seal %s: %w", s.kind, err)
	}
	_, err = s.queue.Enqueue(ctx, tx, s.kind, sealedPayload{Sealed: sealed}, s.opts)
	return err
}

// Handle opens the payload of j and runs it. A payload that cannot be
// opened fails the job at once: no retry can read it.
func (s *Sealed[T]) Handle(ctx context.Context, j *Job) error {
	v, err := s.open(j.Payload)
	if err != nil {
		return Permanent(fmt.Errorf("%s: payload: %w", s.kind, err))
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	return s.run(ctx, v)
}

func (s *Sealed[T]) open(payload json.RawMessage) (T, error) {
	var v T
	var p sealedPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return v, err
	}
	plain, err := s.box.Open(p.Sealed)
	if err != nil {
		return v, err
	}
	err = json.Unmarshal([]byte(plain), &v)
	return v, err
}
