package fakeslack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Slack's documented limits. The fake rejects what Slack would reject, so a
// test catches an answer Slack would refuse or cut.
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxMessageText     = 40_000
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxActionsElements = 25
	maxContextElements = 10
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxID              = 255
)

// knownBlocks are the block types Slack accepts in messages and views.
var knownBlocks = map[string]bool{
	"actions": true, "context": true, "divider": true, "file": true, "header": true,
	"image": true, "input": true, "markdown": true, "rich_text": true, "section": true,
	"table": true, "video": true, "data_visualization": true, "data_table": true,
}

func (e *apiError) Error() string {
	if len(e.messages) == 0 {
		return e.code
	}
	return e.code + ": " + strings.Join(e.messages, "; ")
}

// ValidateMessage checks a message's text and blocks against Slack's limits
// (50 blocks, 3,000 characters of section text, 40,000 of message text, …),
// as chat.postMessage and response_url posts do here. Tests use it on ack
// payloads, which travel over the socket. The error names Slack's error code
// (invalid_blocks, msg_too_long) and where the problem is.
func ValidateMessage(text string, blocks json.RawMessage) error {
	if e := checkContent(text, normalizeBlocks(blocks), maxMessageBlocks, false); e != nil {
		return e
	}
	return nil
}

// normalizeBlocks turns blocks sent as a JSON string (a form field, or a
// string inside a JSON body) into the JSON they hold; null becomes nil.
func normalizeBlocks(raw json.RawMessage) json.RawMessage {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
	}
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// checkContent checks a message's text and blocks; refuseRich refuses
// every rich block (SetRefuseRichBlocks).
func checkContent(text string, blocks json.RawMessage, maxBlocks int, refuseRich bool) *apiError {
	if n := utf8.RuneCountInString(text); n > maxMessageText {
		return &apiError{code: "msg_too_long", messages: []string{fmt.Sprintf("[ERROR] text has %d characters, more than %d", n, maxMessageText)}}
	}
	return validateBlocks(blocks, maxBlocks, "/blocks", refuseRich)
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// blockJSON is every field the fake checks of any block, a data_table's
// cells included, so a message is decoded once: the benchmark's fake Slack
// checks a few hundred 30 kB tables a second on the cores the bot under
// test runs on.
type blockJSON struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *textObject       `json:"text"`
	Fields   []textObject      `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
	tableJSON
}

type elementJSON struct {
	Type     string      `json:"type"`
	Text     *textObject `json:"text"`
	Value    string      `json:"value"`
	ActionID string      `json:"action_id"`
}

// validateBlocks checks a blocks array; ptr is its JSON pointer for
// messages; refuseRich refuses every rich block.
func validateBlocks(raw json.RawMessage, maxBlocks int, ptr string, refuseRich bool) *apiError {
	if len(raw) == 0 {
		return nil
	}
	var blocks []blockJSON
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return undecodable(raw, ptr)
	}
	if len(blocks) > maxBlocks {
		return invalidBlocks(ptr, fmt.Sprintf("no more than %d items allowed, got %d", maxBlocks, len(blocks)))
	}
	rich := richState{refuse: refuseRich, raw: raw}
	for i, b := range blocks {
		at := ptr + "/" + strconv.Itoa(i)
		if e := checkBlock(b, at); e != nil {
			return e
		}
		if isRich(b.Type) {
			if e := rich.checkRich(i, b, at); e != nil {
				return e
			}
		}
	}
	return nil
}

// undecodable names the first block that does not decode, as Slack names
// the block at fault.
func undecodable(raw json.RawMessage, ptr string) *apiError {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return invalidBlocks(ptr, "must be an array of blocks")
	}
	for i, rb := range blocks {
		var b blockJSON
		if json.Unmarshal(rb, &b) == nil {
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		what := "a block object"
		if json.Unmarshal(rb, &head) == nil && isRich(head.Type) {
			what = "a " + head.Type + " object"
		}
		return invalidBlocks(ptr+"/"+strconv.Itoa(i), "must be "+what)
	}
	return invalidBlocks(ptr, "must be an array of blocks")
}

func checkBlock(b blockJSON, at string) *apiError {
	if !knownBlocks[b.Type] {
		return invalidBlocks(at+"/type", fmt.Sprintf("unknown block type %q", b.Type))
	}
	if len(b.BlockID) > maxID {
		return invalidBlocks(at+"/block_id", fmt.Sprintf("must be at most %d characters", maxID))
	}
	switch b.Type {
	case "section":
		if b.Text == nil && len(b.Fields) == 0 {
			return invalidBlocks(at, "must have text or fields")
		}
		if b.Text != nil {
			if e := checkText(*b.Text, maxSectionText, at+"/text", false); e != nil {
				return e
			}
		}
		if len(b.Fields) > maxSectionFields {
			return invalidBlocks(at+"/fields", fmt.Sprintf("no more than %d items allowed", maxSectionFields))
		}
		for i, f := range b.Fields {
			if e := checkText(f, maxFieldText, at+"/fields/"+strconv.Itoa(i), false); e != nil {
				return e
			}
		}
	case "header":
		if b.Text == nil {
			return invalidBlocks(at+"/text", "is required")
		}
		return checkText(*b.Text, maxHeaderText, at+"/text", true)
	case "actions":
		if e := checkCount(len(b.Elements), maxActionsElements, at+"/elements"); e != nil {
			return e
		}
		for i, raw := range b.Elements {
			if e := checkElement(raw, at+"/elements/"+strconv.Itoa(i)); e != nil {
				return e
			}
		}
	case "context":
		return checkCount(len(b.Elements), maxContextElements, at+"/elements")
	}
	return nil
}

func checkElement(raw json.RawMessage, at string) *apiError {
	var el elementJSON
	if err := json.Unmarshal(raw, &el); err != nil {
		return invalidBlocks(at, "must be an element object")
	}
	if el.Type == "" {
		return invalidBlocks(at+"/type", "is required")
	}
	if len(el.ActionID) > maxID {
		return invalidBlocks(at+"/action_id", fmt.Sprintf("must be at most %d characters", maxID))
	}
	if el.Type != "button" {
		return nil
	}
	if el.Text == nil {
		return invalidBlocks(at+"/text", "is required")
	}
	if e := checkText(*el.Text, maxButtonText, at+"/text", true); e != nil {
		return e
	}
	if n := utf8.RuneCountInString(el.Value); n > maxButtonValue {
		return invalidBlocks(at+"/value", fmt.Sprintf("must be less than %d characters", maxButtonValue+1))
	}
	return nil
}

func checkCount(n, limit int, at string) *apiError {
	if n == 0 {
		return invalidBlocks(at, "must have at least 1 item")
	}
	if n > limit {
		return invalidBlocks(at, fmt.Sprintf("no more than %d items allowed", limit))
	}
	return nil
}

// checkText checks a text object: a known type (plain_text only, where
// Slack requires it) and 1..limit characters.
func checkText(t textObject, limit int, at string, plainOnly bool) *apiError {
	switch {
	case t.Type != "plain_text" && (plainOnly || t.Type != "mrkdwn"):
		return invalidBlocks(at+"/type", fmt.Sprintf("text type %q is not allowed here", t.Type))
	case t.Text == "":
		return invalidBlocks(at+"/text", "must be more than 0 characters")
	}
	if n := utf8.RuneCountInString(t.Text); n > limit {
		return invalidBlocks(at+"/text", fmt.Sprintf("must be less than %d characters", limit+1))
	}
	return nil
}

// invalidBlocks is Slack's error for a bad block, with its detail line.
func invalidBlocks(ptr, problem string) *apiError {
	return &apiError{code: "invalid_blocks", messages: []string{"[ERROR] " + problem + " [json-pointer:" + ptr + "]"}}
}
