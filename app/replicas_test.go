package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/redisstate"
)

// The replicas' world: one fake Slack, one simulator, one redis-server,
// three bots. The scheduled jobs tick every minute on fake clocks that
// start on replicaStart (a Tuesday), so each summary's header names its
// tick ("Presence summary · Tue 10:07").
const (
	replicaAgents  = 300
	replicaPeriod  = time.Minute
	summaryChannel = "C0SUMMARY"
	alertChannel   = "C0ALERTS"
	// jobTimers is how many timers each replica's scheduler keeps on its
	// clock: one per job (summary, alerts, after_call).
	jobTimers = 3
	// scheduledJobs are the jobs that tick during the test; after_call
	// polls hourly and never comes due.
	scheduledJobs = 2
	// childSpecVar hands the child replica its configuration.
	childSpecVar = "PRESENCE_BOT_TEST_REPLICA"
	// waitLimit bounds every wait on the replicas.
	waitLimit = 10 * time.Second
)

// replicaStart is the true time when the replicas start: between ticks,
// so the first tick is 10:01.
var replicaStart = time.Date(2025, 3, 4, 10, 0, 30, 0, time.UTC)

func replicaUser(i int) string  { return fmt.Sprintf("U0R%03d", i) }
func replicaAgent(i int) string { return fmt.Sprintf("agent_r%03d", i) }

// replicaOptions are the options of every replica, in this process or in
// the child.
func replicaOptions(clock clockwork.Clock) []app.Option {
	return []app.Option{
		app.WithClock(clock),
		app.WithPresenceOptions(presence.WithRetry(2, time.Millisecond, 5*time.Millisecond)),
		app.WithBotConfig(func(c *bot.Config) { c.CommandTimeout = 5 * time.Second }),
	}
}

// quietRedis keeps go-redis's process-wide logger, one line per failed
// dial while Redis is down, out of the test output, as main routes it
// through slog.
func quietRedis() {
	redis.SetLogger(redisstate.NewGoRedisLogger(slog.New(slog.DiscardHandler)))
}

