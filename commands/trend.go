package commands

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
)

const (
	// defaultTrendHours is how far back /presence trend looks unasked: a
	// morning, or the shift so far.
	defaultTrendHours = 4
	// defaultHistoryRetention is HISTORY_RETENTION's default.
	defaultHistoryRetention = 8 * 24 * time.Hour
	// trendTeams is how many teams the floor's chart draws beside the
	// floor itself: Slack draws 6 lines at most.
	trendTeams = message.MaxChartSeries - 1
	// trendStaleAfter is how old the last sample may be before the answer
	// says so: the recorder samples every minute or alert poll.
	trendStaleAfter = 5 * time.Minute
	// trendLeftOutNamed is how many left-out teams the answer names.
	trendLeftOutNamed = 30
	// floorSeries names the whole floor's line.
	floorSeries = "Whole floor"
)

// trendSteps are the chart's resolutions: clock-friendly steps, the
// finest that keeps a span within Slack's 20 points chosen.
var trendSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// trendStep is the finest step that draws span in at most
// MaxChartPoints points: span/step intervals, plus the current one.
func trendStep(span time.Duration) time.Duration {
	for _, s := range trendSteps {
		if span <= time.Duration(message.MaxChartPoints-1)*s {
			return s
		}
	}
	return trendSteps[len(trendSteps)-1]
}

// alignDown is the last even clock time at or before t, in loc: a
// multiple of step from local midnight (midnight itself for a day or
// more), so an hourly chart in India reads 10:00, not 10:30.
func alignDown(t time.Time, step time.Duration, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if step >= 24*time.Hour {
		return midnight
	}
	return midnight.Add(t.Sub(midnight) / step * step)
}

// bucketStarts are the chart's points: the start of each step from span
// ago to now, the last one the step now runs in.
func bucketStarts(now time.Time, span, step time.Duration, loc *time.Location) []time.Time {
	last := alignDown(now, step, loc)
	n := int((span+step-1)/step) + 1
	n = min(max(n, 1), message.MaxChartPoints)
	starts := make([]time.Time, n)
	for i := range n {
		starts[i] = last.Add(-time.Duration(n-1-i) * step)
	}
	return starts
}

// trendArgs is what /presence trend was asked for.
type trendArgs struct {
	team  string // "" for the whole floor
	hours int
}

// parseTrendArgs reads [<team_id>] [<hours>]. A lone word that begins
// with a digit or a sign is hours (a team whose ID is a number: give the
// hours too, `/presence trend 42 4`).
func parseTrendArgs(args []string, maxHours int, usage string) (trendArgs, *message.Message) {
	out := trendArgs{hours: defaultTrendHours}
	var hours string
	switch len(args) {
	case 0:
	case 1:
		if looksNumeric(args[0]) {
			hours = args[0]
		} else {
			out.team = args[0]
		}
	case 2:
		out.team, hours = args[0], args[1]
	default:
		r := refused("`/presence trend` takes a team and a number of hours, both optional.\n" + usage)
		return out, &r
	}
	if hours == "" {
		out.hours = min(out.hours, maxHours)
		return out, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(hours), "h"))
	if err != nil {
		r := refused(fmt.Sprintf("`%s` is not a whole number of hours: say `/presence trend 4` or `/presence trend sales_team 8`.\n%s",
			message.Escape(message.Truncate(hours, 20)), usage))
		return out, &r
	}
	if n < 1 || n > maxHours {
		r := refused(fmt.Sprintf("%s hours is out of range: the history goes back %s, so give 1 to %d.\n%s",
			message.Escape(message.Truncate(hours, 20)), message.Duration(time.Duration(maxHours)*time.Hour), maxHours, usage))
		return out, &r
	}
	out.hours = n
	return out, nil
}

func looksNumeric(s string) bool {
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+')
}

