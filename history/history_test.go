package history

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func newRecorder(store *bytesStore, o Options) *Recorder { return New(store, o, nil) }

// Samples come back per team, at their ticks, with every count; nil
// teams is every team recorded, the floor ("") included.
func TestRecordRangeRoundTrip(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	for i := range 5 {
		record(t, r, at(10*time.Hour+time.Duration(i)*time.Minute), sampleOf(map[string]int{"": 10 + i, "sales": i, "support": 2 * i}))
	}
	got := rangeOf(t, r, nil, at(10*time.Hour), at(11*time.Hour), 0)
	if keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(keys, []string{"", "sales", "support"}) {
		t.Fatalf("teams = %q, want the floor, sales and support", keys)
	}
	for i, p := range got["support"] {
		want := Point{At: at(10*time.Hour + time.Duration(i)*time.Minute), Counts: Counts{2 * i, 2*i + 1, 2*i + 2, 2*i + 3, 2*i + 4}}
		if p != want {
			t.Errorf("support point %d = %+v, want %+v", i, p, want)
		}
	}
	if n := len(got["support"]); n != 5 {
		t.Errorf("support has %d points, want 5", n)
	}
	if s := availables(got[""]); s != "10h0m0s=10 10h1m0s=11 10h2m0s=12 10h3m0s=13 10h4m0s=14" {
		t.Errorf("floor = %s", s)
	}

	// Only the teams asked; from and to inclusive.
	got = rangeOf(t, r, []string{"sales"}, at(10*time.Hour+time.Minute), at(10*time.Hour+3*time.Minute), 0)
	if len(got) != 1 || availables(got["sales"]) != "10h1m0s=1 10h2m0s=2 10h3m0s=3" {
		t.Errorf("sales 10:01–10:03 = %v", got)
	}
	// A team never recorded has no entry.
	if got := rangeOf(t, r, []string{"nobody"}, at(0), at(24*time.Hour), 0); len(got["nobody"]) != 0 {
		t.Errorf("unknown team = %v, want nothing", got)
	}
	// Nothing before the first sample.
	if got := rangeOf(t, r, nil, at(0), at(10*time.Hour-time.Second), 0); len(got) != 0 {
		t.Errorf("before any sample = %v, want nothing", got)
	}
}

// A step keeps at most one point per step, the last in it.
func TestRangeStepKeepsTheLastOfEachStep(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	for i := range 12 {
		record(t, r, at(9*time.Hour+time.Duration(i)*time.Minute), sampleOf(map[string]int{"sales": i}))
	}
	got := rangeOf(t, r, []string{"sales"}, at(9*time.Hour), at(10*time.Hour), 5*time.Minute)
	if s := availables(got["sales"]); s != "9h4m0s=4 9h9m0s=9 9h11m0s=11" {
		t.Errorf("5-minute steps = %s, want the last of each step", s)
	}
}

// Samples cross hours (and chunks) seamlessly.
func TestRangeAcrossHours(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	for i := range 130 {
		record(t, r, at(8*time.Hour+time.Duration(i)*time.Minute), sampleOf(map[string]int{"sales": i % 7}))
	}
	got := rangeOf(t, r, []string{"sales"}, at(8*time.Hour), at(11*time.Hour), 0)
	if n := len(got["sales"]); n != 130 {
		t.Fatalf("%d points over 130 minutes, want 130", n)
	}
	for i, p := range got["sales"] {
		if p.At != at(8*time.Hour+time.Duration(i)*time.Minute) || p.Counts.Available != i%7 {
			t.Fatalf("point %d = %+v", i, p)
		}
	}
}

// A second Record of the same tick (another replica, a retried job)
// changes nothing, even with other figures; so does a second tick within
// the finest step (an alert interval under a minute).
func TestRecordSameTickTwiceIsOneSample(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{Resolution: time.Second})
	tick := at(10 * time.Hour)
	record(t, r, tick, sampleOf(map[string]int{"sales": 3}))
	store.resetWrites()
	record(t, r, tick, sampleOf(map[string]int{"sales": 9}))
	record(t, r, tick.Add(20*time.Second), sampleOf(map[string]int{"sales": 7}))
	if store.writes["history-recent"] != 0 {
		t.Errorf("the same tick rewrote its chunk %d times, want 0", store.writes["history-recent"])
	}
	got := rangeOf(t, r, []string{"sales"}, tick.Add(-time.Hour), tick.Add(time.Hour), 0)
	if s := availables(got["sales"]); s != "10h0m0s=3" {
		t.Errorf("sales = %s, want the first sample only", s)
	}
}

