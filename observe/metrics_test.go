package observe

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

func TestAnsweredCountsByCommandAndOutcome(t *testing.T) {
	m := NewMetrics()
	m.Answered("/status", "ok", 120*time.Millisecond)
	m.Answered("/status", "ok", 80*time.Millisecond)
	m.Answered("/status", "refused", 10*time.Millisecond)
	m.Answered("/presence", "error", 3*time.Second)
	m.Answered("/deploy-prod", "ok", time.Millisecond) // unknown: bounded to "other"
	m.Answered("/presence", "maybe", time.Millisecond) // not an outcome: bounded to "other"
	f := scrape(t, m)

	tests := []struct {
		name    string
		command string
		outcome string
		want    float64
	}{
		// Two successful /status answers.
		{"status ok", "/status", "ok", 2},
		// A refusal is its own outcome, neither ok nor error.
		{"status refused", "/status", "refused", 1},
		// One failed /presence answer.
		{"presence error", "/presence", "error", 1},
		// An outcome outside the contract's three is bounded too.
		{"unknown outcome", "/presence", "other", 1},
		// Unknown commands share one label value.
		{"unknown command", "other", "ok", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.value(t, "presence_bot_commands_total", l("command", tt.command, "outcome", tt.outcome)); got != tt.want {
				t.Errorf("commands_total{%s,%s}: got %v, want %v", tt.command, tt.outcome, got, tt.want)
			}
		})
	}
	if m := f.find("presence_bot_commands_total", l("command", "/deploy-prod")); m != nil {
		t.Errorf("unknown command became a label value: %v", m)
	}
	h := f.histogram(t, "presence_bot_command_duration_seconds", l("command", "/status"))
	if got, want := h.GetSampleCount(), uint64(3); got != want {
		t.Errorf("command_duration_seconds{/status} count: got %d, want %d", got, want)
	}
	if got, want := h.GetSampleSum(), 0.21; math.Abs(got-want) > 1e-9 {
		t.Errorf("command_duration_seconds{/status} sum: got %v, want %v", got, want)
	}
	// 10, 80 and 120 ms: two at or under 0.1 s, all at or under 0.25 s.
	if got := bucket(t, h, 0.1); got != 2 {
		t.Errorf("command_duration_seconds{/status} le=0.1: got %d, want 2", got)
	}
	if got := bucket(t, h, 0.25); got != 3 {
		t.Errorf("command_duration_seconds{/status} le=0.25: got %d, want 3", got)
	}
}

func TestAckedLatencyByKind(t *testing.T) {
	m := NewMetrics()
	m.Acked("slash_commands", 2*time.Millisecond)
	m.Acked("slash_commands", 400*time.Microsecond)
	m.Acked("interactive", 1500*time.Millisecond)
	m.Acked("surprise", time.Millisecond)
	f := scrape(t, m)

	h := f.histogram(t, "presence_bot_ack_latency_seconds", l("kind", "slash_commands"))
	tests := []struct {
		name string
		le   float64
		want uint64
	}{
		// The smallest bucket catches the 0.4 ms ack.
		{"smallest bucket", 0.0005, 1},
		// 2 ms is above 1 ms ...
		{"1ms", 0.001, 1},
		// ... and within 2.5 ms.
		{"2.5ms", 0.0025, 2},
		// Slack's 3 s limit is the largest bound.
		{"3s", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucket(t, h, tt.le); got != tt.want {
				t.Errorf("ack_latency_seconds{slash_commands} le=%g: got %d, want %d", tt.le, got, tt.want)
			}
		})
	}
	if got := f.histogram(t, "presence_bot_ack_latency_seconds", l("kind", "interactive")).GetSampleCount(); got != 1 {
		t.Errorf("ack_latency_seconds{interactive} count: got %d, want 1", got)
	}
	if got := f.histogram(t, "presence_bot_ack_latency_seconds", l("kind", "other")).GetSampleCount(); got != 1 {
		t.Errorf("ack_latency_seconds{other} count: got %d, want 1", got)
	}
}

