package commands_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/presence"
)

// runesOf is text of exactly n characters (runes), repeating word.
func runesOf(word string, n int) string {
	r := []rune(strings.Repeat(word, n/utf8.RuneCountInString(word)+1))
	return string(r[:n])
}

// TestLengthCountsCharacters: the command length limit counts characters,
// not bytes, so Hindi or Tamil text (three bytes a character) gets the
// same 2,000 as English; the refusal counts in characters too.
func TestLengthCountsCharacters(t *testing.T) {
	const (
		hindi = "नमस्ते"  // Devanagari
		tamil = "வணக்கம்" // Tamil
	)
	tests := []struct {
		name, command, text string
		refused             bool
		count               string // the refusal's count of characters
	}{
		{"hindi just under", "/presence", runesOf(hindi, commands.MaxTextLen-1), false, ""},
		{"hindi at the limit", "/status", runesOf(hindi, commands.MaxTextLen), false, ""},
		{"tamil at the limit", "/presence", runesOf(tamil, commands.MaxTextLen), false, ""},
		{"hindi just over", "/status", runesOf(hindi, commands.MaxTextLen+1), true, "2,001"},
		{"tamil just over", "/presence", runesOf(tamil, commands.MaxTextLen+1), true, "2,001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.text) <= commands.MaxTextLen {
				t.Fatalf("test text is %d bytes: it must be over the limit in bytes to test anything", len(tt.text))
			}
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, tt.command, tt.text)
			if tt.refused {
				wantText(t, m, fmt.Sprintf("That command is too long (%s characters; at most 2,000).", tt.count))
				return
			}
			notText(t, m, "too long")
		})
	}
}

// TestPresenceLengthCountsCharacters: lists fill a section up to Slack's
// limit in characters, so fifteen agents with Hindi names and Tamil teams
// all show, as fifteen English ones would.
func TestPresenceLengthCountsCharacters(t *testing.T) {
	team := presence.Team{ID: "tamil_team", Name: strings.Repeat("த", 30)}
	var agents []presence.Agent
	for i := range 15 {
		agents = append(agents, presence.Agent{
			ID: fmt.Sprintf("agent_%03d", i+1), Name: fmt.Sprintf("%s %02d", strings.Repeat("क", 36), i+1),
			Status: presence.Available, StatusSince: t0.Add(-time.Hour), Team: &team,
		})
	}
	f := newFixture(t, fixtureOptions{agents: agents})
	m := f.run(t, userJohn, "/presence", "")
	notText(t, m, "…and")
	for i := range 15 {
		wantText(t, m, fmt.Sprintf("%s %02d (`agent_%03d`)", strings.Repeat("क", 36), i+1, i+1))
	}
}
