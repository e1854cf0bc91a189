package observe

import "testing"

func TestRichBlocksRefused(t *testing.T) {
	m := NewMetrics()
	m.RichBlocksRefused("response_url")
	m.RichBlocksRefused("response_url")
	m.RichBlocksRefused("chat.postMessage")
	m.RichBlocksRefused("chat.typo") // a surface not known is counted as other
	f := scrape(t, m)
	for _, tt := range []struct {
		surface string
		want    float64
	}{{"response_url", 2}, {"chat.postMessage", 1}, {"other", 1}} {
		if got := f.value(t, "presence_bot_rich_blocks_refused_total", l("surface", tt.surface)); got != tt.want {
			t.Errorf("surface %s: %v, want %v", tt.surface, got, tt.want)
		}
	}
}
