package observe

import (
	"testing"
	"time"
)

// Roster refreshes count by where the snapshot came from (anything else
// is "other"), and the snapshot's age shows only once there is one.
func TestRosterMetrics(t *testing.T) {
	m := NewMetrics()
	if f := scrape(t, m); f["presence_bot_snapshot_age_seconds"] != nil {
		t.Errorf("snapshot age before any snapshot: %s, want no series", f.series("presence_bot_snapshot_age_seconds"))
	}
	age := time.Duration(-1)
	m.WatchSnapshotAge(func() (time.Duration, bool) { return age, age >= 0 })
	if f := scrape(t, m); f["presence_bot_snapshot_age_seconds"] != nil {
		t.Errorf("snapshot age with no snapshot yet: %s, want no series", f.series("presence_bot_snapshot_age_seconds"))
	}
	age = 1500 * time.Millisecond
	m.RosterRefreshed("api")
	m.RosterRefreshed("redis")
	m.RosterRefreshed("redis")
	m.RosterRefreshed("carrier pigeon")
	f := scrape(t, m)
	if got := f.value(t, "presence_bot_snapshot_age_seconds", nil); got != 1.5 {
		t.Errorf("snapshot age = %v, want 1.5", got)
	}
	for source, want := range map[string]float64{"api": 1, "redis": 2, "other": 1} {
		if got := f.value(t, "presence_bot_roster_refreshes_total", map[string]string{"source": source}); got != want {
			t.Errorf("refreshes from %s = %v, want %v", source, got, want)
		}
	}
}
