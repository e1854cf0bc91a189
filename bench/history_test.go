package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// TestSeedHistory: the trend scenarios' bot starts with a morning of the
// floor's history in its STATE_DIR, which /presence trend draws in full:
// the floor and every team over the default 4 hours, figures that move
// as agents do (never more agents than the roster has), ending at the
// roster's own counts.
func TestSeedHistory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 7, 30, 0, time.UTC)
	agents := ccmsim.GenerateRoster(300, nil, now, seed)
	dir := t.TempDir()
	if err := seedHistory(ctx, dir, agents, now); err != nil {
		t.Fatalf("seedHistory: %v", err)
	}
	// Read back as the bot reads it: a Recorder over a file store there.
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := history.New(store, history.Options{Resolution: time.Minute}, nil)

	floor, err := rec.Range(ctx, []string{""}, now.Truncate(time.Minute).Add(-historyHours*time.Hour), now, time.Minute)
	if err != nil {
		t.Fatalf("Range: %v", err)
	}
	points := floor[""]
	if want := historyHours*60 + 1; len(points) != want {
		t.Fatalf("got %d floor samples, want %d: one a minute for %d hours", len(points), want, historyHours)
	}
	var avail []int
	for _, p := range points {
		if n := p.Counts.LoggedIn() + p.Counts.Offline; n != len(agents) {
			t.Fatalf("sample at %s counts %d agents, want the roster's %d", p.At, n, len(agents))
		}
		avail = append(avail, p.Counts.Available)
	}
	if slices.Min(avail) == slices.Max(avail) {
		t.Errorf("available is %d all morning, want figures that move", avail[0])
	}
	if got, want := points[len(points)-1].Counts, rosterCounts(agents); got != want {
		t.Errorf("last sample %+v, want the roster's %+v", got, want)
	}

	h := commands.New(commands.Config{Roster: presence.NewSnapshots(staticRoster{&presence.Roster{Agents: agents}}, time.Hour, nil),
		OpenToAll: true, History: rec, Now: func() time.Time { return now }})
	ask := func(text string) *message.ChartData {
		t.Helper()
		m := h.Handle(ctx, commands.Request{UserID: "USUPER01", ChannelID: "C0FLOOR", Command: cmdPresence, Text: text})
		for _, b := range m.Blocks {
			if b.Kind == message.Chart {
				return b.Chart
			}
		}
		t.Fatalf("/presence %s: no chart in %q", text, m.Text)
		return nil
	}
	c := ask("trend")
	var names []string
	for _, s := range c.Series {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if want := []string{"Billing", "Sales", "Support", "Whole floor"}; !slices.Equal(names, want) {
		t.Errorf("trend lines %v, want %v", names, want)
	}
	// 4 hours every 15 minutes, and the quarter now running.
	if len(c.Categories) != 17 {
		t.Errorf("trend has %d points %v, want 17", len(c.Categories), c.Categories)
	}
	if c = ask("trend " + trendTeam); len(c.Series) != 4 {
		t.Errorf("/presence trend %s draws %d lines, want 4 (one per working status)", trendTeam, len(c.Series))
	}
}

// rosterCounts is the floor's counts of agents.
func rosterCounts(agents []presence.Agent) history.Counts {
	var c history.Counts
	for _, a := range agents {
		switch a.Status {
		case presence.Available:
			c.Available++
		case presence.OnCall:
			c.OnCall++
		case presence.AfterCallWork:
			c.AfterCallWork++
		case presence.Busy:
			c.Busy++
		case presence.Offline:
			c.Offline++
		}
	}
	return c
}
