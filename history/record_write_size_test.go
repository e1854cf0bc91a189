package history

import (
	"testing"
	"time"
)

// maxRecordWrite bounds what one Record writes (a state.Store Update
// rewrites the whole value): well under what Redis moves in REDIS_TIMEOUT.
const maxRecordWrite = 64 << 10

// A Record rewrites its chunk in full, so the chunk a tick writes stays
// small at MaxTeams teams whose every count moves every minute (the
// worst case): the largest write over two hours, across chunk boundaries.
func TestRecordWriteIsBoundedAtMaxTeams(t *testing.T) {
	store := newBytesStore()
	r := New(store, Options{}, nil)
	c := newChurn(MaxTeams)
	for tick := day0; tick.Before(day0.Add(2 * time.Hour)); tick = tick.Add(time.Minute) {
		record(t, r, tick, c.next())
	}
	largest := 0
	for kind, n := range store.largest {
		t.Logf("largest %s write for %d teams: %.1f KB", kind, MaxTeams, float64(n)/1024)
		largest = max(largest, n)
	}
	if largest > maxRecordWrite {
		t.Errorf("a Record wrote %d bytes at once, want at most %d", largest, maxRecordWrite)
	}
}
