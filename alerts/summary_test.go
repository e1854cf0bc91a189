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

func (f *fixture) summarizer(t *testing.T, store state.Store) *Summarizer {
	t.Helper()
	if store == nil {
		store = state.NewMemoryStore()
	}
	// A TTL of 0 reads the roster afresh on every run.
	snaps := presence.NewSnapshots(f.client, 0, func() time.Time { return monday10 })
	return NewSummarizer(snaps, f.poster, store, SummarySettings{Channel: "C_SUMMARY"}, nil)
}

func run(t *testing.T, s *Summarizer, now time.Time) sent {
	t.Helper()
	if err := s.Run(context.Background(), now); err != nil {
		t.Fatalf("Run at %s: %v", now.Format("15:04"), err)
	}
	posts, updates := s.post.(*recorder).take()
	if len(posts) != 1 || len(updates) != 0 {
		t.Fatalf("Run at %s: got %d posts and %d updates, want 1 post", now.Format("15:04"), len(posts), len(updates))
	}
	return posts[0]
}

// sections returns the texts of the message's section blocks.
func sections(m message.Message) []string {
	var out []string
	for _, b := range m.Blocks {
		if b.Kind == message.Section {
			out = append(out, b.Text)
		}
	}
	return out
}

func checkSections(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d sections, want %d:\n%s", len(got), len(want), strings.Join(got, "\n---\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("section %d:\ngot  %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestSummaryContent(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)

	first := run(t, s, at(0))
	if first.channel != "C_SUMMARY" {
		t.Errorf("posted to %q, want C_SUMMARY", first.channel)
	}
	if got, want := first.msg.Blocks[0], message.NewHeader("Presence summary · Mon 10:00"); got.Kind != want.Kind || got.Text != want.Text {
		t.Errorf("header: got %+v, want %+v", got, want)
	}
	if got, want := first.msg.Text, "Presence summary: 9 of 25 agents available, 3 teams"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	checkSections(t, sections(first.msg), []string{
		"*All teams* · 25 agents\n*available 9* · on-call 7 · after-call work 2 · busy 3 · offline 4\n" +
			"Available: Fatima Abdullah, Jane Support, John Agent, Karan Kumar, Kavya Rao, Marco Silva, Meera Nair, Sarah Wong, Wei Tan.",
		"*Billing* (`billing_team`) · 5 agents\n*available 2* · on-call 1 · after-call work 0 · busy 1 · offline 1\n" +
			"Available: Meera Nair, Sarah Wong.",
		"*Sales* (`sales_team`) · 9 agents\n*available 4* · on-call 2 · after-call work 0 · busy 1 · offline 2\n" +
			"Available: Fatima Abdullah, John Agent, Karan Kumar, Marco Silva.",
		"*Support* (`support_team`) · 11 agents\n*available 3* · on-call 4 · after-call work 2 · busy 1 · offline 1\n" +
			"Available: Jane Support, Kavya Rao, Wei Tan.",
	})
	mustContain(t, "first summary", first.text(), "First summary")

	// John (sales) goes busy, Wei (support) takes a call.
	f.force(t, presence.Busy, "agent_001")
	f.force(t, presence.OnCall, "agent_014")
	second := run(t, s, at(time.Hour))
	if got, want := second.msg.Text, "Presence summary: 7 of 25 agents available (-2), 3 teams"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	checkSections(t, sections(second.msg), []string{
		"*All teams* · 25 agents\n*available 7* (-2) · on-call 8 (+1) · after-call work 2 · busy 4 (+1) · offline 4\n" +
			"Available: Fatima Abdullah, Jane Support, Karan Kumar, Kavya Rao, Marco Silva, Meera Nair, Sarah Wong.",
		"*Billing* (`billing_team`) · 5 agents\n*available 2* · on-call 1 · after-call work 0 · busy 1 · offline 1\n" +
			"Available: Meera Nair, Sarah Wong.",
		"*Sales* (`sales_team`) · 9 agents\n*available 3* (-1) · on-call 2 · after-call work 0 · busy 2 (+1) · offline 2\n" +
			"Available: Fatima Abdullah, Karan Kumar, Marco Silva.",
		"*Support* (`support_team`) · 11 agents\n*available 2* (-1) · on-call 5 (+1) · after-call work 2 · busy 1 · offline 1\n" +
			"Available: Jane Support, Kavya Rao.",
	})
	mustContain(t, "second summary", second.text(), "Changes since the previous summary at Mon 10:00.")
}

func TestSummaryChangesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	fileStore := func() state.Store {
		fs, err := state.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	run(t, f.summarizer(t, fileStore()), at(0))

	f.force(t, presence.Available, "agent_008") // Arjun, billing, was offline
	after := run(t, f.summarizer(t, fileStore()), at(time.Hour))
	mustContain(t, "after restart", after.text(), "*available 10* (+1)", "offline 3 (-1)", "*available 3* (+1)",
		"Changes since the previous summary at Mon 10:00.")
}

func TestSummaryFailedPostKeepsPreviousCounts(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)
	run(t, s, at(0))

	f.force(t, presence.Offline, "agent_001")
	f.poster.setFail(true)
	if err := s.Run(context.Background(), at(time.Hour)); !errors.Is(err, errPostFailed) {
		t.Fatalf("Run with a failing post: got %v, want the post error", err)
	}
	f.poster.setFail(false)
	f.poster.take()

	third := run(t, s, at(2*time.Hour))
	mustContain(t, "after a failed post", third.text(), "*available 8* (-1)", "Changes since the previous summary at Mon 10:00.")
}

