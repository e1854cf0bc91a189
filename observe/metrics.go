// Package observe exposes the bot's health and Prometheus metrics: the
// hooks the bot, the API client and the alert polls call, and the HTTP
// server behind HTTP_ADDR (/healthz, /readyz, /metrics).
package observe

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/presencebot/presence-bot/presence"
)

// namespace prefixes every metric the bot defines.
const namespace = "presence_bot"

// Label values for anything outside the known set, so a typo or a hostile
// input cannot grow the number of series.
const (
	other    = "other"
	codeNone = "error" // contact-center request with no HTTP answer
)

// Known label values. Anything else is counted as "other".
var (
	knownCommands = map[string]bool{"/status": true, "/presence": true}
	// knownOutcomes are the contract's outcomes of a command or click.
	knownOutcomes = map[string]bool{"ok": true, "refused": true, "error": true}
	// knownSkipReasons are the alerts package's reasons for a skipped tick.
	knownSkipReasons = map[string]bool{"lock_unavailable": true, "other_replica": true, "still_running": true, "store_unavailable": true}
	knownKinds       = map[string]bool{"slash_commands": true, "interactive": true, "events_api": true}
	knownEndpoints   = map[string]bool{"list": true, "get": true, "update": true}
)

// Histogram buckets. Slack drops an envelope not acknowledged within 3 s,
// so ack latency is resolved finely up to there; commands answer within
// 10 s; an API call may retry for longer than that.
var (
	ackBuckets     = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3}
	commandBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	apiBuckets     = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Metrics holds the bot's Prometheus metrics in a registry of its own, so
// tests and several instances in one process never collide. Its methods are
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	commands        *prometheus.CounterVec
	commandDuration *prometheus.HistogramVec
	ackLatency      *prometheus.HistogramVec
	apiRequests     *prometheus.CounterVec
	apiDuration     *prometheus.HistogramVec
	apiRetries      *prometheus.CounterVec
	slackCalls      *prometheus.CounterVec
	slackErrors     *prometheus.CounterVec
	socketUp        prometheus.Gauge
	reconnects      prometheus.Counter
	agents          *agentsCollector
	alertFiring     *prometheus.GaugeVec
	alertLevel      *prometheus.GaugeVec
	redisUp         prometheus.Gauge
	redisOnce       sync.Once // registers redisUp on the first report
	redisFallbacks  *prometheus.CounterVec
	jobTicks        *prometheus.CounterVec
	jobSkips        *prometheus.CounterVec
	journalRecov    prometheus.Counter
	journalDropped  prometheus.Counter
	health          *healthCollector

	// roster: the roster snapshot's metrics (roster_metrics.go).
	roster *rosterMetrics
	// budget: the contact-center API budget's metrics (budget.go).
	budget *budgetMetrics
	// richRefused: charts and tables Slack refused (rich_metrics.go).
	richRefused *prometheus.CounterVec

	mu    sync.Mutex // guards the connection state below
	up    bool
	wasUp bool // the socket has been up at least once
}

