package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/robfig/cron/v3"
	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/internal/redact"
	"github.com/presencebot/presence-bot/internal/redisurl"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/redisstate"
)

// checkTimeout bounds each of check's calls.
const checkTimeout = 10 * time.Second

// ErrCheckFailed is what Check returns when the configuration is valid but
// something it reaches does not answer, or not as the bot needs.
var ErrCheckFailed = errors.New("check failed")

// Check reports, one line each, what the configuration holds and what
// the bot would meet at run time: unknown variables and settings without
// effect, the mapping file, the alert rules, both Slack tokens, the channels, the contact
// center, Redis or STATE_DIR; then what is switched on and off. Each
// failure comes with its reason and a hint; secrets never appear.
//
// It returns nil when everything answers; a *ConfigError, listing the
// problems, when the bot would refuse to start with this configuration
// (what `presence-bot` exits 2 for: a mapping file that does not parse, a
// channel name where an ID belongs, a STATE_DIR it cannot create); and an
// error wrapping ErrCheckFailed otherwise. cfg may hold channel names
// (config.AllowChannelNames): check resolves them.
func Check(ctx context.Context, cfg *config.Config, out io.Writer, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := &checker{out: out}

	c.variables(cfg)

	agents, err := loadAgents(cfg.AgentMapFile)
	switch {
	case err != nil:
		c.refuse("agent mapping", err, "fix the file named by AGENT_MAP_FILE; each problem names its line")
	case cfg.AgentMapFile == "":
		c.ok("agent mapping", "no file: users are matched by their Slack profile email")
	default:
		c.ok("agent mapping", fmt.Sprintf("%s: %d agents, %d supervisors", cfg.AgentMapFile, agents.Len(), agents.NumSupervisors()))
	}
	c.alertRules(cfg.Alert)

	web := bot.NewWebAPI(bot.Slack{AppToken: cfg.Slack.AppToken, BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL})
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	auth, err := web.AuthTest(cctx)
	cancel()
	if err != nil {
		c.fail("slack bot token", err, slackHint(err, "SLACK_BOT_TOKEN"))
	} else {
		c.ok("slack bot token", fmt.Sprintf("workspace %q (%s), bot user %s", auth.Team, auth.TeamID, auth.UserID))
	}
	cctx, cancel = context.WithTimeout(ctx, checkTimeout)
	err = web.ConnectionsOpen(cctx)
	cancel()
	if err != nil {
		c.fail("slack app token", err, slackHint(err, "SLACK_APP_TOKEN"))
	} else {
		c.ok("slack app token", "Socket Mode connections can be opened")
	}

	if settings := cfg.Channels(); len(settings) > 0 {
		dir := newChannelLister(cfg.Slack)
		if auth == nil {
			// Every listing would fail the same way, at length.
			dir.blocked = errors.New("the bot token failed (above)")
		}
		for _, s := range settings {
			c.channel(ctx, dir, s)
		}
	}

	client := presence.NewClient(cfg.Exotel.AccountSID, cfg.Exotel.AccessToken,
		append([]presence.Option{presence.WithBaseURL(cfg.Exotel.BaseURL), presence.WithRetry(1, 0, 0)}, o.presence...)...)
	cctx, cancel = context.WithTimeout(ctx, checkTimeout)
	page, err := client.List(cctx, presence.ListOptions{Limit: 1})
	cancel()
	if err != nil {
		c.fail("contact center", err, contactCenterHint(err))
	} else {
		c.ok("contact center", fmt.Sprintf("%s: %d agents, %d available", redact.URL(cfg.Exotel.BaseURL), page.Summary.Total, page.Summary.Available))
	}
	c.budget(cfg)
	if cfg.Exotel.Insecure() {
		// Allowed by EXOTEL_ALLOW_INSECURE (config refuses it otherwise),
		// but an operator should see it every time.
		c.warn("contact center", fmt.Sprintf("%s is plain http:// to another machine: EXOTEL_ACCESS_TOKEN travels in clear (EXOTEL_ALLOW_INSECURE=true)",
			redact.URL(cfg.Exotel.BaseURL)), "")
	}

	// app keeps its state either in Redis or, without REDIS_URL, in files
	// under STATE_DIR (openShared): STATE_DIR is checked only when it is
	// used, and config warns when it is set for nothing.
	if cfg.Redis.URL != "" {
		c.redis(ctx, cfg.Redis)
	} else {
		c.ok("replicas", fmt.Sprintf("off (state in STATE_DIR %s)", cfg.StateDir))
		c.stateDir(cfg.StateDir)
	}

	if cfg.Report.Enabled() {
		now := time.Now()
		if o.clock != nil {
			now = o.clock.Now()
		}
		c.ok("daily report", "to "+cfg.Report.Channel+" "+when(cfg.Report.Schedule, cfg)+"; next "+nextRun(cfg.Report.Schedule, cfg.Location, now))
		if w := earlyReportWarning(cfg.Report.Schedule, cfg.Location, now); w != "" {
			c.warn("daily report", w, "REPORT_SCHEDULE is read in TIMEZONE; a report of the whole day goes out in the evening, e.g. \"0 18 * * Mon-Fri\"")
		}
	}

	on, off := switched(cfg)
	fmt.Fprintf(out, "\nSwitched on: %s\n", strings.Join(on, "; "))
	if len(off) > 0 {
		fmt.Fprintf(out, "Switched off: %s\n", strings.Join(off, "; "))
	}
	return c.result()
}

