package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/app"
)

// dryRunRules is a small rules file: an availability rule with both
// levels, on a team the simulated floor often runs short in, and an
// after-call-work rule the floor's lingerers trip.
const dryRunRules = `rules:
  - name: sales-floor
    teams: [sales_team]
    available_below: {warning: 24, critical: 18, resolve_at: 25}
    repeat: 30m
    channel: C0SALES
  - name: long-wrap-up
    status_longer_than: {status: after-call-work, after: 5m, escalate_after: 3m}
    channel: C0FLOOR
`

// writeRules writes a rules file in a temporary directory.
func writeDryRules(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alerts.yml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env is a fake environment for the dry run's lookups.
func dryEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// dryRun runs `presence-bot rules test` with args and returns its exit
// status and outputs.
func dryRun(t *testing.T, lookup func(string) (string, bool), args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := app.RulesTestMain(context.Background(), args, lookup, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// section is the part of the report about one rule: from its heading to
// the next blank line.
func drySection(t *testing.T, out, rule string) string {
	t.Helper()
	i := strings.Index(out, "\n"+rule+" — ")
	if i < 0 {
		t.Fatalf("no section for rule %q in:\n%s", rule, out)
	}
	s := out[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// total reads "N <what>" from a section's totals line.
func dryTotal(t *testing.T, sec, what string) int {
	t.Helper()
	// "1 DM", "3 DMs": the plural's s is optional.
	m := regexp.MustCompile(`(?m)^  totals:.*?\b([0-9,]+) ` + regexp.QuoteMeta(strings.TrimSuffix(what, "s")) + `s?\b`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("no total of %q in:\n%s", what, sec)
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRulesTestReportsEachRule(t *testing.T) {
	file := writeDryRules(t, dryRunRules)
	code, out, errOut := dryRun(t, dryEnv(nil), "--file", file, "--simulate", "2h", "--agents", "120")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}
	// The header says what was simulated and that agents count as mapped.
	for _, w := range []string{"2h", "120 simulated agents", "made-up Slack user", "Nothing is sent to Slack"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}

	sales := drySection(t, out, "sales-floor")
	// Episodes name their levels in words, with when they fired and for
	// how long.
	episode := regexp.MustCompile(`(?m)^  \d\d:\d\d–\d\d:\d\d +\d+[hm]\S* +(warning|critical)( → (warning|critical))*`)
	if !episode.MatchString(sales) {
		t.Errorf("sales-floor: no episode line with its levels:\n%s", sales)
	}
	if !strings.Contains(sales, "critical") {
		t.Errorf("sales-floor: never critical, want the lunch dip to reach it:\n%s", sales)
	}
	if dryTotal(t, sales, "posts") == 0 || !strings.Contains(sales, "verdict:") {
		t.Errorf("sales-floor: want posts and a verdict:\n%s", sales)
	}

	acw := drySection(t, out, "long-wrap-up")
	for _, what := range []string{"DMs", "escalations"} {
		if n := dryTotal(t, acw, what); n == 0 {
			t.Errorf("long-wrap-up: %d %s, want some from the floor's lingerers:\n%s", n, what, acw)
		}
	}
	if dryTotal(t, acw, "escalations") > dryTotal(t, acw, "DMs") {
		t.Errorf("long-wrap-up: more escalations than DMs, want every agent nudged first:\n%s", acw)
	}
	if !strings.Contains(acw, "verdict:") {
		t.Errorf("long-wrap-up: no verdict:\n%s", acw)
	}
}

func TestRulesTestIsDeterministic(t *testing.T) {
	file := writeDryRules(t, dryRunRules)
	run := func(seed string) string {
		code, out, errOut := dryRun(t, dryEnv(nil), "--file", file, "--simulate", "1h", "--agents", "80", "--seed", seed)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, errOut)
		}
		return out
	}
	a, b := run("3"), run("3")
	if a != b {
		t.Errorf("two runs with seed 3 differ, want the same report:\n%s\n---\n%s", a, b)
	}
	// The rules' sections, not the header, which names the seed.
	body := func(out string) string { return out[strings.Index(out, "\n\n"):] }
	if body(a) == body(run("4")) {
		t.Errorf("seeds 3 and 4 gave the same episodes, want different days:\n%s", a)
	}
}

func TestRulesTestBadFileExitsTwoNamingTheLine(t *testing.T) {
	file := writeDryRules(t, "rules:\n  - name: x\n    available_below: {warning: 3}\n    chanel: C0X\n")
	code, out, errOut := dryRun(t, dryEnv(nil), "--file", file)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	// As compilers write it: file:line: message.
	if !strings.Contains(errOut, file+":4: ") || !strings.Contains(errOut, `"chanel"`) {
		t.Errorf("stderr does not name the file, the key and its line:\n%s", errOut)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

func TestRulesTestFindsTheFile(t *testing.T) {
	t.Chdir(t.TempDir())
	// Neither --file, ALERT_RULES_FILE, alerts.yml nor the variables'
	// rules: a clear error naming every way to give rules.
	code, _, errOut := dryRun(t, dryEnv(map[string]string{"ALERT_THRESHOLD": "3"}))
	if code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	for _, w := range []string{"--file", "ALERT_RULES_FILE", "alerts.yml", "ALERT_CHANNEL", "ALERT_THRESHOLD", "ALERT_TEAM_THRESHOLDS"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("no file: stderr does not name %s:\n%s", w, errOut)
		}
	}

	// ALERT_RULES_FILE names it.
	named := writeDryRules(t, strings.ReplaceAll(dryRunRules, "sales-floor", "from-env"))
	code, out, errOut := dryRun(t, dryEnv(map[string]string{"ALERT_RULES_FILE": named}), "--simulate", "10m")
	if code != 0 || !strings.Contains(out, "\nfrom-env — ") {
		t.Errorf("ALERT_RULES_FILE: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// alerts.yml in the working directory, when nothing names a file.
	if err := os.WriteFile("alerts.yml", []byte(strings.ReplaceAll(dryRunRules, "sales-floor", "from-cwd")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = dryRun(t, dryEnv(nil), "--simulate", "10m")
	if code != 0 || !strings.Contains(out, "\nfrom-cwd — ") {
		t.Errorf("alerts.yml: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// --file wins over both.
	flagged := writeDryRules(t, strings.ReplaceAll(dryRunRules, "sales-floor", "from-flag"))
	code, out, _ = dryRun(t, dryEnv(map[string]string{"ALERT_RULES_FILE": named}), "--file", flagged, "--simulate", "10m")
	if code != 0 || !strings.Contains(out, "\nfrom-flag — ") {
		t.Errorf("--file: exit %d, stdout:\n%s", code, out)
	}
}

func TestRulesTestBadUsageExitsTwo(t *testing.T) {
	file := writeDryRules(t, dryRunRules)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--file", file, "--simulate", "soon"}, "simulate"},
		{[]string{"--file", file, "--simulate", "0s"}, "simulate"},
		{[]string{"--file", file, "--simulate", "200h"}, "simulate"},
		{[]string{"--file", file, "--agents", "0"}, "agents"},
		{[]string{"--file", file, "--frobnicate"}, "frobnicate"},
		{[]string{"--file", file, "extra"}, "extra"},
	} {
		code, out, errOut := dryRun(t, dryEnv(nil), tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "usage: presence-bot rules test") {
			t.Errorf("%v: exit %d, stderr:\n%s", tc.args, code, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout = %q, want nothing", tc.args, out)
		}
	}
	// A bad TIMEZONE is named too.
	code, _, errOut := dryRun(t, dryEnv(map[string]string{"TIMEZONE": "Mars/Olympus"}), "--file", file)
	if code != 2 || !strings.Contains(errOut, "TIMEZONE") {
		t.Errorf("bad TIMEZONE: exit %d, stderr:\n%s", code, errOut)
	}
}

// Clock times are in TIMEZONE: the shift starts at 08:00 there.
func TestRulesTestUsesTimezone(t *testing.T) {
	file := writeDryRules(t, dryRunRules)
	code, out, errOut := dryRun(t, dryEnv(map[string]string{"TIMEZONE": "Asia/Kolkata"}), "--file", file, "--simulate", "10m")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "08:00–08:10 Asia/Kolkata") {
		t.Errorf("report does not show the shift in Asia/Kolkata:\n%s", out)
	}
}

func TestRulesTestHelp(t *testing.T) {
	code, out, errOut := dryRun(t, dryEnv(nil), "--help")
	if code != 0 || !strings.Contains(out+errOut, "--simulate") {
		t.Errorf("--help: exit %d, output:\n%s%s", code, out, errOut)
	}
}

// The rules are polled every ALERT_INTERVAL: a rule that always fires and
// repeats at every poll posts once a poll.
func TestRulesTestPollsAtTheAlertInterval(t *testing.T) {
	file := writeDryRules(t, "rules:\n  - name: always\n    available_below: {warning: 100000}\n    repeat: 20s\n    channel: C0X\n")
	code, out, errOut := dryRun(t, dryEnv(map[string]string{"ALERT_INTERVAL": "20s"}), "--file", file, "--simulate", "10m", "--agents", "20")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	// Polls at 08:00:00, :20, :40 … 08:10:00: 31, each posting.
	if got := dryTotal(t, drySection(t, out, "always"), "posts"); got != 31 {
		t.Errorf("got %d posts in 10m polled every 20s, want 31 (one a poll):\n%s", got, out)
	}
	if !strings.Contains(out, "polled every 20s") {
		t.Errorf("header does not say the interval:\n%s", out)
	}
}

// The ALERT_THRESHOLD and ALERT_TEAM_THRESHOLDS rules run beside the
// file's, as the bot runs them, by their names (all, team:<id>); no
// SLACK_ or EXOTEL_ variable is needed.
func TestRulesTestRunsTheVariablesRules(t *testing.T) {
	file := writeDryRules(t, dryRunRules)
	env := dryEnv(map[string]string{"ALERT_CHANNEL": "C0ALERTS", "ALERT_THRESHOLD": "30", "ALERT_TEAM_THRESHOLDS": "support_team=5"})
	code, out, errOut := dryRun(t, env, "--file", file, "--simulate", "1h", "--agents", "80")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	for _, rule := range []string{"sales-floor", "long-wrap-up", "all", "team:support_team"} {
		drySection(t, out, rule)
	}
	if !strings.Contains(out, "4 rule(s)") || !strings.Contains(out, "ALERT_THRESHOLD") || !strings.Contains(out, "ALERT_TEAM_THRESHOLDS") {
		t.Errorf("header does not count the variables' rules or name their variables:\n%s", out)
	}
	// The support team, named by a variable's rule only, is on the floor.
	if !strings.Contains(drySection(t, out, "team:support_team"), "(support_team)") {
		t.Errorf("team:support_team does not watch support_team:\n%s", out)
	}

	// With a file, ALERT_THRESHOLD=0 is no rule, as in the bot.
	env = dryEnv(map[string]string{"ALERT_CHANNEL": "C0ALERTS", "ALERT_THRESHOLD": "0"})
	code, out, errOut = dryRun(t, env, "--file", file, "--simulate", "10m")
	if code != 0 || strings.Contains(out, "\nall — ") {
		t.Errorf("ALERT_THRESHOLD=0 with a file: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// Without a rules file, the variables' rules alone are run (the bot runs
// them whenever ALERT_CHANNEL is set), and their problems are named.
func TestRulesTestWithoutAFileRunsTheVariablesRules(t *testing.T) {
	t.Chdir(t.TempDir())
	env := dryEnv(map[string]string{"ALERT_CHANNEL": "C0ALERTS", "ALERT_THRESHOLD": "30"})
	code, out, errOut := dryRun(t, env, "--simulate", "30m", "--agents", "60")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	drySection(t, out, "all")
	if !strings.Contains(out, "Dry run of ALERT_THRESHOLD: 1 rule(s)") {
		t.Errorf("header does not say where the rule comes from:\n%s", out)
	}

	code, _, errOut = dryRun(t, dryEnv(map[string]string{"ALERT_CHANNEL": "C0ALERTS", "ALERT_TEAM_THRESHOLDS": "sales"}))
	if code != 2 || !strings.Contains(errOut, "ALERT_THRESHOLD: required when ALERT_CHANNEL is set") ||
		!strings.Contains(errOut, `ALERT_TEAM_THRESHOLDS: entry "sales"`) {
		t.Errorf("bad variables: exit %d, stderr:\n%s", code, errOut)
	}
}
