package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/internal/redistest"
)

// Through Sentinel, check says which master the sentinels name and how
// many of them answered, warns about those that did not, and fails with a
// hint on a master name they do not know or on a URL of the wrong form.
func TestCheckRedisSentinel(t *testing.T) {
	w := newCheckWorld(t)
	s := redistest.StartSentinel(t)
	master, err := s.MasterAddr()
	if err != nil {
		t.Fatal(err)
	}
	addrs := s.Sentinels[0].Addr + "," + s.Sentinels[1].Addr + "," + s.Sentinels[2].Addr
	shown := "redis-sentinel://" + addrs + "/" + s.Name

	t.Run("reached", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", s.URL()))
		if err != nil {
			t.Fatalf("Check = %v:\n%s", err, out)
		}
		contains(t, out, "ok      redis            "+shown+" (Sentinel: master mymaster at "+master+" via 3 sentinels): Redis 7.",
			"role master", "replicas via Redis ("+shown+", Sentinel)")
		lacks(t, out, "WARNING redis")
	})

	t.Run("no such master", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", "redis-sentinel://"+addrs+"/nosuch"))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", `no master named "nosuch"`, "hint: REDIS_URL's path is the master's name")
	})

	t.Run("a server, not a sentinel", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", "redis-sentinel://"+master+"/mymaster"))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "hint: "+master+" is not a Sentinel")
	})

	t.Run("a sentinel as one server", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", "redis://"+s.Sentinels[0].Addr+"/0"))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "a Sentinel", "hint: write REDIS_URL as redis-sentinel://")
	})

	t.Run("a sentinel down", func(t *testing.T) {
		s.Sentinels[2].Stop()
		out, err := w.check(t, w.env("REDIS_URL", s.URL()))
		if err != nil {
			t.Fatalf("Check = %v:\n%s", err, out)
		}
		contains(t, out, "(Sentinel: master mymaster at "+master+" via 2 sentinels)",
			"WARNING redis            1 of 3 sentinels did not answer: "+s.Sentinels[2].Addr, "hint: a failover needs a majority")
	})
}

// A cluster: check says how many nodes it has and that the keys share a
// hash tag; a cluster node given as one server fails with a hint.
func TestCheckRedisCluster(t *testing.T) {
	w := newCheckWorld(t)
	c := redistest.StartCluster(t, 3)
	shown := c.URL()

	out, err := w.check(t, w.env("REDIS_URL", c.URL()))
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "ok      redis            "+shown+" (cluster of 3 nodes): Redis 7.", "keys under {presence-bot}:",
		"replicas via Redis ("+shown+", cluster)")

	out, err = w.check(t, w.env("REDIS_URL", c.Nodes[0].URL()))
	if !errors.Is(err, app.ErrCheckFailed) {
		t.Errorf("Check = %v, want ErrCheckFailed", err)
	}
	contains(t, out, "FAILED  redis ", "a Redis Cluster node", "hint: write REDIS_URL as redis-cluster://")
	if strings.Count(out, "FAILED") != 1 {
		t.Errorf("want one failure:\n%s", out)
	}
}
