package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Fake credentials in the right form; distinctive so a leak is easy to spot.
const (
	fakeAppToken    = "xapp-1-A0FAKEAPP-4242-0123456789abcdef"
	fakeBotToken    = "xoxb-4242-4343-FAKEBOTabcdef"
	fakeAccessToken = "exo-FAKEACCESS-9d8c7b6a"
	fakeAccountSID  = "acme_sid_01"
)

// lookupFrom turns a map into the lookup Load takes.
func lookupFrom(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// withCredentials returns the required variables plus extra.
func withCredentials(extra map[string]string) map[string]string {
	vars := map[string]string{
		"SLACK_APP_TOKEN":     fakeAppToken,
		"SLACK_BOT_TOKEN":     fakeBotToken,
		"EXOTEL_ACCOUNT_SID":  fakeAccountSID,
		"EXOTEL_ACCESS_TOKEN": fakeAccessToken,
	}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

// noFiles is a stat for an empty working directory.
func noFiles(name string) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// statIn stats names in an in-memory file system.
func statIn(fsys fstest.MapFS) func(string) (fs.FileInfo, error) {
	return func(name string) (fs.FileInfo, error) { return fs.Stat(fsys, name) }
}

// mustLoad loads vars and fails the test on any problem.
func mustLoad(t *testing.T, vars map[string]string, opts ...Option) *Config {
	t.Helper()
	c, err := Load(lookupFrom(vars), append([]Option{WithStat(noFiles)}, opts...)...)
	if err != nil {
		t.Fatalf("Load: unexpected error:\n%v", err)
	}
	return c
}

// problemsOf loads vars and returns the problems, failing the test when
// Load succeeds or returns another kind of error.
func problemsOf(t *testing.T, vars map[string]string, opts ...Option) []Problem {
	t.Helper()
	c, err := Load(lookupFrom(vars), append([]Option{WithStat(noFiles)}, opts...)...)
	if err == nil {
		t.Fatalf("Load: got config %+v, want an error", c.Redacted())
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load: got error %T (%v), want *ValidationError", err, err)
	}
	if c != nil {
		t.Errorf("Load: got a config with the error, want nil")
	}
	return verr.Problems
}

// problemVars lists the variables named by problems, in order.
func problemVars(problems []Problem) []string {
	vars := make([]string, len(problems))
	for i, p := range problems {
		vars[i] = p.Var
	}
	return vars
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, withCredentials(nil))
	want := &Config{
		Slack: Slack{AppToken: fakeAppToken, BotToken: fakeBotToken, APIURL: "https://slack.com/api/"},
		Exotel: Exotel{AccountSID: fakeAccountSID, AccessToken: fakeAccessToken, Region: "singapore", BaseURL: "https://ccm-api.exotel.com",
			RateLimit: RateLimit{Rate: 10, Burst: 20}},
		PresenceCacheTTL: 2 * time.Second,
		Summary:          Summary{Schedule: Schedule{Every: time.Hour}},
		HistoryRetention: 8 * 24 * time.Hour,
		Alert: Alert{
			Interval:         time.Minute,
			Repeat:           30 * time.Minute,
			UnavailableAfter: 3,
			ActiveHours:      ActiveHours{loc: time.UTC},
		},
		AfterCall: AfterCall{Poll: 5 * time.Second, Expiry: 2 * time.Hour},
		Location:  time.UTC,
		StateDir:  "./data",
		Redis:     Redis{Timeout: 200 * time.Millisecond},
		Log:       Log{Level: slog.LevelInfo, Format: "text"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load defaults:\ngot  %+v\nwant %+v", c, want)
	}
	if c.Summary.Enabled() || c.Alert.Enabled() {
		t.Errorf("got summary enabled %v, alerts enabled %v, want both off without channels",
			c.Summary.Enabled(), c.Alert.Enabled())
	}
	if !c.Alert.ActiveHours.Always() {
		t.Errorf("got active hours %s, want always", c.Alert.ActiveHours)
	}
}

func TestLoadEverySet(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatalf("load Asia/Kolkata: %v", err)
	}
	c := mustLoad(t, withCredentials(map[string]string{
		"SLACK_API_URL":           "http://127.0.0.1:9999/api",
		"EXOTEL_REGION":           "mumbai",
		"EXOTEL_BASE_URL":         "http://127.0.0.1:8888/",
		"EXOTEL_RATE_LIMIT":       "25/5",
		"AGENT_MAP_FILE":          "",
		"PRESENCE_OPEN_TO_ALL":    "Yes",
		"PRESENCE_CACHE_TTL":      "0",
		"SUMMARY_CHANNEL":         "C0SUMMARY",
		"SUMMARY_SCHEDULE":        "0 9 * * Mon-Fri",
		"HISTORY_RETENTION":       "14d",
		"ALERT_CHANNEL":           "C0ALERTS",
		"ALERT_THRESHOLD":         "4",
		"ALERT_TEAM_THRESHOLDS":   " support_team = 5 , sales_team=3",
		"ALERT_INTERVAL":          "2s",
		"ALERT_FOR":               "90s",
		"ALERT_REPEAT":            "1h",
		"ALERT_UNAVAILABLE_AFTER": "5",
		"ALERT_ACTIVE_HOURS":      "Mon-Fri 08:00-20:00",
		"AFTER_CALL_POLL":         "1s",
		"AFTER_CALL_EXPIRY":       "30m",
		"TIMEZONE":                "Asia/Kolkata",
		"HTTP_ADDR":               ":8080",
		"STATE_DIR":               "/var/lib/presence-bot",
		"REDIS_URL":               "redis://127.0.0.1:6379/0",
		"REDIS_TIMEOUT":           "50ms",
		"LOG_LEVEL":               "DEBUG",
		"LOG_FORMAT":              "json",
	}))
	activeHours, err := ParseActiveHours("Mon-Fri 08:00-20:00")
	if err != nil {
		t.Fatalf("ParseActiveHours: %v", err)
	}
	want := &Config{
		Slack: Slack{AppToken: fakeAppToken, BotToken: fakeBotToken, APIURL: "http://127.0.0.1:9999/api/"},
		Exotel: Exotel{AccountSID: fakeAccountSID, AccessToken: fakeAccessToken, Region: "mumbai", BaseURL: "http://127.0.0.1:8888",
			RateLimit: RateLimit{Rate: 25, Burst: 5}},
		PresenceOpenToAll: true,
		PresenceCacheTTL:  0,
		Summary:           Summary{Channel: "C0SUMMARY", Schedule: Schedule{Cron: "0 9 * * Mon-Fri"}},
		HistoryRetention:  14 * 24 * time.Hour,
		Alert: Alert{
			Channel:          "C0ALERTS",
			Threshold:        4,
			TeamThresholds:   []TeamThreshold{{TeamID: "support_team", Min: 5}, {TeamID: "sales_team", Min: 3}},
			Interval:         2 * time.Second,
			For:              90 * time.Second,
			Repeat:           time.Hour,
			UnavailableAfter: 5,
			ActiveHours:      activeHours.In(kolkata),
			// Without a rules file the variables are the rules.
			Rules: []AlertRule{
				{Name: "all", Kind: AvailableBelow, Warning: 4, ResolveAt: 4, For: 90 * time.Second, Repeat: time.Hour,
					ActiveHours: activeHours.In(kolkata), Channel: "C0ALERTS", Source: "ALERT_THRESHOLD"},
				{Name: "team:support_team", Teams: []string{"support_team"}, Kind: AvailableBelow, Warning: 5, ResolveAt: 5, For: 90 * time.Second,
					Repeat: time.Hour, ActiveHours: activeHours.In(kolkata), Channel: "C0ALERTS", Source: "ALERT_TEAM_THRESHOLDS"},
				{Name: "team:sales_team", Teams: []string{"sales_team"}, Kind: AvailableBelow, Warning: 3, ResolveAt: 3, For: 90 * time.Second,
					Repeat: time.Hour, ActiveHours: activeHours.In(kolkata), Channel: "C0ALERTS", Source: "ALERT_TEAM_THRESHOLDS"},
			},
		},
		AfterCall: AfterCall{Poll: time.Second, Expiry: 30 * time.Minute},
		Location:  kolkata,
		HTTPAddr:  ":8080",
		StateDir:  "/var/lib/presence-bot",
		Redis:     Redis{URL: "redis://127.0.0.1:6379/0", Timeout: 50 * time.Millisecond},
		Log:       Log{Level: slog.LevelDebug, Format: "json"},
		// Both set: the state lives in Redis.
		Ignored: []Problem{{"STATE_DIR", "set, but state lives in Redis (REDIS_URL is set): it has no effect"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load:\ngot  %+v\nwant %+v", c, want)
	}
	if !c.Summary.Enabled() || !c.Alert.Enabled() {
		t.Errorf("got summary enabled %v, alerts enabled %v, want both on", c.Summary.Enabled(), c.Alert.Enabled())
	}
}

// One Load with a bad value in every variable that can have one must name
// every one of them.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	vars := map[string]string{
		// SLACK_APP_TOKEN, EXOTEL_ACCOUNT_SID and EXOTEL_ACCESS_TOKEN unset.
		"SLACK_BOT_TOKEN":         "not-a-bot-token",
		"SLACK_API_URL":           "slack.com/api",
		"EXOTEL_REGION":           "frankfurt",
		"EXOTEL_BASE_URL":         "ftp://ccm.example.com",
		"AGENT_MAP_FILE":          "missing.yml",
		"PRESENCE_OPEN_TO_ALL":    "sometimes",
		"PRESENCE_CACHE_TTL":      "-2s",
		"SUMMARY_SCHEDULE":        "61 * * * *",
		"ALERT_CHANNEL":           "C0ALERTS",
		"ALERT_TEAM_THRESHOLDS":   "sales_team=x,=2",
		"ALERT_INTERVAL":          "500ms",
		"ALERT_FOR":               "-1m",
		"ALERT_REPEAT":            "often",
		"ALERT_UNAVAILABLE_AFTER": "0",
		"ALERT_ACTIVE_HOURS":      "Mon-Fri 20:00-08:00",
		"AFTER_CALL_POLL":         "0s",
		"AFTER_CALL_EXPIRY":       "2 hours",
		"TIMEZONE":                "Mars/Olympus_Mons",
		"HTTP_ADDR":               "8080",
		"REDIS_URL":               "http://cache:6379",
		"REDIS_TIMEOUT":           "0",
		"LOG_LEVEL":               "verbose",
		"LOG_FORMAT":              "xml",
	}
	problems := problemsOf(t, vars)
	want := []string{
		"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
		"EXOTEL_ACCOUNT_SID", "EXOTEL_ACCESS_TOKEN", "EXOTEL_REGION", "EXOTEL_BASE_URL",
		"AGENT_MAP_FILE", "PRESENCE_OPEN_TO_ALL", "PRESENCE_CACHE_TTL", "SUMMARY_SCHEDULE",
		"TIMEZONE", "ALERT_THRESHOLD", "ALERT_TEAM_THRESHOLDS", "ALERT_TEAM_THRESHOLDS",
		"ALERT_INTERVAL", "ALERT_FOR", "ALERT_REPEAT", "ALERT_UNAVAILABLE_AFTER", "ALERT_ACTIVE_HOURS",
		"AFTER_CALL_POLL", "AFTER_CALL_EXPIRY", "HTTP_ADDR", "REDIS_URL", "REDIS_TIMEOUT",
		"LOG_LEVEL", "LOG_FORMAT",
	}
	if got := problemVars(problems); !reflect.DeepEqual(got, want) {
		t.Errorf("problem variables:\ngot  %v\nwant %v", got, want)
	}
	// Each problem shows the bad value (secrets aside), so the operator
	// need not look it up.
	for _, p := range problems {
		v, ok := vars[p.Var]
		if !ok || p.Var == "SLACK_BOT_TOKEN" || p.Var == "ALERT_TEAM_THRESHOLDS" {
			continue
		}
		if !strings.Contains(p.Message, fmt.Sprintf("%q", v)) {
			t.Errorf("%s: got message %q, want it to quote the value %q", p.Var, p.Message, v)
		}
	}
	// Error() puts one problem per line, each starting with its variable.
	lines := strings.Split((&ValidationError{Problems: problems}).Error(), "\n")
	if len(lines) != len(problems) {
		t.Fatalf("Error(): got %d lines, want %d", len(lines), len(problems))
	}
	for i, line := range lines {
		if !strings.HasPrefix(line, problems[i].Var+": ") {
			t.Errorf("Error() line %d: got %q, want it to start with %q", i+1, line, problems[i].Var+": ")
		}
	}
}

func TestLoadRequiredCredentials(t *testing.T) {
	problems := problemsOf(t, map[string]string{"SLACK_APP_TOKEN": "  ", "EXOTEL_ACCOUNT_SID": ""})
	want := []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "EXOTEL_ACCOUNT_SID", "EXOTEL_ACCESS_TOKEN"}
	if got := problemVars(problems); !reflect.DeepEqual(got, want) {
		t.Errorf("got problems for %v, want %v (blank counts as unset)", got, want)
	}

	// demo runs without credentials.
	c := mustLoad(t, map[string]string{}, WithoutCredentials())
	if c.Slack.AppToken != "" || c.Exotel.AccessToken != "" {
		t.Errorf("got credentials %+v, want none", c.Redacted())
	}
	// Credentials that are given are still checked.
	problems = problemsOf(t, map[string]string{"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, WithoutCredentials())
	if got := problemVars(problems); !reflect.DeepEqual(got, []string{"SLACK_APP_TOKEN"}) {
		t.Errorf("WithoutCredentials: got problems for %v, want [SLACK_APP_TOKEN]", got)
	}

	// Load with a nil lookup sees nothing set.
	if _, err := Load(nil, WithStat(noFiles), WithoutCredentials()); err != nil {
		t.Errorf("Load(nil): got %v, want no error", err)
	}
}

// Secrets must never reach an error, whatever is wrong with them or around
// them.
func TestLoadNeverShowsSecrets(t *testing.T) {
	const (
		appSecret    = "SECRETAPP-5a1d"
		botSecret    = "SECRETBOT-77e2"
		accessSecret = "SECRETACCESS-c0ffee"
	)
	tests := []struct {
		name     string
		redisURL string
		secrets  []string
	}{
		// A wrong scheme: the URL parses, and is shown with the password masked.
		{"wrong scheme", "http://user:SECRETREDIS-1111@cache:6379", []string{"SECRETREDIS-1111"}},
		// A bad port: url.Parse fails and its error would quote the URL.
		{"unparsable", "redis://:SECRETREDIS-2222@cache:port/0", []string{"SECRETREDIS-2222"}},
		// A control character: url.Parse fails again.
		{"control character", "redis://:SECRETREDIS-3333@cache\x7f:6379", []string{"SECRETREDIS-3333"}},
		// No host.
		{"no host", "rediss://:SECRETREDIS-4444@/0", []string{"SECRETREDIS-4444"}},
		// A password that is only a user name part.
		{"user only", "ftp://SECRETREDIS-5555@cache", []string{"SECRETREDIS-5555"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{
				"SLACK_APP_TOKEN":     "xoxb-" + appSecret, // the bot token in the app's place
				"SLACK_BOT_TOKEN":     botSecret,
				"EXOTEL_ACCOUNT_SID":  fakeAccountSID,
				"EXOTEL_ACCESS_TOKEN": accessSecret,
				"REDIS_URL":           tt.redisURL,
				"LOG_LEVEL":           "loud", // an unrelated problem
			}
			problems := problemsOf(t, vars)
			if got := problemVars(problems); !reflect.DeepEqual(got, []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "REDIS_URL", "LOG_LEVEL"}) {
				t.Errorf("got problems for %v, want SLACK_APP_TOKEN, SLACK_BOT_TOKEN, REDIS_URL, LOG_LEVEL", got)
			}
			text := (&ValidationError{Problems: problems}).Error()
			for _, secret := range append([]string{appSecret, botSecret, accessSecret}, tt.secrets...) {
				if strings.Contains(text, secret) {
					t.Errorf("error text shows secret %q:\n%s", secret, text)
				}
			}
			// The app token message says which kind of token it got.
			if !strings.Contains(problems[0].Message, `"xapp-"`) || !strings.Contains(problems[0].Message, "xoxb-") {
				t.Errorf("SLACK_APP_TOKEN: got %q, want it to name xapp- and the xoxb- it got", problems[0].Message)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{
		"REDIS_URL":             "redis://app:SECRETREDIS-6666@cache:6379/0",
		"ALERT_CHANNEL":         "C0ALERTS",
		"ALERT_THRESHOLD":       "1",
		"ALERT_TEAM_THRESHOLDS": "sales_team=2",
	}))
	r := c.Redacted()
	printed := fmt.Sprintf("%+v", r)
	for _, secret := range []string{fakeAppToken, fakeBotToken, fakeAccessToken, "SECRETREDIS-6666"} {
		if strings.Contains(printed, secret) {
			t.Errorf("Redacted() shows %q: %s", secret, printed)
		}
	}
	if r.Slack.AppToken != "set" || r.Slack.BotToken != "set" || r.Exotel.AccessToken != "set" {
		t.Errorf("got tokens %q, %q, %q, want \"set\" for each", r.Slack.AppToken, r.Slack.BotToken, r.Exotel.AccessToken)
	}
	if want := "redis://app:xxxxx@cache:6379/0"; r.Redis.URL != want {
		t.Errorf("got Redis URL %q, want %q", r.Redis.URL, want)
	}
	if r.Exotel.AccountSID != fakeAccountSID {
		t.Errorf("got account SID %q, want it kept (%q): it is not a secret", r.Exotel.AccountSID, fakeAccountSID)
	}
	// The copy shares nothing mutable with the original.
	r.Alert.TeamThresholds[0].Min = 99
	if c.Alert.TeamThresholds[0].Min != 2 {
		t.Errorf("changing the redacted copy changed the config: got Min %d, want 2", c.Alert.TeamThresholds[0].Min)
	}
	// Unset secrets stay empty, so "check" can tell unset from set.
	empty := Config{}.Redacted()
	if empty.Slack.AppToken != "" || empty.Redis.URL != "" {
		t.Errorf("got %q and %q for unset secrets, want empty", empty.Slack.AppToken, empty.Redis.URL)
	}
}

func TestExotelEndpoint(t *testing.T) {
	tests := []struct {
		name       string
		region     string
		baseURL    string
		wantRegion string
		wantURL    string
		wantErrs   []string
	}{
		// The default region is Singapore.
		{"default", "", "", "singapore", "https://ccm-api.exotel.com", nil},
		// Mumbai has its own host.
		{"mumbai", "mumbai", "", "mumbai", "https://ccm-api.in.exotel.com", nil},
		// Region names ignore case and spaces.
		{"case", " Mumbai ", "", "mumbai", "https://ccm-api.in.exotel.com", nil},
		// The base URL overrides the region; its trailing slash goes.
		{"override", "", "http://127.0.0.1:4010/", "singapore", "http://127.0.0.1:4010", nil},
		// It overrides Mumbai too, and may carry a path prefix.
		{"override mumbai", "mumbai", "https://proxy.example.com/ccm/", "mumbai", "https://proxy.example.com/ccm", nil},
		// An unknown region is reported even when the base URL overrides it.
		{"bad region", "europe", "http://127.0.0.1:4010", "", "", []string{"EXOTEL_REGION"}},
		// Not http(s).
		{"bad scheme", "", "ftp://ccm.example.com", "", "", []string{"EXOTEL_BASE_URL"}},
		// Relative.
		{"relative", "", "ccm-api.exotel.com", "", "", []string{"EXOTEL_BASE_URL"}},
		// No host.
		{"no host", "", "https:///v2", "", "", []string{"EXOTEL_BASE_URL"}},
		// A query string would break the paths the client appends.
		{"query", "", "https://ccm.example.com/?x=1", "", "", []string{"EXOTEL_BASE_URL"}},
		// Plain http to another machine sends the Bearer token in clear.
		{"insecure host", "", "http://ccm.example.com", "", "", []string{"EXOTEL_BASE_URL"}},
		{"insecure private address", "", "http://10.0.0.7:8080", "", "", []string{"EXOTEL_BASE_URL"}},
		// Loopback never leaves the machine (a local proxy or the simulator).
		{"loopback v4", "", "http://127.0.0.2:4010", "singapore", "http://127.0.0.2:4010", nil},
		{"loopback v6", "", "http://[::1]:4010", "singapore", "http://[::1]:4010", nil},
		{"localhost", "", "http://LocalHost:4010", "singapore", "http://LocalHost:4010", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := withCredentials(map[string]string{"EXOTEL_REGION": tt.region, "EXOTEL_BASE_URL": tt.baseURL})
			if tt.wantErrs != nil {
				if got := problemVars(problemsOf(t, vars)); !reflect.DeepEqual(got, tt.wantErrs) {
					t.Errorf("got problems for %v, want %v", got, tt.wantErrs)
				}
				return
			}
			c := mustLoad(t, vars)
			if c.Exotel.Region != tt.wantRegion || c.Exotel.BaseURL != tt.wantURL {
				t.Errorf("got region %q, URL %q, want %q, %q", c.Exotel.Region, c.Exotel.BaseURL, tt.wantRegion, tt.wantURL)
			}
		})
	}
}

// EXOTEL_ALLOW_INSECURE lets plain http reach another machine; the
// refusal without it names both variables and never the userinfo.
func TestExotelAllowInsecure(t *testing.T) {
	vars := withCredentials(map[string]string{"EXOTEL_BASE_URL": "http://ops:pa55word@ccm.example.com:8080"})
	problems := problemsOf(t, vars)
	if got := problemVars(problems); !reflect.DeepEqual(got, []string{"EXOTEL_BASE_URL"}) {
		t.Fatalf("got problems for %v, want EXOTEL_BASE_URL", got)
	}
	text := fmt.Sprint(problems)
	for _, want := range []string{"EXOTEL_ALLOW_INSECURE=true", "https://", "in clear"} {
		if !strings.Contains(text, want) {
			t.Errorf("the problem does not say %q: %s", want, text)
		}
	}
	if strings.Contains(text, "pa55word") || strings.Contains(text, "ops") {
		t.Errorf("the problem shows the userinfo: %s", text)
	}

	vars["EXOTEL_ALLOW_INSECURE"] = "true"
	c := mustLoad(t, vars)
	if !c.Exotel.AllowInsecure || !c.Exotel.Insecure() {
		t.Errorf("AllowInsecure %v, Insecure %v: want both true", c.Exotel.AllowInsecure, c.Exotel.Insecure())
	}
	vars["EXOTEL_ALLOW_INSECURE"] = "maybe"
	if got := problemVars(problemsOf(t, vars)); !slices.Contains(got, "EXOTEL_ALLOW_INSECURE") {
		t.Errorf("a bad EXOTEL_ALLOW_INSECURE is not reported: %v", got)
	}
}

func TestSlackAPIURL(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    string
		wantErr bool
	}{
		// Default.
		{"default", "", "https://slack.com/api/", false},
		// A missing trailing slash is added, since slack-go concatenates.
		{"slash added", "http://127.0.0.1:3000/api", "http://127.0.0.1:3000/api/", false},
		// A trailing slash is kept as given.
		{"slash kept", "http://127.0.0.1:3000/api/", "http://127.0.0.1:3000/api/", false},
		// A bare host gets "/".
		{"bare host", "http://127.0.0.1:3000", "http://127.0.0.1:3000/", false},
		// Relative URLs are refused.
		{"relative", "/api/", "", true},
		// Websocket URLs are not API URLs.
		{"ws", "ws://127.0.0.1:3000/api/", "", true},
		// Syntax errors are refused.
		{"syntax", "http://[::1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := withCredentials(map[string]string{"SLACK_API_URL": tt.value})
			if tt.wantErr {
				if got := problemVars(problemsOf(t, vars)); !reflect.DeepEqual(got, []string{"SLACK_API_URL"}) {
					t.Errorf("got problems for %v, want [SLACK_API_URL]", got)
				}
				return
			}
			if got := mustLoad(t, vars).Slack.APIURL; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		value   string
		want    func(*Config) time.Duration
		wantDur time.Duration
		wantErr bool
	}{
		// Intervals of exactly 1s are accepted.
		{"interval 1s", "ALERT_INTERVAL", "1s", alertInterval, time.Second, false},
		// Just under 1s is refused.
		{"interval 999ms", "ALERT_INTERVAL", "999ms", alertInterval, 0, true},
		// Go durations combine units.
		{"interval 1m30s", "ALERT_INTERVAL", "1m30s", alertInterval, 90 * time.Second, false},
		// A bare number has no unit.
		{"interval no unit", "ALERT_INTERVAL", "60", alertInterval, 0, true},
		// Negative intervals are refused.
		{"interval negative", "ALERT_INTERVAL", "-1m", alertInterval, 0, true},
		// ALERT_FOR may be zero.
		{"for zero", "ALERT_FOR", "0s", alertFor, 0, false},
		// ALERT_FOR may be short.
		{"for short", "ALERT_FOR", "10s", alertFor, 10 * time.Second, false},
		// But not negative.
		{"for negative", "ALERT_FOR", "-1s", alertFor, 0, true},
		// Repeat is an interval.
		{"repeat 500ms", "ALERT_REPEAT", "500ms", alertRepeat, 0, true},
		// A zero cache TTL turns caching off.
		{"ttl zero", "PRESENCE_CACHE_TTL", "0", cacheTTL, 0, false},
		// A sub-second TTL is fine: it is no interval.
		{"ttl 250ms", "PRESENCE_CACHE_TTL", "250ms", cacheTTL, 250 * time.Millisecond, false},
		// A negative TTL is refused.
		{"ttl negative", "PRESENCE_CACHE_TTL", "-1s", cacheTTL, 0, true},
		// The after-call poll is an interval.
		{"poll 2s", "AFTER_CALL_POLL", "2s", afterCallPoll, 2 * time.Second, false},
		// Zero is no interval.
		{"poll zero", "AFTER_CALL_POLL", "0", afterCallPoll, 0, true},
		// The expiry takes hours.
		{"expiry 8h", "AFTER_CALL_EXPIRY", "8h", afterCallExpiry, 8 * time.Hour, false},
		// The Redis timeout may be short.
		{"redis 5ms", "REDIS_TIMEOUT", "5ms", redisTimeout, 5 * time.Millisecond, false},
		// But not zero.
		{"redis zero", "REDIS_TIMEOUT", "0s", redisTimeout, 0, true},
		// Nor negative.
		{"redis negative", "REDIS_TIMEOUT", "-5ms", redisTimeout, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := withCredentials(map[string]string{tt.env: tt.value})
			if tt.wantErr {
				if got := problemVars(problemsOf(t, vars)); !reflect.DeepEqual(got, []string{tt.env}) {
					t.Errorf("got problems for %v, want [%s]", got, tt.env)
				}
				return
			}
			if got := tt.want(mustLoad(t, vars)); got != tt.wantDur {
				t.Errorf("got %v, want %v", got, tt.wantDur)
			}
		})
	}
}

func alertInterval(c *Config) time.Duration   { return c.Alert.Interval }
func alertFor(c *Config) time.Duration        { return c.Alert.For }
func alertRepeat(c *Config) time.Duration     { return c.Alert.Repeat }
func cacheTTL(c *Config) time.Duration        { return c.PresenceCacheTTL }
func afterCallPoll(c *Config) time.Duration   { return c.AfterCall.Poll }
func afterCallExpiry(c *Config) time.Duration { return c.AfterCall.Expiry }
func redisTimeout(c *Config) time.Duration    { return c.Redis.Timeout }

func TestLoadBooleans(t *testing.T) {
	tests := []struct {
		value   string
		want    bool
		wantErr bool
	}{
		{"true", true, false},   // canonical
		{"TRUE", true, false},   // any case
		{"1", true, false},      // digit
		{"yes", true, false},    // word
		{" Yes ", true, false},  // surrounding space is trimmed
		{"false", false, false}, // canonical
		{"0", false, false},     // digit
		{"NO", false, false},    // word, any case
		{"", false, false},      // empty: the default
		{"on", false, true},     // not in the accepted list
		{"2", false, true},      // not a boolean digit
		{"y", false, true},      // abbreviations are not guessed
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			vars := withCredentials(map[string]string{"PRESENCE_OPEN_TO_ALL": tt.value})
			if tt.wantErr {
				problems := problemsOf(t, vars)
				if len(problems) != 1 || problems[0].Var != "PRESENCE_OPEN_TO_ALL" || !strings.Contains(problems[0].Message, "yes/no") {
					t.Errorf("got %v, want one PRESENCE_OPEN_TO_ALL problem listing the accepted values", problems)
				}
				return
			}
			if got := mustLoad(t, vars).PresenceOpenToAll; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadAlertThresholds(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		want     int
		wantTeam []TeamThreshold
		wantErrs []string
	}{
		// A threshold of zero alerts only when nobody at all is available.
		{"zero", map[string]string{"ALERT_CHANNEL": "C1", "ALERT_THRESHOLD": "0"}, 0, nil, nil},
		// A channel needs a threshold.
		{"channel without threshold", map[string]string{"ALERT_CHANNEL": "C1"}, 0, nil, []string{"ALERT_THRESHOLD"}},
		// Team thresholds alone do not replace the total threshold.
		{"teams without threshold", map[string]string{"ALERT_CHANNEL": "C1", "ALERT_TEAM_THRESHOLDS": "sales_team=2"}, 0, nil, []string{"ALERT_THRESHOLD"}},
		// With both, both are kept.
		{"teams and threshold", map[string]string{"ALERT_CHANNEL": "C1", "ALERT_THRESHOLD": "3", "ALERT_TEAM_THRESHOLDS": "sales_team=2"}, 3, []TeamThreshold{{"sales_team", 2}}, nil},
		// Negative thresholds are refused.
		{"negative", map[string]string{"ALERT_CHANNEL": "C1", "ALERT_THRESHOLD": "-1"}, 0, nil, []string{"ALERT_THRESHOLD"}},
		// Fractions are refused.
		{"fraction", map[string]string{"ALERT_CHANNEL": "C1", "ALERT_THRESHOLD": "2.5"}, 0, nil, []string{"ALERT_THRESHOLD"}},
		// Without a channel, a threshold is still checked.
		{"checked without channel", map[string]string{"ALERT_THRESHOLD": "many"}, 0, nil, []string{"ALERT_THRESHOLD"}},
		// The "data unavailable" count must be at least one poll.
		{"unavailable zero", map[string]string{"ALERT_UNAVAILABLE_AFTER": "0"}, 0, nil, []string{"ALERT_UNAVAILABLE_AFTER"}},
		// Each bad team entry is its own problem.
		{"bad teams", map[string]string{"ALERT_TEAM_THRESHOLDS": "a=1,a=2,b=-3"}, 0, nil, []string{"ALERT_TEAM_THRESHOLDS", "ALERT_TEAM_THRESHOLDS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := withCredentials(tt.vars)
			if tt.wantErrs != nil {
				if got := problemVars(problemsOf(t, vars)); !reflect.DeepEqual(got, tt.wantErrs) {
					t.Errorf("got problems for %v, want %v", got, tt.wantErrs)
				}
				return
			}
			c := mustLoad(t, vars)
			if c.Alert.Threshold != tt.want || !reflect.DeepEqual(c.Alert.TeamThresholds, tt.wantTeam) {
				t.Errorf("got %d %v, want %d %v", c.Alert.Threshold, c.Alert.TeamThresholds, tt.want, tt.wantTeam)
			}
		})
	}
}

func TestLoadAgentMapFile(t *testing.T) {
	files := fstest.MapFS{
		"agents.yml":     {Data: []byte("agents: {}\n")},
		"conf/other.yml": {Data: []byte("agents: {}\n")},
	}
	dirOnly := fstest.MapFS{"agents.yml/x": {Data: []byte("x")}}
	tests := []struct {
		name    string
		stat    func(string) (fs.FileInfo, error)
		value   string
		want    string
		wantErr bool
	}{
		// Unset, with agents.yml present: it is used.
		{"default present", statIn(files), "", "agents.yml", false},
		// Unset, without agents.yml: no map.
		{"default absent", noFiles, "", "", false},
		// Unset, with a directory named agents.yml: no map.
		{"default is a directory", statIn(dirOnly), "", "", false},
		// Named and present.
		{"named", statIn(files), "conf/other.yml", "conf/other.yml", false},
		// Named but missing is a start-up error.
		{"named missing", statIn(files), "conf/missing.yml", "", true},
		// Named but a directory is a start-up error.
		{"named directory", statIn(files), "conf", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := lookupFrom(withCredentials(map[string]string{"AGENT_MAP_FILE": tt.value}))
			c, err := Load(lookup, WithStat(tt.stat))
			if tt.wantErr {
				var verr *ValidationError
				if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Var != "AGENT_MAP_FILE" ||
					!strings.Contains(verr.Problems[0].Message, tt.value) {
					t.Errorf("got %v, want one AGENT_MAP_FILE problem naming %q", err, tt.value)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.AgentMapFile != tt.want {
				t.Errorf("got %q, want %q", c.AgentMapFile, tt.want)
			}
		})
	}
}

func TestLoadTimezone(t *testing.T) {
	tests := []struct {
		value    string
		wantName string
		wantErr  bool
	}{
		{"", "UTC", false},                              // default
		{"UTC", "UTC", false},                           // explicit
		{"Asia/Kolkata", "Asia/Kolkata", false},         // IANA name
		{"America/New_York", "America/New_York", false}, // another
		{"Mars/Olympus_Mons", "", true},                 // unknown
		{"Local", "", true},                             // the host's zone would differ between replicas
		{"../../etc/passwd", "", true},                  // not a zone name
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			vars := withCredentials(map[string]string{"TIMEZONE": tt.value})
			if tt.wantErr {
				problems := problemsOf(t, vars)
				if len(problems) != 1 || problems[0].Var != "TIMEZONE" || !strings.Contains(problems[0].Message, "IANA") {
					t.Errorf("got %v, want one TIMEZONE problem asking for an IANA name", problems)
				}
				return
			}
			if got := mustLoad(t, vars).Location.String(); got != tt.wantName {
				t.Errorf("got %q, want %q", got, tt.wantName)
			}
		})
	}
}

// Active hours are read in TIMEZONE, not UTC.
func TestLoadActiveHoursInTimezone(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{
		"TIMEZONE":           "Asia/Kolkata", // UTC+05:30, no DST
		"ALERT_ACTIVE_HOURS": "Mon 09:00-10:00",
	}))
	tests := []struct {
		utc  string
		want bool
	}{
		{"2024-01-01T03:30:00Z", true},  // Monday 09:00 in Kolkata
		{"2024-01-01T04:29:59Z", true},  // Monday 09:59:59 in Kolkata
		{"2024-01-01T04:30:00Z", false}, // Monday 10:00 in Kolkata: the end is excluded
		{"2024-01-01T09:30:00Z", false}, // 09:30 UTC, but 15:00 in Kolkata
		{"2024-01-08T03:29:00Z", false}, // Monday 08:59 in Kolkata
	}
	for _, tt := range tests {
		at, err := time.Parse(time.RFC3339, tt.utc)
		if err != nil {
			t.Fatalf("parse %s: %v", tt.utc, err)
		}
		if got := c.Alert.ActiveHours.Contains(at); got != tt.want {
			t.Errorf("Contains(%s): got %v, want %v", tt.utc, got, tt.want)
		}
	}
}

