package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/redisstate"
)

// leaseStart is when the lease test's replicas start: between the 1 s
// poll's ticks, so its first tick is 10:00:01.
var leaseStart = time.Date(2025, 3, 4, 10, 0, 0, 500e6, time.UTC)

// slowPuts stands in front of the simulator and holds every PUT until
// the test lets it go: a PUT that takes as long as the test says, on the
// replicas' fake clocks, with no real waiting.
type slowPuts struct {
	sim     *ccmsim.Sim
	puts    atomic.Int32
	arrived chan struct{} // one per PUT, as it arrives
	release chan struct{} // closed when PUTs may be answered
}

func (s *slowPuts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		s.puts.Add(1)
		// Read the body first, as the simulator does: net/http notices
		// a client that gives up only once it has.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return // the client gave up: nothing applied
		}
	}
	s.sim.ServeHTTP(w, r)
}

// leaseCluster is three in-process replicas that run only the after-call
// poll, every second, on fake clocks that move together.
type leaseCluster struct {
	*cluster
	puts *slowPuts
}

func startLeaseCluster(t *testing.T) *leaseCluster {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	puts := &slowPuts{sim: sim, arrived: make(chan struct{}, 10), release: make(chan struct{})}
	ccm := httptest.NewServer(puts)
	t.Cleanup(ccm.Close)
	// Registered after Close, so it runs first: a PUT still held would
	// keep Close waiting.
	t.Cleanup(func() {
		select {
		case <-puts.release:
		default:
			close(puts.release)
		}
	})
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping, map[string]string{"AFTER_CALL_POLL": "1s"})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: leaseStart, env: env}
	c.replicas = []*replica{
		c.startInProcess("replica-a", 0),
		c.startInProcess("replica-b", 0),
		c.startInProcess("replica-c", 0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	return &leaseCluster{cluster: c, puts: puts}
}

// pollTick moves every clock to the poll's kth tick, once every
// scheduler has set its timer (the one timer of the poll: jumping a fake
// clock past a timer gocron has not set yet loses the run).
func (c *leaseCluster) pollTick(k int) {
	c.t.Helper()
	for _, r := range c.replicas {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := r.clock.BlockUntilContext(ctx, 2) // the poll's, and the history job's
		cancel()
		if err != nil {
			c.t.Fatalf("%s: the scheduler did not set its timer: %v", r.name, err)
		}
	}
	at := leaseStart.Truncate(time.Second).Add(time.Duration(k) * time.Second)
	for _, r := range c.replicas {
		r.advanceTo(c.t, at)
	}
}

// pollOutcomes counts the poll's ticks a replica ran to their end or
// skipped, and those it skipped for reason alone ("" for all).
func pollOutcomes(r *replica, reason string) float64 {
	skipped := map[string]string{"job": "after_call"}
	if reason != "" {
		skipped["reason"] = reason
		return r.w.metricSum("presence_bot_job_ticks_skipped_total", skipped)
	}
	return r.w.metricSum("presence_bot_job_ticks_total", map[string]string{"job": "after_call"}) +
		r.w.metricSum("presence_bot_job_ticks_skipped_total", skipped)
}

func (c *leaseCluster) callEndedDMs() int {
	n := 0
	for _, m := range c.slack.Messages() {
		if m.Method == "chat.postMessage" && strings.Contains(m.Text, "call ended") {
			n++
		}
	}
	return n
}

// TestLeaseAfterCallPollRunsOnceAcrossReplicas: a 3 s PUT under a 1 s
// after-call poll on three replicas. The replica that took the tick holds
// the poll's lease while its PUT goes on; the next ticks are skipped
// everywhere as still running, not run by another replica, which would
// find the queued status still there and PUT it again. One PUT, one DM.
func TestLeaseAfterCallPollRunsOnceAcrossReplicas(t *testing.T) {
	c := startLeaseCluster(t)
	if err := c.sim.StartCall("agent_001", presence.Call{Direction: "inbound"}); err != nil {
		t.Fatal(err)
	}
	id, err := c.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "offline after-call", UserID: userAlice, ChannelID: "C0FLOOR"})
	if err != nil {
		t.Fatal(err)
	}
	c.waitAnswers([]string{id}, "Noted")
	if err := c.sim.EndCall("agent_001"); err != nil {
		t.Fatal(err)
	}

	before := make([]float64, len(c.replicas))
	for i, r := range c.replicas {
		before[i] = pollOutcomes(r, "")
	}
	// Tick 1: one replica takes it and sends the PUT, which hangs.
	c.pollTick(1)
	select {
	case <-c.puts.arrived:
	case <-time.After(waitLimit):
		t.Fatal("tick 1: no PUT for the queued status")
	}
	// The runner is the replica that has not finished tick 1.
	runner := -1
	eventually(t, "tick 1 skipped by the two replicas that did not run it", func() bool {
		runner = -1
		done := 0
		for i, r := range c.replicas {
			if pollOutcomes(r, "") > before[i] {
				done++
			} else {
				runner = i
			}
		}
		return done == len(c.replicas)-1
	})
	t.Logf("%s runs tick 1", c.replicas[runner].name)

	// Ticks 2-4: the PUT takes 3 s. No other replica starts a poll.
	for k := 2; k <= 4; k++ {
		for i, r := range c.replicas {
			before[i] = pollOutcomes(r, "")
		}
		c.pollTick(k)
		eventually(t, fmt.Sprintf("tick %d skipped by the replicas not running the poll, or a second PUT", k), func() bool {
			if c.puts.puts.Load() > 1 {
				return true
			}
			for i, r := range c.replicas {
				if i != runner && pollOutcomes(r, "") <= before[i] {
					return false
				}
			}
			return true
		})
		if n := c.puts.puts.Load(); n != 1 {
			t.Fatalf("tick %d: %d PUTs for one queued status: another replica polled while tick 1 still ran", k, n)
		}
	}
	close(c.puts.release)
	eventually(t, "the DM that the queued status was applied", func() bool { return c.callEndedDMs() >= 1 })
	eventually(t, "the runner's poll over", func() bool { return pollOutcomes(c.replicas[runner], "") > before[runner] })

	// Tick 5: the lease is free again; the poll runs and finds nothing.
	total := func() float64 {
		sum := 0.0
		for _, r := range c.replicas {
			sum += pollOutcomes(r, "")
		}
		return sum
	}
	sum := total()
	c.pollTick(5)
	eventually(t, "tick 5 run or skipped everywhere", func() bool { return total() >= sum+float64(len(c.replicas)) })

	if n := c.puts.puts.Load(); n != 1 {
		t.Errorf("%d PUTs, want 1", n)
	}
	if n := c.sim.Stats().Puts; n != 1 {
		t.Errorf("the simulator applied %d PUTs, want 1", n)
	}
	if n := c.callEndedDMs(); n != 1 {
		t.Errorf("%d DMs about the queued status, want 1", n)
	}
	if a, _ := c.sim.Agent("agent_001"); a.Status != presence.Offline {
		t.Errorf("agent_001 is %s, want offline", a.Status)
	}
	for i, r := range c.replicas {
		if i == runner {
			continue
		}
		if n := pollOutcomes(r, "still_running"); n < 3 {
			t.Errorf("%s skipped %v ticks as still running, want ticks 2-4 (the lease held elsewhere)\nlogs:\n%s", r.name, n, r.logs())
		}
	}
}

// waitJobsOver waits until no replica holds a job's lease, that is until
// every run of the tick is over. Fake clocks jump from one tick to the
// next in milliseconds where real ones take a period: a run still
// finishing would make the next tick skip everywhere, as still running.
func (c *cluster) waitJobsOver() {
	c.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	eventually(c.t, "every run of the tick over (no job's lease held)", func() bool {
		held, err := rdb.Keys(context.Background(), redisstate.DefaultPrefix+"lease:*").Result()
		if err != nil {
			c.t.Fatalf("list the jobs' leases: %v", err)
		}
		return len(held) == 0
	})
}
