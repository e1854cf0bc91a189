package alerts

import (
	"reflect"
	"testing"
	"time"
)

// monday10 is a Monday at 10:00 UTC, inside the test's active hours.
var monday10 = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return monday10.Add(d) }

// officeHours is active 08:00-20:00 UTC.
func officeHours(t time.Time) bool { h := t.UTC().Hour(); return h >= 8 && h < 20 }

// obs is an observation of n available, and one more agent logged in
// (busy): never "nobody logged in".
func obs(n int) Observation { return Observation{Available: n, LoggedIn: n + 1} }

// firingAt is a firing state at level lv, posted at 10:00 (message 1.1)
// and showing that level.
func firingAt(lv Level) AlertState {
	return AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: lv,
		Posted: Posted{Channel: "C1", TS: "1.1", Count: 1, Level: lv}}
}

func TestDecide(t *testing.T) {
	rule := AvailabilityRule{Name: AllRule, Warning: 3, Repeat: 30 * time.Minute}
	pending := rule
	pending.For = 5 * time.Minute
	noRepeat := rule
	noRepeat.Repeat = 0
	hours := rule
	hours.Active = officeHours
	zero := rule
	zero.Warning = 0

	firing := firingAt(LevelWarning)
	acked := firing
	acked.Acked, acked.AckedBy, acked.AckedAt = true, "U1", at(time.Minute)
	night := time.Date(2025, 3, 3, 23, 0, 0, 0, time.UTC)
	fired := func(d time.Duration, lv Level) AlertState {
		return AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(d), LastSent: at(d), Level: lv}
	}
	with := func(s AlertState, f func(*AlertState)) AlertState { f(&s); return s }

	tests := []struct {
		name string
		prev AlertState
		obs  Observation
		rule AvailabilityRule
		now  time.Time
		want Actions
		next AlertState
	}{
		// At the threshold is not below it.
		{"at threshold stays quiet", AlertState{}, obs(3), rule, at(0), Actions{}, AlertState{}},
		// Below with no For period fires on the first poll, at warning.
		{"below fires at once", AlertState{}, obs(2), rule, at(0), Actions{Reason: Fire}, fired(0, LevelWarning)},
		// With For, the first poll below only starts the clock.
		{"below with For is pending", AlertState{}, obs(2), pending, at(0), Actions{Reason: Pending},
			AlertState{Phase: PhasePending, Since: at(0)}},
		// Still pending one second short of For; Since is kept.
		{"pending short of For", AlertState{Phase: PhasePending, Since: at(0)}, obs(2), pending, at(5*time.Minute - time.Second),
			Actions{Reason: Pending}, AlertState{Phase: PhasePending, Since: at(0)}},
		// Fires once below for the whole For period, dated from when it went below.
		{"pending fires after For", AlertState{Phase: PhasePending, Since: at(0)}, obs(2), pending, at(5 * time.Minute),
			Actions{Reason: Fire}, fired(5*time.Minute, LevelWarning)},
		// A pending alert that recovers in time never fires and is forgotten.
		{"pending recovers", AlertState{Phase: PhasePending, Since: at(0)}, obs(3), pending, at(time.Minute), Actions{}, AlertState{}},
		// Firing, inside the repeat period: nothing, state untouched.
		{"no repeat inside Repeat", firing, obs(1), rule, at(30*time.Minute - time.Second), Actions{}, firing},
		// Firing, the repeat period is over: repeat, keeping the episode's start.
		{"repeat after Repeat", firing, obs(1), rule, at(30 * time.Minute), Actions{Reason: Repeat},
			with(firing, func(s *AlertState) { s.LastSent = at(30 * time.Minute) })},
		// Repeat 0 means never repeat.
		{"Repeat 0 never repeats", firing, obs(1), noRepeat, at(24 * time.Hour), Actions{}, firing},
		// Recovery resolves and forgets the episode.
		{"firing recovers", firing, obs(3), rule, at(time.Hour), Actions{Reason: Resolve}, AlertState{}},
		// An acknowledged alert does not repeat.
		{"acked does not repeat", acked, obs(0), rule, at(2 * time.Hour), Actions{}, acked},
		// An acknowledged alert still resolves.
		{"acked resolves", acked, obs(5), rule, at(2 * time.Hour), Actions{Reason: Resolve}, AlertState{}},
		// A new episode after a recovery fires afresh, not acknowledged.
		{"fires again after resolve", AlertState{}, obs(1), rule, at(3 * time.Hour), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(3 * time.Hour), FiredAt: at(3 * time.Hour), LastSent: at(3 * time.Hour), Level: LevelWarning}},
		// No data is not "0 available": a failed poll changes nothing.
		{"failed poll does not fire", AlertState{}, Observation{Failed: true}, rule, at(0), Actions{}, AlertState{}},
		// Nor does it resolve, repeat or end a firing alert.
		{"failed poll keeps firing state", firing, Observation{Failed: true, Available: 10}, rule, at(time.Hour), Actions{}, firing},
		// Nor advance a pending one.
		{"failed poll keeps pending", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Failed: true}, pending, at(time.Hour),
			Actions{}, AlertState{Phase: PhasePending, Since: at(0)}},
		// Outside active hours, below does not fire.
		{"outside hours quiet", AlertState{}, obs(0), hours, night, Actions{}, AlertState{}},
		// Outside active hours, the For clock does not run.
		{"outside hours forgets pending", AlertState{Phase: PhasePending, Since: at(0)}, obs(0), hours, night, Actions{}, AlertState{}},
		// Outside active hours, a firing alert is closed without a repeat.
		{"outside hours closes firing", firing, obs(0), hours, night, Actions{Reason: Suppressed}, AlertState{}},
		// A recovery outside active hours is still news.
		{"outside hours still resolves", firing, obs(4), hours, night, Actions{Reason: Resolve}, AlertState{}},
		// Inside active hours the same rule fires.
		{"inside hours fires", AlertState{}, obs(0), hours, at(0), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelWarning}},
		// A threshold of 0 can never be undercut.
		{"threshold 0 never fires", AlertState{}, obs(0), zero, at(0), Actions{}, AlertState{}},
		// A state saved before levels ("" level, message showing "") is at
		// warning: no edit after the upgrade.
		{"state from before levels", with(firing, func(s *AlertState) { s.Level, s.Posted.Level = "", "" }), obs(1), rule, at(time.Minute),
			Actions{}, with(firing, func(s *AlertState) { s.Posted.Level = "" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecide(t, tc.prev, tc.obs, tc.rule, tc.now, tc.want, tc.next)
		})
	}
}

