package presence_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// secretToken is distinctive so a test can prove it never leaks.
const secretToken = "tok-SECRET-7f3a9c"

var base = time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)

// setup starts the simulator over real HTTP and a client for it, with
// retry waits shrunk so tests stay fast.
func setup(t *testing.T, opts ...presence.Option) (*ccmsim.Sim, *presence.Client) {
	t.Helper()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken, Now: func() time.Time { return base }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	all := append([]presence.Option{
		presence.WithBaseURL(srv.URL),
		presence.WithRetry(3, time.Millisecond, 5*time.Millisecond),
		presence.WithBreaker(0, 0, nil),
	}, opts...)
	return sim, presence.NewClient(sim.AccountSID(), secretToken, all...)
}

func agent(id, name string, st presence.Status, team string) presence.Agent {
	return presence.Agent{ID: id, Name: name, Email: id + "@example.com", Status: st,
		StatusSince: base.Add(-time.Hour), Team: &presence.Team{ID: team, Name: strings.ToUpper(team[:1]) + team[1:]}}
}

func TestListDecodesPageAndSummary(t *testing.T) {
	sim, c := setup(t)
	sim.Add(
		agent("agent_001", "John Agent", presence.Available, "sales"),
		agent("agent_002", "Jane Support", presence.Busy, "support"),
		agent("agent_003", "Ann Calls", presence.Available, "support"),
	)
	page, err := c.List(context.Background(), presence.ListOptions{Status: presence.Available, TeamID: "support"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Agents) != 1 || page.Agents[0].ID != "agent_003" {
		t.Fatalf("agents = %+v, want only agent_003", page.Agents)
	}
	a := page.Agents[0]
	if a.Name != "Ann Calls" || a.Status != presence.Available || a.TeamID() != "support" || !a.StatusSince.Equal(base.Add(-time.Hour)) {
		t.Errorf("agent decoded as %+v", a)
	}
	// The summary counts the team whatever the status filter; total counts all filters.
	want := presence.Summary{Total: 2, Available: 1, Busy: 1}
	if page.Summary != want {
		t.Errorf("summary = %+v, want %+v", page.Summary, want)
	}
	if page.Total != 1 {
		t.Errorf("total = %d, want 1", page.Total)
	}
}

func TestListAllPagesAcross250Agents(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(250, nil, base, 1)...)
	r, err := c.ListAll(context.Background(), presence.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Agents) != 250 {
		t.Fatalf("got %d agents, want 250", len(r.Agents))
	}
	seen := map[string]bool{}
	for _, a := range r.Agents {
		if seen[a.ID] {
			t.Fatalf("agent %s twice", a.ID)
		}
		seen[a.ID] = true
	}
	if r.Summary.Total != 250 {
		t.Errorf("summary total = %d, want 250", r.Summary.Total)
	}
	if got := sim.Stats().Lists; got != 3 {
		t.Errorf("list requests = %d, want 3 (pages of 100)", got)
	}
}