// Three replicas share one Slack app, one contact center and one Redis.
// Slack spreads commands over their connections and redelivers some to
// another one; the scheduled jobs tick on each replica's own clock, up to a
// second apart. Through 300 commands, 20 ticks, a replica killed with
// SIGKILL and a Redis outage: every command is answered once with at most
// one write, and every tick is posted once, except while Redis is down,
// when ticks are skipped and commands go on.
func TestReplicasShareTheWork(t *testing.T) {
	c := startCluster(t)
	child := c.replicas[0]

	// Ticks 1-6: the replica whose clock is ahead usually wins each tick;
	// exactly one replica posts it.
	for k := 1; k <= 6; k++ {
		c.tick(k, true)
	}

	// 300 commands over three connections, one in five redelivered at once
	// to another replica: each runs once, with one GET and one PUT.
	before := c.sim.Stats().Puts
	ids := c.burst(1, replicaAgents, presence.Busy, 5)
	c.waitAnswers(ids, "now", "busy")
	c.waitAcked(ids)
	c.checkAnsweredOnce(ids)
	if got := c.sim.Stats().Puts - before; got != replicaAgents {
		t.Errorf("%d PUTs for %d status changes, want one each", got, replicaAgents)
	}
	for i := 1; i <= replicaAgents; i++ {
		if a, _ := c.sim.Agent(replicaAgent(i)); a.Status != presence.Busy {
			t.Errorf("%s is %s, want busy", a.ID, a.Status)
		}
	}
	if conns := c.ackConnections(); len(conns) < 3 {
		t.Errorf("acks came on connections %v, want all three replicas'", conns)
	}

	// A replica hangs, Slack keeps sending it commands, and it is killed:
	// the commands it never acknowledged are redelivered to the others
	// and answered there, once.
	if child.jobRuns("summary") == 0 {
		t.Errorf("the replica ahead of the others ran no summary before it died; the takeover below proves nothing\nlogs:\n%s", child.logs())
	}
	t.Logf("%s, ahead of the others, ran %d of the first 6 summaries before it hung", child.name, child.jobRuns("summary"))
	child.proc.hang()
	before = c.sim.Stats().Puts
	ids = c.burst(1, 30, presence.Available, 0)
	child.kill()
	eventually(t, "Slack sees the dead replica's connection close", func() bool { return c.slack.Connections() == 2 })
	unacked := c.waitAckedOrLost(ids)
	if len(unacked) != len(ids)/3 {
		t.Errorf("%d of %d commands unacknowledged, want the dead replica's share, %d", len(unacked), len(ids), len(ids)/3)
	}
	t.Logf("%d commands sent to the dead replica redelivered", len(unacked))
	for _, id := range unacked {
		if err := c.slack.Redeliver(id, 1, "timeout"); err != nil {
			t.Fatalf("redeliver %s: %v", id, err)
		}
	}
	c.waitAnswers(ids, "now", "available")
	c.waitAcked(ids)
	c.checkAnsweredOnce(ids)
	if got := c.sim.Stats().Puts - before; got != len(ids) {
		t.Errorf("%d PUTs for %d status changes, want one each", got, len(ids))
	}

	// Ticks 7-12: the survivors take over from the next tick on.
	for k := 7; k <= 12; k++ {
		c.tick(k, true)
	}

	// Redis goes down: commands are still answered (deduplicated in each
	// replica's memory), /readyz stays 200 naming redis as degraded, and
	// every tick is skipped rather than risk a duplicate, counted as a
	// lock fallback.
	dedupeBefore := c.metricSum("presence_bot_redis_fallbacks_total", map[string]string{"op": "dedupe"})
	c.redis.Stop()
	before = c.sim.Stats().Puts
	ids = c.burst(31, 60, presence.Available, 0)
	c.waitAnswers(ids, "now", "available")
	c.checkAnsweredOnce(ids)
	if got := c.sim.Stats().Puts - before; got != len(ids) {
		t.Errorf("%d PUTs with Redis down for %d status changes, want one each", got, len(ids))
	}
	if got := c.metricSum("presence_bot_redis_fallbacks_total", map[string]string{"op": "dedupe"}) - dedupeBefore; got != float64(len(ids)) {
		t.Errorf("dedupe fallbacks while Redis was down = %v, want one per command (%d)", got, len(ids))
	}
	for _, r := range c.live() {
		c.checkRedisPart(r, "degraded", 0)
	}
	for k := 13; k <= 15; k++ {
		c.tick(k, false)
	}

	// Redis comes back, empty: the replicas notice by themselves, /readyz
	// says so, and the ticks run again.
	c.redis.Restart()
	for _, r := range c.live() {
		eventually(t, r.name+" sees Redis again", func() bool {
			return r.w.metric("presence_bot_redis_up", nil) == 1 && c.redisPart(r) == "ok"
		})
		c.checkRedisPart(r, "ok", 1)
	}
	for k := 16; k <= 20; k++ {
		c.tick(k, true)
	}
	before = c.sim.Stats().Puts
	ids = c.burst(61, 90, presence.Available, 5)
	c.waitAnswers(ids, "now", "available")
	c.waitAcked(ids)
	if got := c.sim.Stats().Puts - before; got != len(ids) {
		t.Errorf("%d PUTs after Redis returned for %d status changes, want one each", got, len(ids))
	}
	runs := 0
	for _, r := range c.replicas {
		runs += r.jobRuns("summary")
	}
	if runs != 17 {
		t.Errorf("the replicas' schedulers ran the summary %d times in all, want 17 (20 ticks less 3 while Redis was down)", runs)
	}

	// Once every replica has stopped, nothing more can arrive: the final
	// count of answers and posts.
	c.shutdown()
	c.checkAnsweredOnce(c.sent)
	for k := 1; k <= 20; k++ {
		want := 1
		if k >= 13 && k <= 15 {
			want = 0 // Redis down
		}
		if got := c.summaryPosts(k); got != want {
			t.Errorf("tick %d (%s): %d summaries posted, want %d", k, c.tickTime(k).Format(time.TimeOnly), got, want)
		}
	}
	if got := c.alertPosts(); got != c.alertsWant {
		t.Errorf("%d alerts posted over 20 ticks, want %d (one per tick that ran)", got, c.alertsWant)
	}
}