func checkDecide(t *testing.T, prev AlertState, o Observation, r AvailabilityRule, now time.Time, want Actions, next AlertState) {
	t.Helper()
	act, got := Decide(prev, o, r, now)
	if act != want {
		t.Errorf("actions: got %+v (%s), want %+v (%s)", act, act.Reason, want, want.Reason)
	}
	if !reflect.DeepEqual(got, next) {
		t.Errorf("state:\ngot  %+v\nwant %+v", got, next)
	}
}

// TestDecideLevels: warning and critical, hysteresis (resolve_at), level
// moves that edit in place, and the one ping per rise to critical.
func TestDecideLevels(t *testing.T) {
	rule := AvailabilityRule{Name: "sales-floor", Teams: []string{"sales_team"}, Warning: 4, Critical: 2, ResolveAt: 6,
		Repeat: 30 * time.Minute, Mention: []string{"U0SUPER"}}
	quiet := rule
	quiet.Mention = nil
	noResolveAt := rule
	noResolveAt.ResolveAt = 0
	pending := rule
	pending.For = 5 * time.Minute
	noRepeat := rule
	noRepeat.Repeat = 0
	warn := firingAt(LevelWarning)
	crit := firingAt(LevelCritical)
	critPinged := crit
	critPinged.Mentioned = true
	with := func(s AlertState, f func(*AlertState)) AlertState { f(&s); return s }
	firstAt := func(lv Level, mentioned bool) AlertState {
		st := AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: lv, Mentioned: mentioned}
		if mentioned {
			st.MentionedAt = at(0)
		}
		return st
	}

	tests := []struct {
		name string
		prev AlertState
		obs  Observation
		rule AvailabilityRule
		now  time.Time
		want Actions
		next AlertState
	}{
		// Below warning, at or above critical: warning.
		{"3 of warning 4 is warning", AlertState{}, obs(3), rule, at(0), Actions{Reason: Fire}, firstAt(LevelWarning, false)},
		{"2 is still warning (critical is below 2)", AlertState{}, obs(2), rule, at(0), Actions{Reason: Fire}, firstAt(LevelWarning, false)},
		// Straight to critical: the alert itself pings, once.
		{"1 fires at critical with the ping", AlertState{}, obs(1), rule, at(0), Actions{Reason: Fire, Mention: true}, firstAt(LevelCritical, true)},
		// No one to ping: critical without a ping.
		{"critical without Mention", AlertState{}, obs(1), quiet, at(0), Actions{Reason: Fire}, firstAt(LevelCritical, false)},
		// For counts from the first poll below warning, not below critical.
		{"For counts from below warning", AlertState{Phase: PhasePending, Since: at(0)}, obs(0), pending, at(5 * time.Minute),
			Actions{Reason: Fire, Mention: true},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(5 * time.Minute), LastSent: at(5 * time.Minute), Level: LevelCritical, Mentioned: true, MentionedAt: at(5 * time.Minute)}},
		// Warning to critical: the message is edited and a reply pings.
		{"rise to critical edits and escalates", warn, obs(1), rule, at(time.Minute), Actions{Reason: Escalate, Mention: true, Edit: true},
			with(warn, func(s *AlertState) { s.Level, s.Mentioned, s.MentionedAt = LevelCritical, true, at(time.Minute) })},
		// Still critical, pinged: nothing more.
		{"still critical, pinged", with(critPinged, func(s *AlertState) {}), obs(0), rule, at(2 * time.Minute), Actions{}, critPinged},
		// Critical back to warning: edited, and the next rise may ping again.
		{"back to warning edits", critPinged, obs(3), rule, at(3 * time.Minute), Actions{Edit: true},
			with(crit, func(s *AlertState) { s.Level = LevelWarning })},
		// Hysteresis: at warning (4) and at 5, below resolve_at 6: still firing at warning, never resolved.
		{"at warning, below resolve_at", warn, obs(4), rule, at(time.Minute), Actions{}, warn},
		{"one below resolve_at", warn, obs(5), rule, at(time.Minute), Actions{}, warn},
		{"from critical into the band: warning", critPinged, obs(5), rule, at(time.Minute), Actions{Edit: true},
			with(crit, func(s *AlertState) { s.Level = LevelWarning })},
		// At resolve_at it resolves.
		{"at resolve_at resolves", warn, obs(6), rule, at(time.Minute), Actions{Reason: Resolve}, AlertState{}},
		{"critical straight to resolve", critPinged, obs(9), rule, at(time.Minute), Actions{Reason: Resolve}, AlertState{}},
		// resolve_at unset resolves at warning.
		{"resolve_at defaults to warning", warn, obs(4), noResolveAt, at(time.Minute), Actions{Reason: Resolve}, AlertState{}},
		// A repeat at critical shows the level itself: no edit; the ping owed goes in it.
		{"repeat at critical carries the owed ping", warn, obs(1), rule, at(30 * time.Minute), Actions{Reason: Repeat, Mention: true},
			with(warn, func(s *AlertState) {
				s.Level, s.Mentioned, s.MentionedAt, s.LastSent = LevelCritical, true, at(30*time.Minute), at(30*time.Minute)
			})},
		// A repeat at critical after the ping: no second ping.
		{"repeat at critical, pinged before", critPinged, obs(1), rule, at(30 * time.Minute), Actions{Reason: Repeat},
			with(critPinged, func(s *AlertState) { s.LastSent = at(30 * time.Minute) })},
		// A message not yet known (its post unconfirmed) cannot be edited.
		{"no message, no edit", with(warn, func(s *AlertState) { s.Posted.TS = "" }), obs(1), quiet, at(time.Minute), Actions{},
			with(warn, func(s *AlertState) { s.Posted.TS = ""; s.Level = LevelCritical })},
		// Acknowledged: no repeat, but the rise to critical still pings.
		{"acked still escalates", with(warn, func(s *AlertState) { s.Acked = true }), obs(1), rule, at(time.Hour),
			Actions{Reason: Escalate, Mention: true, Edit: true},
			with(warn, func(s *AlertState) {
				s.Acked, s.Level, s.Mentioned, s.MentionedAt = true, LevelCritical, true, at(time.Hour)
			})},
		// A count flapping around critical: a rise within Repeat of the
		// last ping is edited in, not pinged again; after Repeat it pings.
		{"rise soon after a ping: edit, no ping", with(warn, func(s *AlertState) { s.MentionedAt = at(time.Minute) }), obs(1), rule, at(6 * time.Minute),
			Actions{Edit: true},
			with(warn, func(s *AlertState) { s.Level, s.MentionedAt = LevelCritical, at(time.Minute) })},
		{"rise a Repeat after the ping pings", with(warn, func(s *AlertState) { s.MentionedAt, s.LastSent = at(time.Minute), at(20*time.Minute) }), obs(1), rule, at(31 * time.Minute),
			Actions{Reason: Escalate, Mention: true, Edit: true},
			with(warn, func(s *AlertState) {
				s.Level, s.Mentioned, s.MentionedAt, s.LastSent = LevelCritical, true, at(31*time.Minute), at(20*time.Minute)
			})},
		{"a rule that never repeats pings once an episode", with(warn, func(s *AlertState) { s.MentionedAt = at(time.Minute) }), obs(1), noRepeat, at(5 * time.Hour),
			Actions{Edit: true},
			with(warn, func(s *AlertState) { s.Level, s.MentionedAt = LevelCritical, at(time.Minute) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecide(t, tc.prev, tc.obs, tc.rule, tc.now, tc.want, tc.next)
		})
	}
}

