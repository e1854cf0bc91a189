package commands_test

import (
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

// TestPresenceStatusAliases: /presence understands the status words
// people type (after-call, acw, oncall…) as the statuses they mean.
func TestPresenceStatusAliases(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"after-call", "📝 After-call work — 1 of 5 agents"},
		{"acw", "📝 After-call work — 1 of 5 agents"},
		{"ACW", "📝 After-call work — 1 of 5 agents"},
		{"after-call-work", "📝 After-call work — 1 of 5 agents"},
		{"after_call_work", "📝 After-call work — 1 of 5 agents"},
		{"oncall", "📞 On-call — 1 of 5 agents"},
		{"on-call", "📞 On-call — 1 of 5 agents"},
		{"On_Call", "📞 On-call — 1 of 5 agents"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/presence", tt.text)
			if len(m.Blocks) == 0 || m.Blocks[0].Text != tt.want {
				t.Errorf("/presence %s: first block %q, want %q; all:\n%s", tt.text, m.Blocks[0].Text, tt.want, allText(m))
			}
			notText(t, m, "No agent matches")
		})
	}
}

// TestStatusAliases: /status reads status words from the same table, so
// an alias of a status nobody chooses gets that status's explanation,
// not "I don't know the status".
func TestStatusAliases(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"acw", "*after-call work* follows a call automatically"},
		{"after-call", "*after-call work* follows a call automatically"},
		{"Oncall", "*on-call* is set by the contact center"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/status", tt.text)
			wantText(t, m, tt.want)
			notText(t, m, "I don't know the status")
			if st := f.sim.Stats(); st.Total != 0 {
				t.Errorf("API calls = %+v, want none", st)
			}
		})
	}
}

// TestStatusAliasTableShared: every alias of the one table means the same
// status to both commands.
func TestStatusAliasTableShared(t *testing.T) {
	aliases := presence.Aliases()
	if len(aliases) == 0 {
		t.Fatal("no aliases")
	}
	f := newFixture(t, fixtureOptions{})
	for word, st := range aliases {
		m := f.run(t, userJohn, "/presence", word)
		if head := m.Blocks[0].Text; !strings.Contains(head, strings.ToUpper(st.Label()[:1])+st.Label()[1:]+" — ") {
			t.Errorf("/presence %s: header %q, want the %s list", word, head, st)
		}
		s := f.run(t, userJohn, "/status", word)
		notText(t, s, "I don't know the status")
	}
	// The help names them, made from the same table.
	help := allText(f.run(t, userJohn, "/presence", "help"))
	for word := range aliases {
		if !strings.Contains(help, word) {
			t.Errorf("/presence help does not name the alias %q:\n%s", word, help)
		}
	}
}

// TestHelpWithMoreWords: "help" followed by anything is still help, for
// both commands; nothing is looked up or changed.
func TestHelpWithMoreWords(t *testing.T) {
	tests := []struct {
		command, text, want string
	}{
		{"/status", "help me", "*/status* — See or change your own status."},
		{"/status", "HELP cancel", "*/status* — See or change your own status."},
		{"/status", "help busy <@U0AGENT02>", "*/status* — See or change your own status."},
		{"/presence", "help team", "*/presence* — See who is where on the floor."},
		{"/presence", "Help with names", "*/presence* — See who is where on the floor."},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+tt.text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, tt.command, tt.text)
			wantText(t, m, tt.want)
			if st := f.sim.Stats(); st.Total != 0 {
				t.Errorf("API calls = %+v, want none", st)
			}
		})
	}
}
