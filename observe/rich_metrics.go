package observe

import "github.com/prometheus/client_golang/prometheus"

// richSurfaces are where the bot sends rich blocks (charts and tables)
// and Slack may refuse them.
var richSurfaces = map[string]bool{
	"response_url": true, "chat.postMessage": true, "chat.postEphemeral": true,
	"chat.update": true, "views.publish": true,
}

func newRichRefused() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "rich_blocks_refused_total",
		Help: "Messages with native charts or tables (data_visualization, data_table) Slack refused, sent again at once without them, by surface (response_url, chat.postMessage, chat.postEphemeral, chat.update, views.publish). The workspace is then sent classic blocks for a while.",
	}, []string{"surface"})
}

// RichBlocksRefused counts a message whose charts or tables Slack refused
// on surface; it fits bot.Slack.RichRefused.
func (m *Metrics) RichBlocksRefused(surface string) {
	m.richRefused.WithLabelValues(bounded(surface, richSurfaces)).Inc()
}
