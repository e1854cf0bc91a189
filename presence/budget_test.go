package presence_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// grants records what a budget let through: when (on its clock) and what.
type grants struct {
	mu    sync.Mutex
	clock clockwork.Clock
	at    []time.Time
	all   []presence.BudgetGrant
}

func (g *grants) record(gr presence.BudgetGrant) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.at = append(g.at, g.clock.Now())
	g.all = append(g.all, gr)
}

func (g *grants) times() []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.at)
}

func (g *grants) list() []presence.BudgetGrant {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.all)
}

// busiestWindow is the most requests any window of length w holds; times
// are sorted.
func busiestWindow(times []time.Time, w time.Duration) int {
	most, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// advancer moves a fake clock on by step whenever at least n timers wait
// on it: the budget's dispatcher asleep and the waiters' own timers. It
// stops with the test.
func advancer(t *testing.T, clock *clockwork.FakeClock, n int, step time.Duration) {
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

// blockUntil waits, for up to 5 s, until n timers wait on the clock.
func blockUntil(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("%d timers never waited on the clock: %v", n, err)
	}
}

// eventually polls cond every 2 ms for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestBudgetNeverLetsMoreThanRateTimesWindowPlusBurst: a greedy caller
// on a fake clock gets the burst at once, then the rate, and no window of
// any length holds more than rate × window + burst.
func TestBudgetNeverLetsMoreThanRateTimesWindowPlusBurst(t *testing.T) {
	for _, p := range []presence.Priority{presence.Read, presence.Write} {
		t.Run(p.String(), func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(base)
			g := &grants{clock: clock}
			b := presence.NewBudget(presence.BudgetOptions{Rate: 10, Burst: 5, Clock: clock, OnGrant: g.record})
			// One waiter's own timer and the dispatcher's sleep.
			advancer(t, clock, 2, time.Millisecond)
			ctx := presence.WithPriority(context.Background(), p)
			for range 60 {
				if err := b.Wait(ctx, "list"); err != nil {
					t.Fatalf("Wait: %v", err)
				}
			}
			times := g.times()
			for _, w := range []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second, 3 * time.Second} {
				limit := int(10*w.Seconds()) + 5
				if got := busiestWindow(times, w); got > limit {
					t.Errorf("%s window: %d requests, want at most %d (10/s × window + burst 5)", w, got, limit)
				}
			}
			// The rate is used, not only the burst.
			if took := times[len(times)-1].Sub(times[0]); took > 6*time.Second {
				t.Errorf("60 requests took %s of the clock, want about 5.5 s at 10/s after a burst", took)
			}
		})
	}
}

// TestBudgetWritesOvertakeQueuedReads: while reads wait for the budget, a
// status change that comes later goes first.
func TestBudgetWritesOvertakeQueuedReads(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 1, Burst: 1, Clock: clock})
	read := presence.WithPriority(context.Background(), presence.Read)
	write := presence.WithPriority(context.Background(), presence.Write)
	if err := b.Wait(read, "list"); err != nil { // the burst
		t.Fatal(err)
	}
	order := make(chan string, 4)
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		eventually(t, fmt.Sprintf("%d reads waiting", i-1), func() bool { return b.State().WaitingReads == i-1 })
		wg.Go(func() {
			if err := b.Wait(read, "list"); err != nil {
				t.Errorf("read %d: %v", i, err)
			}
			order <- fmt.Sprintf("read%d", i)
		})
	}
	eventually(t, "3 reads waiting", func() bool { return b.State().WaitingReads == 3 })
	wg.Go(func() {
		if err := b.Wait(write, "update"); err != nil {
			t.Errorf("write: %v", err)
		}
		order <- "write"
	})
	eventually(t, "the write waiting", func() bool { return b.State().WaitingWrites == 1 })
	var got []string
	for range 4 {
		// Four waiters' timers and the dispatcher asleep.
		blockUntil(t, clock, 4-len(got)+1)
		clock.Advance(time.Second)
		select {
		case s := <-order:
			got = append(got, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("nothing granted after a second of the clock; so far %v", got)
		}
	}
	wg.Wait()
	if want := []string{"write", "read1", "read2", "read3"}; !slices.Equal(got, want) {
		t.Errorf("granted in the order %v, want %v", got, want)
	}
}

