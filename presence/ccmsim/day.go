package ccmsim

import (
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// A floor's day, as Day mode plays it. Every agent keeps to these; the
// dry run (presence-bot rules test) and its tests read them as the rates
// a simulated day has.
const (
	DefaultShift     = 8 * time.Hour // Day.Length when zero
	DefaultLingerers = 0.15          // Day.Lingerers when zero

	// Logging in: in the LoginEarly before the shift starts; out: in the
	// LogoutLate after it ends, or when the last call's wrap-up is done.
	LoginEarly = 10 * time.Minute
	LogoutLate = 15 * time.Minute

	// Between calls an agent waits MinIdle–MaxIdle for the next one; a
	// call lasts MinCall–MaxCall.
	MinIdle = 30 * time.Second
	MaxIdle = 4 * time.Minute
	MinCall = 2 * time.Minute
	MaxCall = 8 * time.Minute

	// After-call work lasts MinWrapUp–MaxWrapUp, except that lingerers
	// (Day.Lingerers of the floor) stay MinLinger–MaxLinger after
	// LingerOdds of their calls: a habit, which is what time-in-status
	// rules are for.
	MinWrapUp  = 30 * time.Second
	MaxWrapUp  = 3 * time.Minute
	MinLinger  = 6 * time.Minute
	MaxLinger  = 15 * time.Minute
	LingerOdds = 1.0 / 3

	// Each agent takes two breaks of MinBreak–MaxBreak, around a quarter
	// and three quarters into the shift, and a lunch of MinLunch–MaxLunch
	// around its middle (each within Length/16 either side), as busy.
	MinBreak = 10 * time.Minute
	MaxBreak = 20 * time.Minute
	MinLunch = 30 * time.Minute
	MaxLunch = 45 * time.Minute
)

// Day makes Step play a working day on the sim clock rather than alive
// mode's per-step chances. Agents log in (offline → available) just
// before Start and take calls until Start+Length; they log out once
// their last call is wrapped up. Breaks and lunch are busy, and the
// simulated people end them themselves (busy → available), as they do
// after-call work. A status someone else sets (a PUT, Force) is timed
// from then: an agent set available goes on with the day; busy or
// offline set by someone else is left alone, as in alive mode.
//
// Each agent's day is drawn from the seed and the agent's ID alone, so
// the same seed and clock give the same day, whoever else is on the
// floor. A step costs O(agents).
type Day struct {
	Start  time.Time     // the shift's start; zero: the sim clock at the first Step
	Length time.Duration // default DefaultShift
	// Lingerers is the share of agents slow at wrap-up; 0 means
	// DefaultLingerers, a negative value none.
	Lingerers float64
}

// dayState is Day mode's memory of each agent; the caller holds s.mu.
type dayState struct {
	Day
	seed   int64
	people map[string]*person
}

func newDayState(d Day, seed int64) *dayState {
	if d.Length <= 0 {
		d.Length = DefaultShift
	}
	switch {
	case d.Lingerers == 0:
		d.Lingerers = DefaultLingerers
	case d.Lingerers < 0:
		d.Lingerers = 0
	}
	if !d.Start.IsZero() {
		d.Start = wireTime(d.Start)
	}
	return &dayState{Day: d, seed: seed, people: make(map[string]*person)}
}

// shiftBreak is one break or lunch still to take.
type shiftBreak struct {
	at     time.Time
	length time.Duration
}

// person is one agent's habits and what they are doing now.
type person struct {
	rng      *rand.Rand
	lingerer bool
	login    time.Time
	logout   time.Time
	breaks   []shiftBreak // still to take, in order
	loggedIn bool

	// The stint being timed: the agent's status and since as last seen,
	// and when the person ends it.
	status  presence.Status
	since   time.Time
	until   time.Time
	onBreak bool
}

// person returns id's habits, drawing them on first sight.
func (d *dayState) person(id string) *person {
	if p, ok := d.people[id]; ok {
		return p
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(uint64(d.seed), h.Sum64()))
	p := &person{rng: rng, lingerer: rng.Float64() < d.Lingerers}
	p.login = d.Start.Add(-between(rng, 0, LoginEarly))
	p.logout = d.Start.Add(d.Length + between(rng, 0, LogoutLate))
	jitter := d.Length / 16
	for i, lunch := range []bool{false, true, false} {
		at := d.Start.Add(d.Length*time.Duration(i+1)/4 + between(rng, -jitter, jitter))
		length := between(rng, MinBreak, MaxBreak)
		if lunch {
			length = between(rng, MinLunch, MaxLunch)
		}
		p.breaks = append(p.breaks, shiftBreak{at: at, length: length})
	}
	d.people[id] = p
	return p
}

// between draws a duration in [lo, hi], in whole seconds.
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64((hi-lo)/time.Second)+1))*time.Second
}

// stintLength draws how long the person keeps to st once in it; 0 for the
// statuses they do not leave on their own.
func (p *person) stintLength(st presence.Status) time.Duration {
	switch st {
	case presence.Available:
		return between(p.rng, MinIdle, MaxIdle)
	case presence.OnCall:
		return between(p.rng, MinCall, MaxCall)
	case presence.AfterCallWork:
		if p.lingerer && p.rng.Float64() < LingerOdds {
			return between(p.rng, MinLinger, MaxLinger)
		}
		return between(p.rng, MinWrapUp, MaxWrapUp)
	}
	return 0
}

// track starts timing the stint a is in now.
func (p *person) track(a *presence.Agent) {
	p.status, p.since = a.Status, a.StatusSince
	p.until = a.StatusSince.Add(p.stintLength(a.Status))
	p.onBreak = false
}

// stepDay is Step in Day mode; the caller holds s.mu.
func (s *Sim) stepDay(now time.Time) int {
	d := s.day
	if d.Start.IsZero() {
		d.Start = now
	}
	shiftEnd := d.Start.Add(d.Length)
	moved := 0
	for _, a := range s.agents {
		p := d.person(a.ID)
		if a.Status != p.status || !a.StatusSince.Equal(p.since) {
			p.track(a) // first sight, or someone else moved them
		}
		// set moves a, off any call, as the person does, and times the
		// new stint.
		set := func(st presence.Status) {
			a.Status, a.StatusSince, a.CurrentCall = st, now, nil
			p.track(a)
			moved++
		}
		// done ends a stint the person chose to end: back to work, or
		// home when the shift is over.
		done := func() {
			if !now.Before(p.logout) {
				set(presence.Offline)
				return
			}
			set(presence.Available)
		}
		switch a.Status {
		case presence.Offline:
			if !p.loggedIn && !now.Before(p.login) && now.Before(p.logout) {
				p.loggedIn = true
				set(presence.Available)
			}
		case presence.Available:
			p.loggedIn = true
			switch {
			case !now.Before(p.logout):
				set(presence.Offline)
			case len(p.breaks) > 0 && !now.Before(p.breaks[0].at):
				b := p.breaks[0]
				p.breaks = p.breaks[1:]
				set(presence.Busy)
				p.onBreak, p.until = true, now.Add(b.length)
			case now.Before(shiftEnd) && !now.Before(p.until):
				startCall(a, s.fillCall(presence.Call{}), now)
				p.track(a)
				moved++
			}
		case presence.OnCall:
			if !now.Before(p.until) {
				endCall(a, now)
				p.track(a)
				moved++
			}
		case presence.AfterCallWork:
			if !now.Before(p.until) {
				done()
			}
		case presence.Busy:
			if p.onBreak && !now.Before(p.until) {
				done()
			}
		}
	}
	return moved
}
