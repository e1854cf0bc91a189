package history

import (
	"context"
	"testing"
	"time"
)

func latestOf(t *testing.T, r *Recorder, from, to time.Time) map[string]Point {
	t.Helper()
	got, err := r.Latest(context.Background(), from, to)
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	return got
}

// Latest is the newest sample in the range, per team it holds: from the
// newest chunk's tail, from an older chunk when the newest has none in
// the range, from a day once compacted; nothing when the range has none.
func TestLatest(t *testing.T) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	for m := range 30 * 60 {
		avail := map[string]int{"": m, "sales": m % 7}
		if m < 20 {
			avail["night"] = 1 // gone after 00:20
		}
		record(t, r, at(time.Duration(m)*time.Minute), sampleOf(avail))
	}
	last := at(30*time.Hour - time.Minute)
	check := func(name string, from, to time.Time, wantAt time.Time, want map[string]int) {
		t.Helper()
		got := latestOf(t, r, from, to)
		if len(got) != len(want) {
			t.Errorf("%s: %d teams %v, want %v", name, len(got), got, want)
		}
		for id, n := range want {
			if p := got[id]; !p.At.Equal(wantAt) || p.Counts != sampleOf(map[string]int{id: n}).Teams[id] {
				t.Errorf("%s: %q = %+v, want %d available at %s", name, id, p, n, wantAt.Sub(day0))
			}
		}
	}
	m := func(d time.Duration) int { return int(d / time.Minute) }
	check("now", last.Add(-4*time.Hour), last, last, map[string]int{"": m(last.Sub(day0)), "sales": m(last.Sub(day0)) % 7})
	// to mid-chunk: the chunk's newest sample is after it.
	mid := at(25*time.Hour + 3*time.Minute)
	check("to mid-chunk", at(0), mid, mid, map[string]int{"": m(mid.Sub(day0)), "sales": m(mid.Sub(day0)) % 7})
	// Compacted (older than a day): the last of its 5 minutes.
	old := at(2*time.Hour + 7*time.Minute)
	check("from the day", at(0), old, at(2*time.Hour+4*time.Minute), map[string]int{"": 124, "sales": 124 % 7})
	check("from the day", at(0), at(2*time.Hour+9*time.Minute), at(2*time.Hour+9*time.Minute),
		map[string]int{"": 129, "sales": 129 % 7})
	check("a team gone", at(0), at(19*time.Minute), at(19*time.Minute), map[string]int{"": 19, "sales": 19 % 7, "night": 1})
	check("no sample", at(40*time.Hour), at(41*time.Hour), time.Time{}, nil)
	if _, err := r.Latest(context.Background(), at(2*time.Hour), at(time.Hour)); err == nil {
		t.Error("Latest with to before from: no error")
	}
}

// Chunks of the version that kept an hour per chunk (history-hour-*)
// stay readable after an upgrade, and age out as before: compacted into
// their day after a day, with the 10-minute chunks of the same hour.
func TestHourChunksOfTheLastVersionStayReadable(t *testing.T) {
	store := newBytesStore()
	old := newRecorder(store, Options{})
	old.fine = &hourChunks // what the last version wrote
	for m := range 90 {
		record(t, old, at(time.Duration(m)*time.Minute), sampleOf(map[string]int{"sales": m}))
	}
	if n := store.countKeys("history-hour-"); n != 2 {
		t.Fatalf("the last version stored %d hour chunks, want 2: %v", n, store.keys())
	}
	r := newRecorder(store, Options{})
	for m := 90; m < 180; m++ {
		record(t, r, at(time.Duration(m)*time.Minute), sampleOf(map[string]int{"sales": m}))
	}
	got := rangeOf(t, r, []string{"sales"}, at(0), at(3*time.Hour), 0)
	if n := len(got["sales"]); n != 180 {
		t.Fatalf("%d points over 3 hours across the upgrade, want 180: %s", n, availables(got["sales"]))
	}
	for i, p := range got["sales"] {
		if p.At != at(time.Duration(i)*time.Minute) || p.Counts.Available != i {
			t.Fatalf("point %d = %+v", i, p)
		}
	}
	if teams, err := r.Teams(context.Background(), at(0), at(30*time.Minute)); err != nil || len(teams) != 1 || teams[0].Name != "Team sales" {
		t.Errorf("Teams in the old hour = %v, %v", teams, err)
	}
	// A day later, both kinds are compacted into the day, 5 minutes a point.
	for d := 180 * time.Minute; d < 28*time.Hour; d += time.Minute {
		record(t, r, at(d), sampleOf(map[string]int{"sales": int(d / time.Minute)}))
	}
	if n := store.countKeys("history-hour-"); n != 0 {
		t.Errorf("%d old hour chunks left a day later: %v", n, store.keys())
	}
	got = rangeOf(t, r, []string{"sales"}, at(0), at(3*time.Hour-time.Second), 0)
	if n := len(got["sales"]); n != 36 {
		t.Errorf("%d points in the first 3 hours a day later, want 36 (one per 5 minutes): %s", n, availables(got["sales"]))
	}
	for _, k := range store.keys() {
		if k != indexKey && !r.listed(context.Background(), k) {
			t.Errorf("stored key %s is not in the index", k)
		}
	}
}
