package message

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// escaper escapes the three characters Slack gives meaning to, so text
// from the API or from users can never mention, link or break out.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// Escape makes s safe inside a Slack mrkdwn or plain_text field.
func Escape(s string) string { return escaper.Replace(s) }

// Unescape reverses Escape, for renderers that are not Slack.
func Unescape(s string) string { return unescaper.Replace(s) }

// Duration is a short human duration: "45s", "12m", "2h 5m", "3d 4h".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - h*60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		days := int(d.Hours()) / 24
		h := int(d.Hours()) - days*24
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, h)
	}
}

// StaleNote marks what an answer shows when its data is older than the
// roster's TTL: kept longer while the contact center's API budget is
// busy, and said so, never passed off as current. Every answer drawn from
// the roster (commands, Home, summaries) words it the same.
func StaleNote(age time.Duration) string {
	return "⏳ Data from " + Duration(age) + " ago (the contact center's API budget is busy)."
}

// Truncate cuts s to at most n runes, marking the cut.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncateEscaped is Truncate for text already escaped: it never cuts an
// escape such as "&amp;" in half, which would leave a bare '&' for Slack.
func truncateEscaped(s string, n int) string {
	t := Truncate(s, n)
	if t == s || n <= 1 {
		return t
	}
	body := strings.TrimSuffix(t, "…")
	// In escaped text every '&' begins an escape, so one without its ';'
	// is a cut one.
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		body = body[:i]
	}
	return body + "…"
}

// Plural returns "1 agent" / "5,000 agents".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return Thousands(n) + " " + word + "s"
}

// Thousands writes 5000 as "5,000".
func Thousands(n int) string {
	if n < 0 {
		return "-" + Thousands(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
