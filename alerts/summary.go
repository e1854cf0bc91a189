package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// summaryStateKey is where the last summary's counts are kept.
const summaryStateKey = "summary"

// Caps that keep a summary of any roster inside Slack's limits.
const (
	maxSummaryNames = 10 // names listed per team
	maxTotalNames   = 20 // names listed for all teams
	// summaryFixedBlocks are the header, the total, the divider and the
	// closing context.
	summaryFixedBlocks = 4
)

// noTeam is how agents without a team are grouped.
const noTeam = "No team"

// RosterSource gives the whole roster; presence.Snapshots is one, shared
// with /presence (and, with REDIS_URL, with every replica).
type RosterSource interface {
	Get(ctx context.Context) (*presence.Snapshot, error)
}

// History is what the summary and the daily report read of the recorded
// counts and alert events (history.Recorder implements it).
type History interface {
	Range(ctx context.Context, teams []string, from, to time.Time, step time.Duration) (map[string][]history.Point, error)
	Teams(ctx context.Context, from, to time.Time) ([]history.TeamName, error)
	Alerts(ctx context.Context, from, to time.Time) ([]history.AlertEvent, error)
}

// SummarySettings configure the summary (main converts config.Summary).
type SummarySettings struct {
	// Channel is where it is posted; "" turns the summary off.
	Channel string
	// Location is the zone of times in it; nil is UTC.
	Location *time.Location
	// History, when set, gives the summary its chart: available agents
	// per team over the last ChartWindow. nil: no chart.
	History History
	// ChartWindow is how far back the chart goes; 0 is
	// defaultChartWindow.
	ChartWindow time.Duration
	// Resolution is the history's finest step (the chart's points are
	// never closer); 0 is a minute.
	Resolution time.Duration
}

// defaultChartWindow is the summary chart's span: a shift's morning or
// afternoon, at 20-minute points.
const defaultChartWindow = 6 * time.Hour

// SummaryState is what a summary remembers of the previous one, so it can
// show the change since.
type SummaryState struct {
	At    time.Time                   `json:"at"`
	Total presence.Summary            `json:"total"`
	Teams map[string]presence.Summary `json:"teams,omitempty"`
}

// Summarizer posts the team summary.
type Summarizer struct {
	src   RosterSource
	post  Poster
	store state.Store
	set   SummarySettings
	log   *slog.Logger
}

// NewSummarizer returns a summarizer; log may be nil.
func NewSummarizer(src RosterSource, post Poster, store state.Store, s SummarySettings, log *slog.Logger) *Summarizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.ChartWindow <= 0 {
		s.ChartWindow = defaultChartWindow
	}
	if s.Resolution <= 0 {
		s.Resolution = time.Minute
	}
	return &Summarizer{src: src, post: post, store: store, set: s, log: log.With("component", "summary")}
}

// teamCount is one team's counts and who is available.
type teamCount struct {
	id, name  string
	sum       presence.Summary
	available []string
}

// Run posts one summary at now (the tick), then remembers its counts. A
// failed post remembers nothing, so the next summary's changes still count
// from the last one people saw.
func (s *Summarizer) Run(ctx context.Context, now time.Time) error {
	if s.set.Channel == "" {
		return nil
	}
	snap, err := s.src.Get(ctx)
	if err != nil {
		return fmt.Errorf("summary: read roster: %w", err)
	}
	total, teams := countRoster(snap)

	var prev SummaryState
	found, err := s.store.Load(ctx, summaryStateKey, &prev)
	if err != nil {
		// Only the changes are lost; the summary still goes out.
		s.log.Error("previous summary unreadable; showing no changes", "err", err)
		found = false
	}
	var prevp *SummaryState
	if found {
		prevp = &prev
	}
	var stale string
	if snap.Stale(now) {
		// Kept past the TTL while the API budget is busy: said so.
		stale = message.StaleNote(snap.Age(now))
	}
	m := s.message(total, teams, prevp, now, stale, s.trend(ctx, teams, now))
	if _, err := s.post.Post(ctx, s.set.Channel, m); err != nil {
		return fmt.Errorf("summary: post: %w", err)
	}
	cur := SummaryState{At: now, Total: total.sum, Teams: make(map[string]presence.Summary, len(teams))}
	for _, t := range teams {
		cur.Teams[t.id] = t.sum
	}
	if err := s.store.Save(ctx, summaryStateKey, cur); err != nil {
		return fmt.Errorf("summary: remember counts: %w", err)
	}
	return nil
}

