package redisstate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/internal/redistest"
)

// leaseJob is the job of the lease tests: a 1 s poll, as the after-call
// poll can be.
const leaseJob = "after_call"

// leaseReplica is one replica's view of the lease: its scheduler's clock
// (which names ticks), the clock its lease is renewed on, and its Locker.
type leaseReplica struct {
	clock *clockwork.FakeClock
	lease *clockwork.FakeClock
	l     *Locker
}

func newLeaseReplica(t *testing.T, srv *redistest.Server, o Options, opts ...LockerOption) *leaseReplica {
	t.Helper()
	if o.Prefix == "" {
		o.Prefix = "bot:"
	}
	r := &leaseReplica{clock: clockwork.NewFakeClockAt(base), lease: clockwork.NewFakeClockAt(base)}
	r.l = open(t, srv, o).Locker(r.clock, alignedTicks(map[string]time.Duration{
		leaseJob: time.Second, "alerts": 2 * time.Second, "summary": time.Hour,
	}), append([]LockerOption{WithLeaseClock(r.lease)}, opts...)...)
	return r
}

// lockAt moves the replica's scheduler clock to base+d and asks for the lock
// of the job's tick there.
func (r *leaseReplica) lockAt(t *testing.T, d time.Duration) (gocron.Lock, error) {
	t.Helper()
	r.clock.Advance(base.Add(d).Sub(r.clock.Now()))
	return r.l.Lock(bg(t), leaseJob)
}

// renewal moves the lease clock on by d, once the lease's renewal timer is
// set (that is, once the previous renewal is over).
func (r *leaseReplica) renewal(t *testing.T, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.lease.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the lease's renewal timer was never set: %v", err)
	}
	r.lease.Advance(d)
}

func tickKey(job string, d time.Duration) string {
	return "bot:lock:" + job + ":" + base.Add(d).UTC().Format(time.RFC3339Nano)
}

const leaseKey = "bot:lease:" + leaseJob

func exists(t *testing.T, rdb *redis.Client, key string) bool {
	t.Helper()
	n, err := rdb.Exists(bg(t), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}

// pollUntil checks cond every couple of milliseconds (real time: it is
// Redis's own clock that runs) until it holds, or fails after limit.
func pollUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s (after %s)", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustLock(t *testing.T, lock gocron.Lock, err error, what string) gocron.Lock {
	t.Helper()
	if err != nil || lock == nil {
		t.Fatalf("%s: Lock = %v, %v; want the lock", what, lock, err)
	}
	return lock
}

func mustUnlock(t *testing.T, lock gocron.Lock) {
	t.Helper()
	if err := lock.Unlock(bg(t)); err != nil {
		t.Errorf("Unlock: %v", err)
	}
}

// TestLeaseBlocksTheNextTickUntilReleased: while a replica runs a tick,
// no replica may start the job's next ticks (still running, not taken);
// the ticks refused so are not claimed, and the lease goes when the run
// ends, so the next tick runs at once.
func TestLeaseBlocksTheNextTickUntilReleased(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	a, b := newLeaseReplica(t, srv, Options{}), newLeaseReplica(t, srv, Options{})

	lock, err := a.lockAt(t, 0)
	held := mustLock(t, lock, err, "replica A, first tick")
	if !exists(t, rdb, leaseKey) {
		t.Fatalf("no %s while A runs", leaseKey)
	}
	for _, d := range []time.Duration{time.Second, 2 * time.Second} {
		lock, err := b.lockAt(t, d)
		if !errors.Is(err, ErrStillRunning) || errors.Is(err, ErrTickTaken) || lock != nil {
			t.Errorf("replica B, tick +%s while A runs: Lock = %v, %v; want ErrStillRunning", d, lock, err)
		}
		if exists(t, rdb, tickKey(leaseJob, d)) {
			t.Errorf("tick +%s claimed though it did not run: a replica asking once the lease is free would find it lost", d)
		}
	}

	mustUnlock(t, held)
	if exists(t, rdb, leaseKey) {
		t.Errorf("%s still held after the run ended", leaseKey)
	}
	if !exists(t, rdb, tickKey(leaseJob, 0)) {
		t.Errorf("the first tick's key went with the lease: a replica whose clock is late could run it again")
	}
	lock, err = b.lockAt(t, 2*time.Second)
	mustUnlock(t, mustLock(t, lock, err, "replica B, the tick after A's run"))
	if lock, err := a.lockAt(t, 0); !errors.Is(err, ErrTickTaken) {
		t.Errorf("replica A, its own tick again: Lock = %v, %v; want ErrTickTaken", lock, err)
	}
}

