package ccmsim

import (
	"errors"
	"fmt"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Errors of the call-control and setup methods, for errors.Is.
var (
	ErrUnknownAgent = errors.New("unknown agent")
	ErrWrongStatus  = errors.New("agent is not in the status this needs")
	ErrBadStatus    = errors.New("not a status")
)

// StartCall puts an available agent on a call, as the contact center does
// when a call is answered. Empty fields of call are generated from the
// seeded generator, and the call lasts from now (call.Duration is ignored).
func (s *Sim) StartCall(id string, call presence.Call) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("start call for %q: %w", id, ErrUnknownAgent)
	}
	if a.Status != presence.Available {
		return fmt.Errorf("start call for %q: agent is %s, not available: %w", id, a.Status, ErrWrongStatus)
	}
	startCall(a, s.fillCall(call), now)
	return nil
}

// EndCall ends an on-call agent's call and moves them to after-call work,
// adding the call to their day's stats.
func (s *Sim) EndCall(id string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("end call for %q: %w", id, ErrUnknownAgent)
	}
	if a.Status != presence.OnCall {
		return fmt.Errorf("end call for %q: agent is %s, not on-call: %w", id, a.Status, ErrWrongStatus)
	}
	endCall(a, now)
	return nil
}

// Force sets any status, bypassing the transition table, for test setup.
// Forcing on-call starts a generated call; forcing anything else ends the
// current call without counting it.
func (s *Sim) Force(id string, st presence.Status) error {
	if !st.Valid() {
		return fmt.Errorf("force %q to %q: %w", id, st, ErrBadStatus)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("force %q to %s: %w", id, st, ErrUnknownAgent)
	}
	if st == presence.OnCall {
		startCall(a, s.fillCall(presence.Call{}), now)
		return nil
	}
	a.Status = st
	a.StatusSince = now
	a.CurrentCall = nil
	return nil
}

// startCall moves a to on-call.
func startCall(a *presence.Agent, call *presence.Call, now time.Time) {
	a.Status = presence.OnCall
	a.StatusSince = now // the call's duration counts from here
	a.CurrentCall = call
}

// endCall moves a from on-call to after-call work and counts the call.
func endCall(a *presence.Agent, now time.Time) {
	secs := callSeconds(a.StatusSince, now)
	if a.Stats == nil {
		a.Stats = &presence.Stats{}
	}
	a.Stats.CallsHandledToday++
	a.Stats.TotalTalkTime += secs
	a.Stats.AvgHandleTime = a.Stats.TotalTalkTime / a.Stats.CallsHandledToday
	a.Status = presence.AfterCallWork
	a.StatusSince = now
	a.CurrentCall = nil
}

// fillCall completes a call's missing fields from the seeded generator;
// the caller holds s.mu.
func (s *Sim) fillCall(c presence.Call) *presence.Call {
	if c.SID == "" {
		c.SID = fmt.Sprintf("call_%016x", s.rng.Uint64())
	}
	if c.Direction == "" {
		c.Direction = "inbound"
		if s.rng.IntN(4) == 0 {
			c.Direction = "outbound"
		}
	}
	if c.CustomerNumber == "" {
		c.CustomerNumber = fmt.Sprintf("+9198%08d", s.rng.IntN(100_000_000))
	}
	c.Duration = 0
	return &c
}
