package ccmsim

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/presence"
)

func TestAddReplacesAndSorts(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	s := New(Options{Now: clk.Now})
	s.Add(agent("c", "", presence.Busy), agent("a", "", presence.Available))
	renamed := agent("a", "sales_team", presence.Offline)
	renamed.Name = "Renamed"
	s.Add(agent("b", "", presence.Available), renamed)

	if got, want := ids(s.Agents()), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got IDs %v, want %v", got, want)
	}
	if got := mustAgent(t, s, "a"); got.Name != "Renamed" || got.Status != presence.Offline || got.TeamID() != "sales_team" {
		t.Errorf("got %+v, want agent a replaced", got)
	}
	// Within one call the last of a repeated ID wins.
	s.Add(agent("d", "", presence.Busy), agent("d", "", presence.Available))
	if got := mustAgent(t, s, "d").Status; got != presence.Available || len(s.Agents()) != 4 {
		t.Errorf("got d %s among %d agents, want available among 4", got, len(s.Agents()))
	}
}

func TestAddNormalises(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0.Add(1234567 * time.Nanosecond))
	s := New(Options{Now: clk.Now})
	onCall := presence.Agent{ID: "on", Status: presence.OnCall, StatusSince: t0}
	withStaleCall := presence.Agent{ID: "stale", Status: presence.Busy, CurrentCall: &presence.Call{SID: "old"}}
	blank := presence.Agent{ID: "blank"}
	s.Add(onCall, withStaleCall, blank)

	// An on-call agent without a call gets one.
	if c := mustAgent(t, s, "on").CurrentCall; c == nil || c.SID == "" {
		t.Errorf("got call %+v for an on-call agent, want a generated one", c)
	}
	// Other agents carry no call.
	if c := mustAgent(t, s, "stale").CurrentCall; c != nil {
		t.Errorf("got call %+v for a busy agent, want none", c)
	}
	// A blank status is offline since now, to the millisecond in UTC.
	got := mustAgent(t, s, "blank")
	want := t0.Add(time.Millisecond)
	if got.Status != presence.Offline || got.StatusSince != want {
		t.Errorf("got %s since %v, want offline since %v", got.Status, got.StatusSince, want)
	}
}

func TestAgentsAreCopies(t *testing.T) {
	in := agent("a", "sales_team", presence.Available)
	s := New(Options{})
	s.Add(in)
	in.Team.ID = "changed by caller"
	out := mustAgent(t, s, "a")
	out.Team.ID = "changed by reader"
	s.Agents()[0].Team.Name = "changed again"
	if got := mustAgent(t, s, "a").Team; got.ID != "sales_team" || got.Name != "sales_team" {
		t.Errorf("got team %+v, want the simulator's copy untouched", *got)
	}
	if _, ok := s.Agent("missing"); ok {
		t.Errorf("got an agent for an unknown ID, want none")
	}
}

func TestAddInBatchesStaysSorted(t *testing.T) {
	roster := GenerateRoster(1000, nil, t0, 3)
	shuffled := slices.Clone(roster)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	s := New(Options{})
	for batch := range slices.Chunk(shuffled, 37) {
		s.Add(batch...)
	}
	if got, want := ids(s.Agents()), ids(roster); !slices.Equal(got, want) {
		t.Errorf("got %d IDs out of order or lost, want the %d generated in order", len(got), len(want))
	}
}

