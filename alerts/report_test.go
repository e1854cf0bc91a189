package alerts

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// The report's day is Monday 3 March 2025 in Kolkata: its midnight is
// 18:30 UTC the day before, so a day read in UTC would differ.
var kolkata = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		panic(err)
	}
	return loc
}()

// ist is a time on the report's day.
func ist(h, m int) time.Time { return time.Date(2025, 3, 3, h, m, 0, 0, kolkata) }

// reportTick is when the report runs: REPORT_SCHEDULE "0 18 * * Mon-Fri".
var reportTick = ist(18, 0)

// reportRules are the availability rules of the fixture's day.
func reportRules() []AvailabilityRule {
	return []AvailabilityRule{
		{Name: "sales-floor", Teams: []string{"sales_team"}, Warning: 4},
		{Name: AllRule, Warning: 5},
		{Name: "team:support_team", Teams: []string{"support_team"}, Warning: 2},
		{Name: "front-office", Teams: []string{"sales_team", "support_team"}, Warning: 7},
		// Active only from 13:00: its minutes below count from then.
		{Name: "afternoon", Teams: []string{"sales_team"}, Warning: 5, Active: func(t time.Time) bool { return t.In(kolkata).Hour() >= 13 }},
	}
}

// dayHistory is the fixture's day, sampled every minute from 08:00 to
// 17:59, with a night sample at 07:00 (nobody logged in) and one the day
// before (which the report must not read):
//
//	sales:   08:00–08:59 5 logged in, 4 available; 09:00–11:59 8 in, 6
//	         available; 12:00–12:29 8 in, 1 available; then 8 in, 4 available.
//	support: 6 logged in, 2 available; 0 available 15:00–15:44.
func dayHistory() *fakeHistory {
	h := newFakeHistory()
	h.names = map[string]string{"sales_team": "Sales", "support_team": "Support"}
	h.record(ist(0, 0).Add(-time.Minute), map[string]history.Counts{ // yesterday 23:59
		"sales_team": {Available: 50}, "support_team": {Available: 50},
	})
	h.record(ist(7, 0), map[string]history.Counts{"sales_team": {Offline: 9}, "support_team": {Offline: 7}})
	for t := ist(8, 0); t.Before(reportTick); t = t.Add(time.Minute) {
		hm := t.Hour()*100 + t.Minute()
		sales := history.Counts{Available: 4, OnCall: 4, Offline: 1}
		switch {
		case hm < 900:
			sales = history.Counts{Available: 4, OnCall: 1, Offline: 4}
		case hm < 1200:
			sales = history.Counts{Available: 6, OnCall: 2, Offline: 1}
		case hm < 1230:
			sales = history.Counts{Available: 1, OnCall: 5, Busy: 2, Offline: 1}
		}
		support := history.Counts{Available: 2, OnCall: 3, AfterCallWork: 1, Offline: 1}
		if hm >= 1500 && hm < 1545 {
			support = history.Counts{Available: 0, OnCall: 5, AfterCallWork: 1, Offline: 1}
		}
		h.record(t, map[string]history.Counts{"sales_team": sales, "support_team": support})
	}
	h.events = []history.AlertEvent{
		{At: ist(0, 0).Add(-10 * time.Minute), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: "fired", Level: "warning"}, // yesterday
		{At: ist(12, 0), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: "fired", Level: "critical"},
		{At: ist(12, 0), Rule: AllRule, Kind: "fired", Level: "warning"},
		{At: ist(12, 5), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: "acked"},
		{At: ist(12, 30), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: "resolved"},
		{At: ist(12, 30), Rule: AllRule, Kind: "resolved"},
		{At: ist(15, 0), Rule: AllRule, Kind: "fired", Level: "warning"},
		{At: ist(15, 0), Rule: "team:support_team", Teams: []string{"support_team"}, Kind: "fired", Level: "warning"},
		{At: ist(15, 10), Rule: "team:support_team", Teams: []string{"support_team"}, Kind: "acked"},
		{At: ist(15, 30), Rule: "front-office", Teams: []string{"sales_team", "support_team"}, Kind: "fired", Level: "warning"},
	}
	return h
}

