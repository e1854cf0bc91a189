package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

var t0 = time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// readyz fetches /readyz from h over real HTTP and decodes it.
func readyz(t *testing.T, h *Health) (int, readyBody) {
	t.Helper()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/readyz Content-Type: got %q, want application/json", ct)
	}
	var body readyBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode /readyz: %v", err)
	}
	return resp.StatusCode, body
}

// apiErr builds the error the presence client returns for a failed call.
func apiErr(kind error, code int) error {
	return &presence.APIError{Op: "list presence", Kind: kind, StatusCode: code}
}

func TestReadyzFlips(t *testing.T) {
	up := func(h *Health) { h.Connection(true) }
	down := func(h *Health) { h.Connection(false) }
	api := func(endpoint string, err error) func(*Health) {
		return func(h *Health) {
			h.ObserveAPI(presence.Observation{Endpoint: endpoint, Code: 200, Attempts: 1, Err: err})
		}
	}
	failFast := func(h *Health) {
		h.ObserveAPI(presence.Observation{Endpoint: "list", Attempts: 0,
			Err: &presence.APIError{Op: "list presence", Kind: presence.ErrUnavailable, Cause: errors.New("failing fast after repeated failures")}})
	}
	canceled := func(h *Health) {
		h.ObserveAPI(presence.Observation{Endpoint: "get", Attempts: 1,
			Err: &presence.APIError{Op: "get agent", Kind: presence.ErrUnavailable, Cause: context.Canceled}})
	}
	set := func(part string, s State) func(*Health) {
		return func(h *Health) { h.Set(part, s, "detail of "+part) }
	}

	tests := []struct {
		name       string
		steps      []func(*Health)
		wantCode   int
		wantStatus State
		wantParts  map[string]State
		wantDetail map[string]string // details to check, by part
	}{
		// Before Slack connects the bot is not ready; the API has not been asked.
		{"start", nil, 503, Down,
			map[string]State{"slack_socket": Down, "contact_center": OK},
			map[string]string{"slack_socket": "not connected yet", "contact_center": "no request yet"}},
		// Connected and no API failure: ready.
		{"connected", steps(up), 200, OK,
			map[string]State{"slack_socket": OK, "contact_center": OK}, nil},
		// The socket drops: not ready.
		{"socket drops", steps(up, down), 503, Down,
			map[string]State{"slack_socket": Down, "contact_center": OK},
			map[string]string{"slack_socket": "disconnected"}},
		// And back.
		{"socket returns", steps(up, down, up), 200, OK,
			map[string]State{"slack_socket": OK}, nil},
		// A failed API call: not ready, and the detail names the class and code.
		{"api fails", steps(up, api("list", apiErr(presence.ErrServer, 503))), 503, Down,
			map[string]State{"contact_center": Down},
			map[string]string{"contact_center": "list: contact-center server error (HTTP 503)"}},
		// The next success makes it ready again.
		{"api recovers", steps(up, api("list", apiErr(presence.ErrServer, 503)), api("list", nil)), 200, OK,
			map[string]State{"contact_center": OK},
			map[string]string{"contact_center": "last request succeeded"}},
		// Failing fast is a failure too, and says so.
		{"failing fast", steps(up, failFast), 503, Down,
			map[string]State{"contact_center": Down},
			map[string]string{"contact_center": "list: contact center unavailable (failing fast after repeated failures)"}},
		// An unknown agent is the service working.
		{"agent not found", steps(up, api("list", apiErr(presence.ErrServer, 500)), api("get", apiErr(presence.ErrNotFound, 404))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// So is a refused transition.
		{"invalid transition", steps(up, api("update", apiErr(presence.ErrInvalidTransition, 400))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// But a 404 on the list means a wrong URL or account.
		{"list not found", steps(up, api("list", apiErr(presence.ErrNotFound, 404))), 503, Down,
			map[string]State{"contact_center": Down},
			map[string]string{"contact_center": "list: agent not found (HTTP 404)"}},
		// A refused token is down.
		{"unauthorized", steps(up, api("list", apiErr(presence.ErrUnauthorized, 401))), 503, Down,
			map[string]State{"contact_center": Down}, nil},
		// A call its caller abandoned changes nothing: still ok ...
		{"canceled after success", steps(up, api("get", nil), canceled), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// ... and still down.
		{"canceled after failure", steps(up, api("get", apiErr(presence.ErrServer, 502)), canceled), 503, Down,
			map[string]State{"contact_center": Down}, nil},
		// A degraded part is reported but the bot stays ready.
		{"degraded", steps(up, set("redis", Degraded)), 200, Degraded,
			map[string]State{"redis": Degraded, "slack_socket": OK},
			map[string]string{"redis": "detail of redis"}},
		// A part that is down makes the bot not ready.
		{"extra part down", steps(up, set("redis", Down)), 503, Down,
			map[string]State{"redis": Down}, nil},
		// A state that is none of the three fails safe.
		{"unknown state", steps(up, set("redis", State("meh"))), 503, Down,
			map[string]State{"redis": "meh"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			h := NewHealth(clk.Now)
			for _, step := range tt.steps {
				step(h)
			}
			code, body := readyz(t, h)
			if code != tt.wantCode {
				t.Errorf("/readyz code: got %d, want %d (body %+v)", code, tt.wantCode, body)
			}
			if body.Ready != (tt.wantCode == 200) {
				t.Errorf("/readyz ready: got %v, want %v", body.Ready, tt.wantCode == 200)
			}
			if body.Status != tt.wantStatus {
				t.Errorf("/readyz status: got %q, want %q", body.Status, tt.wantStatus)
			}
			for part, want := range tt.wantParts {
				if got := body.Parts[part].State; got != want {
					t.Errorf("part %s state: got %q, want %q", part, got, want)
				}
			}
			for part, want := range tt.wantDetail {
				if got := body.Parts[part].Detail; got != want {
					t.Errorf("part %s detail: got %q, want %q", part, got, want)
				}
			}
			ready, parts := h.Ready()
			if ready != body.Ready || len(parts) != len(body.Parts) {
				t.Errorf("Ready(): got %v with %d parts, want what /readyz said: %v with %d", ready, len(parts), body.Ready, len(body.Parts))
			}
		})
	}
}

func steps(s ...func(*Health)) []func(*Health) { return s }

func TestHealthSinceMovesOnlyOnStateChange(t *testing.T) {
	clk := &fakeClock{t: t0}
	h := NewHealth(clk.Now)
	since := func() time.Time {
		t.Helper()
		_, parts := h.Ready()
		return parts[PartSlackSocket].Since
	}
	if got := since(); !got.Equal(t0) {
		t.Errorf("since at start: got %v, want %v", got, t0)
	}
	clk.Advance(time.Minute)
	h.Connection(true)
	if got, want := since(), t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("since after connecting: got %v, want %v", got, want)
	}
	clk.Advance(time.Minute)
	h.Connection(true) // same state again
	h.Set(PartSlackSocket, OK, "still connected")
	if got, want := since(), t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("since after repeated ok: got %v, want %v (unchanged)", got, want)
	}
	_, parts := h.Ready()
	if got := parts[PartSlackSocket].Detail; got != "still connected" {
		t.Errorf("detail: got %q, want the latest, %q", got, "still connected")
	}
	clk.Advance(time.Minute)
	h.Connection(false)
	if got, want := since(), t0.Add(3*time.Minute); !got.Equal(want) {
		t.Errorf("since after dropping: got %v, want %v", got, want)
	}
}

func TestReadyPartsAreACopy(t *testing.T) {
	h := NewHealth(nil)
	_, parts := h.Ready()
	parts[PartSlackSocket] = PartStatus{State: OK}
	if ready, _ := h.Ready(); ready {
		t.Errorf("Ready after changing the returned map: got true, want false")
	}
}

func TestReadyzDetailHidesErrorText(t *testing.T) {
	// A transport error whose URL names the account and carries a token in
	// its query, as a misbehaving proxy might.
	cause := &url.Error{Op: "Get", URL: "https://ccm.example/v2/accounts/AC_SECRET_SID/agents/presence?token=tok-SECRET", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		err  error
		want string
	}{
		// The client's typed error: class only.
		{"api error", &presence.APIError{Op: "list presence", Kind: presence.ErrUnavailable, Cause: cause}, "list: contact center unavailable"},
		// Any other error: a generic phrase.
		{"plain error", fmt.Errorf("list: %w", cause), "list: request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(nil)
			h.ObserveAPI(presence.Observation{Endpoint: "list", Attempts: 3, Err: tt.err})
			srv := httptest.NewServer(h.Handler())
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(raw), "SECRET") {
				t.Errorf("/readyz body leaks error text: %s", raw)
			}
			var body readyBody
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			if got := body.Parts[PartContactCenter].Detail; got != tt.want {
				t.Errorf("detail: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHealthzAndMethods(t *testing.T) {
	h := NewHealth(nil) // not ready, but alive
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	tests := []struct {
		name     string
		method   string
		path     string
		wantCode int
		wantBody string // "" to skip
	}{
		// Alive regardless of readiness.
		{"healthz", http.MethodGet, "/healthz", 200, `{"status":"ok"}` + "\n"},
		// HEAD works for probes that use it.
		{"healthz head", http.MethodHead, "/healthz", 200, ""},
		// Probes only read.
		{"post readyz", http.MethodPost, "/readyz", 405, ""},
		// Nothing else is served.
		{"unknown path", http.MethodGet, "/debug/pprof/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantCode)
			}
			if tt.wantBody != "" && string(b) != tt.wantBody {
				t.Errorf("%s %s body: got %q, want %q", tt.method, tt.path, b, tt.wantBody)
			}
		})
	}
}

// TestHealthAndMetricsFollowTheRealClient wires both observers into the
// presence client and drives it against the simulator over HTTP, faults
// included, as the app does.
func TestHealthAndMetricsFollowTheRealClient(t *testing.T) {
	sim := ccmsim.New(ccmsim.Options{Now: func() time.Time { return t0 }})
	sim.Add(presence.Agent{ID: "agent_001", Name: "John Agent", Status: presence.Available,
		StatusSince: t0.Add(-time.Hour), Team: &presence.Team{ID: "sales", Name: "Sales"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	h := NewHealth(func() time.Time { return t0 })
	m := NewMetrics()
	h.Connection(true)
	c := presence.NewClient(sim.AccountSID(), sim.Token(),
		presence.WithBaseURL(srv.URL),
		presence.WithHTTPClient(srv.Client()),
		presence.WithRetry(2, time.Millisecond, 2*time.Millisecond),
		presence.WithBreaker(0, 0, nil),
		presence.WithObserver(func(o presence.Observation) { h.ObserveAPI(o); m.ObserveAPI(o) }),
	)
	ctx := context.Background()

	// Healthy.
	if _, err := c.Get(ctx, "agent_001"); err != nil {
		t.Fatalf("get: %v", err)
	}
	if code, _ := readyz(t, h); code != 200 {
		t.Errorf("/readyz after a success: got %d, want 200", code)
	}

	// Both attempts answered 503: down, with two attempts and one retry.
	sim.Inject(ccmsim.Fault{Code: 503, Times: 2})
	if _, err := c.Get(ctx, "agent_001"); err == nil {
		t.Fatal("get during an outage: got no error, want one")
	}
	code, body := readyz(t, h)
	if code != 503 || body.Parts[PartContactCenter].State != Down {
		t.Errorf("/readyz during an outage: got %d %+v, want 503 with contact_center down", code, body.Parts[PartContactCenter])
	}

	// The next success brings it back.
	if _, err := c.Get(ctx, "agent_001"); err != nil {
		t.Fatalf("get after the outage: %v", err)
	}
	if code, _ := readyz(t, h); code != 200 {
		t.Errorf("/readyz after recovery: got %d, want 200", code)
	}

	f := scrape(t, m)
	if got := f.value(t, "presence_bot_contact_center_requests_total", l("endpoint", "get", "code", "200")); got != 2 {
		t.Errorf("requests_total{get,200}: got %v, want 2", got)
	}
	if got := f.value(t, "presence_bot_contact_center_requests_total", l("endpoint", "get", "code", "503")); got != 1 {
		t.Errorf("requests_total{get,503}: got %v, want 1", got)
	}
	if got := f.value(t, "presence_bot_contact_center_retries_total", l("endpoint", "get")); got != 1 {
		t.Errorf("retries_total{get}: got %v, want 1", got)
	}
}