// alertRules reports every problem of the rules file (cfg loaded with
// config.KeepRuleProblems), each with its line, as the run refuses the
// file; or, when it is valid, each rule in effect, the file's first.
func (c *checker) alertRules(a config.Alert) {
	const what = "alert rules"
	for i, p := range a.RuleProblems {
		hint := ""
		if i == len(a.RuleProblems)-1 {
			hint = "fix " + a.RulesFile + " (ALERT_RULES_FILE): the bot does not start until every problem above is gone"
		}
		c.refuse(what, errors.New("ALERT_RULES_FILE: "+p.String()), hint)
	}
	switch {
	case len(a.RuleProblems) > 0:
	case a.RulesFile != "" && len(a.Rules) == 0:
		c.warn(what, a.RulesFile+" has no rules: alerts are off", "")
	default:
		for _, r := range a.Rules {
			c.ok(what, describeRule(r))
		}
	}
}

// describeRule is one rule as check prints it: "sales-floor
// (alerts.yml:2): team sales_team; available below 4, critical below 2;
// repeat 30m; to C0123".
func describeRule(r config.AlertRule) string {
	source := r.Source
	if r.Line > 0 {
		source = fmt.Sprintf("%s:%d", r.Source, r.Line)
	}
	parts := []string{fmt.Sprintf("%s (%s): %s", r.Name, source, ruleScope(r.Teams))}
	var timing []string
	switch r.Kind {
	case config.AvailableBelow:
		levels := fmt.Sprintf("available below %d", r.Warning)
		if r.Warning == 0 {
			levels = "no threshold above 0: only data-unavailable notices"
		}
		if r.HasCritical {
			levels += fmt.Sprintf(", critical below %d", r.Critical)
		}
		if r.ResolveAt != r.Warning {
			levels += fmt.Sprintf(", resolved at %d", r.ResolveAt)
		}
		parts = append(parts, levels)
		if r.For > 0 {
			timing = append(timing, "for "+shortDuration(r.For))
		}
		if r.Repeat > 0 {
			timing = append(timing, "repeat "+shortDuration(r.Repeat))
		} else {
			timing = append(timing, "no repeat")
		}
	case config.StatusLongerThan:
		parts = append(parts, fmt.Sprintf("in %s longer than %s, escalated %s after the nudge",
			r.Status.Label(), shortDuration(r.After), shortDuration(r.EscalateAfter)))
	}
	if !r.ActiveHours.Always() {
		timing = append(timing, r.ActiveHours.String())
	}
	if len(timing) > 0 {
		parts = append(parts, strings.Join(timing, ", "))
	}
	to := "to " + r.Channel
	if len(r.Mention) > 0 {
		to += ", mentioning " + strings.Join(r.Mention, ", ")
	}
	return strings.Join(append(parts, to), "; ")
}

// ruleScope says whom a rule watches.
func ruleScope(teams []string) string {
	switch len(teams) {
	case 0:
		return "all agents"
	case 1:
		return "team " + teams[0]
	}
	return "teams " + strings.Join(teams, ", ")
}

// budget says what API budget the bot keeps to, and how the replicas
// share it.
func (c *checker) budget(cfg *config.Config) {
	const what = "API budget"
	r := cfg.Exotel.RateLimit
	switch {
	case r.Off():
		c.warn(what, "off (EXOTEL_RATE_LIMIT=0): nothing keeps the bot under the contact center's rate limit",
			"set EXOTEL_RATE_LIMIT to the requests per second the bot may send, such as 10/20")
	case cfg.Redis.URL != "":
		c.ok(what, r.String()+", shared by the replicas through Redis")
	default:
		c.ok(what, r.String()+", for this instance alone (no REDIS_URL: replicas would each keep the whole budget)")
	}
}

