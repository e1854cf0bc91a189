package schedule

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
)

// waitTimeout bounds every wait on the scheduler's goroutines; the fake
// clock makes the waits themselves short.
const waitTimeout = 5 * time.Second

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

// recv waits for a value from a job.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// runEvent is what the test monitor hears from gocron: a job ran (with
// success or failure) or a tick was skipped because a run was going.
type runEvent struct {
	name   string
	status gocron.JobStatus
}

// testMonitor is a gocron.Monitor that reports every run.
type testMonitor struct{ events chan runEvent }

func (m *testMonitor) IncrementJob(_ uuid.UUID, name string, _ []string, st gocron.JobStatus) {
	m.events <- runEvent{name: name, status: st}
}

func (m *testMonitor) RecordJobTiming(time.Time, time.Time, uuid.UUID, string, []string) {}

// harness is a scheduler on a fake clock that reports its runs and
// gocron's skips, shut down when the test ends.
type harness struct {
	t     *testing.T
	clock *clockwork.FakeClock
	sched *Scheduler
	mon   *testMonitor
	runs  chan JobRun
	jobs  int
}

func newHarness(t *testing.T, start time.Time, loc *time.Location, opts ...Option) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: clockwork.NewFakeClockAt(start),
		mon:   &testMonitor{events: make(chan runEvent, 1000)},
		runs:  make(chan JobRun, 1000),
	}
	opts = append([]Option{
		WithClock(h.clock), WithLocation(loc),
		WithObserver(func(r JobRun) { h.runs <- r }),
		WithGocronOptions(gocron.WithMonitor(h.mon)),
	}, opts...)
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("NewScheduler: %v", err)
	}
	h.sched = s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return h
}

func (h *harness) add(name string, sched Spec, fn JobFunc) {
	h.t.Helper()
	if err := h.sched.Add(name, sched, fn); err != nil {
		h.t.Fatalf("Add(%s): %v", name, err)
	}
	h.jobs++
}

// advance waits until every job's timer is set, then moves the clock to at.
func (h *harness) advance(at time.Time) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, h.jobs); err != nil {
		h.t.Fatalf("job timers were not set: %v", err)
	}
	// One round trip through gocron's scheduler loop, so that what it was
	// told before (a run's bookkeeping) is handled at the current time:
	// handled after the advance, it would drop the next scheduled run.
	h.sched.gs.Jobs()
	if d := at.Sub(h.clock.Now()); d > 0 {
		h.clock.Advance(d)
	}
}

// event waits for gocron's next report.
func (h *harness) event() runEvent {
	h.t.Helper()
	return recv(h.t, h.mon.events, "a gocron event")
}

// tick moves the clock to at and waits until each named job has run for
// the tick. gocron frees a singleton job's slot only after the run's last
// report, so a run that follows its predecessor at once can find the slot
// still taken and be skipped: the tick is then run again, as the same
// tick. Repeated deliveries of a tick, which do nothing, are ignored.
func (h *harness) tick(at time.Time, names ...string) {
	h.t.Helper()
	h.advance(at)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	timeout := time.After(waitTimeout)
	for len(want) > 0 {
		select {
		case r := <-h.runs:
			if r.Repeat {
				continue
			}
			if !want[r.Job] {
				h.t.Fatalf("at %s: unexpected run of %s for %s", at.Format(time.TimeOnly), r.Job, r.Tick.Format(time.TimeOnly))
			}
			delete(want, r.Job)
		case ev := <-h.mon.events:
			if ev.status == gocron.SingletonRescheduled && want[ev.name] {
				if err := h.sched.RunNow(ev.name); err != nil {
					h.t.Fatal(err)
				}
			}
		case <-timeout:
			h.t.Fatalf("at %s: timed out waiting for %v", at.Format(time.TimeOnly), want)
		}
	}
}