func TestObserveAPICountsRequestsCodesAndRetries(t *testing.T) {
	m := NewMetrics()
	fail := errors.New("boom")
	m.ObserveAPI(presence.Observation{Endpoint: "list", Code: 200, Attempts: 1, Duration: 40 * time.Millisecond})
	m.ObserveAPI(presence.Observation{Endpoint: "list", Code: 200, Attempts: 2, Duration: 300 * time.Millisecond})
	m.ObserveAPI(presence.Observation{Endpoint: "update", Code: 503, Attempts: 3, Duration: time.Second, Err: fail})
	m.ObserveAPI(presence.Observation{Endpoint: "get", Code: 0, Attempts: 0, Err: fail}) // failed fast
	m.ObserveAPI(presence.Observation{Endpoint: "delete", Code: 200, Attempts: 1})
	f := scrape(t, m)

	counts := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		// Two list calls answered 200.
		{"list 200", "presence_bot_contact_center_requests_total", l("endpoint", "list", "code", "200"), 2},
		// The last HTTP status of a failed call is its code.
		{"update 503", "presence_bot_contact_center_requests_total", l("endpoint", "update", "code", "503"), 1},
		// No HTTP answer at all is code "error".
		{"get no answer", "presence_bot_contact_center_requests_total", l("endpoint", "get", "code", "error"), 1},
		// Unknown endpoints are bounded to "other".
		{"unknown endpoint", "presence_bot_contact_center_requests_total", l("endpoint", "other", "code", "200"), 1},
		// Only attempts beyond the first are retries: 1 for list ...
		{"list retries", "presence_bot_contact_center_retries_total", l("endpoint", "list"), 1},
		// ... and 2 for the update made three times.
		{"update retries", "presence_bot_contact_center_retries_total", l("endpoint", "update"), 2},
	}
	for _, tt := range counts {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.value(t, tt.metric, tt.labels); got != tt.want {
				t.Errorf("%s%v: got %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if m := f.find("presence_bot_contact_center_retries_total", l("endpoint", "get")); m != nil {
		t.Errorf("a call made without retries counted retries: %v", m)
	}
	h := f.histogram(t, "presence_bot_contact_center_request_duration_seconds", l("endpoint", "list"))
	if got, want := h.GetSampleCount(), uint64(2); got != want {
		t.Errorf("request_duration_seconds{list} count: got %d, want %d", got, want)
	}
	if got, want := h.GetSampleSum(), 0.34; math.Abs(got-want) > 1e-9 {
		t.Errorf("request_duration_seconds{list} sum: got %v, want %v", got, want)
	}
}

func TestConnectionUpGaugeAndReconnects(t *testing.T) {
	tests := []struct {
		name           string
		events         []bool
		wantUp         float64
		wantReconnects float64
	}{
		// Nothing reported yet: down, no reconnects.
		{"start", nil, 0, 0},
		// The first connection is not a reconnect.
		{"first up", []bool{true}, 1, 0},
		// A down before the first up does not make that up a reconnect.
		{"down then first up", []bool{false, true}, 1, 0},
		// Dropping shows in the gauge.
		{"drop", []bool{true, false}, 0, 0},
		// Coming back after a drop is one reconnect.
		{"reconnect", []bool{true, false, true}, 1, 1},
		// Each drop and return counts.
		{"two reconnects", []bool{true, false, true, false, true}, 1, 2},
		// The same state reported twice is not a reconnect.
		{"repeated up", []bool{true, true, true}, 1, 0},
		// Nor is a repeated down.
		{"repeated down", []bool{true, false, false, true}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics()
			for _, up := range tt.events {
				m.Connection(up)
			}
			f := scrape(t, m)
			if got := f.value(t, "presence_bot_socket_up", nil); got != tt.wantUp {
				t.Errorf("socket_up: got %v, want %v", got, tt.wantUp)
			}
			if got := f.value(t, "presence_bot_socket_reconnects_total", nil); got != tt.wantReconnects {
				t.Errorf("socket_reconnects_total: got %v, want %v", got, tt.wantReconnects)
			}
		})
	}
}

func TestSetAgentsReplacesTheWholeSet(t *testing.T) {
	m := NewMetrics()
	m.SetAgents(map[TeamStatus]int{
		{"sales", presence.Available}: 2,
		{"sales", presence.Busy}:      1,
		{"support", presence.Offline}: 3,
	})
	f := scrape(t, m)
	tests := []struct {
		name   string
		team   string
		status presence.Status
		want   float64
	}{
		// Counts as given.
		{"sales available", "sales", presence.Available, 2},
		{"sales busy", "sales", presence.Busy, 1},
		{"support offline", "support", presence.Offline, 3},
		// A status with no agents is an explicit 0, so threshold rules see it.
		{"sales on-call zero", "sales", presence.OnCall, 0},
		{"support available zero", "support", presence.Available, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.value(t, "presence_bot_agents", l("team", tt.team, "status", string(tt.status))); got != tt.want {
				t.Errorf("agents{%s,%s}: got %v, want %v", tt.team, tt.status, got, tt.want)
			}
		})
	}
	if got, want := len(f["presence_bot_agents"].GetMetric()), 2*len(presence.Statuses); got != want {
		t.Errorf("agents series: got %d, want %d (%s)", got, want, f.series("presence_bot_agents"))
	}

	// The next poll sees only support: sales disappears, support moves.
	m.SetAgents(map[TeamStatus]int{{"support", presence.Available}: 4})
	f = scrape(t, m)
	if s := f.find("presence_bot_agents", l("team", "sales")); s != nil {
		t.Errorf("vanished team still exported: %v", s)
	}
	if got := f.value(t, "presence_bot_agents", l("team", "support", "status", "available")); got != 4 {
		t.Errorf("agents{support,available}: got %v, want 4", got)
	}
	if got := f.value(t, "presence_bot_agents", l("team", "support", "status", "offline")); got != 0 {
		t.Errorf("agents{support,offline}: got %v, want 0", got)
	}
}