func TestLoadLogAndServices(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		check   func(*Config) bool
		wantErr string
	}{
		// Levels ignore case.
		{"level warn", map[string]string{"LOG_LEVEL": "Warn"}, func(c *Config) bool { return c.Log.Level == slog.LevelWarn }, ""},
		// Error level.
		{"level error", map[string]string{"LOG_LEVEL": "error"}, func(c *Config) bool { return c.Log.Level == slog.LevelError }, ""},
		// "warning" is not one of the four names.
		{"level warning", map[string]string{"LOG_LEVEL": "warning"}, nil, "LOG_LEVEL"},
		// Formats ignore case.
		{"format JSON", map[string]string{"LOG_FORMAT": "JSON"}, func(c *Config) bool { return c.Log.Format == "json" }, ""},
		// An address with a host.
		{"http host", map[string]string{"HTTP_ADDR": "127.0.0.1:9090"}, func(c *Config) bool { return c.HTTPAddr == "127.0.0.1:9090" }, ""},
		// Port 0 picks a free port, as tests do.
		{"http port 0", map[string]string{"HTTP_ADDR": ":0"}, func(c *Config) bool { return c.HTTPAddr == ":0" }, ""},
		// A port out of range.
		{"http port range", map[string]string{"HTTP_ADDR": ":70000"}, nil, "HTTP_ADDR"},
		// A named port is not accepted.
		{"http port name", map[string]string{"HTTP_ADDR": ":http"}, nil, "HTTP_ADDR"},
		// TLS Redis.
		{"rediss", map[string]string{"REDIS_URL": "rediss://:pw@cache:6380/1"}, func(c *Config) bool { return c.Redis.URL == "rediss://:pw@cache:6380/1" }, ""},
		// A Redis URL without a host.
		{"redis no host", map[string]string{"REDIS_URL": "redis:///0"}, nil, "REDIS_URL"},
		// A Redis URL without a scheme.
		{"redis no scheme", map[string]string{"REDIS_URL": "cache:6379"}, nil, "REDIS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := withCredentials(tt.vars)
			if tt.wantErr != "" {
				if got := problemVars(problemsOf(t, vars)); !reflect.DeepEqual(got, []string{tt.wantErr}) {
					t.Errorf("got problems for %v, want [%s]", got, tt.wantErr)
				}
				return
			}
			if c := mustLoad(t, vars); !tt.check(c) {
				t.Errorf("got %+v, want the check to hold", c.Redacted())
			}
		})
	}
}

