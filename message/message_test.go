package message

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<!channel>", "&lt;!channel&gt;"},         // a broadcast becomes text
		{"<@U123|bob>", "&lt;@U123|bob&gt;"},       // a mention becomes text
		{"Tom & Jerry", "Tom &amp; Jerry"},         // ampersands first, once
		{"&lt;", "&amp;lt;"},                       // already-escaped text stays literal
		{"plain *bold* _it_", "plain *bold* _it_"}, // formatting is the bot's to use
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := Unescape(Escape(tt.in)); back != tt.in {
			t.Errorf("Unescape(Escape(%q)) = %q", tt.in, back)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},           // fits
		{"exactly10!", 10, "exactly10!"}, // fits to the rune
		{"too long here", 5, "too …"},    // cut, marked
		{"héllo wörld", 6, "héllo…"},     // counts runes, not bytes
		{"x", 0, ""},                     // nothing allowed
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestConstructorsKeepEscapesWhole(t *testing.T) {
	// A cut in the middle of "&amp;" would leave a bare "&".
	s := NewSection(strings.Repeat("a", MaxSectionText-3) + "&amp;b")
	if strings.HasSuffix(strings.TrimSuffix(s.Text, "…"), "&") || strings.Contains(s.Text, "&am…") {
		t.Errorf("section cut inside an escape: …%q", s.Text[len(s.Text)-10:])
	}
	if n := utf8.RuneCountInString(s.Text); n > MaxSectionText {
		t.Errorf("section has %d runes, want at most %d", n, MaxSectionText)
	}
	h := NewHeader(strings.Repeat("h", 200))
	if n := utf8.RuneCountInString(h.Text); n > MaxHeaderText {
		t.Errorf("header has %d runes, want at most %d", n, MaxHeaderText)
	}
	f := NewFields(make([]string, 12)...)
	if len(f.Fields) != MaxFields {
		t.Errorf("fields = %d, want %d", len(f.Fields), MaxFields)
	}
}

func TestSummary(t *testing.T) {
	got := Summary("✅ You're now *busy* (was `available`).\nmore lines")
	if got != "✅ You're now busy (was available)." {
		t.Errorf("Summary = %q", got)
	}
}

func TestDurationAndNumbers(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {45 * time.Second, "45s"}, {12 * time.Minute, "12m"},
		{2*time.Hour + 5*time.Minute, "2h 5m"}, {3 * time.Hour, "3h"}, {76 * time.Hour, "3d 4h"}, {48 * time.Hour, "2d"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := Thousands(5000); got != "5,000" {
		t.Errorf("Thousands(5000) = %q", got)
	}
	if got := Thousands(-1234567); got != "-1,234,567" {
		t.Errorf("Thousands(-1234567) = %q", got)
	}
	if got := Plural(1, "agent") + " / " + Plural(5000, "agent"); got != "1 agent / 5,000 agents" {
		t.Errorf("Plural = %q", got)
	}
}
