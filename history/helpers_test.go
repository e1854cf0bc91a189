package history

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// bytesStore is a state.Store over a map of encoded values, so a test can
// sum what is stored and see every key, listed or not. Update holds the
// lock across change, so it is atomic as the real stores are.
type bytesStore struct {
	mu     sync.Mutex
	values map[string][]byte
	// updates counts the Updates and Saves by key prefix (up to the
	// second '-'), for the cost of a Record.
	writes map[string]int
	// largest is the largest value written, by the same prefix.
	largest map[string]int
}

func newBytesStore() *bytesStore {
	return &bytesStore{values: make(map[string][]byte), writes: make(map[string]int), largest: make(map[string]int)}
}

func (s *bytesStore) Load(ctx context.Context, key string, v any) (bool, error) {
	s.mu.Lock()
	data, ok := s.values[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("load %q: %w: %w", key, state.ErrCorrupt, err)
	}
	return true, nil
}

func (s *bytesStore) Save(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = data
	s.writes[kind(key)]++
	s.largest[kind(key)] = max(s.largest[kind(key)], len(data))
	return nil
}

func (s *bytesStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, key)
	return nil
}

func (s *bytesStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, found := s.values[key]
	if found {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("update %q: %w: %w", key, state.ErrCorrupt, err)
		}
	}
	save, err := change(found)
	if err != nil || !save {
		return err
	}
	if data, err = json.Marshal(v); err != nil {
		return err
	}
	s.values[key] = data
	s.writes[kind(key)]++
	s.largest[kind(key)] = max(s.largest[kind(key)], len(data))
	return nil
}

// kind is a key without its time: "history-hour", "history-index".
func kind(key string) string {
	parts := strings.SplitN(key, "-", 3)
	return strings.Join(parts[:min(2, len(parts))], "-")
}

// size is the sum of the stored values' bytes.
func (s *bytesStore) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.values {
		n += len(v)
	}
	return n
}

// keys lists the stored keys, sorted.
func (s *bytesStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.values))
}

// countKeys counts the stored keys with prefix.
func (s *bytesStore) countKeys(prefix string) int {
	n := 0
	for _, k := range s.keys() {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func (s *bytesStore) resetWrites() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.writes)
}

// day0 is the test's first day: a Monday, at midnight UTC.
var day0 = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// at is day0 plus d.
func at(d time.Duration) time.Time { return day0.Add(d) }

// sampleOf builds a sample: available count per team ID, the rest fixed
// from it, so each value is told apart.
func sampleOf(avail map[string]int) Sample {
	s := Sample{Teams: make(map[string]Counts), Names: make(map[string]string)}
	for id, n := range avail {
		s.Teams[id] = Counts{Available: n, OnCall: n + 1, AfterCallWork: n + 2, Busy: n + 3, Offline: n + 4}
		if id != "" {
			s.Names[id] = "Team " + id
		}
	}
	return s
}

func record(t testing.TB, r *Recorder, when time.Time, s Sample) {
	t.Helper()
	if err := r.Record(context.Background(), when, s); err != nil {
		t.Fatalf("Record(%s): %v", when.Format(time.RFC3339), err)
	}
}

func rangeOf(t testing.TB, r *Recorder, teams []string, from, to time.Time, step time.Duration) map[string][]Point {
	t.Helper()
	got, err := r.Range(context.Background(), teams, from, to, step)
	if err != nil {
		t.Fatalf("Range: %v", err)
	}
	return got
}

// availables lists the points' times (as offsets from day0) and
// available counts, for short failure messages.
func availables(ps []Point) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", p.At.Sub(day0), p.Counts.Available)
	}
	return b.String()
}

// listed reports whether the index lists the chunk stored under key.
func (r *Recorder) listed(ctx context.Context, key string) bool {
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return false
	}
	for _, lists := range []struct {
		starts []int64
		key    func(time.Time) string
	}{{idx.Recent, recentKey}, {idx.Hours, hourKey}, {idx.Days, dayKey}, {idx.Alerts, alertKey}} {
		for _, s := range lists.starts {
			if lists.key(time.Unix(s, 0)) == key {
				return true
			}
		}
	}
	return false
}
