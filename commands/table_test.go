package commands_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// /presence table on the small floor: every agent a row, longest in their
// status first, times and counts as numbers with a readable text, and
// where tables are refused, exactly the /presence answer.
func TestPresenceTableRows(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	m := f.run(t, userBoss, "/presence", "table")
	checkRich(t, m)
	td := tableOf(t, m)
	wantCols := []message.Column{{Name: "Agent"}, {Name: "Team"}, {Name: "Status"}, {Name: "In status", Numeric: true},
		{Name: "Calls today", Numeric: true}, {Name: "Avg handle time", Numeric: true}, {Name: "Talk time", Numeric: true}}
	if !reflect.DeepEqual(td.Columns, wantCols) {
		t.Errorf("columns = %+v, want %+v", td.Columns, wantCols)
	}
	// Jane Doe offline 5h, John 95m, Jane Support 20m, Priya 2m, Rohan 1m.
	if got, want := column(td, "Agent"), []string{"Jane Doe", "John Agent", "Jane Support", "Priya Sharma", "Rohan Mehta"}; !slices.Equal(got, want) {
		t.Errorf("rows = %v, want %v (longest in status first)", got, want)
	}
	john := td.Rows[1]
	want := []message.Cell{{Text: "John Agent"}, {Text: "Sales"}, {Text: "available"}, {Text: "1h 35m", Number: 5700},
		{Text: "15", Number: 15}, {Text: "4m", Number: 240}, {Text: "1h", Number: 3600}}
	if !reflect.DeepEqual(john, want) {
		t.Errorf("John's row = %+v, want %+v", john, want)
	}
	// Priya has no stats: a dash, and 0 so the column still sorts.
	if got := td.Rows[3][4]; got.Text != "–" || got.Number != 0 {
		t.Errorf("a missing figure = %+v, want – and 0", got)
	}
	if got := td.Rows[3][3]; got.Text != "2m" || got.Number != 120 {
		t.Errorf("Priya's time in status = %+v, want 2m = 120 s", got)
	}
	if td.PageSize != 5 || td.Caption == "" {
		t.Errorf("page size %d, caption %q; want 5 (the rows) and a caption", td.PageSize, td.Caption)
	}
	classic := f.run(t, userBoss, "/presence", "")
	if got := m.Classic(); !reflect.DeepEqual(got.Blocks, classic.Blocks) || got.Text != classic.Text {
		t.Errorf("the table's classic form differs from /presence:\n%s\nwant:\n%s", allText(got), allText(classic))
	}
	if m.Outcome() != message.OutcomeOK {
		t.Errorf("outcome %s, want ok", m.Outcome())
	}
}

// A status or a team narrows the table, and its classic form is the
// /presence answer of the same words.
func TestPresenceTableFilters(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tt := range []struct {
		text    string
		classic string
		agents  []string
	}{
		{"table available", "available", []string{"John Agent"}},
		{"table acw", "acw", []string{"Rohan Mehta"}}, // an alias
		{"table team sales_team", "team sales_team", []string{"Jane Doe", "John Agent", "Priya Sharma"}},
		{"table team SALES", "team SALES", []string{"Jane Doe", "John Agent", "Priya Sharma"}}, // by name
		{"TABLE team support_team", "team support_team", []string{"Jane Support", "Rohan Mehta"}},
	} {
		m := f.run(t, userBoss, "/presence", tt.text)
		checkRich(t, m)
		if got := column(tableOf(t, m), "Agent"); !slices.Equal(got, tt.agents) {
			t.Errorf("%s: rows %v, want %v", tt.text, got, tt.agents)
		}
		classic := f.run(t, userBoss, "/presence", tt.classic)
		if got := m.Classic(); !reflect.DeepEqual(got.Blocks, classic.Blocks) {
			t.Errorf("%s: classic form differs from /presence %s:\n%s", tt.text, tt.classic, allText(got))
		}
	}
}

// Bad words get a clear refusal with the usage; an unknown team the list
// of teams, as /presence team gives; and the table is for those /presence
// is for.
func TestPresenceTableRefusals(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tt := range []struct {
		user, text string
		want       []string
	}{
		// Not a status.
		{userBoss, "table sleeping", []string{"`sleeping` is not a status", "available, on-call", "Usage: `/presence"}},
		// Markup in the bad word is escaped.
		{userBoss, "table <!here>", []string{"`&lt;!here&gt;` is not a status"}},
		// team without its ID, or with two.
		{userBoss, "table team", []string{"Name one team: `/presence table team &lt;team_id&gt;`", "Usage:"}},
		{userBoss, "table team a b", []string{"Name one team"}},
		// Both filters.
		{userBoss, "table available busy", []string{"not both", "Usage:"}},
		// The same answer as /presence team for a team there is not.
		{userBoss, "table team nope", []string{"There is no team `nope`.", "`sales_team` (Sales)", "`support_team` (Support)"}},
		// Someone /presence is not for.
		{userNobody, "table", []string{"`/presence` is for contact-center agents and supervisors"}},
	} {
		m := f.run(t, tt.user, "/presence", tt.text)
		if m.Outcome() != message.OutcomeRefused {
			t.Errorf("%s: outcome %s, want refused", tt.text, m.Outcome())
		}
		if m.HasRich() {
			t.Errorf("%s: a refusal with a table", tt.text)
		}
		wantText(t, m, tt.want...)
	}
	// The team refusal is word for word /presence team's.
	a, b := f.run(t, userBoss, "/presence", "table team nope"), f.run(t, userBoss, "/presence", "team nope")
	a.Drawing = nil // a table's answer is drawn once for its readers; its words are what must match
	if !reflect.DeepEqual(a, b) {
		t.Errorf("unknown team: %q, want /presence team's %q", allText(a), allText(b))
	}
}

