package ccmsim

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

func TestEnvelope(t *testing.T) {
	// PUTs answer in the envelope only when asked to (the default is a bare
	// 204; see TestPutAnswerShapes).
	f := newFixtureWith(t, Options{PutAnswer: PutEnvelope}, agent("agent_001", "sales_team", presence.Available))
	tests := []struct {
		name     string
		method   string
		path     string
		noAuth   bool
		body     string
		wantCode int
	}{
		// The list answers in the spec's success envelope.
		{"list", http.MethodGet, f.path("/agents/presence"), false, "", http.StatusOK},
		// So does one agent.
		{"get", http.MethodGet, f.path("/agents/agent_001/presence"), false, "", http.StatusOK},
		// A status change answers with the updated agent.
		{"put", http.MethodPut, f.path("/agents/agent_001/presence"), false, `{"status":"busy"}`, http.StatusOK},
		// An unknown agent fails inside the same envelope.
		{"unknown agent", http.MethodGet, f.path("/agents/agent_999/presence"), false, "", http.StatusNotFound},
		// A bad request fails inside the envelope too.
		{"bad limit", http.MethodGet, f.path("/agents/presence?limit=101"), false, "", http.StatusBadRequest},
		// So does a missing token.
		{"no auth", http.MethodGet, f.path("/agents/presence"), true, "", http.StatusUnauthorized},
		// And a method the path does not take.
		{"wrong method", http.MethodDelete, f.path("/agents/agent_001/presence"), false, "", http.StatusMethodNotAllowed},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := "Bearer " + f.sim.Token()
			if tt.noAuth {
				auth = ""
			}
			a, err := f.send(t, context.Background(), tt.method, tt.path, auth, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if a.code != tt.wantCode {
				t.Fatalf("got HTTP %d, want %d (%s)", a.code, tt.wantCode, a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
			if a.envErr != nil {
				t.Fatalf("got body %s, want an envelope: %v", a.body, a.envErr)
			}
			e := a.env
			if !strings.HasPrefix(e.RequestID, "req_") || seen[e.RequestID] {
				t.Errorf("got request_id %q, want a new req_… ID", e.RequestID)
			}
			seen[e.RequestID] = true
			if e.Method != tt.method {
				t.Errorf("got method %q, want %q", e.Method, tt.method)
			}
			if e.HTTPCode != tt.wantCode || e.Response.Code != tt.wantCode {
				t.Errorf("got http_code %d and code %d, want both %d", e.HTTPCode, e.Response.Code, tt.wantCode)
			}
			if tt.wantCode == http.StatusOK {
				if e.Response.Status != "success" || e.Response.Error != nil || len(e.Response.Data) == 0 {
					t.Errorf("got status %q, error %v, data %s; want success with data and no error",
						e.Response.Status, e.Response.Error, e.Response.Data)
				}
				return
			}
			if e.Response.Status != "failure" || e.Response.Error == nil || len(e.Response.Data) != 0 {
				t.Fatalf("got status %q, error %v, data %s; want failure with an error and no data",
					e.Response.Status, e.Response.Error, e.Response.Data)
			}
			if e.Response.Error.Code != tt.wantCode || e.Response.Error.Message == "" {
				t.Errorf("got error %+v, want code %d and a message", *e.Response.Error, tt.wantCode)
			}
		})
	}
}

// keyPaths collects every key path of a decoded JSON value, such as
// ".response.data.agents[].team.team_id".
func keyPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := prefix + "." + k
			out[p] = true
			keyPaths(c, p, out)
		}
	case []any:
		for _, c := range x {
			keyPaths(c, prefix+"[]", out)
		}
	}
}

func pathsOf(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	out := map[string]bool{}
	keyPaths(v, "", out)
	return out
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read spec example: %v", err)
	}
	return raw
}

