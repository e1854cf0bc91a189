package config

import (
	"slices"
	"strings"
	"testing"
)

// REPORT_CHANNEL switches the daily report on; REPORT_SCHEDULE, a cron
// expression read in TIMEZONE, is then required.
func TestLoadReport(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{
		"REPORT_CHANNEL": "C0REPORT", "REPORT_SCHEDULE": " 0 18 * * Mon-Fri ", "TIMEZONE": "Asia/Kolkata",
	}))
	want := Report{Channel: "C0REPORT", Schedule: Schedule{Cron: "0 18 * * Mon-Fri"}}
	if c.Report != want || !c.Report.Enabled() {
		t.Errorf("Report = %+v (enabled %v), want %+v, enabled", c.Report, c.Report.Enabled(), want)
	}
	// Six fields (seconds first) are a cron expression too.
	c = mustLoad(t, withCredentials(map[string]string{"REPORT_CHANNEL": "C0REPORT", "REPORT_SCHEDULE": "30 0 18 * * *"}))
	if want := (Schedule{Cron: "30 0 18 * * *", WithSeconds: true}); c.Report.Schedule != want {
		t.Errorf("six fields: Schedule = %+v, want %+v", c.Report.Schedule, want)
	}
	// Check verifies the report's channel with the others.
	if got := c.Channels(); !slices.Contains(got, ChannelSetting{"REPORT_CHANNEL", "C0REPORT"}) {
		t.Errorf("Channels() = %v, want REPORT_CHANNEL among them", got)
	}

	c = mustLoad(t, withCredentials(nil))
	if c.Report.Enabled() || c.Report != (Report{}) {
		t.Errorf("unset: Report = %+v, want off and empty", c.Report)
	}
}

func TestLoadReportProblems(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		wants []string // in the one problem's message
	}{
		// The channel without a schedule: there is no sensible default time.
		{"missing schedule", map[string]string{"REPORT_CHANNEL": "C0REPORT"},
			[]string{"REPORT_SCHEDULE", "required when REPORT_CHANNEL is set", "0 18 * * Mon-Fri"}},
		// A minute of 61.
		{"bad cron", map[string]string{"REPORT_CHANNEL": "C0REPORT", "REPORT_SCHEDULE": "61 18 * * *"},
			[]string{"REPORT_SCHEDULE", `"61 18 * * *"`, "invalid cron expression"}},
		// A duration would post many reports a day.
		{"duration", map[string]string{"REPORT_CHANNEL": "C0REPORT", "REPORT_SCHEDULE": "24h"},
			[]string{"REPORT_SCHEDULE", `"24h"`, "want a cron expression", "0 18 * * Mon-Fri"}},
		{"descriptor", map[string]string{"REPORT_CHANNEL": "C0REPORT", "REPORT_SCHEDULE": "@daily"},
			[]string{"REPORT_SCHEDULE", `"@daily"`, "cron descriptors"}},
		// A bad schedule is a problem even while the report is off.
		{"bad cron without channel", map[string]string{"REPORT_SCHEDULE": "0 18 * *"},
			[]string{"REPORT_SCHEDULE", "5 fields"}},
		// A name where the ID belongs, as for SUMMARY_CHANNEL.
		{"channel name", map[string]string{"REPORT_CHANNEL": "#floor-reports", "REPORT_SCHEDULE": "0 18 * * *"},
			[]string{"REPORT_CHANNEL", `"#floor-reports"`, "use the channel's ID (C…)"}},
		{"channel link", map[string]string{"REPORT_CHANNEL": "<#C0REPORT|reports>", "REPORT_SCHEDULE": "0 18 * * *"},
			[]string{"REPORT_CHANNEL", "use its ID: C0REPORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := problemsOf(t, withCredentials(tt.vars))
			if len(problems) != 1 {
				t.Fatalf("got problems %v, want one", problems)
			}
			got := problems[0].String()
			for _, w := range tt.wants {
				if !strings.Contains(got, w) {
					t.Errorf("problem %q lacks %q", got, w)
				}
			}
		})
	}
}

// A report channel given by name is left for check to resolve, as the
// other channels are.
func TestLoadReportChannelNameForCheck(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{"REPORT_CHANNEL": "#floor-reports", "REPORT_SCHEDULE": "0 18 * * *"}),
		AllowChannelNames())
	if got := c.Channels(); !slices.Equal(got, []ChannelSetting{{"REPORT_CHANNEL", "#floor-reports"}}) {
		t.Errorf("Channels() = %v, want REPORT_CHANNEL as given", got)
	}
}

// A schedule without its channel has no effect: a warning, not an error.
func TestLoadReportScheduleWithoutChannel(t *testing.T) {
	c := mustLoad(t, withCredentials(map[string]string{"REPORT_SCHEDULE": "0 18 * * Mon-Fri"}))
	want := Problem{"REPORT_SCHEDULE", "set, but the daily report is off (REPORT_CHANNEL is not set): it has no effect"}
	if !slices.Contains(c.Ignored, want) {
		t.Errorf("Ignored = %v, want %v", c.Ignored, want)
	}
	if c.Report.Enabled() {
		t.Errorf("Report enabled without a channel")
	}
}
