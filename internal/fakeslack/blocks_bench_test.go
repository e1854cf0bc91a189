package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/slack-go/slack"
)

// tableBody is a response_url body with a 100-row table of 7 columns, as
// /presence table sends on a large floor (32 kB).
func tableBody(tb testing.TB) []byte {
	dt := slack.NewDataTableBlock("Agents (5,000), longest in their status first").WithPageSize(20)
	dt.AddRow(slack.NewDataTableRawTextCell("Agent"), slack.NewDataTableRawTextCell("Team"), slack.NewDataTableRawTextCell("Status"),
		slack.NewDataTableRawTextCell("In status"), slack.NewDataTableRawTextCell("Calls today"), slack.NewDataTableRawTextCell("Avg handle time"), slack.NewDataTableRawTextCell("Talk time"))
	for i := range 100 {
		dt.AddRow(slack.NewDataTableRawTextCell(fmt.Sprintf("Agent Name %d", i)), slack.NewDataTableRawTextCell("Support"), slack.NewDataTableRawTextCell("available"),
			slack.NewDataTableRawNumberCell(14456).WithText("4h"), slack.NewDataTableRawNumberCell(21).WithText("21"),
			slack.NewDataTableRawNumberCell(204).WithText("3m 24s"), slack.NewDataTableRawNumberCell(4284).WithText("1h 11m"))
	}
	w := slack.WebhookMessage{Text: "Agent presence", Blocks: &slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject("plain_text", "Agent presence — 5,000 agents", false, false)), dt,
		slack.NewContextBlock("", slack.NewTextBlockObject("mrkdwn", "As of 09:00", false, false))}}}
	b, err := json.Marshal(w)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkCheckTableAnswer is the fake's work on one /presence table
// answer: decoding the body and checking its blocks. The benchmark's fake
// Slack does it a few hundred times a second on the bot's cores.
func BenchmarkCheckTableAnswer(b *testing.B) {
	body := tableBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var rb responseBody
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&rb); err != nil {
			b.Fatal(err)
		}
		if e := checkContent(rb.Text, normalizeBlocks(rb.Blocks), maxMessageBlocks, false); e != nil {
			b.Fatal(e)
		}
	}
}
