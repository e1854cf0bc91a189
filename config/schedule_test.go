package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr string // substring of the error; "" for none
	}{
		// The default form.
		{"1h", Schedule{Every: time.Hour}, ""},
		// The shortest accepted interval.
		{"1s", Schedule{Every: time.Second}, ""},
		// Compound durations.
		{"1h30m", Schedule{Every: 90 * time.Minute}, ""},
		// Surrounding space is trimmed.
		{"  15m ", Schedule{Every: 15 * time.Minute}, ""},
		// Under a second is refused.
		{"999ms", Schedule{}, "at least 1s"},
		// Zero is refused.
		{"0s", Schedule{}, "at least 1s"},
		// Negative is refused.
		{"-1h", Schedule{}, "at least 1s"},
		// Five cron fields: minute first.
		{"0 9 * * Mon-Fri", Schedule{Cron: "0 9 * * Mon-Fri"}, ""},
		// Six fields: seconds first.
		{"*/30 * * * * *", Schedule{Cron: "*/30 * * * * *", WithSeconds: true}, ""},
		// Extra spaces between fields are normalised.
		{"0   9 *\t* 1", Schedule{Cron: "0 9 * * 1"}, ""},
		// Steps and lists.
		{"*/15 8-18 * * 1,3,5", Schedule{Cron: "*/15 8-18 * * 1,3,5"}, ""},
		// February 29 fires within the five years robfig/cron looks ahead.
		{"0 0 29 2 *", Schedule{Cron: "0 0 29 2 *"}, ""},
		// Minute 61 does not exist.
		{"61 * * * *", Schedule{}, "invalid cron"},
		// Second 60 does not exist.
		{"60 * * * * *", Schedule{}, "invalid cron"},
		// An unknown month name.
		{"0 0 1 Foo *", Schedule{}, "invalid cron"},
		// Four fields.
		{"0 9 * *", Schedule{}, "got 4"},
		// Seven fields (Quartz years) are not supported.
		{"0 0 9 * * * 2030", Schedule{}, "got 7"},
		// February 30 never comes.
		{"0 0 30 2 *", Schedule{}, "never fires"},
		// Descriptors are refused: the contract names two forms.
		{"@hourly", Schedule{}, "descriptors"},
		// "@every" too: that is what durations are for.
		{"@every 1h", Schedule{}, "descriptors"},
		// Time zones come from TIMEZONE; robfig/cron would panic on this one.
		{"TZ=UTC", Schedule{}, "TIMEZONE"},
		// Also with a complete expression.
		{"CRON_TZ=Europe/Berlin 0 9 * * *", Schedule{}, "TIMEZONE"},
		// A number without a unit is neither form.
		{"60", Schedule{}, "Go duration"},
		// Empty.
		{"", Schedule{}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %+v", err, tt.want)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			// String reads back to the same schedule.
			again, err := ParseSchedule(got.String())
			if err != nil || again != got {
				t.Errorf("ParseSchedule(%q): got %+v, %v, want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestScheduleString(t *testing.T) {
	tests := []struct {
		s    Schedule
		want string
	}{
		{Schedule{Every: time.Hour}, "1h0m0s"},                            // durations print as Go does
		{Schedule{Cron: "0 9 * * *"}, "0 9 * * *"},                        // cron prints as stored
		{Schedule{Cron: "0 0 9 * * *", WithSeconds: true}, "0 0 9 * * *"}, // six fields too
		{Schedule{}, ""}, // zero
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%+v.String(): got %q, want %q", tt.s, got, tt.want)
		}
	}
}

// A bad cron in SUMMARY_SCHEDULE is a start-up error naming the variable
// and the value.
func TestLoadBadCron(t *testing.T) {
	problems := problemsOf(t, withCredentials(map[string]string{"SUMMARY_SCHEDULE": "0 25 * * *"}))
	if len(problems) != 1 || problems[0].Var != "SUMMARY_SCHEDULE" || !strings.Contains(problems[0].Message, `"0 25 * * *"`) {
		t.Errorf("got %v, want one SUMMARY_SCHEDULE problem quoting \"0 25 * * *\"", problems)
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, seed := range []string{
		"1h", "1s", "999ms", "0 9 * * Mon-Fri", "*/30 * * * * *", "0 0 30 2 *",
		"61 * * * *", "@hourly", "TZ=UTC", "CRON_TZ=", "TZ= ", "* * * * * * *",
		"1-70/0 * * * *", "*/0 * * * *", "5-1 * * * *", "? ? ? ? ?", "", "-",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSchedule(in)
		if err != nil {
			return
		}
		if (s.Every > 0) == (s.Cron != "") {
			t.Fatalf("ParseSchedule(%q) = %+v: want exactly one of Every and Cron", in, s)
		}
		if s.Every > 0 && s.Every < time.Second {
			t.Fatalf("ParseSchedule(%q) = %+v: want at least 1s", in, s)
		}
		again, err := ParseSchedule(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseSchedule(%q) = %+v, but its String %q reads back as %+v, %v", in, s, s.String(), again, err)
		}
	})
}
