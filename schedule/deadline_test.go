package schedule

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// TestDeadlineOfEveryJob: every run's context has a deadline, from the
// run's start: the job's period, at most DefaultJobTimeout, unless the job
// sets its own (which may outlast the period: the lease keeps the next
// ticks from overlapping it). On a fake clock the deadline is reported in
// real time, what I/O compares it with (TestJobStopsAtItsDeadline shows it
// kept on the fake clock).
func TestDeadlineOfEveryJob(t *testing.T) {
	start := time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC)
	tests := []struct {
		name string
		spec Spec
		opts []JobOption
		at   time.Time // the first tick
		want time.Duration
	}{
		{"a short period", Spec{Every: 2 * time.Second}, nil, start.Add(1500 * time.Millisecond), 2 * time.Second},
		{"a long period", Spec{Every: time.Hour}, nil, time.Date(2025, 3, 3, 11, 0, 0, 0, time.UTC), DefaultJobTimeout},
		{"a cron job", Spec{Cron: "* * * * *"}, nil, time.Date(2025, 3, 3, 10, 1, 0, 0, time.UTC), time.Minute},
		{"its own, past the period", Spec{Every: time.Second}, []JobOption{JobTimeout(30 * time.Second)}, start.Add(500 * time.Millisecond), 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, start, time.UTC)
			got := make(chan time.Duration, 10)
			if err := h.sched.Add("job", tc.spec, func(ctx context.Context, tick time.Time) error {
				dl, ok := ctx.Deadline()
				if !ok {
					got <- 0
					return nil
				}
				got <- time.Until(dl)
				return nil
			}, tc.opts...); err != nil {
				t.Fatal(err)
			}
			h.jobs++
			h.sched.Start()
			h.tick(tc.at, "job")
			if left := recv(t, got, "the run's deadline"); left <= tc.want-time.Second || left > tc.want {
				t.Errorf("the run started with %s left before its deadline, want %s (0: none)", left, tc.want)
			}
		})
	}
}

// TestJobStopsAtItsDeadline: a stuck run's context ends at its deadline
// on the scheduler's clock, so it cannot hold its job (and lease) for ever.
func TestJobStopsAtItsDeadline(t *testing.T) {
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC)
	started := make(chan struct{}, 10)
	h.add("alerts", Spec{Every: 2 * time.Second}, func(ctx context.Context, tick time.Time) error {
		if tick.Second() != 2 {
			return nil
		}
		started <- struct{}{}
		<-ctx.Done() // stuck until its deadline
		return ctx.Err()
	})
	h.sched.Start()
	first := time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC)
	h.advance(first)
	recv(t, started, "the stuck run")
	h.advance(first.Add(2 * time.Second))
	for {
		r := recv(t, h.runs, "the stuck run's end")
		if !r.Tick.Equal(first) || r.Repeat {
			continue
		}
		if !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Errorf("the stuck run ended with %v, want its deadline exceeded", r.Err)
		}
		return
	}
}

// leaseLocker is a gocron.Locker whose locks are leases the scheduler
// binds each run to (as redisstate's are): lose() ends the lease of the
// run going on.
type leaseLocker struct {
	mu       sync.Mutex
	bound    chan time.Duration // each Bind, with the time left to the run's deadline
	released chan struct{}      // each release of a binding
	lost     context.CancelCauseFunc
}

func (l *leaseLocker) Lock(context.Context, string) (gocron.Lock, error) { return nopLock{}, nil }

func (l *leaseLocker) Bind(ctx context.Context, _ string) (context.Context, context.CancelFunc) {
	var left time.Duration
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	l.lost = cancel
	l.mu.Unlock()
	l.bound <- left
	return ctx, func() { cancel(nil); l.released <- struct{}{} }
}

func (l *leaseLocker) lose(cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lost(cause)
}

type nopLock struct{}

func (nopLock) Unlock(context.Context) error { return nil }

// TestRunEndsWhenItsLeaseIsLost: with a leasing locker, the run's context
// (deadline and all) is bound to its lease, and ends when the lease is
// lost: a run that can no longer be sure it is alone stops.
func TestRunEndsWhenItsLeaseIsLost(t *testing.T) {
	locker := &leaseLocker{bound: make(chan time.Duration, 10), released: make(chan struct{}, 10)}
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC, WithDistributedLocker(locker))
	started := make(chan struct{}, 10)
	h.add("after_call", Spec{Every: 2 * time.Second}, func(ctx context.Context, tick time.Time) error {
		started <- struct{}{}
		<-ctx.Done()
		return context.Cause(ctx)
	})
	h.sched.Start()
	tick := time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC)
	h.advance(tick)
	if left := recv(t, locker.bound, "the run bound to its lease"); left <= time.Second || left > 2*time.Second {
		t.Errorf("bound with %s left before the run's deadline, want its deadline (2s)", left)
	}
	recv(t, started, "the run")
	errLost := errors.New("lease lost")
	locker.lose(errLost)
	r := recv(t, h.runs, "the run's end")
	if !errors.Is(r.Err, errLost) {
		t.Errorf("the run ended with %v, want the lease's loss", r.Err)
	}
	recv(t, locker.released, "the binding released")
}
