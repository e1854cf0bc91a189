package presence

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/internal/testlog"
)

// TestRestyMessagesAreDebugRecords: whatever resty says on its own goes
// out at debug, one structured record each with its text as an attribute,
// never as a warning or error: the client's own errors say what failed.
func TestRestyMessagesAreDebugRecords(t *testing.T) {
	buf := &testlog.Buffer{}
	l := restyLogger{slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	// resty hands over the *url.Error of a failed attempt.
	l.Warnf("%v, Attempt %v", &url.Error{Op: "Get", URL: "http://admin:hunter2@127.0.0.1:1/v2?x=1", Err: errors.New("connection refused")}, 1)
	l.Errorf("%v", "it broke")
	l.Debugf("chatter %d", 7)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d records, want 3:\n%s", len(lines), buf.String())
	}
	wantLevels := []string{"warn", "error", "debug"}
	for i, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r["level"] != "DEBUG" || r["msg"] != "contact center http" || r["resty_level"] != wantLevels[i] || r["detail"] == nil {
			t.Errorf("record %v, want a DEBUG \"contact center http\" with resty_level %s and detail", r, wantLevels[i])
		}
	}
	if strings.Contains(buf.String(), "hunter2") || strings.Contains(buf.String(), "admin") {
		t.Errorf("resty's text kept a URL's userinfo:\n%s", buf.String())
	}
}
