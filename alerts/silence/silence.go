// Package silence keeps the supervisors' silences: while a silence is
// active, the alert rules it covers (by rule name or team ID) hold back
// their posts. The list lives under one key of a state.Store, so every
// replica sees the same silences and they survive restarts; ended
// silences stay for a week (the newest MaxEnded of them) as the audit
// trail, beside the log lines each add, end and drop writes.
package silence

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/state"
)

// Silence holds back the posts of the rules it covers until End.
type Silence struct {
	ID         string    `json:"id"`
	Target     string    `json:"target"` // a rule name or a team ID, as given
	Reason     string    `json:"reason,omitempty"`
	By         string    `json:"by"` // Slack user ID who set it
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`                  // when it ends, or ended when ended early
	EndedBy    string    `json:"ended_by,omitempty"`   // "" when it ran out
	Suppressed int       `json:"suppressed,omitempty"` // messages held back
	Notes      []string  `json:"notes,omitempty"`      // the first few held back, one plain line each
	Reported   bool      `json:"reported,omitempty"`   // its end was announced
	// EndNotes counts the end notes taken (TakeEnded), and Told and
	// ToldNotes how many of Suppressed and Notes they told: a post held
	// back and noted after the end was taken gets one more note. In a
	// silence TakeEnded returns, they are as before that take.
	EndNotes  int `json:"end_notes,omitempty"`
	Told      int `json:"told,omitempty"`
	ToldNotes int `json:"told_notes,omitempty"`
}

// Untold is what the silence held back that no end note has told yet:
// how many, and the notes kept of them.
func (s Silence) Untold() (n int, notes []string) {
	return max(s.Suppressed-s.Told, 0), s.Notes[min(s.ToldNotes, len(s.Notes)):]
}

// Active reports whether the silence holds at now: Start <= now < End.
func (s Silence) Active(now time.Time) bool {
	return !now.Before(s.Start) && now.Before(s.End)
}

// Covers reports whether the silence applies to rule, or to one of the
// teams the rule watches. Targets match exactly, as given: rule names and
// team IDs are identifiers, not words.
func (s Silence) Covers(rule string, teams []string) bool {
	return s.Target == rule || slices.Contains(teams, s.Target)
}

// Find returns the active silence in list that covers rule (or one of its
// teams) at now, if any. Engines read the list once per poll and call
// Find per rule.
func Find(list []Silence, rule string, teams []string, now time.Time) (Silence, bool) {
	for _, s := range list {
		if s.Active(now) && s.Covers(rule, teams) {
			return s, true
		}
	}
	return Silence{}, false
}

// Key is the state key that holds the list.
const Key = "silences"

// Limits of a silence.
const (
	MinDuration = time.Minute
	MaxDuration = 7 * 24 * time.Hour
	MaxReason   = 200 // characters
	MaxTarget   = 200 // characters
	// MaxActive bounds the silences active at once, and so the one value
	// every poll reads.
	MaxActive = 100
	MaxNotes  = 5   // held-back messages kept as notes; all are counted
	MaxNote   = 200 // characters of a note
	// Retention is how long an ended silence stays, as the audit trail.
	Retention = 7 * 24 * time.Hour
	// MaxEnded bounds the ended silences kept.
	MaxEnded = 200
)

var (
	// ErrNotFound is returned for a silence ID the store does not hold
	// (never set, or ended more than Retention ago).
	ErrNotFound = errors.New("no such silence")
	// ErrEnded is returned when ending a silence that is already over.
	ErrEnded = errors.New("silence already ended")
	// ErrInvalid is wrapped by Add for a silence it refuses; the error
	// says why.
	ErrInvalid = errors.New("invalid silence")
)

// list is the stored value.
type list struct {
	Silences []Silence `json:"silences"`
}

// Store keeps the silences in a state.Store. It is safe for concurrent
// use, and Stores of several replicas over one shared state.Store agree.
type Store struct {
	st  state.Store
	log *slog.Logger
}

// New returns a store over st; a nil log discards.
func New(st state.Store, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{st: st, log: log}
}

// check refuses a silence Add must not store.
func check(target string, d time.Duration, reason string) error {
	switch {
	case target == "":
		return fmt.Errorf("%w: no target (a rule name or a team ID)", ErrInvalid)
	case utf8.RuneCountInString(target) > MaxTarget:
		return fmt.Errorf("%w: target longer than %d characters", ErrInvalid, MaxTarget)
	case d < MinDuration:
		return fmt.Errorf("%w: duration %s; at least 1m", ErrInvalid, d)
	case d > MaxDuration:
		return fmt.Errorf("%w: duration %s; at most 7d", ErrInvalid, d)
	case utf8.RuneCountInString(reason) > MaxReason:
		return fmt.Errorf("%w: reason longer than %d characters", ErrInvalid, MaxReason)
	}
	return nil
}

// Add starts a silence of target (a rule name or a team ID, which the
// caller has checked) for d from now. It refuses, wrapping ErrInvalid, an
// empty target, d outside MinDuration..MaxDuration, a reason over
// MaxReason characters, and a silence beyond MaxActive.
func (s *Store) Add(ctx context.Context, target string, d time.Duration, by, reason string, now time.Time) (Silence, error) {
	target, reason = strings.TrimSpace(target), strings.TrimSpace(reason)
	if err := check(target, d, reason); err != nil {
		return Silence{}, err
	}
	var added Silence
	err := s.update(ctx, "add", now, func(l *list) (bool, error) {
		active := 0
		for _, x := range l.Silences {
			if x.Active(now) {
				active++
			}
		}
		if active >= MaxActive {
			return false, fmt.Errorf("%w: %d silences are active already (at most %d)", ErrInvalid, active, MaxActive)
		}
		added = Silence{ID: newID(l.Silences), Target: target, Reason: reason, By: by, Start: now, End: now.Add(d)}
		l.Silences = append(l.Silences, added)
		return true, nil
	})
	if err != nil {
		return Silence{}, err
	}
	s.log.Info("silence added", "id", added.ID, "target", added.Target, "by", by,
		"until", added.End.UTC().Format(time.RFC3339), "reason", message.Truncate(added.Reason, 80))
	return added, nil
}

// End ends the silence id at now, recording by as who ended it. It
// returns ErrNotFound for an ID it does not hold, and the silence with
// ErrEnded when it is already over.
func (s *Store) End(ctx context.Context, id, by string, now time.Time) (Silence, error) {
	var ended Silence
	err := s.update(ctx, "end", now, func(l *list) (bool, error) {
		i := index(l.Silences, id)
		if i < 0 {
			return false, fmt.Errorf("end silence %q: %w", id, ErrNotFound)
		}
		x := &l.Silences[i]
		if !now.Before(x.End) {
			ended = *x
			return false, fmt.Errorf("end silence %q: %w", id, ErrEnded)
		}
		x.End, x.EndedBy = now, by
		ended = *x
		return true, nil
	})
	if errors.Is(err, ErrEnded) {
		return ended, err
	}
	if err != nil {
		return Silence{}, err
	}
	s.log.Info("silence ended", "id", ended.ID, "target", ended.Target, "ended_by", by, "by", ended.By,
		"until", ended.End.UTC().Format(time.RFC3339), "reason", message.Truncate(ended.Reason, 80),
		"suppressed", ended.Suppressed)
	return ended, nil
}

// Active returns the silences active at now, oldest first, in one store
// read. A corrupt list is an error wrapping state.ErrCorrupt.
func (s *Store) Active(ctx context.Context, now time.Time) ([]Silence, error) {
	var l list
	if _, err := s.st.Load(ctx, Key, &l); err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	out := l.Silences[:0]
	for _, x := range l.Silences {
		if x.Active(now) {
			out = append(out, x)
		}
	}
	return out, nil
}

// NoteSuppressed counts one message held back by silence id, keeping the
// first MaxNotes as notes (one line of at most MaxNote characters each).
// A silence that has ended since the caller read it still counts it; if
// its end was taken already (another replica announced it while the
// caller's poll ran), it is taken again, for one more end note.
func (s *Store) NoteSuppressed(ctx context.Context, id, note string, at time.Time) error {
	note = oneLine(note)
	return s.update(ctx, "note", at, func(l *list) (bool, error) {
		i := index(l.Silences, id)
		if i < 0 {
			return false, fmt.Errorf("note on silence %q: %w", id, ErrNotFound)
		}
		x := &l.Silences[i]
		x.Suppressed++
		if len(x.Notes) < MaxNotes && note != "" {
			x.Notes = append(x.Notes, note)
		}
		x.Reported = false
		return true, nil
	})
}

// TakeEnded returns the silences over at now and not yet reported, and
// marks them reported in the same atomic update: across replicas, each is
// returned once (and once more for each post noted after that; see
// NoteSuppressed and Untold).
func (s *Store) TakeEnded(ctx context.Context, now time.Time) ([]Silence, error) {
	var taken []Silence
	err := s.update(ctx, "take ended", now, func(l *list) (bool, error) {
		taken = nil // the update may run again
		for i := range l.Silences {
			x := &l.Silences[i]
			if x.Reported || now.Before(x.End) {
				continue
			}
			x.Reported = true
			taken = append(taken, *x)
			x.EndNotes++
			x.Told, x.ToldNotes = x.Suppressed, len(x.Notes)
		}
		return len(taken) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	for _, x := range taken {
		if x.EndedBy == "" && x.EndNotes == 0 {
			s.log.Info("silence ran out", "id", x.ID, "target", x.Target, "by", x.By,
				"until", x.End.UTC().Format(time.RFC3339), "suppressed", x.Suppressed)
		}
	}
	return taken, nil
}

// update changes the list atomically, dropping silences ended more than
// Retention ago whenever it writes. A corrupt list is logged and replaced
// by an empty one: silences must stay settable, and every add and end is
// in the log as well.
func (s *Store) update(ctx context.Context, what string, now time.Time, change func(*list) (bool, error)) error {
	var dropped []Silence
	run := func() error {
		var l list
		return s.st.Update(ctx, Key, &l, func(bool) (bool, error) {
			dropped = nil // the update may run again
			save, err := change(&l)
			if err != nil || !save {
				return false, err
			}
			l.Silences = slices.DeleteFunc(l.Silences, func(x Silence) bool { return now.Sub(x.End) > Retention })
			l.Silences, dropped = capEnded(l.Silences, now)
			return true, nil
		})
	}
	defer func() {
		// The log keeps the audit trail of what the list no longer does.
		for _, x := range dropped {
			s.log.Info("ended silence dropped: at most "+strconv.Itoa(MaxEnded)+" ended silences are kept", "id", x.ID, "target", x.Target,
				"by", x.By, "ended_by", x.EndedBy, "end", x.End.UTC().Format(time.RFC3339), "suppressed", x.Suppressed,
				"reported", x.Reported)
		}
	}()
	err := run()
	if errors.Is(err, state.ErrCorrupt) {
		s.log.Error("the stored silences are corrupt; starting a new list", "key", Key, "err", err)
		if derr := s.st.Delete(ctx, Key); derr != nil {
			return fmt.Errorf("silences: %s: %w", what, errors.Join(err, derr))
		}
		err = run()
	}
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrEnded) && !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("silences: %s: %w", what, err)
	}
	return err
}

// capEnded keeps the newest MaxEnded of the silences ended at now (by
// their end), and every active one, in their order; it returns the ones
// it drops, oldest first. Within the week of Retention, silences set and
// ended again and again would otherwise grow the list every poll reads.
func capEnded(l []Silence, now time.Time) (kept, dropped []Silence) {
	var ended []Silence
	for _, x := range l {
		if !now.Before(x.End) {
			ended = append(ended, x)
		}
	}
	if len(ended) <= MaxEnded {
		return l, nil
	}
	slices.SortStableFunc(ended, func(a, b Silence) int { return a.End.Compare(b.End) })
	dropped = ended[:len(ended)-MaxEnded]
	kept = slices.DeleteFunc(l, func(x Silence) bool {
		return slices.ContainsFunc(dropped, func(d Silence) bool { return d.ID == x.ID })
	})
	return kept, dropped
}

// index is the position of id in l, or -1.
func index(l []Silence, id string) int {
	return slices.IndexFunc(l, func(x Silence) bool { return x.ID == id })
}

// newID is 8 random characters, unused in l: short enough to read in a
// log line, random so replicas never pick the same one.
func newID(l []Silence) string {
	for {
		id := strings.ToLower(rand.Text()[:8])
		if index(l, id) < 0 {
			return id
		}
	}
}

// oneLine makes a note one plain line of at most MaxNote characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return message.Truncate(s, MaxNote)
}
