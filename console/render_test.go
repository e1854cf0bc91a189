package console

import (
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/message"
)

func TestRenderPlainText(t *testing.T) {
	m := message.Message{Blocks: []message.Block{
		message.NewHeader("Team &lt;Sales&gt;"),
		message.NewSection("*Bold* and `code` for <@U1|ann>, agent_001, _…and 3 more_"),
		message.NewFields("*Team*\nSales"),
		message.NewContext("As of 10:00"),
		message.NewActions(message.Button{Label: "Busy", ActionID: "a", Value: "v"}, message.Button{Label: "Offline"}),
	}}
	var b strings.Builder
	Render(&b, m, func(id string) string {
		if id == "U1" {
			return "ann"
		}
		return ""
	})
	got := b.String()
	for _, want := range []string{
		"Team <Sales>\n",         // escapes undone for the terminal
		"Bold and code for @ann", // no markup; mentions by name
		"agent_001",              // IDs keep their underscores
		"…and 3 more",            // italics dropped
		"  Team: Sales",          // a field as label: value
		"  As of 10:00",          // small print indented
		"[1] Busy  [2] Offline",  // buttons numbered for press N
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "*`") || strings.Contains(got, "&lt;") {
		t.Errorf("markup left in:\n%s", got)
	}
	if bs := Buttons(m); len(bs) != 2 || bs[0].ActionID != "a" {
		t.Errorf("Buttons = %+v", bs)
	}
}
