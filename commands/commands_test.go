package commands_test

import (
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/commands"
)

func TestHandleCommandNames(t *testing.T) {
	tests := []struct {
		name, command string
		want          string
	}{
		// The commands as Slack sends them.
		{"status", "/status", "*/status* — See or change your own status."},
		{"presence", "/presence", "*/presence* — See who is where on the floor."},
		// Case, space and a missing slash are forgiven.
		{"loose spelling", " STATUS ", "*/status* —"},
		// Anything else names the two it knows.
		{"unknown", "/weather", "I don't know the command `/weather`. I understand `/status` and `/presence`."},
		{"empty", "", "I don't know the command ``."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			wantText(t, f.run(t, userJohn, tt.command, "help"), tt.want)
		})
	}
}

func TestHandleOversizedText(t *testing.T) {
	tests := []struct {
		name    string
		command string
		size    int
		refused bool
	}{
		// One character over the limit is refused for either command.
		{"status over", "/status", commands.MaxTextLen + 1, true},
		{"presence over", "/presence", commands.MaxTextLen + 1, true},
		// Far over too.
		{"presence far over", "/presence", 1 << 20, true},
		// At the limit the command runs (and finds no such agent).
		{"presence at limit", "/presence", commands.MaxTextLen, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, tt.command, strings.Repeat("x", tt.size))
			if tt.refused {
				wantText(t, m, "That command is too long", "at most 2,000", "Usage: `"+tt.command)
				if st := f.sim.Stats(); st.Total != 0 {
					t.Errorf("API calls = %+v, want none", st)
				}
				return
			}
			notText(t, m, "too long")
			wantText(t, m, "No agent matches `xxxxx")
		})
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// The spec's example number keeps its last four digits.
		{"+919876543210", "••••3210"},
		// Spaces, dashes and brackets are not digits.
		{"+1 (555) 010-9999", "••••9999"},
		// Four digits or fewer are all hidden: they would be the whole number.
		{"1234", "••••"},
		{"12345", "••••2345"},
		// Nothing, or nothing numeric.
		{"", "••••"},
		{"anonymous", "••••"},
	}
	for _, tt := range tests {
		if got := commands.MaskNumber(tt.in); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
