package commands_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/state"
)

// BenchmarkTrend192h100Teams is /presence trend 192 (the whole 8-day
// retention) on the real Recorder over the in-memory JSON store, holding
// 8 days of 100 teams whose counts move every minute. B/op is what one
// command allocates reading the history (92 MB when each read built a
// Point per team per sample).
func BenchmarkTrend192h100Teams(b *testing.B) {
	ctx := context.Background()
	rec := history.New(state.NewMemoryStore(), history.Options{}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	names := make(map[string]string, 100)
	counts := make(map[string]history.Counts, 100)
	for i := range 100 {
		id := fmt.Sprintf("team_%03d", i)
		names[id], counts[id] = fmt.Sprintf("Team number %d", i), history.Counts{Available: 5, OnCall: 10, Offline: 30}
	}
	step := func(v int) int { return max(0, v+rng.IntN(5)-2) }
	end := trendNow.Truncate(time.Minute)
	for at := end.Add(-192 * time.Hour); !at.After(end); at = at.Add(time.Minute) {
		s := history.Sample{Teams: make(map[string]history.Counts, 101), Names: names}
		var floor history.Counts
		for id, c := range counts {
			c = history.Counts{Available: step(c.Available), OnCall: step(c.OnCall), AfterCallWork: step(c.AfterCallWork), Busy: step(c.Busy), Offline: step(c.Offline)}
			counts[id], s.Teams[id] = c, c
			floor = history.Counts{Available: floor.Available + c.Available, OnCall: floor.OnCall + c.OnCall,
				AfterCallWork: floor.AfterCallWork + c.AfterCallWork, Busy: floor.Busy + c.Busy, Offline: floor.Offline + c.Offline}
		}
		s.Teams[""] = floor
		if err := rec.Record(ctx, at, s); err != nil {
			b.Fatal(err)
		}
	}
	h := trendHandler(rec, nil, 0)
	if c := chartOf(b, trend(b, h, "192")); len(c.Series) != 6 {
		b.Fatalf("%d lines, want the floor and 5 teams", len(c.Series))
	}
	b.ReportAllocs()
	for b.Loop() {
		trend(b, h, "192")
	}
}
