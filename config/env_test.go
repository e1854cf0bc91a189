package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Variables that look like the bot's but that it does not read are
// reported with a suggestion, never with their values, and never stop
// the start.
func TestLoadUnknownVariables(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin",                     // not the bot's
		"ALRET_CHANNEL=C0SECRETVALUE",       // a transposition
		"ALERT_TRESHOLD=3",                  // a letter missing
		"ALERTS_CHANNEL=C0X",                // a typo in the prefix itself
		"SUMMARY_CHANNEL_ID=C0X",            // a suffix too many
		"TIMEZOME=UTC",                      // no prefix, but close to a name
		"SLACK_SIGNING_SECRET=hush-9f9f",    // a secret of another kind of Slack app
		"REDIS_PASSWORD=hush-7e7e",          // the password belongs in REDIS_URL
		"PRESENCE_FROBNICATE=1",             // no suggestion
		"SUMMARY_CHANEL=",                   // empty counts as unset
		"ALRET_CHANNEL=C0SECRETVALUE",       // listed twice: reported once
		"SUMMARY_CHANNEL=C0SUMMARY",         // known
		"ALERT_RULES_FILE=alerts.yml",       // future issues: known, not yet read
		"REPORT_CHANNEL=C0REPORT",           //
		"REPORT_SCHEDULE=0 18 * * Mon-Fri",  //
		"HISTORY_RETENTION=8d",              //
		"EXOTEL_RATE_LIMIT=10/20",           //
		"HTTP_PROXY=http://proxy:3128",      // net/http reads it
		"STATE_DIRECTORY=/var/lib/presence", // systemd's StateDirectory=
		"REDIS_SERVICE_HOST=10.0.0.7",       // Kubernetes service links
		"REDIS_SERVICE_PORT=6379",
		"REDIS_SERVICE_PORT_REDIS=6379",
		"REDIS_PORT=tcp://10.0.0.7:6379",
		"REDIS_PORT_6379_TCP=tcp://10.0.0.7:6379",
		"REDIS_PORT_6379_TCP_ADDR=10.0.0.7",
		"REDIS_PORT_6379_TCP_PORT=6379",
		"REDIS_PORT_6379_TCP_PROTO=tcp",
		"HTTP_PORT=8080", // not a service link (no tcp:// value)
		"malformed-entry-without-equals",
	}
	c := mustLoad(t, withCredentials(map[string]string{"SUMMARY_CHANNEL": "C0SUMMARY"}), WithEnviron(environ))
	want := map[string]string{
		"ALRET_CHANNEL":        "did you mean ALERT_CHANNEL?",
		"ALERT_TRESHOLD":       "did you mean ALERT_THRESHOLD?",
		"ALERTS_CHANNEL":       "did you mean ALERT_CHANNEL?",
		"SUMMARY_CHANNEL_ID":   "did you mean SUMMARY_CHANNEL?",
		"TIMEZOME":             "did you mean TIMEZONE?",
		"SLACK_SIGNING_SECRET": "Socket Mode",
		"REDIS_PASSWORD":       "REDIS_URL",
		"PRESENCE_FROBNICATE":  "presence-bot does not read it",
		"HTTP_PORT":            "HTTP_ADDR",
	}
	var got []string
	for _, p := range c.Unknown {
		got = append(got, p.Var)
		if !strings.HasPrefix(p.Message, "unknown") || !strings.Contains(p.Message, want[p.Var]) {
			t.Errorf("%s: %q, want it to start with \"unknown\" and say %q", p.Var, p.Message, want[p.Var])
		}
		for _, secret := range []string{"C0SECRETVALUE", "hush-9f9f", "hush-7e7e"} {
			if strings.Contains(p.String(), secret) {
				t.Errorf("%s: the message shows a value: %s", p.Var, p)
			}
		}
	}
	var wantVars []string
	for v := range want {
		wantVars = append(wantVars, v)
	}
	slices.Sort(wantVars)
	if !slices.Equal(got, wantVars) {
		t.Errorf("unknown variables:\ngot  %v\nwant %v (sorted, each once)", got, wantVars)
	}
	if i := slices.Index(got, "ALRET_CHANNEL"); i < 0 || c.Unknown[i].String() != "ALRET_CHANNEL: unknown; did you mean ALERT_CHANNEL?" {
		t.Errorf("ALRET_CHANNEL is not reported as \"ALRET_CHANNEL: unknown; did you mean ALERT_CHANNEL?\": %v", c.Unknown)
	}

	// Without WithEnviron nothing is known about the environment.
	if c := mustLoad(t, withCredentials(nil)); c.Unknown != nil {
		t.Errorf("Unknown without WithEnviron = %v, want nil", c.Unknown)
	}
}

