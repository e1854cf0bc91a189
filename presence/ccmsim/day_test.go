package ccmsim

import (
	"reflect"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/presence"
)

// stint is one stretch of an agent in one status, as seen between steps.
type stint struct {
	status     presence.Status
	start, end time.Time
	// from is the status before it; closed reports whether it ended
	// within the observed span.
	from   presence.Status
	closed bool
}

// dayRun is a simulated day seen step by step.
type dayRun struct {
	day    Day
	step   time.Duration
	stints map[string][]stint
	final  []presence.Agent
	// moves counts every status change seen, by edge.
	moves map[[2]presence.Status]int
}

// offlineRoster is n generated agents, all logged out since the night
// before, as a day starts.
func offlineRoster(n int, start time.Time, seed int64) []presence.Agent {
	agents := GenerateRoster(n, nil, start, seed)
	for i := range agents {
		agents[i].Status = presence.Offline
		agents[i].StatusSince = start.Add(-12 * time.Hour)
		agents[i].CurrentCall = nil
	}
	return agents
}

// runDay steps a day-mode simulator from 30 minutes before the shift to
// 30 minutes after it, every step, recording each agent's stints.
func runDay(t *testing.T, n int, seed int64, day Day, step time.Duration) dayRun {
	t.Helper()
	clk := clockwork.NewFakeClockAt(day.Start.Add(-30 * time.Minute))
	s := New(Options{Now: clk.Now, Seed: seed, Day: &day})
	s.Add(offlineRoster(n, day.Start, 1)...)
	length := day.Length
	if length == 0 {
		length = DefaultShift
	}
	end := day.Start.Add(length + 30*time.Minute)
	r := dayRun{day: day, step: step, stints: map[string][]stint{}, moves: map[[2]presence.Status]int{}}
	prev := s.Agents()
	for clk.Now().Before(end) {
		clk.Advance(step)
		s.Step()
		cur := s.Agents()
		for i, a := range cur {
			b := prev[i]
			if a.Status == b.Status {
				continue
			}
			r.moves[[2]presence.Status{b.Status, a.Status}]++
			list := r.stints[a.ID]
			if k := len(list) - 1; k >= 0 {
				list[k].end, list[k].closed = a.StatusSince, true
			}
			r.stints[a.ID] = append(list, stint{status: a.Status, start: a.StatusSince, from: b.Status})
		}
		prev = cur
	}
	r.final = prev
	return r
}

// morning is the day the tests simulate: a shift from 08:00.
var morning = time.Date(2024, 6, 17, 8, 0, 0, 0, time.UTC)

func TestDayLoginsAndLogouts(t *testing.T) {
	r := runDay(t, 200, 3, Day{Start: morning}, 30*time.Second)
	for id, list := range r.stints {
		// Everyone logs in once, in the ten minutes before the shift.
		first := list[0]
		if first.status != presence.Available || first.start.Before(morning.Add(-10*time.Minute)) || first.start.After(morning.Add(r.step)) {
			t.Errorf("%s: first move to %s at %v, want available between 07:50 and 08:00", id, first.status, first.start.Format("15:04:05"))
		}
		// And logs out once, for good, in the 15 minutes after it or
		// when the last call's wrap-up is done.
		last := list[len(list)-1]
		shiftEnd := morning.Add(DefaultShift)
		if last.status != presence.Offline || last.start.Before(shiftEnd) || last.start.After(shiftEnd.Add(MaxCall+MaxLinger+r.step)) {
			t.Errorf("%s: last move to %s at %v, want offline soon after 16:00", id, last.status, last.start.Format("15:04:05"))
		}
		for _, st := range list[1 : len(list)-1] {
			if st.status == presence.Offline {
				t.Errorf("%s: offline at %v in mid-shift, want offline only at the end", id, st.start.Format("15:04"))
			}
		}
	}
	if len(r.stints) != 200 {
		t.Errorf("got %d agents moving, want all 200", len(r.stints))
	}
	// The working day is the call cycle plus breaks, nothing else.
	allowed := map[[2]presence.Status]bool{
		{presence.Offline, presence.Available}:       true,
		{presence.Available, presence.OnCall}:        true,
		{presence.OnCall, presence.AfterCallWork}:    true,
		{presence.AfterCallWork, presence.Available}: true,
		{presence.Available, presence.Busy}:          true, // a break starts
		{presence.Busy, presence.Available}:          true, // and ends
		{presence.Available, presence.Offline}:       true, // logging out
		{presence.AfterCallWork, presence.Offline}:   true, // the last call's wrap-up done
		{presence.Busy, presence.Offline}:            true, // a late break ends the day
	}
	for edge, n := range r.moves {
		if !allowed[edge] {
			t.Errorf("got %d moves %s → %s, want none", n, edge[0], edge[1])
		}
	}
	for _, edge := range [][2]presence.Status{{presence.Available, presence.OnCall}, {presence.OnCall, presence.AfterCallWork}, {presence.AfterCallWork, presence.Available}} {
		if r.moves[edge] < 200*20 {
			t.Errorf("got %d moves %s → %s in a day for 200 agents, want the call cycle going all day", r.moves[edge], edge[0], edge[1])
		}
	}
}

