package alerts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Reason is what a decision asks the sender to do.
type Reason int

// The reasons. Decide returns Nothing, Pending, Fire, Repeat, Escalate,
// Release, Resolve and Suppressed; DecideData returns Nothing,
// Unavailable, Back and Suppressed.
const (
	// Nothing: no message; the state may still change (a pending alert
	// that recovered is forgotten).
	Nothing Reason = iota
	// Pending: below the warning threshold, but not yet for the For
	// period.
	Pending
	// Fire: post a new alert.
	Fire
	// Repeat: still firing after the Repeat period; post it again.
	Repeat
	// Resolve: back at or above the resolve_at threshold; post a
	// recovery.
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
	// Escalate: a firing alert rose to critical and its message was only
	// edited, which notifies nobody: post a short reply in its thread
	// mentioning the rule's Mention.
	Escalate
	// Release: an alert that fired while its rule was silenced, so has no
	// message, is still firing now that the silence is over: post it, as
	// it stands now, with its buttons.
	Release
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
	Escalate:    "escalate",
	Release:     "release",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// parseReason is String's inverse; Nothing for anything else.
func parseReason(s string) Reason {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i)
		}
	}
	return Nothing
}

// Posts reports whether r makes the sender post a new message.
func (r Reason) Posts() bool {
	switch r {
	case Fire, Repeat, Resolve, Unavailable, Back, Escalate, Release:
		return true
	}
	return false
}

