package redisstate

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/state"
	"github.com/presencebot/presence-bot/state/statetest"
)

// The same contract as the file and memory stores; each subtest gets a
// prefix of its own, so an empty store.
func TestStoreContract(t *testing.T) {
	srv := redistest.Start(t)
	statetest.Run(t, func(t *testing.T) state.Store { return open(t, srv, Options{}).Store() })
}

// rawClient reads Redis behind the package's back.
func rawClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestStoreKeysAndSharing(t *testing.T) {
	srv := redistest.Start(t)
	replicaA := open(t, srv, Options{Prefix: "bot:"}).Store()
	replicaB := open(t, srv, Options{Prefix: "bot:"}).Store()
	otherBot := open(t, srv, Options{Prefix: "other:"}).Store()
	rdb := rawClient(t, srv)

	if err := replicaA.Save(bg(t), "alerts", map[string]int{"total": 3}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// One JSON string under Prefix+"state:"+key, without expiry.
	if got, err := rdb.Get(bg(t), "bot:state:alerts").Result(); err != nil || got != `{"total":3}` {
		t.Errorf("raw value = %q, %v; want {\"total\":3}", got, err)
	}
	if ttl, err := rdb.PTTL(bg(t), "bot:state:alerts").Result(); err != nil || ttl != -1 {
		t.Errorf("PTTL = %v, %v; want -1 (state never expires)", ttl, err)
	}
	// Another replica with the same prefix sees it; another bot does not.
	var got map[string]int
	if found, err := replicaB.Load(bg(t), "alerts", &got); err != nil || !found || got["total"] != 3 {
		t.Errorf("replica B Load = %v, %v, %v; want map[total:3], true, nil", got, found, err)
	}
	if found, err := otherBot.Load(bg(t), "alerts", &got); err != nil || found {
		t.Errorf("other prefix Load = %v, %v; want false, nil", found, err)
	}
	// A value some other writer left broken is ErrCorrupt, not a failure
	// of Redis.
	if err := rdb.Set(bg(t), "bot:state:broken", "{", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := replicaA.Load(bg(t), "broken", &got); !errors.Is(err, state.ErrCorrupt) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Load of a broken value: got %v, want ErrCorrupt only", err)
	}
}

func TestStoreRedisDownOrSlow(t *testing.T) {
	tests := []struct {
		name        string
		fail, mend  func(*redistest.Server)
		firstWithin time.Duration // the call that finds out
	}{
		// Down: the connection is refused at once.
		{"stopped", (*redistest.Server).Stop, (*redistest.Server).Restart, 2 * quickTimeout},
		// Slow: Redis accepts but never answers; the timeout ends the wait.
		{"paused", (*redistest.Server).Pause, (*redistest.Server).Resume, 2 * quickTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			var h hooks
			o := Options{Timeout: quickTimeout, ProbeInterval: time.Hour} // no probe: the call finds out
			h.install(&o)
			s := open(t, srv, o).Store()
			if err := s.Save(bg(t), "k", 1); err != nil {
				t.Fatalf("Save with Redis up: %v", err)
			}

			tc.fail(srv)
			var v int
			within(t, tc.firstWithin, "first Load after Redis failed", func() {
				if _, err := s.Load(bg(t), "k", &v); !errors.Is(err, ErrUnavailable) {
					t.Errorf("Load: got %v, want ErrUnavailable", err)
				}
			})
			// Known down: later calls do not wait at all.
			within(t, 20*time.Millisecond, "Save while degraded", func() {
				if err := s.Save(bg(t), "k", 2); !errors.Is(err, ErrUnavailable) {
					t.Errorf("Save: got %v, want ErrUnavailable", err)
				}
			})
			if got := h.Fallbacks(OpStore); got != 2 {
				t.Errorf("store fallbacks counted %d, want 2", got)
			}
			tc.mend(srv)
		})
	}
}

func TestStoreRecoversWhenRedisReturns(t *testing.T) {
	srv := redistest.Start(t)
	c := open(t, srv, Options{Timeout: quickTimeout})
	s := c.Store()
	srv.Stop()
	if err := s.Save(bg(t), "k", 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Save with Redis down: got %v, want ErrUnavailable", err)
	}
	srv.Restart()
	waitHealthy(t, c)
	if err := s.Save(bg(t), "k", 2); err != nil {
		t.Fatalf("Save after Redis returned: %v", err)
	}
	var v int
	if found, err := s.Load(bg(t), "k", &v); err != nil || !found || v != 2 {
		t.Errorf("Load after Redis returned = %d, %v, %v; want 2, true, nil", v, found, err)
	}
}
