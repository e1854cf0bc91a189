package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/state"
)

// With alerts on, every alert poll records the floor's counts per team in
// the history, in the app's store, with the alert's events: read back
// through a Recorder over the same store, as another replica would.
func TestAlertPollsRecordHistory(t *testing.T) {
	var mu sync.Mutex
	var store state.Store
	// Two of four agents are available; the threshold is five.
	w := start(t, withEnv("ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "5", "ALERT_INTERVAL", "1s"),
		func(_ map[string]string, opts *[]app.Option) {
			*opts = append(*opts, app.WithStateStore(func(s state.Store) state.Store {
				mu.Lock()
				defer mu.Unlock()
				store = s
				return s
			}))
		})
	mu.Lock()
	rec := history.New(store, history.Options{}, nil)
	mu.Unlock()
	ctx := context.Background()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var got map[string][]history.Point
	eventually(t, "a sample in the history", func() bool {
		var err error
		got, err = rec.Range(ctx, nil, from, to, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(got[""]) > 0
	})
	want := map[string]history.Counts{
		"":             {Available: 2, Busy: 1, Offline: 1},
		"sales_team":   {Available: 2},
		"support_team": {Busy: 1, Offline: 1},
	}
	for id, c := range want {
		if ps := got[id]; len(ps) == 0 || ps[0].Counts != c {
			t.Errorf("team %q: %+v, want %+v", id, ps, c)
		}
	}
	teams, err := rec.Teams(ctx, from, to)
	if err != nil || len(teams) != 2 || teams[0] != (history.TeamName{ID: "sales_team", Name: "Sales"}) {
		t.Errorf("Teams = %v, %v; want Sales and Support", teams, err)
	}
	eventually(t, "the alert's fire in the history", func() bool {
		events, err := rec.Alerts(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return len(events) > 0 && events[0].Kind == history.KindFired && events[0].Rule == "all"
	})
	_ = w
}

// Without alerts, the history job records the floor every minute.
func TestHistoryJobWithoutAlerts(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Minute).Add(30 * time.Second))
	var mu sync.Mutex
	var store state.Store
	start(t, withEnv("AFTER_CALL_POLL", "1h"), func(_ map[string]string, opts *[]app.Option) {
		*opts = append(*opts, app.WithClock(clock), app.WithStateStore(func(s state.Store) state.Store {
			mu.Lock()
			defer mu.Unlock()
			store = s
			return s
		}))
	})
	mu.Lock()
	rec := history.New(store, history.Options{}, nil)
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil { // history and after_call
		t.Fatalf("the scheduler did not set its timers: %v", err)
	}
	tick := clock.Now().Truncate(time.Minute).Add(time.Minute)
	clock.Advance(tick.Sub(clock.Now()))
	eventually(t, "the minute's sample", func() bool {
		got, err := rec.Range(context.Background(), []string{""}, tick, tick, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(got[""]) == 1 && got[""][0].Counts == history.Counts{Available: 2, Busy: 1, Offline: 1}
	})
}
