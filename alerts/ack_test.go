package alerts

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// writeCounter counts the writes that reach a store: Saves, and Updates
// whose change asked to save.
type writeCounter struct {
	state.Store
	mu     sync.Mutex
	writes int
}

func (w *writeCounter) Save(ctx context.Context, key string, v any) error {
	w.mu.Lock()
	w.writes++
	w.mu.Unlock()
	return w.Store.Save(ctx, key, v)
}

func (w *writeCounter) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	return w.Store.Update(ctx, key, v, func(found bool) (bool, error) {
		save, err := change(found)
		if save && err == nil {
			w.mu.Lock()
			w.writes++
			w.mu.Unlock()
		}
		return save, err
	})
}

func (w *writeCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// ackButton returns the Acknowledge button's value of a posted alert.
func ackButton(t *testing.T, s sent) string {
	t.Helper()
	btn, ok := s.button()
	if !ok || btn.ActionID != AckActionID || btn.Label != "Acknowledge" {
		t.Fatalf("alert %s has no Acknowledge button: %q", s.ts, s.text())
	}
	if len(btn.Value) > message.MaxButtonValue/4 {
		t.Errorf("button value of %d characters, want well under Slack's %d", len(btn.Value), message.MaxButtonValue)
	}
	return btn.Value
}

// wantOver checks that a click changed nothing because its alert is over.
func wantOver(t *testing.T, what string, m message.Message, err error, key string, firedAt, current time.Time) {
	t.Helper()
	var over *EpisodeOverError
	if !errors.As(err, &over) || !errors.Is(err, ErrNotFiring) || errors.Is(err, ErrStateUnavailable) {
		t.Fatalf("%s: got %v, want an EpisodeOverError wrapping ErrNotFiring", what, err)
	}
	if over.Key != key || !over.FiredAt.Equal(firedAt) || !over.Current.Equal(current) {
		t.Errorf("%s: got %+v, want key %q, fired at %s, current %s", what, *over, key, firedAt, current)
	}
	if m.ReplaceOriginal || len(m.Blocks) > 0 || m.Text != "" {
		t.Errorf("%s: got a message %+v, want none (nothing to rewrite)", what, m)
	}
}

// TestAckFromAnEarlierEpisodeChangesNothing: each episode's button names
// it; a click on episode 1's button while episode 2 fires writes nothing,
// rewrites nothing and says episode 1 is over.
func TestAckFromAnEarlierEpisodeChangesNothing(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &writeCounter{Store: state.NewMemoryStore()}
	log, logs := newLogger()
	a := NewAlerter(f.client, f.poster, store, settings(), log)
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "episode 1", 1, 0)
	first := ackButton(t, posts[0])

	f.force(t, presence.Available, "s1")
	poll(t, a, at(5*time.Minute))
	f.expect(t, "episode 1 recovered", 1, 1)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(10*time.Minute))
	posts, _ = f.expect(t, "episode 2", 1, 0)
	second := ackButton(t, posts[0])
	if first == second {
		t.Fatalf("both episodes' buttons carry %q; want each its own episode", first)
	}

	writes := store.count()
	m, err := a.Acknowledge(ctx, first, "U123", at(11*time.Minute))
	wantOver(t, "episode 1's button in episode 2", m, err, TotalKey, at(0), at(10*time.Minute))
	if n := store.count(); n != writes {
		t.Errorf("the stale click wrote the state %d times, want none", n-writes)
	}
	f.expect(t, "after the stale click", 0, 0)
	if lines := a.Firing(ctx); len(lines) != 1 || strings.Contains(lines[0], "acknowledged") {
		t.Errorf("Firing = %q, want episode 2 firing, not acknowledged", lines)
	}
	mustContain(t, "log", logs.String(), "another episode")

	// Episode 2 was not silenced: it repeats.
	poll(t, a, at(40*time.Minute))
	posts, _ = f.expect(t, "episode 2 repeats", 1, 1)
	mustContain(t, "repeat", posts[0].text(), "Still low availability")
}

