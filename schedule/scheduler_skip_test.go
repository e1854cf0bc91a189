package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// failingLocker is a gocron.Locker whose every Lock fails with err, as a
// Redis locker does while Redis is unreachable (or REDIS_URL names the
// wrong host).
type failingLocker struct {
	err   error
	calls atomic.Int32
}

func (l *failingLocker) Lock(context.Context, string) (gocron.Lock, error) {
	l.calls.Add(1)
	return nil, l.err
}

var (
	errRedisDown = errors.New("redis unavailable")
	errTaken     = errors.New("tick taken by another replica")
)

// skipHarness is a harness whose scheduler reports skipped ticks.
func skipHarness(t *testing.T, opts ...Option) (*harness, chan TickSkip, func() string) {
	t.Helper()
	log, buf := newLogger()
	skips := make(chan TickSkip, 100)
	h := newHarness(t, time.Date(2025, 3, 3, 10, 0, 0, 500e6, time.UTC), time.UTC,
		append([]Option{WithLogger(log), WithSkipObserver(func(s TickSkip) { skips <- s })}, opts...)...)
	return h, skips, buf.String
}

// logLine returns the first line of logs holding every one of parts.
func logLine(logs string, parts ...string) string {
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return line
		}
	}
	return ""
}

// TestSkippedTickWhenTheLockFails: a tick whose lock cannot be taken
// (Redis unreachable) runs nowhere, and each such tick is a WARN with its
// reason and a reported skip: alerts never stop silently.
func TestSkippedTickWhenTheLockFails(t *testing.T) {
	locker := &failingLocker{err: fmt.Errorf("lock job %q: %w: dial tcp 127.0.0.1:1: connection refused", "alerts", errRedisDown)}
	h, skips, logs := skipHarness(t,
		WithGocronOptions(gocron.WithDistributedLocker(locker)),
		WithLockSkipReason(errTaken, SkipOtherReplica))
	var runs atomic.Int32
	h.add("alerts", Spec{Every: 2 * time.Second}, func(context.Context, time.Time) error { runs.Add(1); return nil })
	h.sched.Start()
	for _, sec := range []int{2, 4, 6} {
		tick := time.Date(2025, 3, 3, 10, 0, sec, 0, time.UTC)
		h.advance(tick)
		s := recv(t, skips, fmt.Sprintf("the skip of the :%02d tick", sec))
		for s.Reason == SkipStillRunning {
			// The fake clock can bring a tick before gocron has freed the
			// singleton slot of the previous one (see harness.tick): run it
			// again, as the same tick.
			if err := h.sched.RunNow("alerts"); err != nil {
				t.Fatal(err)
			}
			s = recv(t, skips, fmt.Sprintf("the skip of the :%02d tick, run again", sec))
		}
		if s.Job != "alerts" || s.Reason != SkipLockUnavailable || !s.Tick.Equal(tick) || !errors.Is(s.Err, errRedisDown) {
			t.Errorf("skip = %+v, want alerts at %s for %s wrapping %v", s, tick, SkipLockUnavailable, errRedisDown)
		}
		line := logLine(logs(), `msg="job tick skipped"`, "tick="+tick.Format("2006-01-02T15:04:05.000Z"), "reason=lock_unavailable")
		for _, want := range []string{"level=WARN", "job=alerts", "connection refused"} {
			if !strings.Contains(line, want) {
				t.Errorf(":%02d: skip line %q lacks %q\nlogs:\n%s", sec, line, want, logs())
			}
		}
	}
	if n := runs.Load(); n != 0 {
		t.Errorf("the job ran %d times without its lock, want 0", n)
	}
	if n := locker.calls.Load(); n < 3 {
		t.Errorf("Lock called %d times, want at least once a tick (3)", n)
	}
}

