package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// countingRoster is a presence.Reader that counts what the sampler asks.
type countingRoster struct {
	fresh   *presence.Snapshot // what Fresh returns; nil: nothing fresh
	get     *presence.Snapshot
	fresher int // Fresh calls
	gets    int // Get calls: each may cost requests
}

func (r *countingRoster) Get(context.Context) (*presence.Snapshot, error) {
	r.gets++
	return r.get, nil
}

func (r *countingRoster) Fresh(context.Context) (*presence.Snapshot, bool) {
	r.fresher++
	return r.fresh, r.fresh != nil
}

func (r *countingRoster) LastKnown() *presence.Snapshot { return r.get }

type listed []presence.Agent

func (l listed) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	return &presence.Roster{Agents: l}, nil
}

// snapshotWith is a roster of n available agents in team "t".
func snapshotWith(t *testing.T, n int) *presence.Snapshot {
	t.Helper()
	agents := make(listed, n)
	for i := range agents {
		agents[i] = presence.Agent{ID: string(rune('a' + i)), Status: presence.Available, Team: &presence.Team{ID: "t", Name: "T"}}
	}
	s, err := presence.NewSnapshots(agents, time.Minute, nil).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The sampler records what the alert poll counted, asking the roster
// nothing; without it, the shared snapshot when fresh, else a read; and a
// tick whose minute is recorded already reads nothing at all.
func TestHistorySamplerReadsNoMoreThanItMust(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	roster := &countingRoster{}
	cfg := &config.Config{HistoryRetention: 8 * 24 * time.Hour}
	cfg.Alert.Channel, cfg.Alert.Interval = "C0ALERTS", time.Second
	h := newHistory(cfg, store, roster, slog.New(slog.DiscardHandler))
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	available := func(at time.Time) int {
		t.Helper()
		got, err := h.rec.Range(ctx, []string{"t"}, at, at, 0)
		if err != nil || len(got["t"]) != 1 {
			t.Fatalf("Range at %s = %v, %v; want one point", at.Format("15:04:05"), got, err)
		}
		return got["t"][0].Counts.Available
	}
	reads := func(when string, fresh, gets int) {
		t.Helper()
		if roster.fresher != fresh || roster.gets != gets {
			t.Errorf("%s: %d Fresh and %d Get, want %d and %d", when, roster.fresher, roster.gets, fresh, gets)
		}
		roster.fresher, roster.gets = 0, 0
	}

	// The poll counted a snapshot: that one is recorded, nothing read.
	h.took(t0, snapshotWith(t, 3))
	if err := h.record(ctx, t0); err != nil {
		t.Fatal(err)
	}
	reads("the poll's snapshot", 0, 0)
	if n := available(t0); n != 3 {
		t.Errorf("recorded %d available, want the poll's 3", n)
	}

	// The same minute again (a 1s alert interval): nothing read.
	h.took(t0.Add(time.Second), snapshotWith(t, 9))
	if err := h.record(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := h.record(ctx, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	reads("the same minute", 0, 0)

	// A poll that listed: the shared snapshot while fresh…
	t1 := t0.Add(time.Minute)
	h.took(t0, snapshotWith(t, 8)) // an older poll's: not this tick's
	roster.fresh = snapshotWith(t, 4)
	if err := h.record(ctx, t1); err != nil {
		t.Fatal(err)
	}
	reads("a fresh shared snapshot", 1, 0)
	if n := available(t1); n != 4 {
		t.Errorf("recorded %d available, want the fresh snapshot's 4", n)
	}

	// …else a read.
	t2 := t1.Add(time.Minute)
	roster.fresh, roster.get = nil, snapshotWith(t, 5)
	if err := h.record(ctx, t2); err != nil {
		t.Fatal(err)
	}
	reads("nothing fresh", 1, 1)
	if n := available(t2); n != 5 {
		t.Errorf("recorded %d available, want the read's 5", n)
	}
}

// The alerter's events and the history's are the same words.
func TestAlertEventKindsMatchTheHistory(t *testing.T) {
	for _, k := range [][2]string{
		{alertsEventFired, history.KindFired}, {alertsEventLevel, history.KindLevel},
		{alertsEventAcked, history.KindAcked}, {alertsEventResolved, history.KindResolved},
	} {
		if k[0] != k[1] {
			t.Errorf("alerts says %q where history says %q", k[0], k[1])
		}
	}
}

const (
	alertsEventFired    = alerts.EventFired
	alertsEventLevel    = alerts.EventLevel
	alertsEventAcked    = alerts.EventAcked
	alertsEventResolved = alerts.EventResolved
)