// withStats is a with the day's call figures.
func withStats(a presence.Agent, calls, aht int) presence.Agent {
	a.Stats = &presence.Stats{CallsHandledToday: calls, AvgHandleTime: aht, TotalTalkTime: calls * aht}
	return a
}

// reportFloor is the roster at 18:00: Sales handled 15 calls at 240 s on
// average (10 × 200 s and 5 × 320 s), Support 20 at 150 s.
func reportFloor() []presence.Agent {
	return []presence.Agent{
		withStats(agent("s1", "Asha Rao", sales, presence.Available), 10, 200),
		withStats(agent("s2", "Bilal Khan", sales, presence.Busy), 5, 320),
		agent("s3", "Chen Wei", sales, presence.Offline), // no stats
		withStats(agent("p1", "Eva Silva", support, presence.Available), 20, 150),
		withStats(agent("p2", "Farid Nair", support, presence.OnCall), 0, 0),
	}
}

func (f *fixture) reporter(t *testing.T, store state.Store, h History) *Reporter {
	t.Helper()
	if store == nil {
		store = state.NewMemoryStore()
	}
	snaps := presence.NewSnapshots(f.client, 0, func() time.Time { return reportTick })
	return NewReporter(snaps, f.poster, store, ReportSettings{
		Channel: "C_REPORT", Location: kolkata, History: h, Rules: reportRules(), Resolution: time.Minute,
	}, nil)
}

// report runs the report at tick and returns its one post.
func report(t *testing.T, r *Reporter, tick time.Time) sent {
	t.Helper()
	if err := r.Run(context.Background(), tick); err != nil {
		t.Fatalf("Run at %s: %v", tick, err)
	}
	posts, _ := r.post.(*recorder).take()
	if len(posts) != 1 {
		t.Fatalf("Run at %s: got %d posts, want 1", tick, len(posts))
	}
	return posts[0]
}

// tableOf returns the message's one table.
func tableOf(t *testing.T, m message.Message) (message.Block, *message.TableData) {
	t.Helper()
	var out []message.Block
	for _, b := range m.Blocks {
		if b.Kind == message.Table {
			out = append(out, b)
		}
	}
	if len(out) != 1 {
		t.Fatalf("got %d tables, want 1", len(out))
	}
	return out[0], out[0].Table
}

// cellText is a cell as a reader sees it: its text, or its number.
func cellText(c message.Cell) string {
	if c.Text != "" {
		return c.Text
	}
	return message.FormatNumber(c.Number)
}

