package bench

import (
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

	mapFile string
	// agents are the mapped Slack users; agents[i] is agentIDs[i].
	agents   []string
	agentIDs []string
	// supervisors are Slack users who may run /presence.
	supervisors []string
}

// newWorld starts the fakes: a 5,000-agent roster answering after latency,
// with the mapped agents available so that every /status change is a move
// the contact center allows.
func newWorld(latency time.Duration) (_ *world, err error) {
	dir, err := os.MkdirTemp("", "presence-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	w := &world{dir: dir}
	defer func() {
		if err != nil {
			w.close()
		}
	}()

	// A token of its own each run, so the logs check below finds it if it
	// leaks.
	w.sim = ccmsim.New(ccmsim.Options{Token: "bench-" + rand.Text(), Seed: seed})
	roster := ccmsim.GenerateRoster(rosterSize, nil, time.Now(), seed)
	w.sim.Add(roster...)
	for i := range mappedAgents {
		id := roster[i].ID
		if err := w.sim.Force(id, presence.Available); err != nil {
			return nil, fmt.Errorf("set up %s: %w", id, err)
		}
		w.agentIDs = append(w.agentIDs, id)
		w.agents = append(w.agents, fmt.Sprintf("UAGENT%04d", i+1))
	}
	for i := range supervisors {
		w.supervisors = append(w.supervisors, fmt.Sprintf("USUPER%02d", i+1))
	}
	w.sim.SetLatency(latency)
	w.ccm = httptest.NewServer(w.sim)
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
		// The benchmark measures the bot's own costs: the API budget
		// would pace its burst of 700 commands to the budget's rate.
		"EXOTEL_RATE_LIMIT=0",
	}
	if w.redis != nil {
		// State lives in Redis then; STATE_DIR set as well is warned about.
		return append(env, "REDIS_URL="+w.redis.url())
	}
	return append(env, "STATE_DIR="+filepath.Join(w.dir, "state"))
}

// secrets are the values that must never reach the bot's logs.
func (w *world) secrets() []string {
	return []string{w.sim.Token(), fakeslack.BotToken, fakeslack.AppToken}
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