func TestCountAgents(t *testing.T) {
	agents := []presence.Agent{
		{ID: "a1", Status: presence.Available, Team: &presence.Team{ID: "sales"}},
		{ID: "a2", Status: presence.Available, Team: &presence.Team{ID: "sales"}},
		{ID: "a3", Status: presence.OnCall, Team: &presence.Team{ID: "support"}},
		{ID: "a4", Status: presence.Busy}, // no team
	}
	got := CountAgents(agents)
	want := map[TeamStatus]int{
		{"sales", presence.Available}: 2,
		{"support", presence.OnCall}:  1,
		{"", presence.Busy}:           1,
	}
	if len(got) != len(want) {
		t.Fatalf("CountAgents: got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("CountAgents[%v]: got %d, want %d", k, got[k], n)
		}
	}
}

func TestSetAlertFlips(t *testing.T) {
	m := NewMetrics()
	m.SetAlert("sales-floor", "critical")
	m.SetAlert("all", "")
	m.SetAlert("team:support_team", "warning")
	f := scrape(t, m)
	for _, c := range []struct {
		rule          string
		firing, level float64
	}{{"sales-floor", 1, 2}, {"all", 0, 0}, {"team:support_team", 1, 1}} {
		if got := f.value(t, "presence_bot_alert_firing", l("rule", c.rule)); got != c.firing {
			t.Errorf("alert_firing{%s}: got %v, want %v", c.rule, got, c.firing)
		}
		if got := f.value(t, "presence_bot_alert_level", l("rule", c.rule)); got != c.level {
			t.Errorf("alert_level{%s}: got %v, want %v", c.rule, got, c.level)
		}
	}
	m.SetAlert("sales-floor", "")
	f = scrape(t, m)
	if got := f.value(t, "presence_bot_alert_firing", l("rule", "sales-floor")); got != 0 {
		t.Errorf("alert_firing{sales-floor} after resolve: got %v, want 0", got)
	}
	if got := f.value(t, "presence_bot_alert_level", l("rule", "sales-floor")); got != 0 {
		t.Errorf("alert_level{sales-floor} after resolve: got %v, want 0", got)
	}
}

