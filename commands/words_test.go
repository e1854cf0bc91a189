package commands

import (
	"slices"
	"testing"
)

func TestWordsKeepsMentionsWhole(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"busy <@U1|jane doe>", []string{"busy", "<@U1|jane doe>"}}, // a label with a space
		{"  busy   <@U1> ", []string{"busy", "<@U1>"}},              // extra spaces
		{"", nil}, // nothing
		{"team sales_team", []string{"team", "sales_team"}}, // plain words
		{"a <b c", []string{"a", "<b c"}},                   // unclosed: kept as typed
		{"x> y", []string{"x>", "y"}},                       // stray closer
	}
	for _, tt := range tests {
		if got := words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
