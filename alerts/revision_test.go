package alerts

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// hookLister runs a function once, at the start of the next List: what
// another replica does while this one reads the contact center, after it
// loaded the alert state.
type hookLister struct {
	Lister
	mu   sync.Mutex
	hook func()
}

func (h *hookLister) List(ctx context.Context, opts presence.ListOptions) (*presence.Page, error) {
	h.mu.Lock()
	f := h.hook
	h.hook = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.Lister.List(ctx, opts)
}

func (h *hookLister) duringNextList(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = f
}

// refusalCounter counts the writes a change function refused (returned an
// error for): a compare-and-set that found another revision.
type refusalCounter struct {
	state.Store
	mu      sync.Mutex
	refused int
}

func (r *refusalCounter) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	return r.Store.Update(ctx, key, v, func(found bool) (bool, error) {
		save, err := change(found)
		if err != nil {
			r.mu.Lock()
			r.refused++
			r.mu.Unlock()
		}
		return save, err
	})
}

func (r *refusalCounter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// busyStore lets another writer change the alert state just before each
// of this replica's writes, as a replica that keeps losing the race sees.
type busyStore struct{ state.Store }

func (b busyStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	if key == alertsStateKey {
		var m map[string]any
		if err := b.Store.Update(ctx, key, &m, func(bool) (bool, error) {
			if m == nil {
				m = map[string]any{}
			}
			n, _ := m["rev"].(float64)
			m["rev"] = n + 1
			return true, nil
		}); err != nil {
			return err
		}
	}
	return b.Store.Update(ctx, key, v, change)
}

func storedState(t *testing.T, s state.Store) State {
	t.Helper()
	var st State
	if _, err := s.Load(context.Background(), alertsStateKey, &st); err != nil {
		t.Fatalf("load the stored state: %v", err)
	}
	return st
}

func wantSkipped(t *testing.T, what string, err error) {
	t.Helper()
	var skipped *schedule.SkippedError
	if !errors.As(err, &skipped) || skipped.Reason != schedule.SkipStoreUnavailable {
		t.Errorf("%s: Poll = %v, want a tick skipped for %s", what, err, schedule.SkipStoreUnavailable)
	}
}

// TestRevisionFailedSaveNeverPosts: the decision is saved before anything
// is posted, so a store that refuses the write means no post at all (the
// tick is skipped), and the next tick, with the store back, posts once.
func TestRevisionFailedSaveNeverPosts(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	a := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	store.setFailSave(true)
	wantSkipped(t, "save failing", a.Poll(context.Background(), at(0)))
	f.expect(t, "save failing", 0, 0)
	wantSkipped(t, "save still failing", a.Poll(context.Background(), at(time.Minute)))
	f.expect(t, "save still failing", 0, 0)

	store.setFailSave(false)
	poll(t, a, at(2*time.Minute))
	posts, _ := f.expect(t, "store back", 1, 0)
	mustContain(t, "alert", posts[0].text(), "Low availability", "Below since 10:02")
	poll(t, a, at(3*time.Minute))
	f.expect(t, "after the alert", 0, 0)
	if st := storedState(t, store); st.Rules[TotalKey].Phase != PhaseFiring || st.Rules[TotalKey].Posted.TS != posts[0].ts {
		t.Errorf("saved state %+v, want firing with the posted message %s", st.Rules[TotalKey], posts[0].ts)
	}
}

// TestRevisionFailedSaveOnOneReplicaRecoversOnce: a replica whose store
// fails while the episode resolves posts nothing; another replica posts
// the one recovery; the first, its store back, does not post it again.
func TestRevisionFailedSaveOnOneReplicaRecoversOnce(t *testing.T) {
	f := newFixture(t, floor()...)
	shared := state.NewMemoryStore()
	flaky := &failingStore{Store: shared}
	a := f.alerter(t, flaky, settings())
	b := f.alerter(t, shared, settings())

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "fired", 1, 0)

	f.force(t, presence.Available, "s1")
	flaky.setFailSave(true)
	wantSkipped(t, "recovery with a failing store", a.Poll(context.Background(), at(10*time.Minute)))
	f.expect(t, "recovery with a failing store", 0, 0)

	poll(t, b, at(11*time.Minute))
	posts, _ := f.expect(t, "the other replica recovers", 1, 1)
	mustContain(t, "recovery", posts[0].text(), "Availability recovered")

	flaky.setFailSave(false)
	poll(t, a, at(12*time.Minute))
	poll(t, b, at(13*time.Minute))
	f.expect(t, "after the recovery", 0, 0)
}

