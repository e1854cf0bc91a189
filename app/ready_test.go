package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// readyzBody is what /readyz answers.
type readyzBody struct {
	Ready    bool `json:"ready"`
	Stopping bool `json:"stopping"`
	Parts    map[string]struct {
		State  string `json:"state"`
		Detail string `json:"detail"`
	} `json:"parts"`
}

// readyz fetches and decodes /readyz; raw is the body as sent.
func (w *world) readyz() (code int, body readyzBody, raw string) {
	w.t.Helper()
	code, raw = w.ready()
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		w.t.Fatalf("/readyz body %q: %v", raw, err)
	}
	return code, body, raw
}

// contactCenter is the contact_center part's state and detail.
func (w *world) contactCenter() (code int, state, detail string) {
	w.t.Helper()
	code, body, _ := w.readyz()
	cc := body.Parts["contact_center"]
	return code, cc.State, cc.Detail
}

// withFastProbes re-checks the contact center every few milliseconds.
func withFastProbes(_ map[string]string, opts *[]app.Option) {
	*opts = append(*opts, app.WithProbes(2*time.Millisecond, 10*time.Millisecond))
}

// running fails the test if the app's Run has returned.
func (w *world) running() {
	w.t.Helper()
	select {
	case err := <-w.done:
		w.t.Fatalf("the bot stopped (%v); want it running\nlogs:\n%s", err, w.logs.String())
	default:
	}
}

// A wrong token at start: the first probe is refused, /readyz says so
// (503, refused, what to fix, no secret), the bot keeps running and
// re-checking, and it becomes ready without a restart once the contact
// center accepts the token.
func TestReadyzRefusedTokenAtStartThenAccepted(t *testing.T) {
	const wrongToken = "exo-WRONG-5b7e"
	w := start(t, withHTTP, withFastProbes, withEnv("EXOTEL_ACCESS_TOKEN", wrongToken))

	eventually(t, "refused by the first probe", func() bool {
		code, state, _ := w.contactCenter()
		if code != http.StatusServiceUnavailable {
			t.Fatalf("/readyz = %d with a refused token, want 503 from the start", code)
		}
		return state == "refused"
	})
	_, _, detail := w.contactCenter()
	mustContain(t, detail, "EXOTEL_ACCESS_TOKEN", "HTTP 401")
	if _, _, raw := w.readyz(); strings.Contains(raw, wrongToken) || strings.Contains(raw, secretToken) || strings.Contains(raw, w.sim.AccountSID()) {
		t.Errorf("/readyz holds a secret or the account: %s", raw)
	}
	// It keeps re-checking, and keeps running.
	lists := w.sim.Stats().Lists
	eventually(t, "re-checked while refused", func() bool { return w.sim.Stats().Lists >= lists+2 })
	w.running()
	if got := w.metric("presence_bot_health_state", map[string]string{"part": "contact_center", "state": "refused"}); got != 1 {
		t.Errorf("health_state{contact_center,refused} = %v, want 1", got)
	}
	// One log line for the change, not one per refused probe.
	if n := strings.Count(w.logs.String(), "part=contact_center state=refused"); n != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", n, w.logs.String())
	}

	// The contact center now accepts the token the bot has.
	w.sim.SetToken(wrongToken)
	eventually(t, "ready once accepted", func() bool {
		code, state, _ := w.contactCenter()
		return code == http.StatusOK && state == "ok"
	})
	w.running()
	w.waitLog("part=contact_center state=ok")
	if strings.Contains(w.logs.String(), wrongToken) {
		t.Errorf("the logs hold the token")
	}
}

// A wrong account SID, before any command: refused (a 404 on the
// account's list), naming EXOTEL_ACCOUNT_SID, not "agent not found".
func TestReadyzWrongAccountBeforeAnyCommand(t *testing.T) {
	w := start(t, withHTTP, withFastProbes, withEnv("EXOTEL_ACCOUNT_SID", "AC_NOPE"))
	eventually(t, "refused by the first probe", func() bool {
		code, state, _ := w.contactCenter()
		return code == http.StatusServiceUnavailable && state == "refused"
	})
	_, _, detail := w.contactCenter()
	mustContain(t, detail, "EXOTEL_ACCOUNT_SID", "HTTP 404", "account")
	if strings.Contains(detail, "agent not found") || strings.Contains(detail, "AC_NOPE") {
		t.Errorf("detail %q: want what to fix, not the API's words or the SID", detail)
	}
	w.running()
	if n := w.metric("presence_bot_commands_total", nil); n != 0 {
		t.Errorf("commands_total = %v, want none: the probe alone found it", n)
	}
}

