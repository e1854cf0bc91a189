package history

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// valueStore is a state.Store that keeps chunks as Go values, copied, and
// every other value JSON-encoded: the same values a JSON store holds,
// without encoding a chunk on every Record, so recording 8 days stays
// quick under -race. size encodes each value once, as a store would.
type valueStore struct {
	mu     sync.Mutex
	values map[string]any
}

func newValueStore() *valueStore { return &valueStore{values: make(map[string]any)} }

func copyChunk(c storedChunk) storedChunk {
	c.Teams, c.Names = slices.Clone(c.Teams), slices.Clone(c.Names)
	c.Data, c.Tail = slices.Clone(c.Data), slices.Clone(c.Tail)
	return c
}

func (s *valueStore) put(key string, v any) error {
	if c, ok := v.(*storedChunk); ok {
		s.values[key] = copyChunk(*c)
		return nil
	}
	data, err := json.Marshal(v)
	s.values[key] = json.RawMessage(data)
	return err
}

func (s *valueStore) get(key string, v any) (bool, error) {
	stored, ok := s.values[key]
	if !ok {
		return false, nil
	}
	if c, isChunk := stored.(storedChunk); isChunk {
		switch v := v.(type) {
		case *storedChunk:
			*v = copyChunk(c)
			return true, nil
		case *chunkHeader:
			// What decoding the JSON into a header keeps.
			*v = chunkHeader{V: c.V, Start: c.Start, Step: c.Step, Teams: slices.Clone(c.Teams), Names: slices.Clone(c.Names), Last: c.Last}
			return true, nil
		}
	}
	return true, json.Unmarshal(stored.(json.RawMessage), v)
}

func (s *valueStore) Load(_ context.Context, key string, v any) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(key, v)
}

func (s *valueStore) Save(_ context.Context, key string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(key, v)
}

func (s *valueStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, key)
	return nil
}

func (s *valueStore) Update(_ context.Context, key string, v any, change func(bool) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, err := s.get(key, v)
	if err != nil {
		return err
	}
	save, err := change(found)
	if err != nil || !save {
		return err
	}
	return s.put(key, v)
}

// size is the sum of the values' bytes, JSON-encoded, and the bytes by
// kind of key (hour, day, …).
func (s *valueStore) size(t testing.TB) (keys, bytes int, byKind map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byKind = make(map[string]int)
	for k, v := range s.values {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		bytes += len(data)
		byKind[kind(k)] += len(data)
	}
	return len(s.values), bytes, byKind
}

// maxStored is the bound the issue asks for 100 teams over 8 days: "a
// few MB".
const maxStored = 5 << 20

// churn is a floor whose counts move every minute: each team's counts
// take a random step each sample, a worse case for the deltas than a
// real floor, where most teams' counts hold for minutes.
type churn struct {
	rng   *rand.Rand
	names map[string]string
	teams map[string]Counts
}

func newChurn(teams int) *churn {
	c := &churn{rng: rand.New(rand.NewPCG(1, 2)), names: make(map[string]string), teams: make(map[string]Counts)}
	for i := range teams {
		id := fmt.Sprintf("team_%03d", i)
		c.names[id] = fmt.Sprintf("Team number %d", i)
		c.teams[id] = Counts{Available: 5, OnCall: 10, AfterCallWork: 3, Busy: 2, Offline: 30}
	}
	return c
}

func (c *churn) step(v int) int { return max(0, v+c.rng.IntN(5)-2) }

// next moves every count and returns the sample, with the floor.
func (c *churn) next() Sample {
	s := Sample{Teams: make(map[string]Counts, len(c.teams)+1), Names: c.names}
	var floor Counts
	for id, t := range c.teams {
		t = Counts{c.step(t.Available), c.step(t.OnCall), c.step(t.AfterCallWork), c.step(t.Busy), c.step(t.Offline)}
		c.teams[id] = t
		s.Teams[id] = t
		floor = Counts{floor.Available + t.Available, floor.OnCall + t.OnCall, floor.AfterCallWork + t.AfterCallWork,
			floor.Busy + t.Busy, floor.Offline + t.Offline}
	}
	s.Teams[""] = floor
	return s
}

// 100 teams recorded every minute for 8 days (the default retention)
// stay a few MB in the store: what a Redis or STATE_DIR holds.
func TestStoredSizeIsBounded(t *testing.T) {
	days := 8
	if testing.Short() {
		days = 2
	}
	store := newValueStore()
	r := New(store, Options{}, nil)
	c := newChurn(100)
	start := day0
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	for tick := start; tick.Before(end); tick = tick.Add(time.Minute) {
		record(t, r, tick, c.next())
	}
	keys, size, byKind := store.size(t)
	t.Logf("100 teams, %d days at 1-minute resolution: %d keys, %.2f MB stored (hours %.2f MB, days %.2f MB)",
		days, keys, float64(size)/(1<<20), float64(byKind["history-hour"])/(1<<20), float64(byKind["history-day"])/(1<<20))
	if size > maxStored {
		t.Errorf("stored %d bytes, want at most %d", size, maxStored)
	}
	// And it all reads back: the last day minute by minute, the first
	// hours (more than a day old) every 5 minutes.
	last := rangeOf(t, r, []string{"team_042"}, end.Add(-24*time.Hour), end, 0)
	if n := len(last["team_042"]); n != 24*60 {
		t.Errorf("the last day has %d points, want %d", n, 24*60)
	}
	first := rangeOf(t, r, []string{""}, start, start.Add(12*time.Hour-time.Second), 0)
	if n := len(first[""]); n != 12*12 {
		t.Errorf("the first 12 hours have %d floor points, want %d", n, 12*12)
	}
}

// BenchmarkRecord100Teams is the cost of one tick's Record for 100 teams,
// mid-hour (a chunk half full), against an in-memory store.
func BenchmarkRecord100Teams(b *testing.B) {
	store := newBytesStore()
	r := newRecorder(store, Options{})
	c := newChurn(100)
	samples := make([]Sample, 64)
	for i := range samples {
		samples[i] = c.next()
	}
	tick := day0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		record(b, r, tick, samples[i%len(samples)])
		tick = tick.Add(time.Minute)
	}
}
