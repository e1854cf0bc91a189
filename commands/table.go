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

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// tablePageSize is how many rows a table shows per page: a screenful,
// with Slack's pager for the rest.
const tablePageSize = 20

// Cell widths: a table is read across, so long names are cut rather than
// let one cell crowd the others (and the 10,000-character budget).
const (
	tableNameMax = 30
	tableTeamMax = 24
)

// noFigure is the text of a number the API did not give (an agent without
// stats): the cell's value is 0 so the column still sorts.
const noFigure = "–"

// agentColumns are the columns of /presence table: the times and counts
// are numbers, so Slack sorts them as numbers.
var agentColumns = []message.Column{
	{Name: "Agent"},
	{Name: "Team"},
	{Name: "Status"},
	{Name: "In status", Numeric: true},
	{Name: "Calls today", Numeric: true},
	{Name: "Avg handle time", Numeric: true},
	{Name: "Talk time", Numeric: true},
}

// tableFilter is what /presence table was asked to show: everyone, one
// status, or one team (by ID or name).
type tableFilter struct {
	status presence.Status
	team   string
}

func (f tableFilter) matches(a presence.Agent) bool {
	switch {
	case f.status != "":
		return a.Status == f.status
	case f.team != "":
		return inTeam(a, f.team)
	}
	return true
}

// inTeam is /presence team's match: the team's ID or name, in any case.
func inTeam(a presence.Agent, query string) bool {
	return a.Team != nil && (strings.EqualFold(a.Team.ID, query) || strings.EqualFold(a.Team.Name, query))
}

// parseTableArgs reads [<status> | team <team_id>], or says what is wrong.
func parseTableArgs(args []string, usage string) (tableFilter, *message.Message) {
	switch {
	case len(args) == 0:
		return tableFilter{}, nil
	case strings.EqualFold(args[0], "team"):
		if len(args) != 2 {
			r := refused("Name one team: `/presence table team &lt;team_id&gt;`.\n" + usage)
			return tableFilter{}, &r
		}
		return tableFilter{team: args[1]}, nil
	case len(args) == 1:
		st, err := presence.Parse(args[0])
		if err != nil {
			r := refused(fmt.Sprintf("`%s` is not a status. The table takes one of available, on-call, after-call-work, busy, offline (also %s), or `team &lt;team_id&gt;`.\n%s",
				message.Escape(message.Truncate(args[0], 40)), aliasList(), usage))
			return tableFilter{}, &r
		}
		return tableFilter{status: st}, nil
	}
	r := refused("`/presence table` takes one status or `team &lt;team_id&gt;`, not both.\n" + usage)
	return tableFilter{}, &r
}

// presenceTable is /presence table [<status> | team <team_id>]: one row
// per agent in a native table, its fallback the /presence listing the
// same words give.
func (h *Handler) presenceTable(ctx context.Context, args []string) message.Message {
	cmd, _ := h.lookup("/presence")
	f, refusal := parseTableArgs(args, cmd.shortUsage())
	if refusal != nil {
		return *refusal
	}
	return h.withSnapshot(ctx, form{key: "table\x00" + strings.Join(args, " "), rich: true}, func(s *presence.Snapshot, note string) message.Message {
		return h.tableAnswer(s, f, note)
	})
}

// tableAnswer draws the table. The classic answer of the same filter is
// its fallback: its header heads the message, its body replaces the table
// where Slack refuses it, and its "As of" line closes both.
func (h *Handler) tableAnswer(s *presence.Snapshot, f tableFilter, note string) message.Message {
	var classic message.Message
	switch {
	case f.status != "":
		classic = h.byStatus(s, f.status, note)
	case f.team != "":
		classic = h.team(s, f.team, note) // refuses an unknown team, listing the teams
	default:
		classic = h.overview(s, note)
	}
	top := agentTop{k: message.MaxTableRows}
	teams := map[string]int{} // agents per team ID, for a filter to suggest
	for a := range s.All() {
		if !f.matches(a) {
			continue
		}
		top.add(a)
		if id := a.TeamID(); id != "" {
			teams[id]++
		}
	}
	if classic.Refused || top.n == 0 || len(classic.Blocks) < 2 {
		return classic // nobody to list: the classic answer says so
	}
	now := h.now()
	caption := tableCaption(f, top.n)
	td := agentTable(caption, top.items, now)
	if shown := len(td.Rows); shown < top.n {
		if note != "" {
			note += "\n"
		}
		note += rowsNote(f, shown, top.n, biggestTeam(teams))
	}
	if n := noSinceNote(top.noSince); n != "" {
		if note != "" {
			note += "\n"
		}
		note += n
	}
	last := len(classic.Blocks) - 1
	blocks := []message.Block{
		classic.Blocks[0],
		message.NewTable(td, classic.Blocks[1:last]...),
		h.asOf(s.FetchedAt, note),
	}
	return message.Message{Visibility: message.Ephemeral, Text: classic.Text, Blocks: blocks, Failed: classic.Failed}
}

// tableCaption says what the table is, for screen readers.
func tableCaption(f tableFilter, n int) string {
	what := "Agents"
	switch {
	case f.status != "":
		what = capitalize(f.status.Label()) + " agents"
	case f.team != "":
		what = "Agents of team " + message.Escape(message.Truncate(f.team, 40))
	}
	return fmt.Sprintf("%s (%s), longest in their status first", what, message.Thousands(n))
}

