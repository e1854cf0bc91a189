package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
)

// ActionEndSilence is the action ID of a silence's [End silence] button.
const ActionEndSilence = message.ActionEndSilence

// Silences is what /presence silence, /presence silences and the [End
// silence] button need of the silence store (*silence.Store).
type Silences interface {
	Add(ctx context.Context, target string, d time.Duration, by, reason string, now time.Time) (silence.Silence, error)
	End(ctx context.Context, id, by string, now time.Time) (silence.Silence, error)
	Active(ctx context.Context, now time.Time) ([]silence.Silence, error)
}

const (
	// silenceUsage is the command's syntax, escaped for Slack.
	silenceUsage = "`/presence silence &lt;rule|team&gt; &lt;duration&gt; [reason]`"
	// targetsListed is how many targets a refusal names.
	targetsListed = 10
	// silencesListed is how many silences /presence silences shows: two
	// blocks each, with the header and the footer, within Slack's 50.
	silencesListed = 20
	// silencesOff is the answer while alerts are off.
	silencesOff = "Alerts are not switched on for this bot, so there are no silences."
	// stateTrouble starts the answer when the silences cannot be read or
	// written.
	stateTrouble = "⚠️ I couldn't reach the bot's shared state just now"
)

// silence is /presence silence <rule|team> <duration> [reason]: a
// supervisor holds back a rule's or a team's alerts, and the channel is
// told, as it would be of any supervisor's action on the floor.
//
// A target is one of SilenceTargets (the rules' names and the teams they
// watch), matched case-insensitively and stored as configured, since
// silence.Covers matches exactly. Teams only seen in the roster are not
// accepted: a silence of a team no rule watches would hold back nothing,
// and silencing must work while the contact center is down.
func (h *Handler) silence(ctx context.Context, req Request, args []string) message.Message {
	if !h.dir.IsSupervisor(req.UserID) {
		return refused("Only supervisors can silence alerts. `/presence silences` shows the silences there are.")
	}
	if h.silences == nil {
		return refused(silencesOff)
	}
	targets := h.targets()
	if len(targets) == 0 {
		return refused("No alert rules are configured, so there is nothing to silence.")
	}
	if len(args) < 2 {
		return refused(fmt.Sprintf("Name what to silence and for how long: %s, e.g. `/presence silence %s 2h lunch cover`.\n%s",
			silenceUsage, message.Escape(targets[0]), targetsText(targets)))
	}
	target, ok := findTarget(targets, args[0])
	if !ok {
		return refused(fmt.Sprintf("There is no alert rule or team %s to silence. %s\nUsage: %s",
			code(args[0]), targetsText(targets), silenceUsage))
	}
	d, ok := parseSilenceDuration(args[1])
	if !ok {
		return refused(fmt.Sprintf("%s is not a duration: give minutes, hours or days, such as `30m`, `1h30m`, `2d`.\nUsage: %s",
			code(args[1]), silenceUsage))
	}
	if d < silence.MinDuration || d > silence.MaxDuration {
		return refused(fmt.Sprintf("A silence lasts at least 1 minute and at most 7 days, not %s.", code(args[1])))
	}
	reason := strings.Join(args[2:], " ")
	if n := textLen(reason); n > silence.MaxReason {
		return refused(fmt.Sprintf("The reason is too long (%s characters; at most %d).", message.Thousands(n), silence.MaxReason))
	}
	s, err := h.silences.Add(ctx, target, d, req.UserID, reason, h.now())
	switch {
	case errors.Is(err, silence.ErrInvalid):
		why := strings.TrimPrefix(err.Error(), silence.ErrInvalid.Error()+": ")
		return refused("I can't add that silence: " + message.Escape(why) + ".")
	case err != nil:
		h.log.Warn("could not add a silence", "target", target, "err", err)
		return failed(stateTrouble + "; nothing was silenced. Try again in a moment.")
	}
	text := fmt.Sprintf("🔕 %s silenced %s until %s (for %s).", mention(s.By), code(s.Target), h.clock(s.End), message.Duration(d))
	section := text
	if s.Reason != "" {
		section += "\nReason: " + message.Escape(s.Reason)
	}
	return message.Message{
		Visibility: message.InChannel,
		Text:       message.Summary(text),
		Blocks: []message.Block{
			message.NewSection(section),
			message.NewContext("Its alerts are held back and counted until then. `/presence silences` lists the silences, each with a button to end it."),
		},
	}
}