// countRoster counts the roster in all and per team, sorted by team name
// with agents without a team last.
func countRoster(snap *presence.Snapshot) (teamCount, []*teamCount) {
	total := teamCount{}
	byID := map[string]*teamCount{}
	for ag := range snap.All() {
		t := byID[ag.TeamID()]
		if t == nil {
			t = &teamCount{id: ag.TeamID(), name: cmp.Or(ag.TeamName(), noTeam)}
			byID[ag.TeamID()] = t
		}
		t.sum.Add(ag.Status)
		total.sum.Add(ag.Status)
		if ag.Status == presence.Available {
			name := cmp.Or(ag.Name, ag.ID)
			t.available = append(t.available, name)
			total.available = append(total.available, name)
		}
	}
	teams := make([]*teamCount, 0, len(byID))
	for _, t := range byID {
		slices.Sort(t.available)
		teams = append(teams, t)
	}
	slices.Sort(total.available)
	slices.SortFunc(teams, func(a, b *teamCount) int {
		if (a.id == "") != (b.id == "") {
			if a.id == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.id, b.id))
	})
	return total, teams
}

// trend is the summary's chart from the history, or nil without history
// (none configured, none recorded yet, or unreadable: the summary goes
// out as before).
func (s *Summarizer) trend(ctx context.Context, teams []*teamCount, now time.Time) *trend {
	if s.set.History == nil {
		return nil
	}
	from := now.Add(-s.set.ChartWindow)
	step := chartStep(s.set.ChartWindow, s.set.Resolution)
	points, err := s.set.History.Range(ctx, nil, from, now, step)
	if err != nil {
		s.log.Warn("history unreadable; the summary goes without its chart", "err", err)
		return nil
	}
	names := make(map[string]string, len(teams))
	for _, t := range teams {
		names[t.id] = t.name
	}
	title := "Available agents, last " + message.Duration(s.set.ChartWindow)
	return buildTrend(points, names, title, step, s.set.Location, nil, "")
}

