// Package app wires presence-bot together: configuration in, a running bot
// out. main calls it; end-to-end tests and the benchmark start it too,
// pointed at the fake Slack server and the contact-center simulator.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/internal/redact"
	"github.com/presencebot/presence-bot/observe"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/redisstate"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// App is presence-bot, ready to run.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	bot     *bot.Bot
	sched   *schedule.Scheduler
	shared  shared
	health  *observe.Health
	metrics *observe.Metrics
	probes  observe.Probes // the contact center's start and re-checks

	mu       sync.Mutex
	httpAddr string // where /healthz, /readyz and /metrics listen, once they do
	started  chan struct{}
}

// Option adjusts what configuration does not cover: tests and the
// benchmark shorten timeouts with these.
type Option func(*options)

type options struct {
	presence []presence.Option
	bot      func(*bot.Config)
	clock    clockwork.Clock
	probes   observe.Probes
	store    func(state.Store) state.Store

	// journalLease and journalSweep time the command journal (0: defaults).
	journalLease, journalSweep time.Duration
	// budget adjusts the API budget's options (tests shorten its delays).
	budget func(*presence.BudgetOptions)
	// snapshotNow is the roster snapshot's clock (nil: the real one).
	snapshotNow func() time.Time
}

// WithSnapshotClock runs the roster snapshot's TTL on now (tests move a
// fake clock past it; the scheduler's clock, WithClock, is another).
func WithSnapshotClock(now func() time.Time) Option {
	return func(o *options) { o.snapshotNow = now }
}

// WithBudget adjusts the contact-center API budget's options that
// configuration does not cover (the notice delay, the clock).
func WithBudget(f func(*presence.BudgetOptions)) Option {
	return func(o *options) { o.budget = f }
}

// WithProbes sets how often the contact center is re-checked while it
// refuses the configuration or fails: every, doubling up to max (tests
// use milliseconds).
func WithProbes(every, max time.Duration) Option {
	return func(o *options) { o.probes.Every, o.probes.Max = every, max }
}

// WithClock runs the scheduled jobs on clock (a fake one in tests).
func WithClock(c clockwork.Clock) Option {
	return func(o *options) { o.clock = c }
}

// WithStateStore wraps the state store the jobs and commands share, so a
// test can make one replica's writes fail while the others' succeed.
func WithStateStore(wrap func(state.Store) state.Store) Option {
	return func(o *options) { o.store = wrap }
}

// WithJournal sets the command journal's lease and how often replicas
// sweep it for a dead one's commands (with REDIS_URL only; tests shorten
// both).
func WithJournal(lease, sweep time.Duration) Option {
	return func(o *options) { o.journalLease, o.journalSweep = lease, sweep }
}

// WithPresenceOptions adds options to the contact-center client.
func WithPresenceOptions(opts ...presence.Option) Option {
	return func(o *options) { o.presence = append(o.presence, opts...) }
}

// WithBotConfig adjusts the Slack loop's settings before it is built;
// several apply in order.
func WithBotConfig(f func(*bot.Config)) Option {
	return func(o *options) {
		prev := o.bot
		o.bot = func(c *bot.Config) {
			if prev != nil {
				prev(c)
			}
			f(c)
		}
	}
}

