package redisstate

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/redistest"
)

// memHomes stands in for bot.MemoryHomeSet: users remembered for ttl on
// an injectable clock.
type memHomes struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	opened map[string]time.Time
}

func newMemHomes(ttl time.Duration, now func() time.Time) *memHomes {
	return &memHomes{ttl: ttl, now: now, opened: map[string]time.Time{}}
}

func (m *memHomes) Opened(_ context.Context, user string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened[user] = m.now()
}

func (m *memHomes) IsOpen(_ context.Context, user string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.opened[user]
	return ok && m.now().Sub(at) < m.ttl
}

func (m *memHomes) Open(ctx context.Context) []string {
	m.mu.Lock()
	var users []string
	for u, at := range m.opened {
		if m.now().Sub(at) < m.ttl {
			users = append(users, u)
		}
	}
	m.mu.Unlock()
	return users
}

// homesClock is a settable clock shared by a test's clients.
type homesClock struct {
	mu  sync.Mutex
	now time.Time
}

func newHomesClock() *homesClock {
	return &homesClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *homesClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *homesClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func sortedOpen(ctx context.Context, h *HomeSet) []string {
	users := h.Open(ctx)
	slices.Sort(users)
	return users
}

// A Home opened through one replica is known to the others.
func TestHomeSetSharedAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	clock := newHomesClock()
	homes := func(prefix string) *HomeSet {
		return open(t, srv, Options{Prefix: prefix, Now: clock.Now}).HomeSet(0, 0, newMemHomes(DefaultHomeTTL, clock.Now))
	}
	a, b, other := homes("bot:"), homes("bot:"), homes("other:")
	a.Opened(bg(t), "U0ALICE")
	b.Opened(bg(t), "U0SUPER")
	for name, h := range map[string]*HomeSet{"A": a, "B": b} {
		if !h.IsOpen(bg(t), "U0ALICE") || !h.IsOpen(bg(t), "U0SUPER") || h.IsOpen(bg(t), "U0NOBODY") {
			t.Errorf("replica %s: IsOpen alice, super, nobody = %v, %v, %v; want true, true, false", name,
				h.IsOpen(bg(t), "U0ALICE"), h.IsOpen(bg(t), "U0SUPER"), h.IsOpen(bg(t), "U0NOBODY"))
		}
		if got := sortedOpen(bg(t), h); !slices.Equal(got, []string{"U0ALICE", "U0SUPER"}) {
			t.Errorf("replica %s: Open = %v, want [U0ALICE U0SUPER]", name, got)
		}
	}
	if other.IsOpen(bg(t), "U0ALICE") || len(other.Open(bg(t))) != 0 {
		t.Error("another prefix sees this bot's Homes")
	}
}

// A Home is remembered for the TTL from its last opening, by score on the
// replicas' clock; the key itself expires after the TTL, and the set never
// holds more than its bound.
func TestHomeSetTTLAndBound(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)
	clock := newHomesClock()
	const ttl = time.Hour
	c := open(t, srv, Options{Prefix: "bot:", Now: clock.Now})
	h := c.HomeSet(ttl, 3, newMemHomes(ttl, clock.Now))
	other := open(t, srv, Options{Prefix: "bot:", Now: clock.Now}).HomeSet(ttl, 3, newMemHomes(ttl, clock.Now))

	h.Opened(bg(t), "U1")
	if pttl, err := rdb.PTTL(bg(t), "bot:homes:opened").Result(); err != nil || pttl <= ttl-time.Minute || pttl > ttl {
		t.Errorf("PTTL = %v, %v; want just under %s", pttl, err, ttl)
	}
	clock.Add(31 * time.Minute)
	h.Opened(bg(t), "U2")
	clock.Add(30 * time.Minute)
	// U1 opened 61 minutes ago: forgotten by every replica; U2 is not.
	if other.IsOpen(bg(t), "U1") || !other.IsOpen(bg(t), "U2") {
		t.Errorf("after U1's TTL: IsOpen U1, U2 = %v, %v; want false, true", other.IsOpen(bg(t), "U1"), other.IsOpen(bg(t), "U2"))
	}
	if got := sortedOpen(bg(t), other); !slices.Equal(got, []string{"U2"}) {
		t.Errorf("Open after U1's TTL = %v, want [U2]", got)
	}

	// Bounded: the newest three are kept, and what expired is dropped.
	for _, u := range []string{"U3", "U4", "U5"} {
		clock.Add(time.Second)
		h.Opened(bg(t), u)
	}
	if n, err := rdb.ZCard(bg(t), "bot:homes:opened").Result(); err != nil || n != 3 {
		t.Errorf("ZCARD = %d, %v; want 3", n, err)
	}
	if got := sortedOpen(bg(t), other); !slices.Equal(got, []string{"U3", "U4", "U5"}) {
		t.Errorf("Open of a full set = %v, want the newest three [U3 U4 U5]", got)
	}
}

// Redis down or slow: the HomeSet answers from local memory within the
// timeout, counted as fallbacks; once Redis is back what this replica saw
// during the outage (which Redis, perhaps restarted empty, never heard
// of) is still known, alongside what is shared.
func TestHomeSetRedisDownOrSlow(t *testing.T) {
	tests := []struct {
		name       string
		fail, mend func(*redistest.Server)
	}{
		{"stopped", (*redistest.Server).Stop, (*redistest.Server).Restart},
		{"paused", (*redistest.Server).Pause, (*redistest.Server).Resume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			clock := newHomesClock()
			var hk hooks
			o := Options{Prefix: "bot:", Timeout: quickTimeout, Now: clock.Now}
			hk.install(&o)
			a := open(t, srv, o)
			b := open(t, srv, Options{Prefix: "bot:", Timeout: quickTimeout, Now: clock.Now})
			ha := a.HomeSet(0, 0, newMemHomes(DefaultHomeTTL, clock.Now))
			hb := b.HomeSet(0, 0, newMemHomes(DefaultHomeTTL, clock.Now))

			tc.fail(srv)
			within(t, 2*quickTimeout, "Opened with Redis failing", func() { ha.Opened(bg(t), "U0ALICE") })
			within(t, 2*quickTimeout, "IsOpen with Redis failing", func() {
				if !ha.IsOpen(bg(t), "U0ALICE") {
					t.Error("IsOpen with Redis failing: got false, want true (local memory)")
				}
			})
			within(t, 2*quickTimeout, "Open with Redis failing", func() {
				if got := ha.Open(bg(t)); !slices.Equal(got, []string{"U0ALICE"}) {
					t.Errorf("Open with Redis failing = %v, want [U0ALICE] (local memory)", got)
				}
			})
			if got := hk.Fallbacks(OpHomes); got < 1 {
				t.Errorf("homes fallbacks counted %d, want at least 1", got)
			}

			tc.mend(srv)
			waitHealthy(t, a, b)
			hb.Opened(bg(t), "U0SUPER")
			if !ha.IsOpen(bg(t), "U0SUPER") {
				t.Error("after recovery: a Home opened on B is not known on A")
			}
			if !ha.IsOpen(bg(t), "U0ALICE") {
				t.Error("after recovery: the Home A saw opened during the outage is forgotten")
			}
			if got := sortedOpen(bg(t), ha); !slices.Equal(got, []string{"U0ALICE", "U0SUPER"}) {
				t.Errorf("Open after recovery = %v, want [U0ALICE U0SUPER]", got)
			}
		})
	}
}
