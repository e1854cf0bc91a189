package nudge

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// maxNameRunes bounds a name or rule name in a message.
const maxNameRunes = 60

// clean makes API text safe and short for a message.
func clean(s string) string { return message.Escape(message.Truncate(s, maxNameRunes)) }

// code is a rule name as a code span: escaped, and without backticks,
// which would end it early.
func code(s string) string { return "`" + clean(strings.ReplaceAll(s, "`", "'")) + "`" }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// clock shows t in the nudger's zone: the time alone on now's day, else
// with the day.
func (n *Nudger) clock(t, now time.Time) string {
	t, now = t.In(n.loc), now.In(n.loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// who names the agent for the channel: a mention when mapped, else the
// escaped name and the agent ID.
func who(ep Episode, agentID string) string {
	if ep.User != "" {
		return "<@" + ep.User + ">"
	}
	name := ep.Name
	if name == "" {
		return code(agentID)
	}
	return "*" + clean(name) + "* (" + code(agentID) + ")"
}

// whoPlain is who for notification text: no mention, no marks.
func whoPlain(ep Episode, agentID string) string {
	if ep.Name != "" {
		return clean(ep.Name)
	}
	return clean(agentID)
}

// Where a [5 more minutes] button is: on the DM or on the escalation.
const (
	onDM         = "dm"
	onEscalation = "escalation"
)

// moreValue is what [5 more minutes] carries: the rule, the agent (under
// the key status buttons use, so the commands check the clicker alike),
// the episode, and which message it is on.
func moreValue(rule, agentID string, since time.Time, on string) string {
	v := url.Values{}
	v.Set("agent", agentID)
	v.Set("rule", rule)
	v.Set("since", since.UTC().Format(time.RFC3339Nano))
	v.Set("on", on)
	return v.Encode()
}

// parseMoreValue reads moreValue's value.
func parseMoreValue(value string) (rule, agentID string, since time.Time, on string, ok bool) {
	v, err := url.ParseQuery(value)
	if err != nil {
		return "", "", time.Time{}, "", false
	}
	rule, agentID, on = v.Get("rule"), v.Get("agent"), v.Get("on")
	since, err = time.Parse(time.RFC3339Nano, v.Get("since"))
	if err != nil || rule == "" || agentID == "" || (on != onDM && on != onEscalation) {
		return "", "", time.Time{}, "", false
	}
	return rule, agentID, since, on, true
}

// buttons are the moves open to the agent now, as every other status
// button makes them (same action IDs and values), and [5 more minutes].
func buttons(r Rule, agentID string, ep Episode, on string) message.Block {
	var bs []message.Button
	for _, to := range presence.Allowed(ep.Status) {
		b := message.Button{Label: capitalize(to.Label()), ActionID: message.ActionSetStatus,
			Value: message.StatusButtonValue(agentID, string(ep.Status), string(to))}
		if to == presence.Available {
			b.Style = message.StylePrimary
		}
		bs = append(bs, b)
	}
	bs = append(bs, message.Button{Label: "5 more minutes", ActionID: message.ActionNudgeMore,
		Value: moreValue(r.Name, agentID, ep.Since, on)})
	return message.NewActions(bs...)
}

// moreNote says until when [5 more minutes] holds, and who asked; "" when
// nobody did.
func (n *Nudger) moreNote(ep Episode, now time.Time) string {
	if ep.MoreUntil.IsZero() {
		return ""
	}
	return fmt.Sprintf("⏳ 5 more minutes, until %s (asked by <@%s>).", n.clock(ep.MoreUntil, now), ep.MoreBy)
}

// dmMessage is the nudge: how long in what status, and the buttons while
// withButtons (an episode closed outside active hours shows none).
func (n *Nudger) dmMessage(r Rule, agentID string, ep Episode, withButtons bool, now time.Time) message.Message {
	label := ep.Status.Label()
	long := message.Duration(now.Sub(ep.Since))
	blocks := []message.Block{message.NewSection(fmt.Sprintf(
		"⏳ You've been in *%s* for *%s*, since %s.\nReady to move on? Pick your status, or take 5 more minutes.",
		label, long, n.clock(ep.Since, now)))}
	if withButtons {
		blocks = append(blocks, buttons(r, agentID, ep, onDM))
	}
	notes := []string{"Rule " + code(r.Name) + "."}
	switch {
	case !ep.EscalatedAt.IsZero():
		notes = append(notes, "Your supervisors were told at "+n.clock(ep.EscalatedAt, now)+".")
	case !ep.EscalateAt.IsZero():
		notes = append(notes, fmt.Sprintf("If you're still in %s at %s, your supervisors are told.", label, n.clock(ep.EscalateAt, now)))
	}
	if s := n.moreNote(ep, now); s != "" {
		notes = append(notes, s)
	}
	if !withButtons {
		notes = append(notes, "No more reminders today: outside active hours.")
	}
	blocks = append(blocks, message.NewContext(strings.Join(notes, " ")))
	return message.Message{Visibility: message.InChannel,
		Text: fmt.Sprintf("You've been in %s for %s.", label, long), Blocks: blocks}
}

// escalationMessage is the channel's post naming the agent, with the
// same buttons for supervisors while withButtons.
func (n *Nudger) escalationMessage(r Rule, agentID string, ep Episode, withButtons bool, now time.Time) message.Message {
	label := ep.Status.Label()
	long := message.Duration(now.Sub(ep.Since))
	name := who(ep, agentID)
	if ep.User != "" && ep.Name != "" {
		name += " (" + clean(ep.Name) + ")"
	}
	line := fmt.Sprintf("⚠️ %s has been in *%s* for *%s*, since %s.", name, label, long, n.clock(ep.Since, now))
	ping := mentions(r.Mention)
	if ping != "" {
		// The escalation is the supervisors' page.
		line = ping + " " + line
	}
	switch {
	case ep.User == "":
		line += "\nNot mapped to a Slack user, so nobody could nudge them first."
	case ep.NudgedAt.IsZero():
		line += "\nTheir reminder could not be delivered by DM."
	case ep.DM.Held:
		line += "\nTheir reminder at " + n.clock(ep.NudgedAt, now) + " was held back by a silence."
	default:
		line += "\nReminded by DM at " + n.clock(ep.NudgedAt, now) + "."
	}
	blocks := []message.Block{message.NewSection(line)}
	if withButtons {
		blocks = append(blocks, buttons(r, agentID, ep, onEscalation))
	}
	notes := []string{"Rule " + code(r.Name) + "."}
	if ep.Team != "" {
		notes = append(notes, "Team "+code(ep.Team)+".")
	}
	if s := n.moreNote(ep, now); s != "" {
		notes = append(notes, s)
	}
	if !withButtons {
		notes = append(notes, "Closed at "+n.clock(now, now)+": outside active hours.")
	}
	blocks = append(blocks, message.NewContext(strings.Join(notes, " ")))
	text := fmt.Sprintf("%s has been in %s for %s.", whoPlain(ep, agentID), label, long)
	if ping != "" {
		text = ping + " " + text
	}
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

// mentions renders a rule's Mention for Slack: <@U…> for a user,
// <!subteam^S…> for a user group, as "Formatting text for app surfaces"
// says (https://docs.slack.dev/messaging/formatting-message-text/,
// "Mentioning users" and "Mentioning groups"). IDs are escaped, so a
// malformed one shows as text and pings nobody.
func mentions(ids []string) string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = message.Escape(strings.TrimSpace(id))
		switch {
		case id == "":
		case strings.HasPrefix(id, "S"):
			out = append(out, "<!subteam^"+id+">")
		default:
			out = append(out, "<@"+id+">")
		}
	}
	return strings.Join(out, " ")
}

// left is how long the agent stayed: to the status_since of what they
// moved to, when known, else to now.
func left(ep Episode, obs Observation, now time.Time) time.Duration {
	end := now
	if obs.Present && obs.Since.After(ep.Since) && obs.Since.Before(now) {
		end = obs.Since
	}
	return end.Sub(ep.Since)
}

// thanksMessage replaces the DM once the agent moved on: no buttons.
func thanksMessage(ep Episode, obs Observation) message.Message {
	text := "Thanks — you've left " + ep.Status.Label() + "."
	if obs.Present && obs.Status != ep.Status && obs.Status.Valid() {
		text = "Thanks — you're now " + capitalize(obs.Status.Label()) + "."
	}
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: []message.Block{message.NewSection(text)}}
}

// leftMessage replaces the escalation once the agent moved on: no
// buttons.
func leftMessage(agentID string, ep Episode, obs Observation, now time.Time) message.Message {
	d := message.Duration(left(ep, obs, now))
	text := fmt.Sprintf("%s left %s after %s.", who(ep, agentID), ep.Status.Label(), d)
	return message.Message{Visibility: message.InChannel,
		Text:   fmt.Sprintf("%s left %s after %s.", whoPlain(ep, agentID), ep.Status.Label(), d),
		Blocks: []message.Block{message.NewSection("✅ " + text)}}
}

// heldNote is the plain line a silence keeps for a post it held back.
func heldNote(kind, agentName string, r Rule, ep Episode, now time.Time) string {
	return fmt.Sprintf("%s for %s: %s for %s (rule %s)", kind, agentName, ep.Status.Label(),
		message.Duration(now.Sub(ep.Since)), r.Name)
}
