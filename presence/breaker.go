package presence

import (
	"sync"
	"time"
)

// breaker makes calls fail fast for a while after repeated failures, so a
// sustained outage does not pile up requests, then lets one probe through.
type breaker struct {
	threshold int           // consecutive failures that open it
	cooldown  time.Duration // how long it stays open before a probe
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

// allow reports whether a call may go out. While open it says no; once the
// cooldown has passed it lets exactly one probe through until that probe
// reports back.
func (b *breaker) allow() bool {
	if b == nil || b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	if b.now().Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

// record reports a call's outcome. Only failures of the service count:
// a 404 or an invalid transition is the service working.
func (b *breaker) record(failed bool) {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
	}
}

// release ends a call that says nothing about the service, such as one its
// caller gave up on, without changing the count.
func (b *breaker) release() {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
