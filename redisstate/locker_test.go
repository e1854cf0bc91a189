package redisstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/internal/redistest"
)

// base is a tick of every aligned schedule used here.
var base = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// alignedTicks is the TickFunc of jobs that run every period on instants
// aligned to the Unix epoch, as the scheduler aligns duration jobs: the
// nearest such instant. Jobs not in periods are unknown.
func alignedTicks(periods map[string]time.Duration) TickFunc {
	return func(job string, now time.Time) (time.Time, time.Duration, bool) {
		p, ok := periods[job]
		if !ok {
			return time.Time{}, 0, false
		}
		n := (now.UnixNano() + int64(p)/2) / int64(p) * int64(p)
		return time.Unix(0, n).In(now.Location()), p, true
	}
}

func TestLockerOneReplicaPerJobAndTick(t *testing.T) {
	srv := redistest.Start(t)
	tickOf := alignedTicks(map[string]time.Duration{"summary": 2 * time.Second, "alerts": 2 * time.Second})
	clocks := []*clockwork.FakeClock{clockwork.NewFakeClockAt(base), clockwork.NewFakeClockAt(base)}
	lockers := []*Locker{
		open(t, srv, Options{Prefix: "bot:"}).Locker(clocks[0], tickOf),
		open(t, srv, Options{Prefix: "bot:"}).Locker(clocks[1], tickOf),
	}
	steps := []struct {
		replica int
		at      time.Duration // the replica's clock, from base
		job     string
		unlock  bool  // unlock at once, as gocron does when a run ends
		want    error // nil: locked
	}{
		{0, 0, "summary", true, nil},                          // the first replica takes the tick, and its run ends
		{1, time.Second - 1, "summary", false, ErrTickTaken},  // a replica 1s late still finds it taken
		{1, -time.Second + 1, "summary", false, ErrTickTaken}, // and so does one 1s early
		{1, 0, "alerts", false, nil},                          // another job is another lock
		{1, 2 * time.Second, "summary", false, nil},           // the next tick is free for anyone
		{0, 2 * time.Second, "summary", false, ErrTickTaken},  // and then taken
	}
	for i, st := range steps {
		clocks[st.replica].Advance(base.Add(st.at).Sub(clocks[st.replica].Now()))
		lock, err := lockers[st.replica].Lock(bg(t), st.job)
		if !errors.Is(err, st.want) || (st.want == nil) != (lock != nil) {
			t.Errorf("step %d: replica %d Lock(%q) at %+v = %v, %v; want error %v", i, st.replica, st.job, st.at, lock, err, st.want)
			continue
		}
		if st.unlock {
			if err := lock.Unlock(bg(t)); err != nil {
				t.Errorf("step %d: Unlock: %v", i, err)
			}
		}
	}

	// A job the scheduler cannot place is not run: no tick, no lock.
	if _, err := lockers[0].Lock(bg(t), "unknown"); err == nil || errors.Is(err, ErrTickTaken) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Lock of an unknown job: got %v, want a no-tick error", err)
	}
}

func TestLockerKeyAndLease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	clock := clockwork.NewFakeClockAt(base.Add(300 * time.Millisecond))
	l := open(t, srv, Options{Prefix: "bot:"}).Locker(clock, alignedTicks(map[string]time.Duration{
		"alerts": 2 * time.Second, "summary": time.Hour,
	}))
	tests := []struct {
		job      string
		key      string
		min, max time.Duration
	}{
		// A short period is held MinLease, well past any clock skew.
		{"alerts", "bot:lock:alerts:2025-03-04T10:00:00Z", MinLease - time.Second, MinLease},
		// A long one to the next tick.
		{"summary", "bot:lock:summary:2025-03-04T10:00:00Z", time.Hour - time.Second, time.Hour},
	}
	for _, tc := range tests {
		if _, err := l.Lock(bg(t), tc.job); err != nil {
			t.Fatalf("Lock(%q): %v", tc.job, err)
		}
		ttl, err := rdb.PTTL(bg(t), tc.key).Result()
		if err != nil || ttl < tc.min || ttl > tc.max {
			t.Errorf("PTTL(%s) = %v, %v; want between %s and %s", tc.key, ttl, err, tc.min, tc.max)
		}
	}
}

