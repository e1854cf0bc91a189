package console

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/message"
)

// Terminal drawings of the rich blocks. The console draws them itself, so
// their Fallback (what Slack shows where they are refused) is left out.

// maxTableRows is how many rows of a table the console shows.
const maxTableRows = 20

// maxCellWidth keeps one long name from pushing the columns off screen.
const maxCellWidth = 30

// sparks are the eight heights of a sparkline, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// drawTable writes t as aligned columns under its caption: numbers right-
// aligned, at most maxTableRows rows, then how many more there are.
func drawTable(b *strings.Builder, t message.TableData, names func(string) string) {
	cols := len(t.Columns)
	shown := t.Rows[:min(len(t.Rows), maxTableRows)]
	cells := make([][]string, 0, len(shown)+1)
	header := make([]string, cols)
	for i, c := range t.Columns {
		header[i] = cellText(c.Name, names)
	}
	cells = append(cells, header)
	for _, row := range shown {
		line := make([]string, cols)
		for i := range cols {
			if i >= len(row) {
				continue
			}
			text := row[i].Text
			if text == "" && t.Columns[i].Numeric {
				text = message.FormatNumber(row[i].Number)
			}
			line[i] = cellText(text, names)
		}
		cells = append(cells, line)
	}
	width := make([]int, cols)
	for _, line := range cells {
		for i, c := range line {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	fmt.Fprintln(b, strings.ReplaceAll(plain(t.Caption, names), "\n", " "))
	rule := make([]string, cols)
	for i, w := range width {
		rule[i] = strings.Repeat("─", w)
	}
	for n, line := range cells {
		parts := make([]string, cols)
		for i, c := range line {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.Columns[i].Numeric && n > 0 {
				parts[i] = pad + c
			} else {
				parts[i] = c + pad
			}
		}
		fmt.Fprintln(b, strings.TrimRight(strings.Join(parts, "  "), " "))
		if n == 0 {
			fmt.Fprintln(b, strings.Join(rule, "  "))
		}
	}
	if more := len(t.Rows) - len(shown); more > 0 {
		fmt.Fprintf(b, "…%d more\n", more)
	}
}

// cellText is one line of plain text, cut to maxCellWidth.
func cellText(s string, names func(string) string) string {
	s = strings.ReplaceAll(plain(s, names), "\n", " ")
	return message.Truncate(s, maxCellWidth)
}

// drawChart writes c as one sparkline per series, all on one scale so the
// lines compare, each with its last value; the title line gives the first
// and last categories and the scale's range.
func drawChart(b *strings.Builder, c message.ChartData, names func(string) string) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, v := range s.Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	span := ""
	switch {
	case len(c.Categories) == 1:
		span = cellText(c.Categories[0], names)
	case len(c.Categories) > 1:
		span = cellText(c.Categories[0], names) + " … " + cellText(c.Categories[len(c.Categories)-1], names)
	}
	scale := ""
	if lo <= hi {
		scale = message.FormatNumber(lo)
		if hi > lo {
			scale += "–" + message.FormatNumber(hi)
		}
	}
	fmt.Fprintf(b, "%s (%s)\n", strings.ReplaceAll(plain(c.Title, names), "\n", " "), strings.Join(nonEmpty(span, scale), ", "))
	nameWidth := 0
	for _, s := range c.Series {
		nameWidth = max(nameWidth, utf8.RuneCountInString(cellText(s.Name, names)))
	}
	for _, s := range c.Series {
		name := cellText(s.Name, names)
		line := make([]rune, 0, len(s.Values))
		for _, v := range s.Values {
			line = append(line, spark(v, lo, hi))
		}
		last := ""
		if len(s.Values) > 0 {
			last = message.FormatNumber(s.Values[len(s.Values)-1])
		}
		fmt.Fprintf(b, "  %s%s  %s  %s\n", name, strings.Repeat(" ", nameWidth-utf8.RuneCountInString(name)), string(line), last)
	}
}

// spark is v's height between lo and hi; a flat chart sits at the bottom
// when it is zero and mid-height otherwise.
func spark(v, lo, hi float64) rune {
	if hi <= lo {
		if v == 0 {
			return sparks[0]
		}
		return sparks[len(sparks)/2-1]
	}
	i := int(math.Round((v - lo) / (hi - lo) * float64(len(sparks)-1)))
	return sparks[max(0, min(i, len(sparks)-1))]
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
