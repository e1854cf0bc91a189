package observe

import "testing"

func TestJournalMetrics(t *testing.T) {
	m := NewMetrics()
	m.JournalRecovered()
	m.JournalRecovered()
	m.JournalDropped()
	m.RedisFallback("journal")
	f := scrape(t, m)
	if got := f["presence_bot_journal_recovered_total"].GetMetric()[0].GetCounter().GetValue(); got != 2 {
		t.Errorf("journal_recovered_total = %v, want 2", got)
	}
	if got := f["presence_bot_journal_dropped_total"].GetMetric()[0].GetCounter().GetValue(); got != 1 {
		t.Errorf("journal_dropped_total = %v, want 1", got)
	}
	for _, mm := range f["presence_bot_redis_fallbacks_total"].GetMetric() {
		if op := mm.GetLabel()[0].GetValue(); op != "journal" {
			t.Errorf("fallback counted under op=%s, want journal", op)
		}
	}
}