// NewMetrics returns the bot's metrics, registered with a fresh registry
// together with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "commands_total",
			Help: "Slash commands and button clicks answered, by command (/status, /presence or other) and outcome: ok (done as asked), refused (bad input, not allowed, invalid transition, unknown command) or error (the person was told something failed).",
		}, []string{"command", "outcome"}),
		commandDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "command_duration_seconds",
			Help:    "Time from receiving a slash command to its answer being sent, by command.",
			Buckets: commandBuckets,
		}, []string{"command"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ack_latency_seconds",
			Help:    "Time taken to acknowledge a Socket Mode envelope, by envelope kind; Slack gives up after 3 s.",
			Buckets: ackBuckets,
		}, []string{"kind"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "contact_center_requests_total",
			Help: `Contact-center API calls, by endpoint (list, get, update) and final HTTP status code ("error" when no answer arrived, including failing fast).`,
		}, []string{"endpoint", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "contact_center_request_duration_seconds",
			Help:    "Duration of contact-center API calls including retries, by endpoint.",
			Buckets: apiBuckets,
		}, []string{"endpoint"}),
		apiRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "contact_center_retries_total",
			Help: "Contact-center HTTP attempts beyond the first of each call, by endpoint.",
		}, []string{"endpoint"}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_api_calls_total",
			Help: "Slack Web API calls, by method (e.g. chat.postMessage; other for anything else).",
		}, []string{"method"}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_api_errors_total",
			Help: `Failed Slack Web API calls, by method and error: Slack's error code for "ok":false answers, http_<code> for HTTP errors, transport when no answer arrived.`,
		}, []string{"method", "error"}),
		socketUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "socket_up",
			Help: "1 while the Slack Socket Mode connection is up, 0 otherwise.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "socket_reconnects_total",
			Help: "Times the Slack Socket Mode connection came back after being down (the first connection is not counted).",
		}),
		agents: newAgentsCollector(),
		health: newHealthCollector(),
		alertFiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "alert_firing",
			Help: "1 while the availability alert rule is firing, 0 otherwise, by rule name (all, team:<id>, or a rules file's name).",
		}, []string{"rule"}),
		alertLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "alert_level",
			Help: "The availability alert rule's level: 0 not firing, 1 warning, 2 critical, by rule name.",
		}, []string{"rule"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "redis_up",
			Help: "1 while the shared Redis answers, 0 while the bot runs degraded (only with REDIS_URL).",
		}),
		redisFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "redis_fallbacks_total",
			Help: "Operations that could not use Redis, by op: dedupe (fell back to local memory), lock (scheduled run skipped), store (state not shared), journal (a command ran unjournaled, or its entry stayed after the answer), homes (who opened the App Home kept locally), roster (the shared roster snapshot unreadable or not saved: this replica fetched its own), budget (an API request kept to this replica's share of the budget).",
		}, []string{"op"}),
		jobTicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "job_ticks_total",
			Help: "Scheduled job ticks this replica ran, by job and result (ok or error).",
		}, []string{"job", "result"}),
		journalRecov: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "journal_recovered_total",
			Help: "Commands and clicks another replica acknowledged and died before answering, finished by this one from the journal (with REDIS_URL).",
		}),
		journalDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "journal_dropped_total",
			Help: "Journaled commands dropped unanswered because they were found after their response_url expired (30 min).",
		}),
		jobSkips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "job_ticks_skipped_total",
			Help: "Scheduled job ticks this replica did not run, by job and reason: lock_unavailable (the shared lock could not be asked, e.g. Redis down), other_replica (another replica runs it; normal), still_running (this job's previous tick is still going, here or on another replica), store_unavailable (the job could not read or save its state).",
		}, []string{"job", "reason"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.commands, m.commandDuration, m.ackLatency,
		m.apiRequests, m.apiDuration, m.apiRetries,
		m.slackCalls, m.slackErrors,
		m.socketUp, m.reconnects,
		m.agents, m.alertFiring, m.alertLevel, m.health,
		m.redisFallbacks,
		m.jobTicks, m.jobSkips,
		m.journalRecov, m.journalDropped,
	)
	// The roster snapshot's metrics (roster_metrics.go).
	m.roster = newRosterMetrics()
	m.reg.MustRegister(m.roster.collectors()...)
	// The API budget's metrics (budget.go).
	m.budget = newBudgetMetrics()
	m.reg.MustRegister(m.budget.collectors()...)
	m.richRefused = newRichRefused()
	m.reg.MustRegister(m.richRefused)
	return m
}

// Registry returns the registry, for callers that add metrics of their own
// or gather in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector that fails should not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	}))
}

// ObserveAPI records one contact-center call. It fits
// presence.WithObserver.
func (m *Metrics) ObserveAPI(o presence.Observation) {
	endpoint := bounded(o.Endpoint, knownEndpoints)
	code := codeNone
	if o.Code > 0 {
		code = httpCode(o.Code)
	}
	m.apiRequests.WithLabelValues(endpoint, code).Inc()
	m.apiDuration.WithLabelValues(endpoint).Observe(o.Duration.Seconds())
	if o.Attempts > 1 {
		m.apiRetries.WithLabelValues(endpoint).Add(float64(o.Attempts - 1))
	}
}

