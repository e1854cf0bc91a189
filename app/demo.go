package app

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/presencebot/presence-bot/agentmap"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/console"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// Demo-friendly schedules: a summary every minute, alerts checked every
// 10 s against a threshold the live floor crosses now and then.
const (
	demoSummaryEvery = time.Minute
	demoAlertEvery   = 10 * time.Second
	demoAlertChannel = "alerts"
	// The daily report goes to #reports when asked for (the report
	// command); the history behind it and the summary's chart is sampled
	// every minute.
	demoReportChannel = "reports"
	demoHistoryEvery  = time.Minute
)

// demoRules are the demo's alert rules, in the rules file's format: they
// show levels, a ping, a nudge and an escalation in the first minutes.
//
//go:embed demo_alerts.yml
var demoRules []byte

// demoCommands lets the console be built before the handler it drives.
// Its report posts the day's report now (the console's report command).
type demoCommands struct {
	*commands.Handler
	report func(ctx context.Context) error
}

// Report posts the day's report (console.Reports).
func (d *demoCommands) Report(ctx context.Context) error { return d.report(ctx) }

// DemoOptions tune the demo; the zero value is the README's demo.
type DemoOptions struct {
	// Interactive prints prompts (a terminal); otherwise commands are
	// echoed, so piped input reads as a transcript.
	Interactive bool
	// Still stops agents from taking calls on their own and the scheduled
	// posts, for tests that need the floor and the transcript to hold still.
	Still bool
	// Clock, when set, is the demo's clock (the simulator's, the
	// roster's and the scheduler's), and the scheduled jobs run on it even
	// when Still: a test moves it to see the alerts, nudges and
	// escalations a demo shows in its first minutes. nil: the real clock.
	Clock clockwork.Clock
	// Location is the zone of clock times in messages; nil is UTC.
	Location *time.Location
}

// demoUsers are the console's Slack users; the first is who you start as.
var demoUsers = []console.User{
	{ID: "U0DEMOJOHN", Name: "John Agent", AgentID: "agent_001"},
	{ID: "U0DEMOJANE", Name: "Jane Support", AgentID: "agent_002"},
	{ID: "U0DEMOPRIYA", Name: "Priya Sharma", AgentID: "agent_003"},
	{ID: "U0DEMOROHAN", Name: "Rohan Mehta", AgentID: "agent_004"},
	{ID: "U0DEMOSAM", Name: "Sam Supervisor", Supervisor: true},
	{ID: "U0DEMOALEX", Name: "Alex Visitor"},
}

// demoMapping is the mapping file the demo users would have.
func demoMapping() (*agentmap.Map, error) {
	var b strings.Builder
	b.WriteString("agents:\n")
	for _, u := range demoUsers {
		if u.AgentID != "" {
			fmt.Fprintf(&b, "  %s: %s\n", u.ID, u.AgentID)
		}
	}
	b.WriteString("supervisors:\n")
	for _, u := range demoUsers {
		if u.Supervisor {
			fmt.Fprintf(&b, "  - %s\n", u.ID)
		}
	}
	return agentmap.Parse([]byte(b.String()))
}

