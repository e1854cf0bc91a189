package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// Action IDs of the bot's buttons.
const (
	ActionSetStatus   = message.ActionSetStatus   // set a status now
	ActionQueueStatus = message.ActionQueueStatus // set a status when the call ends
	ActionCancelQueue = message.ActionCancelQueue // drop a queued status
	ActionAckAlert    = message.ActionAckAlert    // acknowledge a firing alert
	ActionNudgeMore   = message.ActionNudgeMore   // a nudge's [5 more minutes]
)

// Click is a button press, as plain as a Request.
type Click struct {
	UserID    string // Slack user who pressed
	ChannelID string
	ActionID  string
	Value     string // what the button carried
	// Notify is Request.Notify's for a click.
	Notify func(ctx context.Context, m message.Message)
}

// Alerts is what buttons and the home view need of the alerter.
type Alerts interface {
	// Acknowledge marks a firing alert as seen by a supervisor and returns
	// the alert message as it now reads. value is the clicked button's
	// value, as it came: it names the alert and its episode. A button from
	// another episode changes nothing and returns an
	// *alerts.EpisodeOverError; store trouble returns an error wrapping
	// alerts.ErrStateUnavailable (nothing acknowledged).
	Acknowledge(ctx context.Context, value, by string, at time.Time) (message.Message, error)
	// Snooze snoozes a firing alert for an hour (no repeats, no pings)
	// and returns the alert message as it now reads; value and errors
	// as Acknowledge's.
	Snooze(ctx context.Context, value, by string, at time.Time) (message.Message, error)
	// Firing describes the alerts firing now, one mrkdwn line each.
	Firing(ctx context.Context) []string
}

// buttonValue is what a status button carries: the agent and the status
// it was made for, so a stale click is caught, and the target.
func buttonValue(agentID string, from, to presence.Status) string {
	return message.StatusButtonValue(agentID, string(from), string(to))
}

// statusButtons are the moves open to an agent now: one button per
// allowed status; on a call, the statuses that may wait for its end.
func (h *Handler) statusButtons(a presence.Agent, queued bool) []message.Button {
	var buttons []message.Button
	if a.Status.SystemManaged() {
		if h.queue != nil {
			for _, to := range presence.ManualStatuses {
				if afterCallAllowed(to) {
					buttons = append(buttons, message.Button{
						Label: capitalize(to.Label()) + " after this call", ActionID: ActionQueueStatus,
						Value: buttonValue(a.ID, "", to),
					})
				}
			}
		}
	} else {
		for _, to := range presence.Allowed(a.Status) {
			b := message.Button{Label: capitalize(to.Label()), ActionID: ActionSetStatus, Value: buttonValue(a.ID, a.Status, to)}
			if to == presence.Available {
				b.Style = message.StylePrimary
			}
			buttons = append(buttons, b)
		}
	}
	if queued {
		buttons = append(buttons, message.Button{Label: "Cancel queued status", ActionID: ActionCancelQueue,
			Value: buttonValue(a.ID, "", ""), Style: message.StyleDanger})
	}
	return buttons
}

// Click runs a button press through the same checks as the command it
// stands for. Answers replace the message the button was in; refusals
// do not, so the buttons stay for their owner.
func (h *Handler) Click(ctx context.Context, c Click) (m message.Message) {
	start := time.Now()
	defer func() { h.logCommand("button:"+c.ActionID, c.UserID, m, start) }()
	if c.ActionID == ActionAckAlert {
		return h.ackAlert(ctx, c)
	}
	if c.ActionID == ActionNudgeMore {
		return h.nudgeMore(ctx, c)
	}
	if c.ActionID == ActionSnoozeAlert {
		return h.snoozeAlert(ctx, c)
	}
	if c.ActionID == ActionEndSilence {
		return h.endSilence(ctx, c)
	}
	v, err := url.ParseQuery(c.Value)
	agentID := v.Get("agent")
	if err != nil || agentID == "" {
		return refused("That button is not one I understand. Type `/status` instead.")
	}
	var target, from presence.Status
	if t := v.Get("to"); t != "" {
		if target, err = presence.Parse(t); err != nil || !target.Manual() {
			return refused("That button is not one I understand. Type `/status` instead.")
		}
	}
	if f := v.Get("from"); f != "" {
		if from, err = presence.Parse(f); err != nil {
			return refused("That button is not one I understand. Type `/status` instead.")
		}
	}
	subj, refusal := h.clickSubject(ctx, c.UserID, agentID, target)
	if refusal != nil {
		return *refusal
	}
	switch c.ActionID {
	case ActionSetStatus:
		if target == "" || from == "" {
			return refused("That button is not one I understand. Type `/status` instead.")
		}
		m = h.changeStatus(ctx, subj, target, from, c.Notify)
	case ActionQueueStatus:
		if target == "" {
			return refused("That button is not one I understand. Type `/status` instead.")
		}
		m = h.queueStatus(ctx, subj, target)
	case ActionCancelQueue:
		m = h.cancelQueued(ctx, subj)
	default:
		return refused("That button is not one I understand. Type `/status` instead.")
	}
	// The new state of things replaces the message the button was in; a
	// failure or a bare refusal is said beside it, and its buttons stay
	// for another try.
	m.ReplaceOriginal = !m.Failed && (!m.Refused || hasButtons(m))
	return m
}

