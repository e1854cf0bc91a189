package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// The alert-state world: two in-process replicas on one Redis, one fake
// Slack and one simulator; only the alert job ticks. Which replica runs a
// tick is chosen by moving its clock first: it takes the tick's lock, and
// the other, moved afterwards, finds the tick taken.
const (
	alertStateAgents = 10
	// alertStateTimers are the scheduler's timers: alerts and after_call.
	alertStateTimers = 2
)

// alertStateKey is the alerter's key in the store (alerts.alertsStateKey).
const alertStateKey = "alerts"

// errInjected is the failure of a write the test refused.
var errInjected = errors.New("injected: write refused")

// flakyStore fails the alert state's writes while told to, and passes
// everything else through: the replica's locks and reads still work, so
// it runs its tick and fails exactly at the save.
type flakyStore struct {
	state.Store
	mu   sync.Mutex
	fail bool
}

func (f *flakyStore) failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

func (f *flakyStore) setFailing(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *flakyStore) Save(ctx context.Context, key string, v any) error {
	if key == alertStateKey && f.failing() {
		return fmt.Errorf("save state %q: %w", key, errInjected)
	}
	return f.Store.Save(ctx, key, v)
}

func (f *flakyStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	if key == alertStateKey && f.failing() {
		return fmt.Errorf("update state %q: %w", key, errInjected)
	}
	return f.Store.Update(ctx, key, v, change)
}

// alertReplica is one in-process replica of the alert-state world.
type alertReplica struct {
	name  string
	w     *world
	clock *clockwork.FakeClock
}

type alertWorld struct {
	t     *testing.T
	slack *fakeslack.Server
	sim   *ccmsim.Sim
}

func startAlertWorld(t *testing.T) (*alertWorld, map[string]string) {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	since := time.Now().Add(-time.Hour)
	team := &presence.Team{ID: "sales_team", Name: "Sales"}
	for i := 1; i <= alertStateAgents; i++ {
		sim.Add(presence.Agent{ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i),
			Status: presence.Available, StatusSince: since, Team: team})
	}
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs := fakeslack.New(fakeslack.Options{PingInterval: time.Second})
	t.Cleanup(fs.Close)
	env := map[string]string{
		"SLACK_APP_TOKEN":     fakeslack.AppToken,
		"SLACK_BOT_TOKEN":     fakeslack.BotToken,
		"SLACK_API_URL":       fs.URL(),
		"EXOTEL_ACCOUNT_SID":  sim.AccountSID(),
		"EXOTEL_ACCESS_TOKEN": secretToken,
		"EXOTEL_BASE_URL":     ccm.URL,
		"STATE_DIR":           filepath.Join(t.TempDir(), "state"), // unused with Redis
		"PRESENCE_CACHE_TTL":  "0s",
		"REDIS_URL":           rs.URL(),
		"REDIS_TIMEOUT":       "1s",
		"ALERT_CHANNEL":       alertChannel,
		"ALERT_THRESHOLD":     "5",
		"ALERT_INTERVAL":      replicaPeriod.String(),
		// Long: within the test, every alert message is the episode's one.
		"ALERT_REPEAT":    "1h",
		"AFTER_CALL_POLL": "1h",
	}
	return &alertWorld{t: t, slack: fs, sim: sim}, env
}

