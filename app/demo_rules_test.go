package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/app"
)

// lockedBuffer is a bytes.Buffer the demo writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demoJobs is how many jobs the demo schedules (summary, alerts, nudges, history,
// after_call): each has a timer set while it waits for its next tick.
const demoJobs = 5

// TestDemoShowsANudgeAndAnEscalation: within the demo's first minutes
// (its clock moved by the test, its floor held still), Rohan, 22 minutes
// into a break, is nudged by DM with his moves and [5 more minutes]; a
// minute later the supervisors' channel is told; when he goes back to
// available both messages say so, without buttons. The README's "see a
// nudge" steps are these.
func TestDemoShowsANudgeAndAnEscalation(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	inR, inW := io.Pipe()
	var out, logs lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- app.Demo(ctx, inR, &out, log, app.DemoOptions{Still: true, Clock: clock}) }()
	t.Cleanup(func() {
		cancel()
		_ = inW.Close()
		<-done
	})

	// Each tick's jobs finish before the clock moves on: a job's deadline
	// is on the demo's clock, and moving it under a running job would
	// cut that job off.
	jobsDone := func() int { return strings.Count(logs.String(), `msg="job done"`) }
	waitDone := func(n int) {
		t.Helper()
		for range 2500 {
			if jobsDone() >= n {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("%d jobs done, want %d:\n%s", jobsDone(), n, logs.String())
	}
	waitDone(demoJobs) // every job runs at the start
	// step moves the clock by the shortest job's interval (after_call's
	// 2 s) and waits for the jobs due then: after_call, and at each 10 s
	// the alert poll and the nudger, at each minute the summary and the
	// history sample.
	step := func() {
		t.Helper()
		n := jobsDone()
		if err := clock.BlockUntilContext(ctx, demoJobs); err != nil {
			t.Fatalf("the demo's jobs did not wait for their ticks: %v", err)
		}
		clock.Advance(2 * time.Second)
		due := 1
		if el := clock.Since(start); el%(10*time.Second) == 0 {
			due += 2
			if el%time.Minute == 0 {
				due += 2 // the summary and the history sample
			}
		}
		waitDone(n + due)
	}
	runFor := func(d time.Duration) {
		t.Helper()
		for range d / (2 * time.Second) {
			step()
		}
	}

	dmAt := strings.Index(out.String(), "[direct message to rohan")
	if dmAt < 0 {
		t.Fatalf("no nudge for Rohan at the first poll:\n%s", out.String())
	}
	nudge := out.String()[dmAt:]
	inOrder(t, nudge, "been in busy for 22m", "[1] Available  [2] Offline  [3] 5 more minutes", "Rule long-break")
	if strings.Contains(nudge, "<@U0DEMOROHAN> has been in") {
		t.Fatalf("escalated at once, before escalate_after:\n%s", nudge)
	}

	runFor(time.Minute)
	escalation := out.String()[dmAt:]
	inOrder(t, escalation, "[#alerts", "Rohan Mehta", "has been in busy for 23m", "5 more minutes", "Rule long-break")
	if n := strings.Count(out.String(), "[direct message to rohan"); n != 1 {
		t.Errorf("Rohan got %d DMs, want 1 (later news edits it)", n)
	}

	before := len(out.String())
	if _, err := io.WriteString(inW, "as rohan /status available\n"); err != nil {
		t.Fatal(err)
	}
	runFor(10 * time.Second)
	after := out.String()[before:]
	header := nudge[:strings.Index(nudge, "]")] // "[direct message to rohan · post N"
	inOrder(t, after, "You're now 🟢 available", header+", edited]", "now Available")
	if !strings.Contains(after, "left busy after") {
		t.Errorf("the escalation was not edited to say Rohan left busy:\n%s", after)
	}
}
