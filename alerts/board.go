package alerts

import (
	"context"
	"fmt"
)

// Firing describes each alert firing now, one mrkdwn line each, for the
// supervisors' App Home.
func (a *Alerter) Firing(ctx context.Context) []string {
	return a.firingLines(a.known(ctx))
}

// firingLines is Firing for st.
func (a *Alerter) firingLines(st State) []string {
	var lines []string
	for _, r := range a.rules {
		s, ok := st.Rules[r.Key]
		if !ok || s.Phase != PhaseFiring {
			continue
		}
		line := fmt.Sprintf("• %d available %s, below %d (since %s)",
			s.Posted.Count, where(r, s.Posted.Team), r.Threshold, s.FiredAt.In(a.set.Location).Format("15:04"))
		if s.Acked {
			line += fmt.Sprintf(" · acknowledged by <@%s>", s.AckedBy)
		}
		lines = append(lines, line)
	}
	return lines
}

// FiringRules reports, for every rule, whether it fires: the alert state
// gauge reads it after each poll.
func (a *Alerter) FiringRules(ctx context.Context) map[string]bool {
	st := a.known(ctx)
	out := make(map[string]bool, len(a.rules))
	for _, r := range a.rules {
		out[r.Key] = st.Rules[r.Key].Phase == PhaseFiring
	}
	return out
}

// known is the latest state this alerter knows, read from the store only
// before the first poll; it never waits for a poll in progress.
func (a *Alerter) known(ctx context.Context) State {
	a.stateMu.Lock()
	st, loaded := a.last, a.loaded
	a.stateMu.Unlock()
	if loaded {
		return st
	}
	var fresh State
	if found, err := a.store.Load(ctx, alertsStateKey, &fresh); err != nil || !found {
		return State{}
	}
	return fresh
}
