package redisstate

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/redistest"
)

func TestDedupeAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := []*Deduper{
		open(t, srv, Options{Prefix: "bot:"}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)),
		open(t, srv, Options{Prefix: "bot:"}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)),
	}
	other := open(t, srv, Options{Prefix: "other:"}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil))
	steps := []struct {
		replica int // -1: a bot with another prefix
		key     string
		want    bool
	}{
		{0, "env-1", true},   // a first delivery runs
		{0, "env-1", false},  // a redelivery to the same replica does not
		{1, "env-1", false},  // nor a redelivery to another replica
		{1, "env-2", true},   // another envelope is independent
		{0, "env-2", false},  // and shared the other way round
		{-1, "env-1", true},  // another bot's prefix is another namespace
		{-1, "env-1", false}, // which dedupes too
	}
	for i, st := range steps {
		d := other
		if st.replica >= 0 {
			d = replicas[st.replica]
		}
		if got := d.FirstDelivery(bg(t), st.key); got != st.want {
			t.Errorf("step %d: replica %d FirstDelivery(%q) = %v, want %v", i, st.replica, st.key, got, st.want)
		}
	}
}

func TestDedupeConcurrentReplicasRunOnce(t *testing.T) {
	srv := redistest.Start(t)
	const replicas, keys = 4, 50
	var wg sync.WaitGroup
	firsts := make([]int, keys)
	var mu sync.Mutex
	for range replicas {
		d := open(t, srv, Options{Prefix: "bot:"}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil))
		wg.Go(func() {
			for k := range keys {
				if d.FirstDelivery(context.Background(), "env-"+strconv.Itoa(k)) {
					mu.Lock()
					firsts[k]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for k, n := range firsts {
		if n != 1 {
			t.Errorf("env-%d ran on %d replicas, want 1", k, n)
		}
	}
}

func TestDedupeTTL(t *testing.T) {
	srv := redistest.Start(t)
	rdb := rawClient(t, srv)

	// The default TTL is set on the key.
	d := open(t, srv, Options{Prefix: "bot:"}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil))
	d.FirstDelivery(bg(t), "env-1")
	if ttl, err := rdb.PTTL(bg(t), "bot:dedupe:env-1").Result(); err != nil || ttl <= DefaultDedupeTTL-time.Minute || ttl > DefaultDedupeTTL {
		t.Errorf("PTTL = %v, %v; want just under %s", ttl, err, DefaultDedupeTTL)
	}

	// A key is forgotten after its TTL, by Redis (its own clock: a real
	// wait of a few milliseconds) and by the local memory (a fake clock).
	var mu sync.Mutex
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	fakeNow := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	const ttl = 20 * time.Millisecond
	short := open(t, srv, Options{Prefix: "short:"}).Deduper(ttl, newMemDedupe(ttl, fakeNow))
	if !short.FirstDelivery(bg(t), "env-2") || short.FirstDelivery(bg(t), "env-2") {
		t.Fatal("first and second delivery: want true, then false")
	}
	deadline := time.Now().Add(2 * time.Second)
	for rdb.Exists(bg(t), "short:dedupe:env-2").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatalf("key still in Redis 2s after its %s TTL", ttl)
		}
		time.Sleep(time.Millisecond)
	}
	if short.FirstDelivery(bg(t), "env-2") {
		t.Error("after Redis forgot the key but memory did not: got true, want false")
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	rdb.Del(bg(t), "short:dedupe:env-2") // the check just above set it again
	if !short.FirstDelivery(bg(t), "env-2") {
		t.Error("after both forgot the key: got false, want true")
	}
}

func TestDedupeRedisDownOrSlow(t *testing.T) {
	tests := []struct {
		name       string
		fail, mend func(*redistest.Server)
	}{
		// Down: the connection is refused.
		{"stopped", (*redistest.Server).Stop, (*redistest.Server).Restart},
		// Slow: Redis accepts but never answers.
		{"paused", (*redistest.Server).Pause, (*redistest.Server).Resume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			var h hooks
			o := Options{Prefix: "bot:", Timeout: quickTimeout}
			h.install(&o)
			a := open(t, srv, o)
			b := open(t, srv, Options{Prefix: "bot:", Timeout: quickTimeout})
			da, db := a.Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)), b.Deduper(0, newMemDedupe(DefaultDedupeTTL, nil))

			tc.fail(srv)
			within(t, 2*quickTimeout, "first delivery with Redis failing", func() {
				if !da.FirstDelivery(bg(t), "env-1") {
					t.Error("first delivery with Redis failing: got false, want true (never dropped)")
				}
			})
			within(t, 2*quickTimeout, "redelivery with Redis failing", func() {
				if da.FirstDelivery(bg(t), "env-1") {
					t.Error("redelivery to the same replica: got true, want false (local memory)")
				}
			})
			if a.Healthy() {
				t.Error("Healthy after Redis failed a call: got true, want false")
			}
			if got := h.Fallbacks(OpDedupe); got != 2 {
				t.Errorf("dedupe fallbacks counted %d, want 2", got)
			}

			tc.mend(srv)
			waitHealthy(t, a, b)
			// Shared again.
			if !da.FirstDelivery(bg(t), "env-2") || db.FirstDelivery(bg(t), "env-2") {
				t.Error("after recovery: want env-2 first on A and a duplicate on B")
			}
			// What A ran during the outage (which Redis never saw, or
			// lost in a restart) is still not run again by A.
			if da.FirstDelivery(bg(t), "env-1") {
				t.Error("redelivery to A of what it ran during the outage: got true, want false")
			}
		})
	}
}

func TestDedupeCallerCancelIsNotAnOutage(t *testing.T) {
	srv := redistest.Start(t)
	var h hooks
	var o Options
	h.install(&o)
	c := open(t, srv, o)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if !c.Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)).FirstDelivery(ctx, "env-1") {
		t.Error("first delivery with a cancelled context: got false, want true")
	}
	if !c.Healthy() || h.Fallbacks(OpDedupe) != 0 {
		t.Errorf("after a cancelled call: Healthy %v, fallbacks %d; want true, 0", c.Healthy(), h.Fallbacks(OpDedupe))
	}
}

// BenchmarkDedupe measures one duplicate-delivery check per command: the
// local memory alone (a single instance) and the Redis path (a round trip
// to a local redis-server plus the memory). The difference is the latency
// Redis adds to each command.
func BenchmarkDedupe(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		benchDedupe(b, newMemDedupe(DefaultDedupeTTL, nil))
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		benchDedupe(b, open(b, srv, Options{Timeout: testTimeout}).Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)))
	})
}

func benchDedupe(b *testing.B, d LocalDeduper) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !d.FirstDelivery(ctx, "env-"+strconv.Itoa(i)) {
			b.Fatalf("a new key was taken for a duplicate")
		}
		i++
	}
}

func TestDedupeWithoutLocalNeverDrops(t *testing.T) {
	srv := redistest.Start(t)
	d := open(t, srv, Options{Timeout: quickTimeout}).Deduper(0, nil)
	srv.Stop()
	for i := range 2 {
		if !d.FirstDelivery(bg(t), "env-1") {
			t.Errorf("delivery %d with Redis down and no local deduper: got false, want true", i+1)
		}
	}
}
