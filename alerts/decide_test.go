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

func TestDecide(t *testing.T) {
	rule := Rule{Key: TotalKey, Threshold: 3, Repeat: 30 * time.Minute}
	pending := rule
	pending.For = 5 * time.Minute
	noRepeat := rule
	noRepeat.Repeat = 0
	hours := rule
	hours.Active = officeHours
	zero := rule
	zero.Threshold = 0

	posted := Posted{Channel: "C1", TS: "1.1", Count: 1}
	firing := AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0), Posted: posted}
	acked := firing
	acked.Acked, acked.AckedBy, acked.AckedAt = true, "U1", at(time.Minute)
	night := time.Date(2025, 3, 3, 23, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		prev       AlertState
		obs        Observation
		rule       Rule
		now        time.Time
		wantReason Reason
		want       AlertState
	}{
		// At the threshold is not below it.
		{"at threshold stays quiet", AlertState{}, Observation{Count: 3}, rule, at(0), Nothing, AlertState{}},
		// Below with no For period fires on the first poll.
		{"below fires at once", AlertState{}, Observation{Count: 2}, rule, at(0), Fire,
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0)}},
		// With For, the first poll below only starts the clock.
		{"below with For is pending", AlertState{}, Observation{Count: 2}, pending, at(0), Pending,
			AlertState{Phase: PhasePending, Since: at(0)}},
		// Still pending one second short of For; Since is kept.
		{"pending short of For", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Count: 2}, pending, at(5*time.Minute - time.Second), Pending,
			AlertState{Phase: PhasePending, Since: at(0)}},
		// Fires once below for the whole For period, dated from when it went below.
		{"pending fires after For", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Count: 2}, pending, at(5 * time.Minute), Fire,
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(5 * time.Minute), LastSent: at(5 * time.Minute)}},
		// A pending alert that recovers in time never fires and is forgotten.
		{"pending recovers", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Count: 3}, pending, at(time.Minute), Nothing, AlertState{}},
		// PhaseFiring, inside the repeat period: nothing, state untouched.
		{"no repeat inside Repeat", firing, Observation{Count: 1}, rule, at(30*time.Minute - time.Second), Nothing, firing},
		// PhaseFiring, the repeat period is over: repeat, keeping the episode's start.
		{"repeat after Repeat", firing, Observation{Count: 1}, rule, at(30 * time.Minute), Repeat,
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(30 * time.Minute), Posted: posted}},
		// Repeat 0 means never repeat.
		{"Repeat 0 never repeats", firing, Observation{Count: 1}, noRepeat, at(24 * time.Hour), Nothing, firing},
		// Recovery resolves and forgets the episode.
		{"firing recovers", firing, Observation{Count: 3}, rule, at(time.Hour), Resolve, AlertState{}},
		// An acknowledged alert does not repeat.
		{"acked does not repeat", acked, Observation{Count: 0}, rule, at(2 * time.Hour), Nothing, acked},
		// An acknowledged alert still resolves.
		{"acked resolves", acked, Observation{Count: 5}, rule, at(2 * time.Hour), Resolve, AlertState{}},
		// A new episode after a recovery fires afresh, not acknowledged.
		{"fires again after resolve", AlertState{}, Observation{Count: 0}, rule, at(3 * time.Hour), Fire,
			AlertState{Phase: PhaseFiring, Since: at(3 * time.Hour), FiredAt: at(3 * time.Hour), LastSent: at(3 * time.Hour)}},
		// No data is not "0 available": a failed poll changes nothing.
		{"failed poll does not fire", AlertState{}, Observation{Failed: true}, rule, at(0), Nothing, AlertState{}},
		// Nor does it resolve, repeat or end a firing alert.
		{"failed poll keeps firing state", firing, Observation{Failed: true, Count: 10}, rule, at(time.Hour), Nothing, firing},
		// Nor advance a pending one.
		{"failed poll keeps pending", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Failed: true}, pending, at(time.Hour), Nothing,
			AlertState{Phase: PhasePending, Since: at(0)}},
		// Outside active hours, below does not fire.
		{"outside hours suppressed", AlertState{}, Observation{Count: 0}, hours, night, Suppressed, AlertState{}},
		// Outside active hours, the For clock does not run.
		{"outside hours forgets pending", AlertState{Phase: PhasePending, Since: at(0)}, Observation{Count: 0}, hours, night, Suppressed, AlertState{}},
		// Outside active hours, a firing alert is closed without a repeat.
		{"outside hours closes firing", firing, Observation{Count: 0}, hours, night, Suppressed, AlertState{}},
		// A recovery outside active hours is still news.
		{"outside hours still resolves", firing, Observation{Count: 4}, hours, night, Resolve, AlertState{}},
		// Inside active hours the same rule fires.
		{"inside hours fires", AlertState{}, Observation{Count: 0}, hours, at(0), Fire,
			AlertState{Phase: PhaseFiring, Since: at(0), FiredAt: at(0), LastSent: at(0)}},
		// A threshold of 0 can never be undercut.
		{"threshold 0 never fires", AlertState{}, Observation{Count: 0}, zero, at(0), Nothing, AlertState{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, got := Decide(tc.prev, tc.obs, tc.rule, tc.now)
			if reason != tc.wantReason {
				t.Errorf("reason: got %s, want %s", reason, tc.wantReason)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("state:\ngot  %+v\nwant %+v", got, tc.want)
			}
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
