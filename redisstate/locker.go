package redisstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/go-redsync/redsync/v4"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
)

// MinLease is the shortest a tick's lock is held. It must outlast the
// clock skew between replicas (up to a second) with room to spare, or a
// replica whose clock is late would find the tick free again.
const MinLease = 10 * time.Second

// A job's lease lasts half its period, so a dead replica's lease is gone
// by the next tick, within these bounds.
const (
	// MinLeaseTTL leaves room for two renewals (every third of the TTL)
	// to fail on a slow Redis before the lease runs out.
	MinLeaseTTL = time.Second
	// MaxLeaseTTL bounds how long a dead replica's lease outlives it.
	MaxLeaseTTL = 30 * time.Second
	// LeaseGrace is how long a run past its deadline keeps its lease
	// while it unwinds (an update's confirmation takes up to 2 s); after
	// that its lease is no longer renewed and expires within a TTL.
	LeaseGrace = 5 * time.Second
)

// ErrTickTaken is wrapped by Lock when another replica has the tick. It is
// the normal outcome on all replicas but one, not a failure.
var ErrTickTaken = errors.New("tick taken by another replica")

// ErrStillRunning is wrapped by Lock when the job's previous tick still
// runs on a replica, which holds the job's lease: the tick is skipped
// (the scheduler's SkipStillRunning).
var ErrStillRunning = errors.New("the job's previous tick is still running on a replica")

// ErrJobLeaseLost is the cause of a run's context ending (see Bind) when
// its job's lease was taken by another replica or could not be renewed
// for a whole TTL.
var ErrJobLeaseLost = errors.New("job lease lost")

// TickFunc names the tick a run of job belongs to: the scheduled instant
// nearest to now (within half a period), and the job's period (for a cron
// job, the gap to its next instant). ok is false when it cannot tell,
// such as for an unknown job. The scheduler that owns the schedules
// provides it.
type TickFunc func(job string, now time.Time) (tick time.Time, period time.Duration, ok bool)

// Locker is a gocron.Locker that lets one replica run each tick of each
// job, and no replica start a job's tick while its previous one still
// runs anywhere. Lock takes two keys:
//
//   - the job's lease, Prefix+"lease:"+job, holding the tick it runs and a
//     token of its own, with a TTL of half the period (MinLeaseTTL to
//     MaxLeaseTTL). It is renewed every third of its TTL while the run
//     goes on, and released when it ends (compare-and-delete: never
//     another owner's). A replica that dies stops renewing: its lease
//     expires and the next tick runs elsewhere.
//   - the tick's lock, Prefix+"lock:"+job+":"+tick in UTC, so replicas
//     whose timers fire up to a second apart contend for the same lock.
//     Unlock does not release it: it is held until it expires, at least
//     to the next tick, so a replica whose clock is late and which asks
//     after the winner has finished still finds the tick taken.
//
// The lease comes first: a tick refused because the job still runs is
// not claimed, so it is not burned (a replica asking a moment later, once
// the lease is free, may still run it), and a tick is claimed only by the
// replica that will run it. A replica that wins the lease but finds the
// tick taken lets the lease go at once.
//
// While Redis is down Lock fails, and gocron skips the run rather than
// risk a duplicate.
type Locker struct {
	c          *Client
	clock      clockwork.Clock // the scheduler's: names ticks
	leaseClock clockwork.Clock // paces renewals
	ttl        func(period time.Duration) time.Duration
	tickOf     TickFunc

	mu   sync.Mutex
	held map[string]*lease // job → the lease of its run going on here
}

var _ gocron.Locker = (*Locker)(nil)

// LockerOption adjusts a Locker.
type LockerOption func(*Locker)

// WithLeaseClock sets the clock that paces lease renewals. Default: the
// real clock, whatever the scheduler's, because a lease expires on
// Redis's own time. Tests pass a fake one to renew on demand.
func WithLeaseClock(c clockwork.Clock) LockerOption {
	return func(l *Locker) { l.leaseClock = c }
}

// WithLeaseTTL gives every lease the TTL d instead of one from the job's
// period.
func WithLeaseTTL(d time.Duration) LockerOption {
	return func(l *Locker) { l.ttl = func(time.Duration) time.Duration { return d } }
}

