package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ActiveHours is when alerts may fire (ALERT_ACTIVE_HOURS). Its zero value
// is always active.
//
// The syntax is one or more entries joined by ",", each "DAYS HH:MM-HH:MM":
//
//	Mon-Fri 08:00-20:00,Sat 09:00-13:00
//
// DAYS is a day (Mon, or Monday, in any case) or a range of days. A range
// that runs past Sunday wraps around the week: Fri-Mon is Friday, Saturday,
// Sunday and Monday, the natural reading of a weekend shift. DAYS may be
// left out to mean every day. Times are 24-hour HH:MM; the start is
// included and the end excluded, the end must come after the start, and
// 24:00 ends at midnight. A window across midnight is two entries:
// "Fri 22:00-24:00,Sat 00:00-06:00". "always" or "" is always active.
type ActiveHours struct {
	windows []activeWindow
	loc     *time.Location
}

// activeWindow is one entry: a set of weekdays and a span of minutes after
// midnight, [start, end).
type activeWindow struct {
	allDays     bool
	first, last time.Weekday // the range as written; last == first for one day
	days        uint8        // bit d set for time.Weekday(d)
	start, end  int
}

const minutesPerDay = 24 * 60

// ParseActiveHours reads ALERT_ACTIVE_HOURS (see ActiveHours). The result
// reads times in UTC; In sets the zone (Load uses TIMEZONE). Errors name the
// bad entry.
func ParseActiveHours(s string) (ActiveHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "always") {
		return ActiveHours{}, nil
	}
	entries := strings.Split(s, ",")
	windows := make([]activeWindow, 0, len(entries))
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return ActiveHours{}, fmt.Errorf("entry %d is empty", i+1)
		}
		w, err := parseActiveWindow(entry)
		if err != nil {
			return ActiveHours{}, fmt.Errorf("entry %q: %w", entry, err)
		}
		windows = append(windows, w)
	}
	return ActiveHours{windows: windows}, nil
}

func parseActiveWindow(entry string) (activeWindow, error) {
	var w activeWindow
	fields := strings.Fields(entry)
	var span string
	switch len(fields) {
	case 1:
		if (&activeWindow{}).parseDays(fields[0]) == nil {
			return activeWindow{}, errors.New("no time span: want DAYS HH:MM-HH:MM, such as Mon-Fri 08:00-20:00")
		}
		w.allDays = true
		w.days = 1<<7 - 1
		span = fields[0]
	case 2:
		if err := w.parseDays(fields[0]); err != nil {
			return activeWindow{}, err
		}
		span = fields[1]
	default:
		return activeWindow{}, errors.New("want DAYS HH:MM-HH:MM, such as Mon-Fri 08:00-20:00")
	}

	from, to, ok := strings.Cut(span, "-")
	if !ok {
		return activeWindow{}, fmt.Errorf("time span %q: want HH:MM-HH:MM", span)
	}
	var err error
	if w.start, err = parseClock(from); err != nil {
		return activeWindow{}, err
	}
	if w.end, err = parseClock(to); err != nil {
		return activeWindow{}, err
	}
	switch {
	case w.start == minutesPerDay:
		return activeWindow{}, errors.New("a window cannot start at 24:00; use 00:00")
	case w.end <= w.start:
		return activeWindow{}, fmt.Errorf("the end %s must come after the start %s (split a window across midnight into two entries)", to, from)
	}
	return w, nil
}

func (w *activeWindow) parseDays(s string) error {
	a, b, isRange := strings.Cut(s, "-")
	first, ok := parseWeekday(a)
	if !ok {
		return fmt.Errorf("unknown day %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", a)
	}
	last := first
	if isRange {
		if last, ok = parseWeekday(b); !ok {
			return fmt.Errorf("unknown day %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", b)
		}
	}
	w.first, w.last = first, last
	// Walk forward from first, wrapping past Sunday, until last.
	for d := first; ; d = (d + 1) % 7 {
		w.days |= 1 << d
		if d == last {
			break
		}
	}
	return nil
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// parseClock reads H:MM or HH:MM (00:00 to 24:00) as minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hour, okH := atoiDigits(h, 1, 2)
	minute, okM := atoiDigits(m, 2, 2)
	if !ok || !okH || !okM || hour > 24 || minute > 59 || (hour == 24 && minute != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return hour*60 + minute, nil
}

// atoiDigits parses between minLen and maxLen ASCII digits; strconv.Atoi
// would also take signs.
func atoiDigits(s string, minLen, maxLen int) (int, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// In returns a copy that reads times in loc (nil: UTC).
func (a ActiveHours) In(loc *time.Location) ActiveHours {
	a.loc = loc
	return a
}

// Always reports whether a is always active.
func (a ActiveHours) Always() bool { return len(a.windows) == 0 }

// Contains reports whether t, read in a's location, falls in a window.
func (a ActiveHours) Contains(t time.Time) bool {
	if len(a.windows) == 0 {
		return true
	}
	loc := a.loc
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	day := t.Weekday()
	minute := t.Hour()*60 + t.Minute()
	for _, w := range a.windows {
		if w.days&(1<<day) != 0 && w.start <= minute && minute < w.end {
			return true
		}
	}
	return false
}

// String returns a in a form ParseActiveHours reads back, with days
// abbreviated ("Mon-Fri 08:00-20:00,Sat 09:00-13:00"), or "always".
func (a ActiveHours) String() string {
	if len(a.windows) == 0 {
		return "always"
	}
	entries := make([]string, len(a.windows))
	for i, w := range a.windows {
		span := fmt.Sprintf("%02d:%02d-%02d:%02d", w.start/60, w.start%60, w.end/60, w.end%60)
		switch {
		case w.allDays:
			entries[i] = span
		case w.first == w.last:
			entries[i] = w.first.String()[:3] + " " + span
		default:
			entries[i] = w.first.String()[:3] + "-" + w.last.String()[:3] + " " + span
		}
	}
	return strings.Join(entries, ",")
}
