package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// isolate runs main's code in an empty directory (no .env, no agents.yml)
// with none of the bot's variables set.
func isolate(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL", "EXOTEL_ACCOUNT_SID",
		"EXOTEL_ACCESS_TOKEN", "EXOTEL_REGION", "EXOTEL_BASE_URL", "AGENT_MAP_FILE", "ALERT_CHANNEL",
		"ALERT_THRESHOLD", "SUMMARY_CHANNEL", "TIMEZONE", "LOG_LEVEL", "LOG_FORMAT", "HTTP_ADDR", "REDIS_URL"} {
		t.Setenv(v, "")
	}
}

func TestMissingConfigurationExitsTwoNamingEveryVariable(t *testing.T) {
	isolate(t)
	t.Setenv("EXOTEL_ACCESS_TOKEN", "exo-SECRET-5151")
	t.Setenv("SLACK_BOT_TOKEN", "not-a-bot-token-SECRET")
	t.Setenv("TIMEZONE", "Mars/Olympus")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(nil, strings.NewReader(""), &stdout, &stderr)
	if code != exitConfig {
		t.Errorf("exit = %d, want %d", code, exitConfig)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v, want under a second", took)
	}
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCOUNT_SID", "TIMEZONE", "Mars/Olympus", "demo", "check"} {
		if !strings.Contains(stderr.String(), v) {
			t.Errorf("stderr does not name %s:\n%s", v, stderr.String())
		}
	}
	for _, secret := range []string{"exo-SECRET-5151", "not-a-bot-token-SECRET"} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("stderr shows a secret:\n%s", stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing: problems go to stderr", stdout.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	isolate(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"frob"}, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("exit = %d, want %d", code, exitConfig)
	}
	if !strings.Contains(stderr.String(), `unknown command "frob"`) || !strings.Contains(stderr.String(), "demo") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestDemoCommandRunsPipedInput(t *testing.T) {
	isolate(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo"}, strings.NewReader("/presence\nwhoami\n"), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit = %d, stderr:\n%s", code, stderr.String())
	}
	for _, w := range []string{"Agent presence — 25 agents", "You are John Agent"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
}

