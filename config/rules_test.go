package config

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// ruleDefaults are what the ALERT_* variables give every rule in these
// tests: distinct from the built-in defaults, so that a rule that took
// them shows it.
var ruleDefaults = RuleDefaults{Channel: "C0DEFAULT", For: 20 * time.Second, Repeat: 45 * time.Minute}

// parseProblems parses doc as alerts.yml and returns its problems as
// check and Load print them.
func parseProblems(t *testing.T, doc string, d RuleDefaults) []string {
	t.Helper()
	_, problems := ParseRules("alerts.yml", []byte(doc), d)
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.String()
	}
	return out
}

// Each case is one file with one mistake; the problem must name the file,
// the line and what to do, exactly.
func TestParseRulesProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		// A typo of a rule key, with the key it was meant to be.
		{"unknown key", `
rules:
  - name: sales
    available_below: {warning: 3}
    chanel: C0123`,
			[]string{`alerts.yml:5: rule "sales": unknown key "chanel" (did you mean "channel"?)`}},
		// A threshold written as the variables have it: say how to write it.
		{"threshold key", `
rules:
  - name: sales
    treshold: 3`,
			[]string{`alerts.yml:3: rule "sales": want available_below or status_longer_than`,
				`alerts.yml:4: rule "sales": unknown key "treshold" (a threshold is written available_below: {warning: N})`}},
		// A level key at the rule's level: say where it belongs.
		{"key at the wrong level", `
rules:
  - name: sales
    available_below: {warning: 3}
    critical: 1`,
			[]string{`alerts.yml:5: rule "sales": unknown key "critical" (it belongs under available_below)`}},
		// A shortened key inside a kind.
		{"unknown nested key", `
rules:
  - name: sales
    available_below: {warn: 3}`,
			[]string{`alerts.yml:4: rule "sales": available_below: no warning`,
				`alerts.yml:4: rule "sales": available_below: unknown key "warn" (did you mean "warning"?)`}},
		// The top level holds rules only.
		{"unknown top-level key", "rule:\n  - name: sales\n",
			[]string{`alerts.yml:1: unknown key "rule" (did you mean "rules"?)`}},
		// A key that is nothing like a known one gets no suggestion.
		{"unknown key without a suggestion", `
rules:
  - name: sales
    available_below: {warning: 3}
    colour: red`,
			[]string{`alerts.yml:5: rule "sales": unknown key "colour"`}},
		// YAML lets a key appear twice, keeping the last: not here.
		{"duplicate key", `
rules:
  - name: sales
    channel: C0AAA
    available_below: {warning: 3}
    channel: C0BBB`,
			[]string{`alerts.yml:6: rule "sales": "channel" given twice (first at line 4)`}},
		// Names identify rules in messages and silences.
		{"duplicate name", `
rules:
  - name: sales
    available_below: {warning: 3}
  - name: Sales
    available_below: {warning: 2}`,
			[]string{`alerts.yml:5: rule "Sales": name used by the rule at line 3 (names must be unique, whatever their case: silences name them)`}},
		// A rule without a name is numbered.
		{"no name", `
rules:
  - available_below: {warning: 3}`,
			[]string{`alerts.yml:3: rule 1: no name`}},
		// Names go into /presence silence <rule>: no spaces, short.
		{"bad name", `
rules:
  - name: sales floor
    available_below: {warning: 3}
  - name: ` + strings.Repeat("x", 41) + `
    available_below: {warning: 3}
  - name: ""
    available_below: {warning: 3}`,
			[]string{`alerts.yml:3: rule 1: name "sales floor": want 1 to 40 letters, digits, -, _ or :`,
				`alerts.yml:5: rule 2: name "` + strings.Repeat("x", 41) + `": want 1 to 40 letters, digits, -, _ or :`,
				`alerts.yml:7: rule 3: name "": want 1 to 40 letters, digits, -, _ or :`}},
		// A rule watches exactly one thing.
		{"neither kind", `
rules:
  - name: sales
    teams: [sales_team]`,
			[]string{`alerts.yml:3: rule "sales": want available_below or status_longer_than`}},
		{"both kinds", `
rules:
  - name: sales
    available_below: {warning: 3}
    status_longer_than: {status: busy, after: 15m}`,
			[]string{`alerts.yml:5: rule "sales": has both available_below and status_longer_than (a rule watches one: split it into two rules)`}},
		// Thresholds are non-negative whole numbers.
		{"negative threshold", `
rules:
  - name: sales
    available_below: {warning: -1}`,
			[]string{`alerts.yml:4: rule "sales": available_below.warning: -1 must not be negative`}},
		{"threshold not a number", `
rules:
  - name: sales
    available_below:
      warning: four
      critical: 1.5`,
			[]string{`alerts.yml:5: rule "sales": available_below.warning: want a whole number, got "four"`,
				`alerts.yml:6: rule "sales": available_below.critical: want a whole number, got "1.5"`}},
		// available is never below 0.
		{"zero warning", `
rules:
  - name: sales
    available_below: {warning: 0}`,
			[]string{`alerts.yml:4: rule "sales": available_below.warning: 0 never fires (available is never below 0)`}},
		{"zero critical", `
rules:
  - name: sales
    available_below: {warning: 2, critical: 0}`,
			[]string{`alerts.yml:4: rule "sales": available_below.critical: 0 never fires (available is never below 0); leave critical out for no critical level`}},
		// Fewer available is worse, so critical is the lower count.
		{"critical above warning", `
rules:
  - name: sales
    available_below: {warning: 4, critical: 5}`,
			[]string{`alerts.yml:4: rule "sales": available_below.critical: 5 is above warning 4 (critical is the lower count: fewer available is worse)`}},
		// Hysteresis: resolving below warning would resolve an alert that still holds.
		{"resolve_at below warning", `
rules:
  - name: sales
    available_below: {warning: 4, resolve_at: 3}`,
			[]string{`alerts.yml:4: rule "sales": available_below.resolve_at: 3 is below warning 4 (the alert would resolve while still below warning)`}},
		{"no warning", `
rules:
  - name: sales
    available_below: {critical: 1}`,
			[]string{`alerts.yml:4: rule "sales": available_below: no warning`}},
		{"kind not a mapping", `
rules:
  - name: sales
    available_below: 3`,
			[]string{`alerts.yml:4: rule "sales": available_below: want a mapping such as {warning: 4, critical: 2}, got "3"`}},
		// Durations are Go durations, for and repeat may be 0.
		{"bad durations", `
rules:
  - name: sales
    available_below: {warning: 3}
    for: 5 minutes
    repeat: -1m`,
			[]string{`alerts.yml:5: rule "sales": for: "5 minutes": want a Go duration such as 30s, 5m or 1h`,
				`alerts.yml:6: rule "sales": repeat: "-1m" must not be negative`}},
		{"after and escalate_after", `
rules:
  - name: wrap
    status_longer_than: {status: acw, after: 0s, escalate_after: -3m}`,
			[]string{`alerts.yml:4: rule "wrap": status_longer_than.after: "0s" must be greater than 0`,
				`alerts.yml:4: rule "wrap": status_longer_than.escalate_after: "-3m" must not be negative`}},
		{"no status or after", `
rules:
  - name: wrap
    status_longer_than: {escalate_after: 3m}`,
			[]string{`alerts.yml:4: rule "wrap": status_longer_than: no status`,
				`alerts.yml:4: rule "wrap": status_longer_than: no after`}},
		// for and repeat mean nothing to a time-in-status rule.
		{"for and repeat on a status rule", `
rules:
  - name: wrap
    status_longer_than: {status: busy, after: 15m}
    for: 1m
    repeat: 10m`,
			[]string{`alerts.yml:5: rule "wrap": for: applies to available_below only (status_longer_than waits its after)`,
				`alerts.yml:6: rule "wrap": repeat: applies to available_below only (status_longer_than nudges and escalates once per episode)`}},
		// Statuses as the commands read them; offline and available are refused with a reason.
		{"statuses", `
rules:
  - name: a
    status_longer_than: {status: wrapup, after: 5m}
  - name: b
    status_longer_than: {status: offline, after: 5m}
  - name: c
    status_longer_than: {status: Available, after: 5m}`,
			[]string{`alerts.yml:4: rule "a": status_longer_than.status: unknown status "wrapup" (want one of available, on-call, after-call-work, busy, offline)`,
				`alerts.yml:6: rule "b": status_longer_than.status: offline is not watched: an offline agent is logged out and takes no calls (watch the floor with available_below)`,
				`alerts.yml:8: rule "c": status_longer_than.status: available is not watched: it is where agents should be (watch the floor with available_below)`}},
		{"active hours", `
rules:
  - name: sales
    available_below: {warning: 3}
    active_hours: "Mon-Fry 08:00-20:00"`,
			[]string{`alerts.yml:5: rule "sales": active_hours: "Mon-Fry 08:00-20:00": entry "Mon-Fry 08:00-20:00": unknown day "Fry": want Mon, Tue, Wed, Thu, Fri, Sat or Sun`}},
		// Posting needs a channel's ID, as for ALERT_CHANNEL.
		{"channel name or link", `
rules:
  - name: a
    available_below: {warning: 3}
    channel: "#floor"
  - name: b
    available_below: {warning: 3}
    channel: "<#C0FLOOR|floor>"`,
			[]string{`alerts.yml:5: rule "a": channel: "#floor" is a channel name; use the channel's ID (C…); presence-bot check finds it for you`,
				`alerts.yml:8: rule "b": channel: "<#C0FLOOR|floor>" is a link to a channel; use its ID: C0FLOOR`}},
		// Without ALERT_CHANNEL a rule must name its channel.
		{"no channel", `
rules:
  - name: sales
    available_below: {warning: 3}`,
			nil}, // checked in TestParseRulesNeedsAChannel
		{"mentions", `
rules:
  - name: a
    available_below: {warning: 3, critical: 1}
    mention: ["@lead", "<@U0LEAD>", U0LEAD, S0GROUP]
  - name: b
    available_below: {warning: 3, critical: 1}
    mention: [S0ONE, S0TWO]
  - name: c
    available_below: {warning: 3, critical: 1}
    mention: U0LEAD`,
			[]string{`alerts.yml:5: rule "a": mention: "@lead" is not a user ID (U… or W…) or a user group ID (S…)`,
				`alerts.yml:5: rule "a": mention: "<@U0LEAD>": write the ID alone: U0LEAD`,
				`alerts.yml:5: rule "a": mention: a user group (S…) goes alone, without users`,
				`alerts.yml:8: rule "b": mention: a user group (S…) goes alone, without users`,
				`alerts.yml:11: rule "c": mention: want a list of IDs, such as [U0123SUPER], got "U0LEAD"`}},
		// mention is for critical: without one it would never be used.
		{"mention without critical", `
rules:
  - name: sales
    available_below: {warning: 3}
    mention: [U0LEAD]`,
			[]string{`alerts.yml:5: rule "sales": mention: sent on critical only, and the rule has no critical level (add available_below.critical, or drop mention)`}},
		{"teams", `
rules:
  - name: a
    available_below: {warning: 3}
    teams: []
  - name: b
    available_below: {warning: 3}
    teams: [sales, "", "sales team", sales]
  - name: c
    available_below: {warning: 3}
    teams: sales`,
			[]string{`alerts.yml:5: rule "a": teams: an empty list (leave teams out to watch all agents)`,
				`alerts.yml:8: rule "b": teams: item 2 is empty`,
				`alerts.yml:8: rule "b": teams: "sales team" contains spaces`,
				`alerts.yml:8: rule "b": teams: "sales" is listed twice`,
				`alerts.yml:11: rule "c": teams: want a list of team IDs, such as [sales_team], got "sales"`}},
		// An optional key left empty is a mistake, not a default.
		{"empty value", `
rules:
  - name: sales
    available_below: {warning: 3}
    for:`,
			[]string{`alerts.yml:5: rule "sales": for: no value`}},
		{"rule not a mapping", "rules:\n  - sales\n",
			[]string{`alerts.yml:2: rule 1: want a mapping with name, a kind and its settings, got "sales"`}},
		{"rules not a list", "rules: {name: sales}\n",
			[]string{`alerts.yml:1: rules: want a list of rules, got a mapping`}},
		{"top level not a mapping", "- name: sales\n",
			[]string{`alerts.yml:1: want a mapping with a rules list (rules: [...]), got a list`}},
		{"syntax error", "rules:\n  - name: sales\n    channel: C0\n     mention: x\n",
			[]string{`alerts.yml:4: mapping values are not allowed in this context`}},
		{"two documents", "rules: []\n---\nrules: []\n",
			[]string{`alerts.yml:2: a second YAML document; want one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.doc, ruleDefaults)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

// Every problem of a file is reported, in line order, not only the first.
func TestParseRulesReportsEveryProblem(t *testing.T) {
	doc := `rules:
  - name: sales
    available_below: {warning: 4, critical: 6}
    treshold: 3
  - name: sales
    status_longer_than: {status: offline, after: 5m}
    chanel: C0123
`
	got := parseProblems(t, doc, ruleDefaults)
	want := []string{
		`alerts.yml:3: rule "sales": available_below.critical: 6 is above warning 4 (critical is the lower count: fewer available is worse)`,
		`alerts.yml:4: rule "sales": unknown key "treshold" (a threshold is written available_below: {warning: N})`,
		`alerts.yml:5: rule "sales": name used by the rule at line 2 (names must be unique, whatever their case: silences name them)`,
		`alerts.yml:6: rule "sales": status_longer_than.status: offline is not watched: an offline agent is logged out and takes no calls (watch the floor with available_below)`,
		`alerts.yml:7: rule "sales": unknown key "chanel" (did you mean "channel"?)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// A rule without a channel takes ALERT_CHANNEL; without either it is a
// problem.
func TestParseRulesNeedsAChannel(t *testing.T) {
	doc := "rules:\n  - name: sales\n    available_below: {warning: 3}\n"
	got := parseProblems(t, doc, RuleDefaults{})
	want := []string{`alerts.yml:2: rule "sales": no channel (set channel, or ALERT_CHANNEL for the rules without one)`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	rules, problems := ParseRules("alerts.yml", []byte(doc), ruleDefaults)
	if len(problems) != 0 || len(rules) != 1 || rules[0].Channel != "C0DEFAULT" {
		t.Errorf("with ALERT_CHANNEL: got %+v, %v; want the rule on C0DEFAULT", rules, problems)
	}
}

// A valid file gives its rules in file order, with the contract's
// defaults filled in.
func TestParseRulesValid(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	defaultHours, _ := ParseActiveHours("Mon-Sat 07:00-22:00")
	d := ruleDefaults
	d.ActiveHours = defaultHours.In(kolkata)
	d.Location = kolkata
	doc := `# the contract's example, and one rule with every default
rules:
  - name: sales-floor
    teams: [sales_team]
    available_below: {warning: 4, critical: 2, resolve_at: 5}
    for: 1m
    repeat: 30m
    active_hours: "Mon-Fri 08:00-20:00"
    channel: C0123456789
    mention: [U0123SUPER, W0456]
  - name: long-wrap-up
    teams: [support_team, sales_team]
    status_longer_than: {status: acw, after: 5m, escalate_after: 3m}
    channel: C0123456789
    mention: [S0LEADS]
  - name: "floor:all"
    available_below:
      warning: 10
  - name: on_call_long
    status_longer_than: {status: OnCall, after: 20m}
`
	rules, problems := ParseRules("conf/alerts.yml", []byte(doc), d)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	weekdays, _ := ParseActiveHours("Mon-Fri 08:00-20:00")
	want := []AlertRule{
		{Name: "sales-floor", Teams: []string{"sales_team"}, Kind: AvailableBelow, Warning: 4, Critical: 2, HasCritical: true, ResolveAt: 5,
			For: time.Minute, Repeat: 30 * time.Minute, ActiveHours: weekdays.In(kolkata), Channel: "C0123456789",
			Mention: []string{"U0123SUPER", "W0456"}, Source: "conf/alerts.yml", Line: 3},
		{Name: "long-wrap-up", Teams: []string{"support_team", "sales_team"}, Kind: StatusLongerThan,
			Status: presence.AfterCallWork, After: 5 * time.Minute, EscalateAfter: 3 * time.Minute,
			ActiveHours: d.ActiveHours, Channel: "C0123456789", Mention: []string{"S0LEADS"}, Source: "conf/alerts.yml", Line: 11},
		// Defaults: no critical, resolved at warning, ALERT_FOR,
		// ALERT_REPEAT, ALERT_ACTIVE_HOURS, ALERT_CHANNEL.
		{Name: "floor:all", Kind: AvailableBelow, Warning: 10, ResolveAt: 10, For: 20 * time.Second, Repeat: 45 * time.Minute,
			ActiveHours: d.ActiveHours, Channel: "C0DEFAULT", Source: "conf/alerts.yml", Line: 16},
		// escalate_after defaults to after: the agent gets as long again.
		{Name: "on_call_long", Kind: StatusLongerThan, Status: presence.OnCall, After: 20 * time.Minute, EscalateAfter: 20 * time.Minute,
			ActiveHours: d.ActiveHours, Channel: "C0DEFAULT", Source: "conf/alerts.yml", Line: 19},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules:\ngot  %+v\nwant %+v", rules, want)
	}
	// Active hours are read in TIMEZONE: 09:00 in Kolkata on a Monday.
	monday := time.Date(2025, 6, 2, 3, 30, 0, 0, time.UTC)
	if !rules[0].ActiveHours.Contains(monday) || rules[0].ActiveHours.Contains(monday.Add(-2*time.Hour)) {
		t.Errorf("active hours %s are not read in Asia/Kolkata", rules[0].ActiveHours)
	}
}

// Anchors and aliases are YAML, and work; an empty file, or no rules, is
// no rules.
func TestParseRulesYAMLForms(t *testing.T) {
	doc := `rules:
  - name: a
    teams: &floor [sales_team, support_team]
    available_below: &levels {warning: 4, critical: 2}
  - name: b
    teams: *floor
    available_below: *levels
`
	rules, problems := ParseRules("alerts.yml", []byte(doc), ruleDefaults)
	if len(problems) > 0 || len(rules) != 2 || !slices.Equal(rules[1].Teams, []string{"sales_team", "support_team"}) || rules[1].Critical != 2 {
		t.Errorf("aliases: got %+v, %v", rules, problems)
	}
	for _, doc := range []string{"", "# nothing yet\n", "rules: []\n", "rules:\n"} {
		rules, problems := ParseRules("alerts.yml", []byte(doc), ruleDefaults)
		if len(rules) != 0 || len(problems) != 0 {
			t.Errorf("%q: got %v, %v; want no rules and no problem", doc, rules, problems)
		}
	}
}

// rulesFS is a working directory holding files, for Load.
func rulesFS(files map[string]string) []Option {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return []Option{
		WithStat(func(name string) (fs.FileInfo, error) { return fs.Stat(fsys, name) }),
		WithReadFile(func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) }),
	}
}

const salesRule = "rules:\n  - name: sales-floor\n    teams: [sales_team]\n    available_below: {warning: 4, critical: 2}\n"

// The file's rules come first, then the variables' rules all and
// team:<id>, each with the ALERT_* defaults.
func TestLoadMergesVariableRules(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{
		"ALERT_CHANNEL":         "C0ALERTS",
		"ALERT_THRESHOLD":       "3",
		"ALERT_TEAM_THRESHOLDS": "support_team=2",
		"ALERT_FOR":             "1m",
		"ALERT_REPEAT":          "10m",
	}), rulesFS(map[string]string{"alerts.yml": salesRule})...)
	ah := ActiveHours{loc: time.UTC}
	want := []AlertRule{
		{Name: "sales-floor", Teams: []string{"sales_team"}, Kind: AvailableBelow, Warning: 4, Critical: 2, HasCritical: true, ResolveAt: 4,
			For: time.Minute, Repeat: 10 * time.Minute, ActiveHours: ah, Channel: "C0ALERTS", Source: "alerts.yml", Line: 2},
		{Name: "all", Kind: AvailableBelow, Warning: 3, ResolveAt: 3,
			For: time.Minute, Repeat: 10 * time.Minute, ActiveHours: ah, Channel: "C0ALERTS", Source: "ALERT_THRESHOLD"},
		{Name: "team:support_team", Teams: []string{"support_team"}, Kind: AvailableBelow, Warning: 2, ResolveAt: 2,
			For: time.Minute, Repeat: 10 * time.Minute, ActiveHours: ah, Channel: "C0ALERTS", Source: "ALERT_TEAM_THRESHOLDS"},
	}
	if !reflect.DeepEqual(c.Alert.Rules, want) {
		t.Errorf("rules:\ngot  %+v\nwant %+v", c.Alert.Rules, want)
	}
	if c.Alert.RulesFile != "alerts.yml" || !c.Alert.Enabled() {
		t.Errorf("RulesFile %q, Enabled %v; want alerts.yml, true", c.Alert.RulesFile, c.Alert.Enabled())
	}
	// The fields the app reads until it is rewired still hold the variables.
	if c.Alert.Threshold != 3 || len(c.Alert.TeamThresholds) != 1 {
		t.Errorf("Threshold %d, TeamThresholds %v", c.Alert.Threshold, c.Alert.TeamThresholds)
	}
}

