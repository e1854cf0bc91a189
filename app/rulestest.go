package app

import (
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
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
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
}

// RulesTestMain runs `presence-bot rules test [flags]` and returns its
// exit status. It runs the rules the bot would: the rules file's (--file,
// else ALERT_RULES_FILE, else alerts.yml when present), then those of
// ALERT_THRESHOLD and ALERT_TEAM_THRESHOLDS. It reads them, TIMEZONE, and
// the ALERT_* variables that give rules their defaults (ALERT_CHANNEL,
// ALERT_FOR, ALERT_REPEAT, ALERT_ACTIVE_HOURS, ALERT_INTERVAL) through
// lookup, and nothing else: no Slack or contact-center setting is needed.
func RulesTestMain(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	o, file, err := parseDryRunFlags(args, stderr)
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

	if err := RulesTest(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "presence-bot rules test:", err)
		return dryRunFailed
	}
	return dryRunOK
}

// parseDryRunFlags reads the dry run's flags; usage problems are written
// to stderr with the usage, and returned.
func parseDryRunFlags(args []string, stderr io.Writer) (RulesTestOptions, string, error) {
	var (
		o    RulesTestOptions
		file string
		seed int64
	)
	fs := flag.NewFlagSet("presence-bot rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: presence-bot rules test [--file F] [--simulate 8h] [--agents N] [--seed N]\n\n"+
			"Runs the alert rules against a simulated day on the built-in contact-center simulator,\n"+
			"fast-forwarded, and prints per rule when it would have fired, at which level, for how long,\n"+
			"and how many posts, edits, DMs and escalations that is. Nothing is sent to Slack.\n\n"+
			"The rules file is --file, else ALERT_RULES_FILE, else alerts.yml in the working directory.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&file, "file", "", "the rules file (default ALERT_RULES_FILE, else alerts.yml)")
	fs.DurationVar(&o.Span, "simulate", defaultDrySpan, "how much of the simulated day to run, from the shift's start at 08:00")
	fs.IntVar(&o.Agents, "agents", defaultDryAgents, "simulated agents, spread over the teams the rules name; match your floor")
	fs.Int64Var(&seed, "seed", 1, "draws the simulated day: the same seed gives the same day")
	err := fs.Parse(args)
	if err != nil {
		return o, "", err
	}
	usage := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		fmt.Fprintln(stderr, "presence-bot rules test:", err)
		fs.Usage()
		return err
	}
	switch {
	case fs.NArg() > 0:
		return o, "", usage("unexpected argument %q", fs.Arg(0))
	case o.Span <= 0 || o.Span > maxDrySpan:
		return o, "", usage("--simulate %s: want a duration above 0 and at most %s", o.Span, message.Duration(maxDrySpan))
	case o.Agents < 1 || o.Agents > maxDryAgents:
		return o, "", usage("--agents %d: want 1 to %d", o.Agents, maxDryAgents)
	}
	o.Seed = seed
	return o, file, nil
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
func RulesTest(ctx context.Context, o RulesTestOptions, out io.Writer) error {
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
// for a time-in-status rule.
func newDryRules(o RulesTestOptions, client *presence.Client, roster *presence.Snapshots, clk *dryClock, log *slog.Logger) ([]*dryRule, error) {
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
			a := alerts.NewAlerter(client, r.rec, store, alerts.Settings{
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
	for _, r := range runs {
		fmt.Fprintln(w)
		if r.rule.Kind == config.StatusLongerThan {
			writeNudgeRule(w, r, o, end)
		} else {
			writeAvailabilityRule(w, r, o, end)
		}
	}
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

func writeAvailabilityRule(w io.Writer, r *dryRule, o RulesTestOptions, end time.Time) {
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
		until := e.end.In(o.Location).Format("15:04")
		length := compactDuration(e.length(end))
		if e.open {
			until, length = "…    ", length+"+"
		}
		fmt.Fprintf(w, "  %s–%s  %6s  %s  (%s, %s", e.start.In(o.Location).Format("15:04"), until, length,
			levelPath(e.levels), plural(e.posts, "posts"), plural(e.edits, "edits"))
		if e.open {
			fmt.Fprintf(w, "; still firing at %s", end.In(o.Location).Format("15:04"))
		}
		fmt.Fprintln(w, ")")
	}
	if n := len(r.episodes) - maxEpisodeLines; n > 0 {
		fmt.Fprintf(w, "  … and %d more\n", n)
	}
	posts, edits := r.rec.count(sentPost), r.rec.count(sentEdit)
	fmt.Fprintf(w, "  totals: %s, %s firing; %s, %s\n",
		plural(len(r.episodes), "episode"), compactDuration(firing), plural(posts, "posts"), plural(edits, "edits"))

	n, hours := len(r.episodes), o.Span.Hours()
	span := compactDuration(o.Span)
	switch {
	case n == 0:
		fmt.Fprintf(w, "  verdict: never fires in %s of this simulated day: quiet on a day like it.\n", span)
	case firing > o.Span/2:
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

func writeNudgeRule(w io.Writer, r *dryRule, o RulesTestOptions, end time.Time) {
	rule := r.rule
	fmt.Fprintf(w, "%s — status_longer_than %s %s, escalate after %s (%s)\n",
		rule.Name, rule.Status, compactDuration(rule.After), compactDuration(rule.EscalateAfter), scope(rule))
	agents := map[string]bool{}
	for i, e := range r.episodes {
		agents[e.agent] = true
		if i >= maxEpisodeLines {
			continue
		}
		until := e.end.In(o.Location).Format("15:04")
		length := compactDuration(e.length(end))
		if e.open {
			until, length = "…    ", length+"+"
		}
		step := "DM"
		if !e.escalated.IsZero() {
			step += " → escalated " + e.escalated.In(o.Location).Format("15:04")
		}
		fmt.Fprintf(w, "  %s–%s  %6s  %s  %s (%s)\n", e.start.In(o.Location).Format("15:04"), until, length, step, e.name, e.agent)
	}
	if n := len(r.episodes) - maxEpisodeLines; n > 0 {
		fmt.Fprintf(w, "  … and %d more\n", n)
	}
	dms, dmEdits := r.rec.count(sentDM), r.rec.count(sentDMEdit)
	esc, escEdits := r.rec.count(sentPost), r.rec.count(sentEdit)
	fmt.Fprintf(w, "  totals: %s (%s); %s, %s, %s, %s\n",
		plural(len(r.episodes), "episode"), plural(len(agents), "agent"),
		plural(dms, "DMs"), plural(dmEdits, "DM edits"), plural(esc, "escalations"), plural(escEdits, "escalation edits"))

	hours := o.Span.Hours()
	span := compactDuration(o.Span)
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

// compactDuration is "45s", "12m", "1h05m", "8h": a short duration with no
// spaces, for columns.
func compactDuration(d time.Duration) string {
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
