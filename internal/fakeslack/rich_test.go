package fakeslack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// lineChart is a data_visualization block of points points and series
// series, with the given title.
func lineChart(title string, points, series int) string {
	cats := make([]string, points)
	for i := range cats {
		cats[i] = fmt.Sprintf("%q", fmt.Sprintf("t%d", i))
	}
	ss := make([]string, series)
	for s := range ss {
		pts := make([]string, points)
		for i := range pts {
			pts[i] = fmt.Sprintf(`{"label":"t%d","value":%d}`, i, i*s)
		}
		ss[s] = fmt.Sprintf(`{"name":"s%d","data":[%s]}`, s, strings.Join(pts, ","))
	}
	return fmt.Sprintf(`{"type":"data_visualization","title":%q,"chart":{"type":"line","series":[%s],"axis_config":{"categories":[%s]}}}`,
		title, strings.Join(ss, ","), strings.Join(cats, ","))
}

// dataTable is a data_table block: a header of cols raw_text cells, then
// rows rows of cols cells each holding cell; extra is added to the block.
func dataTable(cols, rows int, cell, extra string) string {
	header := make([]string, cols)
	for i := range header {
		header[i] = fmt.Sprintf(`{"type":"raw_text","text":"c%d"}`, i)
	}
	all := []string{"[" + strings.Join(header, ",") + "]"}
	for range rows {
		all = append(all, "["+strings.TrimSuffix(strings.Repeat(cell+",", cols), ",")+"]")
	}
	return fmt.Sprintf(`{"type":"data_table","caption":"Agents","rows":[%s]%s}`, strings.Join(all, ","), extra)
}

const textCell = `{"type":"raw_text","text":"a"}`

func TestValidateMessageRichBlocks(t *testing.T) {
	long := fmt.Sprintf(`{"type":"raw_text","text":%q}`, strings.Repeat("é", 99)) // 99 characters
	tests := []struct {
		name    string
		blocks  string
		wantErr string // "" for valid; else a part of the error
	}{
		// one point is a valid chart (a chart from the first sample)
		{"one point", "[" + lineChart("Available", 1, 1) + "]", ""},
		// the upper bounds: 20 points, 6 series, a 50-character title
		{"chart at limits", "[" + lineChart(strings.Repeat("t", 50), 20, 6) + "]", ""},
		// slack-go's Validate refuses what the docs refuse
		{"21 points", "[" + lineChart("A", 21, 1) + "]", "/blocks/0"},
		{"7 series", "[" + lineChart("A", 3, 7) + "]", "more than 6 series"},
		{"long title", "[" + lineChart(strings.Repeat("t", 51), 3, 1) + "]", "title"},
		// two charts per message, not three
		{"three charts", "[" + strings.Repeat(lineChart("A", 2, 1)+",", 2) + lineChart("A", 2, 1) + "]", "charts"},
		// a header and one row, up to a header and 100 rows, 20 columns, page size 100
		{"table smallest", "[" + dataTable(1, 1, textCell, "") + "]", ""},
		{"table at limits", "[" + dataTable(20, 100, `{"type":"raw_number","value":7}`, `,"page_size":100`) + "]", ""},
		{"number with text", "[" + dataTable(2, 3, `{"type":"raw_number","value":252,"text":"4m 12s"}`, "") + "]", ""},
		{"no caption", "[" + strings.Replace(dataTable(2, 2, textCell, ""), `"caption":"Agents",`, "", 1) + "]", "caption"},
		{"header only", "[" + dataTable(2, 0, textCell, "") + "]", "/blocks/0/rows"},
		{"101 rows", "[" + dataTable(2, 101, textCell, "") + "]", "/blocks/0/rows"},
		{"21 columns", "[" + dataTable(21, 2, textCell, "") + "]", "columns"},
		{"uneven rows", `[{"type":"data_table","caption":"c","rows":[[` + textCell + `,` + textCell + `],[` + textCell + `]]}]`, "/blocks/0/rows/1"},
		{"page size 0", "[" + dataTable(1, 1, textCell, `,"page_size":0`) + "]", "page_size"},
		{"page size 101", "[" + dataTable(1, 1, textCell, `,"page_size":101`) + "]", "page_size"},
		{"empty text cell", "[" + dataTable(1, 1, `{"type":"raw_text","text":""}`, "") + "]", "/blocks/0/rows/1/0"},
		{"empty number text", "[" + dataTable(1, 1, `{"type":"raw_number","value":1,"text":""}`, "") + "]", "/blocks/0/rows/1/0"},
		{"rich_text header", `[{"type":"data_table","caption":"c","rows":[[{"type":"rich_text","elements":[]}],[` + textCell + `]]}]`, "header"},
		{"unknown cell", "[" + dataTable(1, 1, `{"type":"image"}`, "") + "]", "/blocks/0/rows/1/0"},
		// 10,000 characters across the cells, the header's included:
		// 4 + 50×2×99 = 9,904 fit, 4 + 51×2×99 = 10,102 do not
		{"under 10,000 characters", "[" + dataTable(2, 50, long, "") + "]", ""},
		{"over 10,000 characters", "[" + dataTable(2, 51, long, "") + "]", "10000"},
		// a shape that does not decode names its block
		{"rows not an array", `[{"type":"section","text":{"type":"mrkdwn","text":"a"}},{"type":"data_table","caption":"c","rows":"x"}]`, "must be a data_table object [json-pointer:/blocks/1]"},
		{"block not an object", `[{"type":"divider"},7]`, "must be a block object [json-pointer:/blocks/1]"},
		{"blocks not an array", `{"type":"divider"}`, "must be an array of blocks"},
		// a chart after a table is checked as itself
		{"table then chart", "[" + dataTable(1, 1, textCell, "") + "," + lineChart("Available", 2, 1) + "]", ""},
		{"table then bad chart", "[" + dataTable(1, 1, textCell, "") + "," + lineChart("A", 21, 1) + "]", "/blocks/1"},
		// and across all the tables of one message
		{"two tables over 10,000", "[" + dataTable(2, 30, long, "") + "," + dataTable(2, 30, long, "") + "]", "10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fakeslack.ValidateMessage("t", json.RawMessage(tt.blocks))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "invalid_blocks")):
				t.Errorf("got %v, want invalid_blocks containing %q", err, tt.wantErr)
			}
		})
	}
}