// message renders the summary, with the stale note (if any) before its
// closing one. It fits Slack's limits for any roster: names are capped per
// team, and past the block limit the smallest part of the list is folded
// into one line. A trend, when there is one, follows the total: its chart
// and its figures as text.
func (s *Summarizer) message(total teamCount, teams []*teamCount, prev *SummaryState, now time.Time, stale string, tr *trend) message.Message {
	var prevTotal *presence.Summary
	if prev != nil {
		prevTotal = &prev.Total
	}
	header := "Presence summary · " + now.In(s.set.Location).Format("Mon 15:04")
	totalText := fmt.Sprintf("*All teams* · %s\n%s", message.Plural(total.sum.Total, "agent"), countsLine(total.sum, prevTotal))
	if w := listNames(total.available, len(total.available), maxTotalNames); w != "" {
		totalText += "\n" + w
	}
	blocks := []message.Block{message.NewHeader(header), message.NewSection(totalText)}
	room := message.MaxBlocks - summaryFixedBlocks
	if tr != nil {
		blocks = append(blocks, tr.blocks()...)
		room -= len(tr.blocks())
	}
	blocks = append(blocks, message.NewDivider())
	if stale != "" {
		room--
	}
	shown := teams
	if len(teams) > room {
		shown = teams[:room-1] // one block left for the fold
	}
	for _, t := range shown {
		var p *presence.Summary
		if prev != nil {
			if ps, ok := prev.Teams[t.id]; ok {
				p = &ps
			}
		}
		blocks = append(blocks, message.NewSection(teamText(t, p)))
	}
	if rest := teams[len(shown):]; len(rest) > 0 {
		var sum presence.Summary
		for _, t := range rest {
			sum.Total += t.sum.Total
			sum.Available += t.sum.Available
		}
		blocks = append(blocks, message.NewContext(fmt.Sprintf("…and %s not shown: %s available of %s.",
			message.Plural(len(rest), "team"), message.Thousands(sum.Available), message.Plural(sum.Total, "agent"))))
	}
	if stale != "" {
		blocks = append(blocks, message.NewContext(stale))
	}
	note := "First summary: changes since the previous one show from the next."
	if prev != nil {
		note = "Changes since the previous summary at " + prev.At.In(s.set.Location).Format("Mon 15:04") + "."
	}
	blocks = append(blocks, message.NewContext(note))

	text := fmt.Sprintf("Presence summary: %s of %s available%s, %s",
		message.Thousands(total.sum.Available), message.Plural(total.sum.Total, "agent"),
		delta(total.sum.Available, prevTotal, presence.Available), message.Plural(len(teams), "team"))
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

func teamText(t *teamCount, prev *presence.Summary) string {
	title := "*" + clean(t.name) + "*"
	if t.id != "" {
		title += " (`" + clean(t.id) + "`)"
	}
	text := fmt.Sprintf("%s · %s\n%s", title, message.Plural(t.sum.Total, "agent"), countsLine(t.sum, prev))
	if w := listNames(t.available, len(t.available), maxSummaryNames); w != "" {
		text += "\n" + w
	}
	return text
}

// countsLine is "*available 4* (+1) · on-call 3 (-2) · …" in the order
// of presence.Statuses; changes show when there is a previous count.
func countsLine(sum presence.Summary, prev *presence.Summary) string {
	parts := make([]string, 0, len(presence.Statuses))
	for _, st := range presence.Statuses {
		part := st.Label() + " " + message.Thousands(sum.Count(st))
		if st == presence.Available {
			part = "*" + part + "*"
		}
		parts = append(parts, part+delta(sum.Count(st), prev, st))
	}
	return strings.Join(parts, " · ")
}

// delta is " (+3)" or " (-2)" against the previous count, or "".
func delta(n int, prev *presence.Summary, st presence.Status) string {
	if prev == nil {
		return ""
	}
	switch d := n - prev.Count(st); {
	case d > 0:
		return " (+" + message.Thousands(d) + ")"
	case d < 0:
		return " (" + message.Thousands(d) + ")"
	}
	return ""
}

// listNames is "Available: A, B and 3 more." for count available agents
// of whom names are known, or "" when none is named.
func listNames(names []string, count, limit int) string {
	if len(names) == 0 {
		return ""
	}
	shown := names[:min(len(names), limit)]
	out := make([]string, len(shown))
	for i, n := range shown {
		out[i] = clean(n)
	}
	s := "Available: " + strings.Join(out, ", ")
	if more := count - len(shown); more > 0 {
		s += " and " + message.Thousands(more) + " more"
	}
	return s + "."
}

// trend is a line chart of available agents per team, with its figures
// as text: a chart always travels with them (screen readers,
// notifications, clients and workspaces without charts).
type trend struct {
	chart message.ChartData
	text  string // the figures, mrkdwn, escaped
}

// blocks are the chart, without fallback (Classic drops it: its figures
// already follow), and its figures.
func (t *trend) blocks() []message.Block {
	return []message.Block{message.NewChart(t.chart), message.NewContext(t.text)}
}

// chartSteps are the steps a chart's points may be apart: round ones, so
// the labels read as times on a clock.
var chartSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 20 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// chartStep is the smallest round step, no finer than the history keeps
// (finest), that puts span in Slack's 20 points.
func chartStep(span, finest time.Duration) time.Duration {
	want := max(finest, (span+message.MaxChartPoints-1)/message.MaxChartPoints)
	for _, s := range chartSteps {
		if s >= want {
			return s
		}
	}
	return want.Round(time.Hour)
}

// buildTrend charts the available agents of the teams in points (the
// history's Range), one category per step of the clock in loc with a
// sample (the last 20), at the step's last sample, one series per team:
// all of them up to 6, else the first 6 of prefer (why says which they
// are), or without prefer the 6 with the fewest available at the last
// point (those a supervisor watches); the others are said to be left out.
// The whole floor ("") is a series only when no team is recorded. names
// are the teams' display names (missing: the ID). nil when there is no
// point.
func buildTrend(points map[string][]history.Point, names map[string]string, title string, step time.Duration,
	loc *time.Location, prefer []string, why string) *trend {
	// Steps are counted on loc's clock, so hourly points fall on its hours.
	bucket := func(t time.Time) int64 {
		_, off := t.In(loc).Zone()
		return (t.Unix() + int64(off)) / int64(step/time.Second)
	}
	// bucket -> the latest sample time in it; per team, bucket -> available.
	at := map[int64]time.Time{}
	avail := make(map[string]map[int64]int, len(points))
	last := make(map[string]map[int64]time.Time, len(points))
	for id, pts := range points {
		for _, p := range pts {
			k := bucket(p.At)
			if p.At.After(at[k]) {
				at[k] = p.At
			}
			if avail[id] == nil {
				avail[id], last[id] = map[int64]int{}, map[int64]time.Time{}
			}
			if !p.At.Before(last[id][k]) {
				avail[id][k], last[id][k] = p.Counts.Available, p.At
			}
		}
	}
	keys := make([]int64, 0, len(at))
	for k := range at {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = keys[max(0, len(keys)-message.MaxChartPoints):]

	// The teams with a point among the kept steps.
	var ids []string
	for id, byKey := range avail {
		if id == "" || !slices.ContainsFunc(keys, func(k int64) bool { _, ok := byKey[k]; return ok }) {
			continue
		}
		ids = append(ids, id)
	}
	floorOnly := len(ids) == 0
	if floorOnly {
		if _, ok := avail[""]; !ok {
			return nil
		}
		ids = []string{""}
	}
	display := func(id string) string {
		if id == "" && floorOnly {
			return "All teams"
		}
		return cmp.Or(names[id], id, noTeam)
	}
	lastKey := keys[len(keys)-1]
	// Fewest available now first; then by name, for a stable choice.
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(avail[a][lastKey], avail[b][lastKey]),
			cmp.Compare(strings.ToLower(display(a)), strings.ToLower(display(b))), cmp.Compare(a, b))
	})
	if prefer != nil {
		rank := make(map[string]int, len(prefer))
		for i, id := range prefer {
			rank[id] = i + 1
		}
		byRank := func(id string) int { return cmp.Or(rank[id], len(prefer)+1) }
		slices.SortStableFunc(ids, func(a, b string) int { return cmp.Compare(byRank(a), byRank(b)) })
	}
	left := max(0, len(ids)-message.MaxChartSeries)
	shown := ids[:len(ids)-left]
	slices.SortFunc(shown, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.ToLower(display(a)), strings.ToLower(display(b))), cmp.Compare(a, b))
	})

	cats := categories(keys, at, loc)
	c := message.ChartData{Title: message.Truncate(title, message.MaxChartTitle), Categories: cats, YLabel: "available"}
	used := map[string]bool{}
	var text strings.Builder
	fmt.Fprintf(&text, "*%s* (%s", clean(title), cats[0])
	if len(cats) > 1 {
		fmt.Fprintf(&text, "–%s, a point every %s", cats[len(cats)-1], message.Duration(step))
	}
	text.WriteString("):")
	for _, id := range shown {
		values := make([]float64, len(keys))
		figures := make([]string, len(keys))
		for i, k := range keys {
			n := avail[id][k] // no sample of the team in a step: nobody of it
			values[i], figures[i] = float64(n), message.Thousands(n)
		}
		c.Series = append(c.Series, message.Series{Name: seriesName(display(id), id, used), Values: values})
		fmt.Fprintf(&text, "\n%s: %s", clean(display(id)), strings.Join(figures, " · "))
	}
	if left > 0 {
		if why == "" {
			why = fmt.Sprintf("the %d with the fewest available at %s", len(shown), cats[len(cats)-1])
		}
		fmt.Fprintf(&text, "\n_%s left out of the chart: it shows %s._", message.Plural(left, "team"), why)
	}
	return &trend{chart: c, text: text.String()}
}