func TestSummaryAPIFailurePostsNothing(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)
	f.sim.Inject(ccmsim.Fault{Code: 503})
	if err := s.Run(context.Background(), at(0)); !errors.Is(err, presence.ErrServer) {
		t.Errorf("Run with the API down: got %v, want a server error", err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 {
		t.Errorf("got %d posts with the API down, want none", len(posts))
	}
}

func TestSummaryOffWithoutChannel(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	snaps := presence.NewSnapshots(f.client, 0, nil)
	s := NewSummarizer(snaps, f.poster, state.NewMemoryStore(), SummarySettings{}, nil)
	if err := s.Run(context.Background(), at(0)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 || f.sim.Stats().Total != 0 {
		t.Errorf("without a channel: %d posts and %d requests, want none", len(posts), f.sim.Stats().Total)
	}
}

// teams returns n teams team_01 … with names Team 01 ….
func teams(n int) []presence.Team {
	out := make([]presence.Team, n)
	for i := range out {
		out[i] = presence.Team{ID: fmt.Sprintf("team_%02d", i+1), Name: fmt.Sprintf("Team %02d", i+1)}
	}
	return out
}

func TestSummaryLimits(t *testing.T) {
	tests := []struct {
		name         string
		agents       int
		teams        int
		wantSections int // total plus teams shown
		wantFold     string
	}{
		// 40 teams all fit: header, total, divider, 40 teams, context.
		{"5000 agents in 40 teams", 5000, 40, 41, ""},
		// 60 teams: 45 shown, the rest folded into one line.
		{"5000 agents in 60 teams", 5000, 60, 46, "…and 15 teams not shown: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ccmsim.GenerateRoster(tc.agents, teams(tc.teams), monday10, 5)...)
			m := run(t, f.summarizer(t, nil), at(0)).msg
			checkLimits(t, m)
			secs := sections(m)
			if len(secs) != tc.wantSections {
				t.Errorf("got %d sections, want %d", len(secs), tc.wantSections)
			}
			mustContain(t, "total", secs[0], "*All teams* · 5,000 agents", "more.")
			for i, sec := range secs[1:] {
				mustContain(t, "team section", sec, fmt.Sprintf("*Team %02d* (`team_%02d`)", i+1, i+1))
				if n := strings.Count(sec, ","); n > maxSummaryNames {
					t.Errorf("team %d lists %d names, want at most %d", i+1, n+1, maxSummaryNames)
				}
			}
			if tc.wantFold != "" {
				mustContain(t, "fold", sent{msg: m}.text(), tc.wantFold)
				if len(m.Blocks) != message.MaxBlocks {
					t.Errorf("got %d blocks, want exactly %d", len(m.Blocks), message.MaxBlocks)
				}
			}
		})
	}
}

func TestSummaryEscapesAPIText(t *testing.T) {
	evil := presence.Team{ID: "rd<1>", Name: "R&D <!here>"}
	f := newFixture(t, agent("x1", "Eve <@U1>", evil, presence.Available), agent("x2", "", presence.Team{}, presence.Busy))
	m := run(t, f.summarizer(t, nil), at(0))
	text := m.text()
	mustContain(t, "summary", text, "*R&amp;D &lt;!here&gt;* (`rd&lt;1&gt;`)", "Eve &lt;@U1&gt;", "*No team* · 1 agent")
	mustNotContain(t, "summary", text, "<!here>", "<@U1>")
}

// chartBlocks returns the message's charts.
func chartBlocks(m message.Message) []*message.ChartData {
	var out []*message.ChartData
	for _, b := range m.Blocks {
		if b.Kind == message.Chart {
			out = append(out, b.Chart)
		}
	}
	return out
}

// checkRich fails unless m, and m as clients without rich blocks get it,
// fit Slack's limits.
func checkRich(t *testing.T, m message.Message) {
	t.Helper()
	checkLimits(t, m)
	if err := message.ValidateRich(m); err != nil {
		t.Errorf("rich blocks: %v", err)
	}
	classic := m.Classic()
	if classic.HasRich() {
		t.Errorf("Classic() still has rich blocks")
	}
	checkLimits(t, classic)
}

func (f *fixture) summarizerWith(t *testing.T, h History) *Summarizer {
	t.Helper()
	snaps := presence.NewSnapshots(f.client, 0, func() time.Time { return monday10 })
	return NewSummarizer(snaps, f.poster, state.NewMemoryStore(), SummarySettings{Channel: "C_SUMMARY", History: h}, nil)
}

// The demo floor's teams, sampled every minute from 08:00 to 10:00: Sales
// loses one available agent an hour, Support gains one.
func demoHistory() *fakeHistory {
	h := newFakeHistory()
	for i := 0; i <= 120; i++ {
		h.record(at(time.Duration(i-120)*time.Minute), map[string]history.Counts{
			"billing_team": {Available: 2, OnCall: 1, Busy: 1, Offline: 1},
			"sales_team":   {Available: 6 - i/60, OnCall: 1, Offline: 2 + i/60},
			"support_team": {Available: 1 + i/60, OnCall: 8 - i/60, Offline: 2},
		})
	}
	return h
}

func TestSummaryChart(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	m := run(t, f.summarizerWith(t, demoHistory()), at(0)).msg
	checkRich(t, m)

	charts := chartBlocks(m)
	if len(charts) != 1 {
		t.Fatalf("got %d charts, want 1", len(charts))
	}
	c := charts[0]
	// A 6h window at 20-minute points, each labelled with the time of its
	// last sample; samples only since 08:00.
	want := []string{"08:19", "08:39", "08:59", "09:19", "09:39", "09:59", "10:00"}
	if !slices.Equal(c.Categories, want) {
		t.Errorf("categories %v, want %v", c.Categories, want)
	}
	if c.Title != "Available agents, last 6h" {
		t.Errorf("title %q", c.Title)
	}
	got := map[string][]float64{}
	for _, s := range c.Series {
		got[s.Name] = s.Values
	}
	wantSeries := map[string][]float64{
		"Billing": {2, 2, 2, 2, 2, 2, 2},
		"Sales":   {6, 6, 6, 5, 5, 5, 4},
		"Support": {1, 1, 1, 2, 2, 2, 3},
	}
	if !reflect.DeepEqual(got, wantSeries) {
		t.Errorf("series %v, want %v", got, wantSeries)
	}
	// The figures as text, right after the chart, for every client.
	var next message.Block
	for i, b := range m.Blocks {
		if b.Kind == message.Chart {
			next = m.Blocks[i+1]
			if m.Blocks[i-1].Kind != message.Section || !strings.HasPrefix(m.Blocks[i-1].Text, "*All teams*") {
				t.Errorf("the chart follows %+v, want the total", m.Blocks[i-1])
			}
		}
	}
	wantText := "*Available agents, last 6h* (08:19–10:00, a point every 20m):\n" +
		"Billing: 2 · 2 · 2 · 2 · 2 · 2 · 2\nSales: 6 · 6 · 6 · 5 · 5 · 5 · 4\nSupport: 1 · 1 · 1 · 2 · 2 · 2 · 3"
	if next.Kind != message.Context || next.Text != wantText {
		t.Errorf("after the chart: %+v\nwant context %q", next, wantText)
	}
	// The sections are the summary's as before.
	if n := len(sections(m)); n != 4 {
		t.Errorf("got %d sections, want 4", n)
	}
	if classic := m.Classic(); len(classic.Blocks) != len(m.Blocks)-1 || !strings.Contains(sent{msg: classic}.text(), wantText) {
		t.Errorf("classic: want the chart gone and its figures kept")
	}
}

// The first sample is a chart of one point.
func TestSummaryChartFromFirstSample(t *testing.T) {
	h := newFakeHistory()
	h.record(at(0), map[string]history.Counts{"sales_team": {Available: 4}})
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	m := run(t, f.summarizerWith(t, h), at(0)).msg
	checkRich(t, m)
	charts := chartBlocks(m)
	if len(charts) != 1 || !slices.Equal(charts[0].Categories, []string{"10:00"}) || len(charts[0].Series) != 1 ||
		charts[0].Series[0].Name != "Sales" || !slices.Equal(charts[0].Series[0].Values, []float64{4}) {
		t.Fatalf("charts %+v, want Sales at 4 at 10:00", charts)
	}
	mustContain(t, "one point", sent{msg: m}.text(), "*Available agents, last 6h* (10:00):\nSales: 4")
}

// No history recorded, none readable, or none configured: the summary as
// it always was.
func TestSummaryWithoutHistory(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	plain := run(t, f.summarizer(t, nil), at(0)).msg
	failing := newFakeHistory()
	failing.err = errors.New("redis down")
	for name, h := range map[string]History{"empty": newFakeHistory(), "unreadable": failing} {
		m := run(t, f.summarizerWith(t, h), at(0)).msg
		if m.HasRich() || !reflect.DeepEqual(m.Blocks, plain.Blocks) {
			t.Errorf("%s history: blocks differ from the summary without history", name)
		}
	}
}

// 60 teams: the 6 with the fewest available now are charted, the rest
// said to be left out, and the message still fits.
func TestSummaryChartManyTeams(t *testing.T) {
	h := newFakeHistory()
	for i := 0; i < 3; i++ {
		counts := map[string]history.Counts{}
		for n := 1; n <= 60; n++ {
			// team_13 … team_18 have the fewest at the last sample.
			avail := 10 + n%7
			if i == 2 && n >= 13 && n <= 18 {
				avail = n - 13
			}
			counts[fmt.Sprintf("team_%02d", n)] = history.Counts{Available: avail, Busy: 3}
		}
		h.record(at(time.Duration(i-2)*time.Hour), counts)
	}
	f := newFixture(t, ccmsim.GenerateRoster(5000, teams(60), monday10, 5)...)
	m := run(t, f.summarizerWith(t, h), at(0)).msg
	checkRich(t, m)
	charts := chartBlocks(m)
	if len(charts) != 1 {
		t.Fatalf("got %d charts", len(charts))
	}
	var names []string
	for _, s := range charts[0].Series {
		names = append(names, s.Name)
	}
	if want := []string{"Team 13", "Team 14", "Team 15", "Team 16", "Team 17", "Team 18"}; !slices.Equal(names, want) {
		t.Errorf("series %v, want %v", names, want)
	}
	mustContain(t, "left out", sent{msg: m}.text(),
		"_54 teams left out of the chart: it shows the 6 with the fewest available at 10:00._", "…and 17 teams not shown: ")
	if len(m.Blocks) != message.MaxBlocks {
		t.Errorf("%d blocks, want exactly %d", len(m.Blocks), message.MaxBlocks)
	}
}

// Team names from the API are escaped in the chart and its figures, and
// fit the 20-character limit.
func TestSummaryChartEscapesNames(t *testing.T) {
	evil := presence.Team{ID: "rd", Name: "R&D <!here> and a very long name"}
	h := newFakeHistory()
	h.record(at(0), map[string]history.Counts{"rd": {Available: 1}})
	f := newFixture(t, agent("x1", "Eve", evil, presence.Available))
	m := run(t, f.summarizerWith(t, h), at(0)).msg
	checkRich(t, m)
	if got := chartBlocks(m)[0].Series[0].Name; got != "R&amp;D &lt;!here…" {
		t.Errorf("series name %q", got)
	}
	mustNotContain(t, "chart figures", sent{msg: m}.text(), "<!here>")
}

func TestChartStep(t *testing.T) {
	tests := []struct {
		span, finest, want time.Duration
	}{
		{6 * time.Hour, time.Minute, 20 * time.Minute},    // 18m rounds up to 20m
		{18 * time.Hour, time.Minute, time.Hour},          // a day to 18:00
		{10 * time.Minute, time.Minute, time.Minute},      // a short demo day
		{10 * time.Minute, 10 * time.Second, time.Minute}, // never finer than a minute
		{time.Hour, 5 * time.Minute, 5 * time.Minute},     // never finer than the history
		{48 * time.Hour, time.Minute, 3 * time.Hour},      // 2.4h
	}
	for _, tt := range tests {
		if got := chartStep(tt.span, tt.finest); got != tt.want {
			t.Errorf("chartStep(%s, %s) = %s, want %s", tt.span, tt.finest, got, tt.want)
		}
	}
}