// New builds the app from validated configuration. Problems found here
// (an invalid mapping file) are configuration errors too.
func New(cfg *config.Config, log *slog.Logger, opts ...Option) (_ *App, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	agents, err := loadAgents(cfg.AgentMapFile)
	if err != nil {
		return nil, err
	}
	metrics := observe.NewMetrics()
	health := observe.NewHealth(nil)
	health.LogChanges(log.With("component", "health"))
	// Not ready until the start probe (Run) has heard the contact center:
	// a wrong token or account must never show as ready, not even for
	// the first second.
	health.MarkChecking()

	web := bot.NewWebAPI(bot.Slack{
		AppToken:   cfg.Slack.AppToken,
		BotToken:   cfg.Slack.BotToken,
		APIURL:     cfg.Slack.APIURL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: metrics.SlackTransport(slackTransport())},
		// Charts and tables Slack refuses: counted, logged, sent without.
		RichRefused: metrics.RichBlocksRefused,
		Logger:      log.With("component", "slack"),
	})
	if o.clock == nil {
		o.clock = clockwork.NewRealClock()
	}
	sh, err := openShared(cfg, o.clock, health, metrics, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sh.close()
		}
	}()
	budget := newBudget(cfg, sh, metrics, log, o.budget)
	health.WatchBudget(budget.State)
	client := presence.NewClient(cfg.Exotel.AccountSID, cfg.Exotel.AccessToken,
		append([]presence.Option{
			presence.WithBaseURL(cfg.Exotel.BaseURL),
			presence.WithLogger(log.With("component", "contact-center")),
			presence.WithObserver(func(ob presence.Observation) {
				metrics.ObserveAPI(ob)
				health.ObserveAPI(ob)
			}),
			presence.WithBudget(budget),
		}, o.presence...)...,
	)
	roster := newRoster(client, cfg, sh, metrics, o.snapshotNow, log, budget)
	store := sh.store
	if o.store != nil {
		store = o.store(store)
	}
	// The locker asks the scheduler for a job's tick, and gocron wants the
	// locker before the scheduler exists: the closure bridges the two,
	// since locks are only taken once the scheduler runs.
	var sched *schedule.Scheduler
	schedOpts := []schedule.Option{
		schedule.WithClock(o.clock),
		schedule.WithLocation(cfg.Location),
		schedule.WithLogger(log.With("component", "scheduler")),
		schedule.WithObserver(func(r schedule.JobRun) {
			if !r.Repeat && r.Skipped == "" { // skips are counted below
				metrics.JobTick(r.Job, r.Err)
			}
		}),
		schedule.WithSkipObserver(func(s schedule.TickSkip) { metrics.JobTickSkipped(s.Job, s.Reason) }),
		// Another replica holding the tick is normal, not a warning.
		schedule.WithLockSkipReason(redisstate.ErrTickTaken, schedule.SkipOtherReplica),
		// Another replica still running the job's previous tick is.
		schedule.WithLockSkipReason(redisstate.ErrStillRunning, schedule.SkipStillRunning),
	}
	if sh.redis != nil {
		// Ticks are named on the scheduler's clock; the job's lease is
		// renewed on the real one (the default), since it expires on
		// Redis's time.
		locker := sh.redis.Locker(o.clock, func(job string, now time.Time) (time.Time, time.Duration, bool) {
			return sched.TickOf(job, now)
		})
		schedOpts = append(schedOpts, schedule.WithDistributedLocker(locker))
	}
	sched, err = schedule.New(schedOpts...)
	if err != nil {
		return nil, err
	}
	// The bot, built below, refreshes the Homes an alert's change shows
	// in: the closure bridges the two, as for the locker.
	var alertChanged func()
	dir := commands.NewDirectory(mapping(agents), web, roster, nil)
	if sh.redis != nil {
		dir.Share(store)
	}
	jobs, err := addJobs(cfg, sched, client, roster, web, dir, store, metrics, log, func(context.Context) {
		if alertChanged != nil {
			alertChanged()
		}
	})
	if err != nil {
		return nil, err
	}
	ccfg := commands.Config{
		API:       client,
		Roster:    roster,
		Directory: dir,
		OpenToAll: cfg.PresenceOpenToAll,
		Location:  cfg.Location,
		Queue:     commands.NewPendingQueue(store, cfg.AfterCall.Expiry),
		// Clicks and commands read the same clock as the scheduled jobs
		// (WithClock), so a snooze or 5 more minutes lines up with ticks.
		Now:    o.clock.Now,
		Logger: log.With("component", "commands"),
	}
	if jobs.alerter != nil {
		ccfg.Alerts = jobs.alerter
		ccfg.Silences = jobs.silences
		targets := jobs.targets
		ccfg.SilenceTargets = func() []string { return targets }
	}
	if jobs.nudger != nil {
		ccfg.Nudges = jobs.nudger
	}
	if jobs.history != nil { // a nil *Recorder in the interface would not read as "off"
		ccfg.History, ccfg.HistoryRetention = jobs.history, cfg.HistoryRetention
	}
	handler := commands.New(ccfg)
	if err := sched.AddEvery("after_call", cfg.AfterCall.Poll, handler.AfterCall(client, web).Poll,
		schedule.JobTimeout(afterCallTimeout)); err != nil {
		return nil, err
	}
	botCfg := bot.Config{
		Web:      web,
		Commands: handler,
		Dedup:    sh.dedup,
		HomeSet:  sh.homes,
		Logger:   log.With("component", "slack"),
		Hooks: bot.Hooks{
			Acked:    metrics.Acked,
			Answered: metrics.Answered,
			Connection: func(up bool) {
				metrics.Connection(up)
				health.Connection(up)
			},
			Recovered: metrics.JournalRecovered,
		},
	}
	if sh.redis != nil {
		// Acked commands outlive this replica; alone, there is no one to
		// hand them to.
		botCfg.Journal = sh.redis.Journal(redisstate.JournalOptions{Lease: o.journalLease, OnDropped: metrics.JournalDropped})
		botCfg.JournalSweep = o.journalSweep
	}
	if o.bot != nil {
		o.bot(&botCfg)
	}
	b, err := bot.New(botCfg)
	if err != nil {
		return nil, err
	}
	// Supervisors' Homes show the alerts firing: refreshed (in the
	// background) for those who opened it, from whichever replica polled.
	alertChanged = func() { b.RefreshHomes(ccfg.Directory.IsSupervisor) }
	probes := o.probes
	probes.Check = func(ctx context.Context) error {
		// The cheapest request that proves the token and the account:
		// its outcome reaches health through the client's observer.
		_, err := client.List(ctx, presence.ListOptions{Limit: 1})
		return err
	}
	return &App{cfg: cfg, log: log, bot: b, sched: sched, shared: sh, health: health, metrics: metrics,
		probes: probes, started: make(chan struct{})}, nil
}

