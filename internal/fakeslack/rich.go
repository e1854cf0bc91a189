package fakeslack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Limits of the rich blocks, as Slack documents them.
//
// data_visualization (https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block/)
// is checked by slack-go's Validate, which follows that page; two per
// message is the limit issue 19 gives.
//
// data_table (https://docs.slack.dev/reference/block-kit/blocks/data-table-block/):
// caption required; a header row of raw_text cells plus 1–100 rows, all the
// same length; 1–20 columns; page_size 1–100; raw_text and raw_number cells
// (rich_text too, never in the header) whose text, when present, is at
// least 1 character; at most 10,000 characters across all cells of a table
// and across all the tables of a message.
const (
	maxChartsPerMessage = 2
	maxTableRows        = 100
	maxTableColumns     = 20
	maxTablePageSize    = 100
	maxTableChars       = 10_000
)

// SetRefuseRichBlocks makes the server refuse (true) or accept (false)
// data_visualization and data_table blocks from now on, on every surface
// (chat.postMessage, chat.postEphemeral, chat.update, views.publish and
// response_url), as a workspace where they are not rolled out does.
func (s *Server) SetRefuseRichBlocks(on bool) { s.refuseRich.Store(on) }

// richState is what the checks of one message's blocks share.
type richState struct {
	refuse     bool // refuse every rich block
	charts     int
	tableChars int
	raw        json.RawMessage   // the message's blocks
	rawBlocks  []json.RawMessage // each block's JSON, once a chart needs it
}

func isRich(typ string) bool { return typ == "data_visualization" || typ == "data_table" }

// checkRich checks block i of the message, a data_visualization or a
// data_table.
func (st *richState) checkRich(i int, b blockJSON, at string) *apiError {
	if st.refuse {
		return invalidBlocks(at+"/type", fmt.Sprintf("unsupported type: %s", b.Type))
	}
	if b.Type == "data_visualization" {
		st.charts++
		if st.charts > maxChartsPerMessage {
			return invalidBlocks(at, fmt.Sprintf("no more than %d charts allowed in a message", maxChartsPerMessage))
		}
		// A chart is decoded by slack-go, from its own JSON: the blocks
		// are decoded again, once a message, where there is a chart.
		if st.rawBlocks == nil {
			if err := json.Unmarshal(st.raw, &st.rawBlocks); err != nil {
				return invalidBlocks(at, "must be a data_visualization object")
			}
		}
		var dv slack.DataVisualizationBlock
		if err := json.Unmarshal(st.rawBlocks[i], &dv); err != nil {
			return invalidBlocks(at+"/chart", err.Error())
		}
		if err := dv.Validate(); err != nil {
			return invalidBlocks(at, err.Error())
		}
		return nil
	}
	n, e := checkTable(b.tableJSON, at)
	if e != nil {
		return e
	}
	st.tableChars += n
	if st.tableChars > maxTableChars {
		return invalidBlocks(at, fmt.Sprintf("the tables of a message have more than %d characters across their cells", maxTableChars))
	}
	return nil
}

// tableJSON is a data_table's part of a block (see blockJSON).
type tableJSON struct {
	Caption  *string      `json:"caption"`
	Rows     [][]cellJSON `json:"rows"`
	PageSize *int         `json:"page_size"`
}

type cellJSON struct {
	Type     string          `json:"type"`
	Text     *string         `json:"text"`
	Value    *float64        `json:"value"`
	Elements json.RawMessage `json:"elements"` // rich_text's
}

// checkTable checks a data_table block and returns its characters across
// all cells.
func checkTable(t tableJSON, at string) (int, *apiError) {
	if t.Caption == nil || *t.Caption == "" {
		return 0, invalidBlocks(at+"/caption", "is required")
	}
	if t.PageSize != nil && (*t.PageSize < 1 || *t.PageSize > maxTablePageSize) {
		return 0, invalidBlocks(at+"/page_size", fmt.Sprintf("must be between 1 and %d", maxTablePageSize))
	}
	if len(t.Rows) < 2 || len(t.Rows) > maxTableRows+1 {
		return 0, invalidBlocks(at+"/rows", fmt.Sprintf("must have a header and 1 to %d rows, got %d in all", maxTableRows, len(t.Rows)))
	}
	cols := len(t.Rows[0])
	if cols < 1 || cols > maxTableColumns {
		return 0, invalidBlocks(at+"/rows/0", fmt.Sprintf("must have 1 to %d columns, got %d", maxTableColumns, cols))
	}
	chars := 0
	for r, row := range t.Rows {
		rat := at + "/rows/" + strconv.Itoa(r)
		if len(row) != cols {
			return 0, invalidBlocks(rat, fmt.Sprintf("every row must have the header's %d cells, got %d", cols, len(row)))
		}
		for i, cell := range row {
			n, e := checkCell(cell, r == 0, rat+"/"+strconv.Itoa(i))
			if e != nil {
				return 0, e
			}
			chars += n
		}
	}
	if chars > maxTableChars {
		return 0, invalidBlocks(at+"/rows", fmt.Sprintf("more than %d characters across the cells, got %d", maxTableChars, chars))
	}
	return chars, nil
}

// checkCell checks one cell and returns its characters.
func checkCell(c cellJSON, header bool, at string) (int, *apiError) {
	switch c.Type {
	case "raw_text":
		if c.Text == nil || *c.Text == "" {
			return 0, invalidBlocks(at+"/text", "must be more than 0 characters")
		}
		return utf8.RuneCountInString(*c.Text), nil
	case "raw_number":
		if header {
			return 0, invalidBlocks(at+"/type", "header cells must be raw_text")
		}
		if c.Value == nil {
			return 0, invalidBlocks(at+"/value", "is required")
		}
		if c.Text != nil {
			if *c.Text == "" {
				return 0, invalidBlocks(at+"/text", "must be more than 0 characters")
			}
			return utf8.RuneCountInString(*c.Text), nil
		}
		return len(strconv.FormatFloat(*c.Value, 'f', -1, 64)), nil
	case "rich_text":
		if header {
			return 0, invalidBlocks(at+"/type", "rich_text cannot be used for header cells")
		}
		return len(c.Elements), nil // an upper bound: the bot sends none
	}
	return 0, invalidBlocks(at+"/type", fmt.Sprintf("unsupported cell type %q", c.Type))
}

// ValidateAck checks an ack's payload as Slack would show it: the message
// checks of ValidateMessage, and no rich blocks. Slack's Socket Mode docs do
// not say whether an ack's response payload may carry data_visualization or
// data_table blocks; our contract forbids them there (the ack is the one
// place where a refusal would reach no one, so no fallback could follow),
// and the fake refuses them so a test catches one.
func ValidateAck(payload json.RawMessage) error {
	if len(payload) == 0 || string(payload) == "null" {
		return nil
	}
	var body struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return &apiError{code: "invalid_payload"}
	}
	if e := checkContent(body.Text, normalizeBlocks(body.Blocks), maxMessageBlocks, true); e != nil {
		return e
	}
	return nil
}