// TestTickTakenByAnotherReplicaIsDebug: another replica holding the tick
// is the normal case on every replica but one: counted, logged at debug,
// never a WARN.
func TestTickTakenByAnotherReplicaIsDebug(t *testing.T) {
	locker := &failingLocker{err: fmt.Errorf("lock job %q tick x: %w", "alerts", errTaken)}
	h, skips, logs := skipHarness(t,
		WithGocronOptions(gocron.WithDistributedLocker(locker)),
		WithLockSkipReason(errTaken, SkipOtherReplica))
	h.add("alerts", Spec{Every: 2 * time.Second}, func(context.Context, time.Time) error { return nil })
	h.sched.Start()
	tick := time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC)
	h.advance(tick)
	if s := recv(t, skips, "the skip"); s.Reason != SkipOtherReplica || !s.Tick.Equal(tick) {
		t.Errorf("skip = %+v, want %s at %s", s, SkipOtherReplica, tick)
	}
	line := logLine(logs(), `msg="job tick skipped"`)
	if !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "reason=other_replica") {
		t.Errorf("skip line %q, want a DEBUG with reason=other_replica", line)
	}
	if strings.Contains(logs(), "level=WARN") || strings.Contains(logs(), "level=ERROR") {
		t.Errorf("a tick run elsewhere logged a warning:\n%s", logs())
	}
}

// TestTickSkippedWhileThePreviousRuns: a tick that comes while the job's
// previous run is still going is skipped (singleton), with a WARN: a job
// slower than its interval is worth knowing about.
func TestTickSkippedWhileThePreviousRuns(t *testing.T) {
	h, skips, logs := skipHarness(t)
	release := make(chan struct{})
	defer close(release) // before the harness's shutdown, whatever happens
	started := make(chan time.Time, 10)
	h.add("alerts", Spec{Every: 2 * time.Second}, func(_ context.Context, tick time.Time) error {
		started <- tick
		if tick.Second() == 2 {
			<-release
		}
		return nil
	})
	h.sched.Start()
	tick := func(sec int) time.Time { return time.Date(2025, 3, 3, 10, 0, sec, 0, time.UTC) }
	h.advance(tick(2))
	recv(t, started, "the slow run")
	h.advance(tick(4))
	s := recv(t, skips, "the skip of the :04 tick")
	if s.Job != "alerts" || s.Reason != SkipStillRunning || !s.Tick.Equal(tick(4)) {
		t.Errorf("skip = %+v, want alerts at :04 for %s", s, SkipStillRunning)
	}
	line := logLine(logs(), `msg="job tick skipped"`)
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "reason=still_running") || !strings.Contains(line, "job=alerts") {
		t.Errorf("skip line %q, want a WARN with reason=still_running", line)
	}
}

// TestJobSkipsItsOwnTick: a job that cannot read its state skips its
// tick by returning SkipTick: a WARN with the reason, a reported skip, and
// no "job failed" error.
func TestJobSkipsItsOwnTick(t *testing.T) {
	h, skips, logs := skipHarness(t)
	cause := errors.New("load alert state: redis unavailable")
	h.add("alerts", Spec{Every: 2 * time.Second}, func(context.Context, time.Time) error {
		return SkipTick(SkipStoreUnavailable, cause)
	})
	h.sched.Start()
	tick := time.Date(2025, 3, 3, 10, 0, 2, 0, time.UTC)
	h.tick(tick, "alerts")
	s := recv(t, skips, "the skip")
	if s.Reason != SkipStoreUnavailable || !s.Tick.Equal(tick) || !errors.Is(s.Err, cause) {
		t.Errorf("skip = %+v, want %s at %s wrapping the cause", s, SkipStoreUnavailable, tick)
	}
	line := logLine(logs(), `msg="job tick skipped"`)
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "reason=store_unavailable") || !strings.Contains(line, "redis unavailable") {
		t.Errorf("skip line %q, want a WARN with reason=store_unavailable and the cause", line)
	}
	if strings.Contains(logs(), `msg="job failed"`) {
		t.Errorf("a skipped tick was also logged as a failure:\n%s", logs())
	}
}
