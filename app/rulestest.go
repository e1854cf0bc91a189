package app

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/internal/redisurl"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/redisstate"
	"github.com/presencebot/presence-bot/state"
)

// The dry run's exit statuses, main's: 2 is bad usage or a bad file.
const (
	dryRunOK     = 0
	dryRunFailed = 1
	dryRunUsage  = 2
)

// Dry-run defaults and bounds.
const (
	defaultDrySpan   = 8 * time.Hour
	maxDrySpan       = 24 * time.Hour // the simulator plays one shift
	defaultDryAgents = 300
	maxDryAgents     = 5000
	defaultDryPoll   = time.Minute // ALERT_INTERVAL's default
	defaultDryRepeat = 30 * time.Minute
	// dryStep is how often the simulated floor moves between polls, so
	// that time in status is not rounded to the poll interval.
	dryStep = 15 * time.Second
	// maxEpisodeLines bounds the episodes listed per rule; the totals
	// count them all.
	maxEpisodeLines = 12
	// defaultChannelStandIn stands for ALERT_CHANNEL when it is unset: the
	// dry run posts nowhere, so a rule without a channel still runs.
	defaultChannelStandIn = "ALERT_CHANNEL"
)

// dryShiftStart is when the simulated shift starts: 08:00 on a Monday in
// loc, a fixed date, so that the same seed gives the same report on any
// day it is run.
func dryShiftStart(loc *time.Location) time.Time {
	return time.Date(2025, time.January, 6, 8, 0, 0, 0, loc)
}

// RulesTestOptions configure the dry run.
type RulesTestOptions struct {
	// File is the rules file ("" for none); Rules the rules the bot would
	// run: the file's, as config.ParseRules read it, then the ALERT_*
	// variables' (config.VariableRules, config.JoinRules).
	File  string
	Rules []config.AlertRule
	// Span is how much of the simulated day to run (default 8h, the
	// shift); Poll how often the rules are polled (default 1m).
	Span time.Duration
	Poll time.Duration
	// Agents is the simulated floor's size (default 300); Seed draws its
	// day.
	Agents int
	Seed   int64
	// Location is TIMEZONE; nil is UTC. The shift starts at 08:00 there.
	Location *time.Location
	// Log receives the engines' logs; nil discards them.
	Log *slog.Logger
	// Replay, when set, replays the recorded history instead of a
	// simulated day: Span, Agents and Seed are then unused.
	Replay *ReplayOptions
}

// ReplayOptions say which recorded history the dry run replays.
type ReplayOptions struct {
	// Store is the bot's shared store (Redis, else STATE_DIR), which
	// holds the history; Where names it in messages, without secrets
	// ("STATE_DIR ./data", "Redis at redis://10.0.0.5:6379/0").
	Store state.Store
	Where string
	// From and To bound the samples replayed, inclusive; zero is
	// unbounded: the whole retained history.
	From, To time.Time
}

// NoHistoryError is the replay's answer when there is nothing to replay:
// no sample recorded where it looked, or none between From and To. Its
// text says where it looked and how history gets recorded.
type NoHistoryError struct {
	Where string
	// Missing says why the store holds nothing ("no such directory"), if
	// known.
	Missing string
	// From and To are the bounds asked (zero: unbounded); First and Last
	// the history recorded, when some is but not between them.
	From, To, First, Last time.Time
	Location              *time.Location
}

func (e *NoHistoryError) Error() string {
	loc := cmp.Or(e.Location, time.UTC)
	if !e.First.IsZero() {
		var window string
		switch {
		case e.From.IsZero():
			window = fmt.Sprintf("up to %s %s", replayStamp(e.To, loc), loc)
		case e.To.IsZero():
			window = fmt.Sprintf("from %s %s on", replayStamp(e.From, loc), loc)
		default:
			window = fmt.Sprintf("between %s and %s %s", replayStamp(e.From, loc), replayStamp(e.To, loc), loc)
		}
		return fmt.Sprintf("no history %s in %s: what is recorded runs from %s to %s %s; "+
			"pick --from and --to within it, or leave them out to replay all of it",
			window, e.Where, replayStamp(e.First, loc), replayStamp(e.Last, loc), loc)
	}
	where := e.Where
	if e.Missing != "" {
		where += " (" + e.Missing + ")"
	}
	return fmt.Sprintf("no history recorded in %s. The bot records each team's agents per status at every alert poll "+
		"(every minute when no alert is set), in its store (REDIS_URL, else STATE_DIR), and keeps them HISTORY_RETENTION "+
		"(8d by default): let the bot run on this store for a while, then replay it; "+
		"or leave out --history to try the rules on a simulated day", where)
}

