package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// reportStateKey is where the last report's claim is kept.
const reportStateKey = "report"

// Layout of the report's table and listing.
const (
	reportPageSize  = 10 // rows per page of the table
	maxReportName   = 40 // runes of a team's name in the table
	maxRuleSections = 3  // sections listing the rules
	// confirmReportTimeout bounds the save that follows the post, made
	// even when the run's context has ended (see Run).
	confirmReportTimeout = 2 * time.Second
)

// ReportSettings configure the daily report (main converts config.Report
// and the alert rules).
type ReportSettings struct {
	// Channel is where it is posted; "" turns the report off.
	Channel string
	// Location is the zone of the report's day and times; nil is UTC.
	Location *time.Location
	// History gives the day's counts and alerts; nil: only the contact
	// center's figures.
	History History
	// Rules are the availability rules: the minutes below each one's
	// warning threshold are counted (Name, Teams, Warning and Active are
	// read).
	Rules []AvailabilityRule
	// Resolution is the history's finest step: a sample stands for at
	// most this long. 0 is a minute.
	Resolution time.Duration
}

// ReportState is the claim of the last report: the tick it is for, and,
// until its post is confirmed, the run that claimed it.
type ReportState struct {
	Tick time.Time `json:"tick"`
	// Claim names the run that claimed Tick and has not confirmed its
	// post; "" once confirmed.
	Claim string `json:"claim,omitempty"`
	// TS is the posted message's timestamp, once confirmed.
	TS string `json:"ts,omitempty"`
}

// Reporter posts the daily report.
type Reporter struct {
	src   RosterSource
	post  Poster
	store state.Store
	set   ReportSettings
	log   *slog.Logger
}

// NewReporter returns a reporter; log may be nil.
func NewReporter(src RosterSource, post Poster, store state.Store, s ReportSettings, log *slog.Logger) *Reporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.Resolution <= 0 {
		s.Resolution = time.Minute
	}
	return &Reporter{src: src, post: post, store: store, set: s, log: log.With("component", "report")}
}

// Run posts the report of tick's day (from midnight in Location to tick)
// once for the tick, whatever runs it.
//
// The scheduler runs a tick on one replica; a tick run again (another
// replica after this one died, a retry) finds the claim this run saved
// before posting, and posts nothing. The claim is a compare-and-set in
// the shared store, saved before the post, so two runs of one tick never
// both post; a failed post gives the claim back, so a run of the tick
// again posts. A replica that dies between its claim and its
// confirmation leaves a claim that nobody can tell posted from not: it
// is taken as posted (at most once, never twice), and logged.
func (r *Reporter) Run(ctx context.Context, tick time.Time) error {
	if r.set.Channel == "" {
		return nil
	}
	// Read first, so a tick already reported costs no history or roster.
	var st ReportState
	found, err := r.store.Load(ctx, reportStateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		// Better a report twice than never again.
		r.log.Error("report state is corrupt; starting afresh", "err", err)
		if err := r.store.Save(ctx, reportStateKey, ReportState{}); err != nil {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: replace corrupt state: %w", err))
		}
	case err != nil:
		return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: load state: %w", err))
	case found && !st.Tick.Before(tick):
		r.already(st, tick)
		return nil
	}

	m := r.build(ctx, tick)

	claim := newPollID()
	var prev, cur ReportState
	claimed := false
	err = r.store.Update(ctx, reportStateKey, &cur, func(found bool) (bool, error) {
		if found && !cur.Tick.Before(tick) {
			claimed = false
			return false, nil
		}
		prev, claimed = cur, true
		cur = ReportState{Tick: tick, Claim: claim}
		return true, nil
	})
	if err != nil {
		return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: claim the tick: %w", err))
	}
	if !claimed {
		r.already(cur, tick)
		return nil
	}

	ts, postErr := r.post.Post(ctx, r.set.Channel, m)
	// What follows is saved even when ctx has ended (shutdown, deadline),
	// briefly: a claim left behind would stop a retry of a failed post,
	// or be logged as a post unconfirmed.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmReportTimeout)
	defer cancel()
	err = r.store.Update(sctx, reportStateKey, &cur, func(bool) (bool, error) {
		if cur.Claim != claim || !cur.Tick.Equal(tick) {
			return false, nil // not ours any more: leave it
		}
		if postErr != nil {
			cur = prev // given back: a run of this tick again posts
		} else {
			cur.Claim, cur.TS = "", ts
		}
		return true, nil
	})
	if postErr != nil {
		return errors.Join(fmt.Errorf("report: post: %w", postErr), wrapErr("report: give back the claim", err))
	}
	if err != nil {
		// Posted; the claim stays, which is read as posted too.
		return fmt.Errorf("report: confirm the post: %w", err)
	}
	r.log.Info("daily report posted", "tick", tick, "channel", r.set.Channel)
	return nil
}

