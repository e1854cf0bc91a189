package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestCheck(t *testing.T) {
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	ccm := httptest.NewServer(sim)
	defer ccm.Close()
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	mapFile := filepath.Join(t.TempDir(), "agents.yml")
	if err := os.WriteFile(mapFile, []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}

	const wrongSlack = "xoxb-WRONG-5e1d"
	const wrongApp = "xapp-WRONG-77aa"
	const wrongExotel = "exo-WRONG-0b0b"
	tests := []struct {
		name    string
		env     map[string]string
		ok      bool
		wants   []string
		secrets []string
	}{
		{"everything answers", nil, true,
			[]string{"ok      agent mapping", "2 agents, 1 supervisors", "ok      slack bot token", fakeslack.TeamID,
				"ok      slack app token", "ok      contact center", "4 agents, 2 available", "Everything answers"}, nil},
		{"wrong bot token", map[string]string{"SLACK_BOT_TOKEN": wrongSlack}, false,
			[]string{"FAILED  slack bot token", "invalid_auth", "hint:", "ok      slack app token"}, []string{wrongSlack}},
		{"wrong app token", map[string]string{"SLACK_APP_TOKEN": wrongApp}, false,
			[]string{"ok      slack bot token", "FAILED  slack app token", "hint:"}, []string{wrongApp}},
		{"wrong contact-center token", map[string]string{"EXOTEL_ACCESS_TOKEN": wrongExotel}, false,
			[]string{"FAILED  contact center", "unauthorized", "hint: the contact center refused EXOTEL_ACCESS_TOKEN"}, []string{wrongExotel}},
		{"contact center unreachable", map[string]string{"EXOTEL_BASE_URL": dead}, false,
			[]string{"FAILED  contact center", "unavailable", "hint: nothing answered"}, nil},
		{"wrong account", map[string]string{"EXOTEL_ACCOUNT_SID": "ACnope"}, false,
			[]string{"FAILED  contact center", "hint: no such account"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"SLACK_APP_TOKEN":     fakeslack.AppToken,
				"SLACK_BOT_TOKEN":     fakeslack.BotToken,
				"SLACK_API_URL":       fs.URL(),
				"EXOTEL_ACCOUNT_SID":  sim.AccountSID(),
				"EXOTEL_ACCESS_TOKEN": secretToken,
				"EXOTEL_BASE_URL":     ccm.URL,
				"AGENT_MAP_FILE":      mapFile,
				"STATE_DIR":           t.TempDir(),
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = app.Check(ctx, cfg, &out, app.WithPresenceOptions(presence.WithAttemptTimeout(2*time.Second)))
			if ok := err == nil; ok != tt.ok {
				t.Errorf("Check = %v, want ok %v:\n%s", err, tt.ok, out.String())
			}
			if err != nil && !errors.Is(err, app.ErrCheckFailed) {
				t.Errorf("Check = %v, want ErrCheckFailed: the configuration is valid", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, s := range append(tt.secrets, secretToken, fakeslack.BotToken, fakeslack.AppToken) {
				if strings.Contains(out.String(), s) {
					t.Errorf("output shows a secret %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// checkWorld is what check reaches: a fake Slack, the simulator, a
// mapping file and a state directory, all in the test's own space.
type checkWorld struct {
	slack *fakeslack.Server
	sim   *ccmsim.Sim
	ccm   string
	dir   string
}

func newCheckWorld(t *testing.T) *checkWorld {
	t.Helper()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agents.yml"), []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}
	return &checkWorld{slack: fs, sim: sim, ccm: ccm.URL, dir: dir}
}

// env is a valid configuration reaching the world, changed by kv pairs
// (an empty value unsets).
func (w *checkWorld) env(kv ...string) map[string]string {
	env := map[string]string{
		"SLACK_APP_TOKEN":     fakeslack.AppToken,
		"SLACK_BOT_TOKEN":     fakeslack.BotToken,
		"SLACK_API_URL":       w.slack.URL(),
		"EXOTEL_ACCOUNT_SID":  w.sim.AccountSID(),
		"EXOTEL_ACCESS_TOKEN": secretToken,
		"EXOTEL_BASE_URL":     w.ccm,
		"AGENT_MAP_FILE":      filepath.Join(w.dir, "agents.yml"),
		"STATE_DIR":           filepath.Join(w.dir, "state"),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(env, kv[i])
		} else {
			env[kv[i]] = kv[i+1]
		}
	}
	return env
}

// check loads env as main's check does (channel names allowed) and runs
// Check, returning its output.
func (w *checkWorld) check(t *testing.T, env map[string]string, opts ...config.Option) (string, error) {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		append([]config.Option{config.AllowChannelNames()}, opts...)...)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = app.Check(ctx, cfg, &out, app.WithPresenceOptions(presence.WithAttemptTimeout(2*time.Second)))
	return out.String(), err
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func lacks(t *testing.T, out string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(out, n) {
			t.Errorf("output has %q:\n%s", n, out)
		}
	}
}

// Without REDIS_URL there are no replicas; with it, check reaches Redis,
// says how, and fails with a hint when Redis does not answer, refuses
// the password, is a read-only replica or is slower than REDIS_TIMEOUT.
func TestCheckRedis(t *testing.T) {
	w := newCheckWorld(t)

	t.Run("off", func(t *testing.T) {
		out, err := w.check(t, w.env())
		if err != nil {
			t.Fatalf("Check = %v:\n%s", err, out)
		}
		contains(t, out, "ok      replicas         off (state in STATE_DIR "+filepath.Join(w.dir, "state")+")")
		lacks(t, out, "redis ")
	})

	const password = "s3cret-REDIS-pw"
	srv := redistest.Start(t, "--requirepass", password)
	good := "redis://:" + password + "@" + srv.Addr + "/0"
	shown := "redis://" + srv.Addr + "/0"

	t.Run("reached", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", good))
		if err != nil {
			t.Fatalf("Check = %v:\n%s", err, out)
		}
		contains(t, out, "ok      redis            "+shown+" (single server): Redis 7.", "role master")
		lacks(t, out, password, "ok      STATE_DIR", "replicas         off")
	})

	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-PASSWORD-77"
		out, err := w.check(t, w.env("REDIS_URL", "redis://:"+wrong+"@"+srv.Addr+"/0"))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "hint: Redis refused the password in REDIS_URL")
		lacks(t, out, wrong, password)
	})

	t.Run("read-only replica", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(srv.Addr)
		replica := redistest.Start(t, "--replicaof", "127.0.0.1", port, "--masterauth", password)
		out, err := w.check(t, w.env("REDIS_URL", replica.URL()))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "read-only replica", "hint: point REDIS_URL at the primary")
	})

	t.Run("slower than REDIS_TIMEOUT", func(t *testing.T) {
		out, err := w.check(t, w.env("REDIS_URL", good, "REDIS_TIMEOUT", "1ns"))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "more than REDIS_TIMEOUT (1ns)", "hint: raise REDIS_TIMEOUT")
	})

	t.Run("down", func(t *testing.T) {
		down := redistest.Start(t)
		down.Stop()
		out, err := w.check(t, w.env("REDIS_URL", down.URL()))
		if !errors.Is(err, app.ErrCheckFailed) {
			t.Errorf("Check = %v, want ErrCheckFailed", err)
		}
		contains(t, out, "FAILED  redis ", "connection refused", "hint: nothing answered at "+down.Addr)
	})
}

