package alerts

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// maxNameRunes bounds one name or team name in a message.
const maxNameRunes = 60

// clean makes API text safe and short for a message.
func clean(s string) string { return message.Escape(message.Truncate(s, maxNameRunes)) }

// clock shows t in the alerter's zone: the time alone when it is on now's
// day, else with the day.
func (a *Alerter) clock(t, now time.Time) string {
	t, now = t.In(a.set.Location), now.In(a.set.Location)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// scope names what a rule counts, escaped: "all teams" or the team(s).
func scope(r AvailabilityRule, team string) string {
	if len(r.Teams) == 0 {
		return "all teams"
	}
	if team == "" {
		team = strings.Join(r.Teams, " + ")
	}
	return clean(team)
}

// where is scope as a phrase: "across all teams" or "in *Sales*".
func where(r AvailabilityRule, team string) string {
	if len(r.Teams) == 0 {
		return "across all teams"
	}
	return "in *" + scope(r, team) + "*"
}

// wherePlain is where without mrkdwn, for notification text.
func wherePlain(r AvailabilityRule, team string) string {
	if len(r.Teams) == 0 {
		return "across all teams"
	}
	return "in " + scope(r, team)
}

// who lists the available agents, capped.
func who(names []string, count int) string {
	if count <= 0 {
		return "Nobody is available."
	}
	return listNames(names, count, maxNames)
}

// levelWord is the level in words, capitalised, as every alert message
// names it (never by emoji alone).
func levelWord(lv Level) string {
	if lv == LevelCritical {
		return "Critical"
	}
	return "Warning"
}

// ruleName is the rule's name for a message, escaped, in a code span.
func ruleName(r AvailabilityRule) string {
	return "`" + message.Escape(strings.ReplaceAll(r.Name, "`", "'")) + "`"
}

// countLine says how the count stands against the level shown: below its
// threshold, or, in the hysteresis band, not yet back to resolve_at.
func countLine(r AvailabilityRule, p Posted) string {
	lv := p.level()
	if p.Empty {
		scopeText := "across all teams"
		if len(r.Teams) > 0 {
			scopeText = "for *" + scope(r, p.Team) + "*"
		}
		return fmt.Sprintf("*No agents logged in* %s (%s below %s available).", scopeText,
			strings.ToLower(levelWord(lv)), message.Thousands(r.threshold(lv)))
	}
	if th := r.threshold(lv); p.Count < th {
		return fmt.Sprintf("*%s* available %s, below the %s threshold of *%s*.",
			message.Plural(p.Count, "agent"), where(r, p.Team), lv, message.Thousands(th))
	}
	return fmt.Sprintf("*%s* available %s: not yet back to *%s*, where it resolves.",
		message.Plural(p.Count, "agent"), where(r, p.Team), message.Thousands(r.resolveAt()))
}

// alertMessage is an availability alert as posted (repeat: as a repeat),
// from what p shows: its level, count and names. withButtons adds
// [Acknowledge] and [Snooze 1h] unless acknowledged; an acknowledged or
// snoozed alert says by whom.
func (a *Alerter) alertMessage(r AvailabilityRule, st AlertState, p Posted, repeat, withButtons bool, now time.Time) message.Message {
	lv := levelWord(p.level())
	what := "Low availability"
	if repeat {
		what = "Still low availability"
	}
	if p.Empty {
		what = "No agents logged in"
	}
	title := lv + " · " + what + ": " + scope(r, p.Team)
	line := countLine(r, p)
	if w := who(p.Names, p.Count); w != "" && !p.Empty {
		line += "\n" + w
	}
	note := "Below since " + a.clock(st.Since, now)
	if d := now.Sub(st.Since); d > 0 {
		note += " (" + message.Duration(d) + ")"
	}
	note += " · rule " + ruleName(r)
	if r.Critical > 0 && p.level() != LevelCritical {
		note += " · critical below " + message.Thousands(r.Critical)
	}
	if r.resolveAt() > r.Warning {
		note += " · resolves at " + message.Thousands(r.resolveAt())
	}
	if r.Repeat > 0 && !st.Acked {
		note += " · posted again every " + message.Duration(r.Repeat) + " while below"
	}
	blocks := []message.Block{message.NewHeader(title), message.NewSection(line), message.NewContext(note)}
	switch {
	case st.Acked:
		blocks = append(blocks, message.NewContext(fmt.Sprintf("Acknowledged by <@%s> at %s: no repeats until it recovers.",
			message.Escape(st.AckedBy), a.clock(st.AckedAt, now))))
	case st.SnoozedUntil.After(now):
		blocks = append(blocks, message.NewContext(fmt.Sprintf("Snoozed until %s by <@%s>: no repeats or pings until then.",
			a.clock(st.SnoozedUntil, now), message.Escape(st.SnoozedBy))))
	}
	if v := ackValue(r.Key(), st.FiredAt); withButtons && !st.Acked && len(v) <= message.MaxButtonValue {
		// A key too long for a button (only from an absurd name) loses
		// the buttons rather than have Slack refuse the whole alert.
		blocks = append(blocks, message.NewActions(
			message.Button{Label: "Acknowledge", ActionID: AckActionID, Value: v, Style: message.StylePrimary},
			message.Button{Label: "Snooze 1h", ActionID: SnoozeActionID, Value: v},
		))
	}
	text := fmt.Sprintf("%s · %s %s: %s available (%s below %s)", lv, what, wherePlain(r, p.Team),
		message.Plural(p.Count, "agent"), strings.ToLower(lv), message.Thousands(r.threshold(p.level())))
	if p.Empty {
		text = fmt.Sprintf("%s · No agents logged in: %s (%s below %s available)", lv, scope(r, p.Team),
			strings.ToLower(lv), message.Thousands(r.threshold(p.level())))
	}
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

// withMention adds the rule's ping to an alert posted at critical: in its
// notification text and in a line of its own.
func withMention(m message.Message, r AvailabilityRule) message.Message {
	who := r.mentions()
	if who == "" {
		return m
	}
	m.Text += " " + who
	blocks := slices.Clone(m.Blocks)
	at := min(2, len(blocks)) // after the header and the count
	blocks = slices.Insert(blocks, at, message.NewSection("🚨 "+who+": this alert is *critical*."))
	m.Blocks = blocks
	return m
}

// escalationMessage is the short reply, in the alert's thread, that pings
// the rule's Mention when an edit raised the alert to critical (an edit
// notifies nobody).
func (a *Alerter) escalationMessage(r AvailabilityRule, p Posted, now time.Time) message.Message {
	state := fmt.Sprintf("*%s* available", message.Plural(p.Count, "agent"))
	if p.Empty {
		state = "*no agents logged in*"
	}
	line := fmt.Sprintf("🚨 %s: now *critical* %s: %s (critical below %s) at %s. Rule %s.",
		r.mentions(), wherePlain(r, p.Team), state, message.Thousands(r.Critical), a.clock(now, now), ruleName(r))
	return message.Message{
		Visibility: message.InChannel,
		Text:       message.Summary(line),
		Blocks:     []message.Block{message.NewSection(line)},
	}
}

// ackValue is what the Acknowledge and Snooze buttons carry: the rule's
// key and its episode, named by when it fired (Unix nanoseconds, exact
// through the stored JSON), so a button from an earlier episode changes
// nothing.
func ackValue(key string, firedAt time.Time) string {
	v := url.Values{}
	v.Set("alert", key)
	v.Set("fired", strconv.FormatInt(firedAt.UnixNano(), 10))
	return v.Encode()
}

// parseAckValue reads ackValue's format strictly: only what ackValue
// writes is accepted, so anything else (such as the rule key alone, which
// buttons carried before episodes) is ok=false, never a guess.
func parseAckValue(v string) (key string, firedAt time.Time, ok bool) {
	if len(v) > message.MaxButtonValue {
		return "", time.Time{}, false
	}
	q, err := url.ParseQuery(v)
	if err != nil || len(q) != 2 || len(q["alert"]) != 1 || len(q["fired"]) != 1 || q.Get("alert") == "" {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(q.Get("fired"), 10, 64)
	if err != nil || n <= 0 {
		return "", time.Time{}, false
	}
	key, firedAt = q.Get("alert"), time.Unix(0, n).UTC()
	if ackValue(key, firedAt) != v {
		return "", time.Time{}, false // not canonical: "+1", "01", reordered…
	}
	return key, firedAt, true
}

// recoveryMessage announces that a firing alert resolved; p is the
// reading now.
func (a *Alerter) recoveryMessage(r AvailabilityRule, prev AlertState, p Posted, now time.Time) message.Message {
	team := cmp.Or(p.Team, prev.Posted.Team)
	line := fmt.Sprintf("*%s* available %s (resolves at %s), after %s below.",
		message.Plural(p.Count, "agent"), where(r, team), message.Thousands(r.resolveAt()), message.Duration(now.Sub(prev.Since)))
	return message.Message{
		Visibility: message.InChannel,
		Text:       "Availability recovered: " + message.Summary(line),
		Blocks: []message.Block{
			message.NewSection("✅ *Availability recovered*\n" + line),
			message.NewContext(fmt.Sprintf("Rule %s resolved at %s.", ruleName(r), a.clock(now, now))),
		},
	}
}

// unavailableMessage is the one notice that presence data is missing. It
// reports no count: none is known.
func (a *Alerter) unavailableMessage(failures int, since time.Time, err error, now time.Time) message.Message {
	line := fmt.Sprintf("⚠️ *Presence data unavailable*: the last %s failed (since %s; %s). "+
		"Availability alerts are paused until data returns.",
		message.Plural(failures, "poll"), a.clock(since, now), describe(err))
	return message.Message{
		Visibility: message.InChannel,
		Text:       "Presence data unavailable: availability alerts are paused",
		Blocks:     []message.Block{message.NewSection(line)},
	}
}

// backMessage is the one notice that presence data returned.
func (a *Alerter) backMessage(since time.Time, now time.Time) message.Message {
	line := fmt.Sprintf("✅ *Presence data is back* after %s without it. Availability alerts resume.",
		message.Duration(now.Sub(since)))
	return message.Message{
		Visibility: message.InChannel,
		Text:       "Presence data is back: availability alerts resume",
		Blocks:     []message.Block{message.NewSection(line)},
	}
}

// describe names a failure for people, without any detail that could
// carry a secret or a URL.
func describe(err error) string {
	switch {
	case err == nil:
		return "no answer"
	case errors.Is(err, presence.ErrUnauthorized):
		return "the contact center refused the credentials"
	case errors.Is(err, presence.ErrForbidden):
		return "the contact center does not allow the bot to read presence"
	case errors.Is(err, presence.ErrNotFound):
		return "the contact center does not know the account"
	case errors.Is(err, presence.ErrRateLimited):
		return "the contact center is rate-limiting the bot"
	case errors.Is(err, presence.ErrServer):
		return "contact-center server error"
	case errors.Is(err, presence.ErrBadResponse):
		return "the contact center's answers are unreadable"
	case errors.Is(err, presence.ErrUnavailable):
		return "the contact center is unreachable"
	}
	return "the request failed"
}