// TestEveryMetricIsExposedWithHelp exercises every hook once and checks the
// documented names are all there, each with a help text, beside the Go
// runtime and process collectors.
func TestEveryMetricIsExposedWithHelp(t *testing.T) {
	m := NewMetrics()
	m.Answered("/status", "ok", time.Millisecond)
	m.Acked("slash_commands", time.Millisecond)
	m.ObserveAPI(presence.Observation{Endpoint: "list", Code: 200, Attempts: 2})
	m.Connection(true)
	m.SetAgents(map[TeamStatus]int{{"sales", presence.Available}: 1})
	m.SetAlert("all", "")
	m.WatchHealth(NewHealth(nil))
	m.slackCalls.WithLabelValues("chat.postMessage").Inc()
	m.slackErrors.WithLabelValues("chat.postMessage", "channel_not_found").Inc()
	m.RedisUp(true)
	m.RedisFallback("dedupe")
	m.JobTick("alerts", nil)
	m.JobTickSkipped("alerts", "lock_unavailable")
	m.ObserveBudget(presence.BudgetGrant{Kind: "get", Priority: presence.Write})
	m.WatchBudget(presence.NewBudget(presence.BudgetOptions{Rate: 10, Burst: 20}))
	m.RosterRefreshed("api")
	m.WatchSnapshotAge(func() (time.Duration, bool) { return time.Second, true })
	m.RichBlocksRefused("response_url")
	f := scrape(t, m)

	want := []string{
		"presence_bot_commands_total",
		"presence_bot_command_duration_seconds",
		"presence_bot_ack_latency_seconds",
		"presence_bot_contact_center_requests_total",
		"presence_bot_contact_center_request_duration_seconds",
		"presence_bot_contact_center_retries_total",
		"presence_bot_slack_api_calls_total",
		"presence_bot_slack_api_errors_total",
		"presence_bot_socket_up",
		"presence_bot_socket_reconnects_total",
		"presence_bot_agents",
		"presence_bot_alert_firing",
		"presence_bot_alert_level",
		"presence_bot_ready",
		"presence_bot_health_state",
		"presence_bot_redis_up",
		"presence_bot_redis_fallbacks_total",
		"presence_bot_job_ticks_total",
		"presence_bot_job_ticks_skipped_total",
		"presence_bot_journal_recovered_total",
		"presence_bot_journal_dropped_total",
		"presence_bot_api_requests_total",
		"presence_bot_api_budget_tokens",
		"presence_bot_api_budget_wait_seconds",
		"presence_bot_api_paused",
		"presence_bot_roster_refreshes_total",
		"presence_bot_snapshot_age_seconds",
		"presence_bot_rich_blocks_refused_total",
		"go_goroutines",
		"go_memstats_heap_alloc_bytes",
		"process_start_time_seconds",
		"process_resident_memory_bytes",
	}
	for _, name := range want {
		mf := f[name]
		if mf == nil {
			t.Errorf("%s: missing from /metrics", name)
			continue
		}
		if strings.TrimSpace(mf.GetHelp()) == "" {
			t.Errorf("%s: no help text", name)
		}
	}
	for name := range f {
		if strings.HasPrefix(name, "presence_bot_") && !contains(want, name) {
			t.Errorf("%s: exposed but not documented in this test (and docs/monitoring.md)", name)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestMetricsConcurrentUse runs every hook from many goroutines while
// scraping, for the race detector, and checks nothing was lost.
func TestMetricsConcurrentUse(t *testing.T) {
	m := NewMetrics()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m.Answered("/status", "ok", time.Millisecond)
				m.Acked("slash_commands", time.Millisecond)
				m.ObserveAPI(presence.Observation{Endpoint: "get", Code: 200, Attempts: 1})
				m.Connection(i%2 == 0)
				m.SetAgents(map[TeamStatus]int{{"t", presence.Available}: w})
				m.SetAlert("all", map[bool]string{true: "warning"}[i%2 == 0])
			}
		}()
	}
	for range 5 {
		scrape(t, m)
	}
	wg.Wait()
	f := scrape(t, m)
	if got, want := f.value(t, "presence_bot_commands_total", l("command", "/status", "outcome", "ok")), float64(workers*each); got != want {
		t.Errorf("commands_total after concurrent use: got %v, want %v", got, want)
	}
	if got, want := f.value(t, "presence_bot_contact_center_requests_total", l("endpoint", "get", "code", "200")), float64(workers*each); got != want {
		t.Errorf("contact_center_requests_total after concurrent use: got %v, want %v", got, want)
	}
}

func TestWatchHealthExportsReadiness(t *testing.T) {
	m := NewMetrics()
	if f := scrape(t, m); f["presence_bot_ready"] != nil {
		t.Errorf("presence_bot_ready before WatchHealth: got %s, want no series", f.series("presence_bot_ready"))
	}
	h := NewHealth(nil)
	m.WatchHealth(h)

	tests := []struct {
		name      string
		step      func()
		wantReady float64
		part      string
		state     State // the part's state, exported as 1; the others 0
	}{
		// Not connected yet: not ready, the socket part down.
		{"start", func() {}, 0, PartSlackSocket, Down},
		// Connected: ready.
		{"connected", func() { h.Connection(true) }, 1, PartSlackSocket, OK},
		// A degraded part keeps the bot ready.
		{"degraded", func() { h.Set("redis", Degraded, "local files") }, 1, "redis", Degraded},
		// The contact center refusing the configuration makes it not
		// ready (an outage only degrades it: see health_test.go).
		{"api refused", func() {
			h.ObserveAPI(presence.Observation{Endpoint: "list", Err: &presence.APIError{Kind: presence.ErrUnauthorized, StatusCode: 401}})
		}, 0, PartContactCenter, Refused},
		// An unknown state is exported as down.
		{"unknown state", func() { h.Set("redis", State("meh"), "") }, 0, "redis", Down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.step()
			f := scrape(t, m)
			if got := f.value(t, "presence_bot_ready", nil); got != tt.wantReady {
				t.Errorf("presence_bot_ready: got %v, want %v", got, tt.wantReady)
			}
			for _, s := range []State{OK, Degraded, Down} {
				want := 0.0
				if s == tt.state {
					want = 1
				}
				if got := f.value(t, "presence_bot_health_state", l("part", tt.part, "state", string(s))); got != want {
					t.Errorf("health_state{%s,%s}: got %v, want %v", tt.part, s, got, want)
				}
			}
		})
	}
}

