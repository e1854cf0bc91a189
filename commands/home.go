package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// How much of the floor the supervisors' home shows: App Home allows 100
// blocks, and a glance needs far fewer.
const (
	homeTeams        = 40 // team sections
	homeAvailableMax = 12 // available names per team
)

// Home is the App Home view for a Slack user: an agent sees their status
// with its buttons; a supervisor sees the floor by team and the alerts
// firing; someone unknown is told how to get mapped.
func (h *Handler) Home(ctx context.Context, userID string) []message.Block {
	var blocks []message.Block
	agentID, err := h.dir.AgentFor(ctx, userID)
	switch {
	case err == nil:
		blocks = append(blocks, h.agentHome(ctx, userID, agentID)...)
	case !errors.Is(err, ErrUnmapped):
		blocks = append(blocks, message.NewSection("⚠️ I couldn't look you up just now ("+lookupTrouble(err)+"). Open this tab again in a minute."))
	case !h.dir.IsSupervisor(userID):
		blocks = append(blocks, message.NewHeader("presence-bot"), message.NewSection(unmappedText(userID)))
	}
	if h.dir.IsSupervisor(userID) {
		if len(blocks) > 0 {
			blocks = append(blocks, message.NewDivider())
		}
		blocks = append(blocks, h.floorHome(ctx)...)
	}
	return blocks
}

func (h *Handler) agentHome(ctx context.Context, userID, agentID string) []message.Block {
	blocks := []message.Block{message.NewHeader("Your status")}
	a, err := h.api.Get(ctx, agentID)
	if err != nil {
		return append(blocks, message.NewSection(agentTroubleText(err, agentID, "see", readOnly)))
	}
	lead := fmt.Sprintf("%s since %s (%s)", statusMark(a.Status), h.clock(a.StatusSince), message.Duration(h.now().Sub(a.StatusSince)))
	return append(blocks, h.statusView(ctx, subject{caller: userID, agentID: agentID, self: true}, *a, lead)...)
}

// teamCount is one team's line on the floor.
type teamCount struct {
	id, name  string
	counts    presence.Summary
	available *topK
	// calls, talk and handle are the team's calls today, their talk time
	// and Σ avg_handle_time × calls in seconds, from the agents that have
	// stats.
	calls, talk, handle int
}

// addStats adds an agent's figures (nil: none). The average handle time
// is the API's, weighted by calls, as the daily report computes it:
// handle time is talk, hold and after-call work, not talk alone.
func (t *teamCount) addStats(st *presence.Stats) {
	if st == nil {
		return
	}
	t.calls += st.CallsHandledToday
	t.talk += st.TotalTalkTime
	t.handle += st.AvgHandleTime * st.CallsHandledToday
}

