package history

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// /presence trend 192 (the 8-day retention) on 100 teams reads the teams
// (chunk headers), the latest sample (the newest chunk) and 6 teams'
// points over 8 days: it allocates a few MB, and holds only the points it
// returns. Before, three full scans built a Point per team per sample
// before thinning: 92 MB allocated, 22.5 MB held.
func TestTrendReadCostIsBounded(t *testing.T) {
	store := newValueStore()
	r := New(store, Options{}, nil)
	c := newChurn(100)
	end := day0.Add(8 * 24 * time.Hour)
	for tick := day0; tick.Before(end); tick = tick.Add(time.Minute) {
		record(t, r, tick, c.next())
	}
	ctx := context.Background()
	now := end.Add(-time.Minute)
	from := now.Add(-192 * time.Hour)
	chosen := []string{"", "team_001", "team_002", "team_003", "team_004", "team_005"}

	var before, after, live runtime.MemStats
	runtime.GC()
	runtime.GC() // the recording's garbage, finalized and swept
	runtime.ReadMemStats(&before)
	teams, err := r.Teams(ctx, from, now)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := r.Latest(ctx, from, now)
	if err != nil {
		t.Fatal(err)
	}
	points, err := r.Range(ctx, chosen, from, now, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	runtime.GC()
	runtime.ReadMemStats(&live)
	allocated := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
	held := (float64(live.HeapAlloc) - float64(before.HeapAlloc)) / (1 << 20)
	t.Logf("one /presence trend 192 on 100 teams: %.1f MB allocated, %.2f MB held", allocated, held)
	// The 8 days' chunks are 2.5 MB: each read once, and little beside.
	if allocated > 8 {
		t.Errorf("one trend allocates %.1f MB, want at most 8 (50 at once must fit the 60 MB budget with the bot)", allocated)
	}
	if held > 1 {
		t.Errorf("the answer holds %.2f MB, want at most 1 (6 lines of 768 points)", held)
	}
	if len(teams) != 100 || len(latest) != 101 || len(points) != len(chosen) {
		t.Errorf("%d teams, %d latest, %d lines; want 100, 101 and %d", len(teams), len(latest), len(points), len(chosen))
	}
	for id, ps := range points {
		if cap(ps) != len(ps) {
			t.Errorf("team %q: %d points in a slice of %d: the points read are held", id, len(ps), cap(ps))
		}
	}
	if n := len(points["team_001"]); n != 192*4 {
		t.Errorf("team_001 has %d points over 192 hours at 15 minutes, want %d", n, 192*4)
	}
	for id, p := range latest {
		if !p.At.Equal(now) {
			t.Errorf("latest %q at %s, want the last tick %s", id, p.At, now)
		}
	}
	runtime.KeepAlive(teams)
	runtime.KeepAlive(latest)
	runtime.KeepAlive(points)
	runtime.KeepAlive(r) // and its store: held before as after
}

// Range keeps at most a point per step per team while it reads, and
// returns slices of their own: a day's step over 2 days is two points a
// team, the last of each day.
func TestRangeThinsWhileReading(t *testing.T) {
	store := newValueStore()
	r := New(store, Options{}, nil)
	c := newChurn(100)
	end := day0.Add(2 * 24 * time.Hour)
	for tick := day0; tick.Before(end); tick = tick.Add(time.Minute) {
		record(t, r, tick, c.next())
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := r.Range(ctx, nil, day0, end, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(got) != 101 {
		t.Errorf("%d teams, want 100 and the floor", len(got))
	}
	for id, ps := range got {
		if len(ps) != 2 || cap(ps) != 2 || !ps[0].At.Equal(at(24*time.Hour-time.Minute)) || !ps[1].At.Equal(end.Add(-time.Minute)) {
			t.Fatalf("team %q: %s (cap %d), want each day's last minute, in a slice of its own", id, availables(ps), cap(ps))
		}
	}
	// 2 days of 101 teams are 290,000 samples (18 MB as Points): none kept.
	if mb := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20); mb > 3 {
		t.Errorf("Range of day steps allocates %.1f MB, want at most 3 (the chunks read)", mb)
	}
}
