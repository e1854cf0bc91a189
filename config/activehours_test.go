package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseActiveHours(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		wantErr string // substring of the error; "" for none
	}{
		// The contract's example.
		{"Mon-Fri 08:00-20:00", "Mon-Fri 08:00-20:00", ""},
		// Several entries, spaces after commas tolerated.
		{"Mon-Fri 08:00-20:00, Sat 09:00-13:00", "Mon-Fri 08:00-20:00,Sat 09:00-13:00", ""},
		// Day names ignore case and may be spelled out.
		{"monday-FRIDAY 8:00-17:30", "Mon-Fri 08:00-17:30", ""},
		// A range past Sunday wraps.
		{"Fri-Mon 10:00-18:00", "Fri-Mon 10:00-18:00", ""},
		// A range of one day.
		{"Wed-Wed 10:00-11:00", "Wed 10:00-11:00", ""},
		// No days: every day.
		{"07:00-19:00", "07:00-19:00", ""},
		// 24:00 ends at midnight.
		{"Sun 00:00-24:00", "Sun 00:00-24:00", ""},
		// Empty: always.
		{"", "always", ""},
		// "always" says so.
		{" Always ", "always", ""},
		// The end must come after the start.
		{"Mon-Fri 20:00-08:00", "", "must come after"},
		// An empty window is no window.
		{"Mon 09:00-09:00", "", "must come after"},
		// A window cannot start at 24:00.
		{"Mon 24:00-24:00", "", "24:00"},
		// 24:30 does not exist.
		{"Mon 09:00-24:30", "", `"24:30"`},
		// Hours past 24.
		{"Mon 09:00-25:00", "", `"25:00"`},
		// Minutes past 59.
		{"Mon 09:60-10:00", "", `"09:60"`},
		// One-digit minutes.
		{"Mon 9:0-10:00", "", `"9:0"`},
		// Signs are not digits.
		{"Mon +9:00-10:00", "", `"+9:00"`},
		// No minutes.
		{"Mon 9-17", "", `"9"`},
		// No span.
		{"Mon 09:00", "", "HH:MM-HH:MM"},
		// Unknown day.
		{"Mon-Fro 09:00-17:00", "", `"Fro"`},
		// Days without times.
		{"Mon-Fri", "", "HH:MM-HH:MM"},
		// Too many fields.
		{"Mon - Fri 09:00-17:00", "", "DAYS HH:MM-HH:MM"},
		// An empty entry names its position.
		{"Mon 09:00-17:00,", "", "entry 2 is empty"},
		// A bad entry is named.
		{"Mon 09:00-17:00,Sat 9-13", "", `entry "Sat 9-13"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseActiveHours(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %s, %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got.String(), tt.want)
			}
		})
	}
}

// mustActiveHours parses s and reads it in loc.
func mustActiveHours(t *testing.T, s string, loc *time.Location) ActiveHours {
	t.Helper()
	a, err := ParseActiveHours(s)
	if err != nil {
		t.Fatalf("ParseActiveHours(%q): %v", s, err)
	}
	return a.In(loc)
}

func TestActiveHoursContains(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("load Europe/Berlin: %v", err)
	}
	// 2024-01-01 is a Monday.
	at := func(loc *time.Location, day, hour, minute, second int) time.Time {
		return time.Date(2024, time.January, day, hour, minute, second, 0, loc)
	}
	tests := []struct {
		name  string
		hours string
		loc   *time.Location
		t     time.Time
		want  bool
	}{
		// The start minute is in.
		{"start", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 1, 8, 0, 0), true},
		// The minute before the start is out.
		{"before start", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 1, 7, 59, 59), false},
		// The last second before the end is in.
		{"last second", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 5, 19, 59, 59), true},
		// The end minute is out.
		{"end", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 5, 20, 0, 0), false},
		// Saturday is outside Mon-Fri.
		{"saturday", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 6, 12, 0, 0), false},
		// Sunday is outside Mon-Fri.
		{"sunday", "Mon-Fri 08:00-20:00", time.UTC, at(time.UTC, 7, 12, 0, 0), false},
		// A second entry adds Saturday morning.
		{"second entry", "Mon-Fri 08:00-20:00,Sat 09:00-13:00", time.UTC, at(time.UTC, 6, 12, 59, 0), true},
		// But not Saturday afternoon.
		{"second entry end", "Mon-Fri 08:00-20:00,Sat 09:00-13:00", time.UTC, at(time.UTC, 6, 13, 0, 0), false},
		// A wrapping range includes Sunday.
		{"wrap sunday", "Fri-Mon 10:00-18:00", time.UTC, at(time.UTC, 7, 10, 0, 0), true},
		// And Monday.
		{"wrap monday", "Fri-Mon 10:00-18:00", time.UTC, at(time.UTC, 1, 17, 59, 0), true},
		// But not Wednesday.
		{"wrap wednesday", "Fri-Mon 10:00-18:00", time.UTC, at(time.UTC, 3, 12, 0, 0), false},
		// 24:00 covers the day's last minute.
		{"until midnight", "Sun 00:00-24:00", time.UTC, at(time.UTC, 7, 23, 59, 59), true},
		// But not the next day's first.
		{"after midnight", "Sun 00:00-24:00", time.UTC, at(time.UTC, 8, 0, 0, 0), false},
		// No days means every day.
		{"every day", "07:00-19:00", time.UTC, at(time.UTC, 7, 7, 0, 0), true},
		// Times are read in the location: 07:30 UTC is 08:30 in Berlin.
		{"berlin in", "Mon 08:00-09:00", berlin, at(time.UTC, 1, 7, 30, 0), true},
		// 08:30 UTC is 09:30 in Berlin.
		{"berlin out", "Mon 08:00-09:00", berlin, at(time.UTC, 1, 8, 30, 0), false},
		// The weekday is Berlin's too: Sunday 23:30 UTC is Monday 00:30 there.
		{"berlin weekday", "Mon 00:00-01:00", berlin, at(time.UTC, 7, 23, 30, 0), true},
		// Summer time: 06:30 UTC is 08:30 CEST on Monday 2024-07-01.
		{"berlin summer", "Mon 08:00-09:00", berlin, time.Date(2024, time.July, 1, 6, 30, 0, 0, time.UTC), true},
		// The zero value is always active.
		{"zero", "", time.UTC, at(time.UTC, 6, 3, 0, 0), true},
		// A nil location reads UTC.
		{"nil location", "Mon 08:00-09:00", nil, at(berlin, 1, 9, 30, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustActiveHours(t, tt.hours, tt.loc)
			if got := a.Contains(tt.t); got != tt.want {
				t.Errorf("%s in %v: Contains(%s): got %v, want %v", tt.hours, tt.loc, tt.t, got, tt.want)
			}
		})
	}
	var zero ActiveHours
	if !zero.Contains(at(time.UTC, 1, 3, 0, 0)) || !zero.Always() || zero.String() != "always" {
		t.Errorf("zero value: got Contains %v, Always %v, String %q, want true, true, \"always\"",
			zero.Contains(at(time.UTC, 1, 3, 0, 0)), zero.Always(), zero.String())
	}
}

func FuzzParseActiveHours(f *testing.F) {
	for _, seed := range []string{
		"Mon-Fri 08:00-20:00", "Mon-Fri 08:00-20:00,Sat 09:00-13:00", "Fri-Mon 10:00-18:00",
		"07:00-19:00", "Sun 00:00-24:00", "always", "", ",", "Mon 24:00-24:00", "Mon 9-17",
		"Mon-", "-Mon 09:00-10:00", "Mon 09:00-", "Mon :-:", "Mon 99:99-99:99",
	} {
		f.Add(seed)
	}
	// Fixed instants so the property check is deterministic.
	base := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ParseActiveHours(in)
		if err != nil {
			return
		}
		// String reads back to a schedule with the same String, and both
		// agree at every minute of a week.
		b, err := ParseActiveHours(a.String())
		if err != nil {
			t.Fatalf("ParseActiveHours(%q) = %q, which does not read back: %v", in, a, err)
		}
		if a.String() != b.String() {
			t.Fatalf("ParseActiveHours(%q): String %q reads back as %q", in, a, b)
		}
		for m := 0; m < 7*24*60; m += 7 {
			at := base.Add(time.Duration(m) * time.Minute)
			if a.Contains(at) != b.Contains(at) {
				t.Fatalf("ParseActiveHours(%q) and its String %q disagree at %s", in, a, at)
			}
		}
	})
}
