package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

const reportChannel = "C0REPORT"

// Three replicas in this process, on one redis-server, clocks in step:
// every tick of the report (every minute here) is raced for by all three,
// and each tick's report is posted exactly once.
func TestReportOnceOnThreeReplicas(t *testing.T) {
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(ccmsim.DemoRoster(time.Now())...)
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), "agents: {}\n", map[string]string{
		"REPORT_CHANNEL":  reportChannel,
		"REPORT_SCHEDULE": "* * * * *",
		// An alert that never fires: its poll records the history the
		// report reads.
		"ALERT_CHANNEL":   alertChannel,
		"ALERT_THRESHOLD": "1",
		"ALERT_INTERVAL":  replicaPeriod.String(),
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}
	c.replicas = []*replica{
		c.startInProcess("replica-a", 0),
		c.startInProcess("replica-b", 0),
		c.startInProcess("replica-c", 0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v", err)
	}
	isReport := func(m fakeslack.Message) bool { return m.Method == "chat.postMessage" && m.Channel == reportChannel }

	const ticks = 3
	for k := 1; k <= ticks; k++ {
		at := c.tickTime(k)
		before := map[*replica]int{}
		for _, r := range c.replicas {
			// Four jobs: alerts, report, report_catchup, after_call.
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			err := r.clock.BlockUntilContext(ctx, jobTimers+1)
			cancel()
			if err != nil {
				t.Fatalf("%s: the scheduler did not set its timers: %v", r.name, err)
			}
			before[r] = jobHandled(r.logs(), "report")
		}
		for _, r := range c.replicas {
			r.advanceTo(t, at)
		}
		for _, r := range c.replicas {
			eventually(t, fmt.Sprintf("%s finished the report's tick %d", r.name, k), func() bool {
				return jobHandled(r.logs(), "report") > before[r]
			})
		}
		// "job done" is logged before the run lets its lease go: the next
		// tick, a few milliseconds later on these clocks, would find it
		// still running.
		c.waitJobsOver()
		if n := countMessages(fs, isReport); n != k {
			var how strings.Builder
			for _, r := range c.replicas {
				for line := range strings.Lines(r.logs()) {
					if strings.Contains(line, "job=report") || strings.Contains(line, "report") && strings.Contains(line, "level=") {
						fmt.Fprintf(&how, "%s: %s", r.name, line)
					}
				}
			}
			t.Fatalf("after tick %d (%s): %d reports posted, want %d; the replicas' report lines:\n%s", k, at.Format(time.TimeOnly), n, k, how.String())
		}
	}
	posted := 0
	for _, r := range c.replicas {
		posted += strings.Count(r.logs(), `msg="daily report posted"`)
	}
	if posted != ticks {
		t.Errorf("replicas logged %d reports posted, want %d", posted, ticks)
	}
	var last fakeslack.Message
	for _, m := range fs.Messages() {
		if !isReport(m) {
			continue
		}
		last = m
		if !strings.HasPrefix(m.Text, "Daily report for Tue 4 Mar") {
			t.Errorf("report text %q", m.Text)
		}
	}
	// By the last tick the alert polls have recorded the floor: the
	// report has its chart and table.
	for _, want := range []string{`"data_visualization"`, `"data_table"`, "Agents seen"} {
		if !strings.Contains(string(last.Blocks), want) {
			t.Errorf("the last report lacks %s:\n%s", want, last.Blocks)
		}
	}
}