func TestListRefusesBadOptionsWithoutARequest(t *testing.T) {
	sim, c := setup(t)
	for _, o := range []presence.ListOptions{{Limit: 101}, {Limit: -1}, {Offset: -5}} {
		if _, err := c.List(context.Background(), o); err == nil {
			t.Errorf("List(%+v) succeeded, want an error", o)
		}
	}
	if n := sim.Stats().Total; n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

func TestGetWithCurrentCall(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	if err := sim.StartCall("agent_001", presence.Call{SID: "call_1", Direction: "outbound", CustomerNumber: "+919876543210"}); err != nil {
		t.Fatal(err)
	}
	a, err := c.Get(context.Background(), "agent_001")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != presence.OnCall || a.CurrentCall == nil {
		t.Fatalf("got %+v, want on-call with a call", a)
	}
	if a.CurrentCall.SID != "call_1" || a.CurrentCall.Direction != "outbound" || a.CurrentCall.CustomerNumber != "+919876543210" {
		t.Errorf("call = %+v", a.CurrentCall)
	}
}

func TestSetStatus(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	if err := c.SetStatus(context.Background(), "agent_001", presence.Busy); err != nil {
		t.Fatal(err)
	}
	if a, _ := sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("status = %s, want busy", a.Status)
	}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name  string
		fault *ccmsim.Fault
		call  func(c *presence.Client) error
		want  error
		code  int
	}{
		{"invalid transition carries the API's message", nil,
			func(c *presence.Client) error {
				return c.SetStatus(context.Background(), "agent_001", presence.Available)
			},
			presence.ErrInvalidTransition, 400},
		{"unknown agent", nil,
			func(c *presence.Client) error { _, err := c.Get(context.Background(), "nobody"); return err },
			presence.ErrNotFound, 404},
		{"unauthorized", &ccmsim.Fault{Code: 401},
			func(c *presence.Client) error { _, err := c.Get(context.Background(), "agent_001"); return err },
			presence.ErrUnauthorized, 401},
		{"rate limited past every retry", &ccmsim.Fault{Code: 429},
			func(c *presence.Client) error {
				_, err := c.List(context.Background(), presence.ListOptions{})
				return err
			},
			presence.ErrRateLimited, 429},
		{"server error past every retry", &ccmsim.Fault{Code: 500},
			func(c *presence.Client) error {
				_, err := c.List(context.Background(), presence.ListOptions{})
				return err
			},
			presence.ErrServer, 500},
		{"malformed JSON", &ccmsim.Fault{Code: 200, Body: `{"response": {"data": [`},
			func(c *presence.Client) error {
				_, err := c.List(context.Background(), presence.ListOptions{})
				return err
			},
			presence.ErrBadResponse, 200},
		{"missing fields", &ccmsim.Fault{Code: 200, Body: `{"response": {"data": {"agents": []}}}`},
			func(c *presence.Client) error {
				_, err := c.List(context.Background(), presence.ListOptions{})
				return err
			},
			presence.ErrBadResponse, 0},
		{"unknown status in data", &ccmsim.Fault{Code: 200, Body: `{"response": {"data": {"user_id": "a", "status": "napping"}}}`},
			func(c *presence.Client) error { _, err := c.Get(context.Background(), "agent_001"); return err },
			presence.ErrBadResponse, 0},
		{"agent without an ID", &ccmsim.Fault{Code: 200, Body: `{"response": {"data": {"status": "busy"}}}`},
			func(c *presence.Client) error { _, err := c.Get(context.Background(), "agent_001"); return err },
			presence.ErrBadResponse, 0},
		{"empty body", &ccmsim.Fault{Code: 200, Body: ` `},
			func(c *presence.Client) error { _, err := c.Get(context.Background(), "agent_001"); return err },
			presence.ErrBadResponse, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c := setup(t)
			sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
			if tt.fault != nil {
				sim.Inject(*tt.fault)
			}
			err := tt.call(c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ae *presence.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T is not an *APIError", err)
			}
			if tt.code != 0 && ae.StatusCode != tt.code {
				t.Errorf("status code = %d, want %d", ae.StatusCode, tt.code)
			}
			if tt.want == presence.ErrInvalidTransition && ae.Message == "" {
				t.Errorf("invalid transition without the API's message: %v", err)
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Errorf("error text leaks the token: %v", err)
			}
		})
	}
}

func TestRetryAfterIsHonouredThenSucceeds(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Code: 429, RetryAfter: time.Second, Times: 1})
	start := time.Now()
	a, err := c.Get(context.Background(), "agent_001")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "agent_001" {
		t.Errorf("got %s", a.ID)
	}
	// The retry waited for the API's Retry-After, not the 1 ms backoff.
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, want at least the 1s Retry-After", waited)
	}
	if got := sim.Stats().Gets; got != 2 {
		t.Errorf("GET requests = %d, want 2", got)
	}
}

