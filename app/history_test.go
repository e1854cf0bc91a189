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
// through a Recorder over the same store, as another replica would. The
// first poll lists (nothing tells the roster's size yet): the floor only;
// from the second on, the poll reads the small floor's snapshot, which
// counts every team. The sampler reads nothing itself.
func TestAlertPollsRecordHistory(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Minute).Add(30 * time.Second))
	var mu sync.Mutex
	var store state.Store
	// Two of four agents are available; the threshold is five.
	w := start(t, withEnv("ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "5", "ALERT_INTERVAL", "1m", "AFTER_CALL_POLL", "1h"),
		func(_ map[string]string, opts *[]app.Option) {
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
	tick := clock.Now().Truncate(time.Minute)
	sampleAt := func(what string, tick time.Time, want map[string]history.Counts) {
		t.Helper()
		// To the next tick, once the previous tick's poll is done (the
		// clock moving under it would end it at its deadline).
		w.tickAlerts(clock)
		if !clock.Now().Equal(tick) {
			t.Fatalf("%s: the clock is at %v, want the tick %v", what, clock.Now(), tick)
		}
		var got map[string][]history.Point
		eventually(t, what, func() bool {
			var err error
			if got, err = rec.Range(context.Background(), nil, tick, tick, 0); err != nil {
				t.Fatal(err)
			}
			return len(got[""]) == 1
		})
		if len(got) != len(want) {
			t.Errorf("%s: teams %v, want %v", what, got, want)
		}
		for id, c := range want {
			if ps := got[id]; len(ps) != 1 || ps[0].Counts != c {
				t.Errorf("%s: team %q: %+v, want %+v", what, id, ps, c)
			}
		}
	}
	floor := history.Counts{Available: 2, Busy: 1, Offline: 1}
	tick = tick.Add(time.Minute)
	sampleAt("the first poll's sample", tick, map[string]history.Counts{"": floor})
	tick = tick.Add(time.Minute)
	sampleAt("the second poll's sample", tick, map[string]history.Counts{
		"":             floor,
		"sales_team":   {Available: 2},
		"support_team": {Busy: 1, Offline: 1},
	})
	teams, err := rec.Teams(ctx, tick, tick)
	if err != nil || len(teams) != 2 || teams[0] != (history.TeamName{ID: "sales_team", Name: "Sales"}) {
		t.Errorf("Teams = %v, %v; want Sales and Support", teams, err)
	}
	eventually(t, "the alert's fire in the history", func() bool {
		events, err := rec.Alerts(ctx, tick.Add(-time.Hour), tick.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(events) > 0 && events[0].Kind == history.KindFired && events[0].Rule == "all"
	})
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
