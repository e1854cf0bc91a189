package commands_test

import (
	"context"
	"testing"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// goldenFloor is one floor size of the golden files.
type goldenFloor struct {
	name   string
	agents int
	teams  []presence.Team
}

var goldenFloors = []goldenFloor{
	{"1team", 8, teamsOf(1)},
	{"6teams", 90, teamsOf(6)},
	{"60teams", 600, teamsOf(60)},
	{"5000agents", 5000, ccmsim.DefaultTeams()},
}

// TestRichGolden pins the table (/presence table and the supervisors'
// Home) and the chart (/presence trend) for 1, 6 and 60 teams and for
// 5,000 agents. Each golden passes the limits check (checkGolden);
// `go test ./commands -run TestRichGolden -update` rewrites them.
func TestRichGolden(t *testing.T) {
	for i, fl := range goldenFloors {
		t.Run(fl.name, func(t *testing.T) {
			agents := ccmsim.GenerateRoster(fl.agents, fl.teams, t0, int64(10+i))
			f := newFixture(t, fixtureOptions{agents: agents})
			checkGolden(t, "table_"+fl.name, f.run(t, userBoss, "/presence", "table"))
			checkGolden(t, "home_"+fl.name, message.Message{Text: "home", Blocks: f.h.Home(context.Background(), userBoss)})

			fh := &fakeHistory{}
			floorDay(fh, fl.teams, fl.agents/len(fl.teams), 8, trendNow)
			h := trendHandler(fh, nil, 0)
			checkGolden(t, "trend_"+fl.name, trend(t, h, ""))
			checkGolden(t, "trend_team_"+fl.name, trend(t, h, fl.teams[0].ID+" 8"))
		})
	}
}

// BenchmarkPresenceTable5000 measures /presence table on 5,000 agents from
// a warm snapshot: the table, its classic fallback, the notes.
func BenchmarkPresenceTable5000(b *testing.B) {
	f := newFixture(b, fixtureOptions{agents: bigRoster(false)})
	m := f.run(b, userBoss, "/presence", "table")
	if td := tableOf(b, m); len(td.Rows) != message.MaxTableRows {
		b.Fatalf("%d rows, want %d", len(td.Rows), message.MaxTableRows)
	}
	fetched := f.sim.Stats().Lists
	req := commands.Request{UserID: userBoss, ChannelID: "C0FLOOR", Command: "/presence", Text: "table"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.h.Handle(ctx, req)
	}
	b.StopTimer()
	if got := f.sim.Stats().Lists; got != fetched {
		b.Errorf("list requests during the loop = %d, want none: the snapshot went cold", got-fetched)
	}
}

// BenchmarkPresenceTrend60Teams measures /presence trend over 60 teams'
// 8 hours of minute samples: picking the lowest teams, bucketing, the
// chart and its figures (the in-memory history's own cost included).
func BenchmarkPresenceTrend60Teams(b *testing.B) {
	fh := &fakeHistory{}
	floorDay(fh, teamsOf(60), 80, 8, trendNow)
	h := trendHandler(fh, nil, 0)
	if c := chartOf(b, trend(b, h, "")); len(c.Series) != message.MaxChartSeries {
		b.Fatalf("%d series, want %d", len(c.Series), message.MaxChartSeries)
	}
	req := commands.Request{UserID: userBoss, ChannelID: "C0FLOOR", Command: "/presence", Text: "trend"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.Handle(ctx, req)
	}
}
