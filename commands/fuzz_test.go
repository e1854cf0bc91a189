package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/commands"
)

// FuzzHandle sends random text to both commands, as an agent and as a
// supervisor, against the simulator: no input may panic, and every answer
// must be at least one block that fits Slack and escapes what it repeats.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{
		"", "help", "busy", "available", "offline", "on-call", "after_call_work", "cancel",
		"busy <@U0AGENT02|jane>", "offline <@U0NOBODY1>", "busy <@U0AGENT02|<!channel>>",
		"team", "team sales_team", "team <!here>", "jane", "agent_003", "AGENT_003", "<@U0AGENT03>",
		"<!channel> & <@U123>", "&amp;&lt;", "  busy \t now ", "\x00\xff\xfe", "busy\nbusy",
		strings.Repeat("a ", 1000), strings.Repeat("é", 2001), "`*_~", "🟢",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	fx := newFixture(f, fixtureOptions{})
	f.Fuzz(func(t *testing.T, text string, supervisor bool) {
		user := userJohn
		if supervisor {
			user = userBoss
		}
		for _, command := range []string{"/status", "/presence"} {
			m := fx.h.Handle(context.Background(), commands.Request{UserID: user, Command: command, Text: text})
			checkMessage(t, m)
		}
	})
}
