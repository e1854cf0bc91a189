package redisstate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
)

// budgetAdvancer moves a fake clock on by step whenever at least n timers
// wait on it, until the test ends.
func budgetAdvancer(t *testing.T, clock *clockwork.FakeClock, n int, step time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for clock.BlockUntilContext(ctx, n) == nil {
			clock.Advance(step)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func blockUntil(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("%d timers never waited on the clock: %v", n, err)
	}
}

// TestBudgetGCRASharedByThreeReplicas: three replicas, each with its own
// connection and its own greedy callers, share one budget in a real
// redis-server (on Redis's clock): together they never go above the rate,
// and together they use it.
func TestBudgetGCRASharedByThreeReplicas(t *testing.T) {
	srv := redistest.Start(t)
	const rate, burst = 100, 10
	prefix := "test:" + t.Name() + ":"
	var (
		mu    sync.Mutex
		times []time.Time
	)
	record := func(presence.BudgetGrant) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var fallbacks atomic.Int64
	for r := range 3 {
		c := open(t, srv, Options{Prefix: prefix, OnFallback: func(string) { fallbacks.Add(1) }})
		b := presence.NewBudget(presence.BudgetOptions{Rate: rate, Burst: burst, OnGrant: record,
			Shared: c.Budget(BudgetOptions{Replica: fmt.Sprintf("replica-%d", r)})})
		for i := range 4 {
			p := presence.Read
			if i%2 == 0 {
				p = presence.Write
			}
			wg.Go(func() {
				pctx := presence.WithPriority(ctx, p)
				for b.Wait(pctx, "get") == nil {
				}
			})
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) < 2 {
		t.Fatalf("%d grants in all", len(times))
	}
	span := times[len(times)-1].Sub(times[0])
	// A grant is recorded a moment after Redis decided it: a few of slack.
	if limit := int(rate*span.Seconds()) + burst + 3; len(times) > limit {
		t.Errorf("%d grants in %s, want at most %d (%d/s + burst %d)", len(times), span, limit, rate, burst)
	}
	for _, w := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond} {
		if got, limit := busiest(times, w), int(rate*w.Seconds())+burst+3; got > limit {
			t.Errorf("%d grants within %s, want at most %d", got, w, limit)
		}
	}
	if floor := int(0.6 * rate * span.Seconds()); len(times) < floor {
		t.Errorf("%d grants in %s: the replicas together used less than 60%% of the budget", len(times), span)
	}
	if n := fallbacks.Load(); n != 0 {
		t.Errorf("%d takes fell back to a local share with Redis up", n)
	}
	t.Logf("%d grants in %s across 3 replicas", len(times), span.Round(time.Millisecond))
}

func busiest(times []time.Time, w time.Duration) int {
	most, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// TestBudgetPauseReachesAnotherReplica: a 429 one replica got holds the
// requests of another that shares the Redis.
func TestBudgetPauseReachesAnotherReplica(t *testing.T) {
	srv := redistest.Start(t)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC))
	prefix := "test:" + t.Name() + ":"
	replica := func(name string) *presence.Budget {
		c := open(t, srv, Options{Prefix: prefix})
		return presence.NewBudget(presence.BudgetOptions{Rate: 100, Burst: 10, Clock: clock,
			Shared: c.Budget(BudgetOptions{Replica: name, Now: clock.Now})})
	}
	a, b := replica("a"), replica("b")
	a.Pause(5 * time.Second)

	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background(), "get") }()
	blockUntil(t, clock, 2) // b's waiter and b's dispatcher, told of the pause by Redis
	if got := b.State().PausedUntil; !got.Equal(clock.Now().Add(5 * time.Second)) {
		t.Errorf("replica b paused until %v, want %v", got, clock.Now().Add(5*time.Second))
	}
	clock.Advance(4900 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("replica b granted (%v) 4.9 s into a 5 s pause replica a got", err)
	case <-time.After(5 * time.Millisecond):
	}
	clock.Advance(100 * time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("replica b not granted once the pause was over")
	}
}

// TestBudgetFallsBackToAShareWhenRedisIsDown: with Redis gone, a replica
// keeps to its share of the budget (the rate divided among the replicas
// Redis last counted), and says so.
func TestBudgetFallsBackToAShareWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	prefix := "test:" + t.Name() + ":"
	var shared []*Budget
	for r := range 3 {
		c := open(t, srv, Options{Prefix: prefix, Timeout: quickTimeout})
		shared = append(shared, c.Budget(BudgetOptions{Replica: fmt.Sprintf("replica-%d", r)}))
	}
	// Each counts the ones before it; the first, asked again, all three.
	for _, s := range append(shared, shared[0]) {
		if err := s.Heartbeat(bg(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := shared[0].Replicas(); n != 3 {
		t.Fatalf("replicas counted: %d, want 3", n)
	}
	srv.Stop()

	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC))
	var grants []time.Time
	b := presence.NewBudget(presence.BudgetOptions{Rate: 30, Burst: 6, Clock: clock, Shared: shared[0],
		OnGrant: func(presence.BudgetGrant) { grants = append(grants, clock.Now()) }})
	budgetAdvancer(t, clock, 2, 5*time.Millisecond)
	start := clock.Now()
	for clock.Since(start) < 3*time.Second {
		if err := b.Wait(presence.WithPriority(context.Background(), presence.Write), "update"); err != nil {
			t.Fatal(err)
		}
	}
	// A third of 30/s with a third of the burst: 10/s, burst 2.
	if limit := 10*3 + 2; len(grants) > limit {
		t.Errorf("%d grants in 3 s with Redis down, want at most %d (a third of the budget)", len(grants), limit)
	}
	if len(grants) < 25 {
		t.Errorf("%d grants in 3 s with Redis down, want about 30 (the share is used)", len(grants))
	}
	st := b.State()
	if st.Mode != presence.BudgetLocal || st.Detail == "" {
		t.Errorf("state with Redis down: mode %q, detail %q; want local, with why", st.Mode, st.Detail)
	}
	t.Logf("state: %+v", st)
}

// TestBudgetInACluster: the budget's scripts name every key in KEYS, all
// under the hash tag, so a cluster runs them as one server does.
func TestBudgetInACluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	c := open(t, nil, Options{URL: cl.URL(), Prefix: "bot:"})
	b := c.Budget(BudgetOptions{Replica: "r1"})
	limit := presence.BucketLimit{Rate: 10, Burst: 2}
	for i, wantOK := range []bool{true, true, false} {
		got, err := b.Take(bg(t), limit)
		if err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
		if got.OK != wantOK || got.Replicas != 1 {
			t.Errorf("take %d: %+v, want ok %v with 1 replica", i, got, wantOK)
		}
		if !got.OK && (got.Wait <= 0 || got.Wait > 100*time.Millisecond) {
			t.Errorf("take %d: wait %s, want at most a token's 100 ms", i, got.Wait)
		}
	}
	if err := b.Pause(bg(t), time.Minute); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if got, err := b.Take(bg(t), limit); err != nil || got.OK || got.Paused < 59*time.Second {
		t.Errorf("take while paused: %+v, %v; want refused for about a minute", got, err)
	}
	if err := b.Heartbeat(bg(t)); err != nil {
		t.Errorf("Heartbeat: %v", err)
	}
}
