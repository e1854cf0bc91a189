package message

// Rich blocks: a native line chart (Slack's data_visualization) and a
// native sortable, paged table (Slack's data_table). Slack is still rolling
// them out, so each carries the classic blocks that replace it where they
// are refused (Classic), and they are sent only where a refusal is reported
// (response_url answers and Web API calls), never in an ack payload.

// ChartData is a line chart: one line per series over the categories.
type ChartData struct {
	Title          string   // 1–50 runes
	Categories     []string // x-axis labels: 1–20, each 1–20 runes, distinct
	Series         []Series // 1–6 lines
	XLabel, YLabel string   // ≤ 50 runes each, optional
}

// Series is one line of a chart.
type Series struct {
	Name   string    // 1–20 runes, distinct within a chart
	Values []float64 // one per category
}

// TableData is a sortable, paged table.
type TableData struct {
	Caption  string   // required by Slack: what the table is (screen readers)
	Columns  []Column // the header row
	Rows     [][]Cell // 1–100 rows, each len(Columns) cells
	PageSize int      // 1–100 rows per page (Slack's default 5 when 0)
}

// Column is one column of a table.
type Column struct {
	Name    string
	Numeric bool // every cell of the column is a number: Slack sorts it numerically
}

// Cell is one cell of a table.
type Cell struct {
	Text   string  // shown; for a number, its display ("4m 12s") — may be empty then
	Number float64 // the value when the column is Numeric (raw_number)
}

// NewChart is a native line chart; fallback is what replaces it where rich
// blocks are refused. A producer also puts the chart's figures as text in a
// classic block next to it (screen readers, notifications, older clients).
func NewChart(c ChartData, fallback ...Block) Block {
	return Block{Kind: Chart, Chart: &c, Fallback: fallback}
}

// NewTable is a native table; fallback is the classic listing that
// replaces it where rich blocks are refused.
func NewTable(t TableData, fallback ...Block) Block {
	return Block{Kind: Table, Table: &t, Fallback: fallback}
}

// HasRich reports whether m holds Chart or Table blocks.
func (m Message) HasRich() bool {
	for _, b := range m.Blocks {
		if b.Kind == Chart || b.Kind == Table {
			return true
		}
	}
	return false
}

// Classic returns m with every Chart and Table block replaced by its
// Fallback blocks (the message as every client and workspace can show it),
// and the limits still kept.
func (m Message) Classic() Message {
	if !m.HasRich() {
		return m
	}
	blocks := make([]Block, 0, len(m.Blocks))
	for _, b := range m.Blocks {
		if b.Kind == Chart || b.Kind == Table {
			blocks = append(blocks, b.Fallback...)
			continue
		}
		blocks = append(blocks, b)
	}
	m.Blocks = blocks
	return m
}

// Slack's documented limits for the rich blocks.
//
// data_visualization: https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block/
// (title ≤ 50; a line chart's series 1–6, names ≤ 20 and distinct; 1–20
// points, one per category; categories ≤ 20 characters, distinct; axis
// titles ≤ 50). Two charts per message, as issue 19 gives Slack's limit.
//
// data_table: https://docs.slack.dev/reference/block-kit/blocks/data-table-block/
// (caption required; a header row of raw_text plus 1–100 rows, all the
// same length; 1–20 columns; page_size 1–100; raw_text text ≥ 1 character;
// the character count across all cells ≤ 10,000 per table and across all
// tables of one message).
const (
	MaxChartTitle       = 50
	MaxChartPoints      = 20
	MaxChartSeries      = 6
	MaxChartLabel       = 20 // a category or a series name
	MaxChartAxisLabel   = 50
	MaxChartsPerMessage = 2

	MaxTableRows         = 100
	MaxTableColumns      = 20
	MaxTablePageSize     = 100
	MaxTableChars        = 10000 // across all cells of one table, header included
	MaxTableCharsMessage = 10000 // across all cells of all tables of one message
)
