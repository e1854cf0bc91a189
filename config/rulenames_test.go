package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The names all (the rule ALERT_THRESHOLD makes) and total (where that
// rule keeps its state, for stored state and buttons from before rules
// had names) are not a file rule's, whatever their case: two rules would
// share one state.
func TestParseRulesReservesAllAndTotal(t *testing.T) {
	const total = `alerts.yml:3: rule "%s": the name total is reserved (the rule all, which ALERT_THRESHOLD makes, keeps its state under it); rename this rule`
	const all = `alerts.yml:3: rule "%s": the name all is reserved for the rule ALERT_THRESHOLD makes; rename this rule`
	for _, tt := range []struct{ name, want string }{
		{"total", total},
		{"Total", total},
		{"all", all},
		{"ALL", all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, "rules:\n  - name: x\n  - name: "+tt.name+"\n    available_below: {warning: 5}\n", ruleDefaults)
			want := []string{`alerts.yml:2: rule "x": want available_below or status_longer_than`, fmt.Sprintf(tt.want, tt.name)}
			if !slices.Equal(got, want) {
				t.Errorf("problems:\ngot  %q\nwant %q", got, want)
			}
		})
	}
	// The review's file: rules all and total, both accepted before.
	got := parseProblems(t, `rules:
  - name: all
    teams: [sales_team]
    available_below: {warning: 3}
    channel: C0123456789
  - name: total
    available_below: {warning: 5}
    channel: C0123456789
`, RuleDefaults{})
	if len(got) != 2 {
		t.Errorf("rules all and total: problems %q, want one for each", got)
	}
	// Names that merely contain them are fine.
	if got := parseProblems(t, "rules:\n  - name: all-teams\n    available_below: {warning: 5}\n  - name: totals\n    available_below: {warning: 5}\n", ruleDefaults); len(got) != 0 {
		t.Errorf("all-teams, totals: problems %q, want none", got)
	}
}

// A file rule named all next to ALERT_THRESHOLD is one problem, not the
// reserved name and the clash both.
func TestLoadFileRuleNamedAllIsOneProblem(t *testing.T) {
	_, err := Load(lookupFrom(withCredentials(map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "2"})),
		rulesFS(map[string]string{"alerts.yml": "rules:\n  - name: all\n    available_below: {warning: 4}\n"})...)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load: %v, want a *ValidationError", err)
	}
	want := []string{`ALERT_RULES_FILE: alerts.yml:2: rule "all": the name all is reserved for the rule ALERT_THRESHOLD makes; rename this rule`}
	var got []string
	for _, p := range verr.Problems {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\ngot  %q\nwant %q", got, want)
	}
}

// mention on a time-in-status rule is kept: its escalation pings it.
func TestParseRulesKeepsMentionOnStatusRules(t *testing.T) {
	rules, problems := ParseRules("alerts.yml", []byte(`rules:
  - name: long-wrap-up
    status_longer_than: {status: after-call-work, after: 5m}
    channel: C0123456789
    mention: [S0123LEADS]
`), RuleDefaults{})
	if len(problems) != 0 || len(rules) != 1 {
		t.Fatalf("rules %+v, problems %v; want the rule and no problem", rules, problems)
	}
	if !slices.Equal(rules[0].Mention, []string{"S0123LEADS"}) {
		t.Errorf("Mention %q, want [S0123LEADS]", rules[0].Mention)
	}
}

// VariableRules makes the rules Load adds for the ALERT_* variables, the
// same ones, with or without a rules file, with the same problems.
func TestVariableRulesAreLoads(t *testing.T) {
	const file = "rules:\n  - name: sales-floor\n    available_below: {warning: 4}\n    channel: C0SALES\n"
	for _, tt := range []struct {
		name     string
		vars     map[string]string
		withFile bool
		rules    []string
		problems []string
	}{
		{"channel and threshold", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "3"}, false, []string{"all"}, nil},
		{"and team thresholds", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "3", "ALERT_TEAM_THRESHOLDS": "sales=2,support=1"},
			false, []string{"all", "team:sales", "team:support"}, nil},
		{"no channel: alerts off", map[string]string{"ALERT_THRESHOLD": "3"}, false, nil, nil},
		{"no threshold", map[string]string{"ALERT_CHANNEL": "C0A"}, false, nil, []string{"ALERT_THRESHOLD: required when ALERT_CHANNEL is set"}},
		{"bad team thresholds", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "1", "ALERT_TEAM_THRESHOLDS": "sales"},
			false, nil, []string{`ALERT_TEAM_THRESHOLDS: entry "sales": want team_id=number`}},
		{"file, zero threshold", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_THRESHOLD": "0"}, true, nil, nil},
		{"file and team thresholds", map[string]string{"ALERT_CHANNEL": "C0A", "ALERT_TEAM_THRESHOLDS": "sales=2"}, true, []string{"team:sales"}, nil},
		{"file, threshold without channel", map[string]string{"ALERT_THRESHOLD": "2"}, true, nil,
			[]string{`ALERT_THRESHOLD: makes the rule "all", which has no channel: set ALERT_CHANNEL`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"ALERT_FOR": "1m", "ALERT_REPEAT": "10m"}
			for k, v := range tt.vars {
				vars[k] = v
			}
			d := RuleDefaults{Channel: vars["ALERT_CHANNEL"], For: time.Minute, Repeat: 10 * time.Minute, Location: time.UTC}
			d.ActiveHours = d.ActiveHours.In(time.UTC)
			rules, problems := VariableRules(lookupFrom(vars), tt.withFile, d)
			var names, got []string
			for _, r := range rules {
				names = append(names, r.Name)
			}
			for _, p := range problems {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.problems) {
				t.Errorf("problems:\ngot  %q\nwant %q", got, tt.problems)
			}
			if len(tt.problems) > 0 {
				return
			}
			if !slices.Equal(names, tt.rules) {
				t.Errorf("rules %q, want %q", names, tt.rules)
			}
			files := map[string]string{}
			if tt.withFile {
				files["alerts.yml"] = file
			}
			c, err := Load(lookupFrom(withCredentials(vars)), rulesFS(files)...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			loaded := c.Alert.Rules
			if tt.withFile {
				loaded = loaded[1:]
			}
			if len(loaded) == 0 {
				loaded = nil
			}
			if !reflect.DeepEqual(rules, loaded) {
				t.Errorf("VariableRules:\n%+v\nLoad:\n%+v", rules, loaded)
			}
		})
	}
}

// JoinRules puts the variables' rules after the file's, and refuses a
// file rule that takes a variable rule's name, as Load does.
func TestJoinRules(t *testing.T) {
	file, _ := ParseRules("alerts.yml", []byte("rules:\n  - name: sales-floor\n    available_below: {warning: 4}\n  - name: Team:Sales\n    available_below: {warning: 4}\n"), ruleDefaults)
	vars := []AlertRule{{Name: "all", Source: "ALERT_THRESHOLD"}, {Name: "team:sales", Source: "ALERT_TEAM_THRESHOLDS"}}
	rules, problems := JoinRules(file, vars)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if want := []string{"sales-floor", "Team:Sales", "all", "team:sales"}; !slices.Equal(names, want) {
		t.Errorf("rules %q, want %q", names, want)
	}
	if len(problems) != 1 || problems[0].String() != `alerts.yml:4: rule "Team:Sales": name used by the rule ALERT_TEAM_THRESHOLDS makes (rename this one)` {
		t.Errorf("problems %q, want the clash of Team:Sales", problems)
	}
}