// .env.example documents every variable Load reads.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	example, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatalf("read .env.example: %v", err)
	}
	var read []string
	record := func(name string) (string, bool) {
		read = append(read, name)
		return "", false
	}
	if _, err := Load(record, WithStat(noFiles)); err == nil {
		t.Fatalf("Load with nothing set: got no error, want missing credentials")
	}
	// The contract's Environment table, plus the two log settings.
	want := []string{
		"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
		"EXOTEL_ACCOUNT_SID", "EXOTEL_ACCESS_TOKEN", "EXOTEL_REGION", "EXOTEL_BASE_URL",
		"AGENT_MAP_FILE", "PRESENCE_OPEN_TO_ALL", "PRESENCE_CACHE_TTL",
		"SUMMARY_CHANNEL", "SUMMARY_SCHEDULE", "REPORT_CHANNEL", "REPORT_SCHEDULE", "HISTORY_RETENTION",
		"ALERT_CHANNEL", "ALERT_THRESHOLD", "ALERT_TEAM_THRESHOLDS", "ALERT_INTERVAL", "ALERT_FOR",
		"ALERT_REPEAT", "ALERT_UNAVAILABLE_AFTER", "ALERT_ACTIVE_HOURS", "ALERT_RULES_FILE",
		"AFTER_CALL_POLL", "AFTER_CALL_EXPIRY", "TIMEZONE", "HTTP_ADDR", "STATE_DIR",
		"REDIS_URL", "REDIS_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "EXOTEL_ALLOW_INSECURE", "EXOTEL_RATE_LIMIT",
	}
	slices.Sort(read)
	read = slices.Compact(read)
	slices.Sort(want)
	if !slices.Equal(read, want) {
		t.Errorf("Load reads:\n%v\nwant:\n%v", read, want)
	}
	for _, name := range read {
		if !strings.Contains(string(example), name+"=") {
			t.Errorf(".env.example does not document %s", name)
		}
	}
}

