package ccmsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name           string
		fault          Fault
		method         string
		wantCode       int
		wantRetryAfter string
		wantBody       string // "" for the error envelope
	}{
		// Rate limiting with a hint, rounded up to whole seconds.
		{"429 retry after", Fault{Code: 429, RetryAfter: 1500 * time.Millisecond}, http.MethodGet, 429, "2", ""},
		// Whole seconds stay as they are.
		{"503 retry after", Fault{Code: 503, RetryAfter: 3 * time.Second}, http.MethodGet, 503, "3", ""},
		// No code means a plain server error, without a hint.
		{"default code", Fault{}, http.MethodGet, 500, "", ""},
		// A 200 whose body is not JSON.
		{"malformed 200", Fault{Code: 200, Body: `{"request_id":`}, http.MethodGet, 200, "", `{"request_id":`},
		// A gateway's HTML error page.
		{"html 502", Fault{Code: 502, Body: "<html>Bad Gateway</html>"}, http.MethodGet, 502, "", "<html>Bad Gateway</html>"},
		// A PUT fault leaves GETs alone.
		{"other method", Fault{Method: "PUT", Code: 500}, http.MethodGet, 200, "", ""},
		// Methods match case-insensitively.
		{"method case", Fault{Method: "get", Code: 503}, http.MethodGet, 503, "", ""},
		// A PUT fault hits PUTs.
		{"put fault", Fault{Method: "PUT", Code: 500}, http.MethodPut, 500, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, agent("agent_001", "", presence.Available))
			f.sim.Inject(tt.fault)
			var a answer
			if tt.method == http.MethodPut {
				a = f.put(t, "agent_001", presence.Busy)
			} else {
				a = f.do(t, http.MethodGet, f.path("/agents/presence"), "")
			}
			if a.code != tt.wantCode {
				t.Fatalf("got %d (%s), want %d", a.code, a.body, tt.wantCode)
			}
			if got := a.header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("got Retry-After %q, want %q", got, tt.wantRetryAfter)
			}
			if tt.wantBody != "" {
				if string(a.body) != tt.wantBody {
					t.Errorf("got body %q, want %q", a.body, tt.wantBody)
				}
				return
			}
			if a.envErr != nil || a.env.HTTPCode != tt.wantCode {
				t.Errorf("got body %s, want an envelope with http_code %d", a.body, tt.wantCode)
			}
			if tt.wantCode >= 400 && a.message() == "" {
				t.Errorf("got no error message in %s, want one", a.body)
			}
			if tt.method == http.MethodPut && tt.wantCode >= 400 {
				if got := mustAgent(t, f.sim, "agent_001").Status; got != presence.Available {
					t.Errorf("got %s after a faulted PUT, want available unchanged", got)
				}
			}
		})
	}
}

func TestFaultTimesCountDown(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	f.sim.Inject(Fault{Code: 503, Times: 2})
	f.sim.Inject(Fault{Code: 429, Times: 1})
	// Faults answer in the order injected, each as often as its Times.
	for i, want := range []int{503, 503, 429, 200, 200} {
		if a := f.do(t, http.MethodGet, f.path("/agents/presence"), ""); a.code != want {
			t.Errorf("request %d: got %d, want %d", i+1, a.code, want)
		}
	}
	if got := f.sim.Stats(); got.Faulted != 3 || got.Lists != 5 || got.Total != 5 {
		t.Errorf("got stats %+v, want 3 faulted of 5 lists", got)
	}
}

func TestFaultUntilCleared(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	f.sim.Inject(Fault{Code: 500}) // Times 0: until cleared
	for i := range 5 {
		if a := f.do(t, http.MethodGet, f.path("/agents/agent_001/presence"), ""); a.code != 500 {
			t.Fatalf("request %d: got %d, want 500 until cleared", i+1, a.code)
		}
	}
	f.sim.ClearFaults()
	if a := f.do(t, http.MethodGet, f.path("/agents/agent_001/presence"), ""); a.code != 200 {
		t.Errorf("after ClearFaults: got %d, want 200", a.code)
	}
}

func TestFaultApplyFirst(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	f.sim.Inject(Fault{Method: "PUT", Code: 504, ApplyFirst: true, Times: 1})

	a := f.put(t, "agent_001", presence.Busy)
	if a.code != 504 || a.env.Response.Status != "failure" {
		t.Fatalf("got %d (%s), want a 504 failure", a.code, a.body)
	}
	// The change was made although the client was told it failed.
	if got := mustAgent(t, f.sim, "agent_001").Status; got != presence.Busy {
		t.Errorf("got %s, want busy: ApplyFirst applies the change", got)
	}
	// A retry of the same change is now an invalid transition, which is
	// exactly what a client has to cope with.
	if a := f.put(t, "agent_001", presence.Busy); a.code != http.StatusBadRequest {
		t.Errorf("retry: got %d, want 400 busy → busy", a.code)
	}
}

func TestLatency(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))

	f.sim.SetLatency(5 * time.Millisecond)
	begin := time.Now()
	f.do(t, http.MethodGet, f.path("/agents/presence"), "")
	if took := time.Since(begin); took < 5*time.Millisecond {
		t.Errorf("got an answer after %v, want at least 5ms", took)
	}

	// A client that gives up ends the wait, and its PUT is never applied.
	f.sim.SetLatency(30 * time.Second) // long enough to fail the 10s guard below
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, f.srv.URL+f.path("/agents/agent_001/presence"),
		strings.NewReader(`{"status":"busy"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.sim.Token())
	errc := make(chan error, 1)
	go func() {
		resp, err := f.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, func() bool { return f.sim.Stats().Puts == 1 }) // the request is waiting
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
	closed := make(chan struct{})
	go func() { f.srv.Close(); close(closed) }() // returns once every handler has
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server still busy 10s after the client left, want the wait cut short")
	}
	if got := mustAgent(t, f.sim, "agent_001").Status; got != presence.Available {
		t.Errorf("got %s, want available: a cancelled request changes nothing", got)
	}
}

// waitFor polls cond until it holds, for things another goroutine does.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStatsReset(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	f.do(t, http.MethodGet, f.path("/agents/presence"), "")
	f.do(t, http.MethodGet, f.path("/agents/agent_001/presence"), "")
	f.put(t, "agent_001", presence.Busy)
	f.do(t, http.MethodGet, "/nowhere", "")
	if got, want := f.sim.Stats(), (Stats{Lists: 1, Gets: 1, Puts: 1, Total: 4}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	f.sim.ResetStats()
	if got := f.sim.Stats(); got != (Stats{}) {
		t.Errorf("after reset got %+v, want zeros", got)
	}
}