// TestLeaseRenewedPastItsTTL: a run that lasts longer than the lease's TTL
// keeps it: the lease is renewed every TTL/3 of the lease clock while the
// run goes on, and the next ticks stay refused throughout.
func TestLeaseRenewedPastItsTTL(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	const ttl = 3 * time.Second
	a := newLeaseReplica(t, srv, Options{}, WithLeaseTTL(ttl))
	b := newLeaseReplica(t, srv, Options{})

	lock, err := a.lockAt(t, 0)
	held := mustLock(t, lock, err, "replica A")
	ctx, release := a.l.Bind(bg(t), leaseJob)
	defer release()
	if pttl := rdb.PTTL(bg(t), leaseKey).Val(); pttl <= ttl-time.Second || pttl > ttl {
		t.Errorf("lease PTTL %s, want about %s", pttl, ttl)
	}
	for i := 1; i <= 4; i++ { // 4 s of renewals: past the TTL
		// Redis's own time runs on: the lease is near its end...
		if err := rdb.PExpire(bg(t), leaseKey, 1500*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		// ...when its renewal comes.
		a.renewal(t, ttl/3)
		pollUntil(t, 5*time.Second, "the lease renewed", func() bool { return rdb.PTTL(bg(t), leaseKey).Val() > 2*time.Second })
		if lock, err := b.lockAt(t, time.Duration(i)*time.Second); !errors.Is(err, ErrStillRunning) {
			t.Errorf("renewal %d: replica B, tick +%ds: Lock = %v, %v; want ErrStillRunning", i, i, lock, err)
		}
	}
	if ctx.Err() != nil {
		t.Errorf("the run's context ended (%v) though its lease was renewed", context.Cause(ctx))
	}
	mustUnlock(t, held)
	if exists(t, rdb, leaseKey) {
		t.Errorf("%s still held after the run ended", leaseKey)
	}
}

// TestLeaseExpiresWhenItsHolderDies: a replica that dies mid-run renews
// nothing; its lease expires after its TTL and the next tick runs
// elsewhere. When the dead holder's renewal comes after all (it was only
// stalled), it finds the lease another's: its run is told so, and its
// release (compare-and-delete) leaves the new owner's lease alone.
func TestLeaseExpiresWhenItsHolderDies(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	const short = 100 * time.Millisecond
	a := newLeaseReplica(t, srv, Options{}, WithLeaseTTL(short)) // its lease clock never moves: no renewals
	b := newLeaseReplica(t, srv, Options{}, WithLeaseTTL(time.Minute))

	lock, err := a.lockAt(t, 0)
	dead := mustLock(t, lock, err, "replica A")
	ctx, release := a.l.Bind(bg(t), leaseJob)
	defer release()
	if lock, err := b.lockAt(t, time.Second); !errors.Is(err, ErrStillRunning) {
		t.Fatalf("replica B, tick +1s right after A took its tick: Lock = %v, %v; want ErrStillRunning", lock, err)
	}
	var taken gocron.Lock
	pollUntil(t, 5*time.Second, "replica B takes tick +2s once A's lease expired", func() bool {
		lock, err := b.lockAt(t, 2*time.Second)
		if err != nil && !errors.Is(err, ErrStillRunning) {
			t.Fatalf("replica B, tick +2s: %v; want the lock or ErrStillRunning", err)
		}
		taken = lock
		return err == nil
	})

	a.renewal(t, short/3)
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), ErrJobLeaseLost) {
			t.Errorf("A's run ended with %v, want ErrJobLeaseLost", context.Cause(ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("A's run was not told that its lease was lost")
	}
	if err := dead.Unlock(bg(t)); err != nil {
		t.Errorf("A's Unlock: %v", err)
	}
	if pttl := rdb.PTTL(bg(t), leaseKey).Val(); pttl < 30*time.Second {
		t.Errorf("B's lease has PTTL %s after A's release, want B's about 1m: A deleted B's lease", pttl)
	}
	if lock, err := a.lockAt(t, 3*time.Second); !errors.Is(err, ErrStillRunning) {
		t.Errorf("replica A, tick +3s while B runs: Lock = %v, %v; want ErrStillRunning", lock, err)
	}
	mustUnlock(t, taken)
	if exists(t, rdb, leaseKey) {
		t.Errorf("%s still held after B's run ended", leaseKey)
	}
}

// TestLeaseLostWhenRenewalsFail: while Redis does not answer, the lease
// cannot be renewed; once a whole TTL has passed since the last renewal
// Redis confirmed, it may have expired, and the run is told.
func TestLeaseLostWhenRenewalsFail(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 3 * time.Second
	a := newLeaseReplica(t, srv, Options{Timeout: quickTimeout}, WithLeaseTTL(ttl))
	lock, err := a.lockAt(t, 0)
	held := mustLock(t, lock, err, "replica A")
	ctx, release := a.l.Bind(bg(t), leaseJob)
	defer release()
	srv.Stop()
	for i := 1; i <= 2; i++ {
		a.renewal(t, ttl/3)
		a.renewal(t, 0) // the failed renewal is over
		if ctx.Err() != nil {
			t.Fatalf("after %d failed renewal(s), %s since the last confirmed: the run's context ended (%v), want it going", i, time.Duration(i)*ttl/3, context.Cause(ctx))
		}
	}
	a.renewal(t, ttl/3)
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), ErrJobLeaseLost) {
			t.Errorf("the run ended with %v, want ErrJobLeaseLost", context.Cause(ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a TTL without a confirmed renewal, and the run was not told")
	}
	_ = held.Unlock(bg(t)) // Redis is down: it may fail, but returns
}

// TestLeaseTTLFollowsThePeriod: a lease lasts half the job's period, so a
// dead replica's lease is gone by the next tick, within bounds: at least
// MinLeaseTTL (renewals must not race a slow Redis) and at most
// MaxLeaseTTL.
func TestLeaseTTLFollowsThePeriod(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	r := newLeaseReplica(t, srv, Options{})
	for _, tc := range []struct {
		job  string
		want time.Duration
	}{
		{leaseJob, MinLeaseTTL},  // 1 s period
		{"alerts", MinLeaseTTL},  // 2 s: half is the minimum
		{"summary", MaxLeaseTTL}, // 1 h
	} {
		lock, err := r.l.Lock(bg(t), tc.job)
		lock = mustLock(t, lock, err, tc.job)
		pttl := rdb.PTTL(bg(t), "bot:lease:"+tc.job).Val()
		if pttl <= tc.want-time.Second || pttl > tc.want {
			t.Errorf("%s: lease PTTL %s, want about %s", tc.job, pttl, tc.want)
		}
		mustUnlock(t, lock)
	}
}
