package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses, as presence-bot's own.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Main is `presence-bot bench`: it parses args (those after "bench"), runs
// the benchmark with this very executable as the bot unless -binary says
// otherwise, and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "presence-bot bench: find this executable (use -binary):", err)
			return exitFailed
		}
		o.Binary = exe
	}
	if err := Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "presence-bot bench:", err)
		return exitFailed
	}
	return exitOK
}

// parseFlags reads the bench flags. Usage problems are written to stderr
// by the flag package and returned.
func parseFlags(args []string, stderr io.Writer) (Options, error) {
	var (
		o         Options
		scenarios string
	)
	fs := flag.NewFlagSet("presence-bot bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: presence-bot bench [flags]\n\n"+
			"Runs the bot as a child process against an in-process fake Slack and contact-center\n"+
			"simulator (%d agents) and prints latencies, cost per command, peak RSS and whether the performance targets are met.\n\n", rosterSize)
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.Short, "short", false, "CI mode: a "+steadyShort.String()+" steady load instead of "+steadyFull.String())
	fs.IntVar(&o.Runs, "runs", 0, "runs of each scenario, reported as medians (default 3, or 1 with -short)")
	fs.StringVar(&o.Binary, "binary", "", "presence-bot binary to run as the bot (default: this executable)")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios or prefixes, of "+strings.Join(scenarioNames(), ", ")+" (default: all but the redis- ones and "+fleetName+", which need redis-server on PATH)")
	fs.DurationVar(&o.SteadyFor, "steady", 0, "length of the steady load (overrides -short)")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, "presence-bot bench:", err)
		fs.Usage()
		return Options{}, err
	}
	if o.Runs < 0 || o.SteadyFor < 0 {
		err := errors.New("-runs and -steady must not be negative")
		fmt.Fprintln(stderr, "presence-bot bench:", err)
		return Options{}, err
	}
	if o.Runs == 0 {
		o.Runs = 3
		if o.Short {
			o.Runs = 1
		}
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Scenarios = append(o.Scenarios, s)
		}
	}
	return o, nil
}