// With other problems, the unknown variables come with the error: a typo
// is often why a required variable is missing.
func TestLoadUnknownVariablesWithProblems(t *testing.T) {
	vars := withCredentials(map[string]string{"ALERT_CHANNEL": "C0ALERTS"})
	_, err := Load(lookupFrom(vars), WithStat(noFiles), WithEnviron([]string{"ALERT_THRESHOLDS=3"}))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load = %v, want a *ValidationError", err)
	}
	if got := problemVars(verr.Problems); !slices.Equal(got, []string{"ALERT_THRESHOLD"}) {
		t.Errorf("problems for %v, want ALERT_THRESHOLD", got)
	}
	if len(verr.Unknown) != 1 || verr.Unknown[0].String() != "ALERT_THRESHOLDS: unknown; did you mean ALERT_THRESHOLD?" {
		t.Errorf("Unknown = %v", verr.Unknown)
	}
}

// Every variable Load reads, and those of the contract's future issues,
// is known: none of them is ever reported as unknown.
func TestLoadKnowsEveryVariableItReads(t *testing.T) {
	var read []string
	record := func(name string) (string, bool) {
		read = append(read, name)
		return "", false
	}
	_, _ = Load(record, WithStat(noFiles))
	environ := []string{"ALERT_RULES_FILE=x", "REPORT_CHANNEL=x", "REPORT_SCHEDULE=x", "HISTORY_RETENTION=x", "EXOTEL_RATE_LIMIT=x"}
	for _, name := range read {
		environ = append(environ, name+"=x")
	}
	_, err := Load(lookupFrom(nil), WithStat(noFiles), WithEnviron(environ))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load = %v, want missing credentials", err)
	}
	if len(verr.Unknown) != 0 {
		t.Errorf("known variables reported as unknown: %v", verr.Unknown)
	}
}

// A channel name, or a link to a channel, where an ID belongs stops the
// start: the first post would fail. The message says how to find the ID.
func TestLoadChannelNames(t *testing.T) {
	tests := []struct {
		value string
		wants []string
	}{
		{"#general", []string{`"#general"`, "use the channel's ID (C…)", "`presence-bot check` finds it for you"}},
		{"alerts", []string{`"alerts"`, "use the channel's ID (C…)", "presence-bot check"}},
		{"floor-ops", []string{`"floor-ops"`, "presence-bot check"}},
		{"https://acme.slack.com/archives/C0123ABCD", []string{"link", "use its ID: C0123ABCD"}},
		{"https://app.slack.com/client/T0FAKE/C0123ABCD", []string{"link", "use its ID: C0123ABCD"}},
		{"<#C0123ABCD|ops>", []string{"link", "use its ID: C0123ABCD"}},
	}
	for _, variable := range []string{"SUMMARY_CHANNEL", "ALERT_CHANNEL"} {
		for _, tt := range tests {
			t.Run(variable+" "+tt.value, func(t *testing.T) {
				vars := withCredentials(map[string]string{variable: tt.value, "ALERT_THRESHOLD": "3"})
				problems := problemsOf(t, vars)
				if got := problemVars(problems); !slices.Equal(got, []string{variable}) {
					t.Fatalf("problems for %v, want %s", got, variable)
				}
				for _, w := range tt.wants {
					if !strings.Contains(problems[0].Message, w) {
						t.Errorf("%s: %q lacks %q", variable, problems[0].Message, w)
					}
				}
			})
		}
	}
	for _, id := range []string{"C0123ABCD", "G0123ABCD", "D0123ABCD", "C1"} {
		c := mustLoad(t, withCredentials(map[string]string{"SUMMARY_CHANNEL": id, "ALERT_CHANNEL": id, "ALERT_THRESHOLD": "1"}))
		if c.Summary.Channel != id || c.Alert.Channel != id {
			t.Errorf("%s: got %q and %q", id, c.Summary.Channel, c.Alert.Channel)
		}
	}
}

