package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// TestAlertsAndSummaryTickByTick runs the two jobs as the scheduler would,
// tick by tick (the schedule package tests the ticks themselves): the
// alert poll every minute, the summary on the hour, against the simulator.
func TestAlertsAndSummaryTickByTick(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	s := settings()
	s.Rules[0].Repeat = 5 * time.Minute
	alerter := NewAlerter(f.client, f.poster, store, s, nil)
	snaps := presence.NewSnapshots(f.client, 0, nil)
	summary := NewSummarizer(snaps, f.poster, store, SummarySettings{Channel: "C_SUMMARY"}, nil)
	at := func(hour, minute int) time.Time { return time.Date(2025, 3, 3, hour, minute, 0, 0, time.UTC) }
	tick := func(when time.Time, withSummary bool) {
		t.Helper()
		poll(t, alerter, when)
		if withSummary {
			if err := summary.Run(context.Background(), when); err != nil {
				t.Fatalf("summary at %s: %v", when.Format("15:04"), err)
			}
		}
	}

	tick(at(9, 59), false)
	f.expect(t, "09:59", 0, 0)

	f.force(t, presence.Offline, "s1")
	tick(at(10, 0), true)
	posts, _ := f.expect(t, "10:00", 2, 0)
	var texts []string
	for _, p := range posts {
		texts = append(texts, p.channel+": "+p.text())
	}
	mustContain(t, "10:00", strings.Join(texts, "\n"), "C_ALERTS: Warning · Low availability across all teams: 4 agents available (warning below 5)", "Below since 10:00",
		"C_SUMMARY: Presence summary: 4 of 8 agents available")

	for m := 1; m <= 4; m++ {
		tick(at(10, m), false)
	}
	f.expect(t, "inside the repeat period", 0, 0)

	tick(at(10, 5), false)
	posts, _ = f.expect(t, "10:05", 1, 1) // the repeat takes the button off the 10:00 copy
	mustContain(t, "repeat", posts[0].text(), "Still low availability", "Below since 10:00 (5m)")

	f.force(t, presence.Available, "s1")
	tick(at(10, 6), false)
	posts, _ = f.expect(t, "10:06", 1, 1)
	mustContain(t, "recovery", posts[0].text(), "Availability recovered", "after 6m below")
}
