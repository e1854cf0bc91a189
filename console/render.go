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

// Render writes a message as terminal text: the same content the Slack
// blocks carry, without the markup. names turns user IDs into names for
// mentions; it may be nil.
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
				parts = append(parts, fmt.Sprintf("[%d] %s", buttons, message.Unescape(btn.Label)))
			}
			fmt.Fprintf(&b, "  %s   (press N)\n", strings.Join(parts, "  "))
		}
	}
	if len(m.Blocks) == 0 && m.Text != "" {
		fmt.Fprintln(&b, plain(m.Text, names))
	}
	io.WriteString(w, b.String())
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
	return message.Unescape(s)
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