func TestLockerRedisDownOrSlow(t *testing.T) {
	tests := []struct {
		name       string
		fail, mend func(*redistest.Server)
	}{
		// Down: the connection is refused.
		{"stopped", (*redistest.Server).Stop, (*redistest.Server).Restart},
		// Slow: Redis accepts but never answers.
		{"paused", (*redistest.Server).Pause, (*redistest.Server).Resume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			var h hooks
			o := Options{Timeout: quickTimeout}
			h.install(&o)
			c := open(t, srv, o)
			clock := clockwork.NewFakeClockAt(base)
			l := c.Locker(clock, alignedTicks(map[string]time.Duration{"alerts": 2 * time.Second}))

			tc.fail(srv)
			within(t, 2*quickTimeout, "Lock with Redis failing", func() {
				if _, err := l.Lock(bg(t), "alerts"); !errors.Is(err, ErrUnavailable) {
					t.Errorf("Lock with Redis failing: got %v, want ErrUnavailable", err)
				}
			})
			if got := h.Fallbacks(OpLock); got != 1 {
				t.Errorf("lock fallbacks counted %d, want 1", got)
			}
			tc.mend(srv)
			waitHealthy(t, c)
			clock.Advance(2 * time.Second)
			if _, err := l.Lock(bg(t), "alerts"); err != nil {
				t.Errorf("Lock after Redis returned: %v", err)
			}
		})
	}
}

// event is what a replica did with one tick.
type event struct {
	replica int
	tick    time.Time
	locked  bool  // it had the lock, ran (or crashed) and unlocked
	err     error // why it did not get the lock
}

// observedLocker reports when a replica is done with a tick: a refused
// lock, or an Unlock after the run. Reporting at Unlock, not at the end
// of the job, makes sure a replica asking later asks after the winner
// has let go.
type observedLocker struct {
	gocron.Locker
	replica int
	clock   clockwork.Clock
	tickOf  TickFunc
	events  chan<- event
}

func (o observedLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	tick, _, _ := o.tickOf(key, o.clock.Now())
	lock, err := o.Locker.Lock(ctx, key)
	if err != nil {
		o.events <- event{replica: o.replica, tick: tick, err: err}
		return nil, err
	}
	return observedLock{Lock: lock, done: func() { o.events <- event{replica: o.replica, tick: tick, locked: true} }}, nil
}

type observedLock struct {
	gocron.Lock
	done func()
}

func (o observedLock) Unlock(ctx context.Context) error {
	err := o.Lock.Unlock(ctx)
	o.done()
	return err
}

// nextEvent waits for replica's event for tick. Anything else fails the
// test, but for a repeat of a (replica, tick) already seen: gocron may
// fire a tick twice on one replica when a timer is late (the scheduler's
// lastTick check guards the job body against it); the lock refuses the
// repeat, which runs nothing, as the run counts check.
func nextEvent(ctx context.Context, t *testing.T, events <-chan event, seen map[event]bool, replica int, tick time.Time) event {
	t.Helper()
	for {
		var ev event
		select {
		case ev = <-events:
		case <-ctx.Done():
			t.Fatalf("tick %s: replica %d did nothing", tick.Format(time.TimeOnly), replica)
		}
		id := event{replica: ev.replica, tick: ev.tick}
		if seen[id] {
			t.Logf("tick %s: replica %d fired again: %+v", ev.tick.Format(time.TimeOnly), ev.replica, ev)
			continue
		}
		seen[id] = true
		if ev.replica != replica || !ev.tick.Equal(tick) {
			t.Fatalf("got event %+v, want one from replica %d for tick %s", ev, replica, tick.Format(time.TimeOnly))
		}
		return ev
	}
}

// replica is one bot instance: its own clock, Redis client and gocron
// scheduler with the Redis locker.
type replica struct {
	id    int
	skew  time.Duration // its clock minus the true time
	clock *clockwork.FakeClock
	c     *Client
	sched gocron.Scheduler
	job   gocron.Job
	alive bool
}

// settle waits until the replica's scheduler has finished with tick and
// scheduled the next one. Advancing a fake clock to the next tick before
// that makes gocron lose track of a run (it prunes its list of scheduled
// runs by the clock of the moment), which no real clock does.
func (r *replica) settle(ctx context.Context, t *testing.T, next time.Time) {
	t.Helper()
	for {
		got, err := r.job.NextRun()
		if err == nil && got.Equal(next) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("replica %d: next run %v, %v; want %s", r.id, got, err, next.Format(time.TimeOnly))
		case <-time.After(time.Millisecond):
		}
	}
}