func hasButtons(m message.Message) bool {
	for _, b := range m.Blocks {
		if b.Kind == message.Actions && len(b.Buttons) > 0 {
			return true
		}
	}
	return false
}

// clickSubject allows a click by the agent the button is for, or by a
// supervisor; anyone else is refused and nothing is written.
func (h *Handler) clickSubject(ctx context.Context, clicker, agentID string, target presence.Status) (subject, *message.Message) {
	own, err := h.dir.AgentFor(ctx, clicker)
	switch {
	case err == nil && own == agentID:
		return subject{caller: clicker, agentID: agentID, user: clicker, self: true}, nil
	case h.dir.IsSupervisor(clicker):
		// The agent's Slack user, when known, lets answers name them.
		user, _ := h.dir.SlackUserFor(agentID)
		return subject{caller: clicker, agentID: agentID, user: user, self: false}, nil
	case err != nil && !errors.Is(err, ErrUnmapped):
		r := failed("⚠️ I couldn't look you up just now (" + lookupTrouble(err) + "). Nothing was changed.")
		return subject{}, &r
	}
	h.audit(clicker, agentID, "", target, "refused: button belongs to someone else")
	r := refused("Those buttons are for someone else's status, so I changed nothing. Use `/status` for your own.")
	return subject{}, &r
}

// ackAlert acknowledges a firing alert for a supervisor. Only a done
// acknowledgement replaces the alert; every other answer is for the
// clicker alone and leaves the message as it is.
func (h *Handler) ackAlert(ctx context.Context, c Click) message.Message {
	return h.alertClick(ctx, c, alertClick{
		verb: "acknowledge", done: "acknowledged", logMsg: "alert acknowledgement",
		do: func(a Alerts) (message.Message, error) { return a.Acknowledge(ctx, c.Value, c.UserID, h.now()) },
	})
}

// alertClick is what tells one alert button from another.
type alertClick struct {
	verb, done string // "snooze", "snoozed"
	logMsg     string
	do         func(Alerts) (message.Message, error)
}

// alertClick runs an alert's button for a supervisor. Only a done click
// replaces the alert; every other answer is for the clicker alone.
func (h *Handler) alertClick(ctx context.Context, c Click, k alertClick) message.Message {
	if !h.dir.IsSupervisor(c.UserID) {
		return refused(fmt.Sprintf("Only supervisors can %s alerts.", k.verb))
	}
	if h.alerts == nil {
		return refused("Alerts are not switched on for this bot.")
	}
	m, err := k.do(h.alerts)
	var over *alerts.EpisodeOverError
	// result details the click's outcome (the contract's ok, refused or
	// error, logged by Click) for whoever reads why nothing changed.
	result := k.done
	switch {
	case err == nil:
		m.ReplaceOriginal = true
		m.Visibility = message.InChannel
	case errors.As(err, &over):
		result = "over"
		m = refused(strings.NewReplacer("nothing to acknowledge", "nothing to "+k.verb,
			"acknowledge it on its latest message", k.verb+" it on its latest message").Replace(h.alertOver(over)))
	case errors.Is(err, alerts.ErrNotFiring):
		result = "over"
		m = refused("That alert is over; nothing to " + k.verb + ".")
	case errors.Is(err, alerts.ErrStateUnavailable):
		result = "state_unavailable"
		m = failed("⚠️ I couldn't reach the bot's shared state just now; nothing was " + k.done + ". Try again in a moment.")
	default:
		result = "error"
		m = failed("⚠️ Something went wrong; nothing was " + k.done + ". Try again in a moment.")
	}
	h.log.Info(k.logMsg, "result", result, "by", c.UserID,
		"value", message.Truncate(c.Value, 120), "err", err)
	return m
}

// alertOver says which alert a stale button was for, and points to a
// newer episode when one fires.
func (h *Handler) alertOver(over *alerts.EpisodeOverError) string {
	name := ""
	if over.Key != "" {
		// A backtick would end the code span early.
		name = "`" + message.Escape(strings.ReplaceAll(message.Truncate(over.Key, 60), "`", "'")) + "`"
	}
	var s string
	switch {
	case !over.FiredAt.IsZero() && name != "":
		s = fmt.Sprintf("That alert (%s, episode from %s) is over; nothing to acknowledge.", name, h.clock(over.FiredAt))
	case !over.FiredAt.IsZero():
		s = fmt.Sprintf("That alert (episode from %s) is over; nothing to acknowledge.", h.clock(over.FiredAt))
	case name != "":
		s = fmt.Sprintf("That button is from an earlier alert (%s), which is over; nothing to acknowledge.", name)
	default:
		s = "That button is from an alert that is over; nothing to acknowledge."
	}
	if !over.Current.IsZero() {
		s += fmt.Sprintf(" A newer one (from %s) is firing: acknowledge it on its latest message.", h.clock(over.Current))
	}
	return s
}
