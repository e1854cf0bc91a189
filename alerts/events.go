package alerts

import (
	"cmp"
	"context"
	"time"
)

// Event is something that happened to an availability alert, for the
// history the daily report reads (Settings.OnEvent).
type Event struct {
	At    time.Time // the poll's tick, or the click's time
	Rule  string    // the rule's name
	Teams []string  // the rule's teams; none for all agents
	Kind  string    // EventFired, EventLevel, EventAcked or EventResolved
	Level string    // the alert's level at the event: "warning" or "critical"
}

// The kinds of Event.
const (
	EventFired    = "fired"    // posted, or held back by a silence
	EventLevel    = "level"    // a firing alert moved to another level
	EventAcked    = "acked"    // a supervisor acknowledged it
	EventResolved = "resolved" // it recovered, or closed outside active hours
)

// events reports what a poll's intents did to OnEvent, once each: an
// intent whose post failed is decided again by a later poll, which then
// reports it.
func (a *Alerter) events(ctx context.Context, todo []intent, results []sendResult, now time.Time) {
	if a.set.OnEvent == nil {
		return
	}
	for i, in := range todo {
		if in.key == dataRef || results[i].post.failed {
			continue
		}
		before, after := in.before, in.after
		switch {
		case in.act.Reason == Fire:
			a.event(ctx, in.rule, EventFired, after.Level, now)
		case in.act.Reason == Resolve, in.act.Reason == Suppressed && before.Phase == PhaseFiring:
			a.event(ctx, in.rule, EventResolved, before.Level, now)
		case before.Phase == PhaseFiring && after.Phase == PhaseFiring && levelOf(before.Level) != levelOf(after.Level):
			a.event(ctx, in.rule, EventLevel, after.Level, now)
		}
	}
}

// event calls OnEvent, if any.
func (a *Alerter) event(ctx context.Context, r AvailabilityRule, kind string, lv Level, at time.Time) {
	if a.set.OnEvent != nil {
		a.set.OnEvent(ctx, Event{At: at, Rule: r.Name, Teams: r.Teams, Kind: kind, Level: string(levelOf(lv))})
	}
}

// levelOf reads "" (a state saved before levels) as warning.
func levelOf(lv Level) Level { return cmp.Or(lv, LevelWarning) }