// TestDecideNobodyLoggedIn: nobody logged in is its own state, at the
// rule's worst level inside active hours, nothing outside them.
func TestDecideNobodyLoggedIn(t *testing.T) {
	rule := AvailabilityRule{Name: "sales-floor", Warning: 4, Critical: 2, Repeat: 30 * time.Minute, Active: officeHours}
	noCritical := rule
	noCritical.Critical = 0
	night := time.Date(2025, 3, 3, 23, 0, 0, 0, time.UTC)
	nobody := Observation{Available: 0, LoggedIn: 0}
	busy := Observation{Available: 0, LoggedIn: 3}
	unknown := Observation{Available: 0, LoggedIn: -1}
	crit := firingAt(LevelCritical)
	with := func(s AlertState, f func(*AlertState)) AlertState { f(&s); return s }
	emptyCrit := with(crit, func(s *AlertState) { s.Empty, s.Posted.Empty = true, true })

	tests := []struct {
		name string
		prev AlertState
		obs  Observation
		rule AvailabilityRule
		now  time.Time
		want Actions
		next AlertState
	}{
		// Inside hours: critical, marked empty.
		{"nobody logged in fires critical", AlertState{}, nobody, rule, at(0), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelCritical, Empty: true}},
		// Without a critical level, the rule's top level: warning.
		{"no critical level: warning", AlertState{}, nobody, noCritical, at(0), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelWarning, Empty: true}},
		// Logged in but none available is "0 available", not empty.
		{"logged in, none available", AlertState{}, busy, rule, at(0), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelCritical}},
		// Not known who is logged in: never read as nobody.
		{"unknown logged in", AlertState{}, unknown, rule, at(0), Actions{Reason: Fire},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelCritical}},
		// Outside hours: nothing posted, nothing kept.
		{"nobody at night is quiet", AlertState{}, nobody, rule, night, Actions{}, AlertState{}},
		// Firing when they all log off at closing: closed quietly.
		{"all log off at closing", crit, nobody, rule, night, Actions{Reason: Suppressed}, AlertState{}},
		// People log in but none is available: the message says so (an edit).
		{"logged in again edits", emptyCrit, busy, rule, at(time.Minute), Actions{Edit: true},
			with(emptyCrit, func(s *AlertState) { s.Empty = false })},
		// Everyone logs off while firing: an edit to "nobody logged in".
		{"everyone logs off edits", crit, nobody, rule, at(time.Minute), Actions{Edit: true},
			with(crit, func(s *AlertState) { s.Empty = true })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecide(t, tc.prev, tc.obs, tc.rule, tc.now, tc.want, tc.next)
		})
	}
}