// already logs why a run posts nothing: its tick is reported.
func (r *Reporter) already(st ReportState, tick time.Time) {
	if st.Claim != "" && st.Tick.Equal(tick) {
		r.log.Warn("another run claimed this report and has not confirmed it (still posting, or its replica died); not posting it again",
			"tick", tick)
		return
	}
	r.log.Debug("report already posted for this tick", "tick", tick, "reported", st.Tick)
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// build reads the day and renders the report. What cannot be read is
// left out and said: the report goes out with the rest.
func (r *Reporter) build(ctx context.Context, tick time.Time) message.Message {
	loc := r.set.Location
	y, mo, d := tick.In(loc).Date()
	in := reportInput{
		from: time.Date(y, mo, d, 0, 0, 0, 0, loc), to: tick, loc: loc,
		rules: r.set.Rules, resolution: r.set.Resolution, names: map[string]string{},
	}
	if h := r.set.History; h == nil {
		in.historyNote = "history is off"
	} else if err := in.readHistory(ctx, h); err != nil {
		r.log.Warn("history unreadable; the report goes without it", "err", err)
		in.points, in.events = nil, nil
		in.historyNote = "it could not be read"
	}
	snap, err := r.src.Get(ctx)
	if err != nil {
		r.log.Warn("roster unreadable; the report goes without the call figures", "err", err)
	} else {
		in.snap = snap
		if snap.Stale(tick) {
			in.stale = message.StaleNote(snap.Age(tick))
		}
	}
	return in.message()
}

// reportInput is what a report is made of.
type reportInput struct {
	from, to    time.Time
	loc         *time.Location
	rules       []AvailabilityRule
	resolution  time.Duration
	points      map[string][]history.Point // per team ID, "" the floor
	events      []history.AlertEvent
	names       map[string]string // team display names from the history
	historyNote string            // why there is no history, when there is none
	snap        *presence.Snapshot
	stale       string
}

func (in *reportInput) readHistory(ctx context.Context, h History) error {
	var err error
	if in.points, err = h.Range(ctx, nil, in.from, in.to, in.resolution); err != nil {
		return fmt.Errorf("read counts: %w", err)
	}
	if in.events, err = h.Alerts(ctx, in.from, in.to); err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	teams, err := h.Teams(ctx, in.from, in.to)
	if err != nil {
		return fmt.Errorf("read team names: %w", err)
	}
	for _, t := range teams {
		in.names[t.ID] = t.Name
	}
	return nil
}

// dayFigures are one team's (or the floor's) figures for the day.
type dayFigures struct {
	id, name string
	// sampled: the history has the team today; anyIn: at a sample with
	// anyone of it logged in, which peak and low are taken from.
	sampled, anyIn bool
	seen           int // the most logged in at once
	peak, low      int
	peakAt, lowAt  time.Time
	// below is the minutes below the team's own rule's warning (ownRule).
	below   time.Duration
	ownRule bool
	fired   int
	acked   int
	// The contact center's stats (withStats: any agent had them).
	withStats     bool
	calls         int
	handleSeconds int // Σ avg_handle_time × calls
	talkSeconds   int
}

// handle is the average handle time over the calls, in seconds.
func (f dayFigures) handle() float64 {
	if f.calls == 0 {
		return 0
	}
	return float64(f.handleSeconds) / float64(f.calls)
}

// ruleFigures are one availability rule's figures for the day.
type ruleFigures struct {
	rule         AvailabilityRule
	scope        string // "Sales + Support", "all agents"; escaped
	below        time.Duration
	fired, acked int
}

// span is how long the sample at i stands for: until the next one, or
// the report's end, at most the resolution (a gap in the history, such
// as the bot stopped, counts for nothing).
func span(pts []history.Point, i int, to time.Time, res time.Duration) time.Duration {
	end := to
	if i+1 < len(pts) {
		end = pts[i+1].At
	}
	return max(0, min(end.Sub(pts[i].At), res))
}

// tallyDay reads a series of samples (sorted by time) into f.
func tallyDay(f *dayFigures, pts []history.Point) {
	for _, p := range pts {
		f.sampled = true
		c := p.Counts
		f.seen = max(f.seen, c.LoggedIn())
		if c.LoggedIn() == 0 {
			continue // nobody to be available: no peak, no low
		}
		if !f.anyIn || c.Available > f.peak {
			f.peak, f.peakAt = c.Available, p.At
		}
		if !f.anyIn || c.Available < f.low {
			f.low, f.lowAt = c.Available, p.At
		}
		f.anyIn = true
	}
}

// belowFor is how long the series was below warning while anyone was
// logged in and active says the rule could fire (nil: always).
func belowFor(pts []history.Point, warning int, active func(time.Time) bool, to time.Time, res time.Duration) time.Duration {
	var d time.Duration
	for i, p := range pts {
		if p.Counts.LoggedIn() > 0 && p.Counts.Available < warning && (active == nil || active(p.At)) {
			d += span(pts, i, to, res)
		}
	}
	return d
}

// sumSeries adds up teams' series sample by sample (the teams of one
// sample share its time).
func sumSeries(points map[string][]history.Point, teams []string) []history.Point {
	byAt := map[time.Time]history.Counts{}
	for _, id := range teams {
		for _, p := range points[id] {
			c := byAt[p.At]
			c.Available += p.Counts.Available
			c.OnCall += p.Counts.OnCall
			c.AfterCallWork += p.Counts.AfterCallWork
			c.Busy += p.Counts.Busy
			c.Offline += p.Counts.Offline
			byAt[p.At] = c
		}
	}
	out := make([]history.Point, 0, len(byAt))
	for at, c := range byAt {
		out = append(out, history.Point{At: at, Counts: c})
	}
	slices.SortFunc(out, func(a, b history.Point) int { return a.At.Compare(b.At) })
	return out
}

// figures computes the day per team (lowest availability first), for the
// floor, and per rule. Teams are those of the history and of the roster.
func (in *reportInput) figures() (floor dayFigures, teams []*dayFigures, rules []ruleFigures) {
	byID := map[string]*dayFigures{}
	team := func(id string) *dayFigures {
		f := byID[id]
		if f == nil {
			f = &dayFigures{id: id, name: cmp.Or(in.names[id], id)}
			byID[id] = f
		}
		return f
	}
	var teamIDs []string
	for id, pts := range in.points {
		slices.SortFunc(pts, func(a, b history.Point) int { return a.At.Compare(b.At) })
		if id != "" {
			teamIDs = append(teamIDs, id)
			tallyDay(team(id), pts)
		}
	}
	floorPts, ok := in.points[""]
	if !ok {
		floorPts = sumSeries(in.points, teamIDs)
	}
	floor = dayFigures{name: "All teams"}
	tallyDay(&floor, floorPts)

	if in.snap != nil {
		for ag := range in.snap.All() {
			var f *dayFigures
			if id := ag.TeamID(); id != "" {
				f = team(id)
				if n := ag.TeamName(); n != "" {
					f.name = n // the roster's name is the current one
				}
			}
			for _, g := range []*dayFigures{f, &floor} {
				if g == nil {
					continue
				}
				g.withStats = true
				if s := ag.Stats; s != nil {
					g.calls += s.CallsHandledToday
					g.handleSeconds += s.AvgHandleTime * s.CallsHandledToday
					g.talkSeconds += s.TotalTalkTime
				}
			}
		}
	}

	for _, r := range in.rules {
		rf := ruleFigures{rule: r, scope: "all agents"}
		var pts []history.Point
		switch len(r.Teams) {
		case 0:
			pts = floorPts
		case 1:
			pts = in.points[r.Teams[0]]
		default:
			pts = sumSeries(in.points, r.Teams)
		}
		if len(r.Teams) > 0 {
			names := make([]string, len(r.Teams))
			for i, id := range r.Teams {
				names[i] = clean(cmp.Or(in.names[id], id))
				if f := byID[id]; f != nil {
					names[i] = clean(f.name)
				}
			}
			rf.scope = strings.Join(names, " + ")
		}
		rf.below = belowFor(pts, r.Warning, r.Active, in.to, in.resolution)
		if len(r.Teams) == 1 {
			// The team's own rule: the first naming it alone. A team
			// neither recorded nor in the roster has no row.
			if f := byID[r.Teams[0]]; f != nil && !f.ownRule {
				f.ownRule, f.below = true, rf.below
			}
		}
		rules = append(rules, rf)
	}
	for _, e := range in.events {
		for i := range rules {
			if rules[i].rule.Name == e.Rule {
				countEvent(&rules[i].fired, &rules[i].acked, e.Kind)
			}
		}
		for _, id := range e.Teams {
			if f := byID[id]; f != nil {
				countEvent(&f.fired, &f.acked, e.Kind)
			}
		}
	}

	for _, f := range byID {
		teams = append(teams, f)
	}
	// Lowest availability first (teams without a sample with anyone in
	// last), then by name.
	slices.SortFunc(teams, func(a, b *dayFigures) int {
		if a.anyIn != b.anyIn {
			if a.anyIn {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.low, b.low), cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.id, b.id))
	})
	return floor, teams, rules
}

