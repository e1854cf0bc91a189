// Package bench is presence-bot's end-to-end performance benchmark. The
// fake Slack and the contact-center simulator run in this process;
// the bot runs as a child process from a built binary, so the memory it
// reports (/proc/<pid>/status VmHWM) is the bot's alone. Every command
// goes the whole way: a Socket Mode envelope, the bot's ack, the contact
// center over HTTP, the answer through response_url.
//
// Run prints acknowledgement and answer latencies, contact-center requests,
// allocations and CPU per command and the bot's peak RSS, as medians of
// several runs, and says for each performance target whether it is met.
// Targets are reported, never asserted: timings belong to the machine.
package bench

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The workload the targets are set for: a shift start on a large floor.
const (
	rosterSize    = 5000 // agents in the contact center
	mappedAgents  = 500  // agents mapped to Slack users, each sending one /status in the burst
	supervisors   = 20   // Slack users allowed /presence without being agents
	burstPresence = 200  // /presence commands in the burst
	burstWindow   = time.Second
	steadyRate    = 50 // commands per second
	steadyFull    = 30 * time.Second
	steadyShort   = 5 * time.Second
	seed          = 8 // fixed: rosters and orders are the same every run
)

// apiLatencies are the simulator's answer delays: instant, and a realistic
// API.
var apiLatencies = []time.Duration{0, 100 * time.Millisecond}

// Options configure Run.
type Options struct {
	// Binary is the presence-bot executable run as the bot under test.
	Binary string
	// Short is CI's mode: the steady load lasts 5 s instead of 30 s.
	Short bool
	// Runs repeats each scenario, each time with a fresh bot and fresh
	// fakes; the tables show medians. Zero or less means one run.
	Runs int
	// Scenarios selects what runs, by name or by prefix ("render",
	// "burst", "steady-100ms"); empty runs everything but the redis- ones
	// and fleet-20k, which need redis-server.
	Scenarios []string
	// SteadyFor overrides the length of the steady load.
	SteadyFor time.Duration
	// fleet scales the fleet scenario down, for its test; the zero
	// value is the full scenario.
	fleet fleetSetup
}

// scenarioKind is the shape of a load.
type scenarioKind int

const (
	burstLoad  scenarioKind = iota // the shift-start burst
	steadyLoad                     // 50 commands/s
)

// scenario is one load against one API latency.
type scenario struct {
	name    string
	kind    scenarioKind
	latency time.Duration
	// asks are the load's /presence words.
	asks presenceAsks
	// history starts the bot with historyHours of history in its
	// STATE_DIR, for /presence trend to draw.
	history bool
	// redis runs the bot with REDIS_URL, as replicas run: shared
	// deduplication and the command journal on a local redis-server.
	redis bool
}

// redisPrefix names the scenarios with Redis. They run only when asked
// for by name ("-scenarios redis"): they need redis-server on PATH.
const redisPrefix = "redis-"

// renderName selects the in-process rendering measurement.
const renderName = "render"

// loads are the single-bot loads, each run at every API latency: the
// shift-start burst and the steady load asking for the overview, and the
// burst again asking for the native table and for the trend.
var loads = []struct {
	name    string
	kind    scenarioKind
	asks    presenceAsks
	history bool
}{
	{"burst", burstLoad, overviewAsks, false},
	{"steady", steadyLoad, overviewAsks, false},
	{"table", burstLoad, tableAsks, false},
	{"trend", burstLoad, trendAsks, true},
}

func allScenarios() []scenario {
	var out []scenario
	for _, l := range loads {
		for _, lat := range apiLatencies {
			out = append(out, scenario{name: fmt.Sprintf("%s-%dms", l.name, lat.Milliseconds()),
				kind: l.kind, latency: lat, asks: l.asks, history: l.history})
		}
	}
	return out
}

// redisScenarios are the overview's scenarios again, with Redis: what
// Redis changes is the command's path, which the table and the trend
// share with the overview (and the seeded history lies in STATE_DIR).
func redisScenarios() []scenario {
	var out []scenario
	for _, sc := range allScenarios() {
		if sc.asks != overviewAsks || sc.history {
			continue
		}
		sc.name, sc.redis = redisPrefix+sc.name, true
		out = append(out, sc)
	}
	return out
}

