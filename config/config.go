// Package config turns the environment into a validated Config. It is the
// only package that reads configuration: main hands Load a lookup function
// (os.LookupEnv) and passes the parts of Config on to the others.
//
// Values are trimmed, and a variable set to an empty string counts as unset,
// so that `FOO=` in a .env file means "use the default".
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/internal/redisurl"
	"github.com/presencebot/presence-bot/presence"
)

// Defaults from the Environment table of the runtime contract.
const (
	defaultSlackAPIURL      = "https://slack.com/api/"
	defaultRegion           = "singapore"
	defaultAgentMapFile     = "agents.yml"
	defaultPresenceCacheTTL = 2 * time.Second
	defaultSummarySchedule  = time.Hour
	defaultAlertInterval    = time.Minute
	defaultAlertRepeat      = 30 * time.Minute
	defaultUnavailableAfter = 3
	defaultAfterCallPoll    = 5 * time.Second
	defaultAfterCallExpiry  = 2 * time.Hour
	defaultStateDir         = "./data"
	defaultRedisTimeout     = 200 * time.Millisecond
	defaultLogFormat        = "text"
)

// defaultRateLimit is EXOTEL_RATE_LIMIT unset: 10 requests a second for
// the whole fleet, 20 at once. Contact-center APIs allow an account a
// few tens a second, shared with its other integrations (CRM, WFM,
// reporting); 10 leaves them most of it, and is still 5 status changes a
// second (a GET and a PUT each), the roster of 1,000 agents in one
// second, or an alert poll in one request.
var defaultRateLimit = RateLimit{Rate: 10, Burst: 20}

// maxRateLimit bounds EXOTEL_RATE_LIMIT: more is a typo, not a budget.
const maxRateLimit = 10000

// minInterval is the shortest interval or schedule the contract accepts.
const minInterval = time.Second

const (
	slackAppTokenPrefix = "xapp-"
	slackBotTokenPrefix = "xoxb-"
	// redactedSecret stands in for a secret that is set.
	redactedSecret = "set"
)

// regionURL maps EXOTEL_REGION values to their base URLs; the presence
// package owns the table, as it comes from the API's spec.
func regionURL(region string) (string, bool) {
	u, err := presence.RegionBaseURL(region)
	return u, err == nil
}

// Config is the whole validated configuration.
type Config struct {
	Slack  Slack
	Exotel Exotel
	// AgentMapFile is the Slack-user → agent mapping file; "" when
	// AGENT_MAP_FILE is unset and no agents.yml exists.
	AgentMapFile string
	// PresenceOpenToAll lets any workspace member run /presence.
	PresenceOpenToAll bool
	// PresenceCacheTTL bounds the age of the shared presence snapshot; 0
	// means no caching.
	PresenceCacheTTL time.Duration
	Summary          Summary
	Report           Report // the daily report
	// HistoryRetention is how long per-team counts and alert events are
	// kept (HISTORY_RETENTION).
	HistoryRetention time.Duration
	Alert            Alert
	AfterCall        AfterCall
	// Location is TIMEZONE, in which schedules and active hours are read.
	Location *time.Location
	// HTTPAddr serves /healthz, /readyz and /metrics; "" turns them off.
	HTTPAddr string
	// StateDir holds file state when there is no Redis.
	StateDir string
	Redis    Redis
	Log      Log
	// Unknown lists the environment's variables that look like the bot's
	// (one of its prefixes, or a near miss of one of its names) but that
	// it does not read: typos, mostly. Only WithEnviron fills it. They
	// never stop the start: a stray variable must not take production
	// down; main logs them at ERROR level and check fails on them.
	Unknown []Problem
	// Ignored lists settings that have no effect as configured, such as
	// ALERT_THRESHOLD while alerts are off: warnings, not errors.
	Ignored []Problem
}

// Slack holds what the Socket Mode connection needs.
type Slack struct {
	AppToken string // xapp-…, secret
	BotToken string // xoxb-…, secret
	// APIURL always ends in "/" because slack-go appends method names to it.
	APIURL string
}