// TestAckFromTheCurrentEpisodeAcknowledges: the newest copy's button
// acknowledges; once the alert resolves the same button says it is over.
func TestAckFromTheCurrentEpisodeAcknowledges(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &writeCounter{Store: state.NewMemoryStore()}
	a := f.alerter(t, store, settings())
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "fired", 1, 0)
	poll(t, a, at(31*time.Minute))
	posts, _ := f.expect(t, "repeated", 1, 1)
	value := ackButton(t, posts[0])

	m, err := a.Acknowledge(ctx, value, "U123", at(32*time.Minute))
	if err != nil {
		t.Fatalf("Acknowledge with the current episode's button: %v", err)
	}
	if !m.ReplaceOriginal {
		t.Errorf("the acknowledged alert does not replace the clicked message")
	}
	acked := sent{msg: m}
	if _, ok := acked.button(); ok {
		t.Errorf("the acknowledged alert still has its button")
	}
	mustContain(t, "acknowledged", acked.text(), "Acknowledged by <@U123> at 10:32")
	var st State
	if _, err := store.Load(ctx, alertsStateKey, &st); err != nil || !st.Rules[TotalKey].Acked {
		t.Errorf("stored state %+v, %v; want it acknowledged", st.Rules[TotalKey], err)
	}
	poll(t, a, at(90*time.Minute))
	f.expect(t, "acknowledged: no repeat", 0, 0)

	f.force(t, presence.Available, "s1")
	poll(t, a, at(91*time.Minute))
	f.expect(t, "recovered", 1, 1)
	writes := store.count()
	m, err = a.Acknowledge(ctx, value, "U999", at(92*time.Minute))
	wantOver(t, "the button after recovery", m, err, TotalKey, at(0), time.Time{})
	if n := store.count(); n != writes {
		t.Errorf("a click on a resolved alert wrote the state %d times, want none", n-writes)
	}
}

// TestRepeatRemovesTheButtonFromTheCopyItSupersedes: only the newest copy
// of an alert carries Acknowledge.
func TestRepeatRemovesTheButtonFromTheCopyItSupersedes(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	fired := posts[0]
	ackButton(t, fired)

	// A repeat that cannot be posted leaves the old copy as it was: it is
	// still the newest.
	f.poster.setFail(true)
	_ = a.Poll(context.Background(), at(31*time.Minute))
	f.poster.setFail(false)
	f.expect(t, "repeat failed", 0, 0)

	poll(t, a, at(32*time.Minute))
	posts, updates := f.expect(t, "first repeat", 1, 1)
	repeat := posts[0]
	ackButton(t, repeat)
	if updates[0].channel != fired.channel || updates[0].ts != fired.ts {
		t.Errorf("updated %s/%s, want the superseded copy %s/%s", updates[0].channel, updates[0].ts, fired.channel, fired.ts)
	}
	if _, ok := updates[0].button(); ok {
		t.Errorf("the superseded copy still has its button: %q", updates[0].text())
	}
	mustContain(t, "superseded copy", updates[0].text(), "Low availability: all teams", "*4 agents*", "Posted again at 10:32")
	mustNotContain(t, "superseded copy", updates[0].text(), "Still low availability")

	poll(t, a, at(62*time.Minute))
	_, updates = f.expect(t, "second repeat", 1, 1)
	if updates[0].ts != repeat.ts {
		t.Errorf("updated %s, want the first repeat %s", updates[0].ts, repeat.ts)
	}
	if _, ok := updates[0].button(); ok {
		t.Errorf("the superseded repeat still has its button")
	}
	mustContain(t, "superseded repeat", updates[0].text(), "Still low availability", "Posted again at 11:02")
}

