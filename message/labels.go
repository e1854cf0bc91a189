package message

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// UniqueLabels formats times in loc with layout as a chart's categories,
// which must be distinct (Slack refuses a chart whose categories repeat):
// where two read alike, the zone abbreviation is added (the hour that
// repeats the night clocks go back: "01:00 EDT", "01:00 EST"), else the
// weekday, else the date, and at last they are numbered. No label is
// longer than MaxChartLabel.
func UniqueLabels(times []time.Time, loc *time.Location, layout string) []string {
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range []string{layout, layout + " MST", "Mon " + layout, "Mon " + layout + " MST", "Jan 2 " + layout + " MST"} {
		if out, ok := distinctLabels(times, loc, l); ok {
			return out
		}
	}
	// Alike at every layout (a year apart): numbered, still distinct.
	out := make([]string, len(times))
	for i := range times {
		out[i] = fmt.Sprintf("#%d", i+1)
	}
	return out
}

// distinctLabels formats times with layout; false when two read alike or
// one is too long for a label.
func distinctLabels(times []time.Time, loc *time.Location, layout string) ([]string, bool) {
	out := make([]string, len(times))
	seen := make(map[string]bool, len(times))
	for i, t := range times {
		out[i] = t.In(loc).Format(layout)
		if seen[out[i]] || utf8.RuneCountInString(out[i]) > MaxChartLabel {
			return nil, false
		}
		seen[out[i]] = true
	}
	return out, true
}