func TestScheduleTicksAreAligned(t *testing.T) {
	kolkata := mustLoad(t, "Asia/Kolkata")
	newYork := mustLoad(t, "America/New_York")
	tests := []struct {
		name  string
		sched Spec
		loc   *time.Location
		start time.Time
		want  []time.Time
	}{
		// A 2s schedule ticks on even seconds.
		{"2s", Spec{Every: 2 * time.Second}, time.UTC, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC),
			[]time.Time{time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC), time.Date(2025, 3, 3, 10, 0, 4, 0, time.UTC), time.Date(2025, 3, 3, 10, 0, 6, 0, time.UTC)}},
		// Started on a tick, the first run is that tick.
		{"2s from a tick", Spec{Every: 2 * time.Second}, time.UTC, time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC),
			[]time.Time{time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC), time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC)}},
		// 30m ticks at :00 and :30.
		{"30m", Spec{Every: 30 * time.Minute}, time.UTC, time.Date(2025, 3, 3, 10, 7, 13, 0, time.UTC),
			[]time.Time{time.Date(2025, 3, 3, 10, 30, 0, 0, time.UTC), time.Date(2025, 3, 3, 11, 0, 0, 0, time.UTC), time.Date(2025, 3, 3, 11, 30, 0, 0, time.UTC)}},
		// 1h ticks on the local hour, even in a zone half an hour off UTC.
		{"1h in Kolkata", Spec{Every: time.Hour}, kolkata, time.Date(2025, 3, 3, 10, 7, 0, 0, kolkata),
			[]time.Time{time.Date(2025, 3, 3, 11, 0, 0, 0, kolkata), time.Date(2025, 3, 3, 12, 0, 0, 0, kolkata)}},
		// 24h ticks at local midnight.
		{"24h in New York", Spec{Every: 24 * time.Hour}, newYork, time.Date(2025, 1, 6, 15, 0, 0, 0, newYork),
			[]time.Time{time.Date(2025, 1, 7, 0, 0, 0, 0, newYork), time.Date(2025, 1, 8, 0, 0, 0, 0, newYork)}},
		// A cron with seconds.
		{"cron every 15s", Spec{Cron: "*/15 * * * * *", WithSeconds: true}, time.UTC, time.Date(2025, 3, 3, 10, 0, 7, 0, time.UTC),
			[]time.Time{time.Date(2025, 3, 3, 10, 0, 15, 0, time.UTC), time.Date(2025, 3, 3, 10, 0, 30, 0, time.UTC), time.Date(2025, 3, 3, 10, 0, 45, 0, time.UTC)}},
		// A weekday cron read in the location: Friday afternoon to Monday 09:00 local.
		{"cron weekdays 9:00 Kolkata", Spec{Cron: "0 9 * * 1-5"}, kolkata, time.Date(2025, 3, 7, 14, 0, 0, 0, kolkata),
			[]time.Time{time.Date(2025, 3, 10, 9, 0, 0, 0, kolkata), time.Date(2025, 3, 11, 9, 0, 0, 0, kolkata)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.start, tc.loc)
			ticks := make(chan time.Time, 10)
			h.add("job", tc.sched, func(_ context.Context, tick time.Time) error { ticks <- tick; return nil })
			h.sched.Start()
			for i, want := range tc.want {
				// Run a little late: the tick is still the scheduled time.
				h.tick(want.Add(300*time.Millisecond), "job")
				got := recv(t, ticks, "a tick")
				if !got.Equal(want) || got.Location() != tc.loc {
					t.Errorf("tick %d: got %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

func TestNextRunIsAligned(t *testing.T) {
	h := newHarness(t, time.Date(2025, 3, 3, 10, 7, 13, 0, time.UTC), time.UTC)
	h.add("summary", Spec{Every: time.Hour}, func(context.Context, time.Time) error { return nil })
	h.sched.Start()
	h.advance(h.clock.Now())
	next, err := h.sched.NextRun("summary")
	if want := time.Date(2025, 3, 3, 11, 0, 0, 0, time.UTC); err != nil || !next.Equal(want) {
		t.Errorf("NextRun: got %s, %v; want %s", next, err, want)
	}
	if _, err := h.sched.NextRun("nope"); err == nil {
		t.Errorf("NextRun of an unknown job: got nil error, want one")
	}
	if err := h.sched.RunNow("nope"); err == nil {
		t.Errorf("RunNow of an unknown job: got nil error, want one")
	}
}

func TestSlowRunSkipsTheNextTick(t *testing.T) {
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC)
	started := make(chan time.Time, 10)
	release := make(chan struct{})
	var running, overlaps atomic.Int32
	h.add("alerts", Spec{Every: 2 * time.Second}, func(_ context.Context, tick time.Time) error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		started <- tick
		if tick.Second() == 2 {
			<-release // the first run is slow
		}
		return nil
	})
	h.sched.Start()
	tick := func(sec int) time.Time { return time.Date(2025, 3, 3, 10, 0, sec, 0, time.UTC) }

	h.advance(tick(2))
	if got := recv(t, started, "the first run"); !got.Equal(tick(2)) {
		t.Fatalf("first run: got %s, want %s", got, tick(2))
	}
	h.advance(tick(4)) // the first run is still going
	h.advance(tick(4)) // the next timer is set: the :04 tick was handled
	skipped := false
	for len(h.mon.events) > 0 {
		skipped = skipped || h.event().status == gocron.SingletonRescheduled
	}
	if !skipped {
		t.Errorf("gocron reported no singleton skip for the :04 tick")
	}
	close(release)
	if r := recv(t, h.runs, "the slow run's end"); !r.Tick.Equal(tick(2)) || r.Repeat {
		t.Fatalf("the slow run ended as %+v, want the :02 run", r)
	}
	h.tick(tick(6), "alerts")
	if got := recv(t, started, "the run after the slow one"); !got.Equal(tick(6)) {
		t.Errorf("second run: got %s, want %s (the :04 tick skipped)", got, tick(6))
	}
	select {
	case got := <-started:
		t.Errorf("an extra run for %s, want none", got)
	default:
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d runs overlapped, want none", n)
	}
}

func TestTickRunsOnce(t *testing.T) {
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC)
	var runs atomic.Int32
	h.add("alerts", Spec{Every: 2 * time.Second}, func(context.Context, time.Time) error { runs.Add(1); return nil })
	h.sched.Start()
	h.tick(time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC), "alerts")
	// A second delivery of the same tick (gocron can make one) does nothing.
	if err := h.sched.RunNow("alerts"); err != nil {
		t.Fatal(err)
	}
	for repeated := false; !repeated; {
		select {
		case r := <-h.runs:
			repeated = r.Repeat
			if want := time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC); repeated && !r.Tick.Equal(want) {
				t.Errorf("repeated run: tick %s, want %s", r.Tick, want)
			}
		case ev := <-h.mon.events:
			if ev.status == gocron.SingletonRescheduled { // the first run had not let go yet
				if err := h.sched.RunNow("alerts"); err != nil {
					t.Fatal(err)
				}
			}
		case <-time.After(waitTimeout):
			t.Fatal("timed out waiting for the repeated run")
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times for one tick, want 1", n)
	}
}