// RulesTestMain runs `presence-bot rules test [flags]` and returns its
// exit status. It runs the rules the bot would: the rules file's (--file,
// else ALERT_RULES_FILE, else alerts.yml when present), then those of
// ALERT_THRESHOLD and ALERT_TEAM_THRESHOLDS. It reads them, TIMEZONE, and
// the ALERT_* variables that give rules their defaults (ALERT_CHANNEL,
// ALERT_FOR, ALERT_REPEAT, ALERT_ACTIVE_HOURS, ALERT_INTERVAL) through
// lookup, and nothing else: no Slack or contact-center setting is needed.
// With --history it replays the recorded history instead, read from where
// the bot keeps it (REDIS_URL and REDIS_TIMEOUT, else STATE_DIR); with
// none recorded it says where it looked and exits 1.
func RulesTestMain(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	o, f, err := parseDryRunFlags(args, stderr)
	file := f.file
	if errors.Is(err, flag.ErrHelp) {
		return dryRunOK
	}
	if err != nil {
		return dryRunUsage
	}
	env := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "presence-bot rules test: "+format+"\n", args...)
		return dryRunUsage
	}

	if file == "" {
		file = env("ALERT_RULES_FILE")
	}
	if file == "" {
		if fi, err := os.Stat("alerts.yml"); err == nil && fi.Mode().IsRegular() {
			file = "alerts.yml"
		}
	}
	d, problems := dryRunDefaults(env)
	o.Location = d.Location
	if v := env("ALERT_INTERVAL"); v != "" {
		p, err := time.ParseDuration(v)
		if err != nil || p < time.Second {
			problems = append(problems, fmt.Sprintf("ALERT_INTERVAL: %q: want a Go duration of 1s or more, such as 1m", v))
		}
		o.Poll = p
	}
	var replay *ReplayOptions
	if f.history {
		replay = &ReplayOptions{}
		// Checked by parseDryRunFlags: only the zone can differ here.
		replay.From, _ = parseWhen(f.from, o.Location, false)
		replay.To, _ = parseWhen(f.to, o.Location, true)
		if v := env("REDIS_TIMEOUT"); v != "" {
			if d, err := time.ParseDuration(v); err != nil || d <= 0 {
				problems = append(problems, fmt.Sprintf("REDIS_TIMEOUT: %q: want a Go duration above 0, such as 200ms or 2s", v))
			}
		}
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "\n  "))
	}

	var rules []config.AlertRule
	var ruleProblems []config.RuleProblem
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fail("%s: no such file", file)
			}
			return fail("read the rules file: %v", err)
		}
		rules, ruleProblems = config.ParseRules(file, data, d)
	}
	// The variables' rules, next to the file's, as the bot makes them.
	vars, varProblems := config.VariableRules(lookup, file != "", d)
	if len(varProblems) > 0 {
		lines := make([]string, len(varProblems))
		for i, p := range varProblems {
			lines[i] = p.String()
		}
		return fail("%s", strings.Join(lines, "\n  "))
	}
	rules, clashes := config.JoinRules(rules, vars)
	ruleProblems = append(ruleProblems, clashes...)
	if len(ruleProblems) > 0 {
		fmt.Fprintf(stderr, "presence-bot rules test: %s has %d problem(s); the bot would not start with it:\n", file, len(ruleProblems))
		for _, p := range ruleProblems {
			fmt.Fprintln(stderr, "  -", p.String())
		}
		return dryRunUsage
	}
	switch {
	case len(rules) > 0:
	case file != "":
		return fail("%s has no rules, and ALERT_THRESHOLD and ALERT_TEAM_THRESHOLDS make none: nothing to test", file)
	default:
		return fail("no rules: give --file F, set ALERT_RULES_FILE, or put alerts.yml in the working directory; " +
			"or set ALERT_CHANNEL with ALERT_THRESHOLD or ALERT_TEAM_THRESHOLDS")
	}
	o.File, o.Rules = file, rules
	// The engines' warnings would be the bot's: show them, apart from the
	// report.
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if replay != nil {
		store, where, closeStore, err := openHistoryStore(ctx, env)
		var noHistory *NoHistoryError
		switch {
		case errors.As(err, &noHistory):
			fmt.Fprintln(stderr, "presence-bot rules test:", err)
			return dryRunFailed
		case err != nil:
			return fail("%v", err)
		}
		defer closeStore()
		replay.Store, replay.Where = store, where
		o.Replay = replay
	}
	if err := RulesTest(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "presence-bot rules test:", err)
		return dryRunFailed
	}
	return dryRunOK
}

// dryFlags are the dry run's flags that RulesTestMain reads itself.
type dryFlags struct {
	file    string
	history bool
	// from and to are --from and --to as given, read in TIMEZONE once it
	// is known (parseWhen).
	from, to string
}

// parseDryRunFlags reads the dry run's flags; usage problems are written
// to stderr with the usage, and returned.
func parseDryRunFlags(args []string, stderr io.Writer) (RulesTestOptions, dryFlags, error) {
	var (
		o    RulesTestOptions
		f    dryFlags
		seed int64
	)
	fs := flag.NewFlagSet("presence-bot rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: presence-bot rules test [--file F] [--simulate 8h] [--agents N] [--seed N]\n"+
			"       presence-bot rules test [--file F] --history [--from T] [--to T]\n\n"+
			"Runs the alert rules against a simulated day on the built-in contact-center simulator,\n"+
			"fast-forwarded, and prints per rule when it would have fired, at which level, for how long,\n"+
			"and how many posts, edits, DMs and escalations that is. Nothing is sent to Slack.\n\n"+
			"With --history it replays instead the per-team counts the bot recorded (in Redis with\n"+
			"REDIS_URL, else in STATE_DIR), each sample as one poll at its recorded time, through the same\n"+
			"alert engine. Time-in-status rules cannot be replayed from counts: the report says so.\n"+
			"T is a date (2026-12-01), a time in TIMEZONE (2026-12-01T08:00) or RFC 3339; a date alone\n"+
			"in --to includes that whole day. Without them, all the history kept (HISTORY_RETENTION) is replayed.\n\n"+
			"The rules file is --file, else ALERT_RULES_FILE, else alerts.yml in the working directory.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.file, "file", "", "the rules file (default ALERT_RULES_FILE, else alerts.yml)")
	fs.DurationVar(&o.Span, "simulate", defaultDrySpan, "how much of the simulated day to run, from the shift's start at 08:00")
	fs.IntVar(&o.Agents, "agents", defaultDryAgents, "simulated agents, spread over the teams the rules name; match your floor")
	fs.Int64Var(&seed, "seed", 1, "draws the simulated day: the same seed gives the same day")
	fs.BoolVar(&f.history, "history", false, "replay the recorded history (REDIS_URL, else STATE_DIR) instead of a simulated day")
	fs.StringVar(&f.from, "from", "", "with --history: the first sample to replay (default: the oldest kept)")
	fs.StringVar(&f.to, "to", "", "with --history: the last sample to replay (default: the newest)")
	err := fs.Parse(args)
	if err != nil {
		return o, f, err
	}
	usage := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		fmt.Fprintln(stderr, "presence-bot rules test:", err)
		fs.Usage()
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case fs.NArg() > 0:
		return o, f, usage("unexpected argument %q", fs.Arg(0))
	case o.Span <= 0 || o.Span > maxDrySpan:
		return o, f, usage("--simulate %s: want a duration above 0 and at most %s", o.Span, message.Duration(maxDrySpan))
	case o.Agents < 1 || o.Agents > maxDryAgents:
		return o, f, usage("--agents %d: want 1 to %d", o.Agents, maxDryAgents)
	}
	for _, name := range []string{"from", "to"} {
		if set[name] && !f.history {
			return o, f, usage("--%s: only with --history, which replays the recorded history", name)
		}
	}
	if f.history {
		for _, name := range []string{"simulate", "agents", "seed"} {
			if set[name] {
				return o, f, usage("--%s: not with --history, which replays what was recorded rather than simulating a day", name)
			}
		}
		// Read in UTC to check them; RulesTestMain reads them again in
		// TIMEZONE, which moves both alike.
		from, err := parseWhen(f.from, time.UTC, false)
		if err != nil {
			return o, f, usage("--from %q: %v", f.from, err)
		}
		to, err := parseWhen(f.to, time.UTC, true)
		if err != nil {
			return o, f, usage("--to %q: %v", f.to, err)
		}
		if !from.IsZero() && !to.IsZero() && to.Before(from) {
			return o, f, usage("--to %s is before --from %s", f.to, f.from)
		}
	}
	o.Seed = seed
	return o, f, nil
}

