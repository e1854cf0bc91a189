package alerts

import (
	"fmt"
	"maps"
	"time"
)

// Reason is what a decision asks the sender to do.
type Reason int

// The reasons. Decide returns Nothing, Pending, Fire, Repeat, Resolve and
// Suppressed; DecideData returns Nothing, Unavailable, Back and Suppressed.
const (
	// Nothing: no message; the state may still change (a pending alert
	// that recovered is forgotten).
	Nothing Reason = iota
	// Pending: below the threshold, but not yet for the For period.
	Pending
	// Fire: post a new alert.
	Fire
	// Repeat: still firing after the Repeat period; post it again.
	Repeat
	// Resolve: back at or above the threshold; post a recovery.
	Resolve
	// Suppressed: it would fire (or is firing, or the data is down), but
	// outside active hours: post nothing, and close a firing alert
	// quietly (its message is updated, no new post).
	Suppressed
	// Unavailable: the data has been missing for UnavailableAfter polls in
	// a row; post the one "presence data unavailable" notice.
	Unavailable
	// Back: data arrives again after the unavailable notice; post the one
	// "back" notice.
	Back
)

var reasonNames = [...]string{
	Nothing:     "nothing",
	Pending:     "pending",
	Fire:        "fire",
	Repeat:      "repeat",
	Resolve:     "resolve",
	Suppressed:  "suppressed",
	Unavailable: "unavailable",
	Back:        "back",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Posts reports whether r makes the sender post a new message.
func (r Reason) Posts() bool {
	switch r {
	case Fire, Repeat, Resolve, Unavailable, Back:
		return true
	}
	return false
}

// Phase is where an alert is in its life.
type Phase string

// The phases, as Prometheus names them.
const (
	PhaseInactive Phase = "" // at or above the threshold, or never seen below
	PhasePending  Phase = "pending"
	PhaseFiring   Phase = "firing"
)

// AlertState is one rule's remembered state. It is stored as JSON, so it
// survives a restart: a restart while firing does not fire again.
type AlertState struct {
	Phase Phase `json:"phase,omitempty"`
	// Since is when the count went below the threshold, in this episode.
	Since time.Time `json:"since,omitzero"`
	// FiredAt is when the alert was first posted; LastSent when it was
	// last posted (fired or repeated).
	FiredAt  time.Time `json:"fired_at,omitzero"`
	LastSent time.Time `json:"last_sent,omitzero"`

	// Acked is set when a supervisor acknowledged the alert: no repeats
	// until it resolves.
	Acked   bool      `json:"acked,omitempty"`
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`

	// Posted is the last alert message, kept so it can be updated on
	// acknowledgement, recovery or close. The sender sets it; Decide only
	// carries it along.
	Posted Posted `json:"posted,omitzero"`
}

// Posted is what an alert message said and where it is.
type Posted struct {
	Channel string   `json:"channel,omitempty"`
	TS      string   `json:"ts,omitempty"`
	Count   int      `json:"count,omitempty"`
	Team    string   `json:"team,omitempty"`  // the team's display name
	Names   []string `json:"names,omitempty"` // who was available, capped
}

// Observation is one poll's reading for one rule.
type Observation struct {
	// Count is how many agents are available.
	Count int
	// Failed reports that the poll got no data: Count means nothing then,
	// and in particular not "0 available".
	Failed bool
}

// Rule is one threshold: the total or one team.
type Rule struct {
	Key       string // TotalKey or TeamKey(team)
	TeamID    string // "" for the total
	Threshold int    // fires while the count is below it
	For       time.Duration
	Repeat    time.Duration // 0: never repeat
	// Active reports whether alerts may fire at a time (active hours);
	// nil is always.
	Active func(time.Time) bool
}

func active(f func(time.Time) bool, now time.Time) bool { return f == nil || f(now) }

// Decide is the alert's whole logic, as a pure function: from the previous
// state, this poll's observation, the rule and the time, what to send and
// the state to keep once it is sent. Like Alertmanager's dedup stage, it
// never repeats inside the Repeat period, and a missing observation
// changes nothing.
func Decide(prev AlertState, obs Observation, r Rule, now time.Time) (Reason, AlertState) {
	if obs.Failed {
		// No data is not zero agents: neither fire nor resolve nor repeat.
		return Nothing, prev
	}
	below := obs.Count < r.Threshold
	switch {
	case !below && prev.Phase == PhaseFiring:
		return Resolve, AlertState{}
	case !below:
		// A pending alert that recovers in time never fired: forget it.
		return Nothing, AlertState{}
	case !active(r.Active, now):
		// A closed contact center is not an incident: the For period does
		// not run, and a firing alert ends without a word.
		return Suppressed, AlertState{}
	case prev.Phase == PhaseFiring:
		if prev.Acked || r.Repeat <= 0 || now.Sub(prev.LastSent) < r.Repeat {
			return Nothing, prev
		}
		next := prev
		next.LastSent = now
		return Repeat, next
	}
	since := now
	if prev.Phase == PhasePending {
		since = prev.Since
	}
	if now.Sub(since) < r.For {
		return Pending, AlertState{Phase: PhasePending, Since: since}
	}
	return Fire, AlertState{Phase: PhaseFiring, Since: since, FiredAt: now, LastSent: now}
}

// DataState remembers failed polls, for the "presence data unavailable"
// notice.
type DataState struct {
	// Failures counts failed polls in a row; Since is when the first of
	// them ran.
	Failures int       `json:"failures,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	// Notified is set once the unavailable notice is posted, so it is
	// posted once and the back notice follows.
	Notified bool `json:"notified,omitempty"`
}

// DataRule configures the unavailable notice.
type DataRule struct {
	// After is how many failed polls in a row make data unavailable
	// (values below 1 mean 1).
	After  int
	Active func(time.Time) bool
}

// DecideData is the unavailable notice's logic, as a pure function. It is
// one notice for the whole poll, not one per rule: a poll either gets its
// data or fails.
func DecideData(prev DataState, failed bool, r DataRule, now time.Time) (Reason, DataState) {
	if !failed {
		if prev.Notified {
			return Back, DataState{}
		}
		return Nothing, DataState{}
	}
	next := prev
	next.Failures++
	if next.Failures == 1 {
		next.Since = now
	}
	switch {
	case prev.Notified || next.Failures < max(r.After, 1):
		return Nothing, next
	case !active(r.Active, now):
		return Suppressed, next
	}
	next.Notified = true
	return Unavailable, next
}

// Posting marks a post that a poll decided and saved, with the decision,
// before making it. A later poll that finds it knows the post was decided,
// not whether it was made; see Alerter.Poll for what it then assumes.
type Posting struct {
	// ID names the poll that decided it, so that poll knows its own.
	ID     string `json:"id"`
	Reason string `json:"reason"`
	// At is the tick it was decided at.
	At time.Time `json:"at"`
	// Prev is the rule's state before the decision (PrevData the data
	// notice's): what the state goes back to when the post fails.
	Prev     AlertState `json:"prev,omitzero"`
	PrevData DataState  `json:"prev_data,omitzero"`
}

// postResult is what became of a decided post.
type postResult struct {
	ts     string // the message posted, when known
	failed bool   // nothing was posted
}

// settleRule records in st what became of the post that poll id decided
// for rule key; want is the rule's state as that poll decided it. The
// marker goes, if it is still the poll's. A post made records its message
// while the rule is still in the state decided. A post not made undoes
// the decision (keeping any acknowledgement since) while the marker is the
// poll's; once another poll has taken the marker over it assumed the post
// made and decided from that, so it is too late to undo: settleRule then
// reports the post missed. It changes st's maps by copying them, never in
// place.
func settleRule(st *State, key, id string, res postResult, want AlertState) (missed bool) {
	p, ok := st.Posting[key]
	mine := ok && p.ID == id
	if mine {
		st.Posting = maps.Clone(st.Posting)
		delete(st.Posting, key)
	}
	cur, has := st.Rules[key]
	switch {
	case res.failed && mine:
		st.Rules = withRule(st.Rules, key, restore(p.Prev, cur))
	case res.failed:
		return true
	case res.ts != "" && has && cur.Phase == PhaseFiring && cur.Posted.TS == "" &&
		cur.FiredAt.Equal(want.FiredAt) && cur.LastSent.Equal(want.LastSent):
		cur.Posted.TS = res.ts
		st.Rules = withRule(st.Rules, key, cur)
	}
	return false
}

// settleData is settleRule for the data notice.
func settleData(st *State, id string, res postResult) (missed bool) {
	p := st.DataPosting
	mine := p != nil && p.ID == id
	if mine {
		st.DataPosting = nil
	}
	switch {
	case res.failed && mine:
		st.Data = p.PrevData
	case res.failed:
		return true
	}
	return false
}

// restore is prev, a rule's state before a decision whose post failed,
// with any acknowledgement of the same episode saved since: a click is
// never undone.
func restore(prev, cur AlertState) AlertState {
	if cur.Acked && !prev.Acked && prev.Phase == PhaseFiring && cur.FiredAt.Equal(prev.FiredAt) {
		prev.Acked, prev.AckedBy, prev.AckedAt = true, cur.AckedBy, cur.AckedAt
	}
	return prev
}

// withRule is rules with key set to st, or without key when st is
// inactive, in a new map.
func withRule(rules map[string]AlertState, key string, st AlertState) map[string]AlertState {
	out := make(map[string]AlertState, len(rules)+1)
	maps.Copy(out, rules)
	if st.Phase == PhaseInactive {
		delete(out, key)
	} else {
		out[key] = st
	}
	return out
}
