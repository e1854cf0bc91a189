package alerts

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
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

// scope names what a rule counts, escaped: "all teams" or the team.
func scope(r Rule, team string) string {
	if r.TeamID == "" {
		return "all teams"
	}
	if team == "" {
		team = r.TeamID
	}
	return clean(team)
}

// where is scope as a phrase: "across all teams" or "in *Sales*".
func where(r Rule, team string) string {
	if r.TeamID == "" {
		return "across all teams"
	}
	return "in *" + scope(r, team) + "*"
}

// wherePlain is where without mrkdwn, for notification text.
func wherePlain(r Rule, team string) string {
	if r.TeamID == "" {
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

// alertMessage is a low-availability alert as posted (repeat: as a
// repeat). withButton adds Acknowledge unless already acknowledged; an
// acknowledged alert says by whom.
func (a *Alerter) alertMessage(r Rule, st AlertState, p Posted, repeat, withButton bool, now time.Time) message.Message {
	title := "Low availability: " + scope(r, p.Team)
	if repeat {
		title = "Still low availability: " + scope(r, p.Team)
	}
	line := fmt.Sprintf("*%s* available %s, below the threshold of *%s*.",
		message.Plural(p.Count, "agent"), where(r, p.Team), message.Thousands(r.Threshold))
	if w := who(p.Names, p.Count); w != "" {
		line += "\n" + w
	}
	note := "Below since " + a.clock(st.Since, now)
	if d := now.Sub(st.Since); d > 0 {
		note += " (" + message.Duration(d) + ")"
	}
	note += " · alert `" + message.Escape(r.Key) + "`"
	if r.Repeat > 0 && !st.Acked {
		note += " · posted again every " + message.Duration(r.Repeat) + " while below"
	}
	blocks := []message.Block{message.NewHeader(title), message.NewSection(line), message.NewContext(note)}
	if st.Acked {
		blocks = append(blocks, message.NewContext(fmt.Sprintf("Acknowledged by <@%s> at %s: no repeats until it recovers.",
			message.Escape(st.AckedBy), a.clock(st.AckedAt, now))))
	} else if v := ackValue(r.Key, st.FiredAt); withButton && len(v) <= message.MaxButtonValue {
		// A key too long for a button (only from an absurd team ID) loses
		// the button rather than have Slack refuse the whole alert.
		blocks = append(blocks, message.NewActions(message.Button{
			Label: "Acknowledge", ActionID: AckActionID, Value: v, Style: message.StylePrimary,
		}))
	}
	lead := "Low availability "
	if repeat {
		lead = "Still low availability "
	}
	return message.Message{
		Visibility: message.InChannel,
		Text: fmt.Sprintf("%s%s: %s available (threshold %s)", lead, wherePlain(r, p.Team),
			message.Plural(p.Count, "agent"), message.Thousands(r.Threshold)),
		Blocks: blocks,
	}
}

// ackValue is what an Acknowledge button carries: the rule and its
// episode, named by when it fired (Unix nanoseconds, exact through the
// stored JSON), so a button from an earlier episode acknowledges nothing.
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

// recoveryMessage announces that a firing alert resolved.
func (a *Alerter) recoveryMessage(r Rule, prev AlertState, tr teamReading, now time.Time) message.Message {
	team := tr.team
	if team == "" {
		team = prev.Posted.Team
	}
	line := fmt.Sprintf("*%s* available %s (threshold %s), after %s below.",
		message.Plural(tr.count, "agent"), where(r, team), message.Thousands(r.Threshold), message.Duration(now.Sub(prev.Since)))
	return message.Message{
		Visibility: message.InChannel,
		Text:       "Availability recovered: " + message.Summary(line),
		Blocks: []message.Block{
			message.NewSection("✅ *Availability recovered*\n" + line),
			message.NewContext(fmt.Sprintf("Alert `%s` resolved at %s.", message.Escape(r.Key), a.clock(now, now))),
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
