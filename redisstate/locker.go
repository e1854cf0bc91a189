package redisstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/go-redsync/redsync/v4"
	"github.com/jonboulle/clockwork"
)

// MinLease is the shortest a tick's lock is held. It must outlast the
// clock skew between replicas (up to a second) with room to spare, or a
// replica whose clock is late would find the tick free again.
const MinLease = 10 * time.Second

// ErrTickTaken is wrapped by Lock when another replica has the tick. It is
// the normal outcome on all replicas but one, not a failure.
var ErrTickTaken = errors.New("tick taken by another replica")

// TickFunc names the tick a run of job belongs to: the scheduled instant
// nearest to now (within half a period), and the job's period (for a cron
// job, the gap to its next instant). ok is false when it cannot tell,
// such as for an unknown job. The scheduler that owns the schedules
// provides it.
type TickFunc func(job string, now time.Time) (tick time.Time, period time.Duration, ok bool)

// Locker is a gocron.Locker that lets one replica run each tick of each
// job. The lock is keyed by job and tick (Prefix+"lock:"+job+":"+tick in
// UTC), so replicas whose timers fire up to a second apart still contend
// for the same lock, and a tick's lock never blocks the next tick: a dead
// replica's work is taken over on the next tick.
//
// Unlock does not release the lock: it is held until it expires, at least
// to the next tick, so a replica whose clock is late and which asks after
// the winner has finished still finds the tick taken. While Redis is down
// Lock fails, and gocron skips the run rather than risk a duplicate.
type Locker struct {
	c      *Client
	clock  clockwork.Clock
	tickOf TickFunc
}

var _ gocron.Locker = (*Locker)(nil)

// Locker returns a gocron.Locker (for gocron.WithDistributedLocker) that
// reads now from clock (the scheduler's) and the tick from tickOf.
func (c *Client) Locker(clock clockwork.Clock, tickOf TickFunc) *Locker {
	return &Locker{c: c, clock: clock, tickOf: tickOf}
}

// Lock implements gocron.Locker; key is the job's name. An error means
// "do not run this tick": ErrTickTaken when another replica has it,
// ErrUnavailable when Redis did not answer within the timeout.
func (l *Locker) Lock(ctx context.Context, job string) (gocron.Lock, error) {
	now := l.clock.Now()
	tick, period, ok := l.tickOf(job, now)
	if !ok {
		return nil, fmt.Errorf("lock job %q: no scheduled tick near %s", job, now.Format(time.RFC3339Nano))
	}
	at := tick.UTC().Format(time.RFC3339Nano)
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
		return nil, fmt.Errorf("lock job %q tick %s: %w", job, at, ErrTickTaken)
	case err != nil:
		if errors.Is(err, ErrUnavailable) {
			l.c.fellBack(OpLock)
		}
		return nil, fmt.Errorf("lock job %q tick %s: %w", job, at, err)
	}
	return tickLock{}, nil
}

// tickLock is a held tick. Its lease runs out by itself.
type tickLock struct{}

// Unlock implements gocron.Lock. It keeps the lock on purpose: releasing
// it when the run ends would hand the same tick to a replica whose clock
// is behind.
func (tickLock) Unlock(context.Context) error { return nil }