// Three replicas with clocks up to a second apart run one 2s job aligned
// to ticks, all with the same schedule, as the bot's scheduler sets it up.
// Over 22 ticks: each tick runs exactly once in all; a replica that dies
// holding a tick is replaced on the next tick; while Redis is down nobody
// runs; when it is back the ticks run again.
func TestLockerReplicasRunEachTickOnce(t *testing.T) {
	srv := redistest.Start(t)
	const period = 2 * time.Second
	tickOf := alignedTicks(map[string]time.Duration{"summary": period})
	events := make(chan event, 16)
	var (
		mu   sync.Mutex
		runs = map[time.Time][]int{} // tick → replicas that ran it
	)
	const crashTick = 10 // replica 0, which wins the ticks, dies holding this one

	// Ordered by skew, most ahead first: the order in which their timers
	// fire for a tick.
	skews := []time.Duration{time.Second, 400 * time.Millisecond, 0}
	truth := base.Add(-1500 * time.Millisecond) // before the first tick on every clock
	replicas := make([]*replica, len(skews))
	for i, skew := range skews {
		r := &replica{id: i, skew: skew, clock: clockwork.NewFakeClockAt(truth.Add(skew)), alive: true}
		r.c = open(t, srv, Options{Prefix: "bot:"})
		locker := observedLocker{Locker: r.c.Locker(r.clock, tickOf), replica: i, clock: r.clock, tickOf: tickOf, events: events}
		sched, err := gocron.NewScheduler(
			gocron.WithClock(r.clock),
			gocron.WithLocation(time.UTC),
			gocron.WithDistributedLocker(locker),
		)
		if err != nil {
			t.Fatalf("NewScheduler: %v", err)
		}
		r.sched = sched
		t.Cleanup(func() {
			if r.alive {
				_ = sched.Shutdown()
			}
		})
		r.job, err = sched.NewJob(gocron.DurationJob(period), gocron.NewTask(func() {
			tick, _, _ := tickOf("summary", r.clock.Now())
			if r.id == 0 && tick.Equal(base.Add(crashTick*period)) {
				return // dies after taking the lock, before doing the work
			}
			mu.Lock()
			runs[tick] = append(runs[tick], r.id)
			mu.Unlock()
		}), gocron.WithName("summary"), gocron.WithStartAt(gocron.WithStartDateTime(base)))
		if err != nil {
			t.Fatalf("NewJob: %v", err)
		}
		sched.Start()
		replicas[i] = r
	}

	ctx := bg(t)
	seen := map[event]bool{}
	for k := range 22 {
		tick := base.Add(time.Duration(k) * period)
		switch k {
		case 15:
			srv.Stop()
		case 18:
			srv.Restart()
			var live []*Client
			for _, r := range replicas {
				if r.alive {
					live = append(live, r.c)
				}
			}
			waitHealthy(t, live...)
		}
		// Each replica's timer fires when the true time reaches the tick
		// minus its skew; every clock moves with the true time.
		for _, r := range replicas {
			if !r.alive {
				continue
			}
			for _, o := range replicas {
				if o.alive {
					if err := o.clock.BlockUntilContext(ctx, 1); err != nil {
						t.Fatalf("tick %d: replica %d never armed its timer: %v", k, o.id, err)
					}
				}
			}
			fireAt := tick.Add(-r.skew)
			for _, o := range replicas {
				if o.alive {
					o.clock.Advance(fireAt.Sub(truth))
				}
			}
			truth = fireAt
			ev := nextEvent(ctx, t, events, seen, r.id, tick)
			if !ev.locked && !errors.Is(ev.err, ErrTickTaken) && !errors.Is(ev.err, ErrUnavailable) {
				t.Errorf("tick %d: replica %d skipped with %v, want taken or unavailable", k, r.id, ev.err)
			}
			if k == crashTick && r.id == 0 {
				if err := r.sched.Shutdown(); err != nil {
					t.Errorf("shut down replica %d: %v", r.id, err)
				}
				r.alive = false
			} else {
				r.settle(ctx, t, tick.Add(period))
			}
			if k >= 15 && k < 18 && !errors.Is(ev.err, ErrUnavailable) {
				t.Errorf("tick %d with Redis down: replica %d got %+v, want skipped as unavailable", k, r.id, ev)
			}
		}

		mu.Lock()
		got := slices.Clone(runs[tick])
		mu.Unlock()
		want := 1
		switch {
		case k == crashTick:
			want = 0 // the dead replica had the tick: lost, never doubled
		case k >= 15 && k < 18:
			want = 0 // Redis down: skipped rather than risk duplicates
		}
		if len(got) != want {
			t.Errorf("tick %d (%s): ran on replicas %v, want %d run(s)", k, tick.Format(time.TimeOnly), got, want)
		}
	}
	if t.Failed() {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("runs: %s", fmt.Sprint(runs))
	}
}
