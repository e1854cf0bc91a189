package ccmsim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

func TestCurrentCall(t *testing.T) {
	a := agent("agent_001", "sales_team", presence.Available)
	a.Stats = &presence.Stats{CallsHandledToday: 2, AvgHandleTime: 100, TotalTalkTime: 200}
	f := newFixture(t, a)
	call := presence.Call{SID: "call_active_123", Direction: "outbound", CustomerNumber: "+919876543210"}
	if err := f.sim.StartCall("agent_001", call); err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	f.clock.Advance(2*time.Minute + 5*time.Second + 900*time.Millisecond)

	got := f.getAgent(t, "agent_001")
	if got.Status != presence.OnCall || !got.StatusSince.Equal(start) {
		t.Errorf("got %s since %v, want on-call since %v", got.Status, got.StatusSince, start)
	}
	want := call
	want.Duration = 125 // whole seconds on the sim clock
	if got.CurrentCall == nil || *got.CurrentCall != want {
		t.Fatalf("got current_call %+v, want %+v", got.CurrentCall, want)
	}
	// The simulator's own view agrees with the wire.
	if c := mustAgent(t, f.sim, "agent_001").CurrentCall; c == nil || *c != want {
		t.Errorf("got Agent().CurrentCall %+v, want %+v", c, want)
	}
	// The list, like the spec's example, carries no call.
	l, _, _, _ := f.list(t, "")
	if l.Agents[0].CurrentCall != nil {
		t.Errorf("got a call in the list, want none")
	}

	if err := f.sim.EndCall("agent_001"); err != nil {
		t.Fatal(err)
	}
	got = f.getAgent(t, "agent_001")
	if got.Status != presence.AfterCallWork || got.CurrentCall != nil {
		t.Errorf("after EndCall got %s with call %+v, want after-call-work without a call", got.Status, got.CurrentCall)
	}
	wantStats := presence.Stats{CallsHandledToday: 3, AvgHandleTime: 108, TotalTalkTime: 325}
	if got.Stats == nil || *got.Stats != wantStats {
		t.Errorf("got stats %+v, want %+v (the call counted)", got.Stats, wantStats)
	}
}

func TestStartCallFillsBlanks(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	if err := f.sim.StartCall("agent_001", presence.Call{Duration: 999}); err != nil {
		t.Fatal(err)
	}
	c := f.getAgent(t, "agent_001").CurrentCall
	if c == nil {
		t.Fatal("got no current_call, want a generated one")
	}
	if !strings.HasPrefix(c.SID, "call_") || !strings.HasPrefix(c.CustomerNumber, "+") ||
		(c.Direction != "inbound" && c.Direction != "outbound") {
		t.Errorf("got call %+v, want a call_ SID, a +number and a direction", *c)
	}
	if c.Duration != 0 {
		t.Errorf("got duration %d, want 0: the call has just begun", c.Duration)
	}
}

func TestCallControlErrors(t *testing.T) {
	f := newFixture(t,
		agent("avail", "", presence.Available),
		agent("busy", "", presence.Busy),
	)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		// Only an available agent can answer a call.
		{"start on busy", func() error { return f.sim.StartCall("busy", presence.Call{}) }, ErrWrongStatus},
		// Nobody to call.
		{"start on unknown", func() error { return f.sim.StartCall("nobody", presence.Call{}) }, ErrUnknownAgent},
		// No call to end.
		{"end on available", func() error { return f.sim.EndCall("avail") }, ErrWrongStatus},
		// Nobody to hang up on.
		{"end on unknown", func() error { return f.sim.EndCall("nobody") }, ErrUnknownAgent},
		// Force still wants a real status.
		{"force to nonsense", func() error { return f.sim.Force("avail", "napping") }, ErrBadStatus},
		// And a real agent.
		{"force unknown", func() error { return f.sim.Force("nobody", presence.Busy) }, ErrUnknownAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
			if got := mustAgent(t, f.sim, "avail").Status; got != presence.Available {
				t.Errorf("got avail %s, want it unchanged", got)
			}
			if got := mustAgent(t, f.sim, "busy").Status; got != presence.Busy {
				t.Errorf("got busy %s, want it unchanged", got)
			}
		})
	}
}

func TestForce(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Offline))
	f.clock.Advance(time.Minute)
	// Forcing on-call, which no PUT may do, starts a call.
	if err := f.sim.Force("agent_001", presence.OnCall); err != nil {
		t.Fatal(err)
	}
	got := mustAgent(t, f.sim, "agent_001")
	if got.Status != presence.OnCall || got.CurrentCall == nil || !got.StatusSince.Equal(f.clock.Now()) {
		t.Errorf("got %s since %v with call %+v, want on-call since %v with a call",
			got.Status, got.StatusSince, got.CurrentCall, f.clock.Now())
	}
	// Forcing away from on-call drops the call without counting it.
	if err := f.sim.Force("agent_001", presence.Busy); err != nil {
		t.Fatal(err)
	}
	got = mustAgent(t, f.sim, "agent_001")
	if got.Status != presence.Busy || got.CurrentCall != nil || got.Stats != nil {
		t.Errorf("got %s with call %+v and stats %+v, want busy, no call, no stats", got.Status, got.CurrentCall, got.Stats)
	}
}
