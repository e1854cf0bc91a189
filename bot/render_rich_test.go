package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/message"
)

// richChart is a trend of two teams over four samples, with its figures as
// text beside it, as producers build it.
func richChart() message.Message {
	return message.Message{
		Visibility: message.InChannel,
		Text:       "Available agents, last hour",
		Blocks: []message.Block{
			message.NewHeader("Available agents"),
			message.NewChart(message.ChartData{
				Title:      "Available agents, last hour",
				Categories: []string{"09:00", "09:15", "09:30", "09:45"},
				Series: []message.Series{
					{Name: "Sales", Values: []float64{4, 3, 5, 2}},
					{Name: "R&amp;D", Values: []float64{1, 0, 1.5, 2}},
				},
				XLabel: "Time (UTC)",
				YLabel: "Agents available",
			}, message.NewSection("_Chart left out: this workspace cannot show it._")),
			message.NewSection("*Sales* 4 → 2 · *R&amp;D* 1 → 2"),
		},
	}
}

// richTable is three agents with text and number columns.
func richTable() message.Message {
	return message.Message{
		Text: "Agents",
		Blocks: []message.Block{
			message.NewTable(message.TableData{
				Caption: "Agents on the floor",
				Columns: []message.Column{{Name: "Agent"}, {Name: "Status"}, {Name: "Calls today", Numeric: true}, {Name: "Avg handle", Numeric: true}},
				Rows: [][]message.Cell{
					{{Text: "Ann &lt;Sales&gt;"}, {Text: "available"}, {Number: 12}, {Number: 252, Text: "4m 12s"}},
					{{Text: "Bob"}, {Text: "on-call"}, {Number: 0}, {Number: 0, Text: "—"}},
					{{Text: "Zoë"}, {Text: "busy"}, {Number: 7.5}, {Number: 61, Text: "1m 1s"}},
				},
				PageSize: 20,
			}, message.NewSection("*Ann &lt;Sales&gt;* available · 12 calls\n*Bob* on-call · 0 calls\n*Zoë* busy · 7.5 calls")),
		},
	}
}

func TestRenderRichGolden(t *testing.T) {
	for name, m := range map[string]message.Message{"rich_chart": richChart(), "rich_table": richTable()} {
		t.Run(name, func(t *testing.T) {
			if err := message.ValidateRich(m); err != nil {
				t.Fatalf("the test's message breaks Slack's limits: %v", err)
			}
			got, err := json.MarshalIndent(webhookMessage(m), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, name, append(got, '\n'))

			// What Slack receives decodes with slack-go and passes its checks.
			var decoded struct {
				Blocks slack.Blocks `json:"blocks"`
			}
			if err := json.Unmarshal(got, &decoded); err != nil {
				t.Fatalf("slack-go cannot decode it: %v", err)
			}
			rich := 0
			for _, b := range decoded.Blocks.BlockSet {
				switch b := b.(type) {
				case *slack.DataVisualizationBlock:
					rich++
					if err := b.Validate(); err != nil {
						t.Errorf("slack-go's Validate: %v", err)
					}
				case *slack.DataTableBlock:
					rich++
					if b.Caption == "" || len(b.Rows) != 4 {
						t.Errorf("table: caption %q, %d rows (header + 3 wanted)", b.Caption, len(b.Rows))
					}
				}
			}
			if rich != 1 {
				t.Errorf("got %d rich blocks, want 1", rich)
			}
		})
	}
}

func TestRenderTableCells(t *testing.T) {
	blocks := Render(richTable())
	dt, ok := blocks[0].(*slack.DataTableBlock)
	if !ok {
		t.Fatalf("got %T, want a data_table", blocks[0])
	}
	header := dt.Rows[0]
	for i, c := range header {
		if _, ok := c.(*slack.DataTableRawTextCell); !ok {
			t.Errorf("header cell %d is %T: Slack wants raw_text headers", i, c)
		}
	}
	// Numbers are raw_number cells (Slack sorts the column numerically),
	// with their display text when there is one, and none when empty.
	n, ok := dt.Rows[1][3].(*slack.DataTableRawNumberCell)
	if !ok || n.Value != 252 || n.Text != "4m 12s" {
		t.Errorf("avg handle cell = %#v, want raw_number 252 shown as 4m 12s", dt.Rows[1][3])
	}
	n, ok = dt.Rows[1][2].(*slack.DataTableRawNumberCell)
	if !ok || n.Value != 12 || n.Text != "" {
		t.Errorf("calls cell = %#v, want raw_number 12 with no text", dt.Rows[1][2])
	}
	if dt.PageSize != 20 {
		t.Errorf("page size %d, want 20", dt.PageSize)
	}
}

func TestRenderChartPoints(t *testing.T) {
	blocks := Render(richChart())
	dv, ok := blocks[1].(*slack.DataVisualizationBlock)
	if !ok {
		t.Fatalf("got %T, want a data_visualization", blocks[1])
	}
	line, ok := dv.Chart.(*slack.DataVisualizationLineChart)
	if !ok {
		t.Fatalf("chart is %T, want a line chart", dv.Chart)
	}
	if got := strings.Join(line.AxisConfig.Categories, ","); got != "09:00,09:15,09:30,09:45" {
		t.Errorf("categories %s", got)
	}
	rd := line.Series[1]
	if rd.Name != "R&amp;D" || len(rd.Data) != 4 || rd.Data[2].Label != "09:30" || rd.Data[2].Value != 1.5 {
		t.Errorf("second series = %+v", rd)
	}
}