func (aw *alertWorld) startReplica(env map[string]string, name string, opts ...app.Option) *alertReplica {
	t := aw.t
	t.Helper()
	cfg, err := config.Load(envLookup(maps.Clone(env)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clock := clockwork.NewFakeClockAt(replicaStart)
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name)
	a, err := app.New(cfg, log, append(replicaOptions(clock), opts...)...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{t: t, app: a, slack: aw.slack, sim: aw.sim, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { w.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		if err := w.shutdown(); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
		checkNoSecrets(t, name, logs.String())
	})
	return &alertReplica{name: name, w: w, clock: clock}
}

// alertRuns counts the alert job's ticks the replica has finished, run or
// skipped.
func (r *alertReplica) alertRuns() int {
	n := 0
	for line := range strings.Lines(r.w.logs.String()) {
		if !strings.Contains(line, " job=alerts ") {
			continue
		}
		for _, msg := range []string{`msg="job done"`, `msg="job tick skipped"`, `msg="job failed"`} {
			if strings.Contains(line, msg) {
				n++
			}
		}
	}
	return n
}

// tick moves the replicas' clocks to the k-th alert tick, one after the
// other, in order, each once the previous one has finished the tick: the
// first runs it, the others find it taken.
func (aw *alertWorld) tick(k int, order ...*alertReplica) {
	t := aw.t
	t.Helper()
	at := replicaStart.Truncate(replicaPeriod).Add(time.Duration(k) * replicaPeriod)
	for _, r := range order {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := r.clock.BlockUntilContext(ctx, alertStateTimers)
		cancel()
		if err != nil {
			t.Fatalf("%s: the scheduler did not set its timers: %v", r.name, err)
		}
		before := r.alertRuns()
		if d := at.Sub(r.clock.Now()); d > 0 {
			r.clock.Advance(d)
		}
		eventually(t, fmt.Sprintf("%s finished tick %d", r.name, k), func() bool { return r.alertRuns() > before })
	}
}

// alertMessages counts the messages posted in the alert channel whose
// notification text starts with prefix.
func (aw *alertWorld) alertMessages(prefix string) int {
	n := 0
	for _, m := range aw.slack.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == alertChannel && strings.HasPrefix(m.Text, prefix) {
			n++
		}
	}
	return n
}

// TestAlertStateFailedSaveOnOneReplica: during an episode one replica's
// saves of the alert state fail for a tick, the other replica runs the
// next tick, then the first recovers. Slack sees exactly one alert and
// one recovery.
func TestAlertStateFailedSaveOnOneReplica(t *testing.T) {
	aw, env := startAlertWorld(t)
	flaky := &flakyStore{}
	a := aw.startReplica(env, "replica-a", app.WithStateStore(func(s state.Store) state.Store {
		flaky.Store = s
		return flaky
	}))
	b := aw.startReplica(env, "replica-b")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := aw.slack.WaitConnections(ctx, 2); err != nil {
		t.Fatalf("replicas did not both connect: %v", err)
	}
	force := func(st presence.Status, from, to int) {
		for i := from; i <= to; i++ {
			if err := aw.sim.Force(replicaAgent(i), st); err != nil {
				t.Fatalf("force %s: %v", replicaAgent(i), err)
			}
		}
	}

	aw.tick(1, a, b)
	force(presence.Offline, 1, 6) // 4 available, below 5
	aw.tick(2, a, b)
	if n := aw.alertMessages("Warning · Low availability"); n != 1 {
		t.Fatalf("%d alerts after the first tick below, want 1", n)
	}

	// The episode ends while replica-a cannot save: it runs the tick and
	// posts nothing.
	force(presence.Available, 1, 6)
	flaky.setFailing(true)
	aw.tick(3, a, b)
	if n := aw.alertMessages("Availability recovered"); n != 0 {
		t.Errorf("%d recoveries from the tick whose save failed, want none", n)
	}
	if !strings.Contains(a.w.logs.String(), "reason=store_unavailable") {
		t.Errorf("replica-a did not report its tick skipped for store_unavailable:\n%s", a.w.logs.String())
	}

	// replica-b runs the next tick and posts the one recovery.
	aw.tick(4, b, a)
	// replica-a's store is back: it runs the ticks again, and posts nothing.
	flaky.setFailing(false)
	aw.tick(5, a, b)
	aw.tick(6, a, b)

	if n := aw.alertMessages("Warning · Low availability"); n != 1 {
		t.Errorf("%d alerts in all, want 1", n)
	}
	if n := aw.alertMessages("Availability recovered"); n != 1 {
		t.Errorf("%d recoveries in all, want 1", n)
	}
}