// whenLayouts are the forms --from and --to take, besides RFC 3339.
var whenLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// parseWhen reads --from or --to in loc; "" is the zero time (no bound).
// A date alone is its midnight, or, for the end of a range (end), the
// last instant of that day, so that --to 2026-12-01 includes that day.
func parseWhen(s string, loc *time.Location, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			return t.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range whenLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want a date such as 2026-12-01, a time such as 2026-12-01T08:00 (in TIMEZONE), or RFC 3339")
}

// dryRunDefaults reads what rules take from the environment when the
// file leaves it out, as the bot does; problems name their variable.
func dryRunDefaults(env func(string) string) (config.RuleDefaults, []string) {
	var problems []string
	d := config.RuleDefaults{Channel: env("ALERT_CHANNEL"), Repeat: defaultDryRepeat, Location: time.UTC}
	if d.Channel == "" {
		d.Channel = defaultChannelStandIn
	}
	if v := env("TIMEZONE"); v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil || v == "Local" {
			problems = append(problems, fmt.Sprintf("TIMEZONE: %q: want an IANA name such as UTC, Europe/Berlin or Asia/Kolkata", v))
		} else {
			d.Location = loc
		}
	}
	for _, v := range []struct {
		name string
		into *time.Duration
	}{{"ALERT_FOR", &d.For}, {"ALERT_REPEAT", &d.Repeat}} {
		s := env(v.name)
		if s == "" {
			continue
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur < 0 {
			problems = append(problems, fmt.Sprintf("%s: %q: want a Go duration such as 30s, 5m or 1h", v.name, s))
			continue
		}
		*v.into = dur
	}
	if s := env("ALERT_ACTIVE_HOURS"); s != "" {
		ah, err := config.ParseActiveHours(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("ALERT_ACTIVE_HOURS: %q: %v", s, err))
		}
		d.ActiveHours = ah.In(d.Location)
	}
	return d, problems
}

// RulesTest runs o.Rules over a simulated day and writes the report to
// out. The day is the simulator's Day mode (ccmsim.Day) on a generated
// floor, served over HTTP on loopback as the demo does, so the engines
// read it through the real client. A fake clock is moved from the shift's
// start over the span: every dryStep the floor moves, and at every poll
// the real engines run on an in-memory store, posting to a recorder in
// place of Slack. Nothing waits on the wall clock.
//
// With o.Replay, it replays the recorded history instead (see replay).
func RulesTest(ctx context.Context, o RulesTestOptions, out io.Writer) error {
	if o.Replay != nil {
		return replay(ctx, o, out)
	}
	if o.Span <= 0 {
		o.Span = defaultDrySpan
	}
	if o.Poll <= 0 {
		o.Poll = defaultDryPoll
	}
	if o.Agents <= 0 {
		o.Agents = defaultDryAgents
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := dryShiftStart(o.Location)
	clk := &dryClock{t: start}

	teams := dryTeams(o.Rules)
	sim := ccmsim.New(ccmsim.Options{Now: clk.Now, Seed: o.Seed, Day: &ccmsim.Day{Start: start}})
	sim.Add(offDuty(ccmsim.GenerateRoster(o.Agents, teams, start, o.Seed), start)...)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := presence.NewClient(sim.AccountSID(), sim.Token(),
		presence.WithBaseURL("http://"+ln.Addr().String()),
		presence.WithHTTPClient(&http.Client{Transport: tr}),
		presence.WithLogger(log.With("component", "contact-center")))
	// One roster read per poll, shared by the engines, on the sim clock.
	roster := presence.NewSnapshots(client, time.Second, clk.Now)

	runs, err := newDryRules(o, client, roster, clk, log)
	if err != nil {
		return err
	}
	end := start.Add(o.Span)
	// The floor moves every dryStep and the rules run every o.Poll, on
	// two timelines; a move due at a poll's instant is made before it.
	// The floor starts before the rules do, as agents log in during the
	// minutes before the shift: the first poll sees a floor at work, not
	// everyone logging in at once.
	nextStep, nextPoll := start.Add(-ccmsim.LoginEarly), start
	for !nextPoll.After(end) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !nextStep.After(nextPoll) {
			clk.Set(nextStep)
			sim.Step()
			nextStep = nextStep.Add(dryStep)
			continue
		}
		now := nextPoll
		clk.Set(now)
		// One roster read per poll, which every engine then finds fresh,
		// as the bot's engines share theirs.
		if _, err := roster.Get(ctx); err != nil {
			return fmt.Errorf("read the simulated floor at %s: %w", now.Format("15:04"), err)
		}
		for _, r := range runs {
			if err := r.poll(ctx, now); err != nil {
				return fmt.Errorf("rule %s at %s: %w", r.rule.Name, now.Format("15:04"), err)
			}
			r.observe(ctx, now)
		}
		nextPoll = nextPoll.Add(o.Poll)
	}
	writeDryReport(out, o, teams, start, end, runs)
	return nil
}

// simulatedSpan is what the simulated run's sections report over.
func simulatedSpan(o RulesTestOptions, end time.Time) reportSpan {
	return reportSpan{end: end, span: o.Span, loc: o.Location, of: "of this simulated day", like: "a day like it"}
}

// notReplayable is why a replay does not run a time-in-status rule.
const notReplayable = "not replayed: history keeps how many agents of each team were in each status, " +
	"not since when each agent was in it, so time in status cannot be replayed from it; " +
	"leave out --history to try this rule on a simulated day"

// gapAfter is the least time between two samples that the replay reports
// as a gap (the bot not running, or its store down): three samples'
// worth at the coarsest step history keeps, or at ALERT_INTERVAL.
func gapAfter(poll time.Duration) time.Duration {
	return max(3*history.CoarseStep, 3*poll)
}

// replaySample is one recorded tick: each team's counts ("" = the floor).
type replaySample struct {
	at     time.Time
	counts map[string]history.Counts
}