// Demo runs the local console on the built-in simulator: no Slack and no
// contact-center account needed. It returns at end of input or when ctx
// ends.
func Demo(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger, o DemoOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	sim := ccmsim.New(ccmsim.Options{Seed: 1, Now: clock.Now})
	sim.Add(ccmsim.DemoRoster(clock.Now())...)
	// The simulator is served over real HTTP on loopback, so the demo
	// exercises the real client just as production does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: start the simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if !o.Still {
		go sim.Run(ctx, 3*time.Second)
	}

	agents, err := demoMapping()
	if err != nil {
		return fmt.Errorf("demo: mapping: %w", err)
	}
	client := presence.NewClient(sim.AccountSID(), sim.Token(),
		presence.WithBaseURL("http://"+ln.Addr().String()),
		presence.WithLogger(log.With("component", "contact-center")))
	roster := presence.NewSnapshots(client, 2*time.Second, clock.Now)
	store := state.NewMemoryStore()
	sched, err := schedule.New(schedule.WithLogger(log.With("component", "scheduler")), schedule.WithClock(clock))
	if err != nil {
		return err
	}
	// The console stands in for Slack's channels and DMs; it is built
	// before the handler it serves, so it reaches it through the bridge.
	bridge := &demoCommands{}
	con := console.New(in, out, bridge, demoUsers, o.Interactive)
	rules, problems := config.ParseRules("demo_alerts.yml", demoRules, config.RuleDefaults{Channel: demoAlertChannel})
	if len(problems) > 0 {
		return fmt.Errorf("demo: its alert rules: %v", problems[0])
	}
	avail, status, watched := engineRules(rules)
	silences := silence.New(store, log.With("component", "silences"))
	// History: what /presence trend, the summaries' charts and the report
	// read; sampled below, and the alerts' events kept as they happen.
	hist := history.New(store, history.Options{Resolution: demoHistoryEvery}, log)
	alerter := alerts.NewAlerter(client, con, store, alerts.Settings{
		Channel:          demoAlertChannel,
		Rules:            avail,
		Watched:          watched,
		Silences:         silences,
		UnavailableAfter: 3,
		Location:         o.Location,
		Roster:           roster,
		OnEvent: func(ctx context.Context, e alerts.Event) {
			err := hist.RecordAlert(ctx, history.AlertEvent{At: e.At, Rule: e.Rule, Teams: e.Teams, Kind: e.Kind, Level: e.Level})
			if err != nil {
				log.Warn("demo: alert event not kept", "err", err)
			}
		},
	}, log)
	dir := commands.NewDirectory(agents, nil, roster, nil)
	nudger := nudge.New(con, store, nudge.Settings{
		Rules: status, Roster: roster, Directory: nudgeDirectory{dir}, Silences: silences, Location: o.Location,
	}, log)
	targets := silenceTargets(rules)
	handler := commands.New(commands.Config{
		API:            client,
		Roster:         roster,
		Directory:      dir,
		Queue:          commands.NewPendingQueue(store, 10*time.Minute),
		Alerts:         alerter,
		Nudges:         nudger,
		Silences:       silences,
		SilenceTargets: func() []string { return targets },
		History:        hist,
		Location:       o.Location,
		Now:            clock.Now,
		Logger:         log.With("component", "commands"),
	})
	bridge.Handler = handler
	// One history sample now, so the first report, summary and trend
	// have a chart, then one a minute.
	sample := func(ctx context.Context, tick time.Time) error {
		snap, err := roster.Get(ctx)
		if err != nil {
			return fmt.Errorf("demo: sample the floor: %w", err)
		}
		return hist.Record(ctx, tick, history.SampleOf(snap))
	}
	if err := sample(ctx, clock.Now()); err != nil {
		log.Warn("demo: no first sample", "err", err)
	}
	reporter := alerts.NewReporter(roster, con, store, alerts.ReportSettings{
		Channel: demoReportChannel, Location: o.Location, History: hist, Rules: avail, Resolution: demoHistoryEvery,
	}, log)
	bridge.report = func(ctx context.Context) error {
		// The sample of now first: the report ends with the floor as it is.
		now := clock.Now()
		if err := sample(ctx, now); err != nil {
			log.Warn("demo: no sample before the report", "err", err)
		}
		return reporter.Run(ctx, now)
	}
	summary := alerts.NewSummarizer(roster, con, store, alerts.SummarySettings{
		Channel: "floor", Location: o.Location, History: hist, Resolution: demoHistoryEvery,
	}, log)
	for _, j := range []struct {
		name  string
		every time.Duration
		run   schedule.JobFunc
	}{
		{"summary", demoSummaryEvery, summary.Run},
		{"alerts", demoAlertEvery, alerter.Poll},
		{"nudges", demoAlertEvery, nudger.Poll},
		{"after_call", 2 * time.Second, handler.AfterCall(client, con).Poll},
		{"history", demoHistoryEvery, sample},
	} {
		if err := sched.AddEvery(j.name, j.every, j.run); err != nil {
			return err
		}
	}
	if !o.Still || o.Clock != nil {
		sched.Start()
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer scancel()
		_ = sched.Shutdown(sctx)
	}()
	err = con.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
