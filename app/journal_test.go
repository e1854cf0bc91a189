package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// Test-only settings a cluster hands its replicas in their environment
// map, which config.Load does not read, so that a child replica gets them
// too: the journal's lease and sweep, and the command timeout.
const (
	journalLeaseVar   = "TEST_JOURNAL_LEASE"
	journalSweepVar   = "TEST_JOURNAL_SWEEP"
	commandTimeoutVar = "TEST_COMMAND_TIMEOUT"
)

// testEnvOptions are the app options the test-only settings in env ask
// for (none when it has none).
func testEnvOptions(t *testing.T, env map[string]string) []app.Option {
	t.Helper()
	dur := func(name string) time.Duration {
		v, ok := env[name]
		if !ok {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return d
	}
	var opts []app.Option
	if lease, sweep := dur(journalLeaseVar), dur(journalSweepVar); lease > 0 || sweep > 0 {
		opts = append(opts, app.WithJournal(lease, sweep))
	}
	if d := dur(commandTimeoutVar); d > 0 {
		opts = append(opts, app.WithBotConfig(func(c *bot.Config) { c.CommandTimeout = d }))
	}
	return opts
}

// journalAgents is the roster of the journal test: one agent per command.
const journalAgents = 20

// putCounter counts the status changes that reach the simulator, per
// agent, whether or not they are answered.
type putCounter struct {
	sim *ccmsim.Sim
	mu  sync.Mutex
	n   map[string]int // URL path → PUTs
}

func (p *putCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		p.mu.Lock()
		p.n[r.URL.Path]++
		p.mu.Unlock()
	}
	p.sim.ServeHTTP(w, r)
}

// of returns the PUTs for an agent.
func (p *putCounter) of(agent string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for path, c := range p.n {
		if strings.Contains(path, "/"+agent+"/") {
			n += c
		}
	}
	return n
}

// startJournalCluster is the replicas' world with a small roster and no
// scheduled jobs, and no replica started yet.
func startJournalCluster(t *testing.T) (*cluster, *putCounter) {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	since := time.Now().Add(-time.Hour)
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := 1; i <= journalAgents; i++ {
		sim.Add(presence.Agent{ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i), Status: presence.Available, StatusSince: since,
			Team: &presence.Team{ID: "sales_team", Name: "Sales"}})
		fmt.Fprintf(&mapping, "  %s: %s\n", replicaUser(i), replicaAgent(i))
	}
	puts := &putCounter{sim: sim, n: map[string]int{}}
	ccm := httptest.NewServer(puts)
	t.Cleanup(ccm.Close)
	// Registered after Close, so it runs first: a request held by the
	// latency would keep Close waiting.
	t.Cleanup(func() { sim.SetLatency(0) })
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping.String(), map[string]string{
		// Shared through Redis, but never holding these commands back:
		// the journal is under test, not the pacing (app: TestBudget…).
		"EXOTEL_RATE_LIMIT": "1000/200",
		// A short lease, so a death is noticed within a second or so.
		journalLeaseVar: "1s",
		journalSweepVar: "200ms",
		// Longer than the contact center holds the doomed replica's
		// commands (three 4 s attempts): it must not give up on them
		// and answer before it is killed.
		commandTimeoutVar: "20s",
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}
	return c, puts
}

// journaled counts the entries in the shared journal.
func journaled(t *testing.T, rs *redistest.Server) int64 {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	n, err := rdb.ZCard(context.Background(), "presence-bot:journal:lease").Result()
	if err != nil {
		t.Fatalf("count journal entries: %v", err)
	}
	return n
}

// A replica is SIGKILLed holding 20 acknowledged, unanswered status
// changes (the contact center is slow); Slack will not redeliver them.
// The two other replicas find them in the journal once the dead one's
// lease runs out and finish each exactly once, through its response_url,
// saying it was late, with one PUT each, well within 30 s of the death.
func TestJournalDeadReplicasCommandsFinishedOnce(t *testing.T) {
	c, puts := startJournalCluster(t)

	// Replica A alone is connected, so Slack deals it every command.
	a := c.startChild("replica-a", 0)
	c.replicas = []*replica{a}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("replica-a did not connect: %v", err)
	}
	// Its commands reach the contact center and wait there.
	c.sim.SetLatency(time.Hour)
	ids := c.burst(1, journalAgents, presence.Busy, 0)
	c.waitAcked(ids)
	if conns := c.ackConnections(); len(conns) != 1 {
		t.Fatalf("acks on connections %v, want replica-a's alone", conns)
	}
	eventually(t, "replica-a journals its 20 commands", func() bool { return journaled(t, c.redis) == journalAgents })
	eventually(t, "replica-a's commands wait on the contact center", func() bool { return c.sim.Stats().Gets >= journalAgents })

	// The survivors come up; then A dies, unanswered.
	c.replicas = append(c.replicas, c.startInProcess("replica-b", 0), c.startInProcess("replica-c", 0))
	if err := c.slack.WaitConnections(ctx, 3); err != nil {
		t.Fatalf("replicas did not all connect: %v", err)
	}
	for _, id := range ids {
		for _, m := range c.slack.Messages() {
			if m.Method == "response_url" && m.EnvelopeID == id {
				t.Fatalf("%s answered before replica-a died: the test proves nothing", id)
			}
		}
	}
	died := time.Now()
	a.kill()
	c.sim.SetLatency(0)

	c.waitAnswers(ids, "now", "busy", "Finished by another replica after a restart")
	took := time.Since(died)
	t.Logf("20 commands of the dead replica answered %s after its death", took.Round(time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("answered %s after the death, want within 30 s", took)
	}
	c.checkAnsweredOnce(ids)
	for i := 1; i <= journalAgents; i++ {
		if n := puts.of(replicaAgent(i)); n != 1 {
			t.Errorf("%s: %d PUTs, want exactly one", replicaAgent(i), n)
		}
		if ag, _ := c.sim.Agent(replicaAgent(i)); ag.Status != presence.Busy {
			t.Errorf("%s is %s, want busy", ag.ID, ag.Status)
		}
	}
	eventually(t, "the journal emptied", func() bool { return journaled(t, c.redis) == 0 })
	if got := c.metricSum("presence_bot_journal_recovered_total", nil); got != journalAgents {
		t.Errorf("presence_bot_journal_recovered_total = %v over the survivors, want %d", got, journalAgents)
	}

	// Nothing more arrives: every replica stopped, still one answer each.
	c.shutdown()
	c.checkAnsweredOnce(ids)
}

// With Redis down, commands are not journaled but run and are answered at
// once; the outage is logged once and each miss counted.
func TestJournalRedisDownCommandsStillRun(t *testing.T) {
	c, _ := startJournalCluster(t)
	r := c.startInProcess("replica-a", 0)
	c.replicas = []*replica{r}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("replica-a did not connect: %v", err)
	}
	c.redis.Stop()
	start := time.Now()
	ids := c.burst(1, 3, presence.Busy, 0)
	c.waitAnswers(ids, "now", "busy")
	t.Logf("3 commands answered with Redis down in %s", time.Since(start).Round(time.Millisecond))
	c.checkAnsweredOnce(ids)
	if got := r.w.metric("presence_bot_redis_fallbacks_total", map[string]string{"op": "journal"}); got != float64(len(ids)) {
		t.Errorf("journal fallbacks = %v, want one per command (%d)", got, len(ids))
	}
	if n := strings.Count(r.w.logs.String(), "could not journal"); n != 1 {
		t.Errorf("%d log lines about the journal, want one for the outage", n)
	}
}