// TestBudgetPauseHoldsEveryRequest: a 429's Retry-After holds every
// request until it passes, however many tokens are left.
func TestBudgetPauseHoldsEveryRequest(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 100, Burst: 10, Clock: clock})
	b.Pause(5 * time.Second)
	if got := b.State().PausedUntil; !got.Equal(base.Add(5 * time.Second)) {
		t.Errorf("PausedUntil = %v, want %v", got, base.Add(5*time.Second))
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background(), "get") }()
	blockUntil(t, clock, 2)
	clock.Advance(4900 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("granted (%v) 4.9 s into a 5 s pause", err)
	case <-time.After(5 * time.Millisecond):
	}
	clock.Advance(100 * time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait after the pause: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not granted once the pause was over")
	}
	if st := b.State(); !st.PausedUntil.IsZero() && st.PausedUntil.After(clock.Now()) {
		t.Errorf("still paused until %v at %v", st.PausedUntil, clock.Now())
	}
}

// TestBudgetQueueNoticeOnceWithPosition: a change held longer than the
// notice delay hears once where it stands among the waiting changes.
func TestBudgetQueueNoticeOnceWithPosition(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 100, Burst: 10, Clock: clock, NoticeDelay: 2 * time.Second})
	b.Pause(10 * time.Second)
	var mu sync.Mutex
	notices := map[int][]int{} // change → positions heard
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		eventually(t, "writes waiting", func() bool { return b.State().WaitingWrites == i-1 })
		ctx := presence.WithQueueNotice(presence.WithPriority(context.Background(), presence.Write), func(pos int) {
			mu.Lock()
			defer mu.Unlock()
			notices[i] = append(notices[i], pos)
		})
		wg.Go(func() {
			// Two requests, as a status change makes: one notice between them.
			for _, kind := range []string{"get", "update"} {
				if err := b.Wait(ctx, kind); err != nil {
					t.Errorf("change %d %s: %v", i, kind, err)
				}
			}
		})
	}
	eventually(t, "3 writes waiting", func() bool { return b.State().WaitingWrites == 3 })
	// Three waiters with a limit and a notice timer each, and the dispatcher.
	blockUntil(t, clock, 7)
	clock.Advance(1900 * time.Millisecond)
	mu.Lock()
	if len(notices) != 0 {
		t.Errorf("notices before the delay: %v", notices)
	}
	mu.Unlock()
	clock.Advance(100 * time.Millisecond)
	eventually(t, "three notices", func() bool { mu.Lock(); defer mu.Unlock(); return len(notices) == 3 })
	clock.Advance(8 * time.Second)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= 3; i++ {
		if want := []int{i}; !slices.Equal(notices[i], want) {
			t.Errorf("change %d heard %v, want once, position %d", i, notices[i], i)
		}
	}
}

// TestBudgetWaitIsExemptFromTheCommandDeadline: a write waiting for the
// budget is not cut off by its command's deadline; the deadline resumes
// once it is through. A read is, and the limit of a write's wait is its
// own.
func TestBudgetWaitIsExemptFromTheCommandDeadline(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 1, Burst: 1, Clock: clock, MaxWait: 2 * time.Minute})
	if err := b.Wait(context.Background(), "get"); err != nil { // the burst
		t.Fatal(err)
	}
	cmd, cancel := presence.WithBudgetExemptTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()

	readErr := b.Wait(presence.WithPriority(cmd, presence.Read), "get")
	if !errors.Is(readErr, context.DeadlineExceeded) {
		t.Errorf("a read past the deadline: %v, want the deadline", readErr)
	}

	cmd, cancel = presence.WithBudgetExemptTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	write := presence.WithPriority(cmd, presence.Write)
	done := make(chan error, 1)
	go func() { done <- b.Wait(write, "update") }()
	blockUntil(t, clock, 2)
	time.Sleep(10 * time.Millisecond) // past the command's deadline, in real time
	if err := cmd.Err(); err != nil {
		t.Fatalf("the command's context ended while its write waited for the budget: %v", err)
	}
	clock.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("the write: %v", err)
	}
	// Through the budget, the rest of the deadline runs again.
	eventually(t, "the deadline to resume", func() bool { return errors.Is(cmd.Err(), context.DeadlineExceeded) })

	// A write that cannot get through within its own limit is told so.
	b.Pause(10 * time.Minute)
	go func() { done <- b.Wait(presence.WithPriority(context.Background(), presence.Write), "update") }()
	blockUntil(t, clock, 2)
	clock.Advance(2 * time.Minute)
	if err := <-done; !errors.Is(err, presence.ErrBudgetExhausted) {
		t.Errorf("after 2 minutes in the queue: %v, want ErrBudgetExhausted", err)
	}
}

