package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
)

// activeSilences reads the silences once for the poll. When they cannot
// be read the poll goes on as if nothing were silenced (fail open: a
// missed page is worse than an unwanted one), and says so.
func (a *Alerter) activeSilences(ctx context.Context, now time.Time) []silence.Silence {
	if a.set.Silences == nil {
		return nil
	}
	list, err := a.set.Silences.Active(ctx, now)
	if err != nil {
		a.log.Warn("could not read the silences; alerting as if nothing were silenced", "err", err)
		return nil
	}
	return list
}

// noteHeld tells the silence what it held back. Best effort: the count
// in its end note is then one short, which the log says.
func (a *Alerter) noteHeld(ctx context.Context, log *slog.Logger, in intent, now time.Time) {
	note := a.heldNote(in, now)
	log.Info("alert post held back by a silence", "silence", in.silence.ID, "note", note)
	if a.set.Silences == nil {
		return
	}
	if err := a.set.Silences.NoteSuppressed(ctx, in.silence.ID, note, now); err != nil {
		log.Warn("could not note a post held back by a silence", "silence", in.silence.ID, "err", err)
	}
}

// heldNote is one plain line (not mrkdwn: it is escaped where shown) for
// a post held back: "warning: 3 available in Sales (below 4) at 09:02".
func (a *Alerter) heldNote(in intent, now time.Time) string {
	r, p := in.rule, in.shown
	where := "in all teams"
	if len(r.Teams) > 0 {
		where = "in " + message.Truncate(p.Team, maxNameRunes)
	}
	when := a.clock(now, now)
	if in.act.Reason == Resolve {
		return fmt.Sprintf("recovered: %d available %s at %s", p.Count, where, when)
	}
	lv := string(p.level())
	what := fmt.Sprintf("%d available %s (below %d)", p.Count, where, r.threshold(p.level()))
	if p.Empty {
		what = "no agents logged in " + where
	}
	switch in.act.Reason {
	case Repeat:
		lv += " (repeat)"
	case Escalate:
		lv += " (ping held back)"
	}
	return fmt.Sprintf("%s: %s at %s", lv, what, when)
}

// announceEnded posts, for each silence whose end is not yet announced,
// one note in the channel of each rule it covered: what it held back.
// TakeEnded hands each silence to one caller only, so the note is posted
// once across replicas; a note that cannot be posted is logged.
func (a *Alerter) announceEnded(ctx context.Context, now time.Time) error {
	if a.set.Silences == nil {
		return nil
	}
	ended, err := a.set.Silences.TakeEnded(ctx, now)
	if err != nil {
		a.log.Warn("could not read the silences that ended; their end notes wait for the next poll", "err", err)
		return nil
	}
	var errs []error
	for _, s := range ended {
		m := a.silenceEndMessage(s, now)
		for _, ch := range a.silenceChannels(s) {
			if _, err := a.post.Post(ctx, ch, m); err != nil {
				a.log.Error("could not post that a silence ended", "silence", s.ID, "target", s.Target, "channel", ch,
					"suppressed", s.Suppressed, "err", err)
				errs = append(errs, fmt.Errorf("post the end of silence %s: %w", s.ID, err))
				continue
			}
			a.log.Info("silence end announced", "silence", s.ID, "target", s.Target, "channel", ch, "suppressed", s.Suppressed)
		}
	}
	return errors.Join(errs...)
}

// silenceChannels are the channels of the rules s covered, each once; the
// default channel (or the first rule's) when it covers none now.
func (a *Alerter) silenceChannels(s silence.Silence) []string {
	var out []string
	for _, r := range a.rules {
		if s.Covers(r.Name, r.Teams) && !slices.Contains(out, r.Channel) {
			out = append(out, r.Channel)
		}
	}
	for _, r := range a.set.Watched {
		ch := cmp.Or(r.Channel, a.set.Channel)
		if ch != "" && s.Covers(r.Name, r.Teams) && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 && len(a.channels) > 0 {
		out = append(out, cmp.Or(a.set.Channel, a.channels[0]))
	}
	return out
}

// RuleScope is a rule by its name, the teams it watches (none: all
// agents) and its channel ("": Settings.Channel).
type RuleScope struct {
	Name    string
	Teams   []string
	Channel string
}

// maxEndNotes caps the held-back lines an end note lists.
const maxEndNotes = 10

// noteLines lists the notes of n messages held back, escaped, capped,
// and how many more there were.
func noteLines(notes []string, n int) []string {
	var lines []string
	for _, note := range notes[:min(len(notes), maxEndNotes)] {
		lines = append(lines, "• "+message.Escape(message.Truncate(note, 200)))
	}
	if more := n - len(lines); more > 0 {
		lines = append(lines, fmt.Sprintf("…and %s more.", message.Thousands(more)))
	}
	return lines
}

// silenceEndMessage is "Silence on <target> ended (ran out | ended by
// <@U>): it held back N messages: …"; or, for what was noted after that
// note (silence.Store.NoteSuppressed), "Silence on <target> (ran out at
// 10:00) also held back N more messages: …".
func (a *Alerter) silenceEndMessage(s silence.Silence, now time.Time) message.Message {
	how := "ran out"
	if s.EndedBy != "" {
		how = "ended by <@" + message.Escape(s.EndedBy) + ">"
	}
	target := "`" + message.Escape(strings.ReplaceAll(message.Truncate(s.Target, 80), "`", "'")) + "`"
	head := fmt.Sprintf("🔔 Silence on %s ended (%s) at %s", target, how, a.clock(s.End, now))
	text := head
	if s.EndNotes > 0 {
		n, notes := s.Untold()
		head = fmt.Sprintf("🔔 Silence on %s (%s at %s) also held back %s:", target, how, a.clock(s.End, now),
			message.Plural(n, "more message"))
		text = head
		head += "\n" + strings.Join(noteLines(notes, n), "\n")
		return message.Message{Visibility: message.InChannel, Text: message.Summary(text), Blocks: []message.Block{message.NewSection(head)}}
	}
	switch {
	case s.Suppressed == 0:
		head += ": it held back nothing."
		text = head
	default:
		head += fmt.Sprintf(": it held back %s:", message.Plural(s.Suppressed, "message"))
		text = head
		head += "\n" + strings.Join(noteLines(s.Notes, s.Suppressed), "\n")
	}
	return message.Message{
		Visibility: message.InChannel,
		Text:       message.Summary(text),
		Blocks:     []message.Block{message.NewSection(head)},
	}
}
