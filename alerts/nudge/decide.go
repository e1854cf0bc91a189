package nudge

import (
	"strings"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Action is what a decision asks the sender to do; several may come
// together (an episode ends and the next begins in one poll).
type Action uint8

// The actions.
const (
	// Nudge: DM the agent (once per episode; later news edits it).
	Nudge Action = 1 << iota
	// Escalate: post to the rule's channel naming the agent (once per
	// episode).
	Escalate
	// Close: the episode ended because the agent moved on (or a new
	// stretch in the status began): edit its messages to say so, without
	// buttons.
	Close
	// Expire: the episode ended quietly, outside active hours: its
	// messages lose their buttons, and nothing is posted.
	Expire
)

var actionNames = []string{"nudge", "escalate", "close", "expire"}

func (a Action) String() string {
	if a == 0 {
		return "nothing"
	}
	var parts []string
	for i, name := range actionNames {
		if a&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, "+")
}

// Has reports whether a includes every action of b.
func (a Action) Has(b Action) bool { return a&b == b }

// Episode is one agent's stretch in a rule's status, from the poll that
// saw it pass the rule's After. It is stored as JSON, so a restart
// neither forgets a DM nor sends it again.
type Episode struct {
	// Status and Since are the agent's status and status_since: they name
	// the episode. A changed Since is a new stretch, so a new episode.
	Status presence.Status `json:"status"`
	Since  time.Time       `json:"since"`
	// Started is the poll that saw it pass After.
	Started time.Time `json:"started"`
	// Name is the agent's name as the API gave it (escaped when shown);
	// Team the team ID; User the agent's Slack user when mapped ("" when
	// not, and then nobody is nudged).
	Name string `json:"name,omitempty"`
	Team string `json:"team,omitempty"`
	User string `json:"user,omitempty"`

	// NudgedAt is when the DM was decided; EscalateAt when the channel is
	// told if the agent is still there; EscalatedAt when it was.
	NudgedAt    time.Time `json:"nudged_at,omitzero"`
	EscalateAt  time.Time `json:"escalate_at,omitzero"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	// MoreUntil and MoreBy are the last [5 more minutes]: until when, and
	// the Slack user who asked.
	MoreUntil time.Time `json:"more_until,omitzero"`
	MoreBy    string    `json:"more_by,omitempty"`
	// MoreTimes counts the clicks that moved the escalation (at most
	// MaxMoreTime).
	MoreTimes int `json:"more_times,omitempty"`

	// DM and Escalation are where the messages went, for edits.
	DM         Posted `json:"dm,omitzero"`
	Escalation Posted `json:"escalation,omitzero"`

	// Closed marks an episode that ended outside active hours while the
	// agent stayed: it is kept, doing nothing, until the agent moves on,
	// so the same stretch is never nudged twice.
	Closed bool `json:"closed,omitempty"`
}

// Posted is where a message went. Held marks one a silence held back:
// decided and recorded as sent, never posted.
type Posted struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	Held    bool   `json:"held,omitempty"`
}

// open reports whether ep is an episode at all.
func (ep Episode) open() bool { return !ep.Since.IsZero() }

// Observation is one poll's reading of one agent for one rule.
type Observation struct {
	// Present is false when the agent is not in the roster (or no longer
	// in the rule's teams): whatever the episode was, it is over.
	Present bool
	Status  presence.Status
	Since   time.Time
	Name    string
	Team    string
	// User is the agent's Slack user; "" when unmapped.
	User string
	// Silenced reports that a silence covers the rule or the agent's
	// team now: what is decided is recorded as sent, and nothing is.
	Silenced bool
}

// Decide is a time-in-status rule's whole logic for one agent, as a pure
// function: from the agent's episode (zero when none), this poll's
// observation, the rule and the time, what to send and the episode to
// keep once it is sent (zero when none).
func Decide(prev Episode, obs Observation, r Rule, now time.Time) (Action, Episode) {
	in := obs.Present && obs.Status == r.Status
	if in && obs.Since.IsZero() {
		// No status_since (the API left it out): the stretch cannot be
		// timed. Nothing starts, and an open episode waits as it is: the
		// agent has not moved on.
		return 0, prev
	}
	var act Action
	if prev.open() && (!in || !obs.Since.Equal(prev.Since)) {
		// Moved on, or a new stretch in the status began. A closed
		// episode had its messages edited when it closed.
		if !prev.Closed {
			act |= Close
		}
		prev = Episode{}
	}
	switch {
	case !r.active(now):
		// A closed floor is not an incident: nothing starts, and what is
		// open ends without a post.
		if prev.open() && !prev.Closed {
			prev.Closed = true
			act |= Expire
		}
		return act, prev
	case prev.Closed:
		return act, prev
	case !prev.open() && (!in || now.Sub(obs.Since) < r.After):
		return act, Episode{}
	}

	ep := prev
	if !ep.open() {
		ep = Episode{Status: r.Status, Since: obs.Since, Started: now}
	}
	ep.Name, ep.Team = obs.Name, obs.Team
	if ep.NudgedAt.IsZero() && ep.EscalatedAt.IsZero() {
		ep.User = obs.User
	}
	if !ep.EscalatedAt.IsZero() {
		return act, ep // one escalation per episode, ever
	}
	if ep.NudgedAt.IsZero() && ep.User != "" && (ep.Started.Equal(now) || now.Sub(ep.Started) < r.EscalateAfter) {
		// The nudge, or its retry while a DM fails: a DM that has not
		// gone out for EscalateAfter gives way to the escalation below.
		ep.NudgedAt, ep.EscalateAt = now, now.Add(r.EscalateAfter)
		ep.DM = Posted{Held: obs.Silenced}
		act |= Nudge
	}
	if ep.NudgedAt.IsZero() || !now.Before(ep.EscalateAt) {
		// Unmapped (or undeliverable): straight to the channel.
		ep.EscalatedAt = now
		ep.Escalation = Posted{Held: obs.Silenced}
		act |= Escalate
	}
	return act, ep
}

// GiveMoreTime is the [5 more minutes] click at now by a Slack user.
// The escalation moves to MoreTime from now, unless it is later already,
// at most MaxMoreTime times per episode: a further click is refused (ok
// false, ep unchanged), so nobody postpones the escalation for ever.
// After the escalation there is nothing to move, and the click is only
// noted for the messages.
func GiveMoreTime(ep Episode, by string, now time.Time) (next Episode, ok bool) {
	until := now.Add(MoreTime)
	if ep.EscalatedAt.IsZero() {
		if ep.MoreTimes >= MaxMoreTime {
			return ep, false
		}
		ep.MoreTimes++
		if ep.EscalateAt.After(until) {
			until = ep.EscalateAt
		}
		ep.EscalateAt = until
	}
	ep.MoreUntil, ep.MoreBy = until, by
	return ep, true
}