func TestRetryAfterLongerThanDeadlineFailsAtOnce(t *testing.T) {
	sim, c := setup(t)
	sim.Inject(ccmsim.Fault{Code: 429, RetryAfter: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.List(ctx, presence.ListOptions{})
	if !errors.Is(err, presence.ErrRateLimited) {
		t.Fatalf("err = %v, want rate limited", err)
	}
	var ae *presence.APIError
	if errors.As(err, &ae) && ae.RetryAfter != time.Minute {
		t.Errorf("RetryAfter = %v, want 1m", ae.RetryAfter)
	}
	if ctx.Err() != nil {
		t.Error("the client waited out the deadline instead of failing at once")
	}
}

func TestPersistentServerErrorEndsWithinDeadline(t *testing.T) {
	sim, c := setup(t, presence.WithRetry(100, 20*time.Millisecond, 50*time.Millisecond))
	sim.Inject(ccmsim.Fault{Code: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.List(ctx, presence.ListOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	if !errors.Is(err, presence.ErrServer) && !errors.Is(err, presence.ErrUnavailable) {
		t.Errorf("err = %v, want a server error or unavailable", err)
	}
	// 100 attempts at >= 20 ms would take 2 s: the deadline cut them short.
	if n := sim.Stats().Lists; n >= 100 {
		t.Errorf("%d attempts: the deadline did not bound the retries", n)
	}
}

func TestAmbiguousUpdateThatLandedIsSuccess(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	// The PUT is applied, then answered 500; the retry meets a 400
	// (busy → busy), and the check finds the agent busy.
	sim.Inject(ccmsim.Fault{Method: "PUT", Code: 500, Times: 1, ApplyFirst: true})
	if err := c.SetStatus(context.Background(), "agent_001", presence.Busy); err != nil {
		t.Fatalf("SetStatus = %v, want success", err)
	}
	if a, _ := sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("status = %s, want busy", a.Status)
	}
}

func TestAmbiguousUpdateThatDidNotLandIsAnError(t *testing.T) {
	sim, c := setup(t, presence.WithRetry(1, time.Millisecond, time.Millisecond))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Method: "PUT", Code: 503, Times: 1})
	err := c.SetStatus(context.Background(), "agent_001", presence.Busy)
	if !errors.Is(err, presence.ErrServer) {
		t.Fatalf("err = %v, want a server error", err)
	}
	if st := sim.Stats(); st.Gets != 1 {
		t.Errorf("GETs = %d, want 1 check after the ambiguous failure", st.Gets)
	}
}

func TestFirstAttemptInvalidTransitionIsNotRechecked(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Offline, "sales"))
	err := c.SetStatus(context.Background(), "agent_001", presence.Busy)
	if !errors.Is(err, presence.ErrInvalidTransition) {
		t.Fatalf("err = %v, want invalid transition", err)
	}
	if n := sim.Stats().Gets; n != 0 {
		t.Errorf("GETs = %d, want 0: a plain refusal needs no check", n)
	}
}

func TestConnectionRefusedIsUnavailableAndTokenFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := presence.NewClient("AC1", secretToken, presence.WithBaseURL("http://"+addr),
		presence.WithRetry(2, time.Millisecond, time.Millisecond), presence.WithBreaker(0, 0, nil))
	_, err = c.Get(context.Background(), "agent_001")
	if !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), secretToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestAttemptTimeout(t *testing.T) {
	sim, c := setup(t, presence.WithAttemptTimeout(20*time.Millisecond), presence.WithRetry(1, time.Millisecond, time.Millisecond))
	sim.SetLatency(time.Second)
	_, err := c.List(context.Background(), presence.ListOptions{})
	if !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable after the attempt timeout", err)
	}
}

func TestBodyLimit(t *testing.T) {
	sim, c := setup(t, presence.WithMaxBody(1024))
	sim.Inject(ccmsim.Fault{Code: 200, Body: `{"response":{"data":{"agents":[],"pad":"` + strings.Repeat("x", 4096) + `"}}}`})
	_, err := c.List(context.Background(), presence.ListOptions{})
	if !errors.Is(err, presence.ErrBadResponse) {
		t.Fatalf("err = %v, want a bad response for an oversized body", err)
	}
}