// listSilences is /presence silences: the active silences, for whoever
// may use /presence; supervisors get an [End silence] button on each.
func (h *Handler) listSilences(ctx context.Context, req Request, args []string) message.Message {
	if refusal := h.mayQuery(ctx, req.UserID); refusal != nil {
		return *refusal
	}
	if h.silences == nil {
		return refused(silencesOff)
	}
	if len(args) > 0 {
		return refused("`/presence silences` takes nothing more; it lists every active silence.")
	}
	now := h.now()
	list, err := h.silences.Active(ctx, now)
	if err != nil {
		h.log.Warn("could not read the silences", "err", err)
		return failed(stateTrouble + ", so I can't list the silences. Try again in a moment.")
	}
	if len(list) == 0 {
		return message.Reply("No silences. Every alert rule posts as usual.")
	}
	ender := h.dir.IsSupervisor(req.UserID)
	title := "🔕 Silences — " + message.Thousands(len(list)) + " active"
	blocks := []message.Block{message.NewHeader(title)}
	for _, s := range list[:min(len(list), silencesListed)] {
		blocks = append(blocks, message.NewSection(h.silenceLine(s, now)))
		if ender {
			blocks = append(blocks, message.NewActions(message.Button{
				Label: "End silence", ActionID: ActionEndSilence, Value: s.ID, Style: message.StyleDanger}))
		}
	}
	foot := "Silenced rules post nothing until the silence ends; what they held back is reported then."
	if rest := len(list) - silencesListed; rest > 0 {
		foot = fmt.Sprintf("…and %s more, ending later. %s", message.Thousands(rest), foot)
	}
	blocks = append(blocks, message.NewContext(foot))
	return message.Message{Visibility: message.Ephemeral, Text: title, Blocks: blocks}
}

// silenceLine is one silence in the list.
func (h *Handler) silenceLine(s silence.Silence, now time.Time) string {
	line := fmt.Sprintf("*%s* until %s (%s left) · set by %s · %s held back",
		code(s.Target), h.clock(s.End), message.Duration(s.End.Sub(now)), mention(s.By), message.Thousands(s.Suppressed))
	if s.Reason != "" {
		line += "\nReason: " + message.Escape(s.Reason)
	}
	return line
}

// endSilence answers an [End silence] click: a supervisor ends the
// silence, and the channel is told. A silence already over, or unknown,
// is said so and changes nothing.
func (h *Handler) endSilence(ctx context.Context, c Click) message.Message {
	if !h.dir.IsSupervisor(c.UserID) {
		return refused("Only supervisors can end a silence.")
	}
	if h.silences == nil {
		return refused(silencesOff)
	}
	if c.Value == "" || len(c.Value) > 64 {
		return refused("That button is not one I understand. Type `/presence silences` instead.")
	}
	s, err := h.silences.End(ctx, c.Value, c.UserID, h.now())
	switch {
	case errors.Is(err, silence.ErrEnded):
		how := "ran out at " + h.clock(s.End)
		if s.EndedBy != "" {
			how = fmt.Sprintf("at %s, by %s", h.clock(s.End), mention(s.EndedBy))
		}
		return refused(fmt.Sprintf("That silence of %s has already ended (%s).", code(s.Target), how))
	case errors.Is(err, silence.ErrNotFound):
		return refused("I have no such silence: it may have ended more than a week ago. `/presence silences` lists the active ones.")
	case err != nil:
		h.log.Warn("could not end a silence", "id", message.Truncate(c.Value, 64), "err", err)
		return failed(stateTrouble + "; nothing was ended. Try again in a moment.")
	}
	text := fmt.Sprintf("🔔 %s ended the silence of %s (set by %s at %s). %s held back; its alerts post again from now.",
		mention(c.UserID), code(s.Target), mention(s.By), h.clock(s.Start), message.Plural(s.Suppressed, "alert post"))
	// A new message in the channel rather than in place of the list: the
	// list is ephemeral, and a response_url may post in_channel (Slack,
	// "Handling user interaction", https://api.slack.com/interactivity/handling#message_responses).
	return message.Message{Visibility: message.InChannel, Text: message.Summary(text), Blocks: []message.Block{message.NewSection(text)}}
}

// targets is what a silence may name now.
func (h *Handler) targets() []string {
	if h.silenceTargets == nil {
		return nil
	}
	return h.silenceTargets()
}

// findTarget returns the configured spelling of name.
func findTarget(targets []string, name string) (string, bool) {
	for _, t := range targets {
		if strings.EqualFold(t, name) {
			return t, true
		}
	}
	return "", false
}

// targetsText names what may be silenced, at most targetsListed of them.
func targetsText(targets []string) string {
	parts := make([]string, 0, min(len(targets), targetsListed))
	for _, t := range targets[:min(len(targets), targetsListed)] {
		parts = append(parts, code(t))
	}
	text := "Rules and teams: " + strings.Join(parts, ", ")
	if rest := len(targets) - targetsListed; rest > 0 {
		text += fmt.Sprintf(" and %s more", message.Thousands(rest))
	}
	return text + "."
}

// code shows s as inline code, escaped and short; a backtick would end
// the code span early.
func code(s string) string {
	return "`" + message.Escape(strings.ReplaceAll(message.Truncate(s, 60), "`", "'")) + "`"
}

// parseSilenceDuration reads a Go duration ("30m", "1h30m"), days ("2d"),
// or days then a Go duration ("1d12h").
func parseSilenceDuration(s string) (time.Duration, bool) {
	s = strings.ToLower(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, false
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || (days > 0 && d < 0) {
		return 0, false
	}
	return days + d, true
}
