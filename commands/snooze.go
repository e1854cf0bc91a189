package commands

import (
	"context"

	"github.com/presencebot/presence-bot/message"
)

// ActionSnoozeAlert is the action ID of an alert's [Snooze 1h] button.
const ActionSnoozeAlert = message.ActionSnoozeAlert

// snoozeAlert snoozes a firing alert for a supervisor, like ackAlert:
// only a done snooze replaces the alert (its buttons kept, saying until
// when and by whom); every other answer is for the clicker alone.
func (h *Handler) snoozeAlert(ctx context.Context, c Click) message.Message {
	return h.alertClick(ctx, c, alertClick{
		verb: "snooze", done: "snoozed", logMsg: "alert snooze",
		do: func(a Alerts) (message.Message, error) { return a.Snooze(ctx, c.Value, c.UserID, h.now()) },
	})
}