// Locker returns a gocron.Locker (for gocron.WithDistributedLocker, or
// schedule.WithDistributedLocker, which also binds runs to their leases)
// that reads now from clock (the scheduler's) and the tick from tickOf.
func (c *Client) Locker(clock clockwork.Clock, tickOf TickFunc, opts ...LockerOption) *Locker {
	l := &Locker{c: c, clock: clock, leaseClock: clockwork.NewRealClock(), tickOf: tickOf, ttl: leaseTTL,
		held: make(map[string]*lease)}
	for _, o := range opts {
		o(l)
	}
	return l
}

// leaseTTL is a lease's TTL for a job of period.
func leaseTTL(period time.Duration) time.Duration {
	return min(max(period/2, MinLeaseTTL), MaxLeaseTTL)
}

// Lease scripts. A lease's value is its tick (RFC 3339, UTC), a space and
// a random token: replicas tell "this tick runs elsewhere" from "an
// earlier tick still runs" by it, and only the owner matches it whole.
var (
	// acquireLease sets the lease if it is free and returns "", else
	// returns the holder's value.
	acquireLease = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
`)
	// renewLease extends the lease if it is still ours: 1, else 0.
	renewLease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)
	// releaseLease deletes the lease if it is still ours: 1, else 0.
	releaseLease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
)

// Lock implements gocron.Locker; key is the job's name. An error means
// "do not run this tick": ErrTickTaken when another replica has it,
// ErrStillRunning when the job's previous tick still runs on a replica,
// ErrUnavailable when Redis did not answer within the timeout.
func (l *Locker) Lock(ctx context.Context, job string) (gocron.Lock, error) {
	now := l.clock.Now()
	tick, period, ok := l.tickOf(job, now)
	if !ok {
		return nil, fmt.Errorf("lock job %q: no scheduled tick near %s", job, now.Format(time.RFC3339Nano))
	}
	at := tick.UTC().Format(time.RFC3339Nano)
	le, err := l.acquire(ctx, job, tick, period)
	if err != nil {
		return nil, fmt.Errorf("lock job %q tick %s: %w", job, at, err)
	}
	if err := l.lockTick(ctx, job, at, period); err != nil {
		// Not ours to run: let the lease go at once, for the replica
		// whose tick is next.
		_ = le.release(ctx)
		return nil, fmt.Errorf("lock job %q tick %s: %w", job, at, err)
	}
	l.mu.Lock()
	l.held[job] = le
	l.mu.Unlock()
	go le.renew()
	return le, nil
}

// acquire takes the job's lease for tick, or says who has it.
func (l *Locker) acquire(ctx context.Context, job string, tick time.Time, period time.Duration) (*lease, error) {
	token := make([]byte, 16)
	_, _ = rand.Read(token) // never fails (crypto/rand)
	le := &lease{
		l: l, job: job, key: l.c.key("lease", job),
		value: tick.UTC().Format(time.RFC3339Nano) + " " + hex.EncodeToString(token),
		ttl:   l.ttl(period),
		lost:  make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	// Renewals count from when the lease was asked for: it may have been
	// set any time after.
	le.confirmed = l.leaseClock.Now()
	var holder string
	err := l.c.do(ctx, func(ctx context.Context) error {
		var err error
		holder, err = acquireLease.Run(ctx, l.c.rdb, []string{le.key}, le.value, le.ttl.Milliseconds()).Text()
		return err
	})
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			l.c.fellBack(OpLock)
		}
		return nil, fmt.Errorf("job lease: %w", err)
	}
	if holder == "" {
		return le, nil
	}
	// Held: by a run of this tick or a later one (another replica won
	// it), or of an earlier one still going.
	held, _, _ := strings.Cut(holder, " ")
	if t, err := time.Parse(time.RFC3339Nano, held); err == nil && !t.Before(tick) {
		return nil, fmt.Errorf("%w (it holds the job's lease)", ErrTickTaken)
	}
	return nil, fmt.Errorf("%w (tick %s)", ErrStillRunning, held)
}

// lockTick claims the tick: nil when this replica runs it.
func (l *Locker) lockTick(ctx context.Context, job, at string, period time.Duration) error {
	mutex := l.c.rs.NewMutex(l.c.key("lock", job+":"+at),
		redsync.WithExpiry(max(period, MinLease)),
		redsync.WithTries(1), // a taken tick is final: no retry
	)
	var taken bool
	err := l.c.do(ctx, func(ctx context.Context) error {
		err := mutex.LockContext(ctx)
		var te *redsync.ErrTaken
		if errors.As(err, &te) {
			taken = true
			return nil // Redis answered; someone else won
		}
		return err
	})
	switch {
	case taken:
		return ErrTickTaken
	case err != nil:
		if errors.Is(err, ErrUnavailable) {
			l.c.fellBack(OpLock)
		}
		return err
	}
	return nil
}

// Bind implements schedule.Leases: ctx is the context of the run of job
// that holds the lease taken by the last Lock. The lease is renewed until
// ctx ends and LeaseGrace longer while the run unwinds, then left to
// expire. The context returned ends, with ErrJobLeaseLost as its cause,
// when the lease is lost.
func (l *Locker) Bind(ctx context.Context, job string) (context.Context, context.CancelFunc) {
	l.mu.Lock()
	le := l.held[job]
	l.mu.Unlock()
	if le == nil {
		return context.WithCancel(ctx) // not locked here: nothing to bind
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-le.lost:
			cancel(fmt.Errorf("job %q: %w", job, ErrJobLeaseLost))
			return
		case <-le.done: // unlocked, or its client closed
			return
		case <-ctx.Done():
		}
		t := l.leaseClock.NewTimer(LeaseGrace)
		defer t.Stop()
		select {
		case <-t.Chan():
			le.halt()
		case <-le.done:
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// lease is a job's lease held by a run here, and its gocron.Lock.
type lease struct {
	l     *Locker
	job   string
	key   string
	value string
	ttl   time.Duration

	confirmed time.Time     // when the last renewal Redis confirmed was sent; renew's own
	lost      chan struct{} // closed when the lease is known or feared lost
	stop      chan struct{} // closed to stop renewing
	stopOnce  sync.Once
	done      chan struct{} // closed when renew returns
}

// renew extends the lease every third of its TTL until it is stopped or
// lost. A renewal that finds the lease another's loses it at once; when
// Redis does not answer, it is lost once a whole TTL has passed since the
// last renewal Redis confirmed, as it may have expired.
func (le *lease) renew() {
	defer close(le.done)
	clock := le.l.leaseClock
	for {
		t := clock.NewTimer(le.ttl / 3)
		select {
		case <-le.stop:
			t.Stop()
			return
		case <-le.l.c.stop: // the client is closed
			t.Stop()
			return
		case <-t.Chan():
		}
		sent := clock.Now()
		var n int64
		err := le.l.c.do(context.Background(), func(ctx context.Context) error {
			var err error
			n, err = renewLease.Run(ctx, le.l.c.rdb, []string{le.key}, le.value, le.ttl.Milliseconds()).Int64()
			return err
		})
		switch {
		case err == nil && n == 1:
			le.confirmed = sent
			continue
		case err == nil:
			le.l.c.log.Warn("job lease taken by another replica; stopping the run", "job", le.job)
		case clock.Since(le.confirmed) >= le.ttl:
			le.l.c.log.Warn("job lease not renewed for a whole TTL; stopping the run", "job", le.job, "ttl", le.ttl, "err", err)
		default:
			continue // the next renewal may get through in time
		}
		close(le.lost)
		return
	}
}

// halt stops renewing; the lease expires within its TTL.
func (le *lease) halt() { le.stopOnce.Do(func() { close(le.stop) }) }

// release deletes the lease if it is still ours.
func (le *lease) release(ctx context.Context) error {
	// Its own context: gocron hands the job's, which shutdown cancels
	// before the runs' locks are let go.
	err := le.l.c.do(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return releaseLease.Run(ctx, le.l.c.rdb, []string{le.key}, le.value).Err()
	})
	if err != nil {
		return fmt.Errorf("release job %q lease: %w", le.job, err)
	}
	return nil
}

// Unlock implements gocron.Lock: the run is over. It stops renewing the
// lease and releases it, so the job's next tick may run at once. The
// tick's lock is kept on purpose: releasing it would hand the same tick
// to a replica whose clock is behind.
func (le *lease) Unlock(ctx context.Context) error {
	le.halt()
	<-le.done
	le.l.mu.Lock()
	if le.l.held[le.job] == le {
		delete(le.l.held, le.job)
	}
	le.l.mu.Unlock()
	return le.release(ctx)
}