func countEvent(fired, acked *int, kind string) {
	switch kind {
	case "fired":
		*fired++
	case "acked":
		*acked++
	}
}

// message renders the report: a header; the floor's figures; the day's
// chart and its figures; the table of teams (its fallback the same as a
// listing); each rule's minutes below and alerts; what the figures mean.
// It fits Slack's limits for any floor, rich or classic.
func (in *reportInput) message() message.Message {
	floor, teams, rules := in.figures()
	day := in.to.In(in.loc).Format("Mon 2 Jan")
	hasHist := floor.sampled || slices.ContainsFunc(teams, func(f *dayFigures) bool { return f.sampled })
	hasStats := in.snap != nil

	blocks := []message.Block{message.NewHeader("Daily report · " + day), message.NewSection(in.floorText(floor, hasHist, hasStats))}
	var notes []string
	if !hasHist {
		why := cmp.Or(in.historyNote, "none recorded yet")
		notes = append(notes, "No availability history for today ("+why+"): agents seen, peaks, lows and minutes below are left out.")
	}
	if !hasStats {
		notes = append(notes, "Call figures unavailable: the contact center did not answer.")
	}
	if hasHist {
		ranked := make([]string, len(teams))
		for i, f := range teams {
			ranked[i] = f.id
		}
		names := make(map[string]string, len(teams))
		for _, f := range teams {
			names[f.id] = f.name
		}
		step := chartStep(in.to.Sub(in.from), in.resolution)
		if tr := buildTrend(in.points, names, "Available agents, "+day, step, in.loc, ranked,
			fmt.Sprintf("the %d with the lowest availability today", message.MaxChartSeries)); tr != nil {
			blocks = append(blocks, tr.blocks()...)
		}
	}
	// The rules' and the notes' blocks come after the table: counted now,
	// so the table's fallback leaves them room.
	tail := packLines(in.ruleLines(rules), maxRuleSections, "rule")
	if hasHist {
		notes = append(notes, in.definitions())
	}
	if in.stale != "" {
		notes = append(notes, in.stale)
	}
	if len(teams) > 0 && (hasHist || hasStats) {
		table, fallbackRoom := in.table(teams, day, hasHist, hasStats)
		if left := len(teams) - len(table.Rows); left > 0 {
			notes = append(notes, fmt.Sprintf("The table shows the %d teams with the lowest availability of %s; %s left out.",
				len(table.Rows), message.Thousands(len(teams)), message.Plural(left, "team")))
		}
		room := message.MaxBlocks - len(blocks) - len(tail) - 1 // the notes' context
		fallback := packLines(fallbackRoom, room, "team")
		blocks = append(blocks, message.NewTable(table, fallback...))
	}
	blocks = append(blocks, tail...)
	if len(notes) > 0 {
		blocks = append(blocks, message.NewContext(strings.Join(notes, " ")))
	}

	text := "Daily report for " + day
	var parts []string
	if hasHist {
		parts = append(parts, message.Plural(floor.seen, "agent")+" seen")
	}
	if hasStats {
		parts = append(parts, message.Plural(floor.calls, "call")+" handled")
	}
	if hasHist {
		fired := 0
		for _, e := range in.events {
			if e.Kind == "fired" {
				fired++
			}
		}
		parts = append(parts, message.Plural(fired, "alert")+" fired")
	}
	if len(parts) > 0 {
		text += ": " + strings.Join(parts, ", ")
	}
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

// clock is a time of the day's as the report shows it.
func (in *reportInput) clock(t time.Time) string { return t.In(in.loc).Format("15:04") }

func (in *reportInput) floorText(f dayFigures, hasHist, hasStats bool) string {
	parts := []string{"*All teams*"}
	if hasHist {
		parts = append(parts, message.Plural(f.seen, "agent")+" seen")
		if f.anyIn {
			parts = append(parts, fmt.Sprintf("available: peak %s at %s, lowest %s at %s",
				message.Thousands(f.peak), in.clock(f.peakAt), message.Thousands(f.low), in.clock(f.lowAt)))
		}
	}
	if hasStats {
		parts = append(parts, fmt.Sprintf("%s handled, average handle time %s, talk time %s",
			message.Plural(f.calls, "call"), minSec(f.handle()), message.Duration(time.Duration(f.talkSeconds)*time.Second)))
	}
	return strings.Join(parts, " · ")
}

// minSec is a handle time: "4m 12s", "45s", "1h 2m".
func minSec(seconds float64) string {
	s := int(math.Round(seconds))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	}
	return message.Duration(time.Duration(s) * time.Second)
}

