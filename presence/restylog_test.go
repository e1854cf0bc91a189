package presence_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// records parses JSON log lines.
func records(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q is not one JSON record: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func debugLogger() (*slog.Logger, *testlog.Buffer) {
	buf := &testlog.Buffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// TestRetryLogsOneDebugRecordPerRetry: a retried request is routine, not
// a warning: one structured debug record per retry (attempt, status,
// wait), and nothing from resty above debug.
func TestRetryLogsOneDebugRecordPerRetry(t *testing.T) {
	log, buf := debugLogger()
	sim, c := setup(t, presence.WithLogger(log))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Code: 503, Times: 2})
	if _, err := c.Get(context.Background(), "agent_001"); err != nil {
		t.Fatal(err)
	}
	var retries []map[string]any
	for _, r := range records(t, buf.String()) {
		if r["level"] != "DEBUG" {
			t.Errorf("a %v record from a retried request: %v", r["level"], r)
		}
		if r["msg"] == "contact center retry" {
			retries = append(retries, r)
		}
	}
	if len(retries) != 2 {
		t.Fatalf("got %d retry records, want 2 (one per retry):\n%s", len(retries), buf.String())
	}
	for i, r := range retries {
		if got := r["attempt"]; got != float64(i+1) {
			t.Errorf("retry %d: attempt = %v, want %d", i+1, got, i+1)
		}
		if got := r["status"]; got != float64(503) {
			t.Errorf("retry %d: status = %v, want 503", i+1, got)
		}
		if _, ok := r["wait"]; !ok {
			t.Errorf("retry %d: no wait: %v", i+1, r)
		}
		if !strings.Contains(r["url"].(string), "/agents/agent_001/presence") {
			t.Errorf("retry %d: url = %v, want the request's path", i+1, r["url"])
		}
	}
}

// TestTransportRetryLogsNoWarningsNorUserinfo: a contact center that
// cannot be reached is reported by the client's error and the metrics;
// resty's own lines stay at debug, structured, without the base URL's
// userinfo.
func TestTransportRetryLogsNoWarningsNorUserinfo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	log, buf := debugLogger()
	c := presence.NewClient("sid", secretToken,
		presence.WithBaseURL("http://admin:hunter2@"+dead),
		presence.WithRetry(3, time.Millisecond, 2*time.Millisecond),
		presence.WithBreaker(0, 0, nil),
		presence.WithLogger(log))
	if _, err := c.Get(context.Background(), "agent_001"); err == nil {
		t.Fatal("Get succeeded against a closed port")
	}
	retries := 0
	for _, r := range records(t, buf.String()) {
		if r["level"] != "DEBUG" {
			t.Errorf("a %v record: %v", r["level"], r)
		}
		if r["msg"] == "contact center retry" {
			retries++
			if r["status"] != float64(0) {
				t.Errorf("status = %v with no answer, want 0", r["status"])
			}
		}
	}
	if retries != 2 {
		t.Errorf("got %d retry records, want 2:\n%s", retries, buf.String())
	}
	if l := buf.String(); strings.Contains(l, "hunter2") || strings.Contains(l, "admin:") {
		t.Errorf("the logs show the base URL's userinfo:\n%s", l)
	}
}