// selected reports whether name is chosen by the filter (empty: all).
func selected(filter []string, name string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f = strings.TrimSpace(f); f != "" && strings.HasPrefix(name, f) {
			return true
		}
	}
	return false
}

// steadyFor is how long the steady load lasts.
func (o Options) steadyFor() time.Duration {
	switch {
	case o.SteadyFor > 0:
		return o.SteadyFor
	case o.Short:
		return steadyShort
	}
	return steadyFull
}

// Run runs the benchmark and writes its report to out. It fails only when
// the benchmark itself cannot run (the binary does not start, the bot
// exits badly, nothing matches the filter); a target not met is reported,
// not returned.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.Binary == "" {
		return errors.New("bench: no presence-bot binary to run")
	}
	// The bot runs in a directory of its own, where a relative path
	// would name nothing.
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return fmt.Errorf("bench: presence-bot binary: %w", err)
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("bench: presence-bot binary: %w", err)
	}
	o.Binary = bin
	runs := max(o.Runs, 1)
	doRender := selected(o.Scenarios, renderName)
	var plan []scenario
	for _, sc := range allScenarios() {
		if selected(o.Scenarios, sc.name) {
			plan = append(plan, sc)
		}
	}
	for _, sc := range redisScenarios() {
		if len(o.Scenarios) > 0 && selected(o.Scenarios, sc.name) {
			plan = append(plan, sc)
		}
	}
	doFleet := len(o.Scenarios) > 0 && selected(o.Scenarios, fleetName)
	if !doRender && len(plan) == 0 && !doFleet {
		return fmt.Errorf("bench: no scenario matches %q (have %s)", o.Scenarios, strings.Join(scenarioNames(), ", "))
	}

	rep := report{runs: runs}
	writeHeader(out, o, runs, doRender || len(plan) > 0)
	if doRender {
		// First, while the machine is quiet: it measures CPU, not I/O.
		figs, err := measureRender(ctx)
		if err != nil {
			return err
		}
		rep.render = figs
		rep.renderDone = true
	}
	for _, sc := range plan {
		var results []figures
		for i := range runs {
			f, err := runScenario(ctx, o.Binary, sc, o.steadyFor())
			if err != nil {
				return fmt.Errorf("bench: %s, run %d: %w", sc.name, i+1, err)
			}
			fmt.Fprintf(out, "  %-13s run %d/%d: %s\n", sc.name, i+1, runs, f.oneLine())
			results = append(results, f)
		}
		rep.add(sc, results)
	}
	if doFleet {
		setup := o.fleetSetup()
		var results []fleetFigures
		for i := range runs {
			f, err := runFleet(ctx, o.Binary, setup)
			if err != nil {
				return fmt.Errorf("bench: %s, run %d: %w", fleetName, i+1, err)
			}
			fmt.Fprintf(out, "  %-13s run %d/%d: %s\n", fleetName, i+1, runs, f.oneLine())
			results = append(results, f)
		}
		rep.fleet = &fleetRow{setup: setup, med: medianFleet(results)}
	}
	rep.write(out)
	return nil
}

// writeHeader names the machine and the setup, so figures are never quoted
// without them.
// The world of the single-bot scenarios is named only when one runs; the
// fleet's has its own heading.
func writeHeader(out io.Writer, o Options, runs int, single bool) {
	if single {
		fmt.Fprintf(out, "presence-bot benchmark: %d agents (%d mapped, %d supervisors), %d runs per scenario, steady load %s\n",
			rosterSize, mappedAgents, supervisors, runs, o.steadyFor())
	} else {
		fmt.Fprintf(out, "presence-bot benchmark: %d runs per scenario\n", runs)
	}
	botGo := "unknown Go"
	if info, err := buildinfo.ReadFile(o.Binary); err == nil {
		botGo = info.GoVersion
	}
	fmt.Fprintf(out, "machine: %d CPUs (GOMAXPROCS %d), %s/%s; bench %s, bot %s built with %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), o.Binary, botGo)
}

// scenarioNames lists the names Options.Scenarios can select, for usage.
func scenarioNames() []string {
	names := []string{renderName}
	for _, sc := range append(allScenarios(), redisScenarios()...) {
		names = append(names, sc.name)
	}
	return append(names, fleetName)
}
