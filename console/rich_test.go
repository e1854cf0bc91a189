package console

import (
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/message"
)

func render(m message.Message) string {
	var b strings.Builder
	Render(&b, m, nil)
	return b.String()
}

func TestRenderTable(t *testing.T) {
	m := message.Message{Blocks: []message.Block{message.NewTable(message.TableData{
		Caption: "Agents &amp; teams, longest in their status first",
		Columns: []message.Column{{Name: "Agent"}, {Name: "Calls", Numeric: true}, {Name: "Avg handle", Numeric: true}},
		Rows: [][]message.Cell{
			{{Text: "Ann &lt;Sales&gt;"}, {Number: 12}, {Number: 252, Text: "4m 12s"}},
			{{Text: "Bob"}, {Number: 7.5}, {Number: 61, Text: "1m 1s"}},
			{{Text: strings.Repeat("x", 40)}, {Number: 0}, {Number: 0, Text: "—"}},
		},
	}, message.NewSection("fallback listing"))}}
	got := render(m)
	want := strings.Join([]string{
		"Agents & teams, longest in their status first", // never cut
		"Agent                           Calls  Avg handle",
		"──────────────────────────────  ─────  ──────────",
		"Ann <Sales>                        12      4m 12s",
		"Bob                               7.5       1m 1s",
		strings.Repeat("x", 29) + "…      0           —", // a long cell cut to 30
		"",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "fallback") {
		t.Error("the console drew the table and its fallback both")
	}
}

func TestRenderTableShowsAtMost20Rows(t *testing.T) {
	td := message.TableData{Caption: "c", Columns: []message.Column{{Name: "N", Numeric: true}}}
	for i := range 23 {
		td.Rows = append(td.Rows, []message.Cell{{Number: float64(i)}})
	}
	got := render(message.Message{Blocks: []message.Block{message.NewTable(td)}})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// caption, header, rule, 20 rows, the note
	if len(lines) != 24 || lines[22] != "19" || lines[23] != "…3 more" {
		t.Errorf("got %d lines:\n%s", len(lines), got)
	}
}

func TestRenderChart(t *testing.T) {
	m := message.Message{Blocks: []message.Block{
		message.NewChart(message.ChartData{
			Title:      "Available agents",
			Categories: []string{"09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"},
			Series: []message.Series{
				{Name: "Sales", Values: []float64{0, 1, 2, 3, 4, 5, 6, 7}},
				{Name: "R&amp;D", Values: []float64{7, 7, 0, 0, 3.5, 3.5, 1, 2}},
			},
		}, message.NewSection("fallback figures")),
		message.NewSection("Sales 0 → 7"),
	}}
	got := render(m)
	want := strings.Join([]string{
		"Available agents (09:00 … 10:45, 0–7)",
		"  Sales  ▁▂▃▄▅▆▇█  7",
		"  R&D    ██▁▁▅▅▂▃  2",
		"Sales 0 → 7",
		"",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderChartOnePointAndFlat(t *testing.T) {
	got := render(message.Message{Blocks: []message.Block{message.NewChart(message.ChartData{
		Title: "T", Categories: []string{"09:00"},
		Series: []message.Series{{Name: "a", Values: []float64{0}}, {Name: "b", Values: []float64{0}}},
	})}})
	want := "T (09:00, 0)\n  a  ▁  0\n  b  ▁  0\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	got = render(message.Message{Blocks: []message.Block{message.NewChart(message.ChartData{
		Title: "T", Categories: []string{"a", "b"},
		Series: []message.Series{{Name: "s", Values: []float64{4, 4}}},
	})}})
	if !strings.Contains(got, "s  ▄▄  4") {
		t.Errorf("a flat line of 4 should sit mid-height:\n%s", got)
	}
}
