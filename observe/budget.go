package observe

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presencebot/presence-bot/presence"
)

// BudgetWatcher is what the metrics read of the API budget at scrape
// time (a *presence.Budget).
type BudgetWatcher interface {
	State() presence.BudgetState
}

// budgetWaitBuckets reach the budget's 20-minute limit: a burst of
// status changes at the budget's rate waits minutes, not milliseconds.
var budgetWaitBuckets = []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200}

var knownPriorities = map[string]bool{"read": true, "write": true}

// budgetMetrics are the API budget's metrics.
type budgetMetrics struct {
	requests *prometheus.CounterVec
	wait     *prometheus.HistogramVec
	state    *budgetCollector
}

func newBudgetMetrics() *budgetMetrics {
	return &budgetMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_requests_total",
			Help: "HTTP requests to the contact center as the API budget let them through, one per attempt (retries included), by kind (list, get, update).",
		}, []string{"kind"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "api_budget_wait_seconds",
			Help:    "Time a request waited for the API budget before it was sent, by priority (write: status changes; read: rosters and lookups).",
			Buckets: budgetWaitBuckets,
		}, []string{"priority"}),
		state: newBudgetCollector(),
	}
}

func (b *budgetMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{b.requests, b.wait, b.state}
}

// ObserveBudget records one request the API budget let through. It fits
// presence.BudgetOptions.OnGrant.
func (m *Metrics) ObserveBudget(g presence.BudgetGrant) {
	m.budget.requests.WithLabelValues(bounded(g.Kind, knownEndpoints)).Inc()
	m.budget.wait.WithLabelValues(bounded(g.Priority.String(), knownPriorities)).Observe(g.Waited.Seconds())
}

// WatchBudget exports b's tokens and pause as presence_bot_api_budget_tokens
// and presence_bot_api_paused, read at scrape time.
func (m *Metrics) WatchBudget(b BudgetWatcher) { m.budget.state.b.Store(&b) }

// budgetCollector reads a budget's state at scrape time; it exports
// nothing until a budget is watched.
type budgetCollector struct {
	b      atomic.Pointer[BudgetWatcher]
	tokens *prometheus.Desc
	paused *prometheus.Desc
}

func newBudgetCollector() *budgetCollector {
	return &budgetCollector{
		tokens: prometheus.NewDesc(namespace+"_api_budget_tokens",
			"Requests the API budget would let through at once now, as well as this replica knows (with Redis: the shared bucket at its last answer, refilled since). Absent while the budget is off or before the shared bucket first answers.", nil, nil),
		paused: prometheus.NewDesc(namespace+"_api_paused",
			"1 while a 429's Retry-After holds every request to the contact center (on every replica, with Redis), 0 otherwise.", nil, nil),
	}
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tokens
	ch <- c.paused
}

func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.b.Load()
	if p == nil {
		return
	}
	st := (*p).State()
	if !math.IsNaN(st.Tokens) {
		ch <- prometheus.MustNewConstMetric(c.tokens, prometheus.GaugeValue, st.Tokens)
	}
	ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, boolValue(st.PausedUntil.After(time.Now())))
}

// budgetBody is the API budget in /readyz.
type budgetBody struct {
	Mode  string  `json:"mode"` // shared, local or off
	Rate  float64 `json:"rate"` // the fleet's requests per second
	Burst int     `json:"burst"`
	// PausedUntil is when a 429's pause ends; null when none holds.
	PausedUntil *time.Time    `json:"paused_until"`
	Tokens      *float64      `json:"tokens,omitempty"`
	Waiting     budgetWaiting `json:"waiting"`
	Detail      string        `json:"detail,omitempty"`
}

type budgetWaiting struct {
	Writes int `json:"writes"`
	Reads  int `json:"reads"`
}

// WatchBudget shows the API budget in /readyz's body (never in its
// readiness: a budget held back is the bot keeping to its limit).
func (h *Health) WatchBudget(f func() presence.BudgetState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.budget = f
}

// budgetNow is /readyz's budget object, nil when none is watched.
func budgetNow(f func() presence.BudgetState, now time.Time) *budgetBody {
	if f == nil {
		return nil
	}
	st := f()
	b := &budgetBody{Mode: st.Mode, Rate: st.Rate, Burst: st.Burst, Detail: st.Detail,
		Waiting: budgetWaiting{Writes: st.WaitingWrites, Reads: st.WaitingReads}}
	if st.PausedUntil.After(now) {
		until := st.PausedUntil.UTC()
		b.PausedUntil = &until
	}
	if !math.IsNaN(st.Tokens) {
		t := math.Round(st.Tokens*100) / 100
		b.Tokens = &t
	}
	return b
}
