package app_test

import (
	"strings"
	"testing"
)

// The demo's report command posts the day's report at once, drawn as the
// console draws charts and tables: from the first sample on, with the
// simulator's call figures.
func TestDemoReport(t *testing.T) {
	out := runDemo(t, "help", "report")
	inOrder(t, out,
		"report ", "post the day's report now",
		"[#reports · post ",
		"Daily report · ",
		"All teams · 21 agents seen · available: peak 9 at ", // 25 agents, 4 offline
		"Available agents, ", // the chart, one sparkline per team
		"  Billing ", "  Sales ", "  Support ",
		"Daily report per team, ", // the table: the lowest availability first
		"Team ", "Agents seen", "Peak available", "Lowest available", "Calls handled", "Avg handle time", "Talk time",
		"─",
		"Billing ", "Support ", "Sales ",
		"Agents seen: the most logged in at once.",
	)
	if strings.Count(out, "Daily report · ") != 1 {
		t.Errorf("want one report:\n%s", out)
	}
}
