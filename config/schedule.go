package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when a job runs: every fixed duration (aligned to the wall
// clock by the scheduler) or on a cron expression. Exactly one of Every and
// Cron is set.
type Schedule struct {
	Every time.Duration
	// Cron is the expression with its fields separated by single spaces.
	Cron string
	// WithSeconds reports that Cron has six fields, seconds first; pass it
	// to gocron.CronJob.
	WithSeconds bool
}

// ParseSchedule reads a Go duration of at least 1s ("30s", "1h") or a cron
// expression of 5 fields, or 6 with leading seconds ("0 9 * * Mon-Fri",
// "*/30 * * * * *"). Cron descriptors (@hourly) and TZ= prefixes are
// refused: the contract names the two forms, and TIMEZONE sets the zone.
// Errors do not repeat the input; callers add it.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Schedule{}, errors.New("empty schedule: want a Go duration such as 1h or a cron expression")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < minInterval {
			return Schedule{}, fmt.Errorf("must be at least %s", minInterval)
		}
		return Schedule{Every: d}, nil
	}
	if strings.HasPrefix(s, "@") {
		return Schedule{}, errors.New("cron descriptors such as @hourly are not supported: use a duration (1h) or 5 or 6 cron fields")
	}
	// Checked before parsing, also because robfig/cron panics on a TZ=
	// prefix with nothing after it.
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return Schedule{}, errors.New("time zone prefixes are not supported: set TIMEZONE instead")
	}
	fields := strings.Fields(s)
	var opts cron.ParseOption
	switch len(fields) {
	case 5:
		opts = cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
	case 6:
		opts = cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
	case 1:
		return Schedule{}, errors.New("want a Go duration such as 30s or 1h, or a cron expression of 5 fields (6 with leading seconds)")
	default:
		return Schedule{}, fmt.Errorf("a cron expression has 5 fields (6 with leading seconds), got %d", len(fields))
	}
	expr := strings.Join(fields, " ")
	sched, err := cron.NewParser(opts).Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("invalid cron expression: %w", err)
	}
	// Probe from a fixed instant so the check does not depend on wall time;
	// robfig/cron looks five years ahead, which covers February 29.
	probe := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	if sched.Next(probe).IsZero() {
		return Schedule{}, errors.New("the cron expression never fires")
	}
	return Schedule{Cron: expr, WithSeconds: len(fields) == 6}, nil
}

// String returns the schedule in a form ParseSchedule reads back.
func (s Schedule) String() string {
	if s.Cron != "" {
		return s.Cron
	}
	if s.Every > 0 {
		return s.Every.String()
	}
	return ""
}