// categories labels the steps by the time of their last sample: "15:20",
// made distinct where times repeat (message.UniqueLabels).
func categories(keys []int64, at map[int64]time.Time, loc *time.Location) []string {
	times := make([]time.Time, len(keys))
	for i, k := range keys {
		times[i] = at[k]
	}
	return message.UniqueLabels(times, loc, "15:04")
}

// seriesName is a team's name as a series name: escaped, at most 20
// runes, distinct among used (then the ID, then a number is added).
func seriesName(name, id string, used map[string]bool) string {
	for _, cand := range []string{name, id} {
		if s := fitLabel(cand, message.MaxChartLabel); s != "" && !used[s] {
			used[s] = true
			return s
		}
	}
	for n := 2; ; n++ {
		suffix := fmt.Sprintf(" %d", n)
		s := fitLabel(name, message.MaxChartLabel-len(suffix)) + suffix
		if !used[s] {
			used[s] = true
			return s
		}
	}
}

// fitLabel escapes s and cuts it (marking the cut) so the escaped text
// has at most n runes; an escape is never cut in half.
func fitLabel(s string, n int) string {
	r := []rune(s)
	for k := len(r); k > 0; k-- {
		cand := string(r[:k])
		if k < len(r) {
			cand += "…"
		}
		if e := message.Escape(cand); utf8.RuneCountInString(e) <= n {
			return e
		}
	}
	return ""
}
