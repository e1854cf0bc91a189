package redisstate

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/internal/redistest"
)

// Every Client is closed and every scheduler stopped by the test that
// made it. go-redis re-dials a pool whose dials all failed from a
// goroutine that notices Close only after its one-second sleep.
// go-redis's own log lines (a failed dial each) are kept out of the test
// output, as main keeps them out of the bot's.
func TestMain(m *testing.M) {
	redis.SetLogger(NewGoRedisLogger(slog.New(slog.DiscardHandler)))
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// Timeouts in tests. quickTimeout is short enough for the tests that wait
// it out (Redis paused); testTimeout is generous, so that a loaded CI
// machine does not make a healthy Redis look slow.
const (
	quickTimeout = 150 * time.Millisecond
	testTimeout  = time.Second
	// recoverWithin bounds how long a Client may take to notice that Redis
	// is back: a probe, plus go-redis's own re-dial, which sleeps a second
	// between attempts once every dial of the pool has failed.
	recoverWithin = 5 * time.Second
)

// hooks records what a Client reports through its Options hooks.
type hooks struct {
	mu        sync.Mutex
	states    []bool
	fallbacks map[string]int
}

func (h *hooks) install(o *Options) {
	o.OnStateChange = func(up bool) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.states = append(h.states, up)
	}
	o.OnFallback = func(op string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.fallbacks == nil {
			h.fallbacks = map[string]int{}
		}
		h.fallbacks[op]++
	}
}

func (h *hooks) States() []bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.states)
}

func (h *hooks) Fallbacks(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fallbacks[op]
}

// open opens a Client on srv with test defaults (fast probe, generous
// timeout, a prefix of the test's own) and closes it at cleanup.
func open(t testing.TB, srv *redistest.Server, o Options) *Client {
	t.Helper()
	if o.URL == "" {
		o.URL = srv.URL()
	}
	if o.Timeout == 0 {
		o.Timeout = testTimeout
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 10 * time.Millisecond
	}
	if o.Prefix == "" {
		o.Prefix = "test:" + t.Name() + ":"
	}
	c, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// waitHealthy waits (in real time: it is Redis coming back) until every
// client reports Redis up.
func waitHealthy(t testing.TB, clients ...*Client) {
	t.Helper()
	deadline := time.Now().Add(recoverWithin)
	for _, c := range clients {
		for !c.Healthy() {
			if time.Now().After(deadline) {
				t.Fatalf("client still degraded %s after Redis came back", recoverWithin)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// within fails the test when fn takes longer than limit, and returns what
// it took.
func within(t testing.TB, limit time.Duration, what string, fn func()) time.Duration {
	t.Helper()
	start := time.Now()
	fn()
	took := time.Since(start)
	if took > limit {
		t.Errorf("%s took %s, want at most %s", what, took, limit)
	}
	return took
}

func bg(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// memDedupe stands in for bot.MemoryDeduper (this package does not import
// the Slack adapter): keys remembered for ttl on an injectable clock.
type memDedupe struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemDedupe(ttl time.Duration, now func() time.Time) *memDedupe {
	if now == nil {
		now = time.Now
	}
	return &memDedupe{ttl: ttl, now: now, seen: map[string]time.Time{}}
}

func (m *memDedupe) FirstDelivery(_ context.Context, key string) bool {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.seen[key]; ok && !now.After(exp) {
		return false
	}
	m.seen[key] = now.Add(m.ttl)
	return true
}
