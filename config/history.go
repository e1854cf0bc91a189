package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// History retention (HISTORY_RETENTION): how long per-team counts and
// alert events are kept. At least a day, for the daily report; at most a
// month, which bounds the store (about 0.2 MB a day for 100 teams past
// the first day).
const (
	defaultHistoryRetention = 8 * day
	minHistoryRetention     = day
	maxHistoryRetention     = 31 * day
	day                     = 24 * time.Hour
)

// historyRetention reads HISTORY_RETENTION.
func (l *loader) historyRetention() time.Duration {
	const name = "HISTORY_RETENTION"
	v := l.str(name)
	if v == "" {
		return defaultHistoryRetention
	}
	d, err := parseDays(v)
	switch {
	case errors.Is(err, errTooLong) || err == nil && d > maxHistoryRetention:
		l.addf(name, "%q: must be at most 31d", v)
	case err != nil:
		l.addf(name, "%q: want days or a Go duration, such as 8d, 14d or 36h", v)
	case d < minHistoryRetention:
		l.addf(name, "%q: must be at least 1d: the daily report and the charts look back a day", v)
	default:
		return d
	}
	return defaultHistoryRetention
}

var errTooLong = errors.New("too long")

// parseDays reads a Go duration that may start with whole days: "8d",
// "1d12h", "36h". Go's durations stop at hours; the contract writes
// retention in days.
func parseDays(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	digits := len(body) - len(strings.TrimLeft(body, "0123456789"))
	if digits == 0 || digits == len(body) || body[digits] != 'd' {
		return time.ParseDuration(s)
	}
	days, err := strconv.Atoi(body[:digits])
	if err != nil || days > 100_000 {
		return 0, errTooLong
	}
	d := time.Duration(days) * day
	if rest := body[digits+1:]; rest != "" {
		if rest[0] < '0' || rest[0] > '9' {
			return 0, errors.New("bad duration")
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, err
		}
		d += r
	}
	if neg {
		d = -d
	}
	return d, nil
}
