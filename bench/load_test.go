package bench

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// planWorld is a world with users only: plans need no servers.
func planWorld() *world {
	w := &world{}
	for i := range mappedAgents {
		w.agents = append(w.agents, fmt.Sprintf("UAGENT%04d", i+1))
	}
	for i := range supervisors {
		w.supervisors = append(w.supervisors, fmt.Sprintf("USUPER%02d", i+1))
	}
	return w
}

// TestBurstPlan: the burst is the targets' shift start: 200 /presence from the 20
// supervisors and a /status from each of 500 distinct agents, all within
// one second, in order. The /presence ask the load's first words 3 times
// in 4 and its second once: the overview and one status, the table of
// them, or the floor's trend and one team's.
func TestBurstPlan(t *testing.T) {
	w := planWorld()
	for _, asks := range []presenceAsks{overviewAsks, tableAsks, trendAsks} {
		plan := burstPlan(w, asks)
		presences, fromSupervisor := 0, map[string]int{}
		statusFrom, texts := map[string]int{}, map[string]int{}
		var last time.Duration
		for i, p := range plan {
			if p.at < last || p.at >= burstWindow {
				t.Fatalf("%q: command %d at %v after one at %v, want times rising within %v", asks, i, p.at, last, burstWindow)
			}
			last = p.at
			switch p.command {
			case cmdPresence:
				presences++
				fromSupervisor[p.user]++
				texts[p.text]++
			case cmdStatus:
				statusFrom[p.user]++
				if p.text != "busy" {
					t.Errorf("/status %q, want busy: every mapped agent starts available", p.text)
				}
			default:
				t.Errorf("unexpected command %q", p.command)
			}
		}
		if presences != burstPresence || len(fromSupervisor) != supervisors {
			t.Errorf("%q: got %d /presence from %d users, want %d from %d supervisors", asks, presences, len(fromSupervisor), burstPresence, supervisors)
		}
		if want := map[string]int{asks[0]: burstPresence * 3 / 4, asks[1]: burstPresence / 4}; !maps.Equal(texts, want) {
			t.Errorf("got /presence texts %v, want %v", texts, want)
		}
		if len(statusFrom) != mappedAgents {
			t.Errorf("%q: got /status from %d distinct agents, want %d", asks, len(statusFrom), mappedAgents)
		}
		for u, n := range statusFrom {
			if n != 1 {
				t.Errorf("%s sent %d /status, want 1", u, n)
			}
		}
		// Shuffled: the two kinds interleave rather than come in two blocks.
		if kinds := countRuns(plan); kinds < 100 {
			t.Errorf("%q: got %d runs of one kind, want the kinds interleaved", asks, kinds)
		}
	}
}

// countRuns counts maximal stretches of one command kind.
func countRuns(plan []planned) int {
	runs := 0
	for i := range plan {
		if i == 0 || plan[i].command != plan[i-1].command {
			runs++
		}
	}
	return runs
}

// TestSteadyPlan: 50 commands a second, 2 of 7 of them /presence, and
// every /status a move the contact center allows from where that agent's
// last one left it.
func TestSteadyPlan(t *testing.T) {
	w := planWorld()
	for _, d := range []time.Duration{time.Second, 30 * time.Second} {
		plan := steadyPlan(w, d, overviewAsks)
		if want := int(d/time.Second) * steadyRate; len(plan) != want {
			t.Errorf("%v: got %d commands, want %d", d, len(plan), want)
		}
		status := map[string]presence.Status{}
		presences := 0
		for i, p := range plan {
			if want := time.Duration(i) * time.Second / steadyRate; p.at != want {
				t.Fatalf("%v: command %d at %v, want %v", d, i, p.at, want)
			}
			if p.command == cmdPresence {
				presences++
				continue
			}
			from, ok := status[p.user]
			if !ok {
				from = presence.Available
			}
			to := presence.Status(p.text)
			if !presence.CanTransition(from, to) {
				t.Fatalf("%v: command %d moves %s from %s to %s, which the contact center refuses", d, i, p.user, from, to)
			}
			status[p.user] = to
		}
		if want := len(plan) * 2 / 7; presences < want || presences > want+2 {
			t.Errorf("%v: got %d /presence of %d, want about 2 in 7", d, presences, len(plan))
		}
	}
}

func TestSelected(t *testing.T) {
	tests := []struct {
		filter []string
		name   string
		want   bool
	}{
		{nil, "burst-100ms", true},                      // no filter: everything
		{[]string{"burst"}, "burst-100ms", true},        // a prefix picks a family
		{[]string{"burst"}, "steady-0ms", false},        // and only that family
		{[]string{"steady-0ms"}, "steady-0ms", true},    // a full name picks one
		{[]string{" render ", "x"}, "render", true},     // spaces do not matter
		{[]string{""}, "render", false},                 // an empty entry picks nothing
		{[]string{"steady-100ms"}, "steady-0ms", false}, // nor does a longer name
	}
	for _, tt := range tests {
		if got := selected(tt.filter, tt.name); got != tt.want {
			t.Errorf("selected(%q, %s) = %v, want %v", tt.filter, tt.name, got, tt.want)
		}
	}
}