// rowsNote says the table shows only some of the agents, and how to
// narrow the question so it shows them all.
func rowsNote(f tableFilter, shown, total int, team string) string {
	text := fmt.Sprintf("📋 The table shows the %s agents longest in their status, of %s (a table holds %d rows).",
		message.Thousands(shown), message.Thousands(total), message.MaxTableRows)
	var narrower []string
	if f.status == "" {
		narrower = append(narrower, "`/presence table available`")
	}
	if f.team == "" && team != "" {
		narrower = append(narrower, "`/presence table team "+message.Escape(message.Truncate(team, 40))+"`")
	}
	if f.team != "" {
		narrower = append(narrower, "`/presence team "+message.Escape(message.Truncate(f.team, 40))+"` by status")
	}
	return text + " Narrow it: " + strings.Join(narrower, " · ")
}

// biggestTeam is the team with the most agents (the first ID of a tie), an
// example of a filter that narrows the table most usefully; "" for none.
func biggestTeam(teams map[string]int) string {
	best, most := "", 0
	for id, n := range teams {
		if n > most || (n == most && id < best) {
			best, most = id, n
		}
	}
	return best
}

// agentTable makes the rows of agents, in the order given, as many as fit
// Slack's row and character limits.
func agentTable(caption string, agents []presence.Agent, now time.Time) message.TableData {
	td := message.TableData{Caption: caption, Columns: agentColumns, PageSize: tablePageSize}
	used := headerChars(agentColumns)
	for _, a := range agents {
		row := agentRow(a, now)
		n := rowChars(agentColumns, row)
		if len(td.Rows) == message.MaxTableRows || used+n > message.MaxTableChars {
			break
		}
		td.Rows = append(td.Rows, row)
		used += n
	}
	td.PageSize = min(td.PageSize, max(1, len(td.Rows)))
	return td
}

// agentRow is one agent's row; text is escaped like every text the bot
// writes (see message.Escape).
func agentRow(a presence.Agent, now time.Time) []message.Cell {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	team := a.TeamName()
	if team == "" {
		team = noFigure
	}
	in := message.Cell{Text: noFigure} // no status_since: no time, value 0
	if !a.StatusSince.IsZero() {
		in = secondsCell(now.Sub(a.StatusSince))
	}
	row := []message.Cell{
		{Text: message.Escape(message.Truncate(name, tableNameMax))},
		{Text: message.Escape(message.Truncate(team, tableTeamMax))},
		{Text: message.Escape(a.Status.Label())},
		in,
	}
	if st := a.Stats; st != nil {
		row = append(row,
			message.Cell{Text: strconv.Itoa(st.CallsHandledToday), Number: float64(st.CallsHandledToday)},
			secondsCell(time.Duration(st.AvgHandleTime)*time.Second),
			secondsCell(time.Duration(st.TotalTalkTime)*time.Second))
	} else {
		row = append(row, message.Cell{Text: noFigure}, message.Cell{Text: noFigure}, message.Cell{Text: noFigure})
	}
	return row
}

// secondsCell is a time as a number of seconds, shown as "4m 12s".
func secondsCell(d time.Duration) message.Cell {
	d = max(d, 0).Truncate(time.Second)
	return message.Cell{Text: preciseDuration(d), Number: d.Seconds()}
}

// preciseDuration is a duration to the second under an hour ("4m 12s"),
// where message.Duration would say "4m": handle times differ in seconds.
func preciseDuration(d time.Duration) string {
	if d >= time.Hour {
		return message.Duration(d)
	}
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case m == 0:
		return fmt.Sprintf("%ds", s)
	case s == 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dm %ds", m, s)
}

// headerChars and rowChars count what Slack counts against a table's
// character budget. A number counts its text and its value as written,
// an overestimate that keeps clear of the limit however Slack counts.
func headerChars(cols []message.Column) int {
	n := 0
	for _, c := range cols {
		n += utf8.RuneCountInString(c.Name)
	}
	return n
}

func rowChars(cols []message.Column, row []message.Cell) int {
	n := 0
	for i, c := range row {
		n += utf8.RuneCountInString(c.Text)
		if i < len(cols) && cols[i].Numeric {
			n += len(strconv.FormatFloat(c.Number, 'f', -1, 64))
		}
	}
	return n
}

// agentTop keeps the k agents longest in their status, without sorting
// the whole roster: O(n·log k) compares on a 5,000-agent floor.
type agentTop struct {
	k     int
	n     int
	items []presence.Agent
	// noSince counts the agents added without a status_since.
	noSince int
}

// longestInStatus orders agents by when their status began, then by ID.
// An agent without status_since (the contact center may leave it out)
// goes after every agent with one: a zero time would read as the longest.
func longestInStatus(a, b presence.Agent) int {
	if az, bz := a.StatusSince.IsZero(), b.StatusSince.IsZero(); az != bz {
		if az {
			return 1
		}
		return -1
	}
	if c := a.StatusSince.Compare(b.StatusSince); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// noSinceNote says that n agents without a status time are listed last;
// "" for none.
func noSinceNote(n int) string {
	switch {
	case n == 0:
		return ""
	case n == 1:
		return "1 agent without a status time is listed last."
	}
	return message.Thousands(n) + " agents without a status time are listed last."
}

func (t *agentTop) add(a presence.Agent) {
	t.n++
	if a.StatusSince.IsZero() {
		t.noSince++
	}
	if len(t.items) == t.k && longestInStatus(a, t.items[t.k-1]) >= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(t.items, a, longestInStatus)
	if len(t.items) < t.k {
		t.items = append(t.items, presence.Agent{})
	}
	copy(t.items[i+1:], t.items[i:len(t.items)-1])
	t.items[i] = a
}
