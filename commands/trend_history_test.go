package commands_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/state"
)

// /presence trend on the real history.Recorder, over the in-memory store:
// the Recorder's Range and Teams answer what the chart asks (the last
// sample per team, then the chosen teams' steps).
func TestTrendOnTheRecorder(t *testing.T) {
	ctx := context.Background()
	rec := history.New(state.NewMemoryStore(), history.Options{Resolution: time.Minute}, nil)
	names := map[string]string{"sales_team": "Sales", "support_team": "Support", "billing_team": "Billing"}
	for m := 120; m >= 0; m-- {
		at := trendNow.Add(-time.Duration(m) * time.Minute).Truncate(time.Minute)
		s := history.Sample{Names: names, Teams: map[string]history.Counts{
			"sales_team":   {Available: 2 + m%3, OnCall: 4},
			"support_team": {Available: 1, OnCall: 5},
			"billing_team": {Available: 6, OnCall: 1},
		}}
		var floor history.Counts
		for _, c := range s.Teams {
			floor.Available += c.Available
			floor.OnCall += c.OnCall
		}
		s.Teams[""] = floor
		if err := rec.Record(ctx, at, s); err != nil {
			t.Fatalf("record %s: %v", at, err)
		}
	}
	h := trendHandler(rec, nil, 0)
	c := chartOf(t, trend(t, h, "2"))
	var got []string
	for _, s := range c.Series {
		got = append(got, s.Name)
	}
	// Support has the fewest available, then Sales (2 at 09:07), Billing.
	if want := []string{"Whole floor", "Support", "Sales", "Billing"}; !slices.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
	if n := len(c.Categories); n != 13 || c.Categories[n-1] != "09:00" {
		t.Errorf("categories %v, want 13 ending 09:00", c.Categories)
	}
	// 09:07's sample: Sales 2 + 0%3.
	if v := c.Series[2].Values[12]; v != 2 {
		t.Errorf("Sales now = %v, want 2", v)
	}
	if v := c.Series[0].Values[12]; v != 9 {
		t.Errorf("floor now = %v, want 9", v)
	}
	m := trend(t, h, "billing_team 1")
	wantText(t, m, "Billing: agents, last 1h", "• *Available*: 6 · 6")
}