// richBlocks is a chart and a table as slack-go builds them.
func richBlocks() []slack.Block {
	axis := slack.NewDataVisualizationAxisConfig("9:00", "9:15")
	chart := slack.NewDataVisualizationBlock("Available", slack.NewDataVisualizationLineChart(axis,
		slack.NewDataVisualizationDataSeries("Sales", slack.NewDataVisualizationDataPoint("9:00", 3), slack.NewDataVisualizationDataPoint("9:15", 4))))
	table := slack.NewDataTableBlock("Agents").
		AddRow(slack.NewDataTableRawTextCell("Agent"), slack.NewDataTableRawTextCell("Calls")).
		AddRow(slack.NewDataTableRawTextCell("Ann"), slack.NewDataTableRawNumberCell(12))
	return []slack.Block{chart, table}
}

func TestRichBlocksAcceptedOrRefused(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	blocks := richBlocks()
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
	calls := map[string]func() error{
		"chat.postMessage": func() error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(blocks...))
			return err
		},
		"chat.update": func() error {
			_, _, _, err := api.UpdateMessage("C1", "1.000001", slack.MsgOptionBlocks(blocks...))
			return err
		},
		"chat.postEphemeral": func() error {
			_, err := api.PostEphemeral("C1", "U1", slack.MsgOptionBlocks(blocks...))
			return err
		},
		"views.publish": func() error {
			_, err := api.PublishView("U1", view, "")
			return err
		},
	}
	// A workspace that has them accepts valid rich blocks everywhere.
	for method, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s: %v, want accepted", method, err)
		}
	}
	// A workspace where they are not rolled out refuses them everywhere,
	// as chat.postMessage documents invalid_blocks:
	// https://docs.slack.dev/reference/methods/chat.postMessage (Errors).
	s.SetRefuseRichBlocks(true)
	for method, call := range calls {
		var se slack.SlackErrorResponse
		if err := call(); !errors.As(err, &se) || se.Err != "invalid_blocks" {
			t.Errorf("%s: %v, want invalid_blocks", method, err)
		}
	}
	// Classic blocks still go through.
	if _, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
		t.Errorf("a classic message: %v", err)
	}
	s.SetRefuseRichBlocks(false)
	if err := calls["chat.postMessage"](); err != nil {
		t.Errorf("after SetRefuseRichBlocks(false): %v", err)
	}
}

func TestResponseURLRefusesRichBlocks(t *testing.T) {
	s := newServer(t, fakeslack.Options{RefuseRichBlocks: true})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)
	if _, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: "table", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	e := b.next(t, socketmode.EventTypeSlashCommand)
	b.client.Ack(*e.Request)
	url := e.Data.(slack.SlashCommand).ResponseURL

	post := func(body any) (int, string) {
		raw, _ := json.Marshal(body)
		resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(text)
	}
	// Slack answers a refused response_url post as it does an incoming
	// webhook: an HTTP error with the code as plain text.
	code, text := post(map[string]any{"text": "t", "blocks": richBlocks()})
	if code != http.StatusBadRequest || text != "invalid_blocks" {
		t.Errorf("rich blocks: HTTP %d %q, want 400 invalid_blocks", code, text)
	}
	answers := func() (n int) {
		for _, m := range s.Messages() {
			if m.Method == "response_url" {
				n++
			}
		}
		return n
	}
	if n := answers(); n != 0 {
		t.Errorf("%d answers recorded for a refused post", n)
	}
	// The same answer without them is accepted, and recorded once.
	code, text = post(map[string]any{"text": "t", "blocks": []slack.Block{slack.NewDividerBlock()}})
	if code != http.StatusOK {
		t.Errorf("classic blocks: HTTP %d %q, want 200", code, text)
	}
	if n := answers(); n != 1 {
		t.Errorf("%d answers recorded, want 1", n)
	}
}

func TestAckRefusesRichBlocks(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)
	for _, tt := range []struct {
		name    string
		payload any
		refused bool
	}{
		{"classic answer", map[string]any{"text": "ok", "blocks": []slack.Block{slack.NewDividerBlock()}}, false},
		{"rich answer", map[string]any{"text": "ok", "blocks": richBlocks()}, true},
		{"bare", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", UserID: "U1"})
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeSlashCommand)
			var payload []any
			if tt.payload != nil {
				payload = append(payload, tt.payload)
			}
			if err := b.client.Ack(*e.Request, payload...); err != nil {
				t.Fatal(err)
			}
			ack, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if got := ack.Refused != ""; got != tt.refused {
				t.Errorf("Refused = %q, want refused %v", ack.Refused, tt.refused)
			}
		})
	}
}
