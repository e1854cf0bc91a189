package redistest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sentinel timings: short, so that a killed master is replaced within a
// few seconds. A master is down after 400 ms without an answer; a failed
// election is tried again 2 × failover-timeout later.
const (
	sentinelDownAfter       = 400 * time.Millisecond
	sentinelFailoverTimeout = time.Second
	// failoverWithin bounds WaitFailover: the down-after period, up to a
	// second of desync between the sentinels, one election retry, and the
	// promoted replica's next report (every second during a failover).
	failoverWithin = 15 * time.Second
)

// Sentinel is a Redis Sentinel setup on 127.0.0.1: a master, one replica
// and three sentinels (redis-server --sentinel) that watch them with a
// quorum of two. Every process is stopped at the test's cleanup.
type Sentinel struct {
	// Name is the master's name, as REDIS_URL's path gives it.
	Name string
	// Sentinels are the three sentinel processes.
	Sentinels []*Server
	// Servers are the master and the replica, in the order they started
	// (the master first); which is master changes with a failover.
	Servers []*Server

	t testing.TB
}

// StartSentinel starts a master, a replica of it and three sentinels that
// already know each other and the replica (no discovery to wait for), and
// returns once every sentinel sees the replica in sync. Skipped, or
// failed under CI, without redis-server, as Start is.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	s := &Sentinel{Name: "mymaster", t: t}
	// Without a delay, the master sends the replica its data at once
	// (diskless sync waits 5 s by default for more replicas).
	master := Start(t, "--repl-diskless-sync-delay", "0")
	replica := Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	s.Servers = []*Server{master, replica}
	s.waitFor("the replica to sync", func() error {
		info, err := Do(master.Addr, "INFO", "replication")
		if err != nil {
			return err
		}
		if text, _ := info.(string); !strings.Contains(text, "state=online") {
			return fmt.Errorf("replica not online: %s", text)
		}
		return nil
	})

	// Each sentinel gets its ID and everyone else's, so it starts knowing
	// the other two and the replica instead of discovering them (hello
	// messages every 2 s, INFO every 10 s).
	ports := make([]int, 3)
	ids := make([]string, 3)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		ports[i], ids[i] = port, randomID()
	}
	for i := range ports {
		dir := t.TempDir()
		var conf strings.Builder
		fmt.Fprintf(&conf, "sentinel myid %s\n", ids[i])
		fmt.Fprintf(&conf, "sentinel monitor %s 127.0.0.1 %d 2\n", s.Name, master.port)
		fmt.Fprintf(&conf, "sentinel down-after-milliseconds %s %d\n", s.Name, sentinelDownAfter.Milliseconds())
		fmt.Fprintf(&conf, "sentinel failover-timeout %s %d\n", s.Name, sentinelFailoverTimeout.Milliseconds())
		fmt.Fprintf(&conf, "sentinel known-replica %s 127.0.0.1 %d\n", s.Name, replica.port)
		for j := range ports {
			if j != i {
				fmt.Fprintf(&conf, "sentinel known-sentinel %s 127.0.0.1 %d %s\n", s.Name, ports[j], ids[j])
			}
		}
		// Sentinel rewrites its file as things change: it must be its own.
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
			t.Fatalf("redistest: write sentinel.conf: %v", err)
		}
		sen := &Server{t: t, dir: dir, conf: path, args: []string{"--sentinel"}, port: ports[i]}
		sen.Addr = "127.0.0.1:" + strconv.Itoa(ports[i])
		t.Cleanup(sen.Stop)
		if err := sen.start(); err != nil {
			t.Fatalf("redistest: start sentinel: %v", err)
		}
		s.Sentinels = append(s.Sentinels, sen)
	}

	// Ready when every sentinel is linked to the other two and sees the
	// replica with its link to the master up: a failover can then happen.
	for _, sen := range s.Sentinels {
		s.waitFor("sentinel "+sen.Addr+" to see the others and the replica", func() error {
			reply, err := Do(sen.Addr, "SENTINEL", "SENTINELS", s.Name)
			if err != nil {
				return err
			}
			peers, _ := reply.([]any)
			linked := 0
			for _, p := range peers {
				if f := fields(p); !strings.Contains(f["flags"], "disconnected") && !strings.Contains(f["flags"], "s_down") {
					linked++
				}
			}
			if linked != 2 {
				return fmt.Errorf("%d of 2 other sentinels linked", linked)
			}
			reply, err = Do(sen.Addr, "SENTINEL", "REPLICAS", s.Name)
			if err != nil {
				return err
			}
			replicas, _ := reply.([]any)
			if len(replicas) != 1 {
				return fmt.Errorf("%d replicas known, want 1", len(replicas))
			}
			if f := fields(replicas[0]); f["flags"] != "slave" || f["master-link-status"] != "ok" {
				return fmt.Errorf("replica flags %q, link %q", f["flags"], f["master-link-status"])
			}
			return nil
		})
	}
	return s
}