// STATE_DIR is where the bot keeps state without Redis: check creates it
// as the bot would and writes a file in it. One it cannot create stops the
// start (exit 2), as in the run; one it cannot write fails later.
func TestCheckStateDir(t *testing.T) {
	w := newCheckWorld(t)

	dir := filepath.Join(w.dir, "new", "state")
	out, err := w.check(t, w.env("STATE_DIR", dir))
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "ok      STATE_DIR        "+dir+" is writable")
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after check, %s holds %v (%v), want it empty", dir, entries, err)
	}

	file := filepath.Join(w.dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = w.check(t, w.env("STATE_DIR", filepath.Join(file, "state")))
	var ce *app.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("Check = %v, want a *ConfigError (the bot would not start)", err)
	}
	contains(t, out, "FAILED  STATE_DIR        ", filepath.Join(file, "state"), "not a directory", "hint: ")

	if runtime.GOOS == "linux" {
		// /proc exists, and nobody, root included, creates files in it.
		out, err = w.check(t, w.env("STATE_DIR", "/proc"))
		if !errors.Is(err, app.ErrCheckFailed) || errors.As(err, &ce) {
			t.Errorf("Check = %v, want ErrCheckFailed (the bot starts, then fails to save)", err)
		}
		contains(t, out, "FAILED  STATE_DIR        ", "/proc", "hint: ")
	}

	// With Redis the state lives there: STATE_DIR is not touched.
	srv := redistest.Start(t)
	out, err = w.check(t, w.env("STATE_DIR", filepath.Join(file, "state"), "REDIS_URL", srv.URL()))
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	lacks(t, out, "FAILED")
	contains(t, out, "WARNING variables        STATE_DIR: set, but state lives in Redis")
}