// Exotel holds what the Agent Presence API client needs.
type Exotel struct {
	AccountSID  string
	AccessToken string // secret
	Region      string // "singapore" or "mumbai"
	// BaseURL is EXOTEL_BASE_URL when set, else the region's URL; it never
	// ends in "/" because the client appends "/v2/accounts/…".
	BaseURL string
	// AllowInsecure is EXOTEL_ALLOW_INSECURE: plain http:// to a host
	// other than loopback, which sends the access token in clear.
	AllowInsecure bool
	// RateLimit is EXOTEL_RATE_LIMIT: the API budget of the whole fleet.
	RateLimit RateLimit
}

// RateLimit is the requests per second the whole fleet may send the
// contact center, and how many at once.
type RateLimit struct {
	Rate  float64 // 0: off
	Burst int
}

// Off reports whether the bot keeps no budget (EXOTEL_RATE_LIMIT=0).
func (r RateLimit) Off() bool { return r.Rate <= 0 }

// String is "10/s, burst 20", or "off".
func (r RateLimit) String() string {
	if r.Off() {
		return "off"
	}
	return fmt.Sprintf("%s/s, burst %d", strconv.FormatFloat(r.Rate, 'f', -1, 64), r.Burst)
}

// Insecure reports whether requests go out in clear text to another
// machine: allowed only with EXOTEL_ALLOW_INSECURE, and said by check.
func (e Exotel) Insecure() bool {
	u, err := url.Parse(e.BaseURL)
	return err == nil && u.Scheme == "http" && !loopback(u.Hostname())
}

// loopback reports whether host never leaves this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Summary configures the scheduled presence summary.
type Summary struct {
	Channel  string
	Schedule Schedule
}

// Enabled reports whether summaries are posted at all.
func (s Summary) Enabled() bool { return s.Channel != "" }

// Alert configures the low-availability alert.
type Alert struct {
	Channel string
	// Threshold is the total-available threshold (ALERT_THRESHOLD).
	Threshold int
	// TeamThresholds are per-team thresholds, in the order given.
	TeamThresholds []TeamThreshold
	// Interval is the poll period.
	Interval time.Duration
	// For is how long availability must stay below a threshold before the
	// alert fires; 0 fires on the first poll below it.
	For time.Duration
	// Repeat is how often a firing alert is repeated.
	Repeat time.Duration
	// UnavailableAfter is the number of failed polls in a row before the
	// "data unavailable" notice.
	UnavailableAfter int
	// ActiveHours limits when alerts fire; its zero value is always.
	ActiveHours ActiveHours
	// RulesFile is the rules file read (ALERT_RULES_FILE, or alerts.yml
	// when present); "" for none.
	RulesFile string
	// Rules are the file's rules in file order, then the variables' rules
	// ("all", "team:<id>"), every default filled in.
	Rules []AlertRule
	// RuleProblems are the rules file's problems, kept only with
	// KeepRuleProblems (check); otherwise they fail Load.
	RuleProblems []RuleProblem
}

// Enabled reports whether alerts are evaluated at all: whether there is a
// rule (without a rules file, whenever ALERT_CHANNEL is set).
func (a Alert) Enabled() bool { return len(a.Rules) > 0 }

// AfterCall configures statuses queued to apply when a call ends.
type AfterCall struct {
	Poll   time.Duration // how often calls are checked
	Expiry time.Duration // a queued status is dropped after this
}

// Redis configures shared state between replicas.
type Redis struct {
	URL     string // "" means no Redis; may hold a password (secret)
	Timeout time.Duration
}

// Log configures the slog handler main builds.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Redacted returns a copy safe to print or log: tokens become "set" (or
// stay "" when unset) and the Redis password is masked.
func (c Config) Redacted() Config {
	r := c
	r.Slack.AppToken = redact(c.Slack.AppToken)
	r.Slack.BotToken = redact(c.Slack.BotToken)
	r.Exotel.AccessToken = redact(c.Exotel.AccessToken)
	r.Redis.URL = redactURL(c.Redis.URL)
	// Copy the slice so the copy shares nothing mutable with c.
	r.Alert.TeamThresholds = append([]TeamThreshold(nil), c.Alert.TeamThresholds...)
	if c.Alert.Rules != nil {
		r.Alert.Rules = make([]AlertRule, len(c.Alert.Rules))
		for i, rule := range c.Alert.Rules {
			r.Alert.Rules[i] = rule.clone()
		}
	}
	r.Alert.RuleProblems = slices.Clone(c.Alert.RuleProblems)
	return r
}

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redactedSecret
}

