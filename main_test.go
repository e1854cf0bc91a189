package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