// checker writes check's lines and remembers the outcome.
type checker struct {
	out    io.Writer
	failed bool
	// refused are the problems the bot would not start with.
	refused []error
}

func (c *checker) ok(what, detail string) {
	fmt.Fprintf(c.out, "ok      %-16s %s\n", what, detail)
}

// fail reports something that does not work as configured.
func (c *checker) fail(what string, err error, hint string) {
	c.failed = true
	c.line("FAILED ", what, err.Error(), hint)
}

// refuse reports a problem the bot would not start with; err names its
// variable.
func (c *checker) refuse(what string, err error, hint string) {
	c.refused = append(c.refused, err)
	c.line("FAILED ", what, err.Error(), hint)
}

// warn reports what the operator should know but that works.
func (c *checker) warn(what, msg, hint string) {
	c.line("WARNING", what, msg, hint)
}

func (c *checker) line(tag, what, msg, hint string) {
	fmt.Fprintf(c.out, "%s %-16s %s\n", tag, what, msg)
	if hint != "" {
		fmt.Fprintf(c.out, "        %-16s hint: %s\n", "", hint)
	}
}

func (c *checker) result() error {
	switch {
	case len(c.refused) > 0:
		return &ConfigError{Err: errors.Join(c.refused...)}
	case c.failed:
		return ErrCheckFailed
	}
	fmt.Fprintln(c.out, "\nEverything answers. Start the bot with: presence-bot")
	return nil
}

// variables reports the environment's variables the bot does not know
// (failed: a typo leaves a feature off without a word) and the settings
// that have no effect (a warning: harmless, and deploy/k8s.yaml does it).
func (c *checker) variables(cfg *config.Config) {
	for _, p := range cfg.Unknown {
		c.fail("variables", errors.New(p.String()), "")
	}
	for _, p := range cfg.Ignored {
		c.warn("variables", p.String(), "")
	}
	if len(cfg.Unknown) == 0 && len(cfg.Ignored) == 0 {
		c.ok("variables", "none unknown, none without effect")
	}
}

// channel reports one channel variable: a name or a link is refused (the
// run refuses it) with the ID to use, found through conversations.list;
// an ID is looked up to say whether the bot can post there.
func (c *checker) channel(ctx context.Context, dir *channelLister, s config.ChannelSetting) {
	const what = "channels"
	ref := config.ParseChannel(s.Value)
	switch {
	case ref.IsID() && strings.HasPrefix(ref.ID, "D"):
		// conversations.list with channel types never lists DMs.
		c.ok(what, fmt.Sprintf("%s %s (a direct message; not looked up)", s.Var, ref.ID))

	case ref.IsID():
		ch, found, errs := dir.find(ctx, func(ch slack.Channel) bool { return ch.ID == ref.ID })
		name := fmt.Sprintf("%s %s", s.Var, ref.ID)
		switch {
		case found && ch.IsArchived:
			c.fail(what, fmt.Errorf("%s (%s) is archived", name, label(ch)), "unarchive it or pick another channel: nothing can be posted to an archived channel")
		case found && !ch.IsMember:
			c.fail(what, fmt.Errorf("%s (%s): the bot is not in it", name, label(ch)),
				fmt.Sprintf("/invite @presence-bot in #%s: the bot posts only where it is a member", ch.Name))
		case found:
			c.ok(what, fmt.Sprintf("%s (%s)", name, label(ch)))
		case len(errs) > 0:
			// The bot needs neither scope to post: a warning only.
			c.warn(what, fmt.Sprintf("%s: not verified: %v", name, errs[0].err), listHint(errs))
		default:
			c.fail(what, fmt.Errorf("%s: no channel the bot can see has this ID", name),
				"copy the ID from the channel's details (About, at the bottom); a private channel must /invite @presence-bot first")
		}

	case ref.Link:
		msg := fmt.Sprintf("%s is a link: use its ID %s", s.Var, ref.ID)
		if ch, found, _ := dir.find(ctx, func(ch slack.Channel) bool { return ch.ID == ref.ID }); found {
			msg += " (" + label(ch) + ")"
		}
		c.refuse(what, errors.New(msg), "")

	default:
		want := strings.ToLower(ref.Name)
		ch, found, errs := dir.find(ctx, func(ch slack.Channel) bool {
			return strings.ToLower(ch.Name) == want || strings.ToLower(ch.NameNormalized) == want
		})
		switch {
		case found:
			hint := ""
			if !ch.IsMember {
				hint = fmt.Sprintf("and /invite @presence-bot in #%s: the bot posts only where it is a member", ch.Name)
			}
			c.refuse(what, fmt.Errorf("%s is a name: use its ID %s (%s)", s.Var, ch.ID, label(ch)), hint)
		case len(errs) > 0:
			hint := listHint(errs)
			if hint == "" {
				hint = "use the channel's ID, from its details (About, at the bottom)"
			}
			c.refuse(what, fmt.Errorf("%s is a name (%q): cannot look it up: %v", s.Var, s.Value, errs[0].err), hint)
		default:
			c.refuse(what, fmt.Errorf("%s is a name (%q), and no channel the bot can see has it", s.Var, s.Value),
				"use the channel's ID, from its details (About, at the bottom); a private channel must /invite @presence-bot first")
		}
	}
}