// Channel variables: a name is resolved to its ID through
// conversations.list (public channels first, private ones only when
// needed), an ID is checked for membership, and a missing scope is named.
func TestCheckChannels(t *testing.T) {
	w := newCheckWorld(t)
	// Enough channels for several pages.
	for i := range 450 {
		w.slack.AddChannel(fakeslack.Channel{ID: fmt.Sprintf("C9%06d", i), Name: fmt.Sprintf("floor-%03d", i), Member: true})
	}
	w.slack.AddChannel(fakeslack.Channel{ID: "C0GENERAL", Name: "general", Member: true})
	w.slack.AddChannel(fakeslack.Channel{ID: "C0LOBBY", Name: "lobby"})
	w.slack.AddChannel(fakeslack.Channel{ID: "C0OLD", Name: "old-alerts", Archived: true, Member: true})
	w.slack.AddChannel(fakeslack.Channel{ID: "G0SUPER", Name: "supervisors", Private: true, Member: true})

	tests := []struct {
		name    string
		env     []string
		missing []string // scopes the bot token lacks
		config  bool     // the bot would refuse to start: *ConfigError
		failed  bool     // ErrCheckFailed
		wants   []string
	}{
		{"ids", []string{"SUMMARY_CHANNEL", "C0GENERAL", "ALERT_CHANNEL", "G0SUPER", "ALERT_THRESHOLD", "2"}, nil, false, false,
			[]string{"ok      channels         SUMMARY_CHANNEL C0GENERAL (#general)", "ok      channels         ALERT_CHANNEL G0SUPER (#supervisors, private)"}},
		{"public name", []string{"SUMMARY_CHANNEL", "#general"}, nil, true, false,
			[]string{"FAILED  channels         SUMMARY_CHANNEL is a name: use its ID C0GENERAL (#general)"}},
		{"private name", []string{"ALERT_CHANNEL", "supervisors", "ALERT_THRESHOLD", "2"}, nil, true, false,
			[]string{"FAILED  channels         ALERT_CHANNEL is a name: use its ID G0SUPER (#supervisors, private)"}},
		{"link", []string{"SUMMARY_CHANNEL", "https://acme.slack.com/archives/C0GENERAL"}, nil, true, false,
			[]string{"FAILED  channels         SUMMARY_CHANNEL is a link: use its ID C0GENERAL (#general)"}},
		{"unknown name", []string{"SUMMARY_CHANNEL", "#nowhere"}, nil, true, false,
			[]string{"FAILED  channels         SUMMARY_CHANNEL is a name (\"#nowhere\"), and no channel the bot can see has it", "hint: "}},
		{"not a member", []string{"SUMMARY_CHANNEL", "C0LOBBY"}, nil, false, true,
			[]string{"FAILED  channels         SUMMARY_CHANNEL C0LOBBY (#lobby): the bot is not in it", "hint: /invite @presence-bot in #lobby"}},
		{"archived", []string{"SUMMARY_CHANNEL", "C0OLD"}, nil, false, true,
			[]string{"FAILED  channels         SUMMARY_CHANNEL C0OLD (#old-alerts) is archived", "hint: "}},
		{"unknown id", []string{"SUMMARY_CHANNEL", "C0NOPE"}, nil, false, true,
			[]string{"FAILED  channels         SUMMARY_CHANNEL C0NOPE: no channel the bot can see has this ID", "hint: "}},
		{"name without channels:read", []string{"SUMMARY_CHANNEL", "#general"}, []string{"channels:read"}, true, false,
			[]string{"FAILED  channels         SUMMARY_CHANNEL is a name (\"#general\"): cannot look it up: missing_scope", "hint: ", "channels:read"}},
		{"private name without groups:read", []string{"SUMMARY_CHANNEL", "#supervisors"}, []string{"groups:read"}, true, false,
			[]string{"FAILED  channels         SUMMARY_CHANNEL is a name (\"#supervisors\"): cannot look it up: missing_scope", "hint: ", "groups:read"}},
		// The bot itself needs neither scope to post: an ID check cannot
		// verify is a warning, not a failure.
		{"id without the scopes", []string{"SUMMARY_CHANNEL", "C0GENERAL"}, []string{"channels:read", "groups:read"}, false, false,
			[]string{"WARNING channels         SUMMARY_CHANNEL C0GENERAL: not verified: missing_scope", "channels:read"}},
		{"no channels", nil, nil, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.slack.SetMissingScopes(tt.missing...)
			defer w.slack.SetMissingScopes()
			before := w.slack.Calls("conversations.list")
			out, err := w.check(t, w.env(tt.env...))
			var ce *app.ConfigError
			switch {
			case tt.config && !errors.As(err, &ce):
				t.Errorf("Check = %v, want a *ConfigError: the bot would refuse to start", err)
			case !tt.config && tt.failed && (!errors.Is(err, app.ErrCheckFailed) || errors.As(err, &ce)):
				t.Errorf("Check = %v, want ErrCheckFailed", err)
			case !tt.config && !tt.failed && err != nil:
				t.Errorf("Check = %v, want ok:\n%s", err, out)
			}
			contains(t, out, tt.wants...)
			if calls := w.slack.Calls("conversations.list") - before; tt.env == nil && calls != 0 {
				t.Errorf("no channel set, yet conversations.list was called %d times", calls)
			}
		})
	}
}

