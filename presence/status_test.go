package presence

import (
	"errors"
	"slices"
	"testing"
)

func TestCanTransitionEveryPair(t *testing.T) {
	// The spec's "Valid Status Transitions" table, written out pair by
	// pair; every pair not listed here must be refused.
	allowed := map[[2]Status]bool{
		{Offline, Available}:       true,
		{Available, Busy}:          true,
		{Available, Offline}:       true,
		{AfterCallWork, Available}: true,
		{AfterCallWork, Offline}:   true,
		{Busy, Available}:          true,
		{Busy, Offline}:            true,
	}
	pairs := 0
	for _, from := range Statuses {
		for _, to := range Statuses {
			pairs++
			want := allowed[[2]Status{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if pairs != 25 {
		t.Fatalf("checked %d pairs, want 25", pairs)
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		from Status
		want []Status
	}{
		{Offline, []Status{Available}},
		{Available, []Status{Busy, Offline}},
		{AfterCallWork, []Status{Available, Offline}},
		{Busy, []Status{Available, Offline}},
		{OnCall, nil}, // system-managed: nothing by hand
		{"", nil},     // unknown: nothing
	}
	for _, tt := range tests {
		if got := Allowed(tt.from); !slices.Equal(got, tt.want) {
			t.Errorf("Allowed(%q) = %v, want %v", tt.from, got, tt.want)
		}
	}
	// Allowed hands out a copy: changing it must not change the table.
	got := Allowed(Available)
	got[0] = OnCall
	if !CanTransition(Available, Busy) || CanTransition(Available, OnCall) {
		t.Fatal("changing Allowed's result changed the transition table")
	}
}

func TestNoManualMoveIntoOnCall(t *testing.T) {
	for _, from := range Statuses {
		if CanTransition(from, OnCall) || CanTransition(OnCall, from) {
			t.Errorf("on-call reachable by hand from or to %s", from)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Status
		ok   bool
	}{
		{"available", Available, true},
		{"  BUSY ", Busy, true},                  // case and space ignored
		{"on-call", OnCall, true},                // hyphenated as statuses are
		{"after_call_work", AfterCallWork, true}, // underscored as summary keys are
		{"Offline", Offline, true},               // capitalised
		{"away", "", false},                      // not a status
		{"", "", false},                          // empty
		{"available busy", "", false},            // two words
		{"availablé", "", false},                 // look-alike
		{"on call", "", false},                   // space is not a hyphen
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || pe.Input != tt.in) {
			t.Errorf("Parse(%q) error %v does not name the input", tt.in, err)
		}
	}
}

func TestManualStatuses(t *testing.T) {
	for _, s := range Statuses {
		want := slices.Contains(ManualStatuses, s)
		if s.Manual() != want {
			t.Errorf("%s.Manual() = %v, want %v", s, s.Manual(), want)
		}
	}
	if !OnCall.SystemManaged() || Busy.SystemManaged() {
		t.Error("only on-call is system-managed")
	}
}

func TestSummaryCountAndAdd(t *testing.T) {
	var s Summary
	for _, st := range Statuses {
		s.Add(st)
		s.Add(st)
	}
	for _, st := range Statuses {
		if got := s.Count(st); got != 2 {
			t.Errorf("Count(%s) = %d, want 2", st, got)
		}
	}
	if s.Total != 10 {
		t.Errorf("Total = %d, want 10", s.Total)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"available", "on-call", "after_call_work", "", "BUSY", "\x00", "off line"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		st, err := Parse(in)
		if err == nil && !st.Valid() {
			t.Fatalf("Parse(%q) = %q, which is not a valid status", in, st)
		}
		if err != nil && st != "" {
			t.Fatalf("Parse(%q) returned %q with an error", in, st)
		}
	})
}

// TestParseAliases: the words people type for statuses (the contract's
// one table, read by both commands through Parse), in any case and with
// underscores for hyphens.
func TestParseAliases(t *testing.T) {
	tests := []struct {
		in   string
		want Status
	}{
		{"after-call", AfterCallWork},
		{"After_Call", AfterCallWork}, // underscored, capitalised
		{"acw", AfterCallWork},
		{" ACW ", AfterCallWork},
		{"oncall", OnCall},
		{"OnCall", OnCall},
	}
	for _, tt := range tests {
		if got, err := Parse(tt.in); err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// Aliases lists exactly the table, and every alias parses to its status.
	want := map[string]Status{"after-call": AfterCallWork, "acw": AfterCallWork, "oncall": OnCall}
	got := Aliases()
	if len(got) != len(want) {
		t.Errorf("Aliases() = %v, want %v", got, want)
	}
	for word, st := range want {
		if got[word] != st {
			t.Errorf("Aliases()[%q] = %q, want %q", word, got[word], st)
		}
	}
	// A copy: changing it changes nothing.
	got["lunch"] = Busy
	if _, err := Parse("lunch"); err == nil {
		t.Error("changing Aliases' result changed Parse")
	}
}
