// Package nudge runs the time-in-status rules (status_longer_than): an
// agent who has sat in a status longer than a rule allows is first nudged
// by a DM of their own, with buttons to move on or take five more
// minutes, and only if they are still there some minutes later is the
// rule's channel told, with the same buttons for supervisors.
//
// The decision is a pure function (Decide) of one agent's episode, this
// poll's observation, the rule and the time. The Nudger runs it over the
// roster snapshot every poll, and keeps the episodes the way the
// availability alerter keeps its alerts: in one state key, written with a
// compare-and-set on a revision, the decision saved (with a marker per
// post) before anything is posted, so that replicas polling the same tick
// send each DM and escalation once, and a post that failed is tried again
// at the next poll.
package nudge

import (
	"slices"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Rule is one status_longer_than rule.
type Rule struct {
	// Name is unique among the rules; messages and silences show it.
	Name string
	// Teams are the team IDs the rule watches; empty is every agent.
	Teams []string
	// Status is the status watched; After is how long an agent may stay
	// in it before they are nudged.
	Status presence.Status
	After  time.Duration
	// EscalateAfter is how long after the nudge an agent still in Status
	// is named in Channel.
	EscalateAfter time.Duration
	// Active reports whether the rule runs at a time (active hours); nil
	// is always.
	Active func(time.Time) bool
	// Channel is where escalations go.
	Channel string
	// Mention are Slack user IDs (U…, W…) or one user group (S…) pinged
	// in the escalation.
	Mention []string
}

// covers reports whether the rule watches agents of team.
func (r Rule) covers(team string) bool {
	return len(r.Teams) == 0 || slices.Contains(r.Teams, team)
}

func (r Rule) active(now time.Time) bool { return r.Active == nil || r.Active(now) }

// watches reports whether a is a candidate of the rule at now: in its
// status, in its teams, for at least After. An agent without a
// status_since (the zero time) cannot be timed, so is none.
func (r Rule) watches(a presence.Agent, now time.Time) bool {
	return a.Status == r.Status && !a.StatusSince.IsZero() && now.Sub(a.StatusSince) >= r.After && r.covers(a.TeamID())
}

// MoreTime is what the [5 more minutes] button gives.
const MoreTime = 5 * time.Minute

// MaxMoreTime is how many times per episode [5 more minutes] may move
// the escalation: twice (ten minutes more at most, as clicked), then the
// supervisors are told.
const MaxMoreTime = 2