// newRoster builds the roster snapshot every reader shares: /presence,
// the Home, the directory, the summary, the alert poll and the after-call
// poll. With Redis the replicas share it too: one fetch per TTL for the
// fleet (see presence.Snapshots).
func newRoster(client *presence.Client, cfg *config.Config, sh shared, metrics *observe.Metrics, now func() time.Time,
	log *slog.Logger, budget *presence.Budget) *presence.Snapshots {
	opts := []presence.SnapshotOption{
		// While changes wait for the budget the roster lives longer, so
		// reads leave the tokens to them.
		presence.WithPressureSource(budget.UnderPressure),
		presence.WithSnapshotLogger(log.With("component", "roster")),
		presence.WithRefreshObserver(func(source string, _ *presence.Snapshot) { metrics.RosterRefreshed(source) }),
	}
	if sh.redis != nil {
		opts = append(opts, presence.WithSharedStore(sh.redis.RosterStore(0)))
	}
	roster := presence.NewSnapshots(client, cfg.PresenceCacheTTL, now, opts...)
	roster.OnRefresh(func(s *presence.Snapshot) { metrics.SetAgents(countAgents(s)) })
	if now == nil {
		now = time.Now
	}
	metrics.WatchSnapshotAge(func() (time.Duration, bool) {
		s := roster.LastKnown()
		if s == nil {
			return 0, false
		}
		return s.Age(now()), true
	})
	return roster
}

