package message

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Validate reports the first way c breaks Slack's documented limits for a
// line chart (see the limits' constants); nil when it fits.
func (c ChartData) Validate() error {
	if n := utf8.RuneCountInString(c.Title); n == 0 || n > MaxChartTitle {
		return fmt.Errorf("chart title must be 1–%d characters, is %d", MaxChartTitle, n)
	}
	if utf8.RuneCountInString(c.XLabel) > MaxChartAxisLabel {
		return fmt.Errorf("chart x label must be at most %d characters", MaxChartAxisLabel)
	}
	if utf8.RuneCountInString(c.YLabel) > MaxChartAxisLabel {
		return fmt.Errorf("chart y label must be at most %d characters", MaxChartAxisLabel)
	}
	if len(c.Categories) == 0 {
		return errors.New("chart needs at least one category")
	}
	if len(c.Categories) > MaxChartPoints {
		return fmt.Errorf("chart has %d points, at most %d allowed", len(c.Categories), MaxChartPoints)
	}
	seen := make(map[string]bool, len(c.Categories))
	for i, cat := range c.Categories {
		if n := utf8.RuneCountInString(cat); n == 0 || n > MaxChartLabel {
			return fmt.Errorf("chart category %d must be 1–%d characters, is %d", i+1, MaxChartLabel, n)
		}
		if seen[cat] {
			return fmt.Errorf("chart category %q appears twice", cat)
		}
		seen[cat] = true
	}
	if len(c.Series) == 0 || len(c.Series) > MaxChartSeries {
		return fmt.Errorf("chart has %d series, 1–%d allowed", len(c.Series), MaxChartSeries)
	}
	names := make(map[string]bool, len(c.Series))
	for i, s := range c.Series {
		if n := utf8.RuneCountInString(s.Name); n == 0 || n > MaxChartLabel {
			return fmt.Errorf("chart series %d name must be 1–%d characters, is %d", i+1, MaxChartLabel, n)
		}
		if names[s.Name] {
			return fmt.Errorf("chart series name %q appears twice", s.Name)
		}
		names[s.Name] = true
		if len(s.Values) != len(c.Categories) {
			return fmt.Errorf("chart series %q has %d values for %d categories", s.Name, len(s.Values), len(c.Categories))
		}
		for j, v := range s.Values {
			if !finite(v) {
				return fmt.Errorf("chart series %q value %d is not a finite number", s.Name, j+1)
			}
		}
	}
	return nil
}

// Validate reports the first way t breaks Slack's documented limits for a
// data table (see the limits' constants); nil when it fits.
func (t TableData) Validate() error {
	if t.Caption == "" {
		return errors.New("table caption is required")
	}
	if len(t.Columns) == 0 || len(t.Columns) > MaxTableColumns {
		return fmt.Errorf("table has %d columns, 1–%d allowed", len(t.Columns), MaxTableColumns)
	}
	for i, c := range t.Columns {
		if c.Name == "" {
			// The header is a row of raw_text cells, whose text may not be empty.
			return fmt.Errorf("table column %d has no name", i+1)
		}
	}
	if len(t.Rows) == 0 || len(t.Rows) > MaxTableRows {
		return fmt.Errorf("table has %d rows, 1–%d allowed", len(t.Rows), MaxTableRows)
	}
	if t.PageSize < 0 || t.PageSize > MaxTablePageSize {
		return fmt.Errorf("table page size %d is not 1–%d (or 0 for Slack's default)", t.PageSize, MaxTablePageSize)
	}
	for r, row := range t.Rows {
		if len(row) != len(t.Columns) {
			return fmt.Errorf("table row %d has %d cells for %d columns", r+1, len(row), len(t.Columns))
		}
		for i, cell := range row {
			switch {
			case t.Columns[i].Numeric && !finite(cell.Number):
				return fmt.Errorf("table row %d column %d is not a finite number", r+1, i+1)
			case !t.Columns[i].Numeric && cell.Text == "":
				return fmt.Errorf("table row %d column %d is empty (Slack refuses empty text cells)", r+1, i+1)
			}
		}
	}
	if n := t.Chars(); n > MaxTableChars {
		return fmt.Errorf("table has %d characters across its cells, at most %d allowed", n, MaxTableChars)
	}
	return nil
}

// Chars is the character count across t's cells, the header included, as
// Slack counts it against MaxTableChars: each cell's text, or for a number
// without a display text, the number as sent.
func (t TableData) Chars() int {
	n := 0
	for _, c := range t.Columns {
		n += utf8.RuneCountInString(c.Name)
	}
	for _, row := range t.Rows {
		for i, cell := range row {
			if cell.Text == "" && i < len(t.Columns) && t.Columns[i].Numeric {
				n += len(FormatNumber(cell.Number))
				continue
			}
			n += utf8.RuneCountInString(cell.Text)
		}
	}
	return n
}

// FormatNumber is a number as a table or chart shows it without a display
// text: the shortest exact decimal.
func FormatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// ValidateRich checks m's rich blocks against Slack's documented limits:
// each chart and table, the charts per message, the table characters per
// message, and that every fallback is classic. Producers call it in their
// tests; the bot sends m.Classic() instead of a message that fails it.
func ValidateRich(m Message) error {
	charts, chars := 0, 0
	for i, b := range m.Blocks {
		var err error
		switch b.Kind {
		case Chart:
			charts++
			if b.Chart == nil {
				err = errors.New("chart block without chart data")
			} else {
				err = b.Chart.Validate()
			}
		case Table:
			if b.Table == nil {
				err = errors.New("table block without table data")
			} else {
				err = b.Table.Validate()
				chars += b.Table.Chars()
			}
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("block %d: %w", i+1, err)
		}
		for _, f := range b.Fallback {
			if f.Kind == Chart || f.Kind == Table {
				return fmt.Errorf("block %d: a fallback must be classic blocks", i+1)
			}
		}
	}
	if charts > MaxChartsPerMessage {
		return fmt.Errorf("message has %d charts, at most %d allowed", charts, MaxChartsPerMessage)
	}
	if chars > MaxTableCharsMessage {
		return fmt.Errorf("message's tables have %d characters across their cells, at most %d allowed", chars, MaxTableCharsMessage)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