// replay replays o.Rules over the history recorded in o.Replay.Store
// between From and To: each sample is one poll at its recorded time, of
// the real alerts.Alerter on an in-memory store, posting to a recorder.
// The Alerter reads the sample through its own list path (countLister):
// that path uses only what the API counts (a page's total and summary),
// which is what history keeps, so the engine decides exactly as the bot
// would have on those counts. Time-in-status rules need each agent's
// time in status, which history does not keep: the report says so.
func replay(ctx context.Context, o RulesTestOptions, out io.Writer) error {
	rp := o.Replay
	if o.Poll <= 0 {
		o.Poll = defaultDryPoll
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rec := history.New(rp.Store, history.Options{}, log)
	teams := replayTeams(o.Rules)
	samples, err := readSamples(ctx, rec, teams, rp.From, rp.To)
	if errors.Is(err, redisstate.ErrUnavailable) {
		return fmt.Errorf("read the history from %s: %w (is Redis up, and reachable from here? presence-bot check diagnoses REDIS_URL)", rp.Where, err)
	}
	if err != nil {
		return fmt.Errorf("read the history from %s: %w", rp.Where, err)
	}
	if len(samples) == 0 {
		e := &NoHistoryError{Where: rp.Where, Location: o.Location}
		if !rp.From.IsZero() || !rp.To.IsZero() {
			// Is there any, outside the bounds asked?
			all, err := readSamples(ctx, rec, []string{""}, time.Time{}, time.Time{})
			if err != nil {
				return fmt.Errorf("read the history from %s: %w", rp.Where, err)
			}
			if len(all) > 0 {
				e.From, e.To, e.First, e.Last = rp.From, rp.To, all[0].at, all[len(all)-1].at
			}
		}
		return e
	}

	clk := &dryClock{t: samples[0].at}
	api := &countLister{}
	runs, err := newDryRules(o, api, nil, clk, log)
	if err != nil {
		return err
	}
	for _, s := range samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		clk.Set(s.at)
		api.set(s.counts)
		for _, r := range runs {
			if r.poll == nil {
				continue
			}
			if err := r.poll(ctx, s.at); err != nil {
				return fmt.Errorf("rule %s at %s: %w", r.rule.Name, replayStamp(s.at, o.Location), err)
			}
			r.observe(ctx, s.at)
		}
	}
	first, last := samples[0].at, samples[len(samples)-1].at
	// What the bot's own rules of those names did, to set beside.
	events, err := rec.Alerts(ctx, first, last)
	if err != nil {
		log.Warn("the bot's own alerts could not be read; the report leaves them out", "err", err)
	}
	for _, r := range runs {
		r.recorded = firedEvents(events, r.rule.Name)
		r.hasRecorded = err == nil && r.notReplayed == ""
	}
	rs := reportSpan{end: last, span: last.Sub(first), loc: o.Location,
		of: "of the recorded history", like: "days like these", dated: true}
	if rs.span <= 0 {
		rs.span = o.Poll // one sample stands for one poll
	}
	writeReplayHeader(out, o, samples, seenTeams(samples, teams))
	writeRuleSections(out, runs, rs)
	return nil
}

// replayTeams are the teams the rules need: the floor ("") and every
// team a rule names.
func replayTeams(rules []config.AlertRule) []string {
	ids := []string{""}
	for _, r := range rules {
		for _, id := range r.Teams {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// readSamples reads the history of teams between from and to (zero:
// unbounded) as ticks, oldest first: every time any of them has a
// sample. A team with no sample at a tick had nobody then (history
// keeps only the teams it saw), so its counts are zero.
func readSamples(ctx context.Context, rec *history.Recorder, teams []string, from, to time.Time) ([]replaySample, error) {
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		// Far enough: history keeps at most 31 days.
		to = time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	points, err := rec.Range(ctx, teams, from, to, 0)
	if err != nil {
		return nil, err
	}
	byTime := make(map[int64]*replaySample)
	for id, ps := range points {
		for _, p := range ps {
			s := byTime[p.At.UnixNano()]
			if s == nil {
				s = &replaySample{at: p.At, counts: make(map[string]history.Counts, len(teams))}
				byTime[p.At.UnixNano()] = s
			}
			s.counts[id] = p.Counts
		}
	}
	out := make([]replaySample, 0, len(byTime))
	for _, s := range byTime {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b replaySample) int { return a.at.Compare(b.at) })
	return out, nil
}

// seenTeams reports, for each team the rules name, whether any sample
// has it.
func seenTeams(samples []replaySample, teams []string) map[string]bool {
	seen := make(map[string]bool, len(teams))
	for _, s := range samples {
		for id := range s.counts {
			seen[id] = true
		}
	}
	return seen
}

// countLister answers the Alerter's list requests from one recorded
// sample, as the contact center would have at that tick: the summary
// counts the team's agents (the floor's without a team), the total those
// of the status asked. It lists no agents: history keeps no names, and
// the Alerter only shows them in messages, which the replay does not
// render. Safe for concurrent use (the Alerter lists teams in parallel).
type countLister struct {
	mu     sync.Mutex
	counts map[string]history.Counts
}

func (l *countLister) set(counts map[string]history.Counts) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts = counts
}

// List implements alerts.Lister.
func (l *countLister) List(_ context.Context, opts presence.ListOptions) (*presence.Page, error) {
	l.mu.Lock()
	c := l.counts[opts.TeamID]
	l.mu.Unlock()
	sum := presence.Summary{Total: c.LoggedIn() + c.Offline, Available: c.Available, OnCall: c.OnCall,
		Busy: c.Busy, AfterCallWork: c.AfterCallWork, Offline: c.Offline}
	total := sum.Total
	if opts.Status != "" {
		total = sum.Count(opts.Status)
	}
	return &presence.Page{Summary: sum, Total: total, Limit: opts.Limit, Offset: opts.Offset}, nil
}

// writeReplayHeader says what was replayed: from where, which span, how
// many samples at which step, the gaps, and the teams never seen.
func writeReplayHeader(w io.Writer, o RulesTestOptions, samples []replaySample, seen map[string]bool) {
	rp := o.Replay
	first, last := samples[0].at, samples[len(samples)-1].at
	fmt.Fprintf(w, "Replay of %s: %d rule(s) over the history recorded in %s, %s–%s %s (%s), %s, each replayed as one poll at its recorded time.\n",
		drySources(o), len(o.Rules), rp.Where, replayStamp(first, o.Location), replayStamp(last, o.Location), o.Location,
		compactDuration(last.Sub(first)), plural(len(samples), "samples"))

	// The steps between samples, leaving out gaps.
	var gaps int
	var longest time.Duration
	var longestAt time.Time
	var minStep, maxStep time.Duration
	for i := 1; i < len(samples); i++ {
		d := samples[i].at.Sub(samples[i-1].at)
		if d >= gapAfter(o.Poll) {
			gaps++
			if d > longest {
				longest, longestAt = d, samples[i-1].at
			}
			continue
		}
		if minStep == 0 || d < minStep {
			minStep = d
		}
		maxStep = max(maxStep, d)
	}
	step := compactDuration(minStep)
	if maxStep > minStep {
		step += "–" + compactDuration(maxStep)
	}
	if minStep > 0 {
		fmt.Fprintf(w, "Samples every %s: history keeps the last day at ALERT_INTERVAL (at least 1m) and one sample every %s before it, so dips shorter than that are not seen.\n",
			step, compactDuration(history.CoarseStep))
	}
	if gaps > 0 {
		fmt.Fprintf(w, "History has %s of %s or more with no sample (the bot not running, or its store down), the longest %s from %s; an alert firing when a gap starts fires through it, as the bot's would.\n",
			plural(gaps, "gap"), compactDuration(gapAfter(o.Poll)), compactDuration(longest), replayStamp(longestAt, o.Location))
	}
	var missing []string
	for _, id := range replayTeams(o.Rules) {
		if id != "" && !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "Never recorded: %s (no sample has an agent of theirs; check the team IDs): they count as nobody logged in.\n",
			strings.Join(missing, ", "))
	}
	fmt.Fprintln(w, "Alerts are decided by the bot's alert engine on each sample's counts. Nothing is sent to Slack.")
}