// cluster is the replicas and what they share.
type cluster struct {
	t     *testing.T
	slack *fakeslack.Server
	sim   *ccmsim.Sim
	redis *redistest.Server
	env   map[string]string
	// replicas, the one whose clock is furthest ahead first: the order in
	// which their timers fire for a tick.
	replicas []*replica
	truth    time.Time // the true time; replica clocks are truth + skew
	sent     []string  // every envelope sent
	// alertsWant counts the alerts the ticks so far should have posted;
	// lockFallbacks the lock fallbacks the skipped ones should have counted.
	alertsWant    int
	lockFallbacks float64
	// extra are options for the in-process replicas on top of the usual.
	extra []app.Option
}

// replica is one bot: in this process (w and clock) or a child process.
type replica struct {
	name  string
	skew  time.Duration // its clock minus the true time
	w     *world
	clock *clockwork.FakeClock
	proc  *childReplica
	dead  bool
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()

	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	// The simulator runs on the wall clock, as in the other end-to-end tests.
	since := time.Now().Add(-time.Hour)
	teams := []*presence.Team{{ID: "sales_team", Name: "Sales"}, {ID: "support_team", Name: "Support"}}
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := 1; i <= replicaAgents; i++ {
		sim.Add(presence.Agent{
			ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i), Email: fmt.Sprintf("agent%03d@example.com", i),
			Status: presence.Available, StatusSince: since, Team: teams[i%len(teams)],
		})
		fmt.Fprintf(&mapping, "  %s: %s\n", replicaUser(i), replicaAgent(i))
	}
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)

	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping.String(), map[string]string{
		// The API budget is shared through Redis here, but never holds
		// these bursts back: the sharing of the work is under test, not
		// the pacing (app: TestBudget…).
		"EXOTEL_RATE_LIMIT": "1000/200",
		"SUMMARY_CHANNEL":   summaryChannel,
		"SUMMARY_SCHEDULE":  replicaPeriod.String(),
		"ALERT_CHANNEL":     alertChannel,
		// Always below: every tick posts an alert (first, then repeats).
		"ALERT_THRESHOLD": "1000",
		"ALERT_INTERVAL":  replicaPeriod.String(),
		"ALERT_REPEAT":    replicaPeriod.String(),
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}

	// The replica ahead runs in a child process, so that it can be killed
	// for real; the other two run here, where their metrics and health
	// can be read.
	c.replicas = []*replica{
		c.startChild("replica-a", time.Second),
		c.startInProcess("replica-b", 400*time.Millisecond),
		c.startInProcess("replica-c", 0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	return c
}

func (c *cluster) startInProcess(name string, skew time.Duration) *replica {
	t := c.t
	t.Helper()
	env := maps.Clone(c.env)
	env["HTTP_ADDR"] = "127.0.0.1:0"
	cfg, err := config.Load(envLookup(env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clock := clockwork.NewFakeClockAt(c.truth.Add(skew))
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name)
	opts := append(replicaOptions(clock), testEnvOptions(t, env)...)
	a, err := app.New(cfg, log, append(opts, c.extra...)...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{t: t, app: a, slack: c.slack, sim: c.sim, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { w.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		if err := w.shutdown(); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
		checkNoSecrets(t, name, logs.String())
	})
	return &replica{name: name, skew: skew, w: w, clock: clock}
}

func (c *cluster) startChild(name string, skew time.Duration) *replica {
	c.t.Helper()
	spec, err := json.Marshal(childSpec{Name: name, Env: c.env, Clock: c.truth.Add(skew)})
	if err != nil {
		c.t.Fatal(err)
	}
	return &replica{name: name, skew: skew, proc: startChildReplica(c.t, name, string(spec))}
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func checkNoSecrets(t *testing.T, name, logs string) {
	t.Helper()
	for _, secret := range []string{secretToken, fakeslack.BotToken, fakeslack.AppToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s: a secret appears in the logs", name)
		}
	}
}

// live returns the replicas still running, the one ahead first.
func (c *cluster) live() []*replica {
	var rs []*replica
	for _, r := range c.replicas {
		if !r.dead {
			rs = append(rs, r)
		}
	}
	return rs
}

func (c *cluster) tickTime(k int) time.Time {
	return replicaStart.Truncate(replicaPeriod).Add(time.Duration(k) * replicaPeriod)
}

// tick moves the true time to tick k the way real clocks would: each
// live replica's timers fire when the true time reaches the tick minus its
// skew, the one ahead first. Before each move every scheduler has set its
// timers again (jumping a fake clock past a timer gocron has not set yet
// loses the run). Then it waits until the tick's summary and alert are
// posted, or, when posted is false (Redis down), until every replica has
// counted its refused locks.
func (c *cluster) tick(k int, posted bool) {
	c.t.Helper()
	tick := c.tickTime(k)
	for _, r := range c.live() {
		for _, o := range c.live() {
			o.waitTimers(c.t)
		}
		c.truth = tick.Add(-r.skew)
		for _, o := range c.live() {
			o.advanceTo(c.t, c.truth.Add(o.skew))
		}
		r.waitTimers(c.t)
	}
	what := fmt.Sprintf("tick %d (%s)", k, tick.Format(time.TimeOnly))
	if posted {
		c.alertsWant++
		eventually(c.t, what+" posted", func() bool {
			return c.summaryPosts(k) >= 1 && c.alertPosts() >= c.alertsWant
		})
	} else {
		for _, r := range c.live() {
			if r.w == nil {
				c.t.Fatalf("%s: skipped ticks are counted by the in-process replicas only", what)
			}
			c.lockFallbacks += scheduledJobs
		}
		// At least: gocron may deliver a tick twice when its bookkeeping
		// races a fake clock's jump, and each delivery asks for the lock.
		eventually(c.t, what+" skipped by every replica, counted as lock fallbacks", func() bool {
			return c.metricSum("presence_bot_redis_fallbacks_total", map[string]string{"op": "lock"}) >= c.lockFallbacks
		})
	}
	want := 0
	if posted {
		want = 1
	}
	if got := c.summaryPosts(k); got != want {
		c.t.Errorf("%s: %d summaries, want %d", what, got, want)
	}
	if got := c.alertPosts(); got != c.alertsWant {
		c.t.Errorf("%s: %d alerts in all, want %d", what, got, c.alertsWant)
	}
	if posted {
		c.waitJobsOver()
	}
}

// summaryPosts counts the summaries posted for tick k.
func (c *cluster) summaryPosts(k int) int {
	header := "Presence summary · " + c.tickTime(k).Format("Mon 15:04")
	n := 0
	for _, m := range c.slack.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == summaryChannel && strings.Contains(blockText(c.t, m.Blocks), header) {
			n++
		}
	}
	return n
}

// alertPosts counts the alerts posted so far.
func (c *cluster) alertPosts() int {
	n := 0
	for _, m := range c.slack.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == alertChannel {
			n++
		}
	}
	return n
}

// burst sends /status <status> as users from to through to, and
// redelivers every nth envelope at once to another connection, as Slack
// does when an ack is late (0: none).
func (c *cluster) burst(from, to int, status presence.Status, nth int) []string {
	c.t.Helper()
	var ids []string
	for i := from; i <= to; i++ {
		id, err := c.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: string(status), UserID: replicaUser(i), ChannelID: "C0FLOOR"})
		if err != nil {
			c.t.Fatalf("send /status %s as %s: %v", status, replicaUser(i), err)
		}
		if nth > 0 && (i-from)%nth == 0 {
			if err := c.slack.Redeliver(id, 1, "timeout"); err != nil {
				c.t.Fatalf("redeliver %s: %v", id, err)
			}
		}
		ids = append(ids, id)
	}
	c.sent = append(c.sent, ids...)
	return ids
}

