package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/testlog"
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
	timeout := func(h *Health) {
		h.ObserveAPI(presence.Observation{Endpoint: "get", Attempts: 3,
			Err: &presence.APIError{Op: "get agent", Kind: presence.ErrUnavailable, Cause: context.DeadlineExceeded}})
	}
	canceled := func(h *Health) {
		h.ObserveAPI(presence.Observation{Endpoint: "get", Attempts: 1,
			Err: &presence.APIError{Op: "get agent", Kind: presence.ErrUnavailable, Cause: context.Canceled}})
	}
	set := func(part string, s State) func(*Health) {
		return func(h *Health) { h.Set(part, s, "detail of "+part) }
	}
	const refused = State("refused")
	listRefused := api("list", apiErr(presence.ErrUnauthorized, 401))

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

		// An outage is shared by every replica: reported, still ready.
		{"server error", steps(up, api("list", apiErr(presence.ErrServer, 503))), 200, Degraded,
			map[string]State{"contact_center": Degraded},
			map[string]string{"contact_center": "list request failed: contact-center server error (HTTP 503)"}},
		{"rate limited", steps(up, api("get", apiErr(presence.ErrRateLimited, 429))), 200, Degraded,
			map[string]State{"contact_center": Degraded},
			map[string]string{"contact_center": "get request failed: rate limited (HTTP 429)"}},
		{"timeout", steps(up, timeout), 200, Degraded,
			map[string]State{"contact_center": Degraded},
			map[string]string{"contact_center": "get request failed: contact center unavailable (no answer)"}},
		{"failing fast", steps(up, failFast), 200, Degraded,
			map[string]State{"contact_center": Degraded},
			map[string]string{"contact_center": "list request failed: contact center unavailable (failing fast after repeated failures)"}},
		{"bad answer", steps(up, api("list", apiErr(presence.ErrBadResponse, 200))), 200, Degraded,
			map[string]State{"contact_center": Degraded}, nil},
		// The next success ends it.
		{"outage ends", steps(up, api("list", apiErr(presence.ErrServer, 503)), api("get", nil)), 200, OK,
			map[string]State{"contact_center": OK},
			map[string]string{"contact_center": "last request succeeded"}},

		// The account's own list refused: the configuration is wrong, so
		// not ready, and the detail says which setting to fix.
		{"token refused", steps(up, listRefused), 503, refused,
			map[string]State{"contact_center": refused},
			map[string]string{"contact_center": "the contact center refused EXOTEL_ACCESS_TOKEN (HTTP 401): copy the token again"}},
		{"account forbidden", steps(up, api("list", apiErr(presence.ErrForbidden, 403))), 503, refused,
			map[string]State{"contact_center": refused},
			map[string]string{"contact_center": "EXOTEL_ACCESS_TOKEN may not read this account's agents (HTTP 403 on the account's list): check the token's permissions and EXOTEL_ACCOUNT_SID"}},
		{"no such account", steps(up, api("list", apiErr(presence.ErrNotFound, 404))), 503, refused,
			map[string]State{"contact_center": refused},
			map[string]string{"contact_center": "no such account (HTTP 404 on the account's list): check EXOTEL_ACCOUNT_SID and the region (EXOTEL_REGION or EXOTEL_BASE_URL)"}},
		// Refused stays refused through an outage and through answers
		// about one agent: neither says the configuration is right now.
		{"refused then outage", steps(up, listRefused, api("list", apiErr(presence.ErrServer, 502)), failFast), 503, refused,
			map[string]State{"contact_center": refused}, nil},
		{"refused then one agent unknown", steps(up, listRefused, api("get", apiErr(presence.ErrNotFound, 404))), 503, refused,
			map[string]State{"contact_center": refused}, nil},
		// A success means the contact center accepts the configuration.
		{"refused then accepted", steps(up, listRefused, api("list", nil)), 200, OK,
			map[string]State{"contact_center": OK}, nil},

		// Answers about one agent are the service working: never refused.
		{"agent not found", steps(up, api("get", apiErr(presence.ErrNotFound, 404))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		{"agent change forbidden", steps(up, api("update", apiErr(presence.ErrForbidden, 403))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		{"agent read forbidden", steps(up, api("get", apiErr(presence.ErrForbidden, 403))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		{"invalid transition", steps(up, api("update", apiErr(presence.ErrInvalidTransition, 400))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// ... and end an outage, since the service answered.
		{"outage ends with an agent answer", steps(up, api("list", apiErr(presence.ErrServer, 500)), api("get", apiErr(presence.ErrNotFound, 404))), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// A token refused on one agent's call is worth a look but only
		// the list decides "refused" (the probe checks it next).
		{"token refused on one agent", steps(up, api("get", apiErr(presence.ErrUnauthorized, 401))), 200, Degraded,
			map[string]State{"contact_center": Degraded},
			map[string]string{"contact_center": "the contact center refused EXOTEL_ACCESS_TOKEN on an agent's request (HTTP 401); checking the account's list"}},

		// A call its caller abandoned changes nothing: still ok ...
		{"canceled after success", steps(up, api("get", nil), canceled), 200, OK,
			map[string]State{"contact_center": OK}, nil},
		// ... still degraded ...
		{"canceled after failure", steps(up, api("get", apiErr(presence.ErrServer, 502)), canceled), 200, Degraded,
			map[string]State{"contact_center": Degraded}, nil},
		// ... still refused.
		{"canceled after refusal", steps(up, listRefused, canceled), 503, refused,
			map[string]State{"contact_center": refused}, nil},

		// A degraded part is reported but the bot stays ready.
		{"degraded", steps(up, set("redis", Degraded)), 200, Degraded,
			map[string]State{"redis": Degraded, "slack_socket": OK},
			map[string]string{"redis": "detail of redis"}},
		// A part that is down makes the bot not ready.
		{"extra part down", steps(up, set("redis", Down)), 503, Down,
			map[string]State{"redis": Down}, nil},
		// A state that is none of the known ones fails safe.
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
		{"api error", &presence.APIError{Op: "list presence", Kind: presence.ErrUnavailable, Cause: cause}, "list request failed: contact center unavailable (no answer)"},
		// Any other error: a generic phrase.
		{"plain error", fmt.Errorf("list: %w", cause), "list request failed"},
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

	// Both attempts answered 503: degraded but ready, with two attempts
	// and one retry.
	sim.Inject(ccmsim.Fault{Code: 503, Times: 2})
	if _, err := c.Get(ctx, "agent_001"); err == nil {
		t.Fatal("get during an outage: got no error, want one")
	}
	code, body := readyz(t, h)
	if code != 200 || body.Parts[PartContactCenter].State != Degraded {
		t.Errorf("/readyz during an outage: got %d %+v, want 200 with contact_center degraded", code, body.Parts[PartContactCenter])
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

// TestRefusalFollowsTheRealClient drives the real client against the
// simulator with a wrong token and a wrong account: the list refused makes
// the bot not ready, an unknown agent does not.
func TestRefusalFollowsTheRealClient(t *testing.T) {
	sim := ccmsim.New(ccmsim.Options{Now: func() time.Time { return t0 }})
	sim.Add(presence.Agent{ID: "agent_001", Name: "John Agent", Status: presence.Available,
		StatusSince: t0.Add(-time.Hour), Team: &presence.Team{ID: "sales", Name: "Sales"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := func(h *Health, sid, token string) *presence.Client {
		return presence.NewClient(sid, token,
			presence.WithBaseURL(srv.URL),
			presence.WithHTTPClient(srv.Client()),
			presence.WithRetry(2, time.Millisecond, 2*time.Millisecond),
			presence.WithBreaker(0, 0, nil),
			presence.WithObserver(h.ObserveAPI),
		)
	}
	ctx := context.Background()
	state := func(h *Health) (int, PartStatus) {
		t.Helper()
		code, body := readyz(t, h)
		return code, body.Parts[PartContactCenter]
	}

	// A wrong token: the list is refused.
	h := NewHealth(nil)
	h.Connection(true)
	c := client(h, sim.AccountSID(), "tok-WRONG")
	if _, err := c.List(ctx, presence.ListOptions{Limit: 1}); err == nil {
		t.Fatal("list with a wrong token: got no error")
	}
	if code, ps := state(h); code != 503 || ps.State != "refused" || !strings.Contains(ps.Detail, "EXOTEL_ACCESS_TOKEN") {
		t.Errorf("/readyz with a wrong token: got %d %+v, want 503 refused naming EXOTEL_ACCESS_TOKEN", code, ps)
	}
	// The contact center starts accepting that token: ready, no restart.
	sim.SetToken("tok-WRONG")
	if _, err := c.List(ctx, presence.ListOptions{Limit: 1}); err != nil {
		t.Fatalf("list once accepted: %v", err)
	}
	if code, ps := state(h); code != 200 || ps.State != OK {
		t.Errorf("/readyz once accepted: got %d %+v, want 200 ok", code, ps)
	}
	sim.SetToken(ccmsim.DefaultToken)

	// A wrong account: the list answers 404, which is the account missing.
	h = NewHealth(nil)
	h.Connection(true)
	c = client(h, "AC_NOPE", sim.Token())
	if _, err := c.List(ctx, presence.ListOptions{Limit: 1}); err == nil {
		t.Fatal("list of a wrong account: got no error")
	}
	code, ps := state(h)
	if code != 503 || ps.State != "refused" || !strings.Contains(ps.Detail, "EXOTEL_ACCOUNT_SID") || strings.Contains(ps.Detail, "agent not found") {
		t.Errorf("/readyz with a wrong account: got %d %+v, want 503 refused naming EXOTEL_ACCOUNT_SID", code, ps)
	}

	// The right account, an unknown agent: the service working.
	h = NewHealth(nil)
	h.Connection(true)
	c = client(h, sim.AccountSID(), sim.Token())
	if _, err := c.Get(ctx, "agent_404"); !errors.Is(err, presence.ErrNotFound) {
		t.Fatalf("get of an unknown agent: got %v, want not found", err)
	}
	if code, ps := state(h); code != 200 || ps.State != OK {
		t.Errorf("/readyz after an unknown agent: got %d %+v, want 200 ok", code, ps)
	}
}

// TestProbesRecheckUntilAccepted runs the probe loop with a scripted
// contact center: it re-checks while refused or degraded, backing off up
// to the cap, rests while ok, and wakes when a request fails.
func TestProbesRecheckUntilAccepted(t *testing.T) {
	h := NewHealth(nil)
	h.Connection(true)
	h.MarkChecking()
	if ready, parts := h.Ready(); ready || parts[PartContactCenter].State != Checking {
		t.Fatalf("before the first check: ready %v, contact_center %+v; want not ready, checking", ready, parts[PartContactCenter])
	}

	list := func(err error) presence.Observation {
		return presence.Observation{Endpoint: "list", Attempts: 1, Err: err}
	}
	script := []presence.Observation{
		list(apiErr(presence.ErrUnauthorized, 401)), // the first check: refused
		list(apiErr(presence.ErrUnauthorized, 401)),
		list(apiErr(presence.ErrServer, 503)), // an outage says nothing: still refused
		list(apiErr(presence.ErrUnauthorized, 401)),
		list(nil), // accepted
		list(nil), // after the outage below
	}
	var (
		mu     sync.Mutex
		checks int
		waits  []time.Duration
	)
	checked := func() int { mu.Lock(); defer mu.Unlock(); return checks }
	p := Probes{
		Every: 10 * time.Millisecond,
		Max:   40 * time.Millisecond,
		Check: func(ctx context.Context) error {
			mu.Lock()
			o := script[min(checks, len(script)-1)]
			checks++
			mu.Unlock()
			h.ObserveAPI(o)
			return o.Err
		},
		// The waits are recorded, not slept: the test runs in no time.
		Sleep: func(ctx context.Context, d time.Duration) bool {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return ctx.Err() == nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.RunProbes(ctx, p) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "accepted after four refused or failed checks", func() bool {
		ready, _ := h.Ready()
		return ready && checked() == 5
	})
	mu.Lock()
	got := slices.Clone(waits)
	mu.Unlock()
	// Jittered within [d/2, d] of 10, 20, 40, 40 ms: doubling, capped.
	nominal := []time.Duration{10, 20, 40, 40}
	if len(got) != len(nominal) {
		t.Fatalf("waits: got %v, want %d of them", got, len(nominal))
	}
	for i, n := range nominal {
		if d := n * time.Millisecond; got[i] < d/2 || got[i] > d {
			t.Errorf("wait %d: got %v, want within [%v, %v]", i, got[i], d/2, d)
		}
	}

	// While ok it rests: no check without a reason.
	time.Sleep(5 * time.Millisecond)
	if n := checked(); n != 5 {
		t.Errorf("checks while ok: got %d, want 5 (none)", n)
	}

	// A command meets an outage: degraded, and the loop checks again
	// after the first wait (the backoff starts over).
	h.ObserveAPI(presence.Observation{Endpoint: "get", Attempts: 2, Err: apiErr(presence.ErrServer, 502)})
	waitFor(t, "a check after the outage", func() bool {
		_, parts := h.Ready()
		return checked() == 6 && parts[PartContactCenter].State == OK
	})
	mu.Lock()
	last := waits[len(waits)-1]
	mu.Unlock()
	if last < 5*time.Millisecond || last > 10*time.Millisecond {
		t.Errorf("wait after the outage: got %v, want within [5ms, 10ms]", last)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunProbes did not return after cancel")
	}
}

// TestProbeWithoutAnswerEndsChecking keeps a check that reports
// nothing (say, cut short by its timeout before any observation) from
// leaving the bot unready for ever.
func TestProbeWithoutAnswerEndsChecking(t *testing.T) {
	h := NewHealth(nil)
	h.Connection(true)
	h.MarkChecking()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := Probes{
		Every: time.Millisecond, Max: time.Millisecond,
		Check: func(context.Context) error { return errors.New("no observation") },
		Sleep: func(ctx context.Context, _ time.Duration) bool { cancel(); return false },
	}
	go func() { defer close(done); h.RunProbes(ctx, p) }()
	<-done
	ready, parts := h.Ready()
	if !ready || parts[PartContactCenter].State != Degraded {
		t.Errorf("after a check with no answer: ready %v, %+v; want ready, degraded", ready, parts[PartContactCenter])
	}
}

// TestProbeTimeoutBoundsACheck: a check that hangs ends at the timeout.
func TestProbeTimeoutBoundsACheck(t *testing.T) {
	h := NewHealth(nil)
	h.MarkChecking()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var deadline bool
	p := Probes{
		Every: time.Millisecond, Max: time.Millisecond, Timeout: 5 * time.Millisecond,
		Check: func(ctx context.Context) error {
			_, deadline = ctx.Deadline()
			<-ctx.Done()
			h.ObserveAPI(presence.Observation{Endpoint: "list", Err: &presence.APIError{Kind: presence.ErrUnavailable, Cause: ctx.Err()}})
			return ctx.Err()
		},
		Sleep: func(context.Context, time.Duration) bool { cancel(); return false },
	}
	h.RunProbes(ctx, p)
	if !deadline {
		t.Error("the check had no deadline")
	}
	if _, parts := h.Ready(); parts[PartContactCenter].State != Degraded {
		t.Errorf("after a check that timed out: %+v, want degraded", parts[PartContactCenter])
	}
}

// TestHealthLogsEachChangeOnce: a line per change of state, never per
// request, at a level that says how bad, and no secret in it.
func TestHealthLogsEachChangeOnce(t *testing.T) {
	logs := &testlog.Buffer{}
	h := NewHealth(nil)
	h.LogChanges(slog.New(slog.NewTextHandler(logs, nil)))
	h.Connection(true)
	outage := presence.Observation{Endpoint: "list", Attempts: 2, Err: &presence.APIError{Op: "list presence", Kind: presence.ErrServer, StatusCode: 503,
		Message: "tok-SECRET", Cause: errors.New("https://ccm.example/v2/accounts/AC_SECRET/agents/presence")}}
	for range 3 {
		h.ObserveAPI(outage)
	}
	for range 3 {
		h.ObserveAPI(presence.Observation{Endpoint: "list", Attempts: 1, Err: apiErr(presence.ErrUnauthorized, 401)})
	}
	for range 3 {
		h.ObserveAPI(presence.Observation{Endpoint: "get", Attempts: 1})
	}
	out := logs.String()
	for _, want := range []string{
		"level=WARN msg=\"health changed\" part=contact_center state=degraded",
		"level=ERROR msg=\"health changed\" part=contact_center state=refused",
		"level=INFO msg=\"health changed\" part=contact_center state=ok",
	} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("log lines %q: got %d, want 1\n%s", want, n, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("the log holds error text:\n%s", out)
	}
}

// TestStoppingIsNotReady: a replica shutting down leaves the rotation at
// once, whatever its parts say.
func TestStoppingIsNotReady(t *testing.T) {
	h := NewHealth(nil)
	h.Connection(true)
	if code, _ := readyz(t, h); code != 200 {
		t.Fatalf("/readyz before stopping: got %d, want 200", code)
	}
	h.Stopping()
	code, body := readyz(t, h)
	if code != 503 || body.Ready || !body.Stopping {
		t.Errorf("/readyz while stopping: got %d %+v, want 503, not ready, stopping", code, body)
	}
}

// TestRefusedIsExportedAsAState: alert rules can tell refused from down.
func TestRefusedIsExportedAsAState(t *testing.T) {
	m := NewMetrics()
	h := NewHealth(nil)
	m.WatchHealth(h)
	h.Connection(true)
	h.ObserveAPI(presence.Observation{Endpoint: "list", Attempts: 1, Err: apiErr(presence.ErrNotFound, 404)})
	f := scrape(t, m)
	if got := f.value(t, "presence_bot_ready", nil); got != 0 {
		t.Errorf("presence_bot_ready while refused: got %v, want 0", got)
	}
	for _, s := range []State{OK, Degraded, Down, Refused, Checking} {
		want := 0.0
		if s == Refused {
			want = 1
		}
		if got := f.value(t, "presence_bot_health_state", l("part", PartContactCenter, "state", string(s))); got != want {
			t.Errorf("health_state{contact_center,%s}: got %v, want %v", s, got, want)
		}
	}
}

// waitFor polls check every millisecond for up to 5 s.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