// Actions is what one decision asks the sender to do.
type Actions struct {
	// Reason is the post to make (see Reason.Posts), or why none is.
	Reason Reason
	// Mention: the post pings the rule's Mention. Escalate always does;
	// Fire and Repeat do when they are the first post of a rise to
	// critical (the ping is then in the alert itself, not a reply).
	Mention bool
	// Edit: rewrite the episode's message in place, because its level
	// (or whether anyone is logged in) moved. Editing notifies nobody.
	Edit bool
	// Held: an active silence covers the rule. The state is kept exactly
	// as if the post were made, but nothing is posted; the silence notes
	// what it held back. Edits are still made.
	Held bool
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
	// Since is when the count went below the warning threshold, in this
	// episode.
	Since time.Time `json:"since,omitzero"`
	// FiredAt is when the alert was first posted; LastSent when it was
	// last posted (fired or repeated).
	FiredAt  time.Time `json:"fired_at,omitzero"`
	LastSent time.Time `json:"last_sent,omitzero"`

	// Unposted: the alert fired while its rule was silenced and nothing
	// of it has been posted yet; it is (Release) once the silence is over.
	Unposted bool `json:"unposted,omitempty"`

	// Level is the firing alert's level now; "" (a state saved before
	// levels) is warning.
	Level Level `json:"level,omitempty"`
	// Empty: nobody in the rule's scope is logged in, a state of its own
	// rather than "0 available".
	Empty bool `json:"empty,omitempty"`
	// Mentioned: the rule's Mention was pinged for the alert's current
	// stay at critical (cleared when it leaves critical, so each rise is
	// pinged once).
	Mentioned bool `json:"mentioned,omitempty"`
	// MentionedAt is when Mention was last pinged in this episode. A
	// count that flaps around the critical threshold would otherwise ping
	// on every rise: a rise pings again only once Repeat has passed since
	// (never again in the episode when the rule does not repeat).
	MentionedAt time.Time `json:"mentioned_at,omitzero"`

	// Acked is set when a supervisor acknowledged the alert: no repeats
	// until it resolves.
	Acked   bool      `json:"acked,omitempty"`
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`

	// SnoozedUntil: a supervisor snoozed the alert; before then it is not
	// repeated and nobody is pinged (edits and the recovery still go).
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	SnoozedBy    string    `json:"snoozed_by,omitempty"`

	// Posted is the last alert message, kept so it can be updated on
	// acknowledgement, level moves, recovery or close. The sender sets
	// it; Decide reads only its TS and what it shows.
	Posted Posted `json:"posted,omitzero"`
}

// level is Level with its default.
func (s AlertState) level() Level {
	if s.Level == "" {
		return LevelWarning
	}
	return s.Level
}

// snoozed reports whether the alert is snoozed at now.
func (s AlertState) snoozed(now time.Time) bool { return now.Before(s.SnoozedUntil) }

// Posted is what an alert message said and where it is.
type Posted struct {
	Channel string   `json:"channel,omitempty"`
	TS      string   `json:"ts,omitempty"`
	Count   int      `json:"count,omitempty"`
	Team    string   `json:"team,omitempty"`  // the scope's display name
	Names   []string `json:"names,omitempty"` // who was available, capped
	// Level is the level the message shows ("" is warning); Empty whether
	// it says nobody is logged in.
	Level Level `json:"level,omitempty"`
	Empty bool  `json:"empty,omitempty"`
}

// level is Level with its default.
func (p Posted) level() Level {
	if p.Level == "" {
		return LevelWarning
	}
	return p.Level
}

// Observation is one poll's reading for one rule.
type Observation struct {
	// Available is how many agents in the rule's scope are available.
	Available int
	// LoggedIn is how many are not offline; negative when not known
	// (then it is never read as "nobody logged in").
	LoggedIn int
	// Failed reports that the poll got no data: the counts mean nothing
	// then, and in particular not "0 available".
	Failed bool
	// Silenced reports that an active silence covers the rule.
	Silenced bool
}

// empty reports whether nobody in scope is logged in.
func (o Observation) empty() bool { return o.Available == 0 && o.LoggedIn == 0 }

func active(f func(time.Time) bool, now time.Time) bool { return f == nil || f(now) }

// Decide is the availability rule's whole logic, as a pure function: from
// the previous state, this poll's observation, the rule and the time,
// what to send and the state to keep once it is sent. Like Alertmanager's
// dedup stage, it never repeats inside the Repeat period, and a missing
// observation changes nothing.
//
//   - Levels: below Warning is warning, below Critical critical. For
//     counts from the first poll below Warning.
//   - Hysteresis: once firing, it resolves only at ResolveAt or more; in
//     between it stays firing at warning.
//   - A level move (or nobody logged in any more, or again) edits the
//     episode's message in place; the first poll of a rise to critical
//     with a Mention pings it once: in the post itself when one is due,
//     else in a reply (Escalate).
//   - Acknowledged: no repeats. Snoozed: no repeats and no pings until it
//     ends (a ping owed is made then). Edits and the recovery still go.
//   - Silenced: everything is decided as usual, and Held marks the post
//     to hold back. An alert that fired under a silence and still fires
//     once it is over is posted then (Release), at its level now,
//     pinging at critical: else no message would carry its buttons.
//   - Nobody logged in in scope counts as 0 available (critical when the
//     rule has a critical level), worded as its own state. Outside active
//     hours nothing fires and a firing alert closes quietly (Suppressed).
func Decide(prev AlertState, obs Observation, r AvailabilityRule, now time.Time) (Actions, AlertState) {
	if obs.Failed {
		// No data is not zero agents: neither fire nor resolve nor repeat.
		return Actions{}, prev
	}
	firing := prev.Phase == PhaseFiring
	lv := r.level(obs.Available)
	switch {
	case firing && obs.Available >= r.resolveAt():
		return Actions{Reason: Resolve, Held: obs.Silenced}, AlertState{}
	case !firing && lv == "":
		// A pending alert that recovers in time never fired: forget it.
		return Actions{}, AlertState{}
	case !active(r.Active, now):
		// A closed contact center is not an incident: the For period does
		// not run, and a firing alert ends without a word.
		if firing {
			return Actions{Reason: Suppressed}, AlertState{}
		}
		return Actions{}, AlertState{}
	case firing:
		return decideFiring(prev, obs, r, cmp.Or(lv, LevelWarning), now)
	}
	since := now
	if prev.Phase == PhasePending {
		since = prev.Since
	}
	if now.Sub(since) < r.For {
		return Actions{Reason: Pending}, AlertState{Phase: PhasePending, Since: since}
	}
	next := AlertState{Phase: PhaseFiring, Since: since, FiredAt: now, LastSent: now, Level: lv, Empty: obs.empty(),
		Unposted: obs.Silenced}
	act := Actions{Reason: Fire, Held: obs.Silenced}
	if lv == LevelCritical && len(r.Mention) > 0 {
		act.Mention, next.Mentioned, next.MentionedAt = true, true, now
	}
	return act, next
}

// mayPingAgain reports whether a rise to critical may ping again: the
// episode has not pinged yet, or the rule repeats and a Repeat period has
// passed since the last ping.
func mayPingAgain(prev AlertState, r AvailabilityRule, now time.Time) bool {
	return prev.MentionedAt.IsZero() || (r.Repeat > 0 && now.Sub(prev.MentionedAt) >= r.Repeat)
}

// decideFiring is Decide for a firing alert that stays firing at lv.
func decideFiring(prev AlertState, obs Observation, r AvailabilityRule, lv Level, now time.Time) (Actions, AlertState) {
	next := prev
	next.Level, next.Empty = lv, obs.empty()
	if lv != LevelCritical {
		next.Mentioned = false
	}
	snoozed := prev.snoozed(now)
	var act Actions
	if prev.Unposted && !obs.Silenced {
		// Its Fire was held back and its silence is over: post it now, in
		// place of any repeat, pinging as a Fire at this level would.
		next.Unposted, next.LastSent = false, now
		act.Reason = Release
		if lv == LevelCritical && len(r.Mention) > 0 && !snoozed {
			act.Mention, next.Mentioned, next.MentionedAt = true, true, now
		}
		return act, next
	}
	if !prev.Acked && !snoozed && r.Repeat > 0 && now.Sub(prev.LastSent) >= r.Repeat {
		act.Reason = Repeat
		next.LastSent = now
	}
	if lv == LevelCritical && len(r.Mention) > 0 && !next.Mentioned && !snoozed && mayPingAgain(prev, r, now) {
		act.Mention, next.Mentioned, next.MentionedAt = true, true, now
		if act.Reason == Nothing {
			act.Reason = Escalate
		}
	}
	act.Held = obs.Silenced && act.Reason.Posts()
	// A repeat that is posted shows the level itself; otherwise the
	// episode's message is brought up to date, even under a silence.
	reposted := act.Reason == Repeat && !act.Held
	if !reposted && prev.Posted.TS != "" && (prev.Posted.level() != lv || prev.Posted.Empty != next.Empty) {
		act.Edit = true
	}
	return act, next
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
// for rule key, for reason; want is the rule's state as that poll decided
// it. The marker goes, if it is still the poll's. A new alert (Fire,
// Repeat, Release) that was posted records its message while the rule is still in
// the state decided. A post not made undoes the decision (keeping any
// acknowledgement or snooze since) while the marker is the poll's; once
// another poll has taken the marker over it assumed the post made and
// decided from that, so it is too late to undo: settleRule then reports
// the post missed. It changes st's maps by copying them, never in place.
func settleRule(st *State, key, id string, reason Reason, res postResult, want AlertState) (missed bool) {
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
	case res.ts != "" && (reason == Fire || reason == Repeat || reason == Release) && has && cur.Phase == PhaseFiring && cur.Posted.TS == "" &&
		cur.FiredAt.Equal(want.FiredAt) && cur.LastSent.Equal(want.LastSent):
		cur.Posted.TS = res.ts
		st.Rules = withRule(st.Rules, key, cur)
	}
	return false
}

// settleEdit records in st that the message at ts now shows p (its level,
// count and names), while the rule still fires with that message: the
// next poll then has no edit left to make. An edit that failed records
// nothing, so the next poll edits again (an edit is safe to repeat).
func settleEdit(st *State, key, ts string, p Posted) {
	cur, ok := st.Rules[key]
	if !ok || cur.Phase != PhaseFiring || cur.Posted.TS != ts {
		return
	}
	p.Channel, p.TS = cur.Posted.Channel, cur.Posted.TS
	cur.Posted = p
	st.Rules = withRule(st.Rules, key, cur)
}

// unsettleEdit puts a message's content back to what it was (was) when
// the edit to shown, saved with the decision, could not be made: the next
// poll then sees the message behind the alert's level, and edits it
// again. Content changed since (another edit, a click) is left alone.
func unsettleEdit(st *State, key string, was, shown Posted) {
	cur, ok := st.Rules[key]
	if !ok || cur.Phase != PhaseFiring || cur.Posted.TS != was.TS || !samePosted(cur.Posted, shown) {
		return
	}
	cur.Posted = was
	st.Rules = withRule(st.Rules, key, cur)
}

// samePosted reports whether two messages' recorded contents are equal.
func samePosted(x, y Posted) bool {
	return x.Channel == y.Channel && x.TS == y.TS && x.Count == y.Count && x.Team == y.Team &&
		x.Level == y.Level && x.Empty == y.Empty && slices.Equal(x.Names, y.Names)
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
// with any acknowledgement or snooze of the same episode saved since: a
// click is never undone.
func restore(prev, cur AlertState) AlertState {
	if prev.Phase != PhaseFiring || !cur.FiredAt.Equal(prev.FiredAt) {
		return prev
	}
	if cur.Acked && !prev.Acked {
		prev.Acked, prev.AckedBy, prev.AckedAt = true, cur.AckedBy, cur.AckedAt
	}
	if cur.SnoozedUntil.After(prev.SnoozedUntil) {
		prev.SnoozedUntil, prev.SnoozedBy = cur.SnoozedUntil, cur.SnoozedBy
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