// label is how check names a channel: #name, and whether it is private.
func label(ch slack.Channel) string {
	if ch.IsPrivate {
		return "#" + ch.Name + ", private"
	}
	return "#" + ch.Name
}

// channelPageSize is what Slack recommends ("no more than 200").
const channelPageSize = 200

// maxChannelPages bounds a listing (40,000 channels), so that a server
// whose cursor never ends cannot hold check for ever.
const maxChannelPages = 200

// channelLister pages through conversations.list lazily and remembers
// what it saw, so several variables cost one listing, and a channel found
// early ends it. Public channels come first (scope channels:read, in the
// manifest); private ones are listed only when a channel is not public,
// since that needs groups:read, which the manifest does not ask for.
type channelLister struct {
	api     *slack.Client
	phases  []*channelPhase
	blocked error // set: nothing is listed
}

type channelPhase struct {
	kind, scope string
	seen        []slack.Channel
	cursor      string
	pages       int
	done        bool
	err         error
}

// listError is a listing that failed, with the scope it needs.
type listError struct {
	scope string
	err   error
}

func newChannelLister(s config.Slack) *channelLister {
	// Only rate limits are retried: conversations.list is tier 2 (about 20
	// calls a minute), and a large workspace takes several pages.
	retry := slack.DefaultRetryConfig()
	retry.RetryAfterDuration = 5 * time.Second // when a 429 names no delay
	retry.Handlers = []slack.RetryHandler{slack.NewRateLimitErrorRetryHandler(retry)}
	api := slack.New(s.BotToken, slack.OptionAPIURL(s.APIURL),
		slack.OptionHTTPClient(&http.Client{Timeout: checkTimeout}), slack.OptionRetryConfig(retry))
	return &channelLister{api: api, phases: []*channelPhase{
		{kind: "public_channel", scope: "channels:read"},
		{kind: "private_channel", scope: "groups:read"},
	}}
}

// find returns the first channel match accepts, and the listings that
// failed on the way.
func (l *channelLister) find(ctx context.Context, match func(slack.Channel) bool) (slack.Channel, bool, []listError) {
	if l.blocked != nil {
		return slack.Channel{}, false, []listError{{err: l.blocked}}
	}
	var errs []listError
	for _, p := range l.phases {
		for i := 0; ; i++ {
			if i == len(p.seen) && !p.more(ctx, l.api) {
				break
			}
			if match(p.seen[i]) {
				return p.seen[i], true, nil
			}
		}
		if p.err != nil {
			errs = append(errs, listError{scope: p.scope, err: p.err})
		}
	}
	return slack.Channel{}, false, errs
}

// more fetches the next page; false when there is none or it failed.
func (p *channelPhase) more(ctx context.Context, api *slack.Client) bool {
	if p.done || p.err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	chans, next, err := api.GetConversationsContext(cctx, &slack.GetConversationsParameters{
		Types: []string{p.kind}, Limit: channelPageSize, Cursor: p.cursor,
	})
	if err != nil {
		p.err = redact.Error(err)
		return false
	}
	p.seen = append(p.seen, chans...)
	p.cursor, p.pages = next, p.pages+1
	// A page may be short, even empty, before the end: only the cursor
	// says when the list is over.
	p.done = next == "" || p.pages >= maxChannelPages
	return len(chans) > 0 || !p.done && p.more(ctx, api)
}

