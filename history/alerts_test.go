package history

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func recordAlert(t *testing.T, r *Recorder, e AlertEvent) {
	t.Helper()
	if err := r.RecordAlert(context.Background(), e); err != nil {
		t.Fatalf("RecordAlert(%+v): %v", e, err)
	}
}

func alertsOf(t *testing.T, r *Recorder, from, to time.Time) []AlertEvent {
	t.Helper()
	got, err := r.Alerts(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func equalEvents(a, b []AlertEvent) bool {
	return slices.EqualFunc(a, b, func(x, y AlertEvent) bool {
		return x.At.Equal(y.At) && x.Rule == y.Rule && slices.Equal(x.Teams, y.Teams) && x.Kind == y.Kind && x.Level == y.Level
	})
}

// Alert events come back in time order, within from and to (inclusive),
// across days; the same event twice is kept once.
func TestAlertsRoundTrip(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	fired := AlertEvent{At: at(9 * time.Hour), Rule: "sales-floor", Teams: []string{"sales"}, Kind: KindFired, Level: "warning"}
	level := AlertEvent{At: at(9*time.Hour + 5*time.Minute), Rule: "sales-floor", Teams: []string{"sales"}, Kind: KindLevel, Level: "critical"}
	acked := AlertEvent{At: at(9*time.Hour + 7*time.Minute), Rule: "sales-floor", Teams: []string{"sales"}, Kind: KindAcked, Level: "critical"}
	resolved := AlertEvent{At: at(26 * time.Hour), Rule: "all", Kind: KindResolved, Level: "warning"}
	for _, e := range []AlertEvent{resolved, level, fired, acked, fired} {
		recordAlert(t, r, e)
	}
	if got, want := alertsOf(t, r, at(0), at(48*time.Hour)), []AlertEvent{fired, level, acked, resolved}; !equalEvents(got, want) {
		t.Errorf("Alerts = %+v\nwant %+v", got, want)
	}
	if got, want := alertsOf(t, r, at(9*time.Hour+5*time.Minute), at(9*time.Hour+7*time.Minute)), []AlertEvent{level, acked}; !equalEvents(got, want) {
		t.Errorf("Alerts 9:05–9:07 = %+v\nwant %+v", got, want)
	}
}

// A day keeps at most maxAlertsPerDay events (lowered here, for speed): a
// flapping rule cannot grow the store without bound.
func TestAlertsCappedPerDay(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	if r.alertCap != maxAlertsPerDay {
		t.Fatalf("cap %d, want maxAlertsPerDay", r.alertCap)
	}
	r.alertCap = 40
	for i := range r.alertCap + 10 {
		recordAlert(t, r, AlertEvent{At: at(time.Duration(i) * time.Second), Rule: fmt.Sprintf("r%d", i), Kind: KindFired})
	}
	got := alertsOf(t, r, at(0), at(24*time.Hour))
	if len(got) != r.alertCap {
		t.Errorf("%d events kept, want %d", len(got), r.alertCap)
	}
	if got[0].Rule != "r0" {
		t.Errorf("first kept = %s, want the day's first", got[0].Rule)
	}
}

// Alert events past the retention are deleted with the samples.
func TestAlertsRetention(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{Retention: 48 * time.Hour})
	recordAlert(t, r, AlertEvent{At: at(time.Hour), Rule: "all", Kind: KindFired})
	for d := time.Duration(0); d < 4*24*time.Hour; d += time.Hour {
		record(t, r, at(d), sampleOf(map[string]int{"": 1}))
	}
	if got := alertsOf(t, r, at(0), at(24*time.Hour)); len(got) != 0 {
		t.Errorf("events of day 0, 4 days later = %+v, want none", got)
	}
	if n := store.countKeys("history-alerts-"); n != 0 {
		t.Errorf("%d alert days stored past the retention: %v", n, store.keys())
	}
}

// An event without a time, rule or known kind is refused.
func TestRecordAlertRefusesBadInput(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	for _, e := range []AlertEvent{
		{Rule: "all", Kind: KindFired},
		{At: at(time.Hour), Kind: KindFired},
		{At: at(time.Hour), Rule: "all", Kind: "exploded"},
	} {
		if err := r.RecordAlert(context.Background(), e); err == nil {
			t.Errorf("RecordAlert(%+v) accepted it", e)
		}
	}
}
