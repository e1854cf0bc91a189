package commands_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from what the commands make now")

// checkRich fails unless m's rich blocks keep Slack's documented limits
// (message.ValidateRich), their text is escaped, and m.Classic(), what
// the bot sends where they are refused, is a message Slack takes whole.
func checkRich(t testing.TB, m message.Message) {
	t.Helper()
	if err := message.ValidateRich(m); err != nil {
		t.Errorf("rich blocks break Slack's limits: %v", err)
	}
	for _, b := range m.Blocks {
		if b.Table != nil {
			checkEscaped(t, "table caption", b.Table.Caption)
			for _, row := range b.Table.Rows {
				for _, c := range row {
					checkEscaped(t, "table cell", c.Text)
				}
			}
		}
		if b.Chart != nil {
			checkEscaped(t, "chart title", b.Chart.Title)
			for _, s := range b.Chart.Series {
				checkEscaped(t, "chart series", s.Name)
			}
		}
	}
	if m.HasRich() {
		checkMessage(t, m.Classic())
	}
}

// tableOf returns m's one table, failing unless there is exactly one.
func tableOf(t testing.TB, m message.Message) *message.TableData {
	t.Helper()
	var found []*message.TableData
	for _, b := range m.Blocks {
		if b.Kind == message.Table {
			found = append(found, b.Table)
		}
	}
	if len(found) != 1 {
		t.Fatalf("answer has %d tables, want 1; text:\n%s", len(found), allText(m))
	}
	return found[0]
}

// chartOf returns m's one chart, failing unless there is exactly one.
func chartOf(t testing.TB, m message.Message) *message.ChartData {
	t.Helper()
	var found []*message.ChartData
	for _, b := range m.Blocks {
		if b.Kind == message.Chart {
			found = append(found, b.Chart)
		}
	}
	if len(found) != 1 {
		t.Fatalf("answer has %d charts, want 1; text:\n%s", len(found), allText(m))
	}
	return found[0]
}

// column returns the texts of one column of a table.
func column(td *message.TableData, name string) []string {
	i := slices.IndexFunc(td.Columns, func(c message.Column) bool { return c.Name == name })
	out := make([]string, len(td.Rows))
	for r, row := range td.Rows {
		out[r] = row[i].Text
	}
	return out
}

// teamsOf returns n teams: team_01 "Team 01" ….
func teamsOf(n int) []presence.Team {
	out := make([]presence.Team, n)
	for i := range n {
		out[i] = presence.Team{ID: fmt.Sprintf("team_%02d", i+1), Name: fmt.Sprintf("Team %02d", i+1)}
	}
	if n == 1 {
		out[0] = presence.Team{ID: "sales_team", Name: "Sales"}
	}
	return out
}

// fakeHistory is an in-memory History: samples per team ID ("" the
// floor), Range keeping the last sample of each step (steps aligned on
// the Unix epoch), as history.Recorder documents it.
type fakeHistory struct {
	mu      sync.Mutex
	samples map[string][]history.Point
	names   map[string]string
	err     error
	ranges  int
}

// record adds one sample: counts per team, the floor summed.
func (f *fakeHistory) record(at time.Time, counts map[string]history.Counts) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.samples == nil {
		f.samples, f.names = map[string][]history.Point{}, map[string]string{}
	}
	var floor history.Counts
	for id, c := range counts {
		f.samples[id] = append(f.samples[id], history.Point{At: at, Counts: c})
		floor.Available += c.Available
		floor.OnCall += c.OnCall
		floor.AfterCallWork += c.AfterCallWork
		floor.Busy += c.Busy
		floor.Offline += c.Offline
	}
	f.samples[""] = append(f.samples[""], history.Point{At: at, Counts: floor})
}

func (f *fakeHistory) Range(_ context.Context, teams []string, from, to time.Time, step time.Duration) (map[string][]history.Point, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges++
	if f.err != nil {
		return nil, f.err
	}
	if teams == nil {
		for id := range f.samples {
			teams = append(teams, id)
		}
	}
	out := map[string][]history.Point{}
	for _, id := range teams {
		var ps []history.Point
		for _, p := range f.samples[id] {
			if p.At.Before(from) || p.At.After(to) {
				continue
			}
			if n := len(ps); n > 0 && ps[n-1].At.Truncate(step).Equal(p.At.Truncate(step)) {
				ps[n-1] = p // the last in its step
				continue
			}
			ps = append(ps, p)
		}
		if len(ps) > 0 {
			out[id] = ps
		}
	}
	return out, nil
}

