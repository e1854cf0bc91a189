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
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/redisstate"
	"github.com/presencebot/presence-bot/state"
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

// replayRules has an availability rule with both levels on one team, and
// a time-in-status rule, which history cannot replay.
const replayRules = `rules:
  - name: sales-floor
    teams: [sales_team]
    available_below: {warning: 5, critical: 2}
    repeat: 30m
    channel: C0SALES
  - name: long-wrap-up
    status_longer_than: {status: after-call-work, after: 5m, escalate_after: 3m}
    channel: C0FLOOR
`

// replayDay is the recorded Monday: 2026-03-02, UTC.
var replayDay = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// replaySales is sales_team's available agents at t on the recorded day:
// 8, but 4 (warning) from 10:00, 1 (critical) from 10:05, 4 again from
// 10:10, 8 from 10:15; and 3 (warning) from 15:30 to 15:40.
func replaySales(t time.Time) int {
	at := func(h, m int) time.Time {
		return replayDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	switch {
	case !t.Before(at(10, 5)) && t.Before(at(10, 10)):
		return 1
	case !t.Before(at(10, 0)) && t.Before(at(10, 15)):
		return 4
	case !t.Before(at(15, 30)) && t.Before(at(15, 40)):
		return 3
	}
	return 8
}

// recordReplayDay records the day into store as the bot does: a
// history.Recorder on a fake clock, one sample every 5 minutes, the
// sales team's counts from replaySales and a support team that never
// moves. It returns how many samples it recorded.
func recordReplayDay(t *testing.T, store state.Store) int {
	t.Helper()
	ctx := context.Background()
	rec := history.New(store, history.Options{Resolution: 5 * time.Minute}, nil)
	n := 0
	for at := replayDay; at.Before(replayDay.Add(24 * time.Hour)); at = at.Add(5 * time.Minute) {
		sales := history.Counts{Available: replaySales(at), OnCall: 3, AfterCallWork: 1, Offline: 2}
		support := history.Counts{Available: 6, Busy: 2}
		floor := history.Counts{Available: sales.Available + support.Available, OnCall: 3, AfterCallWork: 1,
			Busy: 2, Offline: 2}
		s := history.Sample{
			Teams: map[string]history.Counts{"": floor, "sales_team": sales, "support_team": support},
			Names: map[string]string{"sales_team": "Sales", "support_team": "Support"},
		}
		if err := rec.Record(ctx, at, s); err != nil {
			t.Fatal(err)
		}
		n++
	}
	// What the bot itself did that day: its sales-floor fired once (with
	// other rules than the replay's, at 10:05).
	for _, e := range []history.AlertEvent{
		{At: replayDay.Add(10*time.Hour + 5*time.Minute), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: history.KindFired, Level: "critical"},
		{At: replayDay.Add(10*time.Hour + 15*time.Minute), Rule: "sales-floor", Teams: []string{"sales_team"}, Kind: history.KindResolved},
		{At: replayDay.Add(11 * time.Hour), Rule: "other", Kind: history.KindFired, Level: "warning"},
	} {
		if err := rec.RecordAlert(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// replayStateDir is a STATE_DIR with the recorded day in it.
func replayStateDir(t *testing.T) (string, int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, recordReplayDay(t, store)
}

// --history replays the recorded counts, each sample a poll at its
// time, through the alert engine: the episodes are the recorded dips,
// with their levels; the time-in-status rule says why it is not
// replayed. No Slack or contact-center variable is needed.
func TestRulesReplayReportsRecordedEpisodes(t *testing.T) {
	dir, samples := replayStateDir(t)
	file := writeDryRules(t, replayRules)
	code, out, errOut := dryRun(t, dryEnv(map[string]string{"STATE_DIR": dir}), "--file", file, "--history")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
	}

	// The header says what was replayed, from where.
	for _, w := range []string{dir, strconv.Itoa(samples) + " samples", "Mon 02 Mar 00:00", "Mon 02 Mar 23:55 UTC", "Nothing is sent to Slack"} {
		if !strings.Contains(out, w) {
			t.Errorf("header lacks %q:\n%s", w, out)
		}
	}

	sales := drySection(t, out, "sales-floor")
	for _, want := range []*regexp.Regexp{
		// 10:00 warning, 10:05 critical, 10:10 warning, resolved at 10:15.
		regexp.MustCompile(`(?m)^  Mon 02 Mar 10:00–10:15 +15m +warning → critical → warning  \(`),
		// 15:30 warning, resolved at 15:40.
		regexp.MustCompile(`(?m)^  Mon 02 Mar 15:30–15:40 +10m +warning  \(`),
	} {
		if !want.MatchString(sales) {
			t.Errorf("sales-floor: no episode matching %s:\n%s", want, sales)
		}
	}
	if n := dryTotal(t, sales, "episodes"); n != 2 {
		t.Errorf("sales-floor: %d episodes, want 2:\n%s", n, sales)
	}
	if dryTotal(t, sales, "posts") == 0 || !strings.Contains(sales, "verdict:") {
		t.Errorf("sales-floor: want posts and a verdict:\n%s", sales)
	}
	// Beside the replay, what the bot's own rule of that name did.
	if !strings.Contains(sales, "\n  recorded: the bot's own sales-floor fired 1 time in this span (Mon 02 Mar 10:05 critical)") {
		t.Errorf("sales-floor: no line of what the bot recorded:\n%s", sales)
	}

	acw := drySection(t, out, "long-wrap-up")
	for _, w := range []string{"not replayed", "time in status"} {
		if !strings.Contains(acw, w) {
			t.Errorf("long-wrap-up: lacks %q:\n%s", w, acw)
		}
	}
}

// --from and --to pick a stretch of the history, in TIMEZONE; a date
// alone in --to is the whole of that day.
func TestRulesReplayFromTo(t *testing.T) {
	dir, _ := replayStateDir(t)
	file := writeDryRules(t, replayRules)
	env := dryEnv(map[string]string{"STATE_DIR": dir})

	code, out, errOut := dryRun(t, env, "--file", file, "--history", "--from", "2026-03-02T12:00")
	if code != 0 {
		t.Fatalf("--from: exit %d; stderr:\n%s", code, errOut)
	}
	sales := drySection(t, out, "sales-floor")
	if strings.Contains(sales, "10:00–") || !strings.Contains(sales, "Mon 02 Mar 15:30–15:40") {
		t.Errorf("--from 12:00: want the 15:30 episode only:\n%s", sales)
	}
	if !strings.Contains(out, "Mon 02 Mar 12:00") {
		t.Errorf("--from 12:00: header does not start at 12:00:\n%s", out)
	}

	// In Asia/Kolkata (UTC+5:30) the recorded day's 10:00 UTC is 15:30,
	// and 2026-03-02 there ends at 18:30 UTC.
	env = dryEnv(map[string]string{"STATE_DIR": dir, "TIMEZONE": "Asia/Kolkata"})
	code, out, errOut = dryRun(t, env, "--file", file, "--history", "--to", "2026-03-02")
	if code != 0 {
		t.Fatalf("--to: exit %d; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(drySection(t, out, "sales-floor"), "Mon 02 Mar 15:30–15:45") ||
		!strings.Contains(out, "Mon 02 Mar 23:55 Asia/Kolkata") {
		t.Errorf("--to 2026-03-02 in Asia/Kolkata: want times there, up to the day's end:\n%s", out)
	}
}

// With nothing recorded where the bot keeps its state, the replay says
// where it looked and how history gets recorded, and exits 1, creating
// nothing.
func TestRulesReplayWithoutHistory(t *testing.T) {
	file := writeDryRules(t, replayRules)
	for _, tc := range []struct {
		name string
		dir  string
	}{
		{"empty", t.TempDir()},
		{"missing", filepath.Join(t.TempDir(), "nowhere")},
	} {
		code, out, errOut := dryRun(t, dryEnv(map[string]string{"STATE_DIR": tc.dir}), "--file", file, "--history")
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", tc.name, code)
		}
		for _, w := range []string{"no history", "STATE_DIR " + tc.dir, "alert poll", "HISTORY_RETENTION"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, errOut)
			}
		}
		if out != "" {
			t.Errorf("%s: stdout = %q, want nothing", tc.name, out)
		}
	}
	missing := filepath.Join(t.TempDir(), "nowhere")
	dryRun(t, dryEnv(map[string]string{"STATE_DIR": missing}), "--file", file, "--history")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("STATE_DIR %s was created (%v), want it left alone", missing, err)
	}

	// History, but none in the stretch asked: say what there is.
	dir, _ := replayStateDir(t)
	code, _, errOut := dryRun(t, dryEnv(map[string]string{"STATE_DIR": dir}), "--file", file, "--history", "--from", "2026-04-01")
	if code != 1 || !strings.Contains(errOut, "no history") || !strings.Contains(errOut, "Mon 02 Mar 00:00") {
		t.Errorf("out of range: exit %d, stderr:\n%s", code, errOut)
	}
}

// With REDIS_URL the history is read from Redis, as the bot keeps it
// there; the messages name the server, never its password.
func TestRulesReplayFromRedis(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret-pw")
	url := "redis://:s3cret-pw@" + srv.Addr + "/0"
	file := writeDryRules(t, replayRules)
	env := dryEnv(map[string]string{"REDIS_URL": url, "REDIS_TIMEOUT": "2s"})

	code, _, errOut := dryRun(t, env, "--file", file, "--history")
	if code != 1 || !strings.Contains(errOut, "no history") || !strings.Contains(errOut, srv.Addr) {
		t.Errorf("empty Redis: exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "s3cret-pw") {
		t.Errorf("stderr shows the password:\n%s", errOut)
	}

	rc, err := redisstate.Open(context.Background(), redisstate.Options{URL: url, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	recordReplayDay(t, rc.Store())
	code, out, errOut := dryRun(t, env, "--file", file, "--history")
	if code != 0 || !strings.Contains(drySection(t, out, "sales-floor"), "Mon 02 Mar 10:00–10:15") {
		t.Errorf("Redis: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "s3cret-pw") {
		t.Errorf("output shows the password:\n%s%s", out, errOut)
	}
}

func TestRulesReplayBadUsageExitsTwo(t *testing.T) {
	file := writeDryRules(t, replayRules)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2026-03-02"}, "--history"},                               // --from without --history
		{[]string{"--history", "--simulate", "2h"}, "--simulate"},                     // a simulation flag
		{[]string{"--history", "--agents", "40"}, "--agents"},                         // a simulation flag
		{[]string{"--history", "--from", "yesterday"}, "yesterday"},                   // not a time
		{[]string{"--history", "--from", "2026-03-03", "--to", "2026-03-02"}, "--to"}, // backwards
	} {
		code, out, errOut := dryRun(t, dryEnv(nil), append([]string{"--file", file}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "usage: presence-bot rules test") {
			t.Errorf("%v: exit %d, stderr:\n%s", tc.args, code, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout = %q, want nothing", tc.args, out)
		}
	}
}

// The header names the gaps in the history (the bot not running) and the
// teams the rules name that no sample has, which count as empty.
func TestRulesReplayHeaderNamesGapsAndUnknownTeams(t *testing.T) {
	dir := t.TempDir()
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := history.New(store, history.Options{Resolution: 5 * time.Minute}, nil)
	// 08:00–09:55, then nothing until 13:00, then to 13:55.
	for at := replayDay.Add(8 * time.Hour); at.Before(replayDay.Add(14 * time.Hour)); at = at.Add(5 * time.Minute) {
		if h := at.Hour(); h >= 10 && h < 13 {
			continue
		}
		c := history.Counts{Available: 8, OnCall: 2}
		if err := rec.Record(context.Background(), at, history.Sample{Teams: map[string]history.Counts{"": c, "sales_team": c}}); err != nil {
			t.Fatal(err)
		}
	}
	file := writeDryRules(t, "rules:\n  - name: sales\n    teams: [sales_team]\n    available_below: {warning: 3}\n    channel: C0X\n"+
		"  - name: typo\n    teams: [sales_taem]\n    available_below: {warning: 3}\n    channel: C0X\n")
	code, out, errOut := dryRun(t, dryEnv(map[string]string{"STATE_DIR": dir}), "--file", file, "--history")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	for _, w := range []string{
		"1 gap of 15m or more with no sample", "the longest 3h05m from Mon 02 Mar 09:55",
		"Never recorded: sales_taem",
		"Samples every 5m",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("header lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Never recorded: sales_team") {
		t.Errorf("header names a recorded team as never recorded:\n%s", out)
	}
}
