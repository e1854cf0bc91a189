package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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
	for _, scope := range []string{"commands", "chat:write", "im:write", "users:read", "users:read.email"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}