// REDIS_URL takes one server, a master through Sentinel, or a cluster's
// seed nodes; a malformed one is a problem that says what is wrong and
// what the forms are, never showing a password (nor the sentinels').
func TestRedisURLForms(t *testing.T) {
	for _, ok := range []string{
		"redis://:pw@cache:6379/0",
		"redis-sentinel://:pw@s1:26379,s2:26379,s3:26379/mymaster?db=0",
		"redis-sentinel://s1,s2/mymaster?sentinel_password=spw",
		"rediss-sentinel://app:pw@s1:26379/mymaster",
		"redis-cluster://:pw@n1:6379,n2:6379,n3:6379",
		"rediss-cluster://n1:6380",
	} {
		if c := mustLoad(t, withCredentials(map[string]string{"REDIS_URL": ok})); c.Redis.URL != ok {
			t.Errorf("REDIS_URL %q: got %q", ok, c.Redis.URL)
		}
	}

	const secret = "SECRETREDIS-7777"
	for _, tt := range []struct{ url, want string }{
		// The masked URL is shown when it splits cleanly.
		{"redis-sentinel://:" + secret + "@s1:26379/", `"redis-sentinel://:xxxxx@s1:26379/": no master name`},
		{"redis-sentinel://:" + secret + "@s1/m?db=one&sentinel_password=" + secret, `db is not a database number`},
		{"redis-sentinel://:" + secret + "@s1/m?sentinel_pass=" + secret, `unknown option "sentinel_pass"`},
		{"redis-cluster://:" + secret + "@n1:6379/2", "a cluster has only database 0"},
		{"redis://:" + secret + "@n1:6379,n2:6379/0", "redis-cluster://"},
		{"memcached://:" + secret + "@n1", "redis-sentinel://[:password@]host:26379,host:26379/mastername?db=0"},
		// Otherwise it is not.
		{"redis-sentinel://:" + secret + "@s1:port/m", "value not shown"},
	} {
		problems := problemsOf(t, withCredentials(map[string]string{"REDIS_URL": tt.url}))
		if len(problems) != 1 || problems[0].Var != "REDIS_URL" {
			t.Errorf("REDIS_URL %q: got problems %v, want one for REDIS_URL", tt.url, problems)
			continue
		}
		if msg := problems[0].Message; !strings.Contains(msg, tt.want) || strings.Contains(msg, secret) {
			t.Errorf("REDIS_URL %q: got %q, want it to say %q without the password", tt.url, msg, tt.want)
		}
	}

	c := mustLoad(t, withCredentials(map[string]string{"REDIS_URL": "redis-sentinel://:" + secret + "@s1/m?db=1&sentinel_password=" + secret}))
	if got, want := c.Redacted().Redis.URL, "redis-sentinel://:xxxxx@s1/m?db=1&sentinel_password=xxxxx"; got != want {
		t.Errorf("Redacted Redis URL %q, want %q", got, want)
	}
}