// Unknown variables fail the check (the bot would run with a feature
// silently off); settings with no effect are warnings.
func TestCheckUnknownAndIgnoredVariables(t *testing.T) {
	w := newCheckWorld(t)
	out, err := w.check(t, w.env())
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "ok      variables        ")

	out, err = w.check(t, w.env("ALERT_THRESHOLD", "3"), config.WithEnviron([]string{"ALRET_CHANNEL=C0SECRETISH", "PATH=/bin"}))
	var ce *app.ConfigError
	if !errors.Is(err, app.ErrCheckFailed) || errors.As(err, &ce) {
		t.Errorf("Check = %v, want ErrCheckFailed", err)
	}
	contains(t, out,
		"FAILED  variables        ALRET_CHANNEL: unknown; did you mean ALERT_CHANNEL?",
		"WARNING variables        ALERT_THRESHOLD: set, but alerts are off (ALERT_CHANNEL is not set): it has no effect")
	lacks(t, out, "C0SECRETISH", "PATH")

	out, err = w.check(t, w.env("ALERT_THRESHOLD", "3"))
	if err != nil {
		t.Errorf("Check = %v: a setting without effect is only a warning\n%s", err, out)
	}
}

// The last lines say what the configuration switches on and off.
func TestCheckSwitchedOn(t *testing.T) {
	w := newCheckWorld(t)
	w.slack.AddChannel(fakeslack.Channel{ID: "C0SUMMARY", Name: "floor", Member: true})
	w.slack.AddChannel(fakeslack.Channel{ID: "C0ALERTS", Name: "floor-alerts", Member: true})
	srv := redistest.Start(t)

	out, err := w.check(t, w.env("SUMMARY_CHANNEL", "C0SUMMARY", "ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "3",
		"ALERT_TEAM_THRESHOLDS", "sales_team=2", "REDIS_URL", srv.URL(), "HTTP_ADDR", ":8080"))
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "\nSwitched on: summaries to C0SUMMARY every 1h; alerts to C0ALERTS (total below 3; sales_team below 2); "+
		"replicas via Redis ("+srv.URL()+", single server); health on :8080\n")
	lacks(t, out, "Switched off")

	state := filepath.Join(w.dir, "state")
	out, err = w.check(t, w.env("SUMMARY_CHANNEL", "C0SUMMARY", "SUMMARY_SCHEDULE", "0 9 * * Mon-Fri", "TIMEZONE", "Asia/Kolkata"))
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "\nSwitched on: summaries to C0SUMMARY at \"0 9 * * Mon-Fri\" (Asia/Kolkata)\n",
		"\nSwitched off: alerts (ALERT_CHANNEL not set); replicas (no REDIS_URL: state in "+state+"); health endpoints (HTTP_ADDR not set)\n")

	out, _ = w.check(t, w.env())
	contains(t, out, "\nSwitched on: only /status and /presence\n",
		"\nSwitched off: summaries (SUMMARY_CHANNEL not set); alerts (ALERT_CHANNEL not set);")
}

// A mapping file that does not parse stops the bot at start (exit 2);
// check reports it, goes on with the rest, and says the same.
func TestCheckMalformedMappingIsAConfigError(t *testing.T) {
	w := newCheckWorld(t)
	bad := filepath.Join(w.dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("agents:\n  U0ALICE: [not, an, id]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := w.check(t, w.env("AGENT_MAP_FILE", bad))
	var ce *app.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "AGENT_MAP_FILE") {
		t.Errorf("Check = %v, want a *ConfigError naming AGENT_MAP_FILE", err)
	}
	contains(t, out, "FAILED  agent mapping", "line 2", "ok      slack bot token", "ok      contact center")
}

// A token the contact center knows but does not let read presence (403)
// gets its own hint, not the one for a wrong token.
func TestCheckForbiddenToken(t *testing.T) {
	w := newCheckWorld(t)
	w.sim.Inject(ccmsim.Fault{Method: "GET", Code: 403})
	out, err := w.check(t, w.env())
	if !errors.Is(err, app.ErrCheckFailed) {
		t.Errorf("Check = %v, want ErrCheckFailed", err)
	}
	contains(t, out, "FAILED  contact center", "hint: the contact center knows EXOTEL_ACCESS_TOKEN but does not let it read presence")
}