// listHint says what to do about failed listings: a missing scope is
// named, since reinstalling the app is the fix.
func listHint(errs []listError) string {
	var hints []string
	for _, e := range errs {
		msg := e.err.Error()
		var h string
		switch {
		case e.scope == "":
			continue // blocked: the bot token's own line has the hint
		case strings.Contains(msg, "missing_scope") && e.scope == "channels:read":
			h = "the bot token lacks channels:read: reinstall the app from manifest.yml, which asks for it"
		case strings.Contains(msg, "missing_scope") || strings.Contains(msg, "invalid_types"):
			h = fmt.Sprintf("the bot token lacks %s, which manifest.yml does not ask for: add it and reinstall the app, or copy the ID from the channel's details", e.scope)
		default:
			h = slackHint(e.err, "SLACK_BOT_TOKEN")
		}
		if !slices.Contains(hints, h) {
			hints = append(hints, h)
		}
	}
	return strings.Join(hints, "; ")
}

// stateDir checks STATE_DIR as the bot uses it: created if missing (as
// state.NewFileStore does, 0700), then a file written and removed. One it
// cannot create stops the bot at start; one it cannot write fails later,
// at the first save.
func (c *checker) stateDir(dir string) {
	const what = "STATE_DIR"
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.refuse(what, fmt.Errorf("STATE_DIR: cannot create %s: %w", dir, err),
			"STATE_DIR must be a directory the bot can create and write; or set REDIS_URL to keep the state in Redis")
		return
	}
	if err := writeProbe(dir); err != nil {
		c.fail(what, fmt.Errorf("cannot write in %s: %w", dir, err),
			"give the bot's user write access to STATE_DIR, or point STATE_DIR at a directory it owns")
		return
	}
	detail := dir + " is writable"
	if created {
		detail += " (created it)"
	}
	c.ok(what, detail)
}

