package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/console"
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
	demoThreshold    = 7
)

// demoCommands lets the console be built before the handler it drives.
type demoCommands struct{ *commands.Handler }

// DemoOptions tune the demo; the zero value is the README's demo.
type DemoOptions struct {
	// Interactive prints prompts (a terminal); otherwise commands are
	// echoed, so piped input reads as a transcript.
	Interactive bool
	// Still stops agents from taking calls on their own and the scheduled
	// posts, for tests that need the floor and the transcript to hold still.
	Still bool
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

	sim := ccmsim.New(ccmsim.Options{Seed: 1})
	sim.Add(ccmsim.DemoRoster(time.Now())...)
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
	roster := presence.NewSnapshots(client, 2*time.Second, nil)
	store := state.NewMemoryStore()
	sched, err := schedule.New(schedule.WithLogger(log.With("component", "scheduler")))
	if err != nil {
		return err
	}
	// The console stands in for Slack's channels and DMs; it is built
	// before the handler it serves, so it reaches it through the bridge.
	bridge := &demoCommands{}
	con := console.New(in, out, bridge, demoUsers, o.Interactive)
	alerter := alerts.NewAlerter(client, con, store, alerts.Settings{
		Channel: "alerts",
		Rules: []alerts.AvailabilityRule{
			{Name: alerts.AllRule, Warning: demoThreshold, Repeat: time.Minute},
			{Name: alerts.TeamKey("sales_team"), Teams: []string{"sales_team"}, Warning: 3, Repeat: time.Minute},
		},
		UnavailableAfter: 3,
		Roster:           roster,
	}, log)
	handler := commands.New(commands.Config{
		API:       client,
		Roster:    roster,
		Directory: commands.NewDirectory(agents, nil, roster, nil),
		Queue:     commands.NewPendingQueue(store, 10*time.Minute),
		Alerts:    alerter,
		Logger:    log.With("component", "commands"),
	})
	bridge.Handler = handler
	summary := alerts.NewSummarizer(roster, con, store, alerts.SummarySettings{Channel: "floor"}, log)
	for _, j := range []struct {
		name  string
		every time.Duration
		run   schedule.JobFunc
	}{
		{"summary", demoSummaryEvery, summary.Run},
		{"alerts", demoAlertEvery, alerter.Poll},
		{"after_call", 2 * time.Second, handler.AfterCall(client, con).Poll},
	} {
		if err := sched.AddEvery(j.name, j.every, j.run); err != nil {
			return err
		}
	}
	if !o.Still {
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
