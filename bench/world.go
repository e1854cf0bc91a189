package bench

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// world is what the bot runs against: the simulator over HTTP, the fake
// Slack, and a directory for its mapping file and state.
type world struct {
	sim   *ccmsim.Sim
	ccm   *httptest.Server
	slack *fakeslack.Server
	dir   string
	redis *redisServer // nil unless the scenario runs with Redis
	// arrivals stamps every request the simulator gets, for the rate the
	// contact center sees.
	arrivals *arrivalLog
	// rateLimit is the bots' EXOTEL_RATE_LIMIT; "" leaves it unset, so
	// the bot's default applies.
	rateLimit string

	mapFile string
	// roster is the contact center's agents as the load starts (the
	// mapped ones available).
	roster []presence.Agent
	// agents are the mapped Slack users; agents[i] is agentIDs[i].
	agents   []string
	agentIDs []string
	// supervisors are Slack users who may run /presence.
	supervisors []string
}

// newWorld starts the fakes: a roster of agents answering after latency,
// with the first mapped of them available so that every /status change is
// a move the contact center allows.
func newWorld(latency time.Duration, agents, mapped int) (_ *world, err error) {
	dir, err := os.MkdirTemp("", "presence-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// The benchmark measures the bot's own costs: the API budget would
	// pace the burst to the budget's rate. The fleet scenario sets one.
	w := &world{dir: dir, rateLimit: "0"}
	defer func() {
		if err != nil {
			w.close()
		}
	}()

	// A token of its own each run, so the logs check below finds it if it
	// leaks.
	w.sim = ccmsim.New(ccmsim.Options{Token: "bench-" + rand.Text(), Seed: seed})
	roster := ccmsim.GenerateRoster(agents, nil, time.Now(), seed)
	w.sim.Add(roster...)
	for i := range mapped {
		id := roster[i].ID
		if err := w.sim.Force(id, presence.Available); err != nil {
			return nil, fmt.Errorf("set up %s: %w", id, err)
		}
		roster[i].Status = presence.Available
		w.agentIDs = append(w.agentIDs, id)
		w.agents = append(w.agents, fmt.Sprintf("UAGENT%04d", i+1))
	}
	for i := range supervisors {
		w.supervisors = append(w.supervisors, fmt.Sprintf("USUPER%02d", i+1))
	}
	w.roster = roster
	w.sim.SetLatency(latency)
	w.arrivals = &arrivalLog{next: w.sim}
	w.ccm = httptest.NewServer(w.arrivals)
	w.slack = fakeslack.New(fakeslack.Options{})

	w.mapFile = filepath.Join(dir, "agents.yml")
	if err := os.WriteFile(w.mapFile, []byte(w.mapping()), 0o600); err != nil {
		return nil, fmt.Errorf("write the mapping file: %w", err)
	}
	return w, nil
}

// mapping is the AGENT_MAP_FILE of the world.
func (w *world) mapping() string {
	var b strings.Builder
	b.WriteString("agents:\n")
	for i, u := range w.agents {
		fmt.Fprintf(&b, "  %s: %s\n", u, w.agentIDs[i])
	}
	b.WriteString("supervisors:\n")
	for _, u := range w.supervisors {
		fmt.Fprintf(&b, "  - %s\n", u)
	}
	return b.String()
}

// env is the bot's whole environment: nothing leaks in from the shell
// that runs the benchmark, so every run configures the same bot.
func (w *world) env(httpAddr string) []string {
	env := []string{
		"SLACK_APP_TOKEN=" + fakeslack.AppToken,
		"SLACK_BOT_TOKEN=" + fakeslack.BotToken,
		"SLACK_API_URL=" + w.slack.URL(),
		"EXOTEL_ACCOUNT_SID=" + w.sim.AccountSID(),
		"EXOTEL_ACCESS_TOKEN=" + w.sim.Token(),
		"EXOTEL_BASE_URL=" + w.ccm.URL,
		"AGENT_MAP_FILE=" + w.mapFile,
		"HTTP_ADDR=" + httpAddr,
		"LOG_LEVEL=warn",
	}
	if w.rateLimit != "" {
		env = append(env, "EXOTEL_RATE_LIMIT="+w.rateLimit)
	}
	if w.redis != nil {
		// State lives in Redis then; STATE_DIR set as well is warned about.
		return append(env, "REDIS_URL="+w.redis.url())
	}
	return append(env, "STATE_DIR="+w.stateDir())
}

// stateDir is the bot's STATE_DIR when it runs without Redis.
func (w *world) stateDir() string { return filepath.Join(w.dir, "state") }

// secrets are the values that must never reach the bot's logs.
func (w *world) secrets() []string {
	return []string{w.sim.Token(), fakeslack.BotToken, fakeslack.AppToken}
}

// arrivalLog is the simulator with every request's arrival time taken, so
// the rate the contact center sees is measured where it is felt (as the
// app's fleet test measures it).
type arrivalLog struct {
	next http.Handler
	mu   sync.Mutex
	at   []time.Time
}

func (l *arrivalLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	l.mu.Lock()
	l.at = append(l.at, now)
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

// reset forgets what arrived so far.
func (l *arrivalLog) reset() {
	l.mu.Lock()
	l.at = nil
	l.mu.Unlock()
}

// times are the arrivals since the last reset.
func (l *arrivalLog) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.at)
}

func (w *world) close() {
	if w.redis != nil {
		w.redis.stop()
	}
	if w.slack != nil {
		w.slack.Close()
	}
	if w.ccm != nil {
		w.ccm.Close()
	}
	_ = os.RemoveAll(w.dir)
}