// A status nobody is in has no rows: the /presence answer says so, with
// no empty table (Slack needs a row).
func TestPresenceTableNobody(t *testing.T) {
	agents := roster()[:2] // John available, Jane busy
	f := newFixture(t, fixtureOptions{agents: agents})
	m := f.run(t, userBoss, "/presence", "table on-call")
	if m.HasRich() {
		t.Errorf("a table with no rows")
	}
	wantText(t, m, "Nobody is on-call right now.")
}

// On 5,000 agents the table shows the 100 longest in their status, says
// so, and names the filters that narrow it; hostile names cost characters
// and the table takes fewer rows rather than break Slack's budget.
func TestPresenceTableLarge(t *testing.T) {
	for _, hostile := range []bool{false, true} {
		f := newFixture(t, fixtureOptions{agents: bigRoster(hostile)})
		for _, text := range []string{"table", "table available", "table team sales_team"} {
			m := f.run(t, userBoss, "/presence", text)
			checkRich(t, m)
			td := tableOf(t, m)
			if !hostile && len(td.Rows) != message.MaxTableRows {
				t.Errorf("%s: %d rows, want %d", text, len(td.Rows), message.MaxTableRows)
			}
			if hostile && (len(td.Rows) >= message.MaxTableRows || len(td.Rows) < 10) {
				t.Errorf("%s, hostile names: %d rows, want fewer than 100 (the character budget) but some", text, len(td.Rows))
			}
			if td.PageSize != 20 {
				t.Errorf("%s: page size %d, want 20", text, td.PageSize)
			}
			wantText(t, m, "The table shows the "+message.Thousands(len(td.Rows))+" agents longest in their status, of ")
			switch text {
			case "table":
				wantText(t, m, "Narrow it: `/presence table available` · `/presence table team ")
			case "table available":
				wantText(t, m, "Narrow it: `/presence table team ")
				notText(t, m, "`/presence table available`")
			case "table team sales_team":
				wantText(t, m, "Narrow it: `/presence table available` · `/presence team sales_team` by status")
			}
			// Longest in status first.
			var ins []float64
			for _, r := range td.Rows {
				ins = append(ins, r[3].Number)
			}
			if !slices.IsSortedFunc(ins, func(a, b float64) int { return int(b - a) }) {
				t.Errorf("%s: time in status not longest first: %v", text, ins[:10])
			}
		}
	}
}

// The table says how old its data is when the API budget stretched the
// snapshot, and says the contact center failed when it did.
func TestPresenceTableStale(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	notText(t, f.run(t, userBoss, "/presence", "table"), "Data from")
	f.roster.SetPressure(true)
	f.clock.Advance(14 * time.Second)
	m := f.run(t, userBoss, "/presence", "table")
	wantText(t, m, staleNote)
	tableOf(t, m)

	f.roster.SetPressure(false)
	f.clock.Advance(time.Minute)
	f.sim.Inject(ccmsim.Fault{Code: 500})
	m = f.run(t, userBoss, "/presence", "table available")
	wantText(t, m, "This is the last known data, from 1m ago.")
	if m.Outcome() != message.OutcomeError {
		t.Errorf("outcome %s, want error", m.Outcome())
	}
	checkRich(t, m)
}

// The supervisors' Home shows the floor as a table: agents while they fit
// one, teams beyond; the team sections are its fallback, so the classic
// Home is unchanged.
func TestHomeTable(t *testing.T) {
	for _, tt := range []struct {
		name    string
		agents  []presence.Agent
		columns string // the first column
		rows    int
	}{
		{"small floor", roster(), "Agent", 5},
		{"100 agents", ccmsim.GenerateRoster(100, teamsOf(6), t0, 4), "Agent", 100},
		{"101 agents", ccmsim.GenerateRoster(101, teamsOf(6), t0, 4), "Team", 6},
		{"5,000 agents in 120 teams", ccmsim.GenerateRoster(5000, teamsOf(120), t0, 4), "Team", 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{agents: tt.agents})
			blocks := f.h.Home(context.Background(), userBoss)
			m := message.Message{Text: "home", Blocks: blocks}
			checkRich(t, m)
			if len(blocks) > message.MaxViewBlocks || len(m.Classic().Blocks) > message.MaxViewBlocks {
				t.Errorf("%d blocks (%d classic), want at most %d", len(blocks), len(m.Classic().Blocks), message.MaxViewBlocks)
			}
			td := tableOf(t, m)
			if td.Columns[0].Name != tt.columns || len(td.Rows) != tt.rows {
				t.Errorf("table of %s with %d rows, want %s with %d", td.Columns[0].Name, len(td.Rows), tt.columns, tt.rows)
			}
			if tt.columns == "Team" {
				// The fewest available first, as the sections.
				var avail []float64
				for _, r := range td.Rows {
					avail = append(avail, r[2].Number)
				}
				if !slices.IsSorted(avail) {
					t.Errorf("teams not fewest available first: %v", avail)
				}
			}
			if tt.rows == 100 && tt.columns == "Team" && !strings.Contains(td.Caption, "the first 100 of 120") {
				t.Errorf("caption %q does not say it shows 100 of 120 teams", td.Caption)
			}
			// The table comes on top of the team sections: the classic
			// Home is the Home without it.
			var without []message.Block
			for _, b := range blocks {
				if b.Kind != message.Table {
					without = append(without, b)
				}
			}
			if classic := m.Classic().Blocks; !reflect.DeepEqual(classic, without) {
				t.Errorf("classic Home is not the Home without its table")
			}
			wantText(t, m, "Available: ")
		})
	}
}
