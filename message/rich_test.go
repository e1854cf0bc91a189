package message

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// validChart is a chart at every limit's upper bound.
func validChart() ChartData {
	cats := make([]string, MaxChartPoints)
	for i := range cats {
		cats[i] = fmt.Sprintf("%02d:00 %s", i, strings.Repeat("x", MaxChartLabel-6))
	}
	series := make([]Series, MaxChartSeries)
	for i := range series {
		vals := make([]float64, len(cats))
		for j := range vals {
			vals[j] = float64(i*j) - 3.5 // negatives are allowed
		}
		series[i] = Series{Name: fmt.Sprintf("%d%s", i, strings.Repeat("é", MaxChartLabel-1)), Values: vals}
	}
	return ChartData{
		Title:      strings.Repeat("T", MaxChartTitle),
		Categories: cats,
		Series:     series,
		XLabel:     strings.Repeat("x", MaxChartAxisLabel),
		YLabel:     strings.Repeat("y", MaxChartAxisLabel),
	}
}

func TestChartValidate(t *testing.T) {
	one := ChartData{Title: "A", Categories: []string{"9:00"}, Series: []Series{{Name: "s", Values: []float64{0}}}}
	if err := one.Validate(); err != nil {
		t.Fatalf("one point (the first sample) must be a valid chart: %v", err)
	}
	if err := validChart().Validate(); err != nil {
		t.Fatalf("a chart at every upper bound: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *ChartData)
		want   string
	}{
		{"no title", func(c *ChartData) { c.Title = "" }, "title"},
		{"title 51 runes", func(c *ChartData) { c.Title += "é" }, "title"},
		{"no categories", func(c *ChartData) {
			c.Categories = nil
			for i := range c.Series {
				c.Series[i].Values = nil
			}
		}, "categor"},
		{"21 points", func(c *ChartData) {
			c.Categories = append(c.Categories, "extra")
			for i := range c.Series {
				c.Series[i].Values = append(c.Series[i].Values, 1)
			}
		}, "points"},
		{"empty category", func(c *ChartData) { c.Categories[3] = "" }, "categor"},
		{"category 21 runes", func(c *ChartData) { c.Categories[0] += "é" }, "categor"},
		{"duplicate category", func(c *ChartData) { c.Categories[1] = c.Categories[0] }, "categor"},
		{"no series", func(c *ChartData) { c.Series = nil }, "series"},
		{"7 series", func(c *ChartData) {
			c.Series = append(c.Series, Series{Name: "seventh", Values: c.Series[0].Values})
		}, "series"},
		{"unnamed series", func(c *ChartData) { c.Series[2].Name = "" }, "name"},
		{"series name 21 runes", func(c *ChartData) { c.Series[2].Name += "x" }, "name"},
		{"duplicate series name", func(c *ChartData) { c.Series[2].Name = c.Series[1].Name }, "name"},
		{"too few values", func(c *ChartData) { c.Series[4].Values = c.Series[4].Values[1:] }, "values"},
		{"NaN", func(c *ChartData) { c.Series[0].Values[0] = math.NaN() }, "finite"},
		{"infinity", func(c *ChartData) { c.Series[0].Values[0] = math.Inf(1) }, "finite"},
		{"x label 51 runes", func(c *ChartData) { c.XLabel += "x" }, "x label"},
		{"y label 51 runes", func(c *ChartData) { c.YLabel += "y" }, "y label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validChart()
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// validTable is a table of rows rows at the other limits' upper bounds.
func validTable(rows int) TableData {
	cols := make([]Column, MaxTableColumns)
	for i := range cols {
		cols[i] = Column{Name: fmt.Sprintf("c%d", i), Numeric: i%2 == 1}
	}
	t := TableData{Caption: "Agents", Columns: cols, PageSize: MaxTablePageSize}
	for r := 0; r < rows; r++ {
		row := make([]Cell, len(cols))
		for i, c := range cols {
			if c.Numeric {
				row[i] = Cell{Number: float64(r)} // no display text: Slack shows the number
			} else {
				row[i] = Cell{Text: "a"}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func TestTableValidate(t *testing.T) {
	small := TableData{Caption: "c", Columns: []Column{{Name: "Name"}}, Rows: [][]Cell{{{Text: "Ann"}}}}
	if err := small.Validate(); err != nil {
		t.Fatalf("one column, one row, default page size: %v", err)
	}
	// 20 columns × 101 rows: 10 text cells of 1 char and 10 numbers of
	// 1–2 digits per row, plus the header: well under 10,000.
	if err := validTable(MaxTableRows).Validate(); err != nil {
		t.Fatalf("a table at the row, column and page-size bounds: %v", err)
	}
	tests := []struct {
		name   string
		change func(t *TableData)
		want   string
	}{
		{"no caption", func(t *TableData) { t.Caption = "" }, "caption"},
		{"no columns", func(t *TableData) { t.Columns = nil; t.Rows = [][]Cell{{}} }, "column"},
		{"21 columns", func(t *TableData) {
			t.Columns = append(t.Columns, Column{Name: "extra"})
			for i := range t.Rows {
				t.Rows[i] = append(t.Rows[i], Cell{Text: "x"})
			}
		}, "column"},
		{"unnamed column", func(t *TableData) { t.Columns[4].Name = "" }, "column 5"},
		{"no rows", func(t *TableData) { t.Rows = nil }, "rows"},
		{"101 rows", func(t *TableData) { t.Rows = append(t.Rows, t.Rows[0]) }, "rows"},
		{"short row", func(t *TableData) { t.Rows[7] = t.Rows[7][1:] }, "row 8"},
		{"long row", func(t *TableData) { t.Rows[7] = append(t.Rows[7], Cell{Text: "x"}) }, "row 8"},
		{"empty text cell", func(t *TableData) { t.Rows[9][0].Text = "" }, "row 10"},
		{"page size 101", func(t *TableData) { t.PageSize = MaxTablePageSize + 1 }, "page size"},
		{"negative page size", func(t *TableData) { t.PageSize = -1 }, "page size"},
		{"NaN", func(t *TableData) { t.Rows[0][1].Number = math.NaN() }, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := validTable(MaxTableRows)
			tt.change(&tb)
			err := tb.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// wideTable is a one-column table whose cells count exactly chars characters.
func wideTable(chars int) TableData {
	t := TableData{Caption: "c", Columns: []Column{{Name: "N"}}} // the header counts 1
	left := chars - 1
	for left > 0 {
		n := min(left, 150)
		t.Rows = append(t.Rows, []Cell{{Text: strings.Repeat("é", n)}}) // runes, not bytes
		left -= n
	}
	return t
}

func TestTableChars(t *testing.T) {
	tb := TableData{Caption: "c", Columns: []Column{{Name: "Agent"}, {Name: "Calls", Numeric: true}},
		Rows: [][]Cell{{{Text: "Zoë"}, {Number: 12}}, {{Text: "Al"}, {Number: 250, Text: "4m 10s"}}}}
	// header 5+5, "Zoë" 3, "12" 2, "Al" 2, "4m 10s" 6 (the display is what is sent)
	if got := tb.Chars(); got != 23 {
		t.Fatalf("Chars() = %d, want 23", got)
	}
	if err := wideTable(MaxTableChars).Validate(); err != nil {
		t.Fatalf("exactly %d characters: %v", MaxTableChars, err)
	}
	if err := wideTable(MaxTableChars + 1).Validate(); err == nil || !strings.Contains(err.Error(), "characters") {
		t.Fatalf("%d characters: %v, want an error about characters", MaxTableChars+1, err)
	}
}

func TestValidateRich(t *testing.T) {
	chart := NewChart(validChart(), NewSection("figures"))
	table := NewTable(validTable(3), NewSection("listing"))
	ok := Message{Blocks: []Block{NewHeader("h"), chart, NewSection("figures as text"), chart, table}}
	if err := ValidateRich(ok); err != nil {
		t.Fatalf("two charts and a table: %v", err)
	}
	if err := ValidateRich(Reply("plain")); err != nil {
		t.Fatalf("a classic message: %v", err)
	}

	bad := validChart()
	bad.Title = ""
	badTable := validTable(3)
	badTable.Caption = ""
	half := wideTable(MaxTableCharsMessage/2 + 1)
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"three charts", Message{Blocks: []Block{chart, chart, chart}}, "charts"},
		{"an invalid chart", Message{Blocks: []Block{NewSection("x"), NewChart(bad)}}, "block 2"},
		{"an invalid table", Message{Blocks: []Block{NewTable(badTable)}}, "block 1"},
		{"tables over the message's characters", Message{Blocks: []Block{NewTable(half), NewTable(half)}}, "characters"},
		{"a chart without its data", Message{Blocks: []Block{{Kind: Chart}}}, "block 1"},
		{"a rich fallback", Message{Blocks: []Block{NewTable(validTable(1), chart)}}, "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRich(tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateRich() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestClassic(t *testing.T) {
	m := Message{Text: "t", Visibility: InChannel, Blocks: []Block{
		NewHeader("Trend"),
		NewChart(validChart()), // no fallback: it goes, the figures section stays
		NewSection("figures"),
		NewTable(validTable(2), NewSection("listing 1"), NewSection("listing 2")),
		NewContext("end"),
	}}
	if !m.HasRich() {
		t.Fatal("HasRich() = false for a message with a chart and a table")
	}
	c := m.Classic()
	if c.HasRich() {
		t.Fatal("Classic() still holds rich blocks")
	}
	var got []string
	for _, b := range c.Blocks {
		got = append(got, b.Text)
	}
	want := "Trend|figures|listing 1|listing 2|end"
	if strings.Join(got, "|") != want {
		t.Fatalf("Classic() blocks = %q, want %q", strings.Join(got, "|"), want)
	}
	if c.Text != m.Text || c.Visibility != m.Visibility {
		t.Fatal("Classic() changed the message's text or visibility")
	}
	if len(m.Blocks) != 5 || m.Blocks[1].Kind != Chart {
		t.Fatal("Classic() changed the original message")
	}
	if Reply("x").HasRich() {
		t.Fatal("HasRich() = true for a classic message")
	}
}