func TestJobFailuresAreLoggedAndSurvived(t *testing.T) {
	log, buf := newLogger()
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC, WithLogger(log))
	var n atomic.Int32
	h.add("summary", Spec{Every: time.Second}, func(_ context.Context, tick time.Time) error {
		switch n.Add(1) {
		case 1:
			return errors.New("contact center unavailable")
		case 2:
			var m map[string]int
			m["boom"]++ // a nil map: panics
		}
		return nil
	})
	h.sched.Start()
	for i := 1; i <= 3; i++ {
		h.tick(time.Date(2025, 3, 3, 10, 0, i, 0, time.UTC), "summary")
	}
	mustContain(t, "log", buf.String(),
		`level=ERROR msg="job failed" job=summary tick=2025-03-03T10:00:01.000Z err="contact center unavailable"`,
		`level=ERROR msg="job panicked" job=summary tick=2025-03-03T10:00:02.000Z panic="assignment to entry in nil map"`,
		`level=DEBUG msg="job done" job=summary tick=2025-03-03T10:00:03.000Z`)
	if got := n.Load(); got != 3 {
		t.Errorf("got %d runs, want 3: the scheduler kept going", got)
	}
}

func TestSchedulerRefusesBadJobs(t *testing.T) {
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC), time.UTC)
	noop := func(context.Context, time.Time) error { return nil }
	h.add("alerts", Spec{Every: time.Minute}, noop)
	s := h.sched
	tests := []struct {
		name string
		add  func() error
	}{
		// Names key a distributed lock: no two jobs share one.
		{"duplicate name", func() error { return s.AddEvery("alerts", time.Hour, noop) }},
		// A job needs a name.
		{"empty name", func() error { return s.AddEvery("", time.Hour, noop) }},
		// A zero interval would spin.
		{"zero interval", func() error { return s.AddEvery("x", 0, noop) }},
		// Four fields are not cron.
		{"bad cron", func() error { return s.AddCron("y", "* * * *", false, noop) }},
		// Ticks are named to the second (gocron tells runs apart by their
		// wall-clock second), and the contract's smallest interval is 1s.
		{"sub-second interval", func() error { return s.AddEvery("v", 500*time.Millisecond, noop) }},
		// Six fields need WithSeconds.
		{"six fields without seconds", func() error { return s.AddCron("z", "0 0 9 * * *", false, noop) }},
		// An empty Schedule is neither.
		{"empty schedule", func() error { return s.Add("w", Spec{}, noop) }},
	}
	for _, tc := range tests {
		if err := tc.add(); err == nil {
			t.Errorf("%s: got nil error, want one", tc.name)
		}
	}
}

