package alerts

import (
	"context"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
)

// Level is how bad a firing availability alert is, in the words its
// messages use.
type Level string

// The levels. A firing alert is at least at LevelWarning.
const (
	LevelWarning  Level = "warning"
	LevelCritical Level = "critical"
)

// AllRule is the name of the rule ALERT_THRESHOLD configures (all agents).
// Its state is stored under TotalKey, the key it had before rules had
// names, so a running deployment's stored state (and the Acknowledge
// buttons already posted) stay valid across the upgrade.
const AllRule = "all"

// AvailabilityRule is one available_below rule of the rules file (the
// ALERT_* variables are the rules AllRule and "team:<id>").
type AvailabilityRule struct {
	// Name is unique; messages, silences and metrics name the rule by it.
	Name string
	// Teams are the team IDs it counts, summed; empty is all agents.
	Teams []string
	// Warning: the alert fires while fewer than Warning are available (0
	// never fires).
	Warning int
	// Critical: below it the level is critical. 0 is "no critical level"
	// (no count is below 0).
	Critical int
	// ResolveAt: a firing alert resolves only once at least ResolveAt are
	// available. Values below Warning (0, unset) mean Warning.
	ResolveAt int
	// For is how long it stays below Warning before it fires.
	For time.Duration
	// Repeat is how often a firing alert is posted again; 0 never.
	Repeat time.Duration
	// Active reports whether the rule may fire at a time (its active
	// hours); nil is always.
	Active func(time.Time) bool
	// Channel is where it posts; "" is Settings.Channel.
	Channel string
	// Mention are the Slack user IDs (U…, W…) or the one user group
	// (S…) pinged when the alert reaches critical.
	Mention []string
}

// Key is the rule's state key, which its buttons carry: its name, but
// TotalKey for AllRule. No two rules may share one: config refuses the
// names all and total in a rules file, and NewAlerter leaves out a rule
// whose key another has.
func (r AvailabilityRule) Key() string {
	if r.Name == AllRule {
		return TotalKey
	}
	return r.Name
}

// resolveAt is ResolveAt with its default.
func (r AvailabilityRule) resolveAt() int { return max(r.ResolveAt, r.Warning) }

// level is the level of an available count: "" at or above Warning.
func (r AvailabilityRule) level(available int) Level {
	switch {
	case available < r.Critical:
		return LevelCritical
	case available < r.Warning:
		return LevelWarning
	}
	return ""
}

// threshold is the count below which level lv begins.
func (r AvailabilityRule) threshold(lv Level) int {
	if lv == LevelCritical {
		return r.Critical
	}
	return r.Warning
}

// mentions renders Mention for Slack: <@U…> for a user, <!subteam^S…>
// for a user group, as Slack's "Formatting text for app surfaces" says
// (https://docs.slack.dev/messaging/formatting-message-text/, "Mentioning
// users" and "Mentioning groups"). IDs are escaped, so a malformed one
// shows as text and pings nobody.
func (r AvailabilityRule) mentions() string {
	out := make([]string, 0, len(r.Mention))
	for _, id := range r.Mention {
		id = message.Escape(strings.TrimSpace(id))
		switch {
		case id == "":
			continue
		case strings.HasPrefix(id, "S"):
			out = append(out, "<!subteam^"+id+">")
		default:
			out = append(out, "<@"+id+">")
		}
	}
	return strings.Join(out, " ")
}

// Silences is what the alerter needs of the supervisors' silences
// (silence.Store implements it): read once per poll, note what a silence
// held back, and take the silences whose end is to be announced.
type Silences interface {
	Active(ctx context.Context, now time.Time) ([]silence.Silence, error)
	NoteSuppressed(ctx context.Context, id, note string, at time.Time) error
	TakeEnded(ctx context.Context, now time.Time) ([]silence.Silence, error)
}
