package app_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// writeRules writes a rules file in dir and returns its path.
func writeRules(t *testing.T, dir, name, doc string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A rules file with several problems: check reports every one, with its
// line, as FAILED lines; goes on with the rest; and ends as the run
// would, refusing the configuration.
func TestCheckRulesFileReportsEveryProblem(t *testing.T) {
	w := newCheckWorld(t)
	w.slack.AddChannel(fakeslack.Channel{ID: "C0ALERTS", Name: "floor-alerts", Member: true})
	path := writeRules(t, w.dir, "rules.yml", `rules:
  - name: sales
    teams: [sales_team]
    available_below: {warning: 4, critical: 6}
    treshold: 3
  - name: sales
    status_longer_than: {status: offline, after: 5m}
    chanel: C0123
`)
	out, err := w.check(t, w.env("ALERT_RULES_FILE", path, "ALERT_CHANNEL", "C0ALERTS"), config.KeepRuleProblems())
	var ce *app.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Check = %v, want a *ConfigError naming ALERT_RULES_FILE:\n%s", err, out)
	}
	const failed = "FAILED  alert rules      ALERT_RULES_FILE: "
	contains(t, out,
		failed+path+`:4: rule "sales": available_below.critical: 6 is above warning 4 (critical is the lower count: fewer available is worse)`+"\n",
		failed+path+`:5: rule "sales": unknown key "treshold" (a threshold is written available_below: {warning: N})`+"\n",
		failed+path+`:6: rule "sales": name used by the rule at line 2 (names must be unique, whatever their case: silences name them)`+"\n",
		failed+path+`:7: rule "sales": status_longer_than.status: offline is not watched`,
		failed+path+`:8: rule "sales": unknown key "chanel" (did you mean "channel"?)`+"\n",
		"hint: fix "+path+" (ALERT_RULES_FILE): the bot does not start until every problem above is gone",
		// The rest is still checked.
		"ok      slack bot token", "ok      contact center", "ok      channels         ALERT_CHANNEL C0ALERTS")
	// Rules with problems are not summarised as if they would run.
	lacks(t, out, "ok      alert rules", "Everything answers")
	if n := strings.Count(err.Error(), "ALERT_RULES_FILE"); n != 5 {
		t.Errorf("the error names ALERT_RULES_FILE %d times, want once per problem (5):\n%v", n, err)
	}
}

// A valid file: check prints each rule in effect (name, source, scope,
// kind and levels, timing, channel), the variables' rules after the
// file's, and looks up the rules' own channels.
func TestCheckRulesSummary(t *testing.T) {
	w := newCheckWorld(t)
	w.slack.AddChannel(fakeslack.Channel{ID: "C0ALERTS", Name: "floor-alerts", Member: true})
	w.slack.AddChannel(fakeslack.Channel{ID: "C0SALES", Name: "sales-leads", Member: true})
	path := writeRules(t, w.dir, "alerts.yml", `rules:
  - name: sales-floor
    teams: [sales_team]
    available_below: {warning: 4, critical: 2, resolve_at: 5}
    for: 1m
    active_hours: "Mon-Fri 08:00-20:00"
    channel: C0SALES
    mention: [U0123SUPER]
  - name: long-wrap-up
    teams: [support_team, sales_team]
    status_longer_than: {status: acw, after: 5m, escalate_after: 3m}
`)
	out, err := w.check(t, w.env("ALERT_RULES_FILE", path, "ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "3",
		"ALERT_TEAM_THRESHOLDS", "support_team=2"), config.KeepRuleProblems())
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	const ok = "ok      alert rules      "
	contains(t, out,
		ok+"sales-floor ("+path+":2): team sales_team; available below 4, critical below 2, resolved at 5; "+
			"for 1m, repeat 30m, Mon-Fri 08:00-20:00; to C0SALES, mentioning U0123SUPER\n",
		ok+"long-wrap-up ("+path+":9): teams support_team, sales_team; in after-call work longer than 5m, escalated 3m after the nudge; to C0ALERTS\n",
		ok+"all (ALERT_THRESHOLD): all agents; available below 3; repeat 30m; to C0ALERTS\n",
		ok+"team:support_team (ALERT_TEAM_THRESHOLDS): team support_team; available below 2; repeat 30m; to C0ALERTS\n",
		"ok      channels         "+path+`:2: rule "sales-floor" channel C0SALES (#sales-leads)`,
		"\nSwitched on: alerts to C0SALES (sales-floor), C0ALERTS (long-wrap-up; total below 3; support_team below 2)\n",
		"Everything answers")
}

// alerts.yml in the working directory is read when present, and only
// then; a channel name in it is resolved to its ID, and refused as the
// run refuses it.
func TestCheckRulesDefaultFile(t *testing.T) {
	w := newCheckWorld(t)
	w.slack.AddChannel(fakeslack.Channel{ID: "C0ALERTS", Name: "floor-alerts", Member: true})
	w.slack.AddChannel(fakeslack.Channel{ID: "C0FLOOR", Name: "floor", Member: true})
	t.Chdir(t.TempDir())
	env := w.env("ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "2")

	out, err := w.check(t, env, config.KeepRuleProblems())
	if err != nil {
		t.Fatalf("without alerts.yml: Check = %v:\n%s", err, out)
	}
	contains(t, out, "ok      alert rules      all (ALERT_THRESHOLD): all agents; available below 2; repeat 30m; to C0ALERTS\n",
		"alerts to C0ALERTS (total below 2)")
	lacks(t, out, "alerts.yml")

	writeRules(t, ".", "alerts.yml", "rules:\n  - name: floor\n    available_below: {warning: 5}\n    channel: \"#floor\"\n")
	out, err = w.check(t, env, config.KeepRuleProblems())
	var ce *app.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("with a channel name in alerts.yml: Check = %v, want a *ConfigError", err)
	}
	contains(t, out, `FAILED  channels         alerts.yml:2: rule "floor" channel is a name: use its ID C0FLOOR (#floor)`)

	writeRules(t, ".", "alerts.yml", "rules:\n  - name: floor\n    available_below: {warning: 5}\n    channel: C0FLOOR\n")
	out, err = w.check(t, env, config.KeepRuleProblems())
	if err != nil {
		t.Fatalf("with alerts.yml: Check = %v:\n%s", err, out)
	}
	contains(t, out, "ok      alert rules      floor (alerts.yml:2): all agents; available below 5; repeat 30m; to C0FLOOR\n",
		"ok      alert rules      all (ALERT_THRESHOLD)")
}

// A file without rules leaves alerts off, and check says why.
func TestCheckRulesFileWithoutRules(t *testing.T) {
	w := newCheckWorld(t)
	path := writeRules(t, w.dir, "alerts.yml", "rules: []\n")
	out, err := w.check(t, w.env("ALERT_RULES_FILE", path), config.KeepRuleProblems())
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, out)
	}
	contains(t, out, "WARNING alert rules      "+path+" has no rules: alerts are off\n",
		"Switched off: summaries (SUMMARY_CHANNEL not set); alerts ("+path+" has no rules);")
}
