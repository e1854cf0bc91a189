package commands_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// fakeAlerts answers Acknowledge with what it is told and records the
// value it was given.
type fakeAlerts struct {
	m     message.Message
	err   error
	value string
}

func (f *fakeAlerts) Acknowledge(_ context.Context, value, _ string, _ time.Time) (message.Message, error) {
	f.value = value
	return f.m, f.err
}

func (f *fakeAlerts) Firing(context.Context) []string { return nil }

func ackHandler(t *testing.T, fa *fakeAlerts) (*commands.Handler, *testlog.Buffer) {
	t.Helper()
	mapping, err := agentmap.Parse([]byte(mappingYAML))
	if err != nil {
		t.Fatalf("parse mapping: %v", err)
	}
	now := func() time.Time { return t0 }
	logs := &testlog.Buffer{}
	h := commands.New(commands.Config{
		Directory: commands.NewDirectory(mapping, nil, nil, now),
		Alerts:    fa,
		Now:       now,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
	})
	return h, logs
}

// TestAckAlertAnswers: each outcome of an acknowledgement has its own
// answer; only a done acknowledgement rewrites the alert.
func TestAckAlertAnswers(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    []string
		bad     []string
		failed  bool
		outcome string
	}{
		{
			name:    "another episode",
			err:     &alerts.EpisodeOverError{Key: alerts.TotalKey, FiredAt: t0.Add(-46 * time.Minute), Current: t0.Add(-5 * time.Minute)},
			want:    []string{"That alert (`total`, episode from 08:14 UTC) is over; nothing to acknowledge.", "A newer one (from 08:55 UTC) is firing"},
			bad:     []string{"shared state", "not firing any more"},
			outcome: "over",
		},
		{
			name:    "no longer firing, earlier day",
			err:     &alerts.EpisodeOverError{Key: "team:<b>&co", FiredAt: t0.Add(-11 * time.Hour)},
			want:    []string{"That alert (`team:&lt;b&gt;&amp;co`, episode from Fri 14 Jun 22:00 UTC) is over; nothing to acknowledge."},
			bad:     []string{"newer"},
			outcome: "over",
		},
		{
			name:    "old button",
			err:     &alerts.EpisodeOverError{Key: alerts.TotalKey, Current: t0.Add(-5 * time.Minute)},
			want:    []string{"That button is from an earlier alert (`total`), which is over; nothing to acknowledge.", "A newer one (from 08:55 UTC) is firing"},
			outcome: "over",
		},
		{
			name:    "store trouble",
			err:     fmt.Errorf("acknowledge %q: %w: %w", "total", alerts.ErrStateUnavailable, errors.New("i/o timeout")),
			want:    []string{"I couldn't reach the bot's shared state just now; nothing was acknowledged. Try again in a moment."},
			bad:     []string{"is over", "not firing", "i/o timeout"},
			failed:  true,
			outcome: "state_unavailable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAlerts{err: tc.err}
			h, logs := ackHandler(t, fa)
			m := h.Click(context.Background(), commands.Click{UserID: userBoss, ChannelID: "C0ALERTS", ActionID: commands.ActionAckAlert, Value: "alert=total&fired=1"})
			checkMessage(t, m)
			if fa.value != "alert=total&fired=1" {
				t.Errorf("Acknowledge got %q, want the button's value as clicked", fa.value)
			}
			wantText(t, m, tc.want...)
			notText(t, m, tc.bad...)
			if m.ReplaceOriginal || m.Visibility == message.InChannel {
				t.Errorf("the refusal replaces the alert or goes to the channel: %+v", m)
			}
			if m.Failed != tc.failed {
				t.Errorf("Failed = %v, want %v", m.Failed, tc.failed)
			}
			if got := logs.String(); !containsAll(got, "alert acknowledgement", "result="+tc.outcome) {
				t.Errorf("log %q lacks the click's outcome %s", got, tc.outcome)
			}
		})
	}

	t.Run("acknowledged", func(t *testing.T) {
		fa := &fakeAlerts{m: message.Message{Text: "Low availability", Blocks: []message.Block{message.NewSection("Acknowledged by <@U0SUPER01>")}}}
		h, logs := ackHandler(t, fa)
		m := h.Click(context.Background(), commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert, Value: "alert=total&fired=1"})
		if !m.ReplaceOriginal || m.Visibility != message.InChannel {
			t.Errorf("the acknowledged alert does not replace the original in the channel: %+v", m)
		}
		if got := logs.String(); !containsAll(got, "alert acknowledgement", "result=acknowledged") {
			t.Errorf("log %q lacks the click's outcome", got)
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