// waitAnswers waits for an answer to each envelope and checks its text.
func (c *cluster) waitAnswers(ids []string, wants ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for _, id := range ids {
		m, err := c.slack.WaitMessage(ctx, func(m fakeslack.Message) bool {
			return m.Method == "response_url" && m.EnvelopeID == id
		})
		if err != nil {
			c.t.Fatalf("no answer to %s: %v", id, err)
		}
		mustContain(c.t, blockText(c.t, m.Blocks), wants...)
	}
}

// waitAcked waits until the latest delivery of each envelope is
// acknowledged: from then on a replica that took it has decided whether
// to run it.
func (c *cluster) waitAcked(ids []string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for _, id := range ids {
		if _, err := c.slack.WaitAck(ctx, id); err != nil {
			c.t.Fatalf("%v", err)
		}
	}
}

// waitAckedOrLost waits until every envelope the live replicas were sent
// is acknowledged, and returns the others: those the dead replica was
// sent. The live replicas' share is the envelopes' count less one share
// per dead replica, as Slack deals them round-robin.
func (c *cluster) waitAckedOrLost(ids []string) []string {
	c.t.Helper()
	want := len(ids) * len(c.live()) / len(c.replicas)
	var unacked []string
	eventually(c.t, fmt.Sprintf("%d of %d commands acknowledged", want, len(ids)), func() bool {
		acked := map[string]bool{}
		for _, a := range c.slack.Acks() {
			acked[a.EnvelopeID] = true
		}
		unacked = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return acked[id] })
		return len(ids)-len(unacked) >= want
	})
	return unacked
}

