package commands_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// fakeNudges answers MoreTime with what it is told and records the call.
type fakeNudges struct {
	m      message.Message
	err    error
	called bool
	value  string
	by     string
	at     time.Time
}

func (f *fakeNudges) MoreTime(_ context.Context, value, by string, at time.Time) (message.Message, error) {
	f.called, f.value, f.by, f.at = true, value, by, at
	return f.m, f.err
}

func nudgeHandler(t *testing.T, nudges commands.Nudges) *commands.Handler {
	t.Helper()
	mapping, err := agentmap.Parse([]byte(mappingYAML))
	if err != nil {
		t.Fatalf("parse mapping: %v", err)
	}
	now := func() time.Time { return t0 }
	return commands.New(commands.Config{
		Directory: commands.NewDirectory(mapping, nil, nil, now),
		Nudges:    nudges,
		Now:       now,
		Logger:    slog.New(slog.NewTextHandler(&testlog.Buffer{}, nil)),
	})
}

// moreValue is a [5 more minutes] value for agent_001, as the nudges make
// it (the commands read only the agent).
var moreValue = url.Values{"agent": {"agent_001"}, "rule": {"long-wrap-up"},
	"since": {"2024-06-15T08:50:00Z"}, "on": {"dm"}}.Encode()

// [5 more minutes] is the agent's own (on their DM) or a supervisor's (on
// the escalation): it goes to the nudges as it came, and the answer
// replaces the message. Anyone else, a button that names no agent, or
// nudges switched off change nothing; an episode that is over or state
// that is down each get their own answer, beside the message.
func TestNudgeMoreClick(t *testing.T) {
	done := message.Message{Text: "5 more minutes, until 09:05", Blocks: []message.Block{message.NewSection("5 more minutes, until 09:05")}}
	tests := []struct {
		name     string
		user     string
		value    string
		off      bool
		err      error
		want     string // in the answer
		outcome  string
		called   bool
		replaces bool
	}{
		{name: "the agent", user: "U0AGENT01", value: moreValue, want: "until 09:05", outcome: message.OutcomeOK, called: true, replaces: true},
		{name: "a supervisor", user: "U0SUPER01", value: moreValue, want: "until 09:05", outcome: message.OutcomeOK, called: true, replaces: true},
		{name: "another agent", user: "U0AGENT02", value: moreValue, want: "someone else's", outcome: message.OutcomeRefused},
		{name: "an unmapped user", user: "U0NOBODY1", value: moreValue, want: "someone else's", outcome: message.OutcomeRefused},
		{name: "no agent in the value", user: "U0AGENT01", value: "rule=x", want: "not one I understand", outcome: message.OutcomeRefused},
		{name: "nudges off", user: "U0AGENT01", value: moreValue, off: true, want: "not switched on", outcome: message.OutcomeRefused},
		{name: "episode over", user: "U0AGENT01", value: moreValue, err: fmt.Errorf("agent_001: %w", nudge.ErrEpisodeOver),
			want: "already moved on", outcome: message.OutcomeRefused, called: true},
		{name: "not a nudge button", user: "U0AGENT01", value: moreValue, err: nudge.ErrNotUnderstood,
			want: "not one I understand", outcome: message.OutcomeRefused, called: true},
		{name: "extra time used up", user: "U0AGENT01", value: moreValue,
			err:  &nudge.NoMoreTimeError{Agent: "agent_001", Answer: "You've had the extra time already; your supervisors will be told at 09:07."},
			want: "told at 09:07", outcome: message.OutcomeRefused, called: true},
		{name: "state down", user: "U0SUPER01", value: moreValue, err: fmt.Errorf("x: %w: %w", nudge.ErrStateUnavailable, errors.New("redis")),
			want: "couldn't reach", outcome: message.OutcomeError, called: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &fakeNudges{m: done, err: tt.err}
			var h *commands.Handler
			if tt.off {
				h = nudgeHandler(t, nil)
			} else {
				h = nudgeHandler(t, fn)
			}
			m := h.Click(context.Background(), commands.Click{UserID: tt.user, ChannelID: "D0AGENT01",
				ActionID: commands.ActionNudgeMore, Value: tt.value})
			wantText(t, m, tt.want)
			if got := m.Outcome(); got != tt.outcome {
				t.Errorf("got outcome %s, want %s", got, tt.outcome)
			}
			if fn.called != tt.called {
				t.Errorf("MoreTime called: %v, want %v", fn.called, tt.called)
			}
			if fn.called && (fn.value != tt.value || fn.by != tt.user || !fn.at.Equal(t0)) {
				t.Errorf("MoreTime got (%q, %q, %s), want (%q, %q, %s)", fn.value, fn.by, fn.at, tt.value, tt.user, t0)
			}
			if m.ReplaceOriginal != tt.replaces {
				t.Errorf("replaces the message: %v, want %v", m.ReplaceOriginal, tt.replaces)
			}
			if tt.replaces && m.Visibility != message.InChannel {
				t.Error("the new message is ephemeral; it replaces a DM or channel post")
			}
		})
	}
}