func (h *Handler) floorHome(ctx context.Context) []message.Block {
	blocks := []message.Block{message.NewHeader("The floor")}
	snap, err := h.roster.Get(ctx)
	var note string
	if err == nil {
		note = h.staleNote(snap)
	} else {
		if snap = h.roster.LastKnown(); snap == nil {
			return append(blocks, message.NewSection(troubleText(err, readOnly)))
		}
		note = fmt.Sprintf("⚠️ %s This is the last known data, from %s ago.", troubleWhat(err), message.Duration(snap.Age(h.now())))
	}
	teams := map[string]*teamCount{}
	for a := range snap.All() {
		id := a.TeamID()
		t, ok := teams[id]
		if !ok {
			name := a.TeamName()
			if name == "" {
				name = "No team"
			}
			t = &teamCount{id: id, name: name, available: &topK{k: homeAvailableMax}}
			teams[id] = t
		}
		t.counts.Add(a.Status)
		if a.Status == presence.Available {
			t.available.add(a)
		}
		t.addStats(a.Stats)
	}
	blocks = append(blocks, message.NewSection(fmt.Sprintf("*%s* · %s", message.Plural(snap.Summary.Total, "agent"), countsText(snap.Summary))))

	if h.alerts != nil {
		firing := h.alerts.Firing(ctx)
		text := "✅ No alerts firing."
		if len(firing) > 0 {
			text = "🚨 *Alerts firing*\n" + strings.Join(firing, "\n")
		}
		blocks = append(blocks, message.NewSection(text))
	}

	ordered := make([]*teamCount, 0, len(teams))
	for _, t := range teams {
		ordered = append(ordered, t)
	}
	// The teams with the fewest available first: where help is needed.
	slices.SortFunc(ordered, func(a, b *teamCount) int {
		if c := cmp.Compare(a.counts.Available, b.counts.Available); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	// The floor as a table too, above the team sections: sortable, and
	// every agent's figures. Where tables are refused it is left out: the
	// sections say the same per team, so the classic Home is unchanged.
	if table, ok := h.homeTable(snap, ordered); ok {
		blocks = append(blocks, message.NewTable(table))
	}
	blocks = append(blocks, message.NewDivider())
	for i, t := range ordered {
		if i == homeTeams {
			blocks = append(blocks, message.NewContext(fmt.Sprintf("…and %d more teams: `/presence team &lt;team_id&gt;` shows one.", len(ordered)-homeTeams)))
			break
		}
		blocks = append(blocks, message.NewSection(h.teamLine(t)))
	}
	ctxText := "Updated " + h.clock(snap.FetchedAt)
	if note != "" {
		ctxText = note + "\n" + ctxText
	}
	return append(blocks, message.NewContext(ctxText))
}

func (h *Handler) teamLine(t *teamCount) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*", message.Escape(message.Truncate(t.name, 40)))
	if t.id != "" {
		fmt.Fprintf(&b, " (`%s`)", message.Escape(message.Truncate(t.id, 40)))
	}
	fmt.Fprintf(&b, "\n%s", countsText(t.counts))
	if t.available.n > 0 {
		names := make([]string, 0, len(t.available.items))
		for _, e := range t.available.items {
			n := e.name
			if n == "" {
				n = e.id
			}
			names = append(names, message.Escape(message.Truncate(n, 30)))
		}
		fmt.Fprintf(&b, "\nAvailable: %s", strings.Join(names, ", "))
		if more := t.available.n - len(names); more > 0 {
			fmt.Fprintf(&b, " and %s more", message.Thousands(more))
		}
	}
	return b.String()
}

// teamColumns are the columns of the Home's team table.
var teamColumns = []message.Column{
	{Name: "Team"},
	{Name: "Agents", Numeric: true},
	{Name: "Available", Numeric: true},
	{Name: "On a call", Numeric: true},
	{Name: "After-call work", Numeric: true},
	{Name: "Busy", Numeric: true},
	{Name: "Offline", Numeric: true},
	{Name: "Calls today", Numeric: true},
	{Name: "Avg handle time", Numeric: true},
}

// homeTable is the supervisors' floor as a table: one row per agent while
// every agent fits one table (100 rows and Slack's character budget), one
// row per team beyond, the teams with the fewest available first. False
// when there is nothing to draw.
func (h *Handler) homeTable(snap *presence.Snapshot, teams []*teamCount) (message.TableData, bool) {
	if snap.Len() == 0 {
		return message.TableData{}, false
	}
	if snap.Len() <= message.MaxTableRows {
		top := agentTop{k: message.MaxTableRows}
		for a := range snap.All() {
			top.add(a)
		}
		caption := "Every agent on the floor, longest in their status first"
		if n := noSinceNote(top.noSince); n != "" {
			caption += ". " + n
		}
		td := agentTable(caption, top.items, h.now())
		if len(td.Rows) == top.n {
			return td, true
		}
	}
	td := message.TableData{
		Caption:  fmt.Sprintf("The floor's %s, the fewest available first", message.Plural(len(teams), "team")),
		Columns:  teamColumns,
		PageSize: tablePageSize,
	}
	used := headerChars(teamColumns)
	for _, t := range teams {
		row := teamRow(t)
		n := rowChars(teamColumns, row)
		if len(td.Rows) == message.MaxTableRows || used+n > message.MaxTableChars {
			break
		}
		td.Rows = append(td.Rows, row)
		used += n
	}
	if len(td.Rows) < len(teams) {
		// Said where the table is: the classic Home has no table to
		// explain (its sections say how many teams they leave out).
		td.Caption += fmt.Sprintf(" (the first %d of %d; `/presence team &lt;team_id&gt;` shows one)", len(td.Rows), len(teams))
	}
	td.PageSize = min(td.PageSize, len(td.Rows))
	return td, true
}

func teamRow(t *teamCount) []message.Cell {
	c := t.counts
	count := func(n int) message.Cell { return message.Cell{Text: message.Thousands(n), Number: float64(n)} }
	name := message.Escape(message.Truncate(t.name, tableTeamMax))
	row := []message.Cell{{Text: name}, count(c.Total), count(c.Available), count(c.OnCall), count(c.AfterCallWork),
		count(c.Busy), count(c.Offline), count(t.calls)}
	if t.calls > 0 {
		avg := math.Round(float64(t.handle) / float64(t.calls)) // as the report rounds it
		return append(row, secondsCell(time.Duration(avg)*time.Second))
	}
	return append(row, message.Cell{Text: noFigure})
}