func TestShutdownCancelsRunningJob(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC))
	s, err := New(WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	started, stopped := make(chan struct{}), make(chan error, 1)
	var runs atomic.Int32
	fn := func(ctx context.Context, _ time.Time) error {
		runs.Add(1)
		close(started)
		<-ctx.Done()
		stopped <- ctx.Err()
		return ctx.Err()
	}
	if err := s.AddEvery("alerts", time.Second, fn); err != nil {
		t.Fatal(err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	recv(t, started, "the run")

	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := recv(t, stopped, "the cancelled run"); !errors.Is(err, context.Canceled) {
		t.Errorf("the running job's context: got %v, want cancelled", err)
	}
	clock.Advance(time.Hour)
	if n := runs.Load(); n != 1 {
		t.Errorf("got %d runs, want 1: nothing runs after Shutdown", n)
	}
}

// wallAligned reports whether t's wall-clock time in its own zone, at that
// instant's offset, is a whole multiple of d since 1970-01-01.
func wallAligned(t time.Time, d time.Duration) bool {
	_, off := t.Zone()
	return (t.UnixNano()+int64(off)*int64(time.Second))%int64(d) == 0
}

// nextRun waits until gocron has scheduled the job for later than after,
// and returns when: right after a run gocron may still list that run.
func (h *harness) nextRun(name string, after time.Time) time.Time {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		next, err := h.sched.NextRun(name)
		if err == nil && next.After(after) {
			return next
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("next run of %s: got %s, %v; want one after %s", name, next, err, after)
		}
		time.Sleep(time.Millisecond)
	}
}

// dstLayout shows a tick in its zone, abbreviation included, so that the
// two 01:00s of an autumn night in London read 01:00 BST and 01:00 GMT.
const dstLayout = "2006-01-02 15:04:05 MST"

// TestDurationTicksAcrossDaylightSaving runs duration schedules through
// real DST changes on gocron's fake clock. Each tick is scheduled by gocron
// (NextRun) for the local wall-clock boundary in the offset in force at
// that instant, and the job is handed that tick: no drift after the
// change, no duplicate, and no skipped tick except a boundary whose wall
// time the clock itself skips.
func TestDurationTicksAcrossDaylightSaving(t *testing.T) {
	london := mustLoad(t, "Europe/London")      // 2026-03-29 01:00Z GMT→BST, 2026-10-25 01:00Z BST→GMT
	newYork := mustLoad(t, "America/New_York")  // 2026-03-08 07:00Z EST→EDT, 2026-11-01 06:00Z EDT→EST
	santiago := mustLoad(t, "America/Santiago") // 2026-09-06 04:00Z -04→-03: local midnight is skipped
	utc := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse("2006-01-02 15:04:05.999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name  string
		every time.Duration
		loc   *time.Location
		start time.Time
		want  []string // ticks in dstLayout, in order, with nothing between
	}{
		// A day is 23 hours long at the spring change: midnight stays midnight.
		{"24h London spring", 24 * time.Hour, london, utc("2026-03-27 15:00:00"),
			[]string{"2026-03-28 00:00:00 GMT", "2026-03-29 00:00:00 GMT", "2026-03-30 00:00:00 BST", "2026-03-31 00:00:00 BST"}},
		// And 25 hours long in autumn.
		{"24h London autumn", 24 * time.Hour, london, utc("2026-10-23 15:00:00"),
			[]string{"2026-10-24 00:00:00 BST", "2026-10-25 00:00:00 BST", "2026-10-26 00:00:00 GMT", "2026-10-27 00:00:00 GMT"}},
		// 01:00 local never happens on the spring night: no tick for it.
		{"1h London spring", time.Hour, london, utc("2026-03-28 23:10:00"),
			[]string{"2026-03-29 00:00:00 GMT", "2026-03-29 02:00:00 BST", "2026-03-29 03:00:00 BST"}},
		// 01:00 local happens twice on the autumn night, an hour apart: each
		// of the two instants is a tick, once.
		{"1h London autumn", time.Hour, london, utc("2026-10-24 23:10:00"),
			[]string{"2026-10-25 01:00:00 BST", "2026-10-25 01:00:00 GMT", "2026-10-25 02:00:00 GMT"}},
		{"30m New York spring", 30 * time.Minute, newYork, utc("2026-03-08 06:10:00"),
			[]string{"2026-03-08 01:30:00 EST", "2026-03-08 03:00:00 EDT", "2026-03-08 03:30:00 EDT"}},
		{"30m New York autumn", 30 * time.Minute, newYork, utc("2026-11-01 04:40:00"),
			[]string{"2026-11-01 01:00:00 EDT", "2026-11-01 01:30:00 EDT", "2026-11-01 01:00:00 EST", "2026-11-01 01:30:00 EST", "2026-11-01 02:00:00 EST"}},
		{"2s London spring", 2 * time.Second, london, utc("2026-03-29 00:59:57"),
			[]string{"2026-03-29 00:59:58 GMT", "2026-03-29 02:00:00 BST", "2026-03-29 02:00:02 BST"}},
		{"2s London autumn", 2 * time.Second, london, utc("2026-10-25 00:59:57"),
			[]string{"2026-10-25 01:59:58 BST", "2026-10-25 01:00:00 GMT", "2026-10-25 01:00:02 GMT"}},
		// Where the clock jumps over midnight there is no midnight that day,
		// so no 24h tick (a cron schedule is the way to name another time).
		{"24h Santiago skipped midnight", 24 * time.Hour, santiago, utc("2026-09-04 16:00:00"),
			[]string{"2026-09-05 00:00:00 -04", "2026-09-07 00:00:00 -03", "2026-09-08 00:00:00 -03"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.start, tc.loc)
			ticks := make(chan time.Time, 10)
			h.add("job", Spec{Every: tc.every}, func(_ context.Context, tick time.Time) error { ticks <- tick; return nil })
			h.sched.Start()
			h.advance(tc.start)
			last := tc.start
			for i, want := range tc.want {
				next := h.nextRun("job", last)
				if got := next.In(tc.loc).Format(dstLayout); got != want {
					t.Fatalf("run %d: gocron scheduled it for %s (%s), want %s", i+1, got, next.UTC().Format(time.RFC3339), want)
				}
				h.tick(next.Add(300*time.Millisecond), "job")
				got := recv(t, ticks, "a tick")
				if got.Format(dstLayout) != want || !got.Equal(next) || got.Location() != tc.loc {
					t.Errorf("run %d: the job got tick %s, want %s", i+1, got.Format(dstLayout), want)
				}
				last = next
			}
		})
	}
}