// Two replicas (two Recorders over one store) recording the same ticks
// at once keep one sample per tick.
func TestTwoReplicasRecordingTheSameTicks(t *testing.T) {
	store := newBytesStore()
	replicas := []*Recorder{newRecorder(store, Options{}), newRecorder(store, Options{})}
	const ticks = 90 // across an hour's boundary
	var wg sync.WaitGroup
	for n, r := range replicas {
		wg.Go(func() {
			for i := range ticks {
				s := sampleOf(map[string]int{"sales": i, "": 100 + n})
				if err := r.Record(context.Background(), at(23*time.Hour+time.Duration(i)*time.Minute), s); err != nil {
					t.Errorf("replica %d, tick %d: %v", n, i, err)
				}
			}
		})
	}
	wg.Wait()
	got := rangeOf(t, replicas[0], []string{"sales", ""}, at(0), at(48*time.Hour), 0)
	if n := len(got["sales"]); n != ticks {
		t.Errorf("%d sales points, want %d", n, ticks)
	}
	for i, p := range got["sales"] {
		if p.At != at(23*time.Hour+time.Duration(i)*time.Minute) || p.Counts.Available != i {
			t.Errorf("sales point %d = %+v", i, p)
		}
	}
	for i, p := range got[""] {
		if p.Counts.Available != 100 && p.Counts.Available != 101 {
			t.Errorf("floor point %d = %d, want one replica's sample", i, p.Counts.Available)
		}
	}
	if n := len(got[""]); n != ticks {
		t.Errorf("%d floor points, want %d", n, ticks)
	}
}

// After 24 hours samples are kept at 5-minute resolution (the last of
// each 5 minutes), in one chunk per day; the last 24 hours stay at full
// resolution.
func TestCompactionAfter24Hours(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	end := 30 * time.Hour
	for d := time.Duration(0); d < end; d += time.Minute {
		record(t, r, at(d), sampleOf(map[string]int{"sales": int(d / time.Minute % 50)}))
	}
	now := at(end - time.Minute)
	old := rangeOf(t, r, []string{"sales"}, at(0), at(time.Hour-time.Second), 0)
	want := ""
	for m := 4; m < 60; m += 5 {
		want += fmt.Sprintf(" %s=%d", time.Duration(m)*time.Minute, m%50)
	}
	if s := availables(old["sales"]); s != want[1:] {
		t.Errorf("the first hour, a day later = %s\nwant %s", s, want[1:])
	}
	recent := rangeOf(t, r, []string{"sales"}, now.Add(-24*time.Hour+time.Minute), now, 0)
	if n := len(recent["sales"]); n != 24*60 {
		t.Errorf("the last 24 hours have %d points, want %d (full resolution)", n, 24*60)
	}
	// Chunks older than a day are gone (compacted), an hour's per tick at
	// most; the day chunk holds them.
	if n := store.countKeys("history-recent-"); n > 25*6 {
		t.Errorf("%d 10-minute chunks stored, want at most %d: %v", n, 25*6, store.keys())
	}
	if n := store.countKeys("history-day-"); n != 1 {
		t.Errorf("%d day chunks, want 1: %v", n, store.keys())
	}
}