// redactURL masks a Redis URL's passwords; a URL that does not split
// cleanly is replaced whole, because its password cannot be located.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	if shown := redisurl.Redact(raw); shown != "" {
		return shown
	}
	return redactedSecret
}

// showURL is a URL as problems show it: without any userinfo, whose user
// name is as private as its password.
func showURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.User = nil
		return u.String()
	}
	return raw
}

// Problem is one invalid or missing variable.
type Problem struct {
	Var     string
	Message string
}

func (p Problem) String() string { return p.Var + ": " + p.Message }

// ValidationError lists every problem Load found.
type ValidationError struct {
	Problems []Problem
	// Unknown is Config.Unknown: not problems in themselves, but a typo
	// is often why a variable is missing.
	Unknown []Problem
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Option changes how Load works.
type Option func(*options)

type options struct {
	requireCredentials bool
	stat               func(name string) (fs.FileInfo, error)
	environ            []string // nil: unknown variables are not looked for
	allowChannelNames  bool
	keepRuleProblems   bool
	readFile           func(name string) ([]byte, error)
}

// WithoutCredentials skips the checks that the Slack and Exotel credentials
// are set, for `presence-bot demo`, which runs on the simulator. Credentials
// that are set are still checked.
func WithoutCredentials() Option {
	return func(o *options) { o.requireCredentials = false }
}

// WithStat replaces os.Stat, which Load uses to look for agents.yml and to
// check that AGENT_MAP_FILE exists.
func WithStat(stat func(name string) (fs.FileInfo, error)) Option {
	return func(o *options) { o.stat = stat }
}

// Load reads configuration from lookup (os.LookupEnv in main; a map in
// tests), never from the environment directly, and returns every problem at
// once as a *ValidationError. Each problem names its variable and the bad
// value, except for secrets (SLACK_APP_TOKEN, SLACK_BOT_TOKEN,
// EXOTEL_ACCESS_TOKEN and the password in REDIS_URL), whose values never
// appear.
func Load(lookup func(string) (string, bool), opts ...Option) (*Config, error) {
	o := options{requireCredentials: true, stat: os.Stat, readFile: os.ReadFile}
	for _, opt := range opts {
		opt(&o)
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	l := &loader{lookup: lookup, read: make(map[string]bool)}
	c := &Config{}

	c.Slack.AppToken = l.token("SLACK_APP_TOKEN", slackAppTokenPrefix, "the app-level token", o.requireCredentials)
	c.Slack.BotToken = l.token("SLACK_BOT_TOKEN", slackBotTokenPrefix, "the bot token", o.requireCredentials)
	c.Slack.APIURL = l.slackAPIURL()

	c.Exotel.AccountSID = l.required("EXOTEL_ACCOUNT_SID", o.requireCredentials)
	c.Exotel.AccessToken = l.required("EXOTEL_ACCESS_TOKEN", o.requireCredentials)
	c.Exotel.Region, c.Exotel.BaseURL = l.exotelEndpoint()
	c.Exotel.AllowInsecure = l.boolean("EXOTEL_ALLOW_INSECURE", false)
	c.Exotel.RateLimit = l.rateLimit("EXOTEL_RATE_LIMIT")
	if c.Exotel.Insecure() && !c.Exotel.AllowInsecure {
		l.addf("EXOTEL_BASE_URL", "%q: plain http:// to another machine would send EXOTEL_ACCESS_TOKEN in clear; "+
			"use https://, or set EXOTEL_ALLOW_INSECURE=true if the network path is trusted", showURL(c.Exotel.BaseURL))
	}

	c.AgentMapFile = l.agentMapFile(o.stat)
	c.PresenceOpenToAll = l.boolean("PRESENCE_OPEN_TO_ALL", false)
	c.PresenceCacheTTL = l.duration("PRESENCE_CACHE_TTL", defaultPresenceCacheTTL, 0)

	c.Summary.Channel = l.channel("SUMMARY_CHANNEL")
	c.Summary.Schedule = l.schedule("SUMMARY_SCHEDULE")
	l.ignoredIf(c.Summary.Channel == "", "summaries are off (SUMMARY_CHANNEL is not set)", "SUMMARY_SCHEDULE")
	c.Report = l.report()
	c.HistoryRetention = l.historyRetention()

	c.Location = l.location("TIMEZONE")
	rulesFile := l.rulesFile(o.stat)
	c.Alert = l.alert(c.Location, rulesFile)
	l.alertRules(&c.Alert, rulesFile, c.Location, o)
	// Without a rules file, ALERT_CHANNEL is the switch: the others only.
	l.ignoredIf(rulesFile == "" && c.Alert.Channel == "", "alerts are off (ALERT_CHANNEL is not set)", alertVars[1:]...)

	c.AfterCall.Poll = l.duration("AFTER_CALL_POLL", defaultAfterCallPoll, minInterval)
	c.AfterCall.Expiry = l.duration("AFTER_CALL_EXPIRY", defaultAfterCallExpiry, minInterval)

	c.HTTPAddr = l.httpAddr("HTTP_ADDR")
	c.StateDir = l.str("STATE_DIR")
	if c.StateDir == "" {
		c.StateDir = defaultStateDir
	}
	c.Redis.URL = l.redisURL("REDIS_URL")
	c.Redis.Timeout = l.positiveDuration("REDIS_TIMEOUT", defaultRedisTimeout)
	// With Redis, app keeps all its state there and never opens STATE_DIR.
	l.ignoredIf(c.Redis.URL != "", "state lives in Redis (REDIS_URL is set)", "STATE_DIR")

	c.Log.Level = l.logLevel("LOG_LEVEL")
	c.Log.Format = l.logFormat("LOG_FORMAT")

	if o.environ != nil {
		// Every variable is read above whatever the others hold, so l.read
		// is every name the bot knows.
		known := maps.Clone(l.read)
		for _, name := range futureVars {
			known[name] = true
		}
		c.Unknown = unknownVars(o.environ, known)
	}
	c.Ignored = l.ignored
	// check (AllowChannelNames, KeepRuleProblems) reports channel names
	// and the rules file's problems itself, when they are all there is.
	deferred := 0
	if o.allowChannelNames {
		deferred += l.channelProblems
	}
	if o.keepRuleProblems {
		deferred += l.ruleProblems
	}
	if len(l.problems) > deferred {
		return nil, &ValidationError{Problems: l.problems, Unknown: c.Unknown}
	}
	return c, nil
}

// loader reads variables and collects problems, so that Load can report all
// of them at once.
type loader struct {
	lookup   func(string) (string, bool)
	read     map[string]bool // every name looked up
	problems []Problem
	// channelProblems counts the problems that are channel names or links
	// (see AllowChannelNames).
	channelProblems int
	// ruleProblems counts the rules file's problems kept on the config
	// (see KeepRuleProblems).
	ruleProblems int
	ignored      []Problem
}

func (l *loader) addf(name, format string, args ...any) {
	l.problems = append(l.problems, Problem{Var: name, Message: fmt.Sprintf(format, args...)})
}

// str returns the trimmed value of name; "" when unset or empty.
func (l *loader) str(name string) string {
	l.read[name] = true
	v, ok := l.lookup(name)
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

func (l *loader) required(name string, require bool) string {
	v := l.str(name)
	if v == "" && require {
		l.addf(name, "required but not set")
	}
	return v
}

// token reads a Slack token. Messages name the expected prefix but never the
// value; when the value is the other kind of Slack token they say so, since
// swapping the two is the usual mistake and a prefix is no secret.
func (l *loader) token(name, prefix, what string, require bool) string {
	v := l.str(name)
	switch {
	case v == "":
		if require {
			l.addf(name, "required but not set (%s, %s…)", what, prefix)
		}
	case !strings.HasPrefix(v, prefix):
		hint := ""
		for _, other := range []string{slackAppTokenPrefix, slackBotTokenPrefix, "xoxp-"} {
			if other != prefix && strings.HasPrefix(v, other) {
				hint = fmt.Sprintf("; it holds a %s… token", other)
			}
		}
		l.addf(name, "must start with %q (%s); value not shown%s", prefix, what, hint)
	}
	return v
}

// boolean accepts true/false, 1/0 and yes/no in any case.
func (l *loader) boolean(name string, def bool) bool {
	v := l.str(name)
	if v == "" {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		l.addf(name, "%q: want true/false, 1/0 or yes/no", v)
		return def
	}
	return b
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// duration reads a Go duration of at least min (min 0: any non-negative).
func (l *loader) duration(name string, def, min time.Duration) time.Duration {
	v := l.str(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		l.addf(name, "%q: want a Go duration such as 30s, 5m or 1h", v)
		return def
	case d < 0:
		l.addf(name, "%q: must not be negative", v)
		return def
	case d < min:
		l.addf(name, "%q: must be at least %s", v, min)
		return def
	}
	return d
}

// positiveDuration reads a Go duration greater than zero.
func (l *loader) positiveDuration(name string, def time.Duration) time.Duration {
	v := l.str(name)
	d := l.duration(name, def, 0)
	if v != "" && d == 0 {
		l.addf(name, "%q: must be greater than 0", v)
		return def
	}
	return d
}

// integer reads a decimal integer of at least min.
func (l *loader) integer(name string, def, min int) int {
	v := l.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.addf(name, "%q: want a whole number", v)
		return def
	case n < min:
		if min == 0 {
			l.addf(name, "%q: must not be negative", v)
		} else {
			l.addf(name, "%q: must be at least %d", v, min)
		}
		return def
	}
	return n
}

// rateLimit reads "rate" or "rate/burst": requests per second (a
// decimal), and how many may go at once (a whole number, by default two
// seconds' worth). "0" is off.
func (l *loader) rateLimit(name string) RateLimit {
	v := l.str(name)
	if v == "" {
		return defaultRateLimit
	}
	const want = "want requests per second, optionally /burst: 10, 10/20, or 0 for off"
	rateText, burstText, hasBurst := strings.Cut(v, "/")
	r, err := strconv.ParseFloat(strings.TrimSpace(rateText), 64)
	switch {
	case err != nil || math.IsNaN(r) || math.IsInf(r, 0) || strings.Contains(burstText, "/"):
		l.addf(name, "%q: %s", v, want)
		return defaultRateLimit
	case r < 0:
		l.addf(name, "%q: must not be negative (0 turns the budget off)", v)
		return defaultRateLimit
	case r > maxRateLimit:
		l.addf(name, "%q: at most %d requests per second", v, maxRateLimit)
		return defaultRateLimit
	case r == 0:
		return RateLimit{}
	}
	burst := max(1, int(math.Ceil(2*r)))
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burstText))
		if err != nil || b < 1 || b > 10*maxRateLimit {
			l.addf(name, "%q: the burst (after /) must be a whole number from 1 to %d", v, 10*maxRateLimit)
			return defaultRateLimit
		}
		burst = b
	}
	return RateLimit{Rate: r, Burst: burst}
}

