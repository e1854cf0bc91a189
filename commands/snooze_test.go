package commands_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
)

// Snooze answers like Acknowledge, recording that it was asked to snooze.
func (f *fakeAlerts) Snooze(_ context.Context, value, _ string, _ time.Time) (message.Message, error) {
	f.value = "snooze:" + value
	return f.m, f.err
}

// TestSnoozeAlertClick: the [Snooze 1h] click reaches Alerter.Snooze with
// the button's value; a done snooze rewrites the alert in the channel;
// every other outcome answers the clicker alone and leaves the alert.
func TestSnoozeAlertClick(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		err     error
		want    []string
		replace bool
		outcome string
		called  bool
	}{
		{name: "snoozed", user: userBoss, want: []string{"Snoozed until 09:47"}, replace: true, outcome: "ok", called: true},
		{name: "not a supervisor", user: userJohn, want: []string{"Only supervisors can snooze alerts."}, outcome: "refused"},
		{name: "another episode", user: userBoss, called: true, outcome: "refused",
			err:  &alerts.EpisodeOverError{Key: alerts.TotalKey, FiredAt: t0.Add(-46 * time.Minute), Op: "snooze"},
			want: []string{"That alert (`total`, episode from 08:14 UTC) is over; nothing to snooze."}},
		{name: "store trouble", user: userBoss, called: true, outcome: "error",
			err:  fmt.Errorf("snooze: %w: %w", alerts.ErrStateUnavailable, errors.New("i/o timeout")),
			want: []string{"I couldn't reach the bot's shared state just now; nothing was snoozed. Try again in a moment."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAlerts{err: tc.err}
			if tc.err == nil {
				fa.m = message.Message{Text: "Warning", Blocks: []message.Block{message.NewContext("Snoozed until 09:47 by <@U0SUPER01>")}}
			}
			h, logs := ackHandler(t, fa)
			m := h.Click(context.Background(), commands.Click{UserID: tc.user, ChannelID: "C0ALERTS",
				ActionID: commands.ActionSnoozeAlert, Value: "alert=total&fired=1"})
			checkMessage(t, m)
			if got, want := fa.value, "snooze:alert=total&fired=1"; tc.called && got != want {
				t.Errorf("Snooze got %q, want %q (the button's value, as clicked)", got, want)
			}
			if !tc.called && fa.value != "" {
				t.Errorf("the alerter was called (%q) for a click that is refused first", fa.value)
			}
			wantText(t, m, tc.want...)
			if m.ReplaceOriginal != tc.replace || (m.Visibility == message.InChannel) != tc.replace {
				t.Errorf("replace %v, visibility %v; want the alert replaced in the channel only when snoozed (%v)",
					m.ReplaceOriginal, m.Visibility, tc.replace)
			}
			if got := m.Outcome(); got != tc.outcome {
				t.Errorf("outcome %s, want %s", got, tc.outcome)
			}
			if tc.called && !containsAll(logs.String(), "alert snooze") {
				t.Errorf("log %q lacks the click", logs.String())
			}
		})
	}
}
