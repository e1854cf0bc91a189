package presence

import (
	"context"
	"sync"
	"time"
)

// WithBudgetExemptTimeout is context.WithTimeout for a command, except
// that the time its status change spends waiting for the API budget does
// not count: the deadline stops while a write waits for a token, and
// runs again once it is through. A burst of changes at the budget's rate
// takes longer than any command's deadline, and each change must still
// be made and answered (response_url lives 30 minutes); the budget bounds
// such a wait on its own. The parent's cancellation (shutdown) and
// deadline still end it.
func WithBudgetExemptTimeout(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return newExemptTimeout(parent, timeout, false)
}

// withFetchTimeout is WithBudgetExemptTimeout for a roster fetch: reads
// too are held while they wait for the budget. The fetch is shared by all
// its readers (each stops waiting at its own deadline), and a roster of
// 200 pages read at the budget's rate takes longer than any fixed bound:
// what the timeout bounds is the contact center's own slowness.
func withFetchTimeout(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return newExemptTimeout(parent, timeout, true)
}

func newExemptTimeout(parent context.Context, timeout time.Duration, reads bool) (context.Context, context.CancelFunc) {
	c := &exemptCtx{
		reads: reads,
		// Values come from parent, but not its cancelCtx: context.Cause
		// must read this context's own error.
		values:   context.WithoutCancel(parent),
		deadline: time.Now().Add(timeout),
		done:     make(chan struct{}),
		after:    map[*func()]struct{}{},
	}
	// Under the lock, so that neither can fire before both are set.
	c.mu.Lock()
	c.timer = time.AfterFunc(timeout, c.expire)
	c.stopParent = context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	c.mu.Unlock()
	return c, func() { c.cancel(context.Canceled) }
}

type exemptKey struct{}

// exemptCtx is a context whose deadline can be held. It implements
// AfterFunc, so contexts derived from it need no goroutine each.
type exemptCtx struct {
	values context.Context
	// reads: a read's wait for the budget holds the deadline too, not
	// only a write's.
	reads bool

	mu         sync.Mutex
	stopParent func() bool
	deadline   time.Time
	timer      *time.Timer
	holds      int
	heldAt     time.Time
	done       chan struct{}
	err        error
	after      map[*func()]struct{}
}

func (c *exemptCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds > 0 {
		return c.deadline.Add(time.Since(c.heldAt)), true
	}
	return c.deadline, true
}

func (c *exemptCtx) Done() <-chan struct{} { return c.done }

func (c *exemptCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *exemptCtx) Value(key any) any {
	if key == (exemptKey{}) {
		return c
	}
	return c.values.Value(key)
}

func (c *exemptCtx) String() string { return "presence.WithBudgetExemptTimeout" }

// AfterFunc runs f (in its own goroutine) once c is done, as
// context.AfterFunc does; the function returned unregisters it.
func (c *exemptCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	key := &f
	c.after[key] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.after[key]
		delete(c.after, key)
		return ok
	}
}

// expire ends c at its deadline, unless the deadline is held or moved
// since the timer was set.
func (c *exemptCtx) expire() {
	c.mu.Lock()
	if c.holds > 0 || time.Now().Before(c.deadline) {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.cancel(context.DeadlineExceeded)
}

func (c *exemptCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	c.timer.Stop()
	after := c.after
	c.after = nil
	stop := c.stopParent
	c.mu.Unlock()
	stop()
	for f := range after {
		go (*f)()
	}
}

// hold stops the deadline until release.
func (c *exemptCtx) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds++
	if c.holds == 1 {
		c.heldAt = time.Now()
		c.timer.Stop()
	}
}

// release lets the deadline run again, moved by the time it was held.
func (c *exemptCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds--
	if c.holds > 0 || c.err != nil {
		return
	}
	c.deadline = c.deadline.Add(time.Since(c.heldAt))
	c.timer.Reset(time.Until(c.deadline))
}

// exemptOf returns the exempt context whose deadline is ctx's, or nil:
// a deadline set below it (a shorter timeout) is not exempt.
func exemptOf(ctx context.Context) *exemptCtx {
	c, ok := ctx.Value(exemptKey{}).(*exemptCtx)
	if !ok {
		return nil
	}
	mine, ok1 := ctx.Deadline()
	its, ok2 := c.Deadline()
	if !ok1 || !ok2 {
		return nil
	}
	// Read a moment apart: equal but for that moment is the same deadline.
	if d := mine.Sub(its); d < -time.Millisecond || d > time.Millisecond {
		return nil
	}
	return c
}