// TestReplicasAgreeOnTicksAcrossDaylightSaving starts two replicas on
// either side of London's spring change. Each names every tick the same
// (the tick, its period, and so the distributed lock's key) and gocron
// schedules the same next run on both.
func TestReplicasAgreeOnTicksAcrossDaylightSaving(t *testing.T) {
	london := mustLoad(t, "Europe/London")
	earlyStart := time.Date(2026, 3, 27, 10, 0, 0, 700e6, time.UTC) // GMT
	lateStart := time.Date(2026, 3, 30, 15, 20, 0, 300e6, time.UTC) // BST
	// The instants the replicas are asked about: either side of ticks
	// around both of 2026's changes, as a late or early timer would fire.
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse("2006-01-02 15:04:05.999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// The tick and period expected at some of those instants.
	type named struct {
		tick   string
		period time.Duration
	}
	tests := []struct {
		every time.Duration
		want  map[string]named // by instant (UTC)
	}{
		{2 * time.Second, map[string]named{
			"2026-03-29 00:59:59.6": {"2026-03-29 02:00:00 BST", 2 * time.Second},
		}},
		{30 * time.Minute, map[string]named{
			"2026-03-29 00:59:59.6": {"2026-03-29 02:00:00 BST", 30 * time.Minute},
		}},
		{time.Hour, map[string]named{
			"2026-03-29 00:59:59.6": {"2026-03-29 02:00:00 BST", time.Hour},
			"2026-10-25 00:00:00.3": {"2026-10-25 01:00:00 BST", time.Hour},
			"2026-10-25 01:00:00.3": {"2026-10-25 01:00:00 GMT", time.Hour},
		}},
		{24 * time.Hour, map[string]named{
			// The day of the spring change is 23 hours long: the lock on its
			// tick is held until the next one.
			"2026-03-28 23:59:59.6": {"2026-03-29 00:00:00 GMT", 23 * time.Hour},
			"2026-03-29 00:00:00.4": {"2026-03-29 00:00:00 GMT", 23 * time.Hour},
			"2026-03-29 22:59:59.6": {"2026-03-30 00:00:00 BST", 24 * time.Hour},
			"2026-03-30 23:00:00.3": {"2026-03-31 00:00:00 BST", 24 * time.Hour},
			"2026-10-24 23:00:00.3": {"2026-10-25 00:00:00 BST", 25 * time.Hour},
			"2026-10-26 00:00:00.3": {"2026-10-26 00:00:00 GMT", 24 * time.Hour},
		}},
	}
	instants := []string{
		"2026-03-28 23:59:59.6", "2026-03-29 00:00:00.4", "2026-03-29 00:59:59.6", "2026-03-29 01:00:00.4",
		"2026-03-29 22:59:59.6", "2026-03-29 23:00:00.4", "2026-03-30 23:00:00.3",
		"2026-10-24 23:00:00.3", "2026-10-25 00:00:00.3", "2026-10-25 00:59:59.7", "2026-10-25 01:00:00.3",
		"2026-10-26 00:00:00.3",
	}
	for _, tc := range tests {
		t.Run(tc.every.String(), func(t *testing.T) {
			early := newHarness(t, earlyStart, london)
			late := newHarness(t, lateStart, london)
			noop := func(context.Context, time.Time) error { return nil }
			for _, h := range []*harness{early, late} {
				h.add("job", Spec{Every: tc.every}, noop)
				h.sched.Start()
			}
			for _, s := range instants {
				now := at(s)
				e, ep, ok1 := early.sched.TickOf("job", now)
				l, lp, ok2 := late.sched.TickOf("job", now)
				if !ok1 || !ok2 {
					t.Fatalf("at %s: TickOf found no job", s)
				}
				// redisstate.Locker keys the lock by the tick in UTC.
				if ek, lk := e.UTC().Format(time.RFC3339Nano), l.UTC().Format(time.RFC3339Nano); ek != lk || ep != lp {
					t.Errorf("at %s: the early replica names tick %s (period %s), the late one %s (period %s)", s, ek, ep, lk, lp)
				}
				if !wallAligned(e, tc.every) || e.Location() != london {
					t.Errorf("at %s: tick %s is not on a local %s boundary", s, e.Format(dstLayout), tc.every)
				}
				if d := now.Sub(e); d < -ep/2 || d > ep/2 {
					t.Errorf("at %s: tick %s is not the nearest one (period %s)", s, e.Format(dstLayout), ep)
				}
				if w, ok := tc.want[s]; ok && (e.Format(dstLayout) != w.tick || ep != w.period) {
					t.Errorf("at %s: tick %s, period %s; want %s, period %s", s, e.Format(dstLayout), ep, w.tick, w.period)
				}
			}
			// Once the early replica's clock reaches the late one's start,
			// gocron schedules the same next run on both.
			early.advance(lateStart)
			en, ln := early.nextRun("job", lateStart), late.nextRun("job", lateStart)
			if !en.Equal(ln) {
				t.Errorf("next run: the early replica %s, the late one %s", en.Format(dstLayout), ln.Format(dstLayout))
			}
		})
	}
}

// TestDurationTicksOverAYear walks every tick of 2026 in zones with and
// without daylight saving (Lord Howe's moves by half an hour): each is on a
// local wall-clock boundary, consecutive ticks are the period apart unless
// the offset changed between them (then by no more than the change), and a
// 24h schedule ticks once on each of the year's 365 local midnights.
func TestDurationTicksOverAYear(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range []string{"Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"} {
		loc := mustLoad(t, zone)
		for _, every := range []time.Duration{30 * time.Minute, time.Hour, 24 * time.Hour} {
			t.Run(zone+"/"+every.String(), func(t *testing.T) {
				h := newHarness(t, from.Add(-24*time.Hour), loc)
				h.add("job", Spec{Every: every}, func(context.Context, time.Time) error { return nil })
				tick, period, _ := h.sched.TickOf("job", from)
				if tick.Before(from) {
					tick, _, _ = h.sched.TickOf("job", tick.Add(period))
				}
				n := 0
				for ; tick.Before(to); n++ {
					if !wallAligned(tick, every) {
						t.Fatalf("tick %s is not on a local %s boundary", tick.Format(dstLayout), every)
					}
					next, p, _ := h.sched.TickOf("job", tick)
					if !next.Equal(tick) {
						t.Fatalf("TickOf(%s) named %s", tick.Format(dstLayout), next.Format(dstLayout))
					}
					next, _, _ = h.sched.TickOf("job", tick.Add(p))
					_, off1 := tick.Zone()
					_, off2 := next.Zone()
					shift := time.Duration(off2-off1) * time.Second
					if gap := next.Sub(tick); gap <= 0 || (shift == 0 && gap != every) || gap-every > shift.Abs() || every-gap > shift.Abs() {
						t.Fatalf("from %s to %s: %s apart, want %s (offset change %s)", tick.Format(dstLayout), next.Format(dstLayout), gap, every, shift)
					}
					tick = next
				}
				if every == 24*time.Hour && n != 365 {
					t.Errorf("got %d daily ticks in 2026, want 365", n)
				}
			})
		}
	}
}