func TestReportFigures(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	got := report(t, f.reporter(t, nil, dayHistory()), reportTick)
	if got.channel != "C_REPORT" {
		t.Errorf("posted to %q", got.channel)
	}
	m := got.msg
	checkRich(t, m)
	if m.Blocks[0].Kind != message.Header || m.Blocks[0].Text != "Daily report · Mon 3 Mar" {
		t.Errorf("header %+v", m.Blocks[0])
	}

	_, table := tableOf(t, m)
	var cols []string
	for _, c := range table.Columns {
		cols = append(cols, c.Name)
	}
	wantCols := []string{"Team", "Agents seen", "Peak available", "Peak at", "Lowest available", "Lowest at",
		"Min below warning", "Alerts fired", "Alerts acked", "Calls handled", "Avg handle time", "Talk time"}
	if !slices.Equal(cols, wantCols) {
		t.Fatalf("columns %q, want %q", cols, wantCols)
	}
	for _, c := range table.Columns {
		if numeric := !slices.Contains([]string{"Team", "Peak at", "Lowest at"}, c.Name); c.Numeric != numeric {
			t.Errorf("column %s numeric %v, want %v", c.Name, c.Numeric, numeric)
		}
	}
	var rows [][]string
	for _, r := range table.Rows {
		var row []string
		for _, c := range r {
			row = append(row, cellText(c))
		}
		rows = append(rows, row)
	}
	// Lowest availability first. Yesterday's sample (50 available) and the
	// night's (nobody logged in) count for nothing. Minutes below: Sales
	// 12:00–12:29 below 4; Support 15:00–15:44 below 2. Alerts: each
	// team's own, and front-office's in both; "all" is in no team's row.
	want := [][]string{
		{"Support", "6", "2", "08:00", "0", "15:00", "45", "2", "1", "20", "2m 30s", "50m"},
		{"Sales", "8", "6", "09:00", "1", "12:00", "30", "2", "1", "15", "4m 0s", "1h"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\ngot  %q\nwant %q", rows, want)
	}
	// Numbers are numbers, whatever their text.
	if c := table.Rows[1][10]; c.Number != 240 {
		t.Errorf("Sales' handle time cell %+v, want 240 seconds", c)
	}
	if c := table.Rows[0][11]; c.Number != 3000 {
		t.Errorf("Support's talk time cell %+v, want 3000 seconds", c)
	}

	text := sent{msg: m}.text()
	mustContain(t, "report", text,
		// The floor: at most 14 logged in at once (12:00–17:59); available
		// 8 at 09:00 at most, 3 at 12:00 at least.
		"*All teams* · 14 agents seen · available: peak 8 at 09:00, lowest 3 at 12:00 · 35 calls handled, average handle time 3m 9s, talk time 1h 50m",
		// Each rule's minutes below its warning while anyone was logged
		// in (and in its active hours), and its alerts.
		"`sales-floor` (Sales, below 4): 30 min below · 1 fired · 1 acknowledged",
		// 12:00–12:29 (3 available) and 15:00–15:44 (4).
		"`all` (all agents, below 5): 75 min below · 2 fired · 0 acknowledged",
		"`team:support_team` (Support, below 2): 45 min below · 1 fired · 1 acknowledged",
		// 08:00–08:59 (6), 12:00–12:29 (3), 12:30–17:59 (6, or 4 15:00–15:44).
		"`front-office` (Sales + Support, below 7): 420 min below · 1 fired · 0 acknowledged",
		// Sales is at 4 from 13:00 on: below 5 for 300 min.
		"`afternoon` (Sales, below 5): 300 min below · 0 fired · 0 acknowledged",
		// What the figures mean.
		"Agents seen: the most logged in at once.",
		"Calls, handle and talk time: the contact center's figures for the day at 18:00.",
	)
	// The day's chart (Kolkata's day, from midnight) with its figures.
	charts := chartBlocks(m)
	if len(charts) != 1 {
		t.Fatalf("got %d charts, want 1", len(charts))
	}
	if c := charts[0]; c.Title != "Available agents, Mon 3 Mar" || c.Categories[0] != "07:00" || c.Categories[len(c.Categories)-1] != "17:59" {
		t.Errorf("chart %q from %s to %s", c.Title, c.Categories[0], c.Categories[len(c.Categories)-1])
	}
	mustContain(t, "chart figures", text, "*Available agents, Mon 3 Mar* (07:00–17:59, a point every 1h):\nSales: 0 · 4 · 6")
	if got, want := m.Text, "Daily report for Mon 3 Mar: 14 agents seen, 35 calls handled, 5 alerts fired"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}

// The table's fallback is the same figures as a listing, for clients
// and workspaces without tables.
func TestReportClassic(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	m := report(t, f.reporter(t, nil, dayHistory()), reportTick).msg
	block, _ := tableOf(t, m)
	if len(block.Fallback) == 0 {
		t.Fatalf("the table has no fallback")
	}
	classic := sent{msg: m.Classic()}.text()
	mustContain(t, "classic", classic,
		"*Support* (`support_team`): 6 seen · available peak 2 at 08:00, lowest 0 at 15:00 · 45 min below warning · alerts 2 fired, 1 acked · 20 calls · handle 2m 30s · talk 50m",
		"*Sales* (`sales_team`): 8 seen · available peak 6 at 09:00, lowest 1 at 12:00 · 30 min below warning · alerts 2 fired, 1 acked · 15 calls · handle 4m 0s · talk 1h",
		"`sales-floor` (Sales, below 4): 30 min below")
}

// One post per tick, whatever runs it again: another replica that got the
// same tick, or the scheduler retrying it.
func TestReportOncePerTick(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	store := state.NewMemoryStore()
	h := dayHistory()
	report(t, f.reporter(t, store, h), reportTick)
	for _, r := range []*Reporter{f.reporter(t, store, h), f.reporter(t, store, h)} {
		if err := r.Run(context.Background(), reportTick); err != nil {
			t.Fatalf("second run: %v", err)
		}
	}
	if posts, _ := f.poster.take(); len(posts) != 0 {
		t.Errorf("the same tick posted %d more times", len(posts))
	}
	// The next day's tick posts.
	report(t, f.reporter(t, store, h), reportTick.Add(24*time.Hour))
}

// A failed post is undone, so a retried tick posts.
func TestReportFailedPostIsRetried(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	r := f.reporter(t, nil, dayHistory())
	f.poster.setFail(true)
	if err := r.Run(context.Background(), reportTick); !errors.Is(err, errPostFailed) {
		t.Fatalf("Run with a failing post: %v, want the post error", err)
	}
	f.poster.setFail(false)
	report(t, r, reportTick)
}

// Another run's claim on the tick, still within its lease (it is posting,
// or its replica died a moment ago): no post meanwhile. CatchUp takes a
// lapsed claim over (report_delivery_test.go).
func TestReportClaimedTickIsNotPostedAgain(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	store := state.NewMemoryStore()
	log, buf := newLogger()
	// The other replica's claim, left behind.
	if err := store.Save(context.Background(), reportStateKey, ReportState{Tick: reportTick, Claim: "dead-replica", ClaimedAt: reportTick}); err != nil {
		t.Fatal(err)
	}
	snaps := presence.NewSnapshots(f.client, 0, nil)
	r := NewReporter(snaps, f.poster, store, ReportSettings{Channel: "C_REPORT", History: dayHistory()}, log)
	if err := r.Run(context.Background(), reportTick); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 {
		t.Errorf("posted %d times over another replica's claim", len(posts))
	}
	mustContain(t, "log", buf.String(), "another run claimed this report and has not confirmed it")
}

// A replica that dies between its post and its confirmation: simulated by
// another run claiming while the post is in flight. Only the first posts.
func TestReportConcurrentRuns(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	store := state.NewMemoryStore()
	h := dayHistory()
	a, b := f.reporter(t, store, h), f.reporter(t, store, h)
	var bErr error
	f.poster.beforeNextPost(func() { bErr = b.Run(context.Background(), reportTick) })
	if err := a.Run(context.Background(), reportTick); err != nil {
		t.Fatal(err)
	}
	if bErr != nil {
		t.Fatal(bErr)
	}
	if posts, _ := f.poster.take(); len(posts) != 1 {
		t.Errorf("got %d posts, want 1", len(posts))
	}
}

func TestReportOffWithoutChannel(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	h := dayHistory()
	r := NewReporter(presence.NewSnapshots(f.client, 0, nil), f.poster, state.NewMemoryStore(), ReportSettings{History: h}, nil)
	if err := r.Run(context.Background(), reportTick); err != nil {
		t.Fatal(err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 || f.sim.Stats().Total != 0 || h.ranges != 0 {
		t.Errorf("without a channel: %d posts, %d requests, %d history reads; want none", len(posts), f.sim.Stats().Total, h.ranges)
	}
}

// Without history (none recorded yet, or unreadable) the report has the
// contact center's figures and says why the rest is missing.
func TestReportWithoutHistory(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	failing := newFakeHistory()
	failing.err = errors.New("redis down")
	for name, h := range map[string]History{"none recorded": newFakeHistory(), "unreadable": failing, "not configured": nil} {
		t.Run(name, func(t *testing.T) {
			m := report(t, f.reporter(t, nil, h), reportTick).msg
			checkRich(t, m)
			if len(chartBlocks(m)) != 0 {
				t.Errorf("a chart without history")
			}
			_, table := tableOf(t, m)
			var cols []string
			for _, c := range table.Columns {
				cols = append(cols, c.Name)
			}
			if want := []string{"Team", "Calls handled", "Avg handle time", "Talk time"}; !slices.Equal(cols, want) {
				t.Errorf("columns %q, want %q", cols, want)
			}
			mustContain(t, "no history", sent{msg: m}.text(), "No availability history for today")
		})
	}
}

// The contact center down at report time: the history's figures still go
// out, and the report says the call figures are missing.
func TestReportWithoutRoster(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	f.sim.Inject(ccmsim.Fault{Code: 503})
	m := report(t, f.reporter(t, nil, dayHistory()), reportTick).msg
	checkRich(t, m)
	_, table := tableOf(t, m)
	if n := len(table.Columns); n != 9 {
		t.Errorf("%d columns, want the 9 without call figures", n)
	}
	mustContain(t, "no roster", sent{msg: m}.text(), "Call figures unavailable: the contact center did not answer")
}

// A large floor: the 100 teams with the lowest availability in the table
// (Slack's most), the rest said, the chart's 6, and every limit kept, in
// the rich message and the classic one.
func TestReportLargeFloor(t *testing.T) {
	h := newFakeHistory()
	for i := 0; i < 600; i++ {
		counts := map[string]history.Counts{}
		for n := 1; n <= 140; n++ {
			counts[fmt.Sprintf("team_%03d", n)] = history.Counts{Available: n%50 + i%3, OnCall: 20, Offline: 5}
		}
		h.record(ist(8, 0).Add(time.Duration(i)*time.Minute), counts)
	}
	var roster []presence.Agent
	for n := 1; n <= 140; n++ {
		team := presence.Team{ID: fmt.Sprintf("team_%03d", n), Name: fmt.Sprintf("Team %03d with a long display name", n)}
		for a := 0; a < 3; a++ {
			roster = append(roster, withStats(agent(fmt.Sprintf("a%03d_%d", n, a), "Agent", team, presence.Available), 12, 250))
		}
	}
	f := newFixture(t, roster...)
	m := report(t, f.reporter(t, nil, h), reportTick).msg
	checkRich(t, m)
	_, table := tableOf(t, m)
	if len(table.Rows) != message.MaxTableRows {
		t.Errorf("%d rows, want %d", len(table.Rows), message.MaxTableRows)
	}
	// Lowest first: team_050 and team_100 (0 available at their lowest).
	if got := table.Rows[0][0].Text; !strings.HasPrefix(got, "Team 050") {
		t.Errorf("first row %q, want team_050", got)
	}
	if s := chartBlocks(m); len(s) != 1 || len(s[0].Series) != message.MaxChartSeries {
		t.Errorf("chart %+v, want one of 6 series", s)
	}
	mustContain(t, "note", sent{msg: m}.text(), "The table shows the 100 teams with the lowest availability of 140",
		"40 teams left out")
}

// hookStore runs a hook, once, before the next Update: what another
// replica does between this one's read and its write.
type hookStore struct {
	state.Store
	hook func()
}

func (s *hookStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.Store.Update(ctx, key, v, change)
}

// Two runs of a tick that both read it unreported: the claim, a
// compare-and-set, lets only the first to write post.
func TestReportClaimIsACompareAndSet(t *testing.T) {
	f := newFixture(t, reportFloor()...)
	shared := state.NewMemoryStore()
	h := dayHistory()
	other := f.reporter(t, shared, h)
	store := &hookStore{Store: shared}
	store.hook = func() {
		if err := other.Run(context.Background(), reportTick); err != nil {
			t.Errorf("other run: %v", err)
		}
	}
	if err := f.reporter(t, store, h).Run(context.Background(), reportTick); err != nil {
		t.Fatal(err)
	}
	if posts, _ := f.poster.take(); len(posts) != 1 {
		t.Errorf("got %d posts, want 1", len(posts))
	}
}
