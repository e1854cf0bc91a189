package schedule

import (
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/internal/testlog"
)

// Every test stops its scheduler: a goroutine left behind fails the
// package.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newLogger() (*slog.Logger, *testlog.Buffer) {
	buf := &testlog.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// mustContain fails unless s holds every part.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s: got %q, want it to contain %q", what, s, p)
		}
	}
}
