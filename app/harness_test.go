package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// Slack users of the end-to-end world.
const (
	userAlice   = "U0ALICE" // agent_001 by the mapping file
	userBob     = "U0BOB"   // agent_002 by the mapping file
	userCarol   = "U0CAROL" // agent_003 by her Slack profile email only
	userSuper   = "U0SUPER" // supervisor, no agent of her own
	userStray   = "U0STRAY" // nobody the bot knows
	secretToken = "exo-SECRET-91c2"
)

const mapping = `agents:
  U0ALICE: agent_001
  U0BOB: agent_002
supervisors:
  - U0SUPER
`

// world is the bot running against a fake Slack and the simulator.
type world struct {
	t     *testing.T
	app   *app.App
	ccm   string // the simulator's URL
	slack *fakeslack.Server
	sim   *ccmsim.Sim
	logs  *testlog.Buffer
	stop  context.CancelFunc
	done  chan error
	// alertTicks counts the alert ticks tickAlerts moved the clock to.
	alertTicks int
}

func roster() []presence.Agent {
	team := func(id, name string) *presence.Team { return &presence.Team{ID: id, Name: name} }
	// The simulator runs on the wall clock here, as the bot does.
	since := time.Now().Add(-30 * time.Minute)
	return []presence.Agent{
		{ID: "agent_001", Name: "Alice Agent", Email: "alice@example.com", Status: presence.Available, StatusSince: since, Team: team("sales_team", "Sales")},
		{ID: "agent_002", Name: "Bob Busy", Email: "bob@example.com", Status: presence.Busy, StatusSince: since, Team: team("support_team", "Support")},
		{ID: "agent_003", Name: "Carol Calls", Email: "Carol@Example.com", Status: presence.Offline, StatusSince: since, Team: team("support_team", "Support")},
		{ID: "agent_004", Name: "Dan On-Call", Email: "dan@example.com", Status: presence.Available, StatusSince: since, Team: team("sales_team", "Sales")},
	}
}

type setting func(env map[string]string, opts *[]app.Option)

// start runs the whole bot: configuration from an environment, the real
// app wiring, slack-go against the fake Slack, the client against the
// simulator.
func start(t *testing.T, settings ...setting) *world {
	t.Helper()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)

	fs := fakeslack.New(fakeslack.Options{PingInterval: time.Second})
	t.Cleanup(fs.Close)
	fs.AddUser(fakeslack.User{ID: userCarol, Name: "carol", Email: "carol@example.com"})
	fs.AddUser(fakeslack.User{ID: userStray, Name: "stray", Email: "stray@elsewhere.com"})

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
		"EXOTEL_BASE_URL":     ccm.URL,
		"AGENT_MAP_FILE":      mapFile,
		"STATE_DIR":           filepath.Join(dir, "state"),
		"PRESENCE_CACHE_TTL":  "0s",
	}
	opts := []app.Option{
		app.WithPresenceOptions(presence.WithRetry(2, time.Millisecond, 5*time.Millisecond)),
		app.WithBotConfig(func(c *bot.Config) { c.CommandTimeout = 2 * time.Second }),
		// Only the start probe: re-checks would take faults and counts
		// meant for the commands under test (ready_test.go speeds them up).
		app.WithProbes(time.Hour, time.Hour),
	}
	for _, s := range settings {
		s(env, &opts)
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(cfg, log, opts...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{t: t, app: a, ccm: env["EXOTEL_BASE_URL"], slack: fs, sim: sim, logs: logs, stop: cancel, done: make(chan error, 1)}
	go func() { w.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		w.shutdown()
		// No secret reaches the logs, whatever the test did.
		if strings.Contains(logs.String(), secretToken) || strings.Contains(logs.String(), fakeslack.BotToken) {
			t.Errorf("a secret appears in the logs")
		}
	})
	w.waitConnected(1)
	// The start probe (one list, see RunProbes) is the app's, not the
	// test's: once it has been answered, counting starts over.
	eventually(t, "the start probe answered", func() bool {
		logs := logs.String()
		for _, s := range []string{"ok", "degraded", "refused"} {
			if strings.Contains(logs, "component=health part=contact_center state="+s) {
				return true
			}
		}
		return false
	})
	sim.ResetStats()
	return w
}

func (w *world) waitConnected(n int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.slack.WaitConnectCount(ctx, n); err != nil {
		w.t.Fatalf("bot did not connect (%d): %v\nlogs:\n%s", n, err, w.logs.String())
	}
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		w.t.Fatalf("bot not connected: %v", err)
	}
}

// shutdown stops the bot and waits for Run to return, once.
func (w *world) shutdown() error {
	w.stop()
	select {
	case err, ok := <-w.done:
		if ok {
			close(w.done)
		}
		return err
	case <-time.After(10 * time.Second):
		w.t.Fatal("Run did not return within 10s of shutdown")
		return nil
	}
}

// send types a slash command as a user and returns the envelope ID.
func (w *world) send(user, command, text string) string {
	w.t.Helper()
	id, err := w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: command, Text: text, UserID: user, ChannelID: "C0FLOOR"})
	if err != nil {
		w.t.Fatalf("send %s %s: %v", command, text, err)
	}
	return id
}

// answer waits for the answer to an envelope and returns its visible text.
func (w *world) answer(envelopeID string) fakeslack.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := w.slack.WaitMessage(ctx, func(m fakeslack.Message) bool {
		return m.Method == "response_url" && m.EnvelopeID == envelopeID
	})
	if err != nil {
		w.t.Fatalf("no answer to %s: %v\nlogs:\n%s", envelopeID, err, w.logs.String())
	}
	return m
}

// ask sends a command and returns the answer's text (all blocks).
func (w *world) ask(user, command, text string) string {
	w.t.Helper()
	m := w.answer(w.send(user, command, text))
	if m.ResponseType != "ephemeral" {
		w.t.Errorf("%s %s answered %q, want ephemeral", command, text, m.ResponseType)
	}
	return blockText(w.t, m.Blocks)
}

// blockText collects every text in a Block Kit payload.
func blockText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var blocks any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s)
				b.WriteByte('\n')
			}
			for k, vv := range x {
				if k != "text" || !isString(vv) {
					walk(vv)
				}
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(blocks)
	return b.String()
}

func isString(v any) bool { _, ok := v.(string); return ok }

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("answer does not contain %q:\n%s", w, got)
		}
	}
}

func (w *world) ccmURL() string { return w.ccm }

// waitLog waits, in steps of a few milliseconds, for the logs to hold s.
func (w *world) waitLog(s string) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.logs.String(), s) {
		if time.Now().After(deadline) {
			w.t.Fatalf("the logs never said %q:\n%s", s, w.logs.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}