// AllowChannelNames lets check load a configuration whose only problem is
// a channel name, keeping the value so check can resolve it; with other
// problems, the channel's is reported with them.
func TestLoadAllowChannelNames(t *testing.T) {
	vars := withCredentials(map[string]string{"SUMMARY_CHANNEL": "#general", "ALERT_CHANNEL": "<#C0ALERTS|alerts>", "ALERT_THRESHOLD": "2"})
	c := mustLoad(t, vars, AllowChannelNames())
	if c.Summary.Channel != "#general" || c.Alert.Channel != "<#C0ALERTS|alerts>" {
		t.Errorf("got %q and %q, want the values as given", c.Summary.Channel, c.Alert.Channel)
	}
	want := []ChannelSetting{{"SUMMARY_CHANNEL", "#general"}, {"ALERT_CHANNEL", "<#C0ALERTS|alerts>"}}
	if got := c.Channels(); !reflect.DeepEqual(got, want) {
		t.Errorf("Channels() = %v, want %v", got, want)
	}

	vars["TIMEZONE"] = "Mars/Olympus"
	got := problemVars(problemsOf(t, vars, AllowChannelNames()))
	if !slices.Equal(got, []string{"SUMMARY_CHANNEL", "TIMEZONE", "ALERT_CHANNEL"}) {
		t.Errorf("problems for %v, want SUMMARY_CHANNEL, TIMEZONE and ALERT_CHANNEL", got)
	}
}

func TestParseChannel(t *testing.T) {
	tests := []struct {
		in   string
		want ChannelRef
	}{
		{"C0123ABCD", ChannelRef{ID: "C0123ABCD"}},
		{"#general", ChannelRef{Name: "general"}},
		{"general", ChannelRef{Name: "general"}},
		{"<#C0123ABCD|ops>", ChannelRef{ID: "C0123ABCD", Name: "ops", Link: true}},
		{"<#C0123ABCD>", ChannelRef{ID: "C0123ABCD", Link: true}},
		{"https://acme.slack.com/archives/G0123ABCD/p1712345678000100", ChannelRef{ID: "G0123ABCD", Link: true}},
	}
	for _, tt := range tests {
		if got := ParseChannel(tt.in); got != tt.want {
			t.Errorf("ParseChannel(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// A setting that has no effect as configured is reported (not an error:
// deploy/k8s.yaml switches features off by emptying their channel and
// keeps the rest).
func TestLoadIgnoredSettings(t *testing.T) {
	vars := withCredentials(map[string]string{
		"ALERT_THRESHOLD":         "3",
		"ALERT_TEAM_THRESHOLDS":   "sales_team=2",
		"ALERT_INTERVAL":          "30s",
		"ALERT_FOR":               "1m",
		"ALERT_REPEAT":            "1h",
		"ALERT_UNAVAILABLE_AFTER": "4",
		"ALERT_ACTIVE_HOURS":      "Mon-Fri 08:00-20:00",
		"SUMMARY_SCHEDULE":        "30m",
		"STATE_DIR":               "/var/lib/presence-bot",
		"REDIS_URL":               "redis://127.0.0.1:6379/0",
	})
	c := mustLoad(t, vars)
	wantVars := []string{"SUMMARY_SCHEDULE", "ALERT_THRESHOLD", "ALERT_TEAM_THRESHOLDS", "ALERT_INTERVAL", "ALERT_FOR",
		"ALERT_REPEAT", "ALERT_UNAVAILABLE_AFTER", "ALERT_ACTIVE_HOURS", "STATE_DIR"}
	if got := problemVars(c.Ignored); !slices.Equal(got, wantVars) {
		t.Errorf("ignored:\ngot  %v\nwant %v", got, wantVars)
	}
	for _, p := range c.Ignored {
		var because string
		switch {
		case strings.HasPrefix(p.Var, "ALERT_"):
			because = "alerts are off (ALERT_CHANNEL is not set)"
		case p.Var == "SUMMARY_SCHEDULE":
			because = "summaries are off (SUMMARY_CHANNEL is not set)"
		default:
			because = "state lives in Redis (REDIS_URL is set)"
		}
		if !strings.Contains(p.Message, because) || !strings.Contains(p.Message, "no effect") {
			t.Errorf("%s: %q lacks %q", p.Var, p.Message, because)
		}
	}

	vars["ALERT_CHANNEL"], vars["SUMMARY_CHANNEL"] = "C0ALERTS", "C0SUMMARY"
	delete(vars, "STATE_DIR")
	if c := mustLoad(t, vars); c.Ignored != nil {
		t.Errorf("with the channels set: ignored %v, want none", c.Ignored)
	}
}
