package alerts

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// eventLog collects what OnEvent reports.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(_ context.Context, e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) take() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// OnEvent hears an alert fire, move level, be acknowledged and resolve,
// once each, at the poll's tick (or the click's time).
func TestOnEventReportsTheAlertsLife(t *testing.T) {
	f := newFixture(t, floor()...)
	var log eventLog
	s := settings()
	s.Rules = []AvailabilityRule{{Name: "sales-floor", Teams: []string{"sales_team"}, Warning: 3, Critical: 2, Repeat: 30 * time.Minute}}
	s.OnEvent = log.add
	a := f.alerter(t, nil, s)
	want := func(when string, events ...Event) {
		t.Helper()
		got := log.take()
		if !slices.EqualFunc(got, events, func(x, y Event) bool {
			return x.At.Equal(y.At) && x.Rule == y.Rule && slices.Equal(x.Teams, y.Teams) && x.Kind == y.Kind && x.Level == y.Level
		}) {
			t.Errorf("%s: events %+v, want %+v", when, got, events)
		}
	}
	ev := func(d time.Duration, kind, level string) Event {
		return Event{At: at(d), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: kind, Level: level}
	}

	poll(t, a, at(0))
	want("3 of 3 available")

	f.poster.setFail(true)
	f.force(t, presence.Offline, "s1")
	_ = a.Poll(context.Background(), at(time.Minute))
	want("a fire whose post failed: tried again next poll")
	f.poster.setFail(false)
	poll(t, a, at(2*time.Minute))
	posts, _ := f.expect(t, "fired", 1, 0)
	want("fired at warning", ev(2*time.Minute, EventFired, "warning"))

	f.force(t, presence.Offline, "s2")
	poll(t, a, at(3*time.Minute))
	want("critical", ev(3*time.Minute, EventLevel, "critical"))
	poll(t, a, at(4*time.Minute))
	want("still critical")

	if _, err := a.Acknowledge(context.Background(), ackButton(t, posts[0]), "U1", at(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want("acknowledged", ev(5*time.Minute, EventAcked, "critical"))
	if _, err := a.Acknowledge(context.Background(), ackButton(t, posts[0]), "U2", at(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want("acknowledged again: the first stands")

	f.force(t, presence.Available, "s1", "s2")
	poll(t, a, at(7*time.Minute))
	want("resolved", ev(7*time.Minute, EventResolved, "critical"))
}

// OnSnapshot hears the roster snapshot a poll counted from, when it read
// one; a poll that made its own list reports none.
func TestOnSnapshotReportsThePollsSnapshot(t *testing.T) {
	f := newFixture(t, floor()...)
	clk := &fakeClock{now: monday10}
	snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
	var got []*presence.Snapshot
	var ticks []time.Time
	s := settings()
	s.Roster = snaps
	s.OnSnapshot = func(now time.Time, snap *presence.Snapshot) {
		ticks = append(ticks, now)
		got = append(got, snap)
	}
	a := f.alerter(t, nil, s)
	fresh, err := snaps.Get(context.Background()) // another reader's, within the TTL
	if err != nil {
		t.Fatal(err)
	}
	poll(t, a, at(0))
	if len(got) != 1 || got[0] != fresh || !ticks[0].Equal(at(0)) {
		t.Fatalf("OnSnapshot got %v at %v, want the poll's snapshot %p at 10:00", got, ticks, fresh)
	}

	got = nil
	s.Roster = nil
	a = f.alerter(t, nil, s)
	poll(t, a, at(time.Minute))
	if len(got) != 0 {
		t.Errorf("a poll that listed reported snapshots %v", got)
	}
}