// writeProbe writes a temp file in dir, as the file store does for every
// save, and removes it. The name starts with '.', like the store's temp
// files, so it is never taken for state.
func writeProbe(dir string) error {
	f, err := os.CreateTemp(dir, ".presence-bot-check-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString("ok\n")
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	return errors.Join(werr, serr, cerr, rerr)
}

// redis reaches REDIS_URL as redisstate will: PING, the server's version
// and role, a write under the bot's key prefix, and a second PING timed
// against REDIS_TIMEOUT. Through Sentinel it first asks each sentinel for
// the master, and says which master they name and how many answered; in a
// cluster it says how many nodes it has.
func (c *checker) redis(ctx context.Context, r config.Redis) {
	const what = "redis"
	rdb, target, err := redisstate.NewUniversalClient(r.URL, checkTimeout)
	if err != nil {
		c.refuse(what, fmt.Errorf("REDIS_URL: %w", err), "REDIS_URL is "+redisurl.Forms)
		return
	}
	defer rdb.Close()
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	scrubbed := func(err error) string {
		return scrub(scrub(err.Error(), target.Password, r.URL), target.SentinelPassword, r.URL)
	}

	mode := target.Kind.String()
	addr := strings.Join(target.Addrs, ", ") // where a dial failure points
	prefix := redisstate.DefaultPrefix
	switch target.Kind {
	case redisurl.Sentinel:
		master, answered, ok := c.sentinels(cctx, target, scrubbed)
		if !ok {
			return
		}
		mode = fmt.Sprintf("Sentinel: master %s at %s via %d sentinels", target.Master, master, answered)
		addr = master
	case redisurl.Cluster:
		prefix = redisstate.ClusterPrefix(prefix)
	}
	describe := func() string {
		if target.TLS {
			return fmt.Sprintf("%s (%s, TLS)", target, mode)
		}
		return fmt.Sprintf("%s (%s)", target, mode)
	}
	detail := describe()
	failed := func(err error, detail string) {
		c.fail(what, fmt.Errorf("%s: %s", detail, scrubbed(err)), redisHint(err, addr, prefix))
	}
	if err := rdb.Ping(cctx).Err(); err != nil {
		failed(err, detail)
		return
	}
	if target.Kind == redisurl.Cluster {
		nodes, err := rdb.ClusterNodes(cctx).Result()
		if err != nil {
			failed(err, detail)
			return
		}
		mode = fmt.Sprintf("cluster of %d nodes", len(strings.Split(strings.TrimSpace(nodes), "\n")))
		detail = describe()
	}
	server := infoFields(rdb.Info(cctx, "server").Val())
	replication := infoFields(rdb.Info(cctx, "replication").Val())
	if v := server["redis_version"]; v != "" {
		detail += ": Redis " + v
		// A cluster client asks any node: its role says nothing.
		if role := replication["role"]; role != "" && target.Kind != redisurl.Cluster {
			detail += ", role " + role
		}
	}
	switch {
	case server["redis_mode"] == "sentinel":
		c.fail(what, fmt.Errorf("%s: a Sentinel, which holds no data", detail),
			"write REDIS_URL as redis-sentinel://host:26379,host:26379/mastername?db=0 to reach the master it watches")
		return
	case server["redis_mode"] == "cluster" && target.Kind != redisurl.Cluster:
		c.fail(what, fmt.Errorf("%s: a Redis Cluster node, which holds only some of the keys", detail),
			"write REDIS_URL as redis-cluster://host:6379,host:6379 (some or all of the cluster's nodes)")
		return
	case target.Kind != redisurl.Cluster && (replication["role"] == "slave" || replication["role"] == "replica"):
		c.fail(what, fmt.Errorf("%s: a read-only replica; the bot writes", detail), "point REDIS_URL at the primary")
		return
	}
	key := prefix + "check:" + randomHex(8)
	if err := rdb.Set(cctx, key, "1", 10*time.Second).Err(); err != nil {
		failed(err, detail+": cannot write")
		return
	}
	_ = rdb.Del(cctx, key).Err() // it expires anyway
	start := time.Now()
	if err := rdb.Ping(cctx).Err(); err != nil {
		failed(err, detail)
		return
	}
	if took := time.Since(start); took > r.Timeout {
		c.fail(what, fmt.Errorf("%s: answered in %s, more than REDIS_TIMEOUT (%s)", detail, took.Round(time.Microsecond), r.Timeout),
			"raise REDIS_TIMEOUT, or use a Redis closer to the bot: the bot treats a slower answer as Redis being down")
		return
	}
	if target.Kind == redisurl.Cluster {
		// The ACL and any key-space tooling must know where the keys are.
		detail += ", keys under " + prefix
	}
	c.ok(what, detail)
}

// sentinels asks each sentinel of target where its master is. It returns
// the master's address, how many sentinels answered, and true; or reports
// the failure and returns false. Some sentinels not answering is a
// warning: the bot works, but a failover needs a majority of them.
func (c *checker) sentinels(ctx context.Context, target redisurl.Target, scrubbed func(error) string) (master string, answered int, ok bool) {
	const what = "redis"
	var (
		down     []string
		firstErr error
	)
	for _, addr := range target.Addrs {
		o := &redis.Options{
			Addr: addr, Password: target.SentinelPassword,
			DialTimeout: checkTimeout, ReadTimeout: checkTimeout, WriteTimeout: checkTimeout,
			MaxRetries: -1, DialerRetries: 1, PoolSize: 1,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}
		if target.TLS {
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		sc := redis.NewSentinelClient(o)
		hp, err := sc.GetMasterAddrByName(ctx, target.Master).Result()
		_ = sc.Close()
		switch {
		case err == nil && len(hp) == 2:
			answered++
			if master == "" {
				master = net.JoinHostPort(hp[0], hp[1])
			}
		case errors.Is(err, redis.Nil):
			answered++ // it answered: it knows no such master
		default:
			if err == nil {
				err = fmt.Errorf("answered %v", hp)
			}
			if firstErr == nil {
				firstErr = err
			}
			down = append(down, addr+" ("+scrubbed(err)+")")
		}
	}
	shown := target.String()
	switch {
	case master != "":
	case answered > 0:
		c.fail(what, fmt.Errorf("%s: the sentinels know no master named %q", shown, target.Master),
			"REDIS_URL's path is the master's name as the sentinels know it (sentinel monitor <name> …; SENTINEL MASTERS lists them)")
		return "", 0, false
	case strings.Contains(firstErr.Error(), "unknown command"):
		c.fail(what, fmt.Errorf("%s: %s", shown, scrubbed(firstErr)),
			fmt.Sprintf("%s is not a Sentinel: REDIS_URL lists the sentinels (port 26379 by default); for one server write redis://host:6379/0", target.Addrs[0]))
		return "", 0, false
	default:
		c.fail(what, fmt.Errorf("%s: no sentinel answered: %s", shown, strings.Join(down, "; ")),
			redisHint(firstErr, strings.Join(target.Addrs, ", "), redisstate.DefaultPrefix))
		return "", 0, false
	}
	if len(down) > 0 {
		c.warn(what, fmt.Sprintf("%d of %d sentinels did not answer: %s", len(down), len(target.Addrs), strings.Join(down, "; ")),
			"a failover needs a majority of the sentinels: check those addresses in REDIS_URL")
	}
	return master, answered, true
}

// infoFields reads INFO's "key:value" lines.
func infoFields(info string) map[string]string {
	fields := make(map[string]string)
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			fields[k] = v
		}
	}
	return fields
}