// How the variables and the file combine.
func TestLoadAlertRulesAndVariables(t *testing.T) {
	const ownChannel = "rules:\n  - name: sales-floor\n    available_below: {warning: 4}\n    channel: C0SALES\n"
	tests := []struct {
		name     string
		vars     map[string]string
		files    map[string]string
		rules    []string // names, in order
		problems []string // Problem.String()
		ignored  []string
	}{
		// Without a file, as before: ALERT_CHANNEL and ALERT_THRESHOLD make the rule all,
		{"variables only", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "3"}, nil,
			[]string{"all"}, nil, nil},
		// even at 0 (only data-unavailable notices),
		{"variables only, zero", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "0"}, nil,
			[]string{"all"}, nil, nil},
		// and ALERT_THRESHOLD is required.
		{"variables only, no threshold", map[string]string{"ALERT_CHANNEL": "C0A"}, nil,
			nil, []string{"ALERT_THRESHOLD: required when ALERT_CHANNEL is set"}, nil},
		// Without ALERT_CHANNEL or a file alerts are off.
		{"nothing", map[string]string{"ALERT_THRESHOLD": "3"}, nil,
			nil, nil, []string{"ALERT_THRESHOLD: set, but alerts are off (ALERT_CHANNEL is not set): it has no effect"}},
		// With a file, ALERT_CHANNEL alone is the default channel,
		{"file and channel", map[string]string{"ALERT_CHANNEL": "C0A"}, map[string]string{"alerts.yml": salesRule},
			[]string{"sales-floor"}, nil, nil},
		// ALERT_THRESHOLD=0 is no rule,
		{"file and zero threshold", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "0"}, map[string]string{"alerts.yml": salesRule},
			[]string{"sales-floor"}, nil, nil},
		// and a rule's own channel needs no ALERT_CHANNEL.
		{"file without ALERT_CHANNEL", nil, map[string]string{"alerts.yml": ownChannel},
			[]string{"sales-floor"}, nil, nil},
		// A variable rule needs ALERT_CHANNEL.
		{"threshold without channel", map[string]string{"ALERT_THRESHOLD": "3", "ALERT_TEAM_THRESHOLDS": "x=1"}, map[string]string{"alerts.yml": ownChannel},
			nil, []string{`ALERT_THRESHOLD: makes the rule "all", which has no channel: set ALERT_CHANNEL`,
				`ALERT_TEAM_THRESHOLDS: makes the rule "team:x", which has no channel: set ALERT_CHANNEL`}, nil},
		// A file rule without a channel, and no ALERT_CHANNEL.
		{"file rule without channel", nil, map[string]string{"alerts.yml": salesRule},
			nil, []string{`ALERT_RULES_FILE: alerts.yml:2: rule "sales-floor": no channel (set channel, or ALERT_CHANNEL for the rules without one)`}, nil},
		// The variables' rule names are taken.
		{"name clash", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "2", "ALERT_TEAM_THRESHOLDS": "sales=1"},
			map[string]string{"alerts.yml": "rules:\n  - name: all\n    available_below: {warning: 4}\n  - name: Team:Sales\n    available_below: {warning: 4}\n"},
			nil, []string{`ALERT_RULES_FILE: alerts.yml:2: rule "all": the name all is reserved for the rule ALERT_THRESHOLD makes; rename this rule`,
				`ALERT_RULES_FILE: alerts.yml:4: rule "Team:Sales": name used by the rule ALERT_TEAM_THRESHOLDS makes (rename this one)`}, nil},
		// Named but missing, or a directory.
		{"named missing", map[string]string{"ALERT_RULES_FILE": "conf/rules.yml"}, nil,
			nil, []string{`ALERT_RULES_FILE: "conf/rules.yml": no such file`}, nil},
		{"named directory", map[string]string{"ALERT_RULES_FILE": "conf"}, map[string]string{"conf/x": ""},
			nil, []string{`ALERT_RULES_FILE: "conf": is a directory, want a YAML file`}, nil},
		// Named and present, anywhere.
		{"named", map[string]string{"ALERT_RULES_FILE": "conf/rules.yml", "ALERT_CHANNEL": "C0A"}, map[string]string{"conf/rules.yml": salesRule},
			[]string{"sales-floor"}, nil, nil},
		// A directory named alerts.yml is no default file.
		{"default is a directory", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "1"}, map[string]string{"alerts.yml/x": ""},
			[]string{"all"}, nil, nil},
		// A file with no rules leaves alerts off, and says so.
		{"file without rules", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_FOR": "1m"}, map[string]string{"alerts.yml": "rules: []\n"},
			nil, nil, []string{"ALERT_CHANNEL: set, but alerts are off (alerts.yml has no rules): it has no effect",
				"ALERT_FOR: set, but alerts are off (alerts.yml has no rules): it has no effect"}},
		// ALERT_CHANNEL that no rule uses.
		{"ALERT_CHANNEL unused", map[string]string{"ALERT_CHANNEL": "C0A"}, map[string]string{"alerts.yml": ownChannel},
			[]string{"sales-floor"}, nil, []string{"ALERT_CHANNEL: set, but every rule names its own channel: it has no effect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(lookupFrom(withCredentials(tt.vars)), rulesFS(tt.files)...)
			var problems []string
			var verr *ValidationError
			if errors.As(err, &verr) {
				for _, p := range verr.Problems {
					problems = append(problems, p.String())
				}
			} else if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems:\ngot  %q\nwant %q", problems, tt.problems)
			}
			if err != nil {
				return
			}
			var names, ignored []string
			for _, r := range c.Alert.Rules {
				names = append(names, r.Name)
			}
			for _, p := range c.Ignored {
				ignored = append(ignored, p.String())
			}
			if !slices.Equal(names, tt.rules) {
				t.Errorf("rules %q, want %q", names, tt.rules)
			}
			if c.Alert.Enabled() != (len(tt.rules) > 0) {
				t.Errorf("Enabled() = %v with rules %q", c.Alert.Enabled(), names)
			}
			if !slices.Equal(ignored, tt.ignored) {
				t.Errorf("ignored:\ngot  %q\nwant %q", ignored, tt.ignored)
			}
		})
	}
}

