package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// dryRunRules is a rules file with one rule of each kind.
const dryRunRules = `rules:
  - name: sales-floor
    teams: [sales_team]
    available_below: {warning: 14, critical: 10}
    channel: C0SALES
  - name: long-wrap-up
    status_longer_than: {status: after-call-work, after: 5m, escalate_after: 3m}
    channel: C0FLOOR
`

// The dry run needs no Slack or contact-center configuration: with none
// of the bot's variables set, it reads alerts.yml and reports each rule.
func TestRulesTestRunsWithoutConfiguration(t *testing.T) {
	isolate(t)
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCOUNT_SID", "EXOTEL_ACCESS_TOKEN",
		"ALERT_CHANNEL", "ALERT_RULES_FILE", "TIMEZONE"} {
		unsetForTest(t, v)
	}
	if err := os.WriteFile("alerts.yml", []byte(dryRunRules), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"rules", "test", "--simulate", "30m", "--agents", "60"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	for _, w := range []string{"\nsales-floor — ", "\nlong-wrap-up — ", "verdict:"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
}

// rules takes one subcommand, test; anything else is a usage error, and so
// are the dry run's bad flags and a bad file.
func TestRulesCommandUsage(t *testing.T) {
	isolate(t)
	unsetForTest(t, "ALERT_RULES_FILE")
	if err := os.WriteFile("bad.yml", []byte("rules:\n  - name: x\n    available_below: {warning: 3}\n    chanel: C0X\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rules"}, "rules wants test"},
		{[]string{"rules", "tset"}, `"tset"`},
		{[]string{"rules", "test", "--simulate", "forever"}, "simulate"},
		{[]string{"rules", "test", "--file", "bad.yml"}, "bad.yml:4: "},
		{[]string{"rules", "test"}, "ALERT_RULES_FILE"}, // no file anywhere
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, strings.NewReader(""), &stdout, &stderr); code != exitConfig {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitConfig)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout = %q, want nothing", tc.args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	run([]string{"help"}, strings.NewReader(""), &stdout, &stderr)
	if !strings.Contains(stdout.String(), "rules test [--file F] [--simulate 8h]") {
		t.Errorf("usage does not show rules test:\n%s", stdout.String())
	}
}
