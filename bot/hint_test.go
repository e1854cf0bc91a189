package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// TestHintLeftOutWhenEmpty: a log line carries a hint only when there is
// one; an empty hint="" says nothing and clutters every line.
func TestHintLeftOutWhenEmpty(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			logs := &testlog.Buffer{}
			var h slog.Handler = slog.NewTextHandler(logs, nil)
			if format == "json" {
				h = slog.NewJSONHandler(logs, nil)
			}
			b, err := New(Config{
				Web:      NewWebAPI(Slack{AppToken: "xapp-x", BotToken: "xoxb-x"}),
				Commands: commandsFunc(func(context.Context, commands.Request) message.Message { return message.Reply("x") }),
				Logger:   slog.New(h),
			})
			if err != nil {
				t.Fatal(err)
			}
			fail := func(cause error) {
				b.handleEvent(context.Background(), socketmode.Event{Type: socketmode.EventTypeConnectionError,
					Data: &slack.ConnectionErrorEvent{ErrorObj: cause}})
			}
			fail(errors.New("dial tcp: connection refused")) // nothing to hint
			fail(errors.New("invalid_auth"))                 // a hint
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("got %d lines, want 2:\n%s", len(lines), logs.String())
			}
			if strings.Contains(lines[0], "hint") {
				t.Errorf("a line without a hint has a hint key: %s", lines[0])
			}
			if !strings.Contains(lines[1], "SLACK_APP_TOKEN was refused") {
				t.Errorf("a line with a hint lost it: %s", lines[1])
			}
		})
	}
}