func TestDayBreaksAndLunch(t *testing.T) {
	step := 30 * time.Second
	r := runDay(t, 200, 4, Day{Start: morning}, step)
	if len(r.stints) != 200 {
		t.Fatalf("got %d agents moving, want all 200", len(r.stints))
	}
	for id, list := range r.stints {
		var breaks, lunches []time.Duration
		for _, st := range list {
			if st.status != presence.Busy || !st.closed {
				continue
			}
			d := st.end.Sub(st.start)
			switch {
			case d >= MinBreak && d <= MaxBreak+step:
				breaks = append(breaks, d)
			case d >= MinLunch && d <= MaxLunch+step:
				lunches = append(lunches, d)
			default:
				t.Errorf("%s: busy for %v from %v, want a break of 10–20 min or a lunch of 30–45", id, d, st.start.Format("15:04"))
			}
		}
		if len(breaks) != 2 || len(lunches) != 1 {
			t.Errorf("%s: got breaks %v and lunches %v, want 2 breaks and 1 lunch", id, breaks, lunches)
		}
	}
}

func TestDayLingerersStayInAfterCallWork(t *testing.T) {
	step := 30 * time.Second
	const n = 400
	r := runDay(t, n, 5, Day{Start: morning}, step)
	lingerers, slowAll, wrapUpsOfLingerers := 0, 0, 0
	for id, list := range r.stints {
		var quick, slow int
		for _, st := range list {
			if st.status != presence.AfterCallWork || !st.closed {
				continue
			}
			switch d := st.end.Sub(st.start); {
			case d >= MinLinger && d <= MaxLinger+step:
				slow++
			case d >= MinWrapUp && d <= MaxWrapUp+step:
				quick++
			default:
				t.Errorf("%s: after-call work for %v, want %v–%v or a linger of %v–%v", id, d, MinWrapUp, MaxWrapUp, MinLinger, MaxLinger)
			}
		}
		// Only lingerers are ever slow, and they are slow on some wrap-ups
		// all day long: a habit (one in a day's 30 or so would be chance).
		if slow > 0 {
			lingerers++
			slowAll += slow
			wrapUpsOfLingerers += slow + quick
			if slow < 4 {
				t.Errorf("%s: %d slow wrap-ups of %d, want a habit", id, slow, slow+quick)
			}
		}
	}
	// DefaultLingerers of the floor, within what chance allows for 400.
	share := float64(lingerers) / n
	if share < DefaultLingerers-0.06 || share > DefaultLingerers+0.06 {
		t.Errorf("got %.2f of agents lingering, want about %.2f", share, DefaultLingerers)
	}
	// And LingerOdds of a lingerer's wrap-ups are slow.
	odds := float64(slowAll) / float64(wrapUpsOfLingerers)
	if odds < LingerOdds-0.06 || odds > LingerOdds+0.06 {
		t.Errorf("got %.2f of lingerers' wrap-ups slow (%d of %d), want about %.2f", odds, slowAll, wrapUpsOfLingerers, LingerOdds)
	}
}

func TestDayLingerersShareIsAnOption(t *testing.T) {
	none := runDay(t, 100, 5, Day{Start: morning, Lingerers: -1}, time.Minute)
	all := runDay(t, 100, 5, Day{Start: morning, Lingerers: 1}, time.Minute)
	wrapUps, slowAgents := 0, 0
	for id, list := range none.stints {
		for _, st := range list {
			if st.status == presence.AfterCallWork && st.closed && st.end.Sub(st.start) > MaxWrapUp+time.Minute {
				t.Fatalf("Lingerers -1: %s in after-call work %v, want nobody lingering", id, st.end.Sub(st.start))
			}
		}
	}
	for _, list := range all.stints {
		slow := false
		for _, st := range list {
			if st.status == presence.AfterCallWork && st.closed {
				wrapUps++
				slow = slow || st.end.Sub(st.start) >= MinLinger
			}
		}
		if slow {
			slowAgents++
		}
	}
	if len(none.stints) != 100 || wrapUps < 100 {
		t.Errorf("got %d agents moving and %d wrap-ups, want a working floor", len(none.stints), wrapUps)
	}
	if slowAgents != 100 {
		t.Errorf("Lingerers 1: %d of 100 agents lingered, want everybody", slowAgents)
	}
}

