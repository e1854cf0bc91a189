package observe

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presencebot/presence-bot/presence"
)

// TeamStatus keys the agent counts: a team ID ("" for agents without a
// team) and a status.
type TeamStatus struct {
	Team   string
	Status presence.Status
}

// CountAgents counts agents by team and status, ready for SetAgents.
func CountAgents(agents []presence.Agent) map[TeamStatus]int {
	counts := make(map[TeamStatus]int)
	for _, a := range agents {
		counts[TeamStatus{Team: a.TeamID(), Status: a.Status}]++
	}
	return counts
}

// agentsCollector serves presence_bot_agents from the latest poll. A plain
// GaugeVec would need Reset then Set to drop vanished teams, and a scrape
// in between would see no agents at all; swapping a map under a lock
// replaces the whole set at once.
type agentsCollector struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	counts map[TeamStatus]int
}

func newAgentsCollector() *agentsCollector {
	return &agentsCollector{
		desc: prometheus.NewDesc(namespace+"_agents",
			"Agents by team and status, as of the latest poll of the contact center. Every status of a team that has agents is present, zeros included.",
			[]string{"team", "status"}, nil),
	}
}

// set replaces the counts. Each team present gets every status, zeros
// included, so a rule like "available < 3" sees a 0 rather than no series.
func (c *agentsCollector) set(counts map[TeamStatus]int) {
	full := make(map[TeamStatus]int, len(counts))
	for k, n := range counts {
		if !k.Status.Valid() {
			k.Status = "unknown"
		}
		// Label values must be UTF-8 or the scrape would fail.
		k.Team = strings.ToValidUTF8(k.Team, "\uFFFD")
		for _, st := range presence.Statuses {
			if _, ok := full[TeamStatus{k.Team, st}]; !ok {
				full[TeamStatus{k.Team, st}] = 0
			}
		}
		full[k] += n
	}
	c.mu.Lock()
	c.counts = full
	c.mu.Unlock()
}

func (c *agentsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *agentsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	counts := c.counts
	c.mu.Unlock()
	// The map is never changed after set publishes it, so reading it
	// outside the lock is safe.
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k.Team, string(k.Status))
	}
}