// presenceTrend is /presence trend [<team_id>] [<hours>]: a line chart of
// available agents over the last hours, from the history alone (no
// roster read), with its figures as text beside it.
func (h *Handler) presenceTrend(ctx context.Context, args []string) message.Message {
	if h.history == nil {
		return refused("📈 The bot keeps no history here (it is off), so there is no trend to show. " +
			"`/presence` and `/presence table` show the floor now.")
	}
	cmd, _ := h.lookup("/presence")
	maxHours := max(1, int(h.historyRetention/time.Hour))
	a, refusal := parseTrendArgs(args, maxHours, cmd.shortUsage())
	if refusal != nil {
		return *refusal
	}
	now := h.now()
	span := time.Duration(a.hours) * time.Hour
	step := trendStep(span)
	starts := bucketStarts(now, span, step, h.loc)
	from := starts[0]

	teams, err := h.history.Teams(ctx, from, now)
	if err != nil {
		return h.historyFailed(err)
	}
	var (
		chosen  []history.TeamName // the lines, in order
		leftOut []history.TeamName
		team    *history.TeamName
	)
	if a.team != "" {
		t, ok := findTeamName(teams, a.team)
		if !ok {
			return refused(fmt.Sprintf("There is no team `%s` in the history of the last %s. %s",
				message.Escape(message.Truncate(a.team, 60)), message.Duration(span), teamsText(teamMap(teams))))
		}
		team = &t
		chosen = []history.TeamName{t}
	} else {
		// The newest sample (one chunk's read): which teams are lowest now.
		latest, err := h.history.Latest(ctx, from, now)
		if err != nil {
			return h.historyFailed(err)
		}
		chosen, leftOut = lowestTeams(teams, latest, trendTeams)
		chosen = append([]history.TeamName{{ID: "", Name: floorSeries}}, chosen...)
	}
	ids := make([]string, len(chosen))
	for i, t := range chosen {
		ids[i] = t.ID
	}
	points, err := h.history.Range(ctx, ids, from, now, min(step, 15*time.Minute))
	if err != nil {
		return h.historyFailed(err)
	}
	return h.trendAnswer(trendData{
		team: team, chosen: chosen, leftOut: leftOut, points: points,
		starts: starts, step: step, span: span, now: now,
	})
}

func (h *Handler) historyFailed(err error) message.Message {
	h.log.Warn("history read failed", "err", err)
	return failed("⚠️ I couldn't read the history just now. Try again in a minute; `/presence` shows the floor now.")
}

// findTeamName finds a team by ID or name, in any case.
func findTeamName(teams []history.TeamName, query string) (history.TeamName, bool) {
	for _, t := range teams {
		if t.ID != "" && (strings.EqualFold(t.ID, query) || strings.EqualFold(t.Name, query)) {
			return t, true
		}
	}
	return history.TeamName{}, false
}

func teamMap(teams []history.TeamName) map[string]string {
	m := make(map[string]string, len(teams))
	for _, t := range teams {
		if t.ID != "" {
			m[t.ID] = cmp.Or(t.Name, t.ID)
		}
	}
	return m
}