func TestDayIsDeterministic(t *testing.T) {
	day := Day{Start: morning, Length: 2 * time.Hour}
	a := runDay(t, 150, 9, day, time.Minute)
	b := runDay(t, 150, 9, day, time.Minute)
	if !reflect.DeepEqual(a.stints, b.stints) || !reflect.DeepEqual(a.final, b.final) {
		t.Errorf("got different days from the same seed, want the same")
	}
	c := runDay(t, 150, 10, day, time.Minute)
	if reflect.DeepEqual(a.stints, c.stints) {
		t.Errorf("got the same day from different seeds, want different")
	}
}

// A person's day does not depend on who else is on the floor: adding
// agents leaves the others' days as they were.
func TestDayOfOneAgentIgnoresTheRest(t *testing.T) {
	day := Day{Start: morning, Length: 2 * time.Hour}
	big := runDay(t, 120, 9, day, time.Minute)
	small := runDay(t, 60, 9, day, time.Minute)
	if len(small.stints) != 60 {
		t.Fatalf("got %d agents moving, want 60", len(small.stints))
	}
	for id, list := range small.stints {
		if !reflect.DeepEqual(list, big.stints[id]) {
			t.Fatalf("%s: day differs with 60 more agents on the floor, want the same", id)
		}
	}
}

// A status someone else sets (a supervisor, a nudge's button) is timed
// from then: an agent put back to available goes on with the day, one
// put offline stays offline.
func TestDayFollowsChangesMadeByPeople(t *testing.T) {
	clk := clockwork.NewFakeClockAt(morning)
	s := New(Options{Now: clk.Now, Seed: 1, Day: &Day{Start: morning, Lingerers: 1}})
	s.Add(offlineRoster(2, morning, 1)...)
	clk.Advance(time.Second)
	s.Step()
	for range 30 { // until agent 1 is in after-call work, lingering
		if mustAgent(t, s, "agent_0001").Status == presence.AfterCallWork {
			break
		}
		clk.Advance(time.Minute)
		s.Step()
	}
	if got := mustAgent(t, s, "agent_0001").Status; got != presence.AfterCallWork {
		t.Fatalf("agent_0001 is %s after 30 min, want after-call work", got)
	}
	// The nudge worked: the agent made themselves available.
	if err := s.Force("agent_0001", presence.Available); err != nil {
		t.Fatal(err)
	}
	if err := s.Force("agent_0002", presence.Offline); err != nil {
		t.Fatal(err)
	}
	sawCall := false
	for range 60 {
		clk.Advance(time.Minute)
		s.Step()
		sawCall = sawCall || mustAgent(t, s, "agent_0001").Status == presence.OnCall
		if got := mustAgent(t, s, "agent_0002").Status; got != presence.Offline {
			t.Fatalf("agent_0002 put offline mid-shift is %s, want left offline", got)
		}
	}
	if !sawCall {
		t.Errorf("agent_0001 put back to available took no call in an hour, want the day going on")
	}
}

func TestStepWithoutDayKeepsAliveMode(t *testing.T) {
	// Alive mode leaves offline agents alone; day mode would log them in.
	clk := clockwork.NewFakeClockAt(morning)
	s := New(Options{Now: clk.Now, Seed: 1})
	s.Add(offlineRoster(50, morning, 1)...)
	for range 20 {
		clk.Advance(time.Minute)
		if moved := s.Step(); moved != 0 {
			t.Fatalf("alive mode moved %d offline agents, want none", moved)
		}
	}
}

// BenchmarkStepDay is one Day-mode step of a 5,000-agent floor in
// mid-shift: a map lookup and a few comparisons per agent.
func BenchmarkStepDay(b *testing.B) {
	clk := clockwork.NewFakeClockAt(morning.Add(-LoginEarly))
	s := New(Options{Now: clk.Now, Seed: 1, Day: &Day{Start: morning}})
	s.Add(offlineRoster(5000, morning, 1)...)
	for range 4 * 60 { // an hour in
		clk.Advance(15 * time.Second)
		s.Step()
	}
	for b.Loop() {
		clk.Advance(15 * time.Second)
		s.Step()
	}
}
