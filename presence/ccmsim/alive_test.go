package ccmsim

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/presence"
)

func TestStepFollowsTheCallCycle(t *testing.T) {
	f := newFixture(t, GenerateRoster(300, nil, t0, 5)...)
	// The only moves the system makes on its own.
	cycle := map[[2]presence.Status]bool{
		{presence.Available, presence.OnCall}:        true,
		{presence.OnCall, presence.AfterCallWork}:    true,
		{presence.AfterCallWork, presence.Available}: true,
	}
	seen := map[[2]presence.Status]int{}
	for step := range 40 {
		before := f.sim.Agents()
		f.clock.Advance(10 * time.Second)
		moved := f.sim.Step()
		after := f.sim.Agents()

		changed := 0
		for i, b := range before {
			a := after[i]
			if a.Status == b.Status {
				if !a.StatusSince.Equal(b.StatusSince) {
					t.Fatalf("step %d: %s stayed %s but its since moved, want it unchanged", step, a.ID, a.Status)
				}
				continue
			}
			changed++
			edge := [2]presence.Status{b.Status, a.Status}
			if !cycle[edge] {
				t.Fatalf("step %d: %s went %s → %s, want only the call cycle", step, a.ID, b.Status, a.Status)
			}
			seen[edge]++
			if !a.StatusSince.Equal(f.clock.Now()) {
				t.Errorf("step %d: %s since %v, want the sim clock %v", step, a.ID, a.StatusSince, f.clock.Now())
			}
			if (a.Status == presence.OnCall) != (a.CurrentCall != nil) {
				t.Errorf("step %d: %s is %s with call %+v, want a call exactly when on-call", step, a.ID, a.Status, a.CurrentCall)
			}
		}
		if changed != moved {
			t.Fatalf("step %d: Step reported %d moves, %d agents changed", step, moved, changed)
		}

		// The API's summary keeps adding up while agents move.
		l, total, _, _ := f.list(t, "limit=1")
		var want presence.Summary
		for _, a := range after {
			want.Add(a.Status)
		}
		if l.Summary != want || total != 300 {
			t.Fatalf("step %d: got summary %+v and total %d, want %+v and 300", step, l.Summary, total, want)
		}
	}
	for edge := range cycle {
		if seen[edge] == 0 {
			t.Errorf("got no %s → %s in 40 steps, want every move of the cycle", edge[0], edge[1])
		}
	}
}

func TestStepIsDeterministic(t *testing.T) {
	run := func(seed int64) []presence.Agent {
		clk := clockwork.NewFakeClockAt(t0)
		s := New(Options{Now: clk.Now, Seed: seed})
		s.Add(GenerateRoster(200, nil, t0, 1)...)
		for range 10 {
			clk.Advance(time.Second)
			s.Step()
		}
		return s.Agents()
	}
	if !reflect.DeepEqual(run(7), run(7)) {
		t.Errorf("got different rosters from the same seed, want the same")
	}
	if reflect.DeepEqual(run(7), run(8)) {
		t.Errorf("got the same roster from different seeds, want different moves")
	}
}

func TestRunStepsUntilCancelled(t *testing.T) {
	s := New(Options{Seed: 1})
	s.Add(agent("agent_001", "", presence.Available))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, time.Millisecond); close(done) }()

	// With a 10% chance a step, the agent soon takes a call.
	waitFor(t, func() bool { return mustAgent(t, s, "agent_001").Status != presence.Available })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run still going 10s after cancel, want it to return")
	}
}