// Acked records how long acknowledging a Socket Mode envelope took. It fits
// bot.Hooks.Acked.
func (m *Metrics) Acked(kind string, latency time.Duration) {
	m.ackLatency.WithLabelValues(bounded(kind, knownKinds)).Observe(latency.Seconds())
}

// Answered records a command's outcome (ok, refused or error) and how
// long it took. It fits bot.Hooks.Answered.
func (m *Metrics) Answered(command, outcome string, took time.Duration) {
	command = bounded(command, knownCommands)
	m.commands.WithLabelValues(command, bounded(outcome, knownOutcomes)).Inc()
	m.commandDuration.WithLabelValues(command).Observe(took.Seconds())
}

// Connection records the Socket Mode connection going up or down. It fits
// bot.Hooks.Connection. Only a change from down to up after the first
// connection counts as a reconnect, so a caller reporting the same state
// twice does not inflate the count.
func (m *Metrics) Connection(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if up && !m.up && m.wasUp {
		m.reconnects.Inc()
	}
	m.up = up
	m.wasUp = m.wasUp || up
	m.socketUp.Set(boolValue(up))
}

// SetAgents replaces the agent counts with those of the latest poll. Teams
// absent from counts disappear from the metric.
func (m *Metrics) SetAgents(counts map[TeamStatus]int) {
	m.agents.set(counts)
}

// SetAlert records an availability rule's level: "" while it does not
// fire, else "warning" or "critical" (alert_firing 1, alert_level 1 or 2).
func (m *Metrics) SetAlert(rule, level string) {
	// Label values must be UTF-8 or WithLabelValues panics.
	rule = strings.ToValidUTF8(rule, "\uFFFD")
	m.alertFiring.WithLabelValues(rule).Set(boolValue(level != ""))
	var n float64
	switch level {
	case "":
	case "critical":
		n = 2
	default: // warning, and any level a later version adds below critical
		n = 1
	}
	m.alertLevel.WithLabelValues(rule).Set(n)
}

// RedisUp records whether the shared Redis answers. The gauge exists
// from the first report on: only with REDIS_URL, whose client reports its
// state as soon as it opens, so a bot without Redis has no redis_up 0
// that reads as an outage.
func (m *Metrics) RedisUp(up bool) {
	m.redisUp.Set(boolValue(up)) // before registering: never a false 0
	m.redisOnce.Do(func() { m.reg.MustRegister(m.redisUp) })
}

// RedisFallback counts an operation that could not use Redis.
func (m *Metrics) RedisFallback(op string) {
	m.redisFallbacks.WithLabelValues(bounded(op, redisOps)).Inc()
}

var redisOps = map[string]bool{"dedupe": true, "lock": true, "store": true, "journal": true, "homes": true, "roster": true, "budget": true}

// JournalRecovered counts a command finished here for a replica that
// died before answering it. It fits bot.Hooks.Recovered.
func (m *Metrics) JournalRecovered() { m.journalRecov.Inc() }

// JournalDropped counts a journaled command dropped as too old to answer.
func (m *Metrics) JournalDropped() { m.journalDropped.Inc() }

// JobTick counts a tick a scheduled job ran on this replica; err is what
// the run returned.
func (m *Metrics) JobTick(job string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jobTicks.WithLabelValues(jobLabel(job), result).Inc()
}

// JobTickSkipped counts a tick this replica did not run, with the
// scheduler's reason.
func (m *Metrics) JobTickSkipped(job, reason string) {
	m.jobSkips.WithLabelValues(jobLabel(job), bounded(reason, knownSkipReasons)).Inc()
}

// jobLabel is a job's name as a label value. Jobs are named in code, so
// the set is bounded already; only invalid UTF-8 would make the label
// panic.
func jobLabel(job string) string { return strings.ToValidUTF8(job, "\uFFFD") }

// bounded returns v when it is in known and "other" otherwise.
func bounded(v string, known map[string]bool) string {
	if known[v] {
		return v
	}
	return other
}

// httpCode renders a status code as a label; only real HTTP codes are kept.
func httpCode(code int) string {
	if code < 100 || code > 599 {
		return other
	}
	return strconv.Itoa(code)
}