// TestDecideSnoozeAndSilence: a snooze stops repeats and pings until it
// ends; a silence holds back every post but keeps the state as if made.
func TestDecideSnoozeAndSilence(t *testing.T) {
	rule := AvailabilityRule{Name: "sales-floor", Warning: 4, Critical: 2, Repeat: 30 * time.Minute, Mention: []string{"U0SUPER"}}
	with := func(s AlertState, f func(*AlertState)) AlertState { f(&s); return s }
	warn := firingAt(LevelWarning)
	snoozed := with(warn, func(s *AlertState) { s.SnoozedUntil, s.SnoozedBy = at(time.Hour), "U1" })
	silenced := func(n int) Observation { o := obs(n); o.Silenced = true; return o }

	tests := []struct {
		name string
		prev AlertState
		obs  Observation
		now  time.Time
		want Actions
		next AlertState
	}{
		// Snoozed: no repeat past the repeat period.
		{"snoozed, no repeat", snoozed, obs(3), at(45 * time.Minute), Actions{}, snoozed},
		// Snoozed: a rise to critical is edited but nobody is pinged (owed).
		{"snoozed, rise edits without a ping", snoozed, obs(1), at(10 * time.Minute), Actions{Edit: true},
			with(snoozed, func(s *AlertState) { s.Level = LevelCritical })},
		// The snooze over, still critical: the owed ping goes with the repeat due.
		{"snooze ends: repeat with the ping", with(snoozed, func(s *AlertState) { s.Level = LevelCritical }), obs(1), at(time.Hour),
			Actions{Reason: Repeat, Mention: true, Edit: false},
			with(snoozed, func(s *AlertState) {
				s.Level, s.Mentioned, s.MentionedAt, s.LastSent = LevelCritical, true, at(time.Hour), at(time.Hour)
			})},
		// Snoozed: the recovery still posts.
		{"snoozed resolves", snoozed, obs(4), at(10 * time.Minute), Actions{Reason: Resolve}, AlertState{}},
		// Silenced: fires as usual, held back.
		// Nothing of it is posted: it is marked unposted.
		{"silenced fire is held", AlertState{}, silenced(3), at(0), Actions{Reason: Fire, Held: true},
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Level: LevelWarning, Unposted: true}},
		// Still silenced: its repeat is held too, and it stays unposted.
		{"unposted, silenced repeat is held", with(warn, func(s *AlertState) { s.Unposted = true }), silenced(3), at(30 * time.Minute),
			Actions{Reason: Repeat, Held: true},
			with(warn, func(s *AlertState) { s.Unposted, s.LastSent = true, at(30*time.Minute) })},
		// The silence over, still firing: posted now (no repeat due).
		{"unposted, silence over: released", with(warn, func(s *AlertState) { s.Unposted = true }), obs(3), at(5 * time.Minute),
			Actions{Reason: Release}, with(warn, func(s *AlertState) { s.LastSent = at(5 * time.Minute) })},
		// Released at critical: it pings, though its held-back fire counted
		// the ping as made.
		{"unposted critical released with its ping",
			with(warn, func(s *AlertState) {
				s.Unposted, s.Level, s.Mentioned, s.MentionedAt = true, LevelCritical, true, at(0)
			}),
			obs(1), at(45 * time.Minute), Actions{Reason: Release, Mention: true},
			with(warn, func(s *AlertState) {
				s.Level, s.Mentioned, s.MentionedAt, s.LastSent = LevelCritical, true, at(45*time.Minute), at(45*time.Minute)
			})},
		// Silenced: a repeat is held, recorded as sent; the message is edited if its level moved.
		{"silenced repeat is held", warn, silenced(1), at(30 * time.Minute), Actions{Reason: Repeat, Mention: true, Held: true, Edit: true},
			with(warn, func(s *AlertState) {
				s.Level, s.Mentioned, s.MentionedAt, s.LastSent = LevelCritical, true, at(30*time.Minute), at(30*time.Minute)
			})},
		// Silenced: the ping is held and counted as made.
		{"silenced escalation is held", warn, silenced(1), at(time.Minute), Actions{Reason: Escalate, Mention: true, Held: true, Edit: true},
			with(warn, func(s *AlertState) { s.Level, s.Mentioned, s.MentionedAt = LevelCritical, true, at(time.Minute) })},
		// Silenced: the recovery is held.
		{"silenced resolve is held", warn, silenced(5), at(time.Minute), Actions{Reason: Resolve, Held: true}, AlertState{}},
		// Silenced, nothing due: not held (nothing to hold).
		{"silenced, nothing due", warn, silenced(3), at(time.Minute), Actions{}, warn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecide(t, tc.prev, tc.obs, rule, tc.now, tc.want, tc.next)
		})
	}
}