// TestAckDuringStoreTroubleSaysSo: a store that fails the click's write is
// trouble, not "not firing", and nothing is acknowledged.
func TestAckDuringStoreTroubleSaysSo(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	a := f.alerter(t, store, settings())
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	value := ackButton(t, posts[0])

	store.setFailSave(true)
	m, err := a.Acknowledge(ctx, value, "U123", at(time.Minute))
	store.setFailSave(false)
	if !errors.Is(err, ErrStateUnavailable) || errors.Is(err, ErrNotFiring) {
		t.Fatalf("click during store trouble: got %v, want ErrStateUnavailable and not ErrNotFiring", err)
	}
	if !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %q does not keep the store's error", err)
	}
	if m.ReplaceOriginal || len(m.Blocks) > 0 {
		t.Errorf("got a message %+v, want none", m)
	}
	f.expect(t, "after the failed click", 0, 0)
	var st State
	if _, err := store.Load(ctx, alertsStateKey, &st); err != nil || st.Rules[TotalKey].Acked {
		t.Errorf("stored state %+v, %v; want it firing, not acknowledged", st.Rules[TotalKey], err)
	}
	if lines := a.Firing(ctx); len(lines) != 1 || strings.Contains(lines[0], "acknowledged") {
		t.Errorf("Firing = %q, want it not acknowledged", lines)
	}
	poll(t, a, at(31*time.Minute))
	f.expect(t, "not acknowledged: it repeats", 1, 1)
}

// TestAckWithAnOldOrMalformedButtonIsOver: a value without an episode
// (the format before episodes) or one that does not parse strictly is
// "over", never a crash, and changes nothing.
func TestAckWithAnOldOrMalformedButtonIsOver(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &writeCounter{Store: state.NewMemoryStore()}
	s := settings()
	s.Rules = append(s.Rules, teamRule("sales_team", 4))
	a := f.alerter(t, store, s)
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 2, 0)
	value := ackButton(t, posts[0])
	nanos := strconv.FormatInt(at(0).UnixNano(), 10)
	if !strings.Contains(value, nanos) {
		t.Errorf("button value %q does not name the episode %s", value, nanos)
	}

	for _, v := range []string{
		TotalKey,                // the old format: the rule key alone
		TeamKey("sales_team"),   // old format, a team
		"",                      // nothing
		"alert=" + TotalKey,     // no episode
		"fired=" + nanos,        // no rule
		"alert=total&fired=abc", // not a number
		"alert=total&fired=-" + nanos,
		"alert=total&fired=+" + nanos,
		"alert=total&fired=0" + nanos,
		"alert=total&fired=" + nanos + "&fired=" + nanos,
		"alert=total&alert=total&fired=" + nanos,
		"alert=total&fired=" + nanos + "&extra=1",
		"alert=total&fired=99999999999999999999999",
		"alert=total;fired=" + nanos,
		"%zz",
		"alert=%zz&fired=" + nanos,
		"alert=team:nope&fired=" + nanos, // no such rule
		strings.Repeat("alert=total&fired="+nanos, 200),
		"alert=" + strings.Repeat("x", 3000) + "&fired=" + nanos,
	} {
		name := v
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run(name, func(t *testing.T) {
			writes := store.count()
			m, err := a.Acknowledge(ctx, v, "U123", at(time.Minute))
			var over *EpisodeOverError
			if !errors.As(err, &over) || !errors.Is(err, ErrNotFiring) {
				t.Fatalf("got %v, want an EpisodeOverError", err)
			}
			if !over.FiredAt.IsZero() && v != "alert=team:nope&fired="+nanos {
				t.Errorf("episode %s read from a malformed value", over.FiredAt)
			}
			if m.ReplaceOriginal || len(m.Blocks) > 0 {
				t.Errorf("got a message %+v, want none", m)
			}
			if n := store.count(); n != writes {
				t.Errorf("wrote the state %d times, want none", n-writes)
			}
		})
	}
	// The old button names a firing rule: say which, for the answer.
	_, err := a.Acknowledge(ctx, TotalKey, "U123", at(time.Minute))
	wantOver(t, "old-format button", message.Message{}, err, TotalKey, time.Time{}, at(0))

	f.expect(t, "after the clicks", 0, 0)
	if _, err := a.Acknowledge(ctx, value, "U123", at(2*time.Minute)); err != nil {
		t.Errorf("the current button after the bad ones: %v", err)
	}
}
