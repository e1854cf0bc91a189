package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/redisstate"
)

// sentinelAgents is how many agents the failover test's replicas map.
const sentinelAgents = 30

// Two replicas reach Redis through Sentinel (REDIS_URL=redis-sentinel://).
// The master is killed with SIGKILL mid-run: every command sent while the
// sentinels fail over, and after, is answered once; a tick during the
// failover is posted at most once (skipped while no replica can lock
// it); and once the replica is promoted, both replicas follow it by
// themselves: /readyz and the gauge say redis is ok again and the next
// tick is posted, once.
func TestReplicasRideOutSentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	c := startSentinelCluster(t, s)

	c.sentinelTick(s, 1, true)
	ids := c.burst(1, 10, presence.Busy, 3) // some redelivered: deduplicated in Redis
	c.waitAnswers(ids, "now", "busy")
	c.waitAcked(ids)

	// The master dies. Commands go on, deduplicated in each replica's
	// memory, which notices Redis gone at its first command.
	fallbacks := c.metricSum("presence_bot_redis_fallbacks_total", map[string]string{"op": "dedupe"})
	old := s.KillMaster()
	during := c.burst(11, 20, presence.Busy, 0)
	c.sentinelTick(s, 2, false)
	c.waitAnswers(during, "now", "busy")
	if got := c.metricSum("presence_bot_redis_fallbacks_total", map[string]string{"op": "dedupe"}) - fallbacks; got == 0 {
		t.Error("no dedupe fell back to memory: the commands never met the dead master")
	}

	addr := s.WaitFailover(old)
	t.Logf("the sentinels promoted %s", addr)
	for _, r := range c.replicas {
		c.checkRedisPart(r, "ok", 1)
	}
	after := c.burst(21, 30, presence.Offline, 3)
	c.waitAnswers(after, "now", "offline")
	c.waitAcked(after)
	c.sentinelTick(s, 3, true)

	c.shutdown()
	c.checkAnsweredOnce(c.sent)
	for k := 1; k <= 3; k++ {
		if got := c.summaryPosts(k); got > 1 || (k != 2 && got != 1) {
			t.Errorf("tick %d: %d summaries posted, want one (at most one during the failover)", k, got)
		}
	}
	if got := c.alertPosts(); got != c.alertsWant {
		t.Errorf("%d alerts posted, want %d (one per tick that ran)", got, c.alertsWant)
	}
}

// startSentinelCluster runs two in-process replicas, 400 ms apart, with
// REDIS_URL naming the sentinels of s; the world is startCluster's,
// smaller.
func startSentinelCluster(t *testing.T, s *redistest.Sentinel) *cluster {
	t.Helper()
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	since := time.Now().Add(-time.Hour)
	team := &presence.Team{ID: "sales_team", Name: "Sales"}
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := 1; i <= sentinelAgents; i++ {
		sim.Add(presence.Agent{ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i), Status: presence.Available, StatusSince: since, Team: team})
		fmt.Fprintf(&mapping, "  %s: %s\n", replicaUser(i), replicaAgent(i))
	}
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, s.URL(), mapping.String(), map[string]string{
		"SUMMARY_CHANNEL":  summaryChannel,
		"SUMMARY_SCHEDULE": replicaPeriod.String(),
		"ALERT_CHANNEL":    alertChannel,
		"ALERT_THRESHOLD":  "1000",
		"ALERT_INTERVAL":   replicaPeriod.String(),
		"ALERT_REPEAT":     replicaPeriod.String(),
	})
	c := &cluster{t: t, slack: fs, sim: sim, truth: replicaStart, env: env}
	c.replicas = []*replica{
		c.startInProcess("replica-a", 400*time.Millisecond),
		c.startInProcess("replica-b", 0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	for _, r := range c.replicas {
		c.checkRedisPart(r, "ok", 1)
	}
	return c
}

// sentinelTick moves the clocks to tick k, as tick does, and waits until
// every replica has run or skipped it for each job. With posted, the tick
// must be posted once; without (during the failover: each replica skips
// it while its lock is refused, or contends for it if the new master is
// already up), at most once. Then it waits until no job's lease is held,
// as tick does, so the next tick does not find this one still running.
func (c *cluster) sentinelTick(s *redistest.Sentinel, k int, posted bool) {
	c.t.Helper()
	decided := func(r *replica) float64 {
		var n float64
		for _, job := range []string{"summary", "alerts"} {
			n += r.w.metricSum("presence_bot_job_ticks_total", map[string]string{"job": job})
			n += r.w.metricSum("presence_bot_job_ticks_skipped_total", map[string]string{"job": job})
		}
		return n
	}
	before := make([]float64, len(c.replicas))
	for i, r := range c.replicas {
		before[i] = decided(r)
	}
	tick := c.tickTime(k)
	for _, r := range c.replicas {
		for _, o := range c.replicas {
			o.waitTimers(c.t)
		}
		c.truth = tick.Add(-r.skew)
		for _, o := range c.replicas {
			o.advanceTo(c.t, c.truth.Add(o.skew))
		}
		r.waitTimers(c.t)
	}
	for i, r := range c.replicas {
		eventually(c.t, fmt.Sprintf("%s ran or skipped tick %d of each job", r.name, k), func() bool {
			return decided(r) >= before[i]+scheduledJobs
		})
	}
	posts := c.summaryPosts(k)
	if posts > 1 || (posted && posts != 1) {
		c.t.Errorf("tick %d: %d summaries, want one (at most one during the failover)", k, posts)
	}
	c.alertsWant += posts // a tick that ran posts its alert too
	if got := c.alertPosts(); got != c.alertsWant {
		c.t.Errorf("tick %d: %d alerts in all, want %d", k, got, c.alertsWant)
	}
	if !posted {
		c.t.Logf("tick %d, during the failover: %d summaries posted", k, posts)
	}
	eventually(c.t, "no job's lease held", func() bool {
		master, err := s.MasterAddr()
		if err != nil {
			return true
		}
		held, err := redistest.Do(master, "KEYS", redisstate.DefaultPrefix+"lease:*")
		if err != nil {
			return true // a dead master holds nothing any more
		}
		keys, _ := held.([]any)
		return len(keys) == 0
	})
}