func TestRedisMetrics(t *testing.T) {
	m := NewMetrics()
	m.RedisUp(false)
	m.RedisFallback("dedupe")
	m.RedisFallback("dedupe")
	m.RedisFallback("lock")
	m.RedisFallback("something-else") // bounded to "other"
	f := scrape(t, m)
	if got := f["presence_bot_redis_up"].GetMetric()[0].GetGauge().GetValue(); got != 0 {
		t.Errorf("redis_up = %v, want 0", got)
	}
	counts := map[string]float64{}
	for _, mm := range f["presence_bot_redis_fallbacks_total"].GetMetric() {
		counts[mm.GetLabel()[0].GetValue()] = mm.GetCounter().GetValue()
	}
	want := map[string]float64{"dedupe": 2, "lock": 1, "other": 1}
	for op, n := range want {
		if counts[op] != n {
			t.Errorf("fallbacks{op=%s} = %v, want %v", op, counts[op], n)
		}
	}
}

// TestRedisUpOnlyWithRedis: the gauge exists only once Redis is in use
// (REDIS_URL set reports its first state), so a bot without Redis does not
// export a redis_up of 0 that reads as "Redis down".
func TestRedisUpOnlyWithRedis(t *testing.T) {
	m := NewMetrics()
	m.RedisFallback("dedupe") // unrelated Redis metrics do not bring it
	if f := scrape(t, m); f["presence_bot_redis_up"] != nil {
		t.Errorf("redis_up before any Redis state: got %s, want no series", f.series("presence_bot_redis_up"))
	}
	m.RedisUp(false)
	if got := scrape(t, m).value(t, "presence_bot_redis_up", nil); got != 0 {
		t.Errorf("redis_up after RedisUp(false) = %v, want 0", got)
	}
	m.RedisUp(true)
	m.RedisUp(true) // reported again: still one series
	f := scrape(t, m)
	if got := f.value(t, "presence_bot_redis_up", nil); got != 1 {
		t.Errorf("redis_up after RedisUp(true) = %v, want 1", got)
	}
	if n := len(f["presence_bot_redis_up"].GetMetric()); n != 1 {
		t.Errorf("redis_up has %d series, want 1", n)
	}
}

// TestJobTickMetrics counts the ticks a replica ran, by result, and the
// ticks it skipped, by reason, each from a fixed set.
func TestJobTickMetrics(t *testing.T) {
	m := NewMetrics()
	m.JobTick("alerts", nil)
	m.JobTick("alerts", nil)
	m.JobTick("alerts", errors.New("boom"))
	m.JobTick("summary", nil)
	m.JobTickSkipped("alerts", "lock_unavailable")
	m.JobTickSkipped("alerts", "lock_unavailable")
	m.JobTickSkipped("alerts", "other_replica")
	m.JobTickSkipped("summary", "still_running")
	m.JobTickSkipped("summary", "store_unavailable")
	m.JobTickSkipped("summary", "cosmic rays") // not a reason: bounded
	f := scrape(t, m)
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"alerts ok", "presence_bot_job_ticks_total", l("job", "alerts", "result", "ok"), 2},
		{"alerts error", "presence_bot_job_ticks_total", l("job", "alerts", "result", "error"), 1},
		{"summary ok", "presence_bot_job_ticks_total", l("job", "summary", "result", "ok"), 1},
		{"lock unavailable", "presence_bot_job_ticks_skipped_total", l("job", "alerts", "reason", "lock_unavailable"), 2},
		{"other replica", "presence_bot_job_ticks_skipped_total", l("job", "alerts", "reason", "other_replica"), 1},
		{"still running", "presence_bot_job_ticks_skipped_total", l("job", "summary", "reason", "still_running"), 1},
		{"store unavailable", "presence_bot_job_ticks_skipped_total", l("job", "summary", "reason", "store_unavailable"), 1},
		{"unknown reason", "presence_bot_job_ticks_skipped_total", l("job", "summary", "reason", "other"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.value(t, tt.metric, tt.labels); got != tt.want {
				t.Errorf("%s%v: got %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
}
