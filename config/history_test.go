package config

import (
	"strings"
	"testing"
	"time"
)

// HISTORY_RETENTION takes days ("8d", as the contract writes its
// default), Go durations, or both ("1d12h"); unset it is 8 days.
func TestLoadHistoryRetention(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 8 * 24 * time.Hour}, // the default
		{"8d", 8 * 24 * time.Hour},
		{" 14d ", 14 * 24 * time.Hour},
		{"36h", 36 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"31d", 31 * 24 * time.Hour},
	}
	for _, tt := range tests {
		vars := map[string]string{}
		if tt.value != "" {
			vars["HISTORY_RETENTION"] = tt.value
		}
		c := mustLoad(t, withCredentials(vars))
		if c.HistoryRetention != tt.want {
			t.Errorf("HISTORY_RETENTION=%q: %s, want %s", tt.value, c.HistoryRetention, tt.want)
		}
	}
}

func TestLoadHistoryRetentionProblems(t *testing.T) {
	tests := []struct {
		value string
		wants []string // in the one problem's message
	}{
		{"a week", []string{`"a week"`, "want days or a Go duration", "8d"}},
		{"8 d", []string{`"8 d"`, "want days or a Go duration"}},
		{"-2d", []string{`"-2d"`, "at least 1d"}},
		{"12h", []string{`"12h"`, "at least 1d", "the daily report"}},
		{"32d", []string{`"32d"`, "at most 31d"}},
		{"99999999999d", []string{"at most 31d"}},
	}
	for _, tt := range tests {
		problems := problemsOf(t, withCredentials(map[string]string{"HISTORY_RETENTION": tt.value}))
		if len(problems) != 1 || problems[0].Var != "HISTORY_RETENTION" {
			t.Errorf("HISTORY_RETENTION=%q: problems %v, want one about HISTORY_RETENTION", tt.value, problems)
			continue
		}
		for _, w := range tt.wants {
			if got := problems[0].String(); !strings.Contains(got, w) {
				t.Errorf("HISTORY_RETENTION=%q: problem %q lacks %q", tt.value, got, w)
			}
		}
	}
}
