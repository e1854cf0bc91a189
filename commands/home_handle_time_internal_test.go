package commands

import (
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

// The Home's team table's "Avg handle time" is the API's avg_handle_time
// weighted by calls, as the daily report computes it: not talk time per
// call (handle time is talk + hold + after-call work).
func TestHomeAvgHandleTimeIsTheAPIsWeightedByCalls(t *testing.T) {
	tc := &teamCount{id: "sales", name: "Sales", available: &topK{k: 1}}
	// 10 calls at 300 s (1,200 s of talk), 5 at 120 s (500 s of talk),
	// and an agent without stats, who counts for nothing.
	tc.addStats(&presence.Stats{CallsHandledToday: 10, AvgHandleTime: 300, TotalTalkTime: 1200})
	tc.addStats(&presence.Stats{CallsHandledToday: 5, AvgHandleTime: 120, TotalTalkTime: 500})
	tc.addStats(nil)
	row := teamRow(tc)
	i := len(teamColumns) - 1
	if teamColumns[i].Name != "Avg handle time" {
		t.Fatalf("last column is %q", teamColumns[i].Name)
	}
	// (10×300 + 5×120) / 15 = 240 s; talk per call would be 113 s.
	if got := row[i]; got.Number != 240 || got.Text != "4m" {
		t.Errorf("Avg handle time = %v s (%q), want 240 s (\"4m\")", got.Number, got.Text)
	}
	if got := row[i-1]; got.Number != 15 {
		t.Errorf("Calls today = %v, want 15", got.Number)
	}
}

// A team whose agents handled no call has no handle time: "–", value 0.
func TestHomeAvgHandleTimeWithoutCalls(t *testing.T) {
	tc := &teamCount{id: "sales", name: "Sales", available: &topK{k: 1}}
	tc.addStats(&presence.Stats{AvgHandleTime: 300})
	row := teamRow(tc)
	if got := row[len(row)-1]; got.Text != noFigure || got.Number != 0 {
		t.Errorf("Avg handle time without calls = %+v, want %q and 0", got, noFigure)
	}
}
