package observe

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// knownRosterSources are where a roster snapshot comes from (presence's
// SourceAPI and SourceStore).
var knownRosterSources = map[string]bool{"api": true, "redis": true}

// rosterMetrics are the roster snapshot's: how often each replica fetched
// it or read another's from Redis, and how old the one it holds is.
type rosterMetrics struct {
	refreshes *prometheus.CounterVec
	age       *snapshotAgeCollector
}

func newRosterMetrics() *rosterMetrics {
	return &rosterMetrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "roster_refreshes_total",
			Help: "Roster snapshots this replica took in, by source: api (it fetched the roster from the contact center) or redis (it read the one another replica fetched). Across the fleet, api grows once per PRESENCE_CACHE_TTL at most while the roster is read.",
		}, []string{"source"}),
		age: &snapshotAgeCollector{desc: prometheus.NewDesc(namespace+"_snapshot_age_seconds",
			"Age of this replica's latest roster snapshot, at the scrape; above PRESENCE_CACHE_TTL while the API budget is under pressure (answers then say how old their data is). Absent until the first snapshot.",
			nil, nil)},
	}
}

func (r *rosterMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.refreshes, r.age}
}

// RosterRefreshed counts a roster snapshot taken in, by source ("api" or
// "redis"; anything else counts as "other"). With a snapshot argument
// dropped it fits presence.WithRefreshObserver.
func (m *Metrics) RosterRefreshed(source string) {
	m.roster.refreshes.WithLabelValues(bounded(source, knownRosterSources)).Inc()
}

// WatchSnapshotAge reports, at every scrape, the age age returns, when it
// says there is a snapshot.
func (m *Metrics) WatchSnapshotAge(age func() (time.Duration, bool)) {
	m.roster.age.age.Store(&age)
}

// snapshotAgeCollector asks for the age at each scrape, so the gauge
// grows between refreshes as the snapshot does.
type snapshotAgeCollector struct {
	desc *prometheus.Desc
	age  atomic.Pointer[func() (time.Duration, bool)]
}

func (c *snapshotAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *snapshotAgeCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.age.Load()
	if f == nil {
		return
	}
	if age, ok := (*f)(); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, age.Seconds())
	}
}