// serverTimes wraps the simulator to record when each request arrives,
// at the server.
type serverTimes struct {
	mu sync.Mutex
	at []time.Time
	h  http.Handler
}

func (s *serverTimes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	s.h.ServeHTTP(w, r)
}

func (s *serverTimes) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.at)
}

// TestBudgetBurstOfStatusChangesThroughTheClient: 100 status changes at
// once (a GET and a PUT each) through the real client and the simulator,
// at 200 requests a second with a burst of 20: the server never sees more
// than the rate (plus the burst) in any window, every change succeeds,
// none is cut off by its command's deadline while it waits, and the ones
// held longer than the notice delay hear once that they are queued.
func TestBudgetBurstOfStatusChangesThroughTheClient(t *testing.T) {
	const (
		changes     = 100
		rate, burst = 200, 20
		deadline    = 300 * time.Millisecond // the command's, scaled down like the rate
		noticeDelay = 200 * time.Millisecond
	)
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	for i := range changes {
		sim.Add(agent(fmt.Sprintf("agent_%03d", i), "Agent", presence.Available, "sales_team"))
	}
	at := &serverTimes{h: sim}
	srv := httptest.NewServer(at)
	t.Cleanup(srv.Close)
	var (
		grantMu sync.Mutex
		grants  []time.Time
	)
	b := presence.NewBudget(presence.BudgetOptions{Rate: rate, Burst: burst, NoticeDelay: noticeDelay,
		OnGrant: func(presence.BudgetGrant) {
			grantMu.Lock()
			defer grantMu.Unlock()
			grants = append(grants, time.Now())
		}})
	client := presence.NewClient(sim.AccountSID(), secretToken, presence.WithBaseURL(srv.URL), presence.WithBudget(b),
		presence.WithRetry(2, time.Millisecond, 5*time.Millisecond))

	type result struct {
		err     error
		took    time.Duration
		notices []int
	}
	results := make([]result, changes)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range changes {
		wg.Go(func() {
			r := &results[i]
			var mu sync.Mutex
			cmd, cancel := presence.WithBudgetExemptTimeout(context.Background(), deadline)
			defer cancel()
			ctx := presence.WithQueueNotice(presence.WithPriority(cmd, presence.Write), func(pos int) {
				mu.Lock()
				defer mu.Unlock()
				r.notices = append(r.notices, pos)
			})
			id := fmt.Sprintf("agent_%03d", i)
			began := time.Now()
			if _, err := client.Get(ctx, id); err != nil {
				r.err = err
				return
			}
			r.err = client.SetStatus(ctx, id, presence.Busy)
			r.took = time.Since(began)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	var longest time.Duration
	noticed := 0
	for i, r := range results {
		if r.err != nil {
			t.Errorf("change %d: %v", i, r.err)
			continue
		}
		longest = max(longest, r.took)
		switch {
		case len(r.notices) > 1:
			t.Errorf("change %d heard %d notices (%v), want at most one", i, len(r.notices), r.notices)
		case len(r.notices) == 1:
			noticed++
			if r.notices[0] < 1 || r.notices[0] > changes {
				t.Errorf("change %d: position %d", i, r.notices[0])
			}
		case r.took > noticeDelay+200*time.Millisecond:
			t.Errorf("change %d took %s in all, yet heard no notice", i, r.took)
		}
	}
	for i := range changes {
		if a, _ := sim.Agent(fmt.Sprintf("agent_%03d", i)); a.Status != presence.Busy {
			t.Errorf("agent_%03d is %s, want busy", i, a.Status)
		}
	}
	if longest <= deadline {
		t.Errorf("the longest change took %s: the budget never held one past its deadline, so the test proves nothing", longest)
	}
	if noticed == 0 {
		t.Errorf("no change heard it was queued")
	}
	times := at.times()
	if len(times) != 2*changes {
		t.Errorf("the server saw %d requests, want %d", len(times), 2*changes)
	}
	// The budget's own promise, where it is kept: no window of grants
	// holds more than the rate over it plus the burst (one of slack for
	// the clock read after the grant).
	grantMu.Lock()
	granted := slices.Clone(grants)
	grantMu.Unlock()
	// At the server, arrivals lag their grants by a hop whose length
	// varies (under -race, by tens of milliseconds), so a window there
	// can hold the grants of a slightly longer one: jitter's worth more.
	const jitter = 100 * time.Millisecond
	for _, w := range []time.Duration{50 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond} {
		if got, limit := busiestWindow(granted, w), int(rate*w.Seconds())+burst+1; got > limit {
			t.Errorf("the budget granted %d requests in %s, want at most %d", got, w, limit)
		}
		if got, limit := busiestWindow(times, w), int(rate*(w+jitter).Seconds())+burst; got > limit {
			t.Errorf("the server saw %d requests in %s, want at most %d", got, w, limit)
		}
	}
	t.Logf("%d changes in %s (longest %s), %d told they were queued", changes, elapsed.Round(time.Millisecond), longest.Round(time.Millisecond), noticed)
}

// TestBudgetCountsEveryAttemptRetriesIncluded: each HTTP attempt takes a
// token, so a retry is paid for like any request.
func TestBudgetCountsEveryAttemptRetriesIncluded(t *testing.T) {
	g := &grants{clock: clockwork.NewRealClock()}
	b := presence.NewBudget(presence.BudgetOptions{Rate: 1000, Burst: 100, OnGrant: g.record})
	sim, client := setup(t, presence.WithBudget(b))
	sim.Add(agent("agent_001", "John", presence.Available, "sales_team"))
	sim.Inject(ccmsim.Fault{Method: "PUT", Code: http.StatusServiceUnavailable, Times: 1})
	sim.Inject(ccmsim.Fault{Method: "GET", Code: http.StatusBadGateway, Times: 1})
	ctx := presence.WithPriority(context.Background(), presence.Write)
	if _, err := client.Get(ctx, "agent_001"); err != nil {
		t.Fatal(err)
	}
	if err := client.SetStatus(ctx, "agent_001", presence.Busy); err != nil {
		t.Fatal(err)
	}
	if _, err := client.List(context.Background(), presence.ListOptions{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, gr := range g.list() {
		count[gr.Kind+"/"+gr.Priority.String()]++
	}
	want := map[string]int{"get/write": 2, "update/write": 2, "list/read": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d attempts through the budget, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if st := sim.Stats(); st.Total != 5 {
		t.Errorf("the server saw %d requests, want 5 (%+v)", st.Total, st)
	}
}

// TestBudget429PausesTheBudget: the contact center's 429 with Retry-After
// holds every request of the bot, not only the one that got it; a
// request that cannot wait that long is told the budget is exhausted
// without reaching the server.
func TestBudget429PausesTheBudget(t *testing.T) {
	b := presence.NewBudget(presence.BudgetOptions{Rate: 1000, Burst: 100})
	sim, client := setup(t, presence.WithBudget(b), presence.WithRetry(1, 0, 0))
	sim.Add(agent("agent_001", "John", presence.Available, "sales_team"))
	sim.Inject(ccmsim.Fault{Method: "GET", Code: http.StatusTooManyRequests, RetryAfter: 3 * time.Second, Times: 1})
	before := time.Now()
	if _, err := client.Get(context.Background(), "agent_001"); !errors.Is(err, presence.ErrRateLimited) {
		t.Fatalf("Get: %v, want the 429", err)
	}
	st := b.State()
	if st.PausedUntil.Before(before.Add(2*time.Second)) || st.PausedUntil.After(time.Now().Add(3*time.Second)) {
		t.Errorf("paused until %v, want about 3 s from %v", st.PausedUntil, before)
	}
	sim.ResetStats()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.List(ctx, presence.ListOptions{Limit: 1})
	if !errors.Is(err, presence.ErrBudgetExhausted) {
		t.Errorf("a list during the pause: %v, want ErrBudgetExhausted", err)
	}
	if st := sim.Stats(); st.Total != 0 {
		t.Errorf("the server saw %+v during the pause, want nothing", st)
	}
}

// The budget is under pressure while a 429's pause holds or requests wait,
// and not otherwise; the roster snapshot reads that (WithPressureSource).
func TestBudgetUnderPressure(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 100, Burst: 10, Clock: clock})
	if b.UnderPressure() {
		t.Error("a fresh budget is under pressure")
	}
	b.Pause(time.Second)
	if !b.UnderPressure() {
		t.Error("not under pressure during a pause")
	}
	clock.Advance(time.Second)
	if b.UnderPressure() {
		t.Error("still under pressure after the pause")
	}
	off := presence.NewBudget(presence.BudgetOptions{Rate: 0, Clock: clock})
	off.Pause(time.Second)
	if off.UnderPressure() {
		t.Error("a budget that is off is under pressure")
	}
}

// TestRosterFetchWaitsOutTheBudget: a roster read at the budget's rate
// takes longer than the fetch's own bound (200 pages at 10/s are 20 s);
// its waits for the budget do not count against that bound, so the
// fetch completes and every reader of it gets the roster. A reader still
// stops waiting at its own deadline.
func TestRosterFetchWaitsOutTheBudget(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	b := presence.NewBudget(presence.BudgetOptions{Rate: 1, Burst: 1, Clock: clock, MaxWait: time.Hour})
	sim, client := setup(t, presence.WithBudget(b))
	for i := range 5 * presence.MaxPageSize {
		sim.Add(agent(fmt.Sprintf("agent_%04d", i), "Agent", presence.Available, "sales_team"))
	}
	const fetchBound = 30 * time.Millisecond
	snaps := presence.NewSnapshots(client, time.Minute, clock.Now, presence.WithFetchTimeout(fetchBound))

	impatient, cancel := context.WithTimeout(context.Background(), fetchBound)
	defer cancel()
	if _, err := snaps.Get(impatient); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a reader with a short deadline: %v, want its deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		s, err := snaps.Get(context.Background())
		if err == nil && s.Len() != 5*presence.MaxPageSize {
			err = fmt.Errorf("got %d agents, want %d", s.Len(), 5*presence.MaxPageSize)
		}
		got <- err
	}()
	// The 5 pages get a token a second; each second of the budget's clock
	// comes after more real time than the fetch's bound.
	for range 10 {
		time.Sleep(fetchBound)
		clock.Advance(time.Second)
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("the fetch that waited for the budget: %v", err)
			}
			return
		default:
		}
	}
	if err := <-got; err != nil {
		t.Fatalf("the fetch that waited for the budget: %v", err)
	}
}

// TestReadsGetAShareOfALongWriteBurst: writes go first, but a read that
// has waited 2 s gets one token in ten: a roster read is not starved for
// the whole of a burst of changes that lasts minutes.
func TestReadsGetAShareOfALongWriteBurst(t *testing.T) {
	clock := clockwork.NewFakeClockAt(base)
	var mu sync.Mutex
	var readWaited []time.Duration
	grants := 0
	b := presence.NewBudget(presence.BudgetOptions{Rate: 10, Burst: 1, Clock: clock, MaxWait: time.Hour,
		OnGrant: func(g presence.BudgetGrant) {
			mu.Lock()
			defer mu.Unlock()
			grants++
			if g.Priority == presence.Read {
				readWaited = append(readWaited, g.Waited)
			}
		}})
	wait := func(p presence.Priority) {
		if err := b.Wait(presence.WithPriority(context.Background(), p), "get"); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	const writes = 60
	var wg sync.WaitGroup
	for range writes {
		wg.Go(func() { wait(presence.Write) })
	}
	// Every write queued (one got the burst), then the read: each waiter
	// has its limit's timer, and the dispatcher one for the next token.
	blockUntil(t, clock, writes)
	wg.Go(func() { wait(presence.Read) })
	blockUntil(t, clock, writes+1)
	granted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return grants
	}
	// One token each 100 ms. A step may come before the dispatcher has
	// set its timer for the next token; then the next step grants it.
	for steps := 0; granted() < writes+1; steps++ {
		if steps > 10*writes {
			t.Fatalf("%d of %d granted after %d steps of 100 ms", granted(), writes+1, steps)
		}
		n := granted()
		clock.Advance(100 * time.Millisecond)
		for i := 0; i < 50 && granted() == n; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	// The read waits its 2 s behind writes (20 grants at 10 a second),
	// then gets one of the next ten tokens, not the last of 61.
	mu.Lock()
	defer mu.Unlock()
	if len(readWaited) != 1 {
		t.Fatalf("%d reads granted, want 1", len(readWaited))
	}
	// Between 2 s and 3 s (its turn within ten grants), with room for
	// the steps a slow machine takes twice; well under the 6 s of all
	// the writes.
	if w := readWaited[0]; w < 2*time.Second || w > 4500*time.Millisecond {
		t.Errorf("the read waited %v behind %d writes at 10 a second, want about 2 s to 3 s: writes first, but never all of them", w, writes)
	}
}