// URL is the setup as a REDIS_URL: every sentinel, the master's name,
// database 0.
func (s *Sentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, sen := range s.Sentinels {
		addrs[i] = sen.Addr
	}
	return "redis-sentinel://" + strings.Join(addrs, ",") + "/" + s.Name + "?db=0"
}

// MasterAddr asks the sentinels, in turn, where the master is.
func (s *Sentinel) MasterAddr() (string, error) {
	var errs []string
	for _, sen := range s.Sentinels {
		reply, err := Do(sen.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Name)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if hp, ok := reply.([]any); ok && len(hp) == 2 {
			return fmt.Sprintf("%v:%v", hp[0], hp[1]), nil
		}
		errs = append(errs, fmt.Sprintf("%s answered %v", sen.Addr, reply))
	}
	return "", fmt.Errorf("no sentinel named the master: %s", strings.Join(errs, "; "))
}

// KillMaster kills the current master with SIGKILL (no shutdown, no last
// words to its clients) and returns its address.
func (s *Sentinel) KillMaster() string {
	s.t.Helper()
	addr, err := s.MasterAddr()
	if err != nil {
		s.t.Fatalf("redistest: kill the master: %v", err)
	}
	for _, srv := range s.Servers {
		if srv.Addr == addr {
			srv.Stop()
			return addr
		}
	}
	s.t.Fatalf("redistest: kill the master: the sentinels name %s, none of ours", addr)
	return ""
}

// WaitFailover waits until every sentinel names a master other than old,
// and that server says it is a master; it returns its address.
func (s *Sentinel) WaitFailover(old string) string {
	s.t.Helper()
	var addr string
	s.waitFor("a failover from "+old, func() error {
		for _, sen := range s.Sentinels {
			reply, err := Do(sen.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Name)
			if err != nil {
				return err
			}
			hp, _ := reply.([]any)
			if len(hp) != 2 {
				return fmt.Errorf("%s answered %v", sen.Addr, reply)
			}
			if addr = fmt.Sprintf("%v:%v", hp[0], hp[1]); addr == old {
				return fmt.Errorf("%s still names %s", sen.Addr, old)
			}
		}
		role, err := Do(addr, "ROLE")
		if err != nil {
			return err
		}
		if r, _ := role.([]any); len(r) == 0 || r[0] != "master" {
			return fmt.Errorf("%s is not a master yet: %v", addr, role)
		}
		return nil
	})
	return addr
}

// waitFor polls check every few milliseconds until it returns nil, and
// fails the test with its last error after failoverWithin.
func (s *Sentinel) waitFor(what string, check func() error) {
	s.t.Helper()
	waitFor(s.t, what, check)
}

func waitFor(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(failoverWithin)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: waiting %s for %s: %v", failoverWithin, what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// randomID is a sentinel's run ID: 40 hex digits.
func randomID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