// A bad file stops the start: every problem names ALERT_RULES_FILE, the
// file and the line. With KeepRuleProblems (check) they are kept on the
// config instead, when they are the only problems.
func TestLoadBadRulesFile(t *testing.T) {
	files := rulesFS(map[string]string{"alerts.yml": "rules:\n  - name: sales\n    available_below: {warning: 3}\n    treshold: 3\n    chanel: C0X\n"})
	vars := withCredentials(map[string]string{"ALERT_CHANNEL": "C0A"})
	_, err := Load(lookupFrom(vars), files...)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load = %v, want a *ValidationError", err)
	}
	want := []string{
		`ALERT_RULES_FILE: alerts.yml:4: rule "sales": unknown key "treshold" (a threshold is written available_below: {warning: N})`,
		`ALERT_RULES_FILE: alerts.yml:5: rule "sales": unknown key "chanel" (did you mean "channel"?)`,
	}
	if got := strings.Split(verr.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("error:\ngot  %q\nwant %q", got, want)
	}

	c, err := Load(lookupFrom(vars), append(files, KeepRuleProblems())...)
	if err != nil {
		t.Fatalf("Load with KeepRuleProblems: %v", err)
	}
	var kept []string
	for _, p := range c.Alert.RuleProblems {
		kept = append(kept, "ALERT_RULES_FILE: "+p.String())
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept:\ngot  %q\nwant %q", kept, want)
	}
	if p := c.Alert.RuleProblems[0]; p.File != "alerts.yml" || p.Line != 4 || p.Column != 5 {
		t.Errorf("first problem at %s:%d:%d, want alerts.yml:4:5", p.File, p.Line, p.Column)
	}

	// With another problem, Load fails with all of them.
	vars["LOG_LEVEL"] = "loud"
	_, err = Load(lookupFrom(vars), append(files, KeepRuleProblems())...)
	if !errors.As(err, &verr) || len(verr.Problems) != 3 {
		t.Errorf("Load = %v, want the two rule problems and LOG_LEVEL", err)
	}
}

