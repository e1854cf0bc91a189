package commands_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/state"
)

// On the night clocks go back (America/New_York, 2 Nov 2025, 02:00 EDT ->
// 01:00 EST) the hour 01:00-02:00 comes twice: its labels carry the zone,
// so the categories stay distinct and Slack (like message.ValidateRich)
// takes the chart. Labelled "15:04" alone, they repeated, and the bot
// dropped the chart for everyone.
func TestTrendLabelsAreDistinctAtDSTFallBack(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	now := time.Date(2025, 11, 2, 1, 30, 0, 0, loc).Add(time.Hour) // 01:30 EST, the second 01:30
	rec := history.New(state.NewMemoryStore(), history.Options{}, nil)
	for at := now.Add(-4 * time.Hour); !at.After(now); at = at.Add(time.Minute) {
		s := history.Sample{Teams: map[string]history.Counts{"": {Available: 3}, "sales": {Available: 3}}, Names: map[string]string{"sales": "Sales"}}
		if err := rec.Record(context.Background(), at, s); err != nil {
			t.Fatal(err)
		}
	}
	h := commands.New(commands.Config{OpenToAll: true, History: rec, HistoryRetention: 8 * 24 * time.Hour, Location: loc,
		Now: func() time.Time { return now }})
	m := h.Handle(context.Background(), commands.Request{UserID: "U1", ChannelID: "C1", Command: "/presence", Text: "trend"})
	if err := message.ValidateRich(m); err != nil {
		t.Errorf("trend at DST fall-back breaks Slack's limits: %v", err)
	}
	// The hour that repeats is told apart by its zone.
	c := chartOf(t, m)
	if !slices.Contains(c.Categories, "01:00 EDT") || !slices.Contains(c.Categories, "01:00 EST") {
		t.Errorf("categories %q, want 01:00 EDT and 01:00 EST", c.Categories)
	}
}