// Chunks past the retention are deleted; what is left reads as before.
func TestRetentionDeletesOldChunks(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{Retention: 48 * time.Hour})
	end := 4*24*time.Hour + 2*time.Hour
	for d := time.Duration(0); d < end; d += 5 * time.Minute {
		record(t, r, at(d), sampleOf(map[string]int{"sales": 1}))
	}
	if got := rangeOf(t, r, nil, at(0), at(24*time.Hour), 0); len(got) != 0 {
		t.Errorf("day 0, 4 days later with 2 days kept = %d teams, want nothing", len(got))
	}
	got := rangeOf(t, r, []string{"sales"}, at(end-48*time.Hour+time.Hour), at(end), 0)
	if n := len(got["sales"]); n != 47*12 {
		t.Errorf("the last 47 hours have %d points, want %d", n, 47*12)
	}
	// At most the days the retention reaches into, and the last day's hours.
	if n := store.countKeys("history-day-"); n > 3 {
		t.Errorf("%d day chunks kept for 2 days' retention: %v", n, store.keys())
	}
	for _, k := range store.keys() {
		if k != indexKey && !r.listed(context.Background(), k) {
			t.Errorf("stored key %s is not in the index: it would never be deleted", k)
		}
	}
}

// Teams lists the teams with a sample in the range, with the name last
// seen, never the floor.
func TestTeams(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	s := sampleOf(map[string]int{"": 9, "sales": 1, "support": 2})
	record(t, r, at(8*time.Hour), s)
	s.Names["sales"] = "Sales & Renewals"
	record(t, r, at(9*time.Hour), s)
	record(t, r, at(12*time.Hour), sampleOf(map[string]int{"": 1, "night": 1}))

	check := func(from, to time.Time, want []TeamName) {
		t.Helper()
		got, err := r.Teams(context.Background(), from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Teams(%s, %s) = %v, want %v", from.Sub(day0), to.Sub(day0), got, want)
		}
	}
	check(at(0), at(24*time.Hour), []TeamName{{"night", "Team night"}, {"sales", "Sales & Renewals"}, {"support", "Team support"}})
	check(at(0), at(8*time.Hour+30*time.Minute), []TeamName{{"sales", "Team sales"}, {"support", "Team support"}})
	check(at(11*time.Hour), at(13*time.Hour), []TeamName{{"night", "Team night"}})
	check(at(13*time.Hour), at(14*time.Hour), nil)
}

// A name given in no sample falls back to the ID.
func TestTeamsWithoutNames(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	record(t, r, at(time.Hour), Sample{Teams: map[string]Counts{"t1": {Available: 1}}})
	got, err := r.Teams(context.Background(), at(0), at(2*time.Hour))
	if err != nil || !slices.Equal(got, []TeamName{{"t1", "t1"}}) {
		t.Errorf("Teams = %v, %v; want t1 named by its ID", got, err)
	}
}

// Bad input is refused with a clear error and changes nothing.
func TestRecordRefusesBadInput(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	for name, s := range map[string]Sample{
		"negative count": {Teams: map[string]Counts{"x": {Busy: -1}}},
	} {
		if err := r.Record(context.Background(), at(time.Hour), s); err == nil {
			t.Errorf("%s: Record accepted it", name)
		}
	}
	if err := r.Record(context.Background(), time.Time{}, sampleOf(map[string]int{"x": 1})); err == nil {
		t.Error("zero time: Record accepted it")
	}
	if _, err := r.Range(context.Background(), nil, at(2*time.Hour), at(time.Hour), 0); err == nil {
		t.Error("Range with to before from: no error")
	}
	if n := len(store.keys()); n != 0 {
		t.Errorf("refused input stored %v", store.keys())
	}
}

// A sample keeps the floor and the MaxTeams teams with most agents: no
// roster grows the store without bound.
func TestRecordKeepsAtMostMaxTeams(t *testing.T) {
	r := newRecorder(newBytesStore(), Options{})
	avail := map[string]int{"": 1}
	for i := range MaxTeams + 5 {
		avail[fmt.Sprintf("t%04d", i)] = i // t0000 … t0004 are the smallest
	}
	record(t, r, at(time.Hour), sampleOf(avail))
	got := rangeOf(t, r, nil, at(0), at(2*time.Hour), 0)
	if len(got) != MaxTeams+1 {
		t.Errorf("%d teams kept, want %d and the floor", len(got)-1, MaxTeams)
	}
	for _, id := range []string{"", "t0005", fmt.Sprintf("t%04d", MaxTeams+4)} {
		if len(got[id]) != 1 {
			t.Errorf("team %q left out", id)
		}
	}
	if len(got["t0004"]) != 0 {
		t.Error("a smallest team kept")
	}
}
