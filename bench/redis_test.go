package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBenchRedisScenario runs a redis- scenario once, briefly: the bot
// shares its state (deduplication, the command journal) through a
// redis-server the benchmark starts, and answers every command. Without
// redis-server on PATH it is skipped, unless CI is set (as redistest).
func TestBenchRedisScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bot; skipped with -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		const msg = "redis-server not on PATH (apt-get install -y redis-server, or run .ci/run)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
	bin := buildBot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, Options{Binary: bin, Runs: 1, Scenarios: []string{"redis-steady-0ms"}, SteadyFor: time.Second}, &out); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	report := out.String()
	if !strings.Contains(report, "every command answered as asked: 50 of 50 (redis-steady-0ms)") {
		t.Errorf("not every command was answered as asked with Redis:\n%s", report)
	}
	// Only the scenario asked for: the plain ones are not run again.
	if strings.Contains(report, "(steady-0ms)") {
		t.Errorf("a scenario without Redis ran too:\n%s", report)
	}
}