func TestBreakerFailsFastThenProbes(t *testing.T) {
	now := base
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sim, c := setup(t, presence.WithBreaker(2, 5*time.Second, clock), presence.WithRetry(1, time.Millisecond, time.Millisecond))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Code: 500, Times: 2})
	for range 2 {
		if _, err := c.Get(context.Background(), "agent_001"); !errors.Is(err, presence.ErrServer) {
			t.Fatalf("err = %v, want server error", err)
		}
	}
	// Open: fails fast without a request.
	before := sim.Stats().Total
	if _, err := c.Get(context.Background(), "agent_001"); !errors.Is(err, presence.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable while failing fast", err)
	}
	if sim.Stats().Total != before {
		t.Error("a request went out while failing fast")
	}
	// After the cooldown one probe goes out; it succeeds and closes.
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if _, err := c.Get(context.Background(), "agent_001"); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if _, err := c.Get(context.Background(), "agent_001"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestNotFoundDoesNotTripTheBreaker(t *testing.T) {
	_, c := setup(t, presence.WithBreaker(1, time.Minute, nil))
	for range 3 {
		if _, err := c.Get(context.Background(), "nobody"); !errors.Is(err, presence.ErrNotFound) {
			t.Fatalf("err = %v, want not found every time", err)
		}
	}
}

func TestObserverSeesEachCall(t *testing.T) {
	var mu sync.Mutex
	var got []presence.Observation
	sim, c := setup(t, presence.WithObserver(func(o presence.Observation) { mu.Lock(); got = append(got, o); mu.Unlock() }))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Code: 503, Times: 1})
	if _, err := c.Get(context.Background(), "agent_001"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(context.Background(), "agent_001", presence.Busy); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("observations = %+v, want 2", got)
	}
	if got[0].Endpoint != "get" || got[0].Attempts != 2 || got[0].Code != 200 || got[0].Err != nil {
		t.Errorf("first = %+v, want a get that took 2 attempts", got[0])
	}
	if got[1].Endpoint != "update" || got[1].Attempts != 1 {
		t.Errorf("second = %+v, want one update attempt", got[1])
	}
}

func TestRegionBaseURL(t *testing.T) {
	tests := []struct{ region, want string }{
		{"singapore", "https://ccm-api.exotel.com"},
		{"mumbai", "https://ccm-api.in.exotel.com"},
		{"Mumbai", "https://ccm-api.in.exotel.com"},
	}
	for _, tt := range tests {
		if got, err := presence.RegionBaseURL(tt.region); err != nil || got != tt.want {
			t.Errorf("RegionBaseURL(%q) = %q, %v; want %q", tt.region, got, err, tt.want)
		}
	}
	if _, err := presence.RegionBaseURL("frankfurt"); err == nil {
		t.Error("RegionBaseURL(frankfurt) succeeded")
	}
}

func TestAuthHeaderIsBearer(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		fmt.Fprint(w, `{"response":{"data":{"user_id":"a","status":"busy"}}}`)
	}))
	defer srv.Close()
	c := presence.NewClient("AC1", secretToken, presence.WithBaseURL(srv.URL))
	if _, err := c.Get(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if got != "Bearer "+secretToken {
		t.Errorf("Authorization = %q", got)
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	sim, _ := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	// The first attempt hangs past its own timeout; the retry answers.
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer slow.Close()
	c := presence.NewClient(sim.AccountSID(), secretToken, presence.WithBaseURL(slow.URL),
		presence.WithAttemptTimeout(100*time.Millisecond), presence.WithRetry(3, time.Millisecond, time.Millisecond),
		presence.WithBreaker(0, 0, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "agent_001"); err != nil {
		t.Fatalf("Get = %v, want the retry after the attempt timeout to succeed", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestImpossibleTotalIsABadResponse(t *testing.T) {
	for _, total := range []string{"-1", "9223372036854775807", "200001"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"response":{"data":{"agents":[],"summary":{}},"metadata":{"total":%s}}}`, total)
		}))
		c := presence.NewClient("AC1", secretToken, presence.WithBaseURL(srv.URL))
		if _, err := c.ListAll(context.Background(), presence.ListOptions{}); !errors.Is(err, presence.ErrBadResponse) {
			t.Errorf("total %s: ListAll = %v, want a bad response, never a panic or a short roster", total, err)
		}
		srv.Close()
	}
}
