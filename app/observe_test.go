package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func withHTTP(env map[string]string, _ *[]app.Option) { env["HTTP_ADDR"] = "127.0.0.1:0" }

func (w *world) httpBase() string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr := w.app.HTTPAddr(ctx)
	if addr == "" {
		w.t.Fatal("no health server address")
	}
	return "http://" + addr
}

// metric returns the value of one series from /metrics, 0 when absent.
func (w *world) metric(name string, labels map[string]string) float64 {
	w.t.Helper()
	resp, err := http.Get(w.httpBase() + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	fam, ok := families[name]
	if !ok {
		return 0
	}
	for _, m := range fam.GetMetric() {
		match := true
		for _, lp := range m.GetLabel() {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func (w *world) ready() (int, string) {
	w.t.Helper()
	resp, err := http.Get(w.httpBase() + "/readyz")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually retries check for a few seconds: reconnects take a moment.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetricsMoveWithCommands(t *testing.T) {
	w := start(t, withHTTP)
	okStatus := map[string]string{"command": "/status", "outcome": "ok"}
	before := w.metric("presence_bot_commands_total", okStatus)
	w.ask(userAlice, "/status", "busy")
	w.ask(userSuper, "/presence", "")
	eventually(t, "the /status command counted", func() bool {
		return w.metric("presence_bot_commands_total", okStatus) == before+1
	})
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"presence_bot_commands_total", map[string]string{"command": "/presence", "outcome": "ok"}, 1},
		{"presence_bot_ack_latency_seconds", map[string]string{"kind": "slash_commands"}, 2},
		{"presence_bot_command_duration_seconds", map[string]string{"command": "/status"}, 1},
		{"presence_bot_contact_center_requests_total", map[string]string{"endpoint": "get", "code": "200"}, 1},
		{"presence_bot_contact_center_requests_total", map[string]string{"endpoint": "update", "code": "204"}, 1},
		{"presence_bot_contact_center_requests_total", map[string]string{"endpoint": "list", "code": "200"}, 1},
		{"presence_bot_slack_api_calls_total", map[string]string{"method": "auth.test"}, 1},
		{"presence_bot_socket_up", nil, 1},
		// The roster /presence fetched feeds the agents gauge.
		{"presence_bot_agents", map[string]string{"team": "sales_team", "status": "busy"}, 1},
		{"go_goroutines", nil, 1},
	}
	for _, c := range checks {
		if got := w.metric(c.name, c.labels); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
}

func TestReadinessFollowsTheAPIAndTheSocket(t *testing.T) {
	w := start(t, withHTTP)
	// The socket counts as up once the bot has read Slack's hello.
	eventually(t, "ready once connected", func() bool {
		code, _ := w.ready()
		return code == http.StatusOK
	})

	// The contact center fails: an outage every replica shares, so still
	// ready, naming the part as degraded; ok again on success.
	w.sim.Inject(ccmsim.Fault{Code: 503})
	w.ask(userAlice, "/status", "")
	code, body := w.ready()
	var parsed struct {
		Ready bool `json:"ready"`
		Parts map[string]struct {
			State string `json:"state"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(body), &parsed); err != nil {
		t.Fatalf("readyz body %s: %v", body, err)
	}
	if code != http.StatusOK || !parsed.Ready || parsed.Parts["contact_center"].State != "degraded" {
		t.Errorf("readyz = %d %s, want 200 with contact_center degraded", code, body)
	}
	w.sim.ClearFaults()
	eventually(t, "ok again after the API recovers", func() bool {
		w.ask(userAlice, "/status", "")
		_, body := w.ready()
		return strings.Contains(body, `"contact_center":{"state":"ok"`)
	})

	// The socket drops and cannot come back for a while: not ready.
	w.slack.FailNext("apps.connections.open", 3, "internal_error", 0)
	w.slack.DropConnections()
	eventually(t, "not ready while the socket is down", func() bool {
		code, body := w.ready()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "slack_socket")
	})
	eventually(t, "ready after reconnecting", func() bool {
		code, _ := w.ready()
		return code == http.StatusOK
	})
	if n := w.metric("presence_bot_socket_reconnects_total", nil); n < 1 {
		t.Errorf("reconnects = %v, want at least 1", n)
	}
}