func TestGenerateRoster(t *testing.T) {
	base := t0.Add(8 * time.Hour)
	roster := GenerateRoster(5000, nil, base, 42)
	if len(roster) != 5000 {
		t.Fatalf("got %d agents, want 5000", len(roster))
	}
	if roster[0].ID != "agent_0001" || roster[4999].ID != "agent_5000" {
		t.Errorf("got IDs %s … %s, want agent_0001 … agent_5000", roster[0].ID, roster[4999].ID)
	}
	ids, emails := map[string]bool{}, map[string]bool{}
	statuses, teams := map[presence.Status]int{}, map[string]int{}
	for _, a := range roster {
		if ids[a.ID] || emails[a.Email] {
			t.Fatalf("got a repeated ID or email in %+v, want each once", a)
		}
		ids[a.ID], emails[a.Email] = true, true
		statuses[a.Status]++
		teams[a.TeamID()]++
		if !strings.Contains(a.Name, " ") || !strings.HasSuffix(a.Email, "@example.com") || a.Device == nil || a.Stats == nil {
			t.Fatalf("got %+v, want a full name, an example.com email, a device and stats", a)
		}
		if a.StatusSince.After(base) || a.StatusSince.Before(base.Add(-5*time.Hour)) {
			t.Fatalf("got status_since %v, want within 5h before %v", a.StatusSince, base)
		}
		if (a.Status == presence.OnCall) != (a.CurrentCall != nil) {
			t.Fatalf("got %s with call %+v, want a call exactly when on-call", a.Status, a.CurrentCall)
		}
	}
	for _, st := range presence.Statuses {
		if statuses[st] < 250 {
			t.Errorf("got %d agents %s, want a real share (≥ 250 of 5000)", statuses[st], st)
		}
	}
	for _, tm := range DefaultTeams() {
		if teams[tm.ID] < 1000 {
			t.Errorf("got %d agents in %s, want about a third", teams[tm.ID], tm.ID)
		}
	}

	// Deterministic for a seed, different across seeds.
	if !reflect.DeepEqual(GenerateRoster(5000, nil, base, 42), roster) {
		t.Errorf("got a different roster for the same seed, want the same")
	}
	if reflect.DeepEqual(GenerateRoster(5000, nil, base, 43), roster) {
		t.Errorf("got the same roster for another seed, want a different one")
	}
}

func TestGenerateRosterSizes(t *testing.T) {
	tests := []struct {
		n           int
		first, last string
		wantLen     int
	}{
		{0, "", "", 0},                               // nothing asked, nothing made
		{-3, "", "", 0},                              // a negative count is nothing too
		{1, "agent_0001", "agent_0001", 1},           // the narrowest width is 4
		{12000, "agent_00001", "agent_12000", 12000}, // wider IDs keep number order
	}
	teams := []presence.Team{{ID: "only_team", Name: "Only"}}
	for _, tt := range tests {
		roster := GenerateRoster(tt.n, teams, t0, 1)
		if len(roster) != tt.wantLen {
			t.Fatalf("n=%d: got %d agents, want %d", tt.n, len(roster), tt.wantLen)
		}
		if tt.wantLen == 0 {
			continue
		}
		if roster[0].ID != tt.first || roster[len(roster)-1].ID != tt.last {
			t.Errorf("n=%d: got %s … %s, want %s … %s", tt.n, roster[0].ID, roster[len(roster)-1].ID, tt.first, tt.last)
		}
		if !slices.IsSortedFunc(roster, func(a, b presence.Agent) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("n=%d: got IDs out of string order, want sorted", tt.n)
		}
		if roster[0].TeamID() != "only_team" {
			t.Errorf("n=%d: got team %q, want only_team", tt.n, roster[0].TeamID())
		}
	}
}

func TestDemoRoster(t *testing.T) {
	now := t0.Add(3 * time.Hour)
	roster := DemoRoster(now)
	if len(roster) != 25 {
		t.Errorf("got %d agents, want 25", len(roster))
	}
	teams, statuses, seen := map[string]int{}, map[presence.Status]int{}, map[string]bool{}
	for _, a := range roster {
		if seen[a.ID] {
			t.Errorf("got ID %s twice, want each once", a.ID)
		}
		seen[a.ID] = true
		teams[a.TeamID()]++
		statuses[a.Status]++
		if a.StatusSince.After(now) {
			t.Errorf("got %s since %v, after now %v", a.ID, a.StatusSince, now)
		}
		if (a.Status == presence.OnCall) != (a.CurrentCall != nil) {
			t.Errorf("got %s %s with call %+v, want a call exactly when on-call", a.ID, a.Status, a.CurrentCall)
		}
	}
	if len(teams) != 3 || teams["sales_team"] == 0 || teams["support_team"] == 0 || teams["billing_team"] == 0 {
		t.Errorf("got teams %v, want sales_team, support_team and billing_team", teams)
	}
	for _, st := range presence.Statuses {
		if statuses[st] == 0 {
			t.Errorf("got no agent %s, want every status in the demo", st)
		}
	}
}
