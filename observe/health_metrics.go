package observe

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// healthCollector exports a Health's readiness, read at scrape time, so
// alert rules need not probe /readyz. It exports nothing until a Health is
// attached.
type healthCollector struct {
	h     atomic.Pointer[Health]
	ready *prometheus.Desc
	state *prometheus.Desc
}

func newHealthCollector() *healthCollector {
	return &healthCollector{
		ready: prometheus.NewDesc(namespace+"_ready",
			"1 when /readyz answers 200 (ready: no part down, refused or being checked, not shutting down), 0 otherwise.", nil, nil),
		state: prometheus.NewDesc(namespace+"_health_state",
			"1 for each part's current state (ok, degraded, checking, refused or down), 0 for the others.",
			[]string{"part", "state"}, nil),
	}
}

// WatchHealth exports h's readiness as presence_bot_ready and
// presence_bot_health_state. NewServer calls it; calling it again switches
// to the new Health.
func (m *Metrics) WatchHealth(h *Health) { m.health.h.Store(h) }

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.ready
	ch <- c.state
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h.Load()
	if h == nil {
		return
	}
	ready, parts := h.Ready()
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, boolValue(ready))
	for part, ps := range parts {
		states := []State{OK, Degraded, Checking, Refused, Down}
		if !slices.Contains(states, ps.State) {
			// An unknown state counts as down, as in Ready.
			ps.State = Down
		}
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, boolValue(ps.State == s), part, string(s))
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