// TestRevisionRacingPollsPostOnce: two replicas poll the same tick; the
// second saves its decision first. The first one's write, decided from
// the revision it read before, is refused: it reads again, sees the tick
// decided, and posts nothing.
func TestRevisionRacingPollsPostOnce(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	hl := &hookLister{Lister: f.client}
	a := NewAlerter(hl, f.poster, store, settings(), nil)
	b := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	hl.duringNextList(func() { poll(t, b, at(0)) })
	poll(t, a, at(0))
	f.expect(t, "two replicas on one tick", 1, 0)
	poll(t, a, at(time.Minute))
	poll(t, b, at(time.Minute))
	f.expect(t, "next tick", 0, 0)
}

// TestRevisionConcurrentPollsPostOnce: the same race left to the
// scheduler of goroutines, many times.
func TestRevisionConcurrentPollsPostOnce(t *testing.T) {
	f := newFixture(t, floor()...)
	f.force(t, presence.Offline, "s1")
	for round := range 20 {
		store := state.NewMemoryStore()
		alerters := []*Alerter{f.alerter(t, store, settings()), f.alerter(t, store, settings())}
		var wg sync.WaitGroup
		errs := make([]error, len(alerters))
		for i, a := range alerters {
			wg.Go(func() { errs[i] = a.Poll(context.Background(), at(0)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: replica %d: Poll = %v", round, i, err)
			}
		}
		if posts, _ := f.poster.take(); len(posts) != 1 {
			t.Fatalf("round %d: %d alerts posted by two replicas on one tick, want 1", round, len(posts))
		}
	}
}

// TestRevisionStaleWriteIsRefusedAndTheLoserDecidesAgain: a supervisor
// acknowledges (on another replica) while a poll, due to repeat, reads the
// contact center. The poll's write, decided from the revision before the
// acknowledgement, is refused; it reads again and, acknowledged, does not
// repeat. The acknowledgement is kept.
func TestRevisionStaleWriteIsRefusedAndTheLoserDecidesAgain(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &refusalCounter{Store: state.NewMemoryStore()}
	hl := &hookLister{Lister: f.client}
	a := NewAlerter(hl, f.poster, store, settings(), nil)
	b := f.alerter(t, store, settings())
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	value := ackButton(t, posts[0])

	hl.duringNextList(func() {
		if _, err := b.Acknowledge(ctx, value, "U123", at(31*time.Minute)); err != nil {
			t.Errorf("Acknowledge during the poll: %v", err)
		}
	})
	poll(t, a, at(31*time.Minute))
	f.expect(t, "acknowledged while the poll decided", 0, 0)
	if n := store.count(); n != 1 {
		t.Errorf("%d writes refused, want 1: the poll's, decided from the revision before the acknowledgement", n)
	}
	if st := storedState(t, store).Rules[TotalKey]; !st.Acked || st.AckedBy != "U123" || st.Phase != PhaseFiring {
		t.Errorf("stored %+v, want firing, acknowledged by U123", st)
	}
	poll(t, a, at(2*time.Hour))
	f.expect(t, "acknowledged: no repeat", 0, 0)
}

// TestRevisionAckDuringThePostIsKept: an acknowledgement saved between a
// poll's decision and the save of its posted message survives that save.
func TestRevisionAckDuringThePostIsKept(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	a := f.alerter(t, store, settings())
	b := f.alerter(t, store, settings())
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	value := ackButton(t, posts[0])

	f.poster.beforeNextPost(func() {
		if _, err := b.Acknowledge(ctx, value, "U123", at(31*time.Minute)); err != nil {
			t.Errorf("Acknowledge during the post: %v", err)
		}
	})
	poll(t, a, at(31*time.Minute))
	posts, _ = f.expect(t, "the repeat, decided before the click", 1, 1)
	st := storedState(t, store).Rules[TotalKey]
	if !st.Acked || st.AckedBy != "U123" {
		t.Errorf("stored %+v, want the acknowledgement kept", st)
	}
	if st.Posted.TS != posts[0].ts {
		t.Errorf("stored message %q, want the repeat %s", st.Posted.TS, posts[0].ts)
	}
	poll(t, a, at(2*time.Hour))
	f.expect(t, "acknowledged: no more repeats", 0, 0)
}

// TestRevisionConflictsEveryTrySkipTheTick: a replica that loses every
// race gives up after a few tries, skips the tick and posts nothing.
func TestRevisionConflictsEveryTrySkipTheTick(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, busyStore{state.NewMemoryStore()}, settings())
	f.force(t, presence.Offline, "s1")
	err := a.Poll(context.Background(), at(0))
	wantSkipped(t, "always losing", err)
	f.expect(t, "always losing", 0, 0)
}

// TestRevisionDeathBetweenPostAndSaveNeverPostsTwice: a replica posts
// the alert, then cannot record it and dies. Another replica, next tick,
// does not post it again: the decision was saved before the post. It
// repeats at the repeat period, as usual.
func TestRevisionDeathBetweenPostAndSaveNeverPostsTwice(t *testing.T) {
	f := newFixture(t, floor()...)
	shared := state.NewMemoryStore()
	dying := &failingStore{Store: shared}
	a := f.alerter(t, dying, settings())
	b := f.alerter(t, shared, settings())
	f.force(t, presence.Offline, "s1")

	f.poster.beforeNextPost(func() { dying.setFailSave(true) })
	_ = a.Poll(context.Background(), at(0))
	f.expect(t, "posted by the replica that then died", 1, 0)

	poll(t, b, at(time.Minute))
	poll(t, b, at(29*time.Minute))
	f.expect(t, "the other replica", 0, 0)
	poll(t, b, at(30*time.Minute))
	posts, _ := f.expect(t, "the repeat", 1, 0)
	mustContain(t, "repeat", posts[0].text(), "Still low availability", "Below since 10:00")
}

// TestRevisionFailedConfirmKeepsTheMessage: the post is made but its
// message could not be recorded; the same replica records it next poll,
// so the recovery still updates the alert.
func TestRevisionFailedConfirmKeepsTheMessage(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	a := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	f.poster.beforeNextPost(func() { store.setFailSave(true) })
	if err := a.Poll(context.Background(), at(0)); err == nil {
		t.Errorf("Poll whose last save failed = nil, want the error")
	}
	posts, _ := f.expect(t, "posted, not recorded", 1, 0)
	store.setFailSave(false)
	poll(t, a, at(time.Minute))
	f.expect(t, "store back", 0, 0)
	if st := storedState(t, store).Rules[TotalKey]; st.Posted.TS != posts[0].ts {
		t.Errorf("stored message %q, want %s", st.Posted.TS, posts[0].ts)
	}
	f.force(t, presence.Available, "s1")
	poll(t, a, at(2*time.Minute))
	_, updates := f.expect(t, "recovered", 1, 1)
	if updates[0].ts != posts[0].ts {
		t.Errorf("updated %s, want the alert %s", updates[0].ts, posts[0].ts)
	}
}

// TestRevisionFailedPostAndFailedSaveIsRetried: the post fails and so does
// the save that would undo the decision; the same replica knows the post
// was not made and posts it next tick.
func TestRevisionFailedPostAndFailedSaveIsRetried(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	a := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	f.poster.setFail(true)
	f.poster.beforeNextPost(func() { store.setFailSave(true) })
	if err := a.Poll(context.Background(), at(0)); err == nil {
		t.Errorf("Poll with a failed post = nil, want the error")
	}
	f.poster.setFail(false)
	store.setFailSave(false)
	f.expect(t, "post failed", 0, 0)
	poll(t, a, at(time.Minute))
	f.expect(t, "retried", 1, 0)
	poll(t, a, at(2*time.Minute))
	f.expect(t, "after the retry", 0, 0)
}

// TestRevisionDeathBeforePostIsAssumedMade: a replica saves its decision
// and dies before posting. The next poll, elsewhere, cannot tell a post
// not made from one made but not recorded, and assumes it made (never
// two posts): the alert shows at its first repeat, and the log says so.
func TestRevisionDeathBeforePostIsAssumedMade(t *testing.T) {
	f := newFixture(t, floor()...)
	shared := state.NewMemoryStore()
	dying := &failingStore{Store: shared}
	a := f.alerter(t, dying, settings())
	log, logs := newLogger()
	b := NewAlerter(f.client, f.poster, shared, settings(), log)
	f.force(t, presence.Offline, "s1")

	// The post never reaches Slack and nothing more reaches the store.
	f.poster.setFail(true)
	f.poster.beforeNextPost(func() { dying.setFailSave(true) })
	_ = a.Poll(context.Background(), at(0))
	f.poster.setFail(false)
	if st := storedState(t, shared); len(st.Posting) != 1 || st.Rules[TotalKey].Phase != PhaseFiring {
		t.Fatalf("stored %+v, want the decision with its marker", st)
	}

	poll(t, b, at(time.Minute))
	f.expect(t, "the next poll, elsewhere", 0, 0)
	mustContain(t, "log", logs.String(), "assuming it was made")
	if st := storedState(t, shared); len(st.Posting) != 0 {
		t.Errorf("stored markers %+v, want them settled", st.Posting)
	}
	poll(t, b, at(30*time.Minute))
	posts, _ := f.expect(t, "the first repeat", 1, 0)
	mustContain(t, "repeat", posts[0].text(), "Still low availability")
}

// TestRevisionEveryWriteAddsOne: the decision, the posted message and an
// acknowledgement are each a revision; a poll with nothing to change
// writes nothing.
func TestRevisionEveryWriteAddsOne(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	a := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	st := storedState(t, store)
	if st.Rev != 2 || !st.Tick.Equal(at(0)) || len(st.Posting) != 0 || st.Rules[TotalKey].Posted.TS != posts[0].ts {
		t.Errorf("after the alert: rev %d, tick %s, markers %v, message %q; want rev 2 (decision, then message), tick 10:00, no marker, %s",
			st.Rev, st.Tick, st.Posting, st.Rules[TotalKey].Posted.TS, posts[0].ts)
	}
	poll(t, a, at(time.Minute))
	if st := storedState(t, store); st.Rev != 2 {
		t.Errorf("after a poll with nothing to change: rev %d, want 2", st.Rev)
	}
	if _, err := a.Acknowledge(context.Background(), ackButton(t, posts[0]), "U123", at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st := storedState(t, store); st.Rev != 3 || !st.Rules[TotalKey].Acked {
		t.Errorf("after the acknowledgement: rev %d, %+v; want rev 3, acknowledged", st.Rev, st.Rules[TotalKey])
	}
}

// TestRevisionLosingEveryRaceIsAConflict: the skipped tick names the
// conflict.
func TestRevisionLosingEveryRaceIsAConflict(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, busyStore{state.NewMemoryStore()}, settings())
	f.force(t, presence.Offline, "s1")
	if err := a.Poll(context.Background(), at(0)); !errors.Is(err, state.ErrConflict) {
		t.Errorf("Poll = %v, want it to wrap state.ErrConflict", err)
	}
}

// TestAlertOnChangeAfterSavedChanges: the hook runs once per change of
// what the board shows (fire, acknowledgement, recovery), after it is
// saved, and not for polls that change nothing or could not save.
func TestAlertOnChangeAfterSavedChanges(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	s := settings()
	var calls []string
	var a *Alerter
	s.OnChange = func(ctx context.Context) {
		// What the hook reads is saved already.
		var st State
		if _, err := store.Load(ctx, alertsStateKey, &st); err != nil || len(st.Posting) != 0 {
			t.Errorf("OnChange ran before the state was saved: %+v, %v", st, err)
		}
		calls = append(calls, strings.Join(a.Firing(ctx), "|"))
	}
	a = f.alerter(t, store, s)
	ctx := context.Background()
	want := func(when string, n int) {
		t.Helper()
		if len(calls) != n {
			t.Fatalf("%s: OnChange called %d times in all, want %d: %q", when, len(calls), n, calls)
		}
	}

	poll(t, a, at(0))
	want("at the threshold", 0)
	f.force(t, presence.Offline, "s1")
	store.setFailSave(true)
	_ = a.Poll(ctx, at(time.Minute))
	want("save failed", 0)
	store.setFailSave(false)
	poll(t, a, at(2*time.Minute))
	posts, _ := f.expect(t, "fired", 1, 0)
	want("fired", 1)
	mustContain(t, "board when fired", calls[0], "4 available")
	poll(t, a, at(3*time.Minute))
	want("still firing", 1)
	if _, err := a.Acknowledge(ctx, ackButton(t, posts[0]), "U123", at(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want("acknowledged", 2)
	mustContain(t, "board when acknowledged", calls[1], "acknowledged by <@U123>")
	f.force(t, presence.Available, "s1")
	poll(t, a, at(5*time.Minute))
	want("resolved", 3)
	if calls[2] != "" {
		t.Errorf("board when resolved: %q, want nothing firing", calls[2])
	}
}

// TestRevisionShutdownAfterTheDecisionUndoesIt: the poll's context ends
// (shutdown, or its deadline) between the decision and the post. The post
// fails, and the decision is still undone in the store, so the next tick,
// on any replica, posts the alert rather than assume it made.
func TestRevisionShutdownAfterTheDecisionUndoesIt(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	a := f.alerter(t, store, settings())
	b := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	ctx, cancel := context.WithCancel(context.Background())
	f.poster.setFail(true) // the recorder ignores contexts: fail as Slack's client would
	f.poster.beforeNextPost(cancel)
	_ = a.Poll(ctx, at(0))
	f.poster.setFail(false)
	if st := storedState(t, store); len(st.Posting) != 0 || st.Rules[TotalKey].Phase == PhaseFiring {
		t.Errorf("stored %+v, want the decision undone", st)
	}
	poll(t, b, at(time.Minute))
	f.expect(t, "the next tick, on another replica", 1, 0)
}
