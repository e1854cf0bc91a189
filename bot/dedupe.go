package bot

import (
	"context"
	"sync"
	"time"
)

// Deduper remembers deliveries, so an envelope Slack sends again (on this
// connection or another) is acknowledged but not executed twice.
type Deduper interface {
	// FirstDelivery reports whether key is new, and records it.
	FirstDelivery(ctx context.Context, key string) bool
}

// MemoryDeduper remembers keys in memory for a while. It is the dedupe of
// a single instance, and the fallback when shared state is unreachable.
type MemoryDeduper struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // key → when it may be forgotten
	next time.Time            // when to sweep expired keys next
}

// NewMemoryDeduper remembers each key for ttl; Slack redelivers within
// minutes, so a ttl of about ten minutes is plenty.
func NewMemoryDeduper(ttl time.Duration, now func() time.Time) *MemoryDeduper {
	if now == nil {
		now = time.Now
	}
	return &MemoryDeduper{ttl: ttl, now: now, seen: map[string]time.Time{}}
}

// FirstDelivery implements Deduper.
func (d *MemoryDeduper) FirstDelivery(_ context.Context, key string) bool {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.After(d.next) {
		// Sweep in passing, at most once per ttl, so memory stays bounded
		// by what arrives in two ttls.
		for k, exp := range d.seen {
			if now.After(exp) {
				delete(d.seen, k)
			}
		}
		d.next = now.Add(d.ttl)
	}
	if exp, ok := d.seen[key]; ok && !now.After(exp) {
		return false
	}
	d.seen[key] = now.Add(d.ttl)
	return true
}