// lowestTeams picks the k teams with the fewest available now (in the
// newest sample): teams with someone logged in first (a team gone home
// has none available and needs no one, and one the newest sample lacks
// is not known now), then by available, then by ID. The others are left
// out.
func lowestTeams(teams []history.TeamName, latest map[string]history.Point, k int) (chosen, left []history.TeamName) {
	type ranked struct {
		t     history.TeamName
		c     history.Counts
		known bool
	}
	rs := make([]ranked, 0, len(teams))
	for _, t := range teams {
		if t.ID == "" {
			continue // the floor, drawn anyway
		}
		r := ranked{t: t}
		if p, ok := latest[t.ID]; ok {
			r.c, r.known = p.Counts, true
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		aIn, bIn := a.known && a.c.LoggedIn() > 0, b.known && b.c.LoggedIn() > 0
		if aIn != bIn {
			if aIn {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.c.Available, b.c.Available); c != 0 {
			return c
		}
		return cmp.Compare(a.t.ID, b.t.ID)
	})
	for i, r := range rs {
		if i < k {
			chosen = append(chosen, r.t)
		} else {
			left = append(left, r.t)
		}
	}
	return chosen, left
}

// trendData is what a trend answer is drawn from.
type trendData struct {
	team    *history.TeamName // the team asked for, nil for the floor
	chosen  []history.TeamName
	leftOut []history.TeamName
	points  map[string][]history.Point
	starts  []time.Time
	step    time.Duration
	span    time.Duration
	now     time.Time
}

// trendLine is one line of the chart: a value per point, nil where no
// sample fell in the step.
type trendLine struct {
	name   string
	values []*float64
}

// bucketed puts each sample in its step (the last sample of a step wins)
// and reads one figure of it.
func bucketed(points []history.Point, starts []time.Time, step time.Duration, read func(history.Counts) int) []*float64 {
	out := make([]*float64, len(starts))
	at := make([]time.Time, len(starts))
	for _, p := range points {
		if p.At.Before(starts[0]) {
			continue
		}
		i := min(int(p.At.Sub(starts[0])/step), len(starts)-1)
		if out[i] != nil && p.At.Before(at[i]) {
			continue
		}
		v := float64(read(p.Counts))
		out[i], at[i] = &v, p.At
	}
	return out
}

// trendAnswer draws the chart and writes its figures.
func (h *Handler) trendAnswer(d trendData) message.Message {
	var lines []trendLine
	var last time.Time // the newest sample drawn
	for _, ps := range d.points {
		for _, p := range ps {
			if p.At.After(last) && !p.At.After(d.now) {
				last = p.At
			}
		}
	}
	if d.team != nil {
		ps := d.points[d.team.ID]
		for _, f := range []struct {
			name string
			read func(history.Counts) int
		}{
			{"Available", func(c history.Counts) int { return c.Available }},
			{"On a call", func(c history.Counts) int { return c.OnCall }},
			{"After-call work", func(c history.Counts) int { return c.AfterCallWork }},
			{"Busy", func(c history.Counts) int { return c.Busy }},
		} {
			lines = append(lines, trendLine{name: f.name, values: bucketed(ps, d.starts, d.step, f.read)})
		}
	} else {
		names := seriesNames(d.chosen)
		for i, t := range d.chosen {
			lines = append(lines, trendLine{name: names[i],
				values: bucketed(d.points[t.ID], d.starts, d.step, func(c history.Counts) int { return c.Available })})
		}
	}
	// Drawn from the first step with a sample: in the first minutes of
	// history, one point.
	first := len(d.starts)
	for _, l := range lines {
		for i, v := range l.values {
			if v != nil {
				first = min(first, i)
				break
			}
		}
	}
	if first == len(d.starts) {
		return message.Reply(fmt.Sprintf("📈 No history yet for the last %s: the bot records the floor every minute "+
			"(or every alert poll) from its start. Ask again in a few minutes; `/presence` shows the floor now.", message.Duration(d.span)))
	}
	starts := d.starts[first:]
	for i := range lines {
		lines[i].values = lines[i].values[first:]
	}

	labels := trendLabels(starts, h.loc)
	chart := message.ChartData{
		Title:      fitEscaped(h.trendTitle(d), message.MaxChartTitle),
		Categories: labels,
		YLabel:     "Agents",
		XLabel:     fitEscaped(fmt.Sprintf("Every %s (%s)", message.Duration(d.step), starts[0].In(h.loc).Format("MST")), message.MaxChartAxisLabel),
	}
	for _, l := range lines {
		chart.Series = append(chart.Series, message.Series{Name: l.name, Values: carried(l.values)})
	}
	title := "📈 " + h.trendTitle(d)
	blocks := []message.Block{
		message.NewHeader(title),
		message.NewChart(chart),
		message.NewSection(trendFigures(lines, labels, d.step)),
		message.NewContext(h.trendContext(d, last)),
	}
	return message.Message{Visibility: message.Ephemeral, Text: title, Blocks: blocks}
}

// trendTitle is the chart's title, escaped.
func (h *Handler) trendTitle(d trendData) string {
	if d.team != nil {
		return fmt.Sprintf("%s: agents, last %s", message.Escape(message.Truncate(cmp.Or(d.team.Name, d.team.ID), 24)), message.Duration(d.span))
	}
	return "Available agents, last " + message.Duration(d.span)
}

// trendContext says when the last sample was, whether it is old, and
// which teams the chart leaves out.
func (h *Handler) trendContext(d trendData, last time.Time) string {
	var parts []string
	if age := d.now.Sub(last); age > trendStaleAfter {
		parts = append(parts, fmt.Sprintf("⏳ No sample since %s (%s ago): the history is behind.", h.clock(last), message.Duration(age)))
	}
	if n := len(d.leftOut); n > 0 {
		names := make([]string, 0, min(n, trendLeftOutNamed))
		for _, t := range d.leftOut[:min(n, trendLeftOutNamed)] {
			names = append(names, message.Escape(message.Truncate(cmp.Or(t.Name, t.ID), 30)))
		}
		text := fmt.Sprintf("Not drawn (%s, more available): %s", message.Plural(n, "team"), strings.Join(names, ", "))
		if n > trendLeftOutNamed {
			text += fmt.Sprintf(" and %s more", message.Thousands(n-trendLeftOutNamed))
		}
		parts = append(parts, text+". `/presence trend &lt;team_id&gt;` draws one team.")
	}
	parts = append(parts, "Last sample "+h.clock(last)+" · `/presence help` for more")
	return strings.Join(parts, "\n")
}

// trendLabels are the points' clock times: the time alone within a day,
// with the weekday within a week, with the date beyond; made distinct
// where they repeat (the hour the clocks go back reads "01:00 EDT",
// "01:00 EST"), as Slack refuses a chart whose categories repeat.
func trendLabels(starts []time.Time, loc *time.Location) []string {
	layout := "15:04"
	if spread := starts[len(starts)-1].Sub(starts[0]); spread >= 7*24*time.Hour {
		layout = "2 Jan 15:04"
	} else if spread >= 24*time.Hour {
		layout = "Mon 15:04"
	}
	return message.UniqueLabels(starts, loc, layout)
}

// carried is a line's values for the chart, which takes no gaps: a step
// without a sample repeats the one before (0 before the first). The
// figures beside the chart show the gaps as –.
func carried(vs []*float64) []float64 {
	out := make([]float64, len(vs))
	var prev float64
	for i, v := range vs {
		if v != nil {
			prev = *v
		}
		out[i] = prev
	}
	return out
}

// trendFigures is the chart as text, for screen readers, notifications
// and clients without charts: per line every value, the low and the high
// with their times, and the last.
func trendFigures(lines []trendLine, labels []string, step time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Every %s from %s to %s*", message.Duration(step), labels[0], labels[len(labels)-1])
	for _, l := range lines {
		fmt.Fprintf(&b, "\n• *%s*: ", l.name)
		lo, hi, lastI := -1, -1, -1
		for i, v := range l.values {
			if i > 0 {
				b.WriteString(" · ")
			}
			if v == nil {
				b.WriteString(noFigure)
				continue
			}
			b.WriteString(strconv.Itoa(int(*v)))
			if lo < 0 || *v < *l.values[lo] {
				lo = i
			}
			if hi < 0 || *v > *l.values[hi] {
				hi = i
			}
			lastI = i
		}
		if lastI < 0 {
			b.WriteString(" — no sample")
			continue
		}
		fmt.Fprintf(&b, " — low %d at %s, high %d at %s, last %d",
			int(*l.values[lo]), labels[lo], int(*l.values[hi]), labels[hi], int(*l.values[lastI]))
	}
	return b.String()
}

// seriesNames are the lines' legend names: the team's name cut to Slack's
// 20 characters, made distinct (by the ID, then a number) where cutting
// makes two alike.
func seriesNames(teams []history.TeamName) []string {
	out := make([]string, len(teams))
	seen := map[string]bool{}
	for i, t := range teams {
		name := fitEscaped(message.Escape(cmp.Or(t.Name, t.ID)), message.MaxChartLabel)
		if seen[name] && t.ID != "" {
			name = fitEscaped(message.Escape(t.ID), message.MaxChartLabel)
		}
		for k := 2; seen[name]; k++ {
			suffix := " " + strconv.Itoa(k)
			name = fitEscaped(message.Escape(cmp.Or(t.Name, t.ID)), message.MaxChartLabel-len(suffix)) + suffix
		}
		seen[name] = true
		out[i] = name
	}
	return out
}

// fitEscaped cuts escaped text to at most n characters, never through an
// escape such as &amp;.
func fitEscaped(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	body := string(r)
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		body = body[:i]
	}
	return body + "…"
}
