package ccmsim

import (
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Add inserts agents, replacing any with the same ID (the last wins). The
// simulator keeps its own copies. An empty Status means offline and a zero
// StatusSince means now; times are kept in UTC to the millisecond, as the
// wire carries them. An on-call agent's call lasts from its StatusSince,
// so CurrentCall.Duration is ignored; an on-call agent's missing call
// fields are generated, as StartCall does. Any other agent's CurrentCall is
// dropped.
func (s *Sim) Add(agents ...presence.Agent) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var fresh []*presence.Agent
	for _, in := range agents {
		a := cloneAgent(in)
		if a.Status == "" {
			a.Status = presence.Offline
		}
		if a.StatusSince.IsZero() {
			a.StatusSince = now
		}
		a.StatusSince = wireTime(a.StatusSince)
		if a.Status == presence.OnCall {
			var call presence.Call
			if a.CurrentCall != nil {
				call = *a.CurrentCall
			}
			a.CurrentCall = s.fillCall(call)
		} else {
			a.CurrentCall = nil
		}
		if old, ok := s.byID[a.ID]; ok {
			*old = a
			continue
		}
		rec := &a
		s.byID[a.ID] = rec
		fresh = append(fresh, rec)
	}
	if len(fresh) > 0 {
		s.agents = mergeSorted(s.agents, fresh)
	}
}

// mergeSorted merges fresh (any order) into sorted, in O(n + k log k), so
// loading a large roster one batch at a time stays linear per batch.
func mergeSorted(sorted, fresh []*presence.Agent) []*presence.Agent {
	byID := func(a, b *presence.Agent) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(fresh, byID)
	out := make([]*presence.Agent, 0, len(sorted)+len(fresh))
	i, j := 0, 0
	for i < len(sorted) && j < len(fresh) {
		if byID(sorted[i], fresh[j]) <= 0 {
			out = append(out, sorted[i])
			i++
		} else {
			out = append(out, fresh[j])
			j++
		}
	}
	out = append(out, sorted[i:]...)
	return append(out, fresh[j:]...)
}

// Agent returns a copy of one agent, with its call's duration as of the
// sim clock.
func (s *Sim) Agent(id string) (presence.Agent, bool) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byID[id]
	if !ok {
		return presence.Agent{}, false
	}
	return snapshot(a, now), true
}

// Agents returns copies of every agent, sorted by ID.
func (s *Sim) Agents() []presence.Agent {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]presence.Agent, len(s.agents))
	for i, a := range s.agents {
		out[i] = snapshot(a, now)
	}
	return out
}

// snapshot copies a stored agent and fills in its call's duration.
func snapshot(a *presence.Agent, now time.Time) presence.Agent {
	c := cloneAgent(*a)
	if c.CurrentCall != nil {
		c.CurrentCall.Duration = callSeconds(c.StatusSince, now)
	}
	return c
}

// callSeconds is how long a call that began at start has lasted at now.
func callSeconds(start, now time.Time) int {
	return max(0, int(now.Sub(start)/time.Second))
}

// cloneAgent copies a, including what its pointers point to, so neither
// the caller nor the simulator can change the other's agent.
func cloneAgent(a presence.Agent) presence.Agent {
	if a.Device != nil {
		d := *a.Device
		a.Device = &d
	}
	if a.Team != nil {
		t := *a.Team
		a.Team = &t
	}
	if a.Stats != nil {
		st := *a.Stats
		a.Stats = &st
	}
	if a.CurrentCall != nil {
		c := *a.CurrentCall
		a.CurrentCall = &c
	}
	return a
}