// A channel name in a rule is a channel problem: AllowChannelNames lets it
// through for check, which resolves it through Channels.
func TestLoadRuleChannelNames(t *testing.T) {
	files := rulesFS(map[string]string{"alerts.yml": "rules:\n  - name: sales\n    available_below: {warning: 3}\n    channel: \"#floor\"\n" +
		"  - name: support\n    available_below: {warning: 3}\n    channel: C0ALERTS\n  - name: ops\n    available_below: {warning: 3}\n    channel: C0OPS\n"})
	vars := withCredentials(map[string]string{"ALERT_CHANNEL": "C0ALERTS"})
	if _, err := Load(lookupFrom(vars), files...); err == nil || !strings.Contains(err.Error(), `alerts.yml:4: rule "sales": channel: "#floor" is a channel name`) {
		t.Errorf("Load = %v, want the channel name refused", err)
	}
	c, err := Load(lookupFrom(vars), append(files, AllowChannelNames())...)
	if err != nil {
		t.Fatalf("Load with AllowChannelNames: %v", err)
	}
	if len(c.Alert.RuleProblems) != 0 {
		t.Errorf("RuleProblems = %v, want none: the name is check's to resolve", c.Alert.RuleProblems)
	}
	// Each channel once: the second rule's is ALERT_CHANNEL's.
	want := []ChannelSetting{{"ALERT_CHANNEL", "C0ALERTS"}, {`alerts.yml:2: rule "sales" channel`, "#floor"}, {`alerts.yml:8: rule "ops" channel`, "C0OPS"}}
	if got := c.Channels(); !reflect.DeepEqual(got, want) {
		t.Errorf("Channels() = %v, want %v", got, want)
	}
}

// The copy Redacted makes shares no rule with the original.
func TestRedactedCopiesRules(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{"ALERT_CHANNEL": "C0A"}),
		rulesFS(map[string]string{"alerts.yml": salesRule})...)
	r := c.Redacted()
	r.Alert.Rules[0].Teams[0] = "changed"
	r.Alert.Rules[0].Name = "changed"
	if c.Alert.Rules[0].Teams[0] != "sales_team" || c.Alert.Rules[0].Name != "sales-floor" {
		t.Errorf("changing the redacted copy changed the config: %+v", c.Alert.Rules[0])
	}
}

// ExampleParseRules shows a rule as the app receives it.
func ExampleParseRules() {
	rules, problems := ParseRules("alerts.yml", []byte(`rules:
  - name: long-wrap-up
    teams: [support_team]
    status_longer_than: {status: after-call-work, after: 5m, escalate_after: 3m}
    channel: C0123456789
`), RuleDefaults{})
	r := rules[0]
	fmt.Println(len(problems), r.Name, r.Kind, r.Teams, r.Status, r.After, r.EscalateAfter, r.Channel)
	// Output: 0 long-wrap-up status_longer_than [support_team] after-call-work 5m0s 3m0s C0123456789
}
