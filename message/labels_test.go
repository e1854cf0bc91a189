package message

import (
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// Chart categories must be distinct: times that read alike get the zone
// (the hour clocks go back), then the weekday (a week's same clock time),
// and are never longer than a label may be.
func TestUniqueLabels(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err) // no zone database
	}
	hours := func(start time.Time, n int, step time.Duration) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = start.Add(time.Duration(i) * step)
		}
		return out
	}
	fallBack := time.Date(2025, 11, 2, 4, 0, 0, 0, time.UTC) // 00:00 EDT
	for _, tc := range []struct {
		name   string
		times  []time.Time
		loc    *time.Location
		layout string
		want   []string
	}{
		// Distinct already: the layout alone.
		{"an afternoon", hours(time.Date(2025, 3, 3, 13, 0, 0, 0, time.UTC), 3, time.Hour), time.UTC, "15:04",
			[]string{"13:00", "14:00", "15:00"}},
		// 01:00 twice when the clocks go back: the zone tells them apart.
		{"fall back", hours(fallBack, 4, time.Hour), ny, "15:04",
			[]string{"00:00 EDT", "01:00 EDT", "01:00 EST", "02:00 EST"}},
		// The same clock time on two days: the weekday.
		{"two days", hours(time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), 2, 24*time.Hour), time.UTC, "15:04",
			[]string{"Mon 09:00", "Tue 09:00"}},
	} {
		if got := UniqueLabels(tc.times, tc.loc, tc.layout); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// A year of the same clock time: the weekday and date repeat too, so
	// numbered; still distinct and short.
	same := hours(time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), 2, 364*24*time.Hour)
	got := UniqueLabels(same, time.UTC, "Mon 15:04")
	if len(got) != 2 || got[0] == got[1] {
		t.Errorf("a year apart: %q, want two distinct labels", got)
	}
	for _, l := range got {
		if utf8.RuneCountInString(l) > MaxChartLabel {
			t.Errorf("label %q is over %d runes", l, MaxChartLabel)
		}
	}
}