// firedEvents are the fires of rule among events.
func firedEvents(events []history.AlertEvent, rule string) []history.AlertEvent {
	var out []history.AlertEvent
	for _, e := range events {
		if e.Rule == rule && e.Kind == history.KindFired {
			out = append(out, e)
		}
	}
	return out
}

// maxRecordedShown bounds the bot's own fires a section lists.
const maxRecordedShown = 5

// writeRecorded sets beside the replay what the bot's own rule of the
// same name did in the span (it may have had other settings then).
func writeRecorded(w io.Writer, r *dryRule, rs reportSpan) {
	if len(r.recorded) == 0 {
		fmt.Fprintf(w, "  recorded: the bot's own alerts show no %s firing in this span\n", r.rule.Name)
		return
	}
	var shown []string
	for i, e := range r.recorded {
		if i == maxRecordedShown {
			shown = append(shown, fmt.Sprintf("and %d more", len(r.recorded)-i))
			break
		}
		shown = append(shown, strings.TrimSpace(rs.from(e.At)+" "+e.Level))
	}
	fmt.Fprintf(w, "  recorded: the bot's own %s fired %s in this span (%s)\n",
		r.rule.Name, plural(len(r.recorded), "times"), strings.Join(shown, ", "))
}

// writeNotReplayed is the section of a rule the replay did not run.
func writeNotReplayed(w io.Writer, r *dryRule) {
	rule := r.rule
	fmt.Fprintf(w, "%s — status_longer_than %s %s, escalate after %s (%s)\n",
		rule.Name, rule.Status, compactDuration(rule.After), compactDuration(rule.EscalateAfter), scope(rule))
	fmt.Fprintf(w, "  %s.\n", r.notReplayed)
}

// openHistoryStore opens the store the bot keeps its history in, as app
// does: Redis with REDIS_URL, else the files of STATE_DIR. It creates
// nothing: a STATE_DIR that does not exist holds no history
// (NoHistoryError). where names the store without secrets; close
// releases it. A bad REDIS_URL or REDIS_TIMEOUT is a usage error.
func openHistoryStore(ctx context.Context, env func(string) string) (store state.Store, where string, closeStore func(), err error) {
	if raw := env("REDIS_URL"); raw != "" {
		target, err := redisurl.Parse(raw)
		if err != nil {
			if shown := redisurl.Redact(raw); shown != "" {
				return nil, "", nil, fmt.Errorf("REDIS_URL: %q: %w", shown, err)
			}
			return nil, "", nil, fmt.Errorf("REDIS_URL: %w (value not shown: it may hold a password)", err)
		}
		timeout := historyRedisTimeout
		if v := env("REDIS_TIMEOUT"); v != "" {
			timeout, _ = time.ParseDuration(v) // checked by RulesTestMain
		}
		where := "Redis at " + target.String()
		rc, err := redisstate.Open(ctx, redisstate.Options{URL: raw, Timeout: timeout})
		if err != nil {
			return nil, "", nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		return rc.Store(), where, func() { _ = rc.Close() }, nil
	}
	dir := cmp.Or(env("STATE_DIR"), defaultStateDir)
	where = "STATE_DIR " + dir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", nil, &NoHistoryError{Where: where, Missing: "no such directory"}
	case err != nil:
		return nil, "", nil, fmt.Errorf("STATE_DIR: %w", err)
	case !fi.IsDir():
		return nil, "", nil, fmt.Errorf("STATE_DIR: %s is not a directory", dir)
	}
	fstore, err := state.NewFileStore(dir)
	if err != nil {
		return nil, "", nil, fmt.Errorf("STATE_DIR: %w", err)
	}
	return fstore, where, func() {}, nil
}

// historyRedisTimeout bounds each Redis read of the replay when
// REDIS_TIMEOUT is unset: more than the bot's 200ms, since a replay may
// run from an operator's machine far from Redis, and waits on nobody.
const historyRedisTimeout = 2 * time.Second

// defaultStateDir is STATE_DIR's default, as config has it.
const defaultStateDir = "./data"

