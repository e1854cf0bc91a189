package redistest

import (
	"strings"
	"testing"
	"time"
)

func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	if want := "redis://" + s.Addr + "/0"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if err := ping(s.Addr); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}

	s.Pause()
	start := time.Now()
	if err := ping(s.Addr); err == nil {
		t.Error("PING while paused: got PONG, want a timeout")
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("PING while paused failed after %s, want it to hang until its deadline", took)
	}
	s.Resume()
	if err := ping(s.Addr); err != nil {
		t.Errorf("PING after Resume: %v", err)
	}

	s.Stop()
	if err := ping(s.Addr); err == nil {
		t.Error("PING after Stop: got PONG, want connection refused")
	}
	s.Stop() // stopping twice is harmless

	addr := s.Addr
	s.Restart()
	if s.Addr != addr {
		t.Errorf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := ping(s.Addr); err != nil {
		t.Errorf("PING after Restart: %v", err)
	}
}

// A Sentinel setup fails over when its master is killed: the sentinels
// name the replica, which has the master's data and takes writes.
func TestSentinelFailsOver(t *testing.T) {
	s := StartSentinel(t)
	if len(s.Sentinels) != 3 {
		t.Fatalf("%d sentinels, want 3", len(s.Sentinels))
	}
	if want := "redis-sentinel://" + s.Sentinels[0].Addr + "," + s.Sentinels[1].Addr + "," + s.Sentinels[2].Addr + "/" + s.Name + "?db=0"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	old, err := s.MasterAddr()
	if err != nil {
		t.Fatalf("MasterAddr: %v", err)
	}
	if _, err := Do(old, "SET", "k", "v"); err != nil {
		t.Fatalf("SET on the master: %v", err)
	}
	if _, err := Do(old, "WAIT", "1", "1000"); err != nil {
		t.Fatalf("WAIT for the replica: %v", err)
	}

	start := time.Now()
	if killed := s.KillMaster(); killed != old {
		t.Errorf("KillMaster killed %s, want the master %s", killed, old)
	}
	if err := ping(old); err == nil {
		t.Error("PING the killed master: got PONG, want connection refused")
	}
	addr := s.WaitFailover(old)
	t.Logf("failover to %s took %s", addr, time.Since(start).Round(time.Millisecond))
	if addr == old {
		t.Fatalf("WaitFailover returned the old master %s", addr)
	}
	if got, err := Do(addr, "GET", "k"); err != nil || got != "v" {
		t.Errorf("GET k on the new master: got %v, %v; want v", got, err)
	}
	if _, err := Do(addr, "SET", "k2", "v2"); err != nil {
		t.Errorf("SET on the new master: %v", err)
	}
}

// A cluster of three masters serves every slot: a key is answered by the
// node that owns its slot and redirected by the others.
func TestClusterServesEverySlot(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(c.Nodes))
	}
	if want := "redis-cluster://" + c.Nodes[0].Addr + "," + c.Nodes[1].Addr + "," + c.Nodes[2].Addr; c.URL() != want {
		t.Errorf("URL() = %q, want %q", c.URL(), want)
	}
	moved := 0
	for _, n := range c.Nodes {
		info, err := Do(n.Addr, "CLUSTER", "INFO")
		if err != nil {
			t.Fatalf("CLUSTER INFO on %s: %v", n.Addr, err)
		}
		if s, _ := info.(string); !strings.Contains(s, "cluster_state:ok") {
			t.Errorf("%s: cluster not ok: %v", n.Addr, info)
		}
		if _, err := Do(n.Addr, "SET", "{k}", "v"); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			moved++
		} else if err != nil {
			t.Errorf("SET on %s: %v", n.Addr, err)
		}
	}
	if moved != 2 {
		t.Errorf("%d of 3 nodes redirected a key, want 2 (the others own its slot)", moved)
	}
}