// An outage of the contact center hits every replica at once: /readyz
// stays 200 with the part degraded, the metric and one log line say so,
// and the probes bring it back to ok once the outage ends, with no
// command needed.
func TestReadyzOutageIsDegradedNotUnready(t *testing.T) {
	tests := []struct {
		name   string
		begin  func(*ccmsim.Sim)
		detail string
	}{
		{"server error", func(s *ccmsim.Sim) { s.Inject(ccmsim.Fault{Code: 503}) }, "HTTP 503"},
		{"rate limited", func(s *ccmsim.Sim) { s.Inject(ccmsim.Fault{Code: 429}) }, "HTTP 429"},
		{"timeout", func(s *ccmsim.Sim) { s.SetLatency(time.Second) }, "no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, withHTTP, withFastProbes, func(_ map[string]string, opts *[]app.Option) {
				*opts = append(*opts, app.WithPresenceOptions(
					presence.WithAttemptTimeout(20*time.Millisecond),
					// The breaker's 5 s cooldown would outlast the test.
					presence.WithBreaker(0, 0, nil)))
			})
			eventually(t, "ready", func() bool { code, _ := w.ready(); return code == http.StatusOK })

			tt.begin(w.sim)
			w.ask(userAlice, "/status", "")
			code, state, detail := w.contactCenter()
			if code != http.StatusOK || state != "degraded" || !strings.Contains(detail, tt.detail) {
				t.Errorf("/readyz during the outage = %d %s %q, want 200 degraded naming %q", code, state, detail, tt.detail)
			}
			w.ask(userAlice, "/status", "")
			if got := w.metric("presence_bot_health_state", map[string]string{"part": "contact_center", "state": "degraded"}); got != 1 {
				t.Errorf("health_state{contact_center,degraded} = %v, want 1", got)
			}
			if got := w.metric("presence_bot_ready", nil); got != 1 {
				t.Errorf("presence_bot_ready = %v, want 1", got)
			}
			if n := strings.Count(w.logs.String(), "part=contact_center state=degraded"); n != 1 {
				t.Errorf("the outage logged %d times, want once:\n%s", n, w.logs.String())
			}

			w.sim.ClearFaults()
			w.sim.SetLatency(0)
			eventually(t, "ok again after the outage, by the probes alone", func() bool {
				_, state, _ := w.contactCenter()
				return state == "ok"
			})
		})
	}
}

// Answers about one agent are the service working: a 404 for one agent's
// GET and a 403 on one agent's PUT leave the bot ready, the part ok.
func TestReadyzAnswersAboutOneAgentAreNotRefusals(t *testing.T) {
	mapFile := filepath.Join(t.TempDir(), "agents.yml")
	if err := os.WriteFile(mapFile, []byte("agents:\n  U0ALICE: agent_404\n  U0BOB: agent_002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := start(t, withHTTP, withFastProbes, withEnv("AGENT_MAP_FILE", mapFile))
	eventually(t, "ready", func() bool { code, _ := w.ready(); return code == http.StatusOK })
	// The start probe made the body true before any command.
	if n := w.metric("presence_bot_contact_center_requests_total", map[string]string{"endpoint": "list", "code": "200"}); n < 1 {
		t.Errorf("list requests before any command = %v, want the start probe", n)
	}

	w.ask(userAlice, "/status", "") // agent_404 does not exist
	if code, state, detail := w.contactCenter(); code != http.StatusOK || state != "ok" {
		t.Errorf("/readyz after one agent's 404 = %d %s %q, want 200 ok", code, state, detail)
	}

	w.sim.Inject(ccmsim.Fault{Method: http.MethodPut, Code: http.StatusForbidden, Times: 1})
	w.ask(userBob, "/status", "available")
	if got := w.metric("presence_bot_contact_center_requests_total", map[string]string{"endpoint": "update", "code": "403"}); got != 1 {
		t.Fatalf("update 403s = %v, want 1: the test did not reach the fault", got)
	}
	if code, state, detail := w.contactCenter(); code != http.StatusOK || state != "ok" {
		t.Errorf("/readyz after one agent's 403 on PUT = %d %s %q, want 200 ok", code, state, detail)
	}
}

// Shutting down: not ready at once, while the commands in flight finish.
func TestReadyzNotReadyWhileShuttingDown(t *testing.T) {
	w := start(t, withHTTP)
	eventually(t, "ready", func() bool { code, _ := w.ready(); return code == http.StatusOK })
	base := w.httpBase()
	w.sim.SetLatency(300 * time.Millisecond) // a command in flight holds the drain open
	w.send(userAlice, "/status", "")
	eventually(t, "the command reached the contact center", func() bool { return w.sim.Stats().Gets >= 1 })
	w.stop()
	// The health server stays up to the end of the shutdown, which the
	// command in flight holds open for a while.
	eventually(t, "not ready while shutting down", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during shutdown: %v", err)
		}
		defer resp.Body.Close()
		var body readyzBody
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode == http.StatusServiceUnavailable && !body.Ready && body.Stopping
	})
}

// Slack unreachable at start (here a gateway answering 503 to auth.test):
// the bot retries, logging each try, stays running and unready, then
// connects and serves.
func TestStartWaitsOutSlackTrouble(t *testing.T) {
	const failures = 3
	var broken atomic.Int64
	flaky := func(env map[string]string, opts *[]app.Option) {
		target, err := url.Parse(env["SLACK_API_URL"])
		if err != nil {
			t.Fatal(err)
		}
		target.Path = ""
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/auth.test") && broken.Add(1) <= failures {
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		env["SLACK_API_URL"] = srv.URL + "/api/"
		*opts = append(*opts, app.WithBotConfig(func(c *bot.Config) {
			c.ConnectBackoff, c.ConnectBackoffMax = time.Millisecond, 2*time.Millisecond
		}))
	}
	w := start(t, withHTTP, flaky)
	w.running()
	w.waitLog("part=slack_socket state=ok")
	logs := w.logs.String()
	if n := strings.Count(logs, `level=WARN msg="slack: cannot reach Slack; retrying"`); n != failures {
		t.Errorf("retries logged %d times, want %d:\n%s", n, failures, logs)
	}
	// Unready until the socket was up: the socket part turned ok only
	// after the last failed try.
	if i, j := strings.LastIndex(logs, "cannot reach Slack"), strings.Index(logs, "part=slack_socket state=ok"); j < i {
		t.Errorf("slack_socket ok (at %d) before the last retry (at %d):\n%s", j, i, logs)
	}
	eventually(t, "ready once connected", func() bool { code, _ := w.ready(); return code == http.StatusOK })
	mustContain(t, w.ask(userAlice, "/status", ""), "available")
}
