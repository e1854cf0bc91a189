package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// buildBot builds presence-bot from this module into a temp dir.
func buildBot(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build presence-bot with")
	}
	bin := filepath.Join(t.TempDir(), "presence-bot")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/presencebot/presence-bot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBenchShort runs every scenario once, as briefly as they go, against
// the real binary, and checks the report carries every figure and target.
// The timings themselves are the machine's and are not checked.
func TestBenchShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bot; skipped with -short")
	}
	bin := buildBot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Binary: bin, Short: true, Runs: 1, SteadyFor: time.Second}, &out); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	report := out.String()
	wants := []string{
		// The setup, so figures are never quoted without it.
		"5000 agents (500 mapped, 20 supervisors), 1 runs per scenario, steady load 1s",
		"machine: ", "CPUs (GOMAXPROCS ", "built with go",
		// Rendering, every answer that reads the whole roster, and the
		// trend, with the size of its table or chart.
		"time/op", "allocs/op", "blocks", "JSON bytes", "Slack limits", "table or chart",
		"  /presence  ", "/presence available", "/presence table  ", "/presence table available",
		"/presence trend  ", "/presence trend sales_team",
		"table 100 rows × 7", "chart 4 lines × 17 points",
		// Latency and cost columns.
		"ack p50", "ack p99", "ack max", "/status p50", "/status p99", "/presence p50", "/presence p99",
		"CC req/cmd", "GET+PUT per /status", "roster fetches", "allocs/cmd", "kB/cmd", "CPU ms/cmd", "fakes' CPU ms/cmd",
		"RSS after warm-up", "peak RSS", "bot warnings", "other load",
		// One row per scenario, with its API latency.
		"burst-0ms     0s", "burst-100ms  100ms", "steady-0ms     0s", "steady-100ms  100ms",
		"table-0ms     0s", "table-100ms  100ms", "trend-0ms     0s", "trend-100ms  100ms",
		// One line per target.
		"ack p99 under 10ms during the shift-start burst:",
		"/status answer p99 within 2×API latency + 20ms at 100ms API latency:",
		"at most 2 roster fetches for 200 /presence within one second:",
		"peak RSS under 60 MB with 5,000 agents and the burst:",
		"rendering /presence, its table and its trend for 5,000 agents under 5ms and within Slack's limits:",
	}
	for _, w := range wants {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	// Every command is answered whatever the machine's speed: anything
	// else is a broken bot or a broken benchmark, not a slow one.
	if !strings.Contains(report, "[met]     every command answered as asked: 700 of 700 (burst-0ms); 700 of 700 (burst-100ms); 50 of 50 (steady-0ms); 50 of 50 (steady-100ms); "+
		"700 of 700 (table-0ms); 700 of 700 (table-100ms); 700 of 700 (trend-0ms); 700 of 700 (trend-100ms)") {
		t.Errorf("not every command was answered as asked")
	}
	// No target goes unmeasured.
	if strings.Contains(report, "[skipped]") {
		t.Errorf("a target was skipped")
	}
	// The burst's /presence share roster fetches at either latency: one
	// serves them all, or two when a slow machine stretches the burst past
	// the snapshot's 2 s TTL (the target's "at most 2"); never one each.
	for _, sc := range []string{"burst-0ms", "burst-100ms", "table-0ms", "table-100ms"} {
		if !strings.Contains(report, "1 × 50 pages ("+sc+")") && !strings.Contains(report, "2 × 50 pages ("+sc+")") {
			t.Errorf("%s: want one or two roster fetches of 50 pages", sc)
		}
	}
	// The trend reads the history, not the roster: no fetch, or the one
	// the history job makes when a minute turns during the run.
	for _, sc := range []string{"trend-0ms", "trend-100ms"} {
		if !strings.Contains(report, "0 × 50 pages ("+sc+")") && !strings.Contains(report, "1 × 50 pages ("+sc+")") {
			t.Errorf("%s: want no roster fetch, or the history job's one", sc)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

// TestRunRefuses: Run fails, saying why, when the benchmark itself cannot
// run.
func TestRunRefuses(t *testing.T) {
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1) to stand for a bot that will not start")
	}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		// No binary at all.
		{"no binary", Options{}, "no presence-bot binary"},
		// A binary that is not there.
		{"missing binary", Options{Binary: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		// A filter that matches nothing names what there is.
		{"unknown scenario", Options{Binary: falseBin, Scenarios: []string{"lunch"}}, "have render, burst-0ms, burst-100ms, steady-0ms, steady-100ms, table-0ms, table-100ms, trend-0ms, trend-100ms, redis-burst-0ms"},
		// A bot that exits at start-up is reported, not waited for.
		{"bot exits", Options{Binary: falseBin, Scenarios: []string{"burst-0ms"}}, "the bot exited at start-up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := Run(ctx, tt.o, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
