package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/message"
)

// TestHelpFromTable: each command's help and usage reminder are made from
// the command table, so a line added there shows up in both.
func TestHelpFromTable(t *testing.T) {
	h := New(Config{})
	h.table[0].usage = append(h.table[0].usage, usageLine{"/status <probe>", "a line only this test adds"})
	for _, c := range h.table {
		t.Run(c.name, func(t *testing.T) {
			help := h.Handle(context.Background(), Request{UserID: "U0AGENT01", Command: c.name, Text: "help"})
			text := help.Blocks[0].Text
			if !strings.HasPrefix(text, "*"+c.name+"* — "+c.summary) {
				t.Errorf("help starts %q, want the name and summary %q", text, c.summary)
			}
			for _, u := range c.usage {
				line := "• `" + message.Escape(u.syntax) + "` — " + message.Escape(u.meaning)
				if !strings.Contains(text, line) {
					t.Errorf("help lacks %q; got:\n%s", line, text)
				}
				if short := c.shortUsage(); !strings.Contains(short, "`"+message.Escape(u.syntax)+"`") {
					t.Errorf("usage reminder lacks %q; got %q", u.syntax, short)
				}
			}
			if got, want := strings.Count(text, "\n• "), len(c.usage); got != want {
				t.Errorf("help has %d lines, want %d, one per usage", got, want)
			}
		})
	}
	if got := h.HelpText(); len(got) != len(h.table) {
		t.Errorf("HelpText has %d messages, want %d, one per command", len(got), len(h.table))
	}
}
