package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

func TestRequestRates(t *testing.T) {
	start := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, start.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	// A budget of 2/s with a burst of 3 from a full bucket: 3 at once,
	// then one every 500 ms.
	gcra := at(10, 10, 10, 510, 1010, 1510, 2010, 2510)
	tests := []struct {
		name string
		at   []time.Time
		want requestRates
	}{
		// Nothing sent: nothing measured, and no division by zero.
		{"none", nil, requestRates{}},
		// One request: one in its second; a mean needs a span.
		{"one", at(300), requestRates{buckets: []int{1}, busiestWindow: 1}},
		// The bucket's burst lands in the first second with the rate's
		// next token; the later seconds carry the rate alone. Any window
		// of one second holds at most burst + rate; the mean over the
		// 2.5 s from the first request to the last is 7/2.5.
		{"gcra", gcra, requestRates{buckets: []int{4, 2, 2}, busiestWindow: 4, mean: 7 / 2.5, busy: 2500 * time.Millisecond}},
		// Fixed buckets can split a crowd that a sliding window sees
		// whole: 4 in 200 ms across the bucket's edge.
		{"across an edge", at(900, 950, 1050, 1100), requestRates{buckets: []int{2, 2}, busiestWindow: 4, mean: 3 / 0.2, busy: 200 * time.Millisecond}},
		// Arrival order does not matter; a quiet second counts as 0.
		{"unsorted with a gap", at(2100, 50, 2000), requestRates{buckets: []int{1, 0, 2}, busiestWindow: 2, mean: 2 / 2.05, busy: 2050 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratesOf(start, slices.Clone(tt.at))
			if !slices.Equal(got.buckets, tt.want.buckets) || got.busiestWindow != tt.want.busiestWindow ||
				got.busy != tt.want.busy || fmt.Sprintf("%.6f", got.mean) != fmt.Sprintf("%.6f", tt.want.mean) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestBusiestAfterFirst: the seconds after the first show the rate alone,
// once the bucket's burst is spent.
func TestBusiestAfterFirst(t *testing.T) {
	tests := []struct {
		buckets []int
		want    int
	}{
		{nil, 0},
		{[]int{30}, 0},
		{[]int{30, 10, 11, 9}, 11},
	}
	for _, tt := range tests {
		if got := (requestRates{buckets: tt.buckets}).busiestAfterFirst(); got != tt.want {
			t.Errorf("%v: got %d, want %d", tt.buckets, got, tt.want)
		}
	}
}

func TestParseCounts(t *testing.T) {
	tests := []struct {
		name string
		text string
		want presence.Summary
		ok   bool
	}{
		// The overview's notification text, as commands.overview writes it.
		{"overview", "Agent presence — 20,000 agents: 🟢 7,012 available · 📞 4,000 on-call · 🔴 3,100 busy · 📝 1,888 after-call work · ⚫ 4,000 offline",
			presence.Summary{Total: 20000, Available: 7012, OnCall: 4000, Busy: 3100, AfterCallWork: 1888, Offline: 4000}, true},
		// The overview lists every status, with nobody too; one left out
		// counts 0.
		{"some statuses", "Agent presence — 3 agents: 🟢 2 available · 🔴 1 busy", presence.Summary{Total: 3, Available: 2, Busy: 1}, true},
		// Not an overview: a failure, or another answer.
		{"failure", "⚠️ The contact center's API budget is exhausted", presence.Summary{}, false},
		{"status list", "🟢 Available — 12 of 2,000 agents", presence.Summary{}, false},
		// A status the bot does not know is not counted as any.
		{"unknown status", "Agent presence — 3 agents: 🟢 2 available · 🍵 1 on break", presence.Summary{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseCounts(tt.text)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestClassifyFleetAnswer(t *testing.T) {
	before := presence.Summary{Total: 10, Available: 6, Busy: 2, Offline: 2}
	after := presence.Summary{Total: 10, Available: 3, Busy: 5, Offline: 2}
	overview := func(avail, busy, offline int) string {
		return fmt.Sprintf("Agent presence — 10 agents: 🟢 %d available · 🔴 %d busy · ⚫ %d offline", avail, busy, offline)
	}
	fresh := []byte(`[{"type":"context","elements":[{"type":"mrkdwn","text":"As of 09:00:01"}]}]`)
	stale := []byte(`[{"type":"context","elements":[{"type":"mrkdwn","text":"⏳ Data from 14s ago (the contact center's API budget is busy).\nAs of 09:00:01"}]}]`)
	lastKnown := []byte(`[{"type":"context","elements":[{"type":"mrkdwn","text":"⚠️ The contact center's API budget is exhausted. This is the last known data, from 40s ago."}]}]`)
	tests := []struct {
		name    string
		command string
		text    string
		blocks  []byte
		want    answerKind
	}{
		// A change made.
		{"changed", cmdStatus, "✅ You're now busy", nil, changed},
		// A change the budget held back past its limit: answered, not done.
		{"exhausted", cmdStatus, "⚠️ The contact center's API budget is exhausted: … Nothing was changed.", nil, exhausted},
		// Any other /status answer.
		{"status other", cmdStatus, "⚠️ The contact center had a server error.", nil, otherAnswer},
		// Counts of the moment before the burst, and of one during it.
		{"counted before", cmdPresence, overview(6, 2, 2), fresh, counted},
		{"counted during", cmdPresence, overview(4, 4, 2), fresh, counted},
		// The same, marked with its age: answered as asked.
		{"stale", cmdPresence, overview(5, 3, 2), stale, countedStale},
		// Counts the simulator never had are no answer.
		{"wrong total", cmdPresence, "Agent presence — 9 agents: 🟢 5 available · 🔴 2 busy · ⚫ 2 offline", fresh, otherAnswer},
		{"moved elsewhere", cmdPresence, overview(5, 2, 3), fresh, otherAnswer},
		{"more busy than made", cmdPresence, overview(2, 6, 2), fresh, otherAnswer},
		// After a failed read: the last roster with its age, an error.
		{"last known", cmdPresence, overview(6, 2, 2), lastKnown, lastKnownData},
		// A failure without any roster.
		{"failed", cmdPresence, "⚠️ The contact center's API budget is exhausted", nil, otherAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyFleetAnswer(tt.command, tt.text, tt.blocks, before, after); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFleetPlan: the shift start of the fleet: distinct agents each
// change once, the supervisors ask for the overview, all within one
// second, shuffled.
func TestFleetPlan(t *testing.T) {
	w := &world{}
	for i := range 40 {
		w.agents = append(w.agents, fmt.Sprintf("UAGENT%04d", i+1))
	}
	w.supervisors = []string{"USUPER01", "USUPER02"}
	plan := fleetPlan(w, 10)
	if len(plan) != 50 {
		t.Fatalf("got %d commands, want 50", len(plan))
	}
	statusFrom := map[string]int{}
	presences, firstTen := 0, 0
	var last time.Duration
	for i, p := range plan {
		if p.at < last || p.at >= burstWindow {
			t.Fatalf("command %d at %v after one at %v, want times rising within %v", i, p.at, last, burstWindow)
		}
		last = p.at
		switch {
		case p.command == cmdStatus && p.text == "busy":
			statusFrom[p.user]++
		case p.command == cmdPresence && p.text == "" && slices.Contains(w.supervisors, p.user):
			presences++
			if i < 10 {
				firstTen++
			}
		default:
			t.Errorf("unexpected command %+v", p)
		}
	}
	if len(statusFrom) != 40 || presences != 10 {
		t.Errorf("%d agents changed and %d /presence, want 40 and 10", len(statusFrom), presences)
	}
	for u, n := range statusFrom {
		if n != 1 {
			t.Errorf("%s sent %d /status, want 1", u, n)
		}
	}
	if firstTen == 10 {
		t.Errorf("the /presence all come first: not shuffled")
	}
}

// TestAnswerWait: the wait for the fleet's answers is the budget's time
// for every change (a GET and a PUT each) and two roster reads, plus a
// minute; never past the 30 minutes a response_url lives; a bot without
// a budget gets the usual wait.
func TestAnswerWait(t *testing.T) {
	tests := []struct {
		name     string
		statuses int
		pages    int
		rate     float64
		want     time.Duration
	}{
		{"default budget", 2000, 200, 10, (4000+400)*time.Second/10 + time.Minute},
		{"reduced", 200, 20, 100, (400+40)*time.Second/100 + time.Minute},
		{"past response_url's life", 20000, 200, 10, 30 * time.Minute},
		{"no budget", 2000, 200, 0, answerTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answerWait(tt.statuses, tt.pages, tt.rate); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBenchFleetScenario runs the fleet scenario at a tenth of its scale
// and ten times its rate: three replicas from the binary on one
// redis-server, 2,000 agents, 50 /presence and 200 /status within one
// second. It checks the report has every figure and every command was
// answered as asked; the timings are the machine's and are not checked.
// Without redis-server on PATH it is skipped, unless CI is set.
func TestBenchFleetScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three bots; skipped with -short")
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
	small := fleetSetup{agents: 2000, statuses: 200, presences: 50, replicas: 3, rateLimit: "100/20", latency: 10 * time.Millisecond}
	if err := Run(ctx, Options{Binary: bin, Runs: 1, Scenarios: []string{fleetName}, fleet: small}, &out); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	report := out.String()
	wants := []string{
		// The setup, so figures are never quoted without it.
		"2,000 agents, 3 replicas sharing one redis-server and one fake Slack",
		"EXOTEL_RATE_LIMIT=100/20 (100/s, burst 20, shared)", "API latency 10ms",
		"50 /presence and 200 /status within 1s",
		// Every figure the issue asks for, and what explains them.
		"requests per second at the simulator", "busiest 1-s bucket", "after the first second", "any 1-s window", "mean",
		"list pages per minute", "roster reads",
		"/status answers", "200 changed", "0 held back", "200 applied at the simulator",
		"/presence answers", "50 with the simulator's counts",
		"reply p50 / p99", "ack p99",
		"peak RSS per replica", "replica 1", "replica 2", "replica 3",
		"first /presence (cold roster)", "bot warnings", "other load",
		// Its targets.
		"fleet: at most rate + burst requests in any second at the simulator:",
		"fleet: peak RSS per replica under 60 MB with 2,000 agents:",
	}
	for _, w := range wants {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	// Every command answered as asked, once, whatever the machine's speed.
	if !strings.Contains(report, "[met]     fleet: every command answered as asked, once: 250 of 250 (fleet-20k)") {
		t.Errorf("not every command of the fleet was answered as asked")
	}
	// Only the scenario asked for.
	if strings.Contains(report, "(burst-0ms)") {
		t.Errorf("another scenario ran too")
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

// TestParseProcPidStat: utime and stime of a process, in the kernel's
// ticks, whatever its command name holds.
func TestParseProcPidStat(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime …
	line := "4242 (redis-server *:6379) S 1 4242 4242 0 -1 4194560 2410 0 0 0 150 75 3 4 20 0 5 0 8812 1\n"
	got, err := parseProcPidStat(line)
	if want := 2250 * time.Millisecond; err != nil || got != want {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "4242 redis-server S 1", "4242 (redis) S 1 2 3", "4242 (redis) S 1 4242 4242 0 -1 4194560 2410 0 0 0 x 75 3"} {
		if _, err := parseProcPidStat(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