// checkAnsweredOnce checks that each envelope got exactly one answer.
func (c *cluster) checkAnsweredOnce(ids []string) {
	c.t.Helper()
	answers := map[string]int{}
	for _, m := range c.slack.Messages() {
		if m.Method == "response_url" {
			answers[m.EnvelopeID]++
		}
	}
	for _, id := range ids {
		if answers[id] != 1 {
			c.t.Errorf("envelope %s answered %d times, want once", id, answers[id])
		}
	}
}

// ackConnections lists the connections acks arrived on.
func (c *cluster) ackConnections() []int {
	var conns []int
	for _, a := range c.slack.Acks() {
		if !slices.Contains(conns, a.Conn) {
			conns = append(conns, a.Conn)
		}
	}
	slices.Sort(conns)
	return conns
}

// metricSum adds a series up over the live in-process replicas.
func (c *cluster) metricSum(name string, labels map[string]string) float64 {
	c.t.Helper()
	var sum float64
	for _, r := range c.live() {
		if r.w != nil {
			sum += r.w.metric(name, labels)
		}
	}
	return sum
}

// redisPart returns the state /readyz gives the redis part.
func (c *cluster) redisPart(r *replica) string {
	c.t.Helper()
	_, body := r.w.ready()
	var rb struct {
		Parts map[string]struct {
			State string `json:"state"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(body), &rb); err != nil {
		c.t.Fatalf("%s: /readyz body %q: %v", r.name, body, err)
	}
	return rb.Parts["redis"].State
}

// checkRedisPart checks that the replica is ready with the redis part in
// state, and the presence_bot_redis_up gauge at up.
func (c *cluster) checkRedisPart(r *replica, state string, up float64) {
	c.t.Helper()
	eventually(c.t, r.name+" reports redis "+state, func() bool { return c.redisPart(r) == state })
	if code, body := r.w.ready(); code != http.StatusOK {
		c.t.Errorf("%s: /readyz = %d %s, want 200: a Redis outage does not take a replica out of service", r.name, code, body)
	}
	if got := r.w.metric("presence_bot_redis_up", nil); got != up {
		c.t.Errorf("%s: presence_bot_redis_up = %v, want %v", r.name, got, up)
	}
}

// shutdown stops the live in-process replicas and waits for them.
func (c *cluster) shutdown() {
	c.t.Helper()
	for _, r := range c.live() {
		if r.w != nil {
			if err := r.w.shutdown(); err != nil {
				c.t.Errorf("%s: Run: %v", r.name, err)
			}
		}
	}
}

// advanceTo moves the replica's clock to at, if it is not there yet.
func (r *replica) advanceTo(t *testing.T, at time.Time) {
	t.Helper()
	if r.proc != nil {
		r.proc.call(t, "at "+at.Format(time.RFC3339Nano))
		return
	}
	if d := at.Sub(r.clock.Now()); d > 0 {
		r.clock.Advance(d)
	}
}

// waitTimers waits until the replica's scheduler has a timer set for
// every job.
func (r *replica) waitTimers(t *testing.T) {
	t.Helper()
	if r.proc != nil {
		r.proc.call(t, "timers "+strconv.Itoa(jobTimers))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := r.clock.BlockUntilContext(ctx, jobTimers); err != nil {
		t.Fatalf("%s: the scheduler did not set its timers: %v", r.name, err)
	}
}

// jobRuns counts the runs of a job the replica's scheduler completed.
func (r *replica) jobRuns(job string) int {
	n := 0
	for line := range strings.Lines(r.logs()) {
		if strings.Contains(line, `msg="job done"`) && strings.Contains(line, " job="+job+" ") {
			n++
		}
	}
	return n
}

func (r *replica) logs() string {
	if r.proc != nil {
		return r.proc.logs()
	}
	return r.w.logs.String()
}

// kill ends the child replica with SIGKILL: no shutdown, no drain.
func (r *replica) kill() {
	r.proc.kill()
	r.dead = true
}

// childSpec is what the child replica is started with.
type childSpec struct {
	Name  string            `json:"name"`
	Env   map[string]string `json:"env"`
	Clock time.Time         `json:"clock"`
}

// childReplica is a replica running in a child process: this test binary
// again, running TestReplicaProcess, driven over its stdin and stdout.
type childReplica struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	stdin   *os.File
	replies chan string   // lines starting with "replica: ", prefix removed
	exited  chan struct{} // closed once the process has been waited for
	logPath string

	mu    sync.Mutex
	other []string // anything else it printed (test failures)
}

// replyPrefix marks the child's answers on its stdout.
const replyPrefix = "replica: "

func startChildReplica(t *testing.T, name, spec string) *childReplica {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("test binary: %v", err)
	}
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestReplicaProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childSpecVar+"="+spec)
	// Files, not readers: exec then copies nothing, and the child's end of
	// each pipe closes when it dies.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, logFile
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		t.Fatalf("start child replica: %v", err)
	}
	p := &childReplica{t: t, name: name, cmd: cmd, stdin: inW, replies: make(chan string, 1), exited: make(chan struct{}), logPath: logPath}
	go p.read(outR)
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		checkNoSecrets(t, name, p.logs())
	})
	if reply := p.reply(t); reply != "ready" {
		t.Fatalf("%s started with %q, want ready", name, reply)
	}
	return p
}

func (p *childReplica) read(r *os.File) {
	defer r.Close()
	defer close(p.replies)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if reply, ok := strings.CutPrefix(line, replyPrefix); ok {
			select {
			case p.replies <- reply:
			case <-p.exited:
			}
			continue
		}
		p.mu.Lock()
		p.other = append(p.other, line)
		p.mu.Unlock()
	}
}

// call sends one command and waits for "ok".
func (p *childReplica) call(t *testing.T, command string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, command+"\n"); err != nil {
		t.Fatalf("%s: send %q: %v\n%s", p.name, command, err, p.diagnostics())
	}
	if reply := p.reply(t); reply != "ok" {
		t.Fatalf("%s: %q answered %q\n%s", p.name, command, reply, p.diagnostics())
	}
}

func (p *childReplica) reply(t *testing.T) string {
	t.Helper()
	select {
	case reply, ok := <-p.replies:
		if !ok {
			t.Fatalf("%s exited\n%s", p.name, p.diagnostics())
		}
		return reply
	case <-time.After(waitLimit):
		t.Fatalf("%s: no answer within %s\n%s", p.name, waitLimit, p.diagnostics())
		return ""
	}
}

// kill sends SIGKILL, once, and waits until the process is gone.
func (p *childReplica) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(waitLimit):
			p.t.Errorf("%s survived SIGKILL for %s", p.name, waitLimit)
		}
	}
	_ = p.stdin.Close()
}

func (p *childReplica) logs() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// diagnostics is the end of the child's log and whatever else it printed.
func (p *childReplica) diagnostics() string {
	lines := strings.Split(strings.TrimSpace(p.logs()), "\n")
	lines = lines[max(0, len(lines)-30):]
	p.mu.Lock()
	defer p.mu.Unlock()
	return "log (end):\n" + strings.Join(lines, "\n") + "\noutput:\n" + strings.Join(p.other, "\n")
}

// TestReplicaProcess is not a test of its own: it is the replica that
// TestReplicasShareTheWork runs in a child process, so that it can be
// killed. It runs the app on a fake clock that the parent moves: "at
// <RFC 3339 time>" advances it, "timers <n>" waits until the scheduler
// has n timers set; each answers "replica: ok". It stops when its stdin
// closes.
func TestReplicaProcess(t *testing.T) {
	raw := os.Getenv(childSpecVar)
	if raw == "" {
		t.Skip("runs only as TestReplicasShareTheWork's child replica")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("%s: %v", childSpecVar, err)
	}
	quietRedis()
	cfg, err := config.Load(envLookup(spec.Env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clock := clockwork.NewFakeClockAt(spec.Clock)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", spec.Name)
	a, err := app.New(cfg, log, append(replicaOptions(clock), testEnvOptions(t, spec.Env)...)...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	reply := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, replyPrefix+format+"\n", args...)
	}
	reply("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(sc.Text(), " ")
		switch verb {
		case "at":
			at, err := time.Parse(time.RFC3339Nano, arg)
			if err != nil {
				reply("bad time %q: %v", arg, err)
				continue
			}
			if d := at.Sub(clock.Now()); d > 0 {
				clock.Advance(d)
			}
			reply("ok")
		case "timers":
			n, err := strconv.Atoi(arg)
			if err != nil {
				reply("bad count %q", arg)
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			err = clock.BlockUntilContext(ctx, n)
			cancel()
			if err != nil {
				reply("timers not set: %v", err)
				continue
			}
			reply("ok")
		default:
			reply("unknown command %q", verb)
		}
	}
}

// newClusterWorld is what every replicas test shares: a fake Slack, the
// mapping file, and the environment all replicas read, reaching the
// contact center at ccmURL (the simulator, or a handler in front of it) and
// Redis at redisURL. extra adds to the environment, or overrides it.
func newClusterWorld(t *testing.T, sim *ccmsim.Sim, ccmURL, redisURL, mapping string, extra map[string]string) (*fakeslack.Server, map[string]string) {
	t.Helper()
	fs := fakeslack.New(fakeslack.Options{PingInterval: time.Second})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "agents.yml")
	if err := os.WriteFile(mapFile, []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SLACK_APP_TOKEN":     fakeslack.AppToken,
		"SLACK_BOT_TOKEN":     fakeslack.BotToken,
		"SLACK_API_URL":       fs.URL(),
		"EXOTEL_ACCOUNT_SID":  sim.AccountSID(),
		"EXOTEL_ACCESS_TOKEN": secretToken,
		"EXOTEL_BASE_URL":     ccmURL,
		"AGENT_MAP_FILE":      mapFile,
		"STATE_DIR":           filepath.Join(dir, "state"), // unused with Redis
		"PRESENCE_CACHE_TTL":  "0s",
		"REDIS_URL":           redisURL,
		// Generous, so that a loaded machine does not make a healthy
		// Redis look down; a stopped one refuses at once anyway.
		"REDIS_TIMEOUT":   "1s",
		"AFTER_CALL_POLL": "1h",
	}
	maps.Copy(env, extra)
	return fs, env
}