// minutes is a duration in whole minutes, rounded.
func minutes(d time.Duration) int { return int(d.Round(time.Minute) / time.Minute) }

func (in *reportInput) ruleLines(rules []ruleFigures) []string {
	if len(rules) == 0 {
		return nil
	}
	lines := []string{"*Alert rules today*: minutes below the warning threshold, alerts fired and acknowledged"}
	for _, r := range rules {
		lines = append(lines, fmt.Sprintf("• `%s` (%s, below %d): %d min below · %d fired · %d acknowledged",
			clean(strings.ReplaceAll(r.rule.Name, "`", "'")), r.scope, r.rule.Warning, minutes(r.below), r.fired, r.acked))
	}
	return lines
}

func (in *reportInput) definitions() string {
	return "Agents seen: the most logged in at once. Peak and lowest available: over the samples with anyone of the team " +
		"logged in, at the first time reached. Minutes below: while anyone in the rule's scope was logged in, in its active " +
		"hours; the table's are the team's own rule's (the first naming the team alone; — for none). " +
		"Calls, handle and talk time: the contact center's figures for the day at " + in.clock(in.to) + "."
}

// table is the report's table, the lowest-availability teams first, as
// many as Slack's rows and characters allow, and the classic listing of
// the same rows.
func (in *reportInput) table(teams []*dayFigures, day string, hasHist, hasStats bool) (message.TableData, []string) {
	num := func(n float64, text string) message.Cell { return message.Cell{Number: n, Text: text} }
	cols := []message.Column{{Name: "Team"}}
	if hasHist {
		cols = append(cols, message.Column{Name: "Agents seen", Numeric: true},
			message.Column{Name: "Peak available", Numeric: true}, message.Column{Name: "Peak at"},
			message.Column{Name: "Lowest available", Numeric: true}, message.Column{Name: "Lowest at"},
			message.Column{Name: "Min below warning", Numeric: true},
			message.Column{Name: "Alerts fired", Numeric: true}, message.Column{Name: "Alerts acked", Numeric: true})
	}
	if hasStats {
		cols = append(cols, message.Column{Name: "Calls handled", Numeric: true},
			message.Column{Name: "Avg handle time", Numeric: true}, message.Column{Name: "Talk time", Numeric: true})
	}
	t := message.TableData{Caption: "Daily report per team, " + day, Columns: cols, PageSize: reportPageSize}
	var lines []string
	for _, f := range teams[:min(len(teams), message.MaxTableRows)] {
		name := fitLabel(cmp.Or(f.name, f.id), maxReportName)
		row := []message.Cell{{Text: name}}
		line := "*" + name + "*"
		if f.id != "" {
			line += " (`" + clean(f.id) + "`)"
		}
		var parts []string
		if hasHist {
			peak, low := num(float64(f.peak), ""), num(float64(f.low), "")
			peakAt, lowAt := message.Cell{Text: "—"}, message.Cell{Text: "—"}
			if f.anyIn {
				peakAt.Text, lowAt.Text = in.clock(f.peakAt), in.clock(f.lowAt)
				parts = append(parts, fmt.Sprintf("%d seen · available peak %d at %s, lowest %d at %s",
					f.seen, f.peak, peakAt.Text, f.low, lowAt.Text))
			} else {
				peak.Text, low.Text = "—", "—"
				parts = append(parts, fmt.Sprintf("%d seen · nobody logged in at a sample", f.seen))
			}
			below := num(float64(minutes(f.below)), "")
			if f.ownRule {
				parts = append(parts, fmt.Sprintf("%d min below warning", minutes(f.below)))
			} else {
				below.Text = "—"
			}
			parts = append(parts, fmt.Sprintf("alerts %d fired, %d acked", f.fired, f.acked))
			row = append(row, num(float64(f.seen), ""), peak, peakAt, low, lowAt, below,
				num(float64(f.fired), ""), num(float64(f.acked), ""))
		}
		if hasStats {
			handle, talk := math.Round(f.handle()), time.Duration(f.talkSeconds)*time.Second
			row = append(row, num(float64(f.calls), ""), num(handle, minSec(handle)), num(float64(f.talkSeconds), message.Duration(talk)))
			parts = append(parts, fmt.Sprintf("%s · handle %s · talk %s", message.Plural(f.calls, "call"), minSec(handle), message.Duration(talk)))
		}
		t.Rows = append(t.Rows, row)
		lines = append(lines, line+": "+strings.Join(parts, " · "))
	}
	// Slack counts the characters of every cell: past its limit, the
	// last rows (the best available) go.
	for len(t.Rows) > 1 && t.Chars() > message.MaxTableChars {
		t.Rows = t.Rows[:len(t.Rows)-1]
	}
	return t, lines[:len(t.Rows)]
}

// packLines puts lines into at most maxBlocks sections, each within
// Slack's section limit; the lines that do not fit are counted in a last
// line ("…and 3 more teams.").
func packLines(lines []string, maxBlocks int, what string) []message.Block {
	if len(lines) == 0 || maxBlocks <= 0 {
		return nil
	}
	cut := make([]string, len(lines))
	for i, l := range lines {
		// Any line fits in a section with the "more" line.
		cut[i] = message.Truncate(l, message.MaxSectionText/2)
	}
	for keep := len(cut); keep >= 0; keep-- {
		shown := cut[:keep:keep]
		if keep < len(cut) {
			shown = append(shown, fmt.Sprintf("…and %s more.", message.Plural(len(cut)-keep, what)))
		}
		if secs := pack(shown); len(secs) <= maxBlocks {
			blocks := make([]message.Block, len(secs))
			for i, s := range secs {
				blocks[i] = message.NewSection(s)
			}
			return blocks
		}
	}
	return nil
}

// pack joins lines into as few texts of at most a section's length as
// their order allows (bytes counted: never fewer than runes).
func pack(lines []string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range lines {
		if cur.Len() > 0 && cur.Len()+1+len(l) > message.MaxSectionText {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	return append(out, cur.String())
}
