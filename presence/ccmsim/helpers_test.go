package ccmsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/presence"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start, the morning of the spec's examples.
var t0 = time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)

// fixture is a simulator on a fake clock behind a real HTTP server.
type fixture struct {
	sim   *Sim
	clock *clockwork.FakeClock
	srv   *httptest.Server
}

func newFixture(t *testing.T, agents ...presence.Agent) *fixture {
	t.Helper()
	return newFixtureWith(t, Options{}, agents...)
}

// newFixtureWith is newFixture with options; the clock and seed are the
// fixture's own.
func newFixtureWith(t *testing.T, opts Options, agents ...presence.Agent) *fixture {
	t.Helper()
	clk := clockwork.NewFakeClockAt(t0)
	opts.Now, opts.Seed = clk.Now, 1
	sim := New(opts)
	sim.Add(agents...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, clock: clk, srv: srv}
}

// path is an API path under the simulator's account.
func (f *fixture) path(rest string) string {
	return "/v2/accounts/" + f.sim.AccountSID() + rest
}

// answer is one HTTP answer, with its envelope decoded when it is one.
type answer struct {
	code   int
	header http.Header
	body   []byte
	env    testEnvelope
	envErr error // why body is not an envelope
}

// testEnvelope is the test's own reading of the spec's envelope.
type testEnvelope struct {
	RequestID string `json:"request_id"`
	Method    string `json:"method"`
	HTTPCode  int    `json:"http_code"`
	Response  struct {
		Code     int             `json:"code"`
		Status   string          `json:"status"`
		Data     json.RawMessage `json:"data"`
		Metadata *struct {
			Total  int `json:"total"`
			Limit  int `json:"limit"`
			Offset int `json:"offset"`
		} `json:"metadata"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"response"`
}

type testList struct {
	Agents  []presence.Agent `json:"agents"`
	Summary presence.Summary `json:"summary"`
}

// message is the error message of a failure answer, or "".
func (a answer) message() string {
	if a.env.Response.Error == nil {
		return ""
	}
	return a.env.Response.Error.Message
}

// send makes one request with the given Authorization header ("" for none).
func (f *fixture) send(t *testing.T, ctx context.Context, method, path, auth, body string) (answer, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	a := answer{code: resp.StatusCode, header: resp.Header, body: raw}
	a.envErr = json.Unmarshal(raw, &a.env)
	return a, nil
}

// do makes one authorized request and fails the test on a transport error.
func (f *fixture) do(t *testing.T, method, path, body string) answer {
	t.Helper()
	a, err := f.send(t, context.Background(), method, path, "Bearer "+f.sim.Token(), body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// list fetches one list page and fails the test unless it is a 200.
func (f *fixture) list(t *testing.T, query string) (testList, int, int, int) {
	t.Helper()
	a := f.do(t, http.MethodGet, f.path("/agents/presence?"+query), "")
	if a.code != http.StatusOK || a.envErr != nil {
		t.Fatalf("list ?%s: got %d %s, want 200 with an envelope", query, a.code, a.body)
	}
	var l testList
	if err := json.Unmarshal(a.env.Response.Data, &l); err != nil {
		t.Fatalf("list ?%s: decode data: %v", query, err)
	}
	m := a.env.Response.Metadata
	if m == nil {
		t.Fatalf("list ?%s: got no metadata, want total/limit/offset", query)
	}
	return l, m.Total, m.Limit, m.Offset
}

// getAgent fetches one agent and fails the test unless it is a 200.
func (f *fixture) getAgent(t *testing.T, id string) presence.Agent {
	t.Helper()
	a := f.do(t, http.MethodGet, f.path("/agents/"+id+"/presence"), "")
	if a.code != http.StatusOK || a.envErr != nil {
		t.Fatalf("get %s: got %d %s, want 200 with an envelope", id, a.code, a.body)
	}
	return decodeAgent(t, a)
}

// put asks for a status change.
func (f *fixture) put(t *testing.T, id string, st presence.Status) answer {
	t.Helper()
	return f.do(t, http.MethodPut, f.path("/agents/"+id+"/presence"), `{"status":"`+string(st)+`"}`)
}

func decodeAgent(t *testing.T, a answer) presence.Agent {
	t.Helper()
	var ag presence.Agent
	if err := json.Unmarshal(a.env.Response.Data, &ag); err != nil {
		t.Fatalf("decode agent from %s: %v", a.body, err)
	}
	return ag
}

// mustAgent reads an agent straight from the simulator.
func mustAgent(t *testing.T, s *Sim, id string) presence.Agent {
	t.Helper()
	a, ok := s.Agent(id)
	if !ok {
		t.Fatalf("Agent(%q): not found", id)
	}
	return a
}

// agent builds a roster entry in a team.
func agent(id, team string, st presence.Status) presence.Agent {
	a := presence.Agent{ID: id, Name: "Agent " + id, Status: st, StatusSince: t0.Add(-time.Hour)}
	if team != "" {
		a.Team = &presence.Team{ID: team, Name: team}
	}
	return a
}

// ids lists the agents' IDs in order.
func ids(agents []presence.Agent) []string {
	out := make([]string, len(agents))
	for i, a := range agents {
		out[i] = a.ID
	}
	return out
}
