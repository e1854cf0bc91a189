package commands

import (
	"context"
	"errors"
	"strings"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/message"
)

// ActionSnoozeAlert is the action ID of an alert's [Snooze 1h] button.
const ActionSnoozeAlert = message.ActionSnoozeAlert

// snoozeAlert snoozes a firing alert for a supervisor, like ackAlert:
// only a done snooze replaces the alert (its buttons kept, saying until
// when and by whom); every other answer is for the clicker alone.
func (h *Handler) snoozeAlert(ctx context.Context, c Click) message.Message {
	if !h.dir.IsSupervisor(c.UserID) {
		return refused("Only supervisors can snooze alerts.")
	}
	if h.alerts == nil {
		return refused("Alerts are not switched on for this bot.")
	}
	m, err := h.alerts.Snooze(ctx, c.Value, c.UserID, h.now())
	var over *alerts.EpisodeOverError
	result := "snoozed"
	switch {
	case err == nil:
		m.ReplaceOriginal = true
		m.Visibility = message.InChannel
	case errors.As(err, &over):
		result = "over"
		m = refused(snoozeWords(h.alertOver(over)))
	case errors.Is(err, alerts.ErrNotFiring):
		result = "over"
		m = refused("That alert is over; nothing to snooze.")
	case errors.Is(err, alerts.ErrStateUnavailable):
		result = "state_unavailable"
		m = failed("⚠️ I couldn't reach the bot's shared state just now; nothing was snoozed. Try again in a moment.")
	default:
		result = "error"
		m = failed("⚠️ Something went wrong; nothing was snoozed. Try again in a moment.")
	}
	h.log.Info("alert snooze", "result", result, "by", c.UserID,
		"value", message.Truncate(c.Value, 120), "err", err)
	return m
}

// snoozeWords turns alertOver's answer, written for Acknowledge, into the
// same answer for a snooze.
func snoozeWords(s string) string {
	return strings.NewReplacer("nothing to acknowledge", "nothing to snooze",
		"acknowledge it on its latest message", "snooze it on its latest message").Replace(s)
}