// TestExotelRateLimit: EXOTEL_RATE_LIMIT is requests per second for the
// whole fleet, optionally /burst; 0 turns the budget off; unset is the
// documented default.
func TestExotelRateLimit(t *testing.T) {
	tests := []struct {
		value     string
		rate      float64
		burst     int
		wantError string // part of the problem; "" for none
	}{
		// The default: well under the contact center's limit.
		{"", 10, 20, ""},
		// The burst defaults to two seconds' worth.
		{"10", 10, 20, ""},
		{"10/20", 10, 20, ""},
		{" 5 / 8 ", 5, 8, ""},
		{"2.5", 2.5, 5, ""},
		{"0.5", 0.5, 1, ""},
		{"200/1", 200, 1, ""},
		// Off.
		{"0", 0, 0, ""},
		{"0/20", 0, 0, ""},
		// Mistakes.
		{"ten", 0, 0, "requests per second"},
		{"-1", 0, 0, "negative"},
		{"10/0", 0, 0, "burst"},
		{"10/x", 0, 0, "burst"},
		{"10/20/30", 0, 0, "requests per second"},
		{"NaN", 0, 0, "requests per second"},
		{"Inf", 0, 0, "requests per second"},
		{"100000", 0, 0, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			vars := withCredentials(map[string]string{"EXOTEL_RATE_LIMIT": tt.value})
			if tt.wantError != "" {
				problems := problemsOf(t, vars)
				if got := problemVars(problems); !reflect.DeepEqual(got, []string{"EXOTEL_RATE_LIMIT"}) {
					t.Fatalf("problems for %v, want EXOTEL_RATE_LIMIT", got)
				}
				if !strings.Contains(problems[0].Message, tt.wantError) {
					t.Errorf("problem %q does not say %q", problems[0].Message, tt.wantError)
				}
				return
			}
			got := mustLoad(t, vars).Exotel.RateLimit
			if got.Rate != tt.rate || got.Burst != tt.burst {
				t.Errorf("got %+v, want rate %v burst %d", got, tt.rate, tt.burst)
			}
			if off := tt.rate == 0; got.Off() != off {
				t.Errorf("Off() = %v, want %v", got.Off(), off)
			}
		})
	}
}