func TestDecideData(t *testing.T) {
	rule := DataRule{After: 3}
	hours := DataRule{After: 3, Active: officeHours}
	night := time.Date(2025, 3, 3, 23, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		prev       DataState
		failed     bool
		rule       DataRule
		now        time.Time
		wantReason Reason
		want       DataState
	}{
		// Data keeps arriving: nothing.
		{"ok", DataState{}, false, rule, at(0), Nothing, DataState{}},
		// The first failure is counted and dated, not reported.
		{"first failure", DataState{}, true, rule, at(0), Nothing, DataState{Failures: 1, Since: at(0)}},
		// The second keeps the date of the first.
		{"second failure", DataState{Failures: 1, Since: at(0)}, true, rule, at(time.Minute), Nothing, DataState{Failures: 2, Since: at(0)}},
		// The third in a row posts the one notice.
		{"third failure notifies", DataState{Failures: 2, Since: at(0)}, true, rule, at(2 * time.Minute), Unavailable,
			DataState{Failures: 3, Since: at(0), Notified: true}},
		// Later failures stay quiet.
		{"no second notice", DataState{Failures: 3, Since: at(0), Notified: true}, true, rule, at(time.Hour), Nothing,
			DataState{Failures: 4, Since: at(0), Notified: true}},
		// Data returns after the notice: one back notice.
		{"back after notice", DataState{Failures: 4, Since: at(0), Notified: true}, false, rule, at(time.Hour), Back, DataState{}},
		// Data returns before any notice: no back notice, count reset.
		{"recovers before notice", DataState{Failures: 2, Since: at(0)}, false, rule, at(2 * time.Minute), Nothing, DataState{}},
		// After below 1 means the first failure notifies.
		{"After 0 means 1", DataState{}, true, DataRule{}, at(0), Unavailable, DataState{Failures: 1, Since: at(0), Notified: true}},
		// Outside active hours, no notice, but the failures keep counting.
		{"outside hours suppressed", DataState{Failures: 2, Since: at(0)}, true, hours, night, Suppressed, DataState{Failures: 3, Since: at(0)}},
		// Once hours begin, a still-failing poll notifies.
		{"inside hours notifies late", DataState{Failures: 9, Since: at(0)}, true, hours, at(0), Unavailable,
			DataState{Failures: 10, Since: at(0), Notified: true}},
		// The back notice goes out whatever the hour.
		{"back outside hours", DataState{Failures: 3, Since: at(0), Notified: true}, false, hours, night, Back, DataState{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, got := DecideData(tc.prev, tc.failed, tc.rule, tc.now)
			if reason != tc.wantReason {
				t.Errorf("reason: got %s, want %s", reason, tc.wantReason)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("state:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	tests := []struct {
		r     Reason
		want  string
		posts bool
	}{
		{Nothing, "nothing", false},
		{Pending, "pending", false},
		{Fire, "fire", true},
		{Repeat, "repeat", true},
		{Resolve, "resolve", true},
		{Suppressed, "suppressed", false},
		{Unavailable, "unavailable", true},
		{Back, "back", true},
		{Escalate, "escalate", true},
		{Reason(99), "Reason(99)", false}, // out of range still prints
	}
	for _, tc := range tests {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("Reason(%d).String() = %q, want %q", int(tc.r), got, tc.want)
		}
		if got := tc.r.Posts(); got != tc.posts {
			t.Errorf("%s.Posts() = %v, want %v", tc.want, got, tc.posts)
		}
	}
}