// httpURL checks that v is an absolute http(s) URL with a host and nothing
// after the path, since both consumers append paths to it.
func httpURL(v string) (*url.URL, string) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return nil, "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "want an absolute http:// or https:// URL"
	case u.Host == "":
		return nil, "the URL has no host"
	case u.RawQuery != "" || u.Fragment != "":
		return nil, "the URL must not have a query or fragment"
	}
	return u, ""
}

func (l *loader) slackAPIURL() string {
	const name = "SLACK_API_URL"
	v := l.str(name)
	if v == "" {
		return defaultSlackAPIURL
	}
	u, msg := httpURL(v)
	if msg != "" {
		l.addf(name, "%q: %s", showURL(v), msg)
		return defaultSlackAPIURL
	}
	if !strings.HasSuffix(u.Path, "/") {
		// slack-go concatenates APIURL and the method name.
		return v + "/"
	}
	return v
}

// exotelEndpoint resolves the region and the base URL; EXOTEL_BASE_URL
// overrides the region, which is still checked so a typo is not hidden.
func (l *loader) exotelEndpoint() (region, baseURL string) {
	raw := l.str("EXOTEL_REGION")
	region = strings.ToLower(raw)
	if region == "" {
		region = defaultRegion
	}
	baseURL, ok := regionURL(region)
	if !ok {
		l.addf("EXOTEL_REGION", "%q: want singapore or mumbai", raw)
	}
	const name = "EXOTEL_BASE_URL"
	if v := l.str(name); v != "" {
		if _, msg := httpURL(v); msg != "" {
			l.addf(name, "%q: %s", showURL(v), msg)
		} else {
			baseURL = strings.TrimRight(v, "/")
		}
	}
	return region, baseURL
}