// dryClock is the simulated time, shared by the simulator, the snapshot
// cache and the recorder.
type dryClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dryClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dryClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// dryTeams are the teams the rules name, so every team rule has agents;
// the simulator's teams when none does.
func dryTeams(rules []config.AlertRule) []presence.Team {
	var ids []string
	for _, r := range rules {
		for _, id := range r.Teams {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return ccmsim.DefaultTeams()
	}
	slices.Sort(ids)
	teams := make([]presence.Team, len(ids))
	for i, id := range ids {
		teams[i] = presence.Team{ID: id, Name: id}
	}
	return teams
}

// offDuty sets every agent offline since the evening before: the day
// begins with everyone logging in.
func offDuty(agents []presence.Agent, start time.Time) []presence.Agent {
	for i := range agents {
		agents[i].Status = presence.Offline
		agents[i].StatusSince = start.Add(-14 * time.Hour)
		agents[i].CurrentCall = nil
	}
	return agents
}

// dryUser is the made-up Slack user an agent counts as mapped to, so that
// time-in-status rules DM the agent as they would a mapped one.
func dryUser(agentID string) string {
	var b strings.Builder
	b.WriteString("USIM")
	for _, r := range strings.ToUpper(agentID) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// dryDirectory maps every agent to its made-up Slack user.
type dryDirectory struct{}

func (dryDirectory) SlackUser(agentID string) (string, bool) { return dryUser(agentID), true }

// newDryRules builds the real engine for each rule, alone on its own
// in-memory store and recorder, so that every post, edit and DM is the
// rule's own: an alerts.Alerter for an availability rule, a nudge.Nudger
// for a time-in-status rule. The engines read api, and roster when it is
// not nil. A replay (o.Replay) has no agents to time: its time-in-status
// rules get no engine, only the reason why (dryRule.notReplayed).
func newDryRules(o RulesTestOptions, api alerts.Lister, roster presence.Reader, clk *dryClock, log *slog.Logger) ([]*dryRule, error) {
	runs := make([]*dryRule, 0, len(o.Rules))
	for _, rule := range o.Rules {
		r := &dryRule{rule: rule, rec: newRecorder(clk.Now)}
		store := state.NewMemoryStore()
		var active func(time.Time) bool
		if !rule.ActiveHours.Always() {
			active = rule.ActiveHours.Contains
		}
		rlog := log.With("rule", rule.Name)
		switch rule.Kind {
		case config.AvailableBelow:
			ar := alerts.AvailabilityRule{
				Name: rule.Name, Teams: rule.Teams, Warning: rule.Warning, ResolveAt: rule.ResolveAt,
				For: rule.For, Repeat: rule.Repeat, Active: active, Channel: rule.Channel, Mention: rule.Mention,
			}
			if rule.HasCritical {
				ar.Critical = rule.Critical
			}
			a := alerts.NewAlerter(api, r.rec, store, alerts.Settings{
				Channel: rule.Channel, Rules: []alerts.AvailabilityRule{ar}, UnavailableAfter: 3,
				Location: o.Location, Roster: roster,
			}, rlog)
			r.poll = a.Poll
			r.observe = func(ctx context.Context, now time.Time) {
				level := string(a.FiringLevels(ctx)[rule.Name])
				r.trackLevel(level, now)
				// This poll's messages belong to the episode it was in:
				// a recovery to the one it ended.
				posts, edits := r.rec.settle(level)
				if n := len(r.episodes); n > 0 && (r.episodes[n-1].open || r.episodes[n-1].end.Equal(now)) {
					r.episodes[n-1].posts += posts
					r.episodes[n-1].edits += edits
				}
			}
		case config.StatusLongerThan:
			if o.Replay != nil {
				r.notReplayed = notReplayable
				break
			}
			n := nudge.New(r.rec, store, nudge.Settings{
				Rules: []nudge.Rule{{
					Name: rule.Name, Teams: rule.Teams, Status: rule.Status, After: rule.After,
					EscalateAfter: rule.EscalateAfter, Active: active, Channel: rule.Channel, Mention: rule.Mention,
				}},
				Roster: roster, Directory: dryDirectory{}, Location: o.Location,
			}, rlog)
			r.poll = n.Poll
			r.observe = func(ctx context.Context, now time.Time) {
				var st nudge.State
				if _, err := store.Load(ctx, nudge.StateKey, &st); err != nil {
					rlog.Warn("read the nudges' state", "err", err)
					return
				}
				r.trackNudges(st.Episodes[rule.Name], now)
			}
		default:
			return nil, fmt.Errorf("rule %s: unknown kind %q", rule.Name, rule.Kind)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// recorder stands in for Slack for one rule: it records every post, edit
// and DM, at the sim time, and answers as Slack would (a channel and a
// ts), so the engines go on as after a real post. Safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	now func() time.Time
	seq int
	dm  map[string]string // DM channel → Slack user
	// sent is every message, in order; settled how many settle has seen.
	sent    []sentMessage
	settled int
}

// sentKind is what a recorded message was.
type sentKind int

const (
	sentPost sentKind = iota
	sentEdit
	sentDM
	sentDMEdit
)

// sentMessage is one recorded message: what it was, where, and when on
// the sim clock. level is the rule's level once the poll that sent it was
// over ("" when not firing), for an availability rule.
type sentMessage struct {
	kind    sentKind
	at      time.Time
	channel string
	user    string // a DM's user
	level   string
}

func newRecorder(now func() time.Time) *recorder {
	return &recorder{now: now, dm: make(map[string]string)}
}

// record keeps one message and returns its Slack-like ts; the caller
// holds r.mu.
func (r *recorder) record(m sentMessage) string {
	r.seq++
	m.at = r.now()
	r.sent = append(r.sent, m)
	return fmt.Sprintf("%d.%06d", m.at.Unix(), r.seq)
}

// Post implements alerts.Poster: a channel post (an alert, a recovery, an
// escalation).
func (r *recorder) Post(_ context.Context, channel string, _ message.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.record(sentMessage{kind: sentPost, channel: channel}), nil
}

// Reply implements alerts.Replier: a reply in an alert's thread, which is
// a post like any other (chat.postMessage with thread_ts).
func (r *recorder) Reply(_ context.Context, channel, _ string, _ message.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.record(sentMessage{kind: sentPost, channel: channel}), nil
}

// Update implements alerts.Poster: an edit, of a channel post or a DM.
func (r *recorder) Update(_ context.Context, channel, _ string, _ message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := sentMessage{kind: sentEdit, channel: channel}
	if u, ok := r.dm[channel]; ok {
		m.kind, m.user = sentDMEdit, u
	}
	r.record(m)
	return nil
}

// DM implements the nudger's Messenger: a message in the user's IM.
func (r *recorder) DM(_ context.Context, user string, _ message.Message) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	channel := "D" + user
	r.dm[channel] = user
	return channel, r.record(sentMessage{kind: sentDM, channel: channel, user: user}), nil
}

// settle tags the messages recorded since the last call with level and
// returns how many posts and edits they were.
func (r *recorder) settle(level string) (posts, edits int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := r.settled; i < len(r.sent); i++ {
		r.sent[i].level = level
		switch r.sent[i].kind {
		case sentPost:
			posts++
		case sentEdit:
			edits++
		}
	}
	r.settled = len(r.sent)
	return posts, edits
}

// count is how many messages of kind were recorded.
func (r *recorder) count(kind sentKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sent {
		if s.kind == kind {
			n++
		}
	}
	return n
}

// dryEpisode is one episode of a rule in the dry run: an availability
// alert from firing to resolved, or one agent's stretch from nudge to
// moving on.
type dryEpisode struct {
	start, end time.Time
	open       bool // still going at the end of the run
	// levels are an availability alert's levels, in order, each change
	// once.
	levels []string
	// posts and edits are an availability alert's messages.
	posts, edits int
	// agent and name are a time-in-status episode's agent; escalated when
	// the channel was told (zero when not).
	agent, name string
	since       time.Time // the agent's status_since, naming the stretch
	escalated   time.Time
}

// length is how long the episode lasted, up to end for an open one.
func (e dryEpisode) length(end time.Time) time.Duration {
	if e.open {
		return end.Sub(e.start)
	}
	return e.end.Sub(e.start)
}

// dryRule is one rule under the dry run: how to poll it, how to read what
// it did, and what it did.
type dryRule struct {
	rule     config.AlertRule
	rec      *recorder
	poll     func(ctx context.Context, now time.Time) error
	observe  func(ctx context.Context, now time.Time)
	episodes []dryEpisode
	// openByAgent indexes a time-in-status rule's open episodes.
	openByAgent map[string]int
	// notReplayed, when set, says why a replay does not run the rule (poll
	// and observe are nil then).
	notReplayed string
	// recorded are the fires of the bot's own rule of this name in the
	// replayed span, from the history, when hasRecorded.
	recorded    []history.AlertEvent
	hasRecorded bool
}

// trackLevel follows an availability rule's level over the polls: ""
// is not firing.
func (r *dryRule) trackLevel(level string, now time.Time) {
	var cur *dryEpisode
	if n := len(r.episodes); n > 0 && r.episodes[n-1].open {
		cur = &r.episodes[n-1]
	}
	switch {
	case level == "" && cur != nil:
		cur.open, cur.end = false, now
	case level == "":
	case cur == nil:
		r.episodes = append(r.episodes, dryEpisode{start: now, open: true, levels: []string{level}})
	case cur.levels[len(cur.levels)-1] != level:
		cur.levels = append(cur.levels, level)
	}
}

// trackNudges follows a time-in-status rule's open episodes over the
// polls: an episode begins when its agent is nudged (or, unmapped,
// escalated) and ends when it leaves the state.
func (r *dryRule) trackNudges(open map[string]nudge.Episode, now time.Time) {
	if r.openByAgent == nil {
		r.openByAgent = make(map[string]int)
	}
	for agent, i := range r.openByAgent {
		e := &r.episodes[i]
		ep, ok := open[agent]
		if ok && ep.Since.Equal(e.since) {
			if e.escalated.IsZero() && !ep.EscalatedAt.IsZero() {
				e.escalated = ep.EscalatedAt
			}
			continue
		}
		e.open, e.end = false, now
		delete(r.openByAgent, agent)
	}
	// Agents in ID order, so the episodes of one poll are listed alike
	// on every run.
	agents := make([]string, 0, len(open))
	for agent := range open {
		agents = append(agents, agent)
	}
	slices.Sort(agents)
	for _, agent := range agents {
		ep := open[agent]
		if _, ok := r.openByAgent[agent]; ok || ep.Closed || (ep.NudgedAt.IsZero() && ep.EscalatedAt.IsZero()) {
			continue
		}
		start := ep.NudgedAt
		if start.IsZero() {
			start = ep.EscalatedAt
		}
		r.openByAgent[agent] = len(r.episodes)
		r.episodes = append(r.episodes, dryEpisode{start: start, open: true, agent: agent, name: ep.Name,
			since: ep.Since, escalated: ep.EscalatedAt})
	}
}

// writeDryReport prints the header, then each rule's episodes, totals and
// verdict.
func writeDryReport(w io.Writer, o RulesTestOptions, teams []presence.Team, start, end time.Time, runs []*dryRule) {
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	zone := o.Location.String()
	fmt.Fprintf(w, "Dry run of %s: %d rule(s) over %s of a simulated Monday, %s–%s %s, polled every %s.\n",
		drySources(o), len(o.Rules), compactDuration(o.Span), start.Format("15:04"), end.Format("15:04"), zone, compactDuration(o.Poll))
	fmt.Fprintf(w, "Floor: %d simulated agents in %s (seed %d). The shift runs %s–%s; each agent takes two breaks of %s–%s and a lunch of %s–%s (busy), and %d%% of them linger %s–%s in after-call work after about one call in %d.\n",
		o.Agents, strings.Join(ids, ", "), o.Seed, start.Format("15:04"), start.Add(ccmsim.DefaultShift).Format("15:04"),
		compactDuration(ccmsim.MinBreak), compactDuration(ccmsim.MaxBreak), compactDuration(ccmsim.MinLunch), compactDuration(ccmsim.MaxLunch),
		int(math.Round(ccmsim.DefaultLingerers*100)), compactDuration(ccmsim.MinLinger), compactDuration(ccmsim.MaxLinger),
		int(math.Round(1/ccmsim.LingerOdds)))
	fmt.Fprintln(w, "Every simulated agent counts as mapped to a made-up Slack user, so time-in-status rules DM the agent first. Nothing is sent to Slack.")
	fmt.Fprintln(w, "Availability depends on the floor's size: use --agents to match yours.")
	writeRuleSections(w, runs, simulatedSpan(o, end))
}

// writeRuleSections prints each rule's section, after a blank line.
func writeRuleSections(w io.Writer, runs []*dryRule, rs reportSpan) {
	for _, r := range runs {
		fmt.Fprintln(w)
		switch {
		case r.notReplayed != "":
			writeNotReplayed(w, r)
		case r.rule.Kind == config.StatusLongerThan:
			writeNudgeRule(w, r, rs)
		default:
			writeAvailabilityRule(w, r, rs)
		}
	}
}

// reportSpan is what a rule's section reports over: a simulated day
// (clock times) or recorded history (dated, when it spans days).
type reportSpan struct {
	end  time.Time
	span time.Duration
	loc  *time.Location
	// of and like name it in verdicts: "never fires in 8h of this
	// simulated day: quiet on a day like it".
	of, like string
	// dated: episodes show their day, as replayed history does.
	dated bool
}

// from is an episode's start: "09:12", or "Mon 02 Mar 09:12" dated.
func (rs reportSpan) from(t time.Time) string {
	if rs.dated {
		return replayStamp(t, rs.loc)
	}
	return t.In(rs.loc).Format("15:04")
}

// until is an episode's end: its clock time, and its day too when that
// is not its start's.
func (rs reportSpan) until(start, end time.Time) string {
	s, e := start.In(rs.loc), end.In(rs.loc)
	if rs.dated && (s.YearDay() != e.YearDay() || s.Year() != e.Year()) {
		return replayStamp(end, rs.loc)
	}
	return e.Format("15:04")
}

// replayStamp is a recorded time as the replay shows it: "Mon 02 Mar
// 09:12" in loc (history is kept at most 31 days: no year needed).
func replayStamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 02 Jan 15:04")
}

// drySources names where the rules come from: the file, then the
// variables that made rules ("alerts.yml, ALERT_THRESHOLD and
// ALERT_TEAM_THRESHOLDS").
func drySources(o RulesTestOptions) string {
	var names []string
	if o.File != "" {
		names = append(names, o.File)
	}
	for _, r := range o.Rules {
		if r.Line == 0 && r.Source != "" && r.Source != o.File && !slices.Contains(names, r.Source) {
			names = append(names, r.Source)
		}
	}
	switch len(names) {
	case 0:
		return "the rules"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// scope names the agents a rule watches.
func scope(r config.AlertRule) string {
	if len(r.Teams) == 0 {
		return "all agents"
	}
	return strings.Join(r.Teams, ", ")
}

func writeAvailabilityRule(w io.Writer, r *dryRule, rs reportSpan) {
	end := rs.end
	rule := r.rule
	desc := fmt.Sprintf("available_below warning %d", rule.Warning)
	if rule.HasCritical {
		desc += fmt.Sprintf(", critical %d", rule.Critical)
	}
	if rule.ResolveAt > rule.Warning {
		desc += fmt.Sprintf(", resolve at %d", rule.ResolveAt)
	}
	if rule.For > 0 {
		desc += ", for " + compactDuration(rule.For)
	}
	fmt.Fprintf(w, "%s — %s (%s)\n", rule.Name, desc, scope(rule))

	var firing time.Duration
	for i, e := range r.episodes {
		firing += e.length(end)
		if i >= maxEpisodeLines {
			continue
		}
		until := rs.until(e.start, e.end)
		length := compactDuration(e.length(end))
		if e.open {
			until, length = "…    ", length+"+"
		}
		fmt.Fprintf(w, "  %s–%s  %6s  %s  (%s, %s", rs.from(e.start), until, length,
			levelPath(e.levels), plural(e.posts, "posts"), plural(e.edits, "edits"))
		if e.open {
			fmt.Fprintf(w, "; still firing at %s", rs.until(e.start, end))
		}
		fmt.Fprintln(w, ")")
	}
	if n := len(r.episodes) - maxEpisodeLines; n > 0 {
		fmt.Fprintf(w, "  … and %d more\n", n)
	}
	posts, edits := r.rec.count(sentPost), r.rec.count(sentEdit)
	fmt.Fprintf(w, "  totals: %s, %s firing; %s, %s\n",
		plural(len(r.episodes), "episode"), compactDuration(firing), plural(posts, "posts"), plural(edits, "edits"))
	if r.hasRecorded {
		writeRecorded(w, r, rs)
	}

	n, hours := len(r.episodes), rs.span.Hours()
	span := compactDuration(rs.span)
	switch {
	case n == 0:
		fmt.Fprintf(w, "  verdict: never fires in %s %s: quiet on %s.\n", span, rs.of, rs.like)
	case firing > rs.span/2:
		fmt.Fprintf(w, "  verdict: firing for %s of the %s (more than half the time): warning %d is above what this floor usually has available; lower it.\n",
			compactDuration(firing), span, rule.Warning)
	case float64(n)/hours > 1:
		advice := "lower warning or add for (e.g. for: 2m), so short dips do not page"
		if rule.For > 0 {
			advice = "lower warning or lengthen for"
		}
		fmt.Fprintf(w, "  verdict: fires %s in %s (%.1f an hour on average, more than once an hour): probably too sensitive; %s.\n",
			plural(n, "times"), span, float64(n)/hours, advice)
	default:
		fmt.Fprintf(w, "  verdict: fires %s in %s (at most once an hour on average): reasonable.\n", plural(n, "times"), span)
	}
}

func writeNudgeRule(w io.Writer, r *dryRule, rs reportSpan) {
	end := rs.end
	rule := r.rule
	fmt.Fprintf(w, "%s — status_longer_than %s %s, escalate after %s (%s)\n",
		rule.Name, rule.Status, compactDuration(rule.After), compactDuration(rule.EscalateAfter), scope(rule))
	agents := map[string]bool{}
	for i, e := range r.episodes {
		agents[e.agent] = true
		if i >= maxEpisodeLines {
			continue
		}
		until := rs.until(e.start, e.end)
		length := compactDuration(e.length(end))
		if e.open {
			until, length = "…    ", length+"+"
		}
		step := "DM"
		if !e.escalated.IsZero() {
			step += " → escalated " + rs.until(e.start, e.escalated)
		}
		fmt.Fprintf(w, "  %s–%s  %6s  %s  %s (%s)\n", rs.from(e.start), until, length, step, e.name, e.agent)
	}
	if n := len(r.episodes) - maxEpisodeLines; n > 0 {
		fmt.Fprintf(w, "  … and %d more\n", n)
	}
	dms, dmEdits := r.rec.count(sentDM), r.rec.count(sentDMEdit)
	esc, escEdits := r.rec.count(sentPost), r.rec.count(sentEdit)
	fmt.Fprintf(w, "  totals: %s (%s); %s, %s, %s, %s\n",
		plural(len(r.episodes), "episode"), plural(len(agents), "agent"),
		plural(dms, "DMs"), plural(dmEdits, "DM edits"), plural(esc, "escalations"), plural(escEdits, "escalation edits"))

	hours := rs.span.Hours()
	span := compactDuration(rs.span)
	switch {
	case len(r.episodes) == 0:
		fmt.Fprintf(w, "  verdict: never nudges anyone in %s.\n", span)
	case float64(esc)/hours > 1:
		fmt.Fprintf(w, "  verdict: escalates %s in %s (%.1f an hour on average, more than once an hour): probably too noisy for the channel; raise after or escalate_after.\n",
			plural(esc, "times"), span, float64(esc)/hours)
	default:
		fmt.Fprintf(w, "  verdict: escalates %s in %s (at most once an hour on average), after %s to agents: reasonable.\n",
			plural(esc, "times"), span, plural(dms, "DMs"))
	}
}

// maxLevelSteps bounds the levels an episode line lists.
const maxLevelSteps = 5

// levelPath is an episode's levels in order, "warning → critical →
// warning"; an episode that moved more often shows its first and last
// levels and how many moves it made.
func levelPath(levels []string) string {
	if len(levels) <= maxLevelSteps {
		return strings.Join(levels, " → ")
	}
	return fmt.Sprintf("%s → … → %s, %d level changes",
		strings.Join(levels[:maxLevelSteps-2], " → "), levels[len(levels)-1], len(levels)-1)
}

// plural is "1 episode", "3 episodes", "1,204 DMs": what names the
// plural ("episode" gains an s; "DMs" loses it for one).
func plural(n int, what string) string {
	one, many := what, what
	if strings.HasSuffix(what, "s") {
		one = strings.TrimSuffix(what, "s")
	} else {
		many = what + "s"
	}
	if n == 1 {
		return "1 " + one
	}
	return message.Thousands(n) + " " + many
}

// compactDuration is "45s", "12m", "1h05m", "8h", "7d23h55m": a short
// duration with no spaces, for columns. Days only from two days up
// (replays of history), so a day's dry run stays in hours.
func compactDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day {
		days, rest := int(d/day), d%day
		if rest == 0 {
			return strconv.Itoa(days) + "d"
		}
		return strconv.Itoa(days) + "d" + compactDuration(rest)
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return strconv.Itoa(h) + "h"
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