// redisHint says what to do about an error from Redis at addr, whose keys
// start with prefix.
func redisHint(err error, addr, prefix string) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS"), strings.Contains(msg, "NOAUTH"), strings.Contains(msg, "invalid password"),
		strings.Contains(msg, "invalid username-password"):
		return "Redis refused the password in REDIS_URL, or wants one: redis://[user]:password@host:port/db"
	case strings.Contains(msg, "READONLY"):
		return "point REDIS_URL at the primary: this is a read-only replica"
	case strings.Contains(msg, "NOPERM"):
		return "the Redis user may not write keys under " + prefix + "*: grant it in the ACL (~" + prefix + "* +@all)"
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509"):
		return "TLS failed: rediss:// needs a server speaking TLS (redis:// for one that does not) with a certificate this machine trusts"
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(msg, "dial"), strings.Contains(msg, "timeout"),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		return "nothing answered at " + addr + ": check REDIS_URL's host and port, and that this machine reaches it"
	}
	return "check REDIS_URL"
}

// scrub removes a password, and any userinfo of raw, from an error text.
func scrub(msg, password, raw string) string {
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw[i+3:], "@"); at >= 0 {
			if userinfo := raw[i+3 : i+3+at]; userinfo != "" {
				msg = strings.ReplaceAll(msg, userinfo, "xxxxx")
			}
		}
	}
	return msg
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// switched lists what the configuration switches on and off, for the end
// of check's report.
func switched(cfg *config.Config) (on, off []string) {
	if cfg.Summary.Enabled() {
		on = append(on, "summaries to "+cfg.Summary.Channel+" "+when(cfg.Summary.Schedule, cfg))
	} else {
		off = append(off, "summaries (SUMMARY_CHANNEL not set)")
	}
	if cfg.Report.Enabled() {
		on = append(on, "daily report to "+cfg.Report.Channel+" "+when(cfg.Report.Schedule, cfg))
	}
	switch {
	case cfg.Alert.Enabled():
		on = append(on, "alerts to "+alertsByChannel(cfg.Alert.Rules))
	case cfg.Alert.RulesFile != "":
		off = append(off, "alerts ("+cfg.Alert.RulesFile+" has no rules)")
	default:
		off = append(off, "alerts (ALERT_CHANNEL not set)")
	}
	if cfg.Redis.URL != "" {
		// config checked the URL: it parses.
		target, _ := redisurl.Parse(cfg.Redis.URL)
		mode := target.Kind.String()
		if target.TLS {
			mode += ", TLS"
		}
		on = append(on, fmt.Sprintf("replicas via Redis (%s, %s)", target, mode))
	} else {
		off = append(off, "replicas (no REDIS_URL: state in "+cfg.StateDir+")")
	}
	if cfg.HTTPAddr != "" {
		on = append(on, "health on "+cfg.HTTPAddr)
	} else {
		off = append(off, "health endpoints (HTTP_ADDR not set)")
	}
	if len(on) == 0 {
		on = append(on, "only /status and /presence")
	}
	return on, off
}

// alertsByChannel lists the rules by channel, in the order the channels
// first appear: "C0SALES (sales-floor), C0ALERTS (total below 3;
// support_team below 2)". The variables' rules read as the variables do.
func alertsByChannel(rules []config.AlertRule) string {
	var channels []string
	byChannel := map[string][]string{}
	for _, r := range rules {
		if _, seen := byChannel[r.Channel]; !seen {
			channels = append(channels, r.Channel)
			byChannel[r.Channel] = []string{}
		}
		var name string
		switch {
		case r.Source == "ALERT_THRESHOLD" && r.Line == 0:
			if r.Warning == 0 {
				continue
			}
			name = fmt.Sprintf("total below %d", r.Warning)
		case r.Source == "ALERT_TEAM_THRESHOLDS" && r.Line == 0 && len(r.Teams) == 1:
			name = fmt.Sprintf("%s below %d", r.Teams[0], r.Warning)
		default:
			name = r.Name
		}
		byChannel[r.Channel] = append(byChannel[r.Channel], name)
	}
	out := make([]string, len(channels))
	for i, ch := range channels {
		names := byChannel[ch]
		if len(names) == 0 {
			names = []string{"no threshold above 0: only data-unavailable notices"}
		}
		out[i] = fmt.Sprintf("%s (%s)", ch, strings.Join(names, "; "))
	}
	return strings.Join(out, ", ")
}