// newBudget is the contact-center API budget (EXOTEL_RATE_LIMIT) every
// request of the client waits for: with Redis, one bucket for every
// replica.
func newBudget(cfg *config.Config, sh shared, metrics *observe.Metrics, log *slog.Logger,
	adjust func(*presence.BudgetOptions)) *presence.Budget {
	o := presence.BudgetOptions{
		Rate:    cfg.Exotel.RateLimit.Rate,
		Burst:   cfg.Exotel.RateLimit.Burst,
		OnGrant: metrics.ObserveBudget,
		Logger:  log.With("component", "budget"),
	}
	if sh.redis != nil && !cfg.Exotel.RateLimit.Off() {
		o.Shared = sh.redis.Budget(redisstate.BudgetOptions{})
	}
	if adjust != nil {
		adjust(&o)
	}
	b := presence.NewBudget(o)
	metrics.WatchBudget(b)
	return b
}

// shared is where state lives: files under STATE_DIR for one instance,
// Redis for replicas.
type shared struct {
	store state.Store
	dedup bot.Deduper
	homes bot.HomeSet        // who opened the App Home
	redis *redisstate.Client // nil without REDIS_URL
}

func (s shared) close() {
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

func openShared(cfg *config.Config, clock clockwork.Clock, health *observe.Health, metrics *observe.Metrics, log *slog.Logger) (shared, error) {
	if cfg.Redis.URL == "" {
		store, err := state.NewFileStore(cfg.StateDir)
		if err != nil {
			return shared{}, &ConfigError{Err: fmt.Errorf("STATE_DIR: %w", err)}
		}
		return shared{store: store, dedup: bot.NewMemoryDeduper(bot.DefaultDedupeTTL, nil),
			homes: bot.NewMemoryHomeSet(bot.DefaultHomeTTL, bot.DefaultMaxHomes, clock.Now)}, nil
	}
	rc, err := redisstate.Open(context.Background(), redisstate.Options{
		URL:     cfg.Redis.URL,
		Timeout: cfg.Redis.Timeout,
		Logger:  log.With("component", "redis"),
		Now:     clock.Now,
		OnStateChange: func(up bool) {
			metrics.RedisUp(up)
			if up {
				health.Set(partRedis, observe.OK, "connected")
			} else {
				// Commands go on; scheduled jobs wait for Redis.
				health.Set(partRedis, observe.Degraded, "unreachable: commands deduplicated locally, scheduled jobs skipped")
			}
		},
		OnFallback: metrics.RedisFallback,
	})
	if err != nil {
		return shared{}, &ConfigError{Err: fmt.Errorf("REDIS_URL: %w", err)}
	}
	return shared{
		store: rc.Store(),
		dedup: rc.Deduper(bot.DefaultDedupeTTL, bot.NewMemoryDeduper(bot.DefaultDedupeTTL, nil)),
		homes: rc.HomeSet(bot.DefaultHomeTTL, bot.DefaultMaxHomes,
			bot.NewMemoryHomeSet(bot.DefaultHomeTTL, bot.DefaultMaxHomes, clock.Now)),
		redis: rc,
	}, nil
}

// partRedis is Redis's part in /readyz.
const partRedis = "redis"

// afterCallTimeout is the after-call poll's deadline, however often it
// polls: room for a few slow updates (each up to three attempts of 4 s and
// a confirmation), which the queue keeps for the next poll if they do not
// fit. The job's lease keeps the ticks that come meanwhile from running on
// any replica, so a slow poll is never doubled.
const afterCallTimeout = 30 * time.Second

// scheduledJobs are the jobs configuration switched on.
type scheduledJobs struct {
	alerter  *alerts.Alerter
	nudger   *nudge.Nudger
	silences *silence.Store
	targets  []string // what a silence may name
	// history holds per-team counts and alert events (HISTORY_RETENTION).
	history *history.Recorder
}

// addJobs schedules the summary and the alert poll when their channels
// are set.
func addJobs(cfg *config.Config, sched *schedule.Scheduler, client *presence.Client, roster *presence.Snapshots,
	web *bot.WebAPI, dir *commands.Directory, store state.Store, metrics *observe.Metrics, log *slog.Logger, onAlertChange func(context.Context)) (scheduledJobs, error) {
	var jobs scheduledJobs
	sampler := newHistory(cfg, store, roster, log)
	jobs.history = sampler.rec
	if cfg.Summary.Enabled() {
		summary := alerts.NewSummarizer(roster, web, store, alerts.SummarySettings{Channel: cfg.Summary.Channel, Location: cfg.Location,
			History: sampler.rec, Resolution: sampler.rec.Options().Resolution}, log)
		sc := cfg.Summary.Schedule
		if err := sched.Add("summary", schedule.Spec{Every: sc.Every, Cron: sc.Cron, WithSeconds: sc.WithSeconds}, summary.Run); err != nil {
			return jobs, &ConfigError{Err: fmt.Errorf("SUMMARY_SCHEDULE: %w", err)}
		}
	}
	if cfg.Report.Enabled() {
		// The day's figures from the history; minutes below each
		// availability rule's warning; once per tick across replicas.
		avail, _, _ := engineRules(cfg.Alert.Rules)
		sc := cfg.Report.Schedule
		// Posted with its metadata, so a replica that takes a report over
		// finds it in the channel before posting it again.
		report := alerts.NewReporter(roster, web, store, alerts.ReportSettings{Channel: cfg.Report.Channel, Location: cfg.Location,
			History: sampler.rec, Rules: avail, Resolution: sampler.rec.Options().Resolution,
			Cron: sc.Cron, WithSeconds: sc.WithSeconds, Ledger: web}, log)
		if err := sched.Add("report", schedule.Spec{Cron: sc.Cron, WithSeconds: sc.WithSeconds}, report.Run); err != nil {
			return jobs, &ConfigError{Err: fmt.Errorf("REPORT_SCHEDULE: %w", err)}
		}
		// A report whose post failed, or whose replica died, goes out late
		// rather than never.
		if err := sched.AddEvery("report_catchup", alerts.ReportCatchUpEvery, report.CatchUp); err != nil {
			return jobs, err
		}
		if w := earlyReportWarning(sc, cfg.Location, time.Now()); w != "" {
			log.Warn("REPORT_SCHEDULE: "+w, "schedule", sc.Cron)
		}
	}
	if cfg.Alert.Enabled() {
		a := cfg.Alert
		avail, status, watched := engineRules(a.Rules)
		// Silences are shared like the alert state: every replica reads
		// and ends the same ones, and they survive restarts.
		jobs.silences = silence.New(store, log.With("component", "silences"))
		jobs.targets = silenceTargets(a.Rules)
		settings := alerts.Settings{
			Channel:          a.Channel,
			Rules:            avail,
			Watched:          watched,
			Silences:         jobs.silences,
			UnavailableAfter: a.UnavailableAfter,
			Location:         cfg.Location,
			OnChange:         onAlertChange,
			// Read when fresh: a poll then asks the contact center
			// nothing (see the alerts package doc).
			Roster: roster,
			// The history records what the poll counted, and its events.
			OnSnapshot: sampler.took,
			OnCounts:   sampler.counted,
			OnEvent:    sampler.alertEvent,
		}
		jobs.alerter = alerts.NewAlerter(client, web, store, settings, log)
		// The scheduler's deadline (the interval, at most
		// schedule.DefaultJobTimeout) keeps a stuck poll from holding up
		// the next.
		poll := func(ctx context.Context, tick time.Time) error {
			err := jobs.alerter.Poll(ctx, tick)
			levels := jobs.alerter.FiringLevels(ctx)
			for rule := range jobs.alerter.FiringRules(ctx) {
				metrics.SetAlert(rule, string(levels[rule]))
			}
			sampler.afterPoll(ctx, tick, err)
			return err
		}
		if err := sched.AddEvery("alerts", a.Interval, poll); err != nil {
			return jobs, &ConfigError{Err: fmt.Errorf("ALERT_INTERVAL: %w", err)}
		}
		if len(status) > 0 {
			// The nudger reads the same shared snapshot as the alert poll,
			// on its own job, so a slow DM never delays an alert.
			jobs.nudger = nudge.New(web, store, nudge.Settings{
				Rules:     status,
				Roster:    roster,
				Directory: nudgeDirectory{dir},
				Silences:  jobs.silences,
				Location:  cfg.Location,
			}, log)
			if err := sched.AddEvery("nudges", a.Interval, jobs.nudger.Poll); err != nil {
				return jobs, &ConfigError{Err: fmt.Errorf("ALERT_INTERVAL: %w", err)}
			}
		}
	}
	if !cfg.Alert.Enabled() {
		if err := sched.AddEvery("history", historyEvery, sampler.record); err != nil {
			return jobs, err
		}
	}
	return jobs, nil
}

// slackTransport keeps enough idle connections to Slack for a burst of
// answers; the default two per host would open a new TLS connection for
// nearly every answer.
func slackTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// mapping hands the mapping file to commands, keeping "no file" a nil
// interface rather than a typed nil.
func mapping(m *agentmap.Map) commands.Mapping {
	if m == nil {
		return nil
	}
	return m
}

// countAgents counts a roster per team and status for the agents gauge.
func countAgents(s *presence.Snapshot) map[observe.TeamStatus]int {
	counts := make(map[observe.TeamStatus]int)
	for a := range s.All() {
		counts[observe.TeamStatus{Team: a.TeamID(), Status: a.Status}]++
	}
	return counts
}

// ConfigError marks errors that are the operator's to fix (exit status 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func loadAgents(path string) (*agentmap.Map, error) {
	if path == "" {
		return nil, nil
	}
	m, err := agentmap.Load(path)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("AGENT_MAP_FILE: %w", err)}
	}
	return m, nil
}

