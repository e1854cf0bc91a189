package console

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/presencebot/presence-bot/message"
)

// mentionRE finds Slack user mentions, <@U123> or <@U123|name>.
var mentionRE = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)

// italicRE finds _italic_ runs: underscores at word edges, so IDs such as
// agent_001 keep theirs.
var italicRE = regexp.MustCompile(`(^|\s)_([^_\n]+)_($|\s|[.,;:!?])`)

// shortcodeRE finds Slack emoji shortcodes, :white_check_mark:, as words of
// their own: "channels:read:" holds none.
var shortcodeRE = regexp.MustCompile(`\B:[a-z][a-z0-9_+-]*:`)

// shortcodes are the Slack emoji a terminal should show as Slack does. The
// bot itself writes Unicode emoji (console tests check it); these cover a
// shortcode typed by a person, as Slack renders one.
var shortcodes = map[string]string{
	"white_check_mark":         "✅",
	"heavy_check_mark":         "✔️",
	"warning":                  "⚠️",
	"rotating_light":           "🚨",
	"large_green_circle":       "🟢",
	"green_circle":             "🟢",
	"large_yellow_circle":      "🟡",
	"red_circle":               "🔴",
	"white_circle":             "⚪",
	"black_circle":             "⚫",
	"no_entry":                 "⛔",
	"no_entry_sign":            "🚫",
	"telephone_receiver":       "📞",
	"phone":                    "☎️",
	"memo":                     "📝",
	"pencil":                   "📝",
	"hourglass":                "⌛",
	"hourglass_flowing_sand":   "⏳",
	"x":                        "❌",
	"bell":                     "🔔",
	"no_bell":                  "🔕",
	"information_source":       "ℹ️",
	"zzz":                      "💤",
	"coffee":                   "☕",
	"tada":                     "🎉",
	"thumbsup":                 "👍",
	"+1":                       "👍",
	"eyes":                     "👀",
	"chart_with_upwards_trend": "📈",
	"bar_chart":                "📊",
}

// emoji replaces the shortcodes Slack would show as emoji; others stay.
func emoji(s string) string {
	if !strings.Contains(s, ":") {
		return s
	}
	return shortcodeRE.ReplaceAllStringFunc(s, func(code string) string {
		if e, ok := shortcodes[code[1:len(code)-1]]; ok {
			return e
		}
		return code
	})
}

// Render writes a message as terminal text: the same content the Slack
// blocks carry, without the markup, and without anything a terminal would
// act on (see Sanitize). names turns user IDs into names for mentions; it
// may be nil.
func Render(w io.Writer, m message.Message, names func(id string) string) {
	var b strings.Builder
	buttons := 0
	for _, blk := range m.Blocks {
		switch blk.Kind {
		case message.Header:
			t := plain(blk.Text, names)
			fmt.Fprintf(&b, "%s\n%s\n", t, strings.Repeat("─", min(len([]rune(t)), 60)))
		case message.Section:
			fmt.Fprintln(&b, plain(blk.Text, names))
		case message.Fields:
			for _, f := range blk.Fields {
				label, value, _ := strings.Cut(plain(f, names), "\n")
				fmt.Fprintf(&b, "  %s: %s\n", label, value)
			}
		case message.Context:
			for _, line := range strings.Split(plain(blk.Text, names), "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		case message.Divider:
			fmt.Fprintln(&b, strings.Repeat("─", 40))
		case message.Actions:
			var parts []string
			for _, btn := range blk.Buttons {
				buttons++
				parts = append(parts, fmt.Sprintf("[%d] %s", buttons, emoji(message.Unescape(btn.Label))))
			}
			fmt.Fprintf(&b, "  %s   (press N)\n", strings.Join(parts, "  "))
		case message.Chart:
			if blk.Chart != nil {
				drawChart(&b, *blk.Chart, names)
			}
		case message.Table:
			if blk.Table != nil {
				drawTable(&b, *blk.Table, names)
			}
		}
	}
	if len(m.Blocks) == 0 && m.Text != "" {
		fmt.Fprintln(&b, plain(m.Text, names))
	}
	io.WriteString(w, Sanitize(b.String()))
}

// plain turns mrkdwn into terminal text.
func plain(s string, names func(string) string) string {
	s = strings.NewReplacer("*", "", "`", "").Replace(s)
	s = italicRE.ReplaceAllString(s, "$1$2$3")
	s = mentionRE.ReplaceAllStringFunc(s, func(m string) string {
		id := mentionRE.FindStringSubmatch(m)[1]
		if names != nil {
			if n := names(id); n != "" {
				return "@" + n
			}
		}
		return "@" + id
	})
	return emoji(message.Unescape(s))
}

// Buttons lists a message's buttons in the order Render numbers them.
func Buttons(m message.Message) []message.Button {
	var out []message.Button
	for _, blk := range m.Blocks {
		if blk.Kind == message.Actions {
			out = append(out, blk.Buttons...)
		}
	}
	return out
}