func TestCheckWithoutConfiguration(t *testing.T) {
	isolate(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check"}, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("exit = %d, want %d", code, exitConfig)
	}
	if !strings.Contains(stderr.String(), "SLACK_APP_TOKEN") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// TestManifestMatchesTheBot: the manifest Slack apps are created from
// declares what the bot relies on.
func TestManifestMatchesTheBot(t *testing.T) {
	raw, err := os.ReadFile("manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				HomeTab bool `yaml:"home_tab_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct {
				Command      string `yaml:"command"`
				Description  string `yaml:"description"`
				UsageHint    string `yaml:"usage_hint"`
				ShouldEscape bool   `yaml:"should_escape"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.Enabled || !m.Features.AppHome.HomeTab {
		t.Errorf("socket mode %v, interactivity %v, home tab %v: want all on",
			m.Settings.SocketMode, m.Settings.Interactivity.Enabled, m.Features.AppHome.HomeTab)
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "app_home_opened") {
		t.Errorf("bot events %v lack app_home_opened", m.Settings.Events.BotEvents)
	}
	var names []string
	for _, c := range m.Features.SlashCommands {
		names = append(names, c.Command)
		// Mentions must arrive as <@U123|name> for /status busy @user.
		if !c.ShouldEscape || c.Description == "" || c.UsageHint == "" {
			t.Errorf("%s: should_escape %v, description %q, usage hint %q", c.Command, c.ShouldEscape, c.Description, c.UsageHint)
		}
	}
	if !slices.Equal(names, []string{"/status", "/presence"}) {
		t.Errorf("slash commands %v, want /status and /presence", names)
	}
	// channels:read lets `presence-bot check` turn a channel name into its ID.
	for _, scope := range []string{"commands", "chat:write", "im:write", "users:read", "users:read.email", "channels:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}

// reachable sets a valid configuration pointing at a fake Slack and the
// simulator, started for the test, and returns the fake Slack.
func reachable(t *testing.T) *fakeslack.Server {
	t.Helper()
	const token = "exo-SECRET-3e3e"
	sim := ccmsim.New(ccmsim.Options{Token: token})
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	for k, v := range map[string]string{
		"SLACK_APP_TOKEN":     fakeslack.AppToken,
		"SLACK_BOT_TOKEN":     fakeslack.BotToken,
		"SLACK_API_URL":       fs.URL(),
		"EXOTEL_ACCOUNT_SID":  sim.AccountSID(),
		"EXOTEL_ACCESS_TOKEN": token,
		"EXOTEL_BASE_URL":     ccm.URL,
	} {
		t.Setenv(k, v)
	}
	return fs
}

// unsetForTest unsets a variable for the test, restoring it afterwards,
// so that .env may set it (.env never overrides the environment).
func unsetForTest(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	os.Unsetenv(name)
}

// demo and check take no arguments: anything after them is a usage error,
// not something silently ignored.
func TestCheckAndDemoRejectStrayArguments(t *testing.T) {
	isolate(t)
	// A reachable configuration, so that nothing but the argument is wrong.
	reachable(t)
	for _, args := range [][]string{{"check", "extra"}, {"demo", "--foo"}, {"check", "-v"}, {"run", "now"}} {
		if args[0] == "run" {
			// Were the argument ignored, a valid configuration would run
			// the bot until stopped.
			t.Setenv("SLACK_APP_TOKEN", "")
		}
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader("/presence\n"), &stdout, &stderr)
		if code != exitConfig {
			t.Errorf("%v: exit %d, want %d", args, code, exitConfig)
		}
		for _, w := range []string{args[0], `"` + args[1] + `"`, "usage: presence-bot"} {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, w, stderr.String())
			}
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout = %q, want nothing", args, stdout.String())
		}
	}
}

// A mapping file that does not parse is a configuration error (exit 2) in
// check as in the run, each naming AGENT_MAP_FILE on stderr.
func TestCheckMalformedMappingExitsTwoLikeTheRun(t *testing.T) {
	isolate(t)
	reachable(t)
	if err := os.WriteFile("agents.yml", []byte("agents:\n  U0ALICE: agent_1\n  U0ALICE: agent_2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check"}, nil} {
		var stdout, stderr bytes.Buffer
		start := time.Now()
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
			t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitConfig, stdout.String(), stderr.String())
		}
		if !strings.Contains(stderr.String(), "AGENT_MAP_FILE") || !strings.Contains(stderr.String(), "line 3") {
			t.Errorf("%v: stderr does not name AGENT_MAP_FILE and the line:\n%s", args, stderr.String())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%v: took %v", args, took)
		}
	}
}

// Variables from .env count as much as the environment's: a typo there is
// a failed check.
func TestCheckUnknownVariableFromDotEnv(t *testing.T) {
	isolate(t)
	reachable(t)
	unsetForTest(t, "ALRET_CHANNEL")
	if err := os.WriteFile(".env", []byte("ALRET_CHANNEL=C0ALERTS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check"}, strings.NewReader(""), &stdout, &stderr); code != exitFailed {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "FAILED  variables        ALRET_CHANNEL: unknown; did you mean ALERT_CHANNEL?") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// check resolves a channel name the run refuses, and exits 2 as the run
// would.
func TestCheckChannelNameExitsTwoWithTheID(t *testing.T) {
	isolate(t)
	fs := reachable(t)
	fs.AddChannel(fakeslack.Channel{ID: "C0FLOOR", Name: "floor", Member: true})
	t.Setenv("SUMMARY_CHANNEL", "#floor")

	var stdout, stderr bytes.Buffer
	if code := run([]string{"check"}, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("check: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitConfig, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "SUMMARY_CHANNEL is a name: use its ID C0FLOOR (#floor)") ||
		!strings.Contains(stderr.String(), "SUMMARY_CHANNEL") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	// Were the name accepted, a broken mapping file would still stop the
	// run (rather than let it run until stopped); the name is reported
	// first, as configuration is loaded before the mapping file.
	if err := os.WriteFile("agents.yml", []byte("agents: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(nil, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("run: exit %d, want %d", code, exitConfig)
	}
	if !strings.Contains(stderr.String(), `SUMMARY_CHANNEL: "#floor"`) || !strings.Contains(stderr.String(), "presence-bot check") {
		t.Errorf("run: stderr:\n%s", stderr.String())
	}
}

// At start an unknown variable is logged at ERROR level (a typo may have
// switched a feature off) but does not stop the bot; with configuration
// errors it is listed with them, since it is often their cause.
func TestUnknownVariablesAtStart(t *testing.T) {
	isolate(t)
	reachable(t)
	t.Setenv("ALRET_CHANNEL", "C0ALERTS")
	// A mapping file that does not parse stops the run right after the
	// configuration is loaded and the logger made.
	if err := os.WriteFile("agents.yml", []byte("agents: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("exit %d, want %d (the mapping file)", code, exitConfig)
	}
	if !strings.Contains(stderr.String(), "level=ERROR") || !strings.Contains(stderr.String(), "ALRET_CHANNEL: unknown; did you mean ALERT_CHANNEL?") {
		t.Errorf("stderr:\n%s", stderr.String())
	}

	stderr.Reset()
	t.Setenv("ALERT_CHANNEL", "C0ALERTS")
	t.Setenv("ALRET_THRESHOLD", "3")
	if code := run(nil, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
		t.Errorf("exit %d, want %d", code, exitConfig)
	}
	for _, w := range []string{"ALERT_THRESHOLD: required", "ALRET_THRESHOLD: unknown; did you mean ALERT_THRESHOLD?"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
}