// when says when a schedule fires.
func when(s config.Schedule, cfg *config.Config) string {
	if s.Cron != "" {
		return fmt.Sprintf("at %q (%s)", s.Cron, cfg.Location)
	}
	return "every " + shortDuration(s.Every)
}

// nextRun is when a cron schedule next fires after now, in loc: "Mon 10
// Mar 18:00 IST". config checked the expression: it parses and fires.
func nextRun(s config.Schedule, loc *time.Location, now time.Time) string {
	opts := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
	if s.WithSeconds {
		opts |= cron.Second
	}
	sched, err := cron.NewParser(opts).Parse(s.Cron)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	layout := "Mon 2 Jan 15:04 MST"
	if s.WithSeconds {
		layout = "Mon 2 Jan 15:04:05 MST"
	}
	return sched.Next(now.In(loc)).Format(layout)
}

// earlyReportBefore is the time of day before which a daily report
// covers too little to be worth a warning.
const earlyReportBefore = 6 * time.Hour

// earlyReportWarning says, when the report's schedule fires before 06:00
// (in loc) on some day, that the report covers only the day so far from
// midnight; "" otherwise. It reads the firings of the eight days after
// now (at most a few thousand; a schedule firing more often than that
// fires at midnight anyway).
func earlyReportWarning(s config.Schedule, loc *time.Location, now time.Time) string {
	if s.Cron == "" {
		return ""
	}
	opts := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
	if s.WithSeconds {
		opts |= cron.Second
	}
	sched, err := cron.NewParser(opts).Parse(s.Cron)
	if err != nil {
		return ""
	}
	const maxFirings = 20000
	end := now.Add(8 * 24 * time.Hour)
	earliest := time.Duration(-1)
	var at time.Time
	t := now.In(loc)
	for i := 0; i < maxFirings && earliest != 0; i++ {
		if t = sched.Next(t); t.IsZero() || t.After(end) {
			break
		}
		y, m, d := t.Date()
		if since := t.Sub(time.Date(y, m, d, 0, 0, 0, 0, loc)); earliest < 0 || since < earliest {
			earliest, at = since, t
		}
	}
	if earliest < 0 || earliest >= earlyReportBefore {
		return ""
	}
	layout := "15:04"
	if at.Second() != 0 {
		layout = "15:04:05"
	}
	return fmt.Sprintf("the report covers the day so far from midnight: a schedule at %s covers %s", at.Format(layout), coverage(earliest))
}

// coverage is a stretch of the day in words: "5 minutes", "1 hour",
// "5 hours 30 minutes".
func coverage(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case h == 0:
		return unit(m, "minute")
	case m == 0:
		return unit(h, "hour")
	}
	return unit(h, "hour") + " " + unit(m, "minute")
}

// shortDuration drops a Duration's zero tails: 1h, not 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func slackHint(err error, variable string) string {
	if err == nil {
		return ""
	}
	if h := bot.HintFor(err, variable); h != "" {
		return h
	}
	return "check SLACK_API_URL and that this machine reaches Slack"
}

func contactCenterHint(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, presence.ErrUnauthorized):
		return "the contact center refused EXOTEL_ACCESS_TOKEN: check it, and that it belongs to EXOTEL_ACCOUNT_SID"
	case errors.Is(err, presence.ErrForbidden):
		return "the contact center knows EXOTEL_ACCESS_TOKEN but does not let it read presence: give the token that permission, or use one that has it"
	case errors.Is(err, presence.ErrNotFound):
		return "no such account here: check EXOTEL_ACCOUNT_SID, and EXOTEL_REGION or EXOTEL_BASE_URL"
	case errors.Is(err, presence.ErrUnavailable):
		return "nothing answered: check EXOTEL_REGION or EXOTEL_BASE_URL, and that this machine reaches it"
	case errors.Is(err, presence.ErrBadResponse):
		return "an answer that is not the Agent Presence API's: check EXOTEL_BASE_URL"
	}
	return "the contact center refused the request; try again, and check EXOTEL_BASE_URL"
}