// HTTPAddr waits until Run has started and returns the address of the
// health and metrics server, or "" when HTTP_ADDR is off.
func (a *App) HTTPAddr(ctx context.Context) string {
	select {
	case <-a.started:
	case <-ctx.Done():
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.httpAddr
}

// Shutdown budgets after the bot's own drain (at most 3 s), so the whole
// stops within 5 s.
const (
	shutdownTimeout     = time.Second            // the scheduled jobs
	httpShutdownTimeout = 500 * time.Millisecond // the health server
)

// Run serves until ctx is done, then shuts down in order: stop taking
// Slack work, drain the commands in flight, stop the scheduled jobs, stop
// the health server last so probes see the whole shutdown.
func (a *App) Run(ctx context.Context) error {
	start := time.Now()
	a.log.Info("presence-bot starting", "contact_center", redact.URL(a.cfg.Exotel.BaseURL), "slack_api", redact.URL(a.cfg.Slack.APIURL))
	if a.cfg.HTTPAddr != "" {
		srv := observe.NewServer(a.cfg.HTTPAddr, a.health, a.metrics, a.log.With("component", "http"))
		addr, err := srv.Start()
		if err != nil {
			close(a.started)
			return &ConfigError{Err: fmt.Errorf("HTTP_ADDR: %w", err)}
		}
		a.mu.Lock()
		a.httpAddr = addr.String()
		a.mu.Unlock()
		a.log.Info("health and metrics listening", "addr", addr.String())
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				a.log.Warn("health server shutdown", "err", err)
			}
		}()
	}
	close(a.started)

	// Not ready from the moment shutdown begins, not only once the socket
	// closes.
	stopStopping := context.AfterFunc(ctx, a.health.Stopping)
	defer stopStopping()
	// The probe checks the contact center at once, then again while it
	// refuses or fails; it ends with Run.
	probeCtx, stopProbes := context.WithCancel(ctx)
	probesDone := make(chan struct{})
	go func() { defer close(probesDone); a.health.RunProbes(probeCtx, a.probes) }()
	defer func() { stopProbes(); <-probesDone }()

	a.sched.Start()
	err := a.bot.Run(ctx)
	// The bot has drained its commands; now the scheduled jobs stop.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := a.sched.Shutdown(sctx); serr != nil {
		a.log.Warn("scheduler shutdown", "err", serr)
	}
	a.shared.close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	a.log.Info("presence-bot stopped", "uptime", time.Since(start).Round(time.Second).String())
	return nil
}