func TestListHasSpecShape(t *testing.T) {
	// Agents with every field the spec's example shows.
	f := newFixture(t, DemoRoster(t0)[:2]...)
	a := f.do(t, http.MethodGet, f.path("/agents/presence"), "")

	got := pathsOf(t, a.body)
	want := pathsOf(t, readTestdata(t, "spec_list_example.json"))
	if !maps.Equal(got, want) {
		t.Errorf("got keys %v,\nwant the spec example's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	// Times in the spec's own form: UTC, to the millisecond.
	specTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	var l struct {
		Response struct {
			Data struct {
				Agents []struct {
					StatusSince string `json:"status_since"`
				} `json:"agents"`
			} `json:"data"`
		} `json:"response"`
	}
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatal(err)
	}
	for _, ag := range l.Response.Data.Agents {
		if !specTime.MatchString(ag.StatusSince) {
			t.Errorf("got status_since %q, want the spec's 2024-06-15T09:00:00.000Z form", ag.StatusSince)
		}
	}
}

func TestAgentHasSpecShape(t *testing.T) {
	f := newFixture(t, DemoRoster(t0)...)
	// agent_003 is on a call in the demo roster, like the spec's example.
	a := f.do(t, http.MethodGet, f.path("/agents/agent_003/presence"), "")
	got := pathsOf(t, a.body)
	for p := range pathsOf(t, readTestdata(t, "spec_agent_example.json")) {
		if !got[p] {
			t.Errorf("got no key %s, want every key of the spec's single-agent example", p)
		}
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	tests := []struct {
		name     string
		auth     string
		wantCode int
	}{
		// The simulator's token is accepted.
		{"right token", "Bearer sim-token", http.StatusOK},
		// The scheme is case-insensitive (RFC 7235).
		{"lower-case scheme", "bearer sim-token", http.StatusOK},
		// No header at all.
		{"missing", "", http.StatusUnauthorized},
		// Another token.
		{"wrong token", "Bearer other-token", http.StatusUnauthorized},
		// The right token with a prefix of it.
		{"token prefix", "Bearer sim-tok", http.StatusUnauthorized},
		// The right token under another scheme.
		{"basic scheme", "Basic sim-token", http.StatusUnauthorized},
		// The token alone, without a scheme.
		{"no scheme", "sim-token", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := f.send(t, context.Background(), http.MethodGet, f.path("/agents/presence"), tt.auth, "")
			if err != nil {
				t.Fatal(err)
			}
			if a.code != tt.wantCode {
				t.Fatalf("got %d, want %d (%s)", a.code, tt.wantCode, a.body)
			}
			if tt.wantCode != http.StatusUnauthorized {
				return
			}
			if got := a.header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("got WWW-Authenticate %q, want Bearer", got)
			}
			if strings.Contains(string(a.body), f.sim.Token()) {
				t.Errorf("got body %s, want no token in it", a.body)
			}
		})
	}
}

func TestOptionsDefaultsAndOverrides(t *testing.T) {
	s := New(Options{})
	if s.AccountSID() != "ACsim" || s.Token() != "sim-token" {
		t.Errorf("got defaults %q/%q, want ACsim/sim-token", s.AccountSID(), s.Token())
	}
	s = New(Options{AccountSID: "AC42", Token: "t0k"})
	if s.AccountSID() != "AC42" || s.Token() != "t0k" {
		t.Errorf("got %q/%q, want AC42/t0k", s.AccountSID(), s.Token())
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t,
		agent("agent_001", "", presence.Available),
		agent("agent/1", "", presence.Busy), // an ID that must be escaped in a path
	)
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantAllow string
	}{
		// Another account's agents do not exist here.
		{"wrong account", http.MethodGet, "/v2/accounts/ACother/agents/presence", http.StatusNotFound, ""},
		// Nor do its single agents.
		{"wrong account agent", http.MethodGet, "/v2/accounts/ACother/agents/agent_001/presence", http.StatusNotFound, ""},
		// An agent that is not on the roster.
		{"unknown agent", http.MethodGet, f.path("/agents/agent_404/presence"), http.StatusNotFound, ""},
		// PUT to an unknown agent, with a valid body.
		{"put unknown agent", http.MethodPut, f.path("/agents/agent_404/presence"), http.StatusNotFound, ""},
		// A path short of an endpoint.
		{"agents only", http.MethodGet, f.path("/agents"), http.StatusNotFound, ""},
		// A path past an endpoint.
		{"extra segment", http.MethodGet, f.path("/agents/agent_001/presence/x"), http.StatusNotFound, ""},
		// Another API version.
		{"v1", http.MethodGet, "/v1/accounts/ACsim/agents/presence", http.StatusNotFound, ""},
		// An empty agent ID.
		{"empty agent", http.MethodGet, f.path("/agents//presence"), http.StatusNotFound, ""},
		// The root.
		{"root", http.MethodGet, "/", http.StatusNotFound, ""},
		// An escaped slash is part of the ID, not a separator.
		{"escaped id", http.MethodGet, f.path("/agents/agent%2F1/presence"), http.StatusOK, ""},
		// The list cannot be written to.
		{"put list", http.MethodPut, f.path("/agents/presence"), http.StatusMethodNotAllowed, "GET"},
		// An agent cannot be deleted.
		{"delete agent", http.MethodDelete, f.path("/agents/agent_001/presence"), http.StatusMethodNotAllowed, "GET, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == http.MethodPut {
				body = `{"status":"busy"}`
			}
			a := f.do(t, tt.method, tt.path, body)
			if a.code != tt.wantCode {
				t.Fatalf("got %d, want %d (%s)", a.code, tt.wantCode, a.body)
			}
			if a.envErr != nil {
				t.Errorf("got body %s, want a JSON envelope: %v", a.body, a.envErr)
			}
			if got := a.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("got Allow %q, want %q", got, tt.wantAllow)
			}
		})
	}
	// The 404 names the agent, so a client can show it.
	a := f.do(t, http.MethodGet, f.path("/agents/agent_404/presence"), "")
	if !strings.Contains(a.message(), "agent_404") {
		t.Errorf("got message %q, want it to name agent_404", a.message())
	}
}