// agentMapFile returns AGENT_MAP_FILE, checking that it exists (reading and
// parsing it is agentmap's job), or agents.yml when that file exists.
func (l *loader) agentMapFile(stat func(string) (fs.FileInfo, error)) string {
	const name = "AGENT_MAP_FILE"
	v := l.str(name)
	if v == "" {
		if fi, err := stat(defaultAgentMapFile); err == nil && fi.Mode().IsRegular() {
			return defaultAgentMapFile
		}
		return ""
	}
	fi, err := stat(v)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.addf(name, "%q: no such file", v)
	case err != nil:
		l.addf(name, "%q: %v", v, err)
	case fi.IsDir():
		l.addf(name, "%q: is a directory, want a YAML file", v)
	}
	return v
}

func (l *loader) schedule(name string) Schedule {
	v := l.str(name)
	if v == "" {
		return Schedule{Every: defaultSummarySchedule}
	}
	s, err := ParseSchedule(v)
	if err != nil {
		l.addf(name, "%q: %v", v, err)
		return Schedule{Every: defaultSummarySchedule}
	}
	return s
}

func (l *loader) location(name string) *time.Location {
	v := l.str(name)
	if v == "" {
		return time.UTC
	}
	// "Local" depends on the host, so replicas could disagree on ticks.
	if v == "Local" {
		l.addf(name, "%q: want an IANA name such as UTC, Europe/Berlin or Asia/Kolkata, not the host's zone", v)
		return time.UTC
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		l.addf(name, "%q: unknown time zone; want an IANA name such as UTC, Europe/Berlin or Asia/Kolkata", v)
		return time.UTC
	}
	return loc
}