// Latest is the newest sample between from and to, per team it holds.
func (f *fakeHistory) Latest(_ context.Context, from, to time.Time) (map[string]history.Point, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var newest time.Time
	for _, ps := range f.samples {
		for _, p := range ps {
			if !p.At.Before(from) && !p.At.After(to) && p.At.After(newest) {
				newest = p.At
			}
		}
	}
	out := map[string]history.Point{}
	for id, ps := range f.samples {
		for _, p := range ps {
			if p.At.Equal(newest) {
				out[id] = p
			}
		}
	}
	return out, nil
}

func (f *fakeHistory) Teams(_ context.Context, from, to time.Time) ([]history.TeamName, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []history.TeamName
	for id, ps := range f.samples {
		if slices.ContainsFunc(ps, func(p history.Point) bool { return !p.At.Before(from) && !p.At.After(to) }) {
			out = append(out, history.TeamName{ID: id, Name: f.names[id]})
		}
	}
	slices.SortFunc(out, func(a, b history.TeamName) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// floorDay fills h with a sample a minute over the hours before end, for
// teams of agentsPerTeam each: availability rises and falls through the
// day, differently per team, so the lowest teams change with time.
func floorDay(h *fakeHistory, teams []presence.Team, agentsPerTeam int, hours int, end time.Time) {
	h.samples, h.names = map[string][]history.Point{}, map[string]string{}
	for _, t := range teams {
		h.names[t.ID] = t.Name
	}
	for m := hours * 60; m >= 0; m-- {
		at := end.Add(-time.Duration(m) * time.Minute)
		counts := make(map[string]history.Counts, len(teams))
		for i, t := range teams {
			phase := float64(m)/90 + float64(i)*0.7
			avail := int(float64(agentsPerTeam) * (0.3 + 0.2*math.Sin(phase)))
			onCall := int(float64(agentsPerTeam) * (0.35 + 0.1*math.Cos(phase)))
			acw := agentsPerTeam / 10
			busy := agentsPerTeam / 10
			counts[t.ID] = history.Counts{Available: avail, OnCall: onCall, AfterCallWork: acw, Busy: busy,
				Offline: max(0, agentsPerTeam-avail-onCall-acw-busy)}
		}
		h.record(at, counts)
	}
}

// goldenBlock is a block as the golden files show it: the kind by name,
// a table's rows one line each ("text=number" for numbers).
type goldenBlock struct {
	Kind     string             `json:"kind"`
	Text     string             `json:"text,omitempty"`
	Fields   []string           `json:"fields,omitempty"`
	Chart    *message.ChartData `json:"chart,omitempty"`
	Table    *goldenTable       `json:"table,omitempty"`
	Fallback []goldenBlock      `json:"fallback,omitempty"`
}

type goldenTable struct {
	Caption  string   `json:"caption"`
	PageSize int      `json:"page_size"`
	Columns  []string `json:"columns"` // numeric ones end in #
	Rows     []string `json:"rows"`
	Chars    int      `json:"chars"`
}

var kindNames = map[message.Kind]string{
	message.Header: "header", message.Section: "section", message.Fields: "fields", message.Context: "context",
	message.Divider: "divider", message.Actions: "actions", message.Chart: "chart", message.Table: "table",
}

func goldenBlocks(in []message.Block) []goldenBlock {
	out := make([]goldenBlock, 0, len(in))
	for _, b := range in {
		g := goldenBlock{Kind: kindNames[b.Kind], Text: b.Text, Fields: b.Fields, Chart: b.Chart, Fallback: goldenBlocks(b.Fallback)}
		if td := b.Table; td != nil {
			gt := &goldenTable{Caption: td.Caption, PageSize: td.PageSize, Chars: td.Chars()}
			for _, c := range td.Columns {
				name := c.Name
				if c.Numeric {
					name += "#"
				}
				gt.Columns = append(gt.Columns, name)
			}
			for _, row := range td.Rows {
				cells := make([]string, len(row))
				for i, c := range row {
					cells[i] = c.Text
					if td.Columns[i].Numeric {
						cells[i] += "=" + message.FormatNumber(c.Number)
					}
				}
				gt.Rows = append(gt.Rows, strings.Join(cells, " | "))
			}
			g.Table = gt
		}
		out = append(out, g)
	}
	return out
}

// checkGolden compares blocks with testdata/<name>.golden.json, or
// rewrites it with -update. Every golden passes the limits check first.
func checkGolden(t *testing.T, name string, m message.Message) {
	t.Helper()
	checkRich(t, m)
	got, err := json.MarshalIndent(struct {
		Text   string        `json:"text"`
		Blocks []goldenBlock `json:"blocks"`
	}{m.Text, goldenBlocks(m.Blocks)}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; run `go test ./commands -run %s -update` if the change is meant.\ngot:\n%s",
			path, t.Name(), firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first line that differs.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, w, g)
		}
	}
	return "(same lines)"
}
