package ccmsim

import (
	"context"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Chances, per step, that an agent makes the system-side move out of its
// status. With them a floor settles at roughly half its active agents on
// calls, and a few percent of the roster moves each step, so a demo or a
// benchmark sees steady change without the roster churning.
const (
	chancePickUp = 0.10 // available → on-call
	chanceHangUp = 0.15 // on-call → after-call-work
	chanceWrapUp = 0.30 // after-call-work → available
)

// Step makes one round of moves at the sim clock: agents take calls, end
// them and finish their after-call work, following available → on-call →
// after-call-work → available. Busy and offline agents are left alone: only
// people move agents out of those. It draws from the generator seeded by
// Options.Seed, walking agents in ID order, so the same roster, seed and
// clock give the same moves. It returns how many agents moved. With
// Options.Day it plays a working day instead (see Day).
func (s *Sim) Step() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.day != nil {
		return s.stepDay(now)
	}
	moved := 0
	for _, a := range s.agents {
		switch a.Status {
		case presence.Available:
			if s.rng.Float64() < chancePickUp {
				startCall(a, s.fillCall(presence.Call{}), now)
				moved++
			}
		case presence.OnCall:
			if s.rng.Float64() < chanceHangUp {
				endCall(a, now)
				moved++
			}
		case presence.AfterCallWork:
			if s.rng.Float64() < chanceWrapUp {
				a.Status = presence.Available
				a.StatusSince = now
				moved++
			}
		}
	}
	return moved
}

// Run calls Step every interval until ctx ends (alive mode). An interval
// <= 0 means one second.
func (s *Sim) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Step()
		}
	}
}