// alert reads the ALERT_* variables; with a rules file, ALERT_CHANNEL
// alone is only the default channel, so ALERT_THRESHOLD is optional.
func (l *loader) alert(loc *time.Location, rulesFile string) Alert {
	a := Alert{Channel: l.channel("ALERT_CHANNEL")}

	a.Threshold = l.integer("ALERT_THRESHOLD", 0, 0)
	if a.Channel != "" && rulesFile == "" && l.str("ALERT_THRESHOLD") == "" {
		l.addf("ALERT_THRESHOLD", "required when ALERT_CHANNEL is set")
	}

	if v := l.str("ALERT_TEAM_THRESHOLDS"); v != "" {
		teams, errs := parseTeamThresholds(v)
		for _, err := range errs {
			l.addf("ALERT_TEAM_THRESHOLDS", "%v", err)
		}
		a.TeamThresholds = teams
	}

	a.Interval = l.duration("ALERT_INTERVAL", defaultAlertInterval, minInterval)
	a.For = l.duration("ALERT_FOR", 0, 0)
	a.Repeat = l.duration("ALERT_REPEAT", defaultAlertRepeat, minInterval)
	a.UnavailableAfter = l.integer("ALERT_UNAVAILABLE_AFTER", defaultUnavailableAfter, 1)

	const name = "ALERT_ACTIVE_HOURS"
	if v := l.str(name); v != "" {
		ah, err := ParseActiveHours(v)
		if err != nil {
			l.addf(name, "%q: %v", v, err)
		}
		a.ActiveHours = ah
	}
	a.ActiveHours = a.ActiveHours.In(loc)
	return a
}

func (l *loader) httpAddr(name string) string {
	v := l.str(name)
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		l.addf(name, "%q: want host:port or :port, such as :8080", v)
		return ""
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.addf(name, "%q: port %q is not a number from 0 to 65535", v, port)
		return ""
	}
	return v
}

// redisURL checks REDIS_URL's form (one server, Sentinel or cluster)
// without ever echoing its password: the value is shown masked, and not
// at all when the password cannot be told from the hosts.
func (l *loader) redisURL(name string) string {
	v := l.str(name)
	if v == "" {
		return ""
	}
	if _, err := redisurl.Parse(v); err != nil {
		if shown := redisurl.Redact(v); shown != "" {
			l.addf(name, "%q: %v", shown, err)
		} else {
			l.addf(name, "%v (value not shown: it may hold a password)", err)
		}
		return ""
	}
	return v
}

func (l *loader) logLevel(name string) slog.Level {
	v := l.str(name)
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.addf(name, "%q: want debug, info, warn or error", v)
	return slog.LevelInfo
}

func (l *loader) logFormat(name string) string {
	v := l.str(name)
	switch f := strings.ToLower(v); f {
	case "":
		return defaultLogFormat
	case "text", "json":
		return f
	}
	l.addf(name, "%q: want text or json", v)
	return defaultLogFormat
}
