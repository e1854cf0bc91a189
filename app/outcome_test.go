package app_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// families scrapes /metrics whole.
func (w *world) families() map[string]*dto.MetricFamily {
	w.t.Helper()
	resp, err := http.Get(w.httpBase() + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return fams
}

// metricSum adds up every series of name whose labels include labels.
func (w *world) metricSum(name string, labels map[string]string) float64 {
	w.t.Helper()
	fam := w.families()[name]
	sum := 0.0
	for _, m := range fam.GetMetric() {
		match := 0
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match == len(labels) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// countLines counts the log lines holding every one of parts.
func (w *world) countLines(parts ...string) int {
	n := 0
	for line := range strings.Lines(w.logs.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// TestOutcomeLogLineAndMetricAgree: through the real app, every command
// and click is counted under the outcome its log line names: ok, refused
// or error.
func TestOutcomeLogLineAndMetricAgree(t *testing.T) {
	w := start(t, withHTTP)
	first := w.answer(w.send(userAlice, "/status", "")) // ok
	busy := findButton(t, buttons(t, first.Blocks), "Busy")
	w.ask(userAlice, "/status", "sleeping") // refused: no such status
	w.ask(userStray, "/status", "")         // refused: not mapped
	w.answer(w.send(userAlice, "/deploy", ""))
	w.sim.Inject(ccmsim.Fault{Code: 500})
	w.ask(userAlice, "/status", "busy") // error: the contact center failed
	w.sim.ClearFaults()
	w.answer(w.click(userBob, busy))   // refused: someone else's button
	w.answer(w.click(userAlice, busy)) // ok

	want := map[string]float64{"ok": 2, "refused": 4, "error": 1}
	eventually(t, "every answer counted", func() bool {
		return w.metricSum("presence_bot_commands_total", nil) == 7
	})
	for outcome, n := range want {
		metric := w.metricSum("presence_bot_commands_total", map[string]string{"outcome": outcome})
		logged := w.countLines("msg=command ", " outcome="+outcome+" ")
		if metric != n || float64(logged) != n {
			t.Errorf("outcome %s: commands_total %v, log lines %d; want both %v\nlogs:\n%s", outcome, metric, logged, n, w.logs.String())
		}
	}
	if got := w.metricSum("presence_bot_commands_total", map[string]string{"command": "other", "outcome": "refused"}); got != 2 {
		// The unknown command and Bob's click (button:… is not a command).
		t.Errorf("commands_total{other,refused} = %v, want 2", got)
	}
	if n := w.countLines("outcome=failed"); n != 0 {
		t.Errorf("%d log lines say outcome=failed, a word the metric does not know", n)
	}
}

// TestRedisUpOnlyWithRedisURL: without REDIS_URL there is no Redis, and
// no presence_bot_redis_up series claiming it is down.
func TestRedisUpOnlyWithRedisURL(t *testing.T) {
	w := start(t, withHTTP)
	w.ask(userAlice, "/status", "")
	// The answer is counted once delivered: wait for it, so the scrape
	// below is of a bot that has done some work.
	eventually(t, "the command counted", func() bool { return w.metricSum("presence_bot_commands_total", nil) == 1 })
	if _, ok := w.families()["presence_bot_redis_up"]; ok {
		t.Errorf("presence_bot_redis_up exported without REDIS_URL")
	}
}

// deadRedis is a REDIS_URL on 127.0.0.1 where nothing listens: a typo's
// worth of a wrong port.
func deadRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "redis://" + addr + "/0"
}

// TestSkippedTicksAreVisibleWhenRedisIsUnreachable: a REDIS_URL that
// answers nothing must never mean alerts silently stop: every tick is a
// WARN naming the reason and counts in job_ticks_skipped_total, and
// redis_up (there, since REDIS_URL is set) says 0.
func TestSkippedTicksAreVisibleWhenRedisIsUnreachable(t *testing.T) {
	quietRedis()
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 4, 10, 0, 0, 500e6, time.UTC))
	w := start(t, withHTTP,
		withEnv("REDIS_URL", deadRedis(t), "ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "3", "ALERT_INTERVAL", "1s"),
		func(_ map[string]string, opts *[]app.Option) { *opts = append(*opts, app.WithClock(clock)) })

	const timers = 2 // alerts and after_call
	lockSkips := func() int {
		return w.countLines("level=WARN", `msg="job tick skipped"`, "job=alerts", "reason=lock_unavailable")
	}
	handled := func() int {
		return lockSkips() + w.countLines(`msg="job tick skipped"`, "job=alerts", "reason=still_running")
	}
	for step := 0; lockSkips() < 2; step++ {
		if step == 10 {
			t.Fatalf("after %d ticks, %d skipped for the lock:\n%s", step, lockSkips(), w.logs.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := clock.BlockUntilContext(ctx, timers)
		cancel()
		if err != nil {
			t.Fatalf("the scheduler did not set its timers: %v", err)
		}
		before := handled()
		clock.Advance(time.Second)
		eventually(t, "the tick handled", func() bool { return handled() > before })
	}
	if got := w.metric("presence_bot_job_ticks_skipped_total", map[string]string{"job": "alerts", "reason": "lock_unavailable"}); got < 2 {
		t.Errorf("job_ticks_skipped_total{alerts,lock_unavailable} = %v, want at least 2", got)
	}
	if got := w.metricSum("presence_bot_job_ticks_total", map[string]string{"job": "alerts"}); got != 0 {
		t.Errorf("job_ticks_total{alerts} = %v, want 0: no tick may run without its lock", got)
	}
	fams := w.families()
	up, ok := fams["presence_bot_redis_up"]
	if !ok {
		t.Fatalf("presence_bot_redis_up missing with REDIS_URL set")
	}
	if v := up.GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("redis_up = %v, want 0 while Redis is unreachable", v)
	}
	if n := w.count(func(m fakeslack.Message) bool { return m.Channel == "C0ALERTS" }); n != 0 {
		t.Errorf("%d alerts posted without the lock", n)
	}
}
