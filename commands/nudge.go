package commands

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/message"
)

// Nudges is what the [5 more minutes] button needs of the nudges.
type Nudges interface {
	// MoreTime gives the agent of the button's episode five more minutes
	// before their supervisors are told (after that, it notes the click),
	// and returns the clicked message as it now reads. value is the
	// button's value, as it came. An episode that is over returns an
	// error wrapping nudge.ErrEpisodeOver; store trouble one wrapping
	// nudge.ErrStateUnavailable (nothing changed).
	MoreTime(ctx context.Context, value, by string, at time.Time) (message.Message, error)
}

// nudgeMore answers [5 more minutes]: the agent's own (on their DM) or a
// supervisor's (on the escalation), checked as every status button is.
// Only a click done replaces the message; every other answer is for the
// clicker alone.
func (h *Handler) nudgeMore(ctx context.Context, c Click) message.Message {
	v, err := url.ParseQuery(c.Value)
	agentID := v.Get("agent")
	if err != nil || agentID == "" {
		return refused("That button is not one I understand. Type `/status` instead.")
	}
	if _, refusal := h.clickSubject(ctx, c.UserID, agentID, ""); refusal != nil {
		return *refusal
	}
	if h.nudges == nil {
		return refused("Time-in-status reminders are not switched on for this bot.")
	}
	m, err := h.nudges.MoreTime(ctx, c.Value, c.UserID, h.now())
	result := "more_time"
	switch {
	case err == nil:
		m.ReplaceOriginal = true
		m.Visibility = message.InChannel
	case errors.Is(err, nudge.ErrEpisodeOver):
		result = "over"
		m = refused("That reminder is over: they've already moved on, so there's nothing to wait for.")
	case errors.Is(err, nudge.ErrNoMoreTime):
		result = "no_more_time"
		var noMore *nudge.NoMoreTimeError
		if errors.As(err, &noMore) {
			m = refused(noMore.Answer)
		} else {
			m = refused("You've had the extra time already.")
		}
	case errors.Is(err, nudge.ErrNotUnderstood):
		result = "not_understood"
		m = refused("That button is not one I understand. Type `/status` instead.")
	case errors.Is(err, nudge.ErrStateUnavailable):
		result = "state_unavailable"
		m = failed("⚠️ I couldn't reach the bot's shared state just now; nothing was changed. Try again in a moment.")
	default:
		result = "error"
		m = failed("⚠️ Something went wrong; nothing was changed. Try again in a moment.")
	}
	h.log.Info("nudge: 5 more minutes", "result", result, "by", c.UserID, "agent", agentID, "err", err)
	return m
}
