package alerts

import (
	"context"
	"fmt"
)

// Firing describes each alert firing now, one mrkdwn line each, for the
// supervisors' App Home: its level in words, its rule's name, and the
// count its message shows.
func (a *Alerter) Firing(ctx context.Context) []string {
	return a.firingLines(a.known(ctx))
}

// firingLines is Firing for st.
func (a *Alerter) firingLines(st State) []string {
	var lines []string
	for _, r := range a.rules {
		s, ok := st.Rules[r.Key()]
		if !ok || s.Phase != PhaseFiring {
			continue
		}
		p := s.Posted
		lv := s.level()
		what := fmt.Sprintf("%d available %s, below %d", p.Count, where(r, p.Team), r.threshold(lv))
		if s.Empty {
			what = "no agents logged in: " + scope(r, p.Team)
		}
		line := fmt.Sprintf("• %s · %s (since %s) · rule %s", levelWord(lv), what,
			s.FiredAt.In(a.set.Location).Format("15:04"), ruleName(r))
		switch {
		case s.Acked:
			line += fmt.Sprintf(" · acknowledged by <@%s>", s.AckedBy)
		case s.SnoozedUntil.After(st.Tick):
			line += fmt.Sprintf(" · snoozed until %s by <@%s>", s.SnoozedUntil.In(a.set.Location).Format("15:04"), s.SnoozedBy)
		}
		lines = append(lines, line)
	}
	return lines
}

// FiringRules reports, for every rule by its name, whether it fires: the
// alert state gauge (presence_bot_alert_firing{rule}) reads it after each
// poll.
func (a *Alerter) FiringRules(ctx context.Context) map[string]bool {
	st := a.known(ctx)
	out := make(map[string]bool, len(a.rules))
	for _, r := range a.rules {
		out[r.Name] = st.Rules[r.Key()].Phase == PhaseFiring
	}
	return out
}

// FiringLevels reports, for every firing rule by its name, its level
// (for a level label on the gauge).
func (a *Alerter) FiringLevels(ctx context.Context) map[string]Level {
	st := a.known(ctx)
	out := make(map[string]Level)
	for _, r := range a.rules {
		if s := st.Rules[r.Key()]; s.Phase == PhaseFiring {
			out[r.Name] = s.level()
		}
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
