package config

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestParseTeamThresholds(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []TeamThreshold
		wantErr []string // substrings of the error, one per bad entry
	}{
		// The contract's example.
		{"example", "sales_team=3,support_team=5", []TeamThreshold{{"sales_team", 3}, {"support_team", 5}}, nil},
		// Order is kept.
		{"order", "z=1,a=2", []TeamThreshold{{"z", 1}, {"a", 2}}, nil},
		// Spaces around names, numbers and commas are tolerated.
		{"spaces", "  sales_team = 3 ,  support_team=5  ", []TeamThreshold{{"sales_team", 3}, {"support_team", 5}}, nil},
		// Zero is a threshold.
		{"zero", "night_team=0", []TeamThreshold{{"night_team", 0}}, nil},
		// Empty means none.
		{"empty", "   ", nil, nil},
		// A duplicate team names the entry.
		{"duplicate", "sales_team=3,sales_team=4", nil, []string{`"sales_team=4"`, "listed twice"}},
		// An empty team ID names the entry.
		{"empty team", "=3", nil, []string{`"=3"`, "empty team ID"}},
		// A bad number names the entry.
		{"bad number", "sales_team=three", nil, []string{`"sales_team=three"`, `"three"`}},
		// A negative number names the entry.
		{"negative", "sales_team=-1", nil, []string{`"sales_team=-1"`}},
		// A missing "=" names the entry.
		{"no equals", "sales_team", nil, []string{`"sales_team"`, "team_id=number"}},
		// A missing number names the entry.
		{"no number", "sales_team=", nil, []string{`"sales_team="`}},
		// A team ID with inner spaces.
		{"inner space", "sales team=3", nil, []string{`"sales team=3"`, "spaces"}},
		// An empty entry names its position.
		{"empty entry", "a=1,,b=2", nil, []string{"entry 2 is empty"}},
		// Every bad entry is reported, not just the first.
		{"several", "a=x,=1,a=2,a=3", nil, []string{`"a=x"`, `"=1"`, `"a=3"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTeamThresholds(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("got error %q, want it to contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseTeamThresholds(f *testing.F) {
	for _, seed := range []string{
		"sales_team=3,support_team=5", " a = 1 , b=2 ", "a=1,a=2", "=3", "a=", "a", ",", "",
		"a=-1", "a=99999999999999999999", "a=b=c", "a=1,,b=2", "\u00a0=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		teams, err := ParseTeamThresholds(in)
		if err != nil {
			if teams != nil {
				t.Fatalf("ParseTeamThresholds(%q): got %v with error %v, want nil", in, teams, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tt := range teams {
			if tt.TeamID == "" || strings.ContainsFunc(tt.TeamID, unicode.IsSpace) || tt.Min < 0 || seen[tt.TeamID] {
				t.Fatalf("ParseTeamThresholds(%q): got invalid entry %+v in %v", in, tt, teams)
			}
			seen[tt.TeamID] = true
		}
	})
}
