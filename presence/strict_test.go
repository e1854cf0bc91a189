package presence_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// These tests hold the client to a contact center as strict as the real
// one: PUT answers without the envelope, pages smaller than asked, 403s
// apart from 401s.

// setupWith is setup with simulator options and a handler in front of the
// simulator (nil for none). Retries are off unless opts turn them on.
func setupWith(t *testing.T, so ccmsim.Options, wrap func(http.Handler) http.Handler, opts ...presence.Option) (*ccmsim.Sim, *presence.Client) {
	t.Helper()
	so.Token, so.Now = secretToken, func() time.Time { return base }
	sim := ccmsim.New(so)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	all := append([]presence.Option{
		presence.WithBaseURL(srv.URL),
		presence.WithRetry(1, time.Millisecond, time.Millisecond),
		presence.WithBreaker(0, 0, nil),
	}, opts...)
	return sim, presence.NewClient(sim.AccountSID(), secretToken, all...)
}

// observations collects what the client reports.
type observations struct {
	mu  sync.Mutex
	all []presence.Observation
}

func (o *observations) add(ob presence.Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all = append(o.all, ob)
}

func (o *observations) list() []presence.Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.all)
}

// TestSetStatusSucceedsWhateverTheTwoXXBody: the spec documents no PUT
// answer body, so a 2xx is a success whatever it carries. A burst of 20
// changes, each one PUT and nothing else, leaves a breaker of 5 closed.
func TestSetStatusSucceedsWhateverTheTwoXXBody(t *testing.T) {
	modes := []struct {
		name string
		mode ccmsim.PutAnswer
	}{
		{"204 no content", ccmsim.PutNoContent},
		{"200 empty", ccmsim.PutEmpty},
		{"200 {}", ccmsim.PutEmptyObject},
		{`200 {"status":"ok"}`, ccmsim.PutStatusOK},
		{"200 envelope", ccmsim.PutEnvelope},
	}
	const burst = 20
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			// Every PUT of the burst waits until all have arrived, so all
			// their answers come in before any follow-up request: had the
			// client counted them as failures, the breaker would open.
			var arrived atomic.Int32
			all := make(chan struct{})
			hold := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut {
						if arrived.Add(1) == burst {
							close(all)
						}
						select {
						case <-all:
						case <-time.After(5 * time.Second): // only when the client is broken
						}
					}
					next.ServeHTTP(w, r)
				})
			}
			var obs observations
			sim, c := setupWith(t, ccmsim.Options{PutAnswer: m.mode}, hold,
				presence.WithBreaker(5, time.Minute, func() time.Time { return base }),
				presence.WithObserver(obs.add))
			for i := range burst {
				sim.Add(agent(fmt.Sprintf("agent_%03d", i), "Agent", presence.Available, "sales"))
			}

			errs := make([]error, burst)
			var wg sync.WaitGroup
			for i := range burst {
				wg.Go(func() { errs[i] = c.SetStatus(context.Background(), fmt.Sprintf("agent_%03d", i), presence.Busy) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("change %d: %v, want success", i, err)
				}
			}
			if st := sim.Stats(); st.Puts != burst || st.Gets != 0 || st.Total != burst {
				t.Errorf("server saw %+v, want exactly %d PUTs and no GET", st, burst)
			}
			got := obs.list()
			if len(got) != burst {
				t.Errorf("got %d observations, want %d", len(got), burst)
			}
			for _, o := range got {
				if o.Endpoint != "update" || o.Err != nil || o.Attempts != 1 || o.Code/100 != 2 {
					t.Errorf("observation %+v, want one successful update attempt", o)
				}
			}

			// The breaker did not move: four failures after the burst
			// still leave it closed, and the next request goes out.
			sim.Inject(ccmsim.Fault{Method: "GET", Code: 500, Times: 4})
			for range 4 {
				if _, err := c.Get(context.Background(), "agent_000"); !errors.Is(err, presence.ErrServer) {
					t.Fatalf("Get = %v, want a server error", err)
				}
			}
			if _, err := c.Get(context.Background(), "agent_000"); err != nil {
				t.Errorf("Get after 4 failures = %v, want success: the burst must not count against the breaker", err)
			}
		})
	}
}

// TestRefusalKinds: a 403 is its own kind, never errors.Is ErrUnauthorized,
// so answers and readiness can tell a refused token from a token that may
// not do this; a 404 on a change is an unknown agent. Neither is worth a
// confirming GET. The API's message is kept from either envelope field.
func TestRefusalKinds(t *testing.T) {
	tests := []struct {
		name      string
		fault     ccmsim.Fault
		want, not error
		code      int
		message   string
	}{
		{"403 on a change", ccmsim.Fault{Method: "PUT", Code: 403}, presence.ErrForbidden, presence.ErrUnauthorized, 403, "Forbidden"},
		{"403 with response.message", ccmsim.Fault{Method: "PUT", Code: 403, Body: `{"response":{"message":"agent is in another team"}}`},
			presence.ErrForbidden, presence.ErrUnauthorized, 403, "agent is in another team"},
		{"401 on a change", ccmsim.Fault{Method: "PUT", Code: 401}, presence.ErrUnauthorized, presence.ErrForbidden, 401, "Unauthorized"},
		{"404 on a change", ccmsim.Fault{Method: "PUT", Code: 404, Body: `{"response":{"error":"no such agent"}}`},
			presence.ErrNotFound, presence.ErrForbidden, 404, "no such agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c := setupWith(t, ccmsim.Options{}, nil)
			sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
			sim.Inject(tt.fault)
			err := c.SetStatus(context.Background(), "agent_001", presence.Busy)
			if !errors.Is(err, tt.want) || errors.Is(err, tt.not) {
				t.Fatalf("err = %v, want %v and not %v", err, tt.want, tt.not)
			}
			var ae *presence.APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.code || ae.Message != tt.message {
				t.Errorf("err = %#v, want HTTP %d with message %q", err, tt.code, tt.message)
			}
			if st := sim.Stats(); st.Puts != 1 || st.Gets != 0 {
				t.Errorf("server saw %+v, want one PUT and no confirming GET", st)
			}
		})
	}
}

// TestKindsListsEveryErrorClass: presence.Kinds is what answer tables are
// checked against, so it must name every Err* class of errors.go.
func TestKindsListsEveryErrorClass(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared, listed []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for _, name := range n.Names {
				if strings.HasPrefix(name.Name, "Err") {
					declared = append(declared, name.Name)
				}
			}
		case *ast.FuncDecl:
			if n.Name.Name != "Kinds" {
				return false
			}
			ast.Inspect(n.Body, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && strings.HasPrefix(id.Name, "Err") {
					listed = append(listed, id.Name)
				}
				return true
			})
			return false
		}
		return true
	})
	slices.Sort(declared)
	slices.Sort(listed)
	if len(declared) == 0 || !slices.Equal(declared, listed) {
		t.Errorf("Kinds lists %v, errors.go declares %v", listed, declared)
	}
	if got := len(presence.Kinds()); got != len(declared) {
		t.Errorf("Kinds() has %d entries, want %d", got, len(declared))
	}
}

// inFlight measures how many list requests for pages after the first are
// at the server at once. The first of them waits (up to 5 s) for a second
// to arrive, so a client that pages one at a time shows a maximum of 1.
type inFlight struct {
	now, max atomic.Int32
	arrived  atomic.Int32
	second   chan struct{}
}

func newInFlight() *inFlight { return &inFlight{second: make(chan struct{})} }

func (f *inFlight) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") == "" {
			next.ServeHTTP(w, r)
			return
		}
		n := f.now.Add(1)
		defer f.now.Add(-1)
		for m := f.max.Load(); n > m && !f.max.CompareAndSwap(m, n); m = f.max.Load() {
		}
		switch f.arrived.Add(1) {
		case 1:
			select {
			case <-f.second:
			case <-time.After(5 * time.Second):
			}
		case 2:
			close(f.second)
		}
		next.ServeHTTP(w, r)
	})
}

// TestListAllPagesByWhatTheAPIServed: an API that serves fewer agents per
// page than asked (capped at 20 or 7, ignoring limit, or claiming the
// asked limit while serving 7) still yields all 5,000 agents, once each,
// fetched concurrently with one request per page served.
func TestListAllPagesByWhatTheAPIServed(t *testing.T) {
	tests := []struct {
		name     string
		opts     ccmsim.Options
		perPage  int
		wantReqs int
	}{
		{"capped at 20", ccmsim.Options{PageCap: 20}, 20, 250},
		{"capped at 7", ccmsim.Options{PageCap: 7}, 7, 715},
		{"limit ignored", ccmsim.Options{IgnoreLimit: true}, 20, 250},
		{"limit misreported", ccmsim.Options{PageCap: 7, ReportAskedLimit: true}, 7, 715},
	}
	roster := ccmsim.GenerateRoster(5000, nil, base, 3)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flight := newInFlight()
			sim, c := setupWith(t, tt.opts, flight.wrap)
			sim.Add(roster...)
			r, err := c.ListAll(context.Background(), presence.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(r.Agents))
			for i, a := range r.Agents {
				got[i] = a.ID
			}
			slices.Sort(got)
			want := make([]string, len(roster))
			for i, a := range roster {
				want[i] = a.ID
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %d agents (%d unique), want all %d once each", len(got), len(slices.Compact(slices.Clone(got))), len(want))
			}
			if r.Summary.Total != 5000 {
				t.Errorf("summary total = %d, want 5000", r.Summary.Total)
			}
			if n := sim.Stats().Lists; n != tt.wantReqs {
				t.Errorf("list requests = %d, want %d (one per page of %d)", n, tt.wantReqs, tt.perPage)
			}
			if m := flight.max.Load(); m < 2 {
				t.Errorf("at most %d page request(s) in flight, want pages fetched concurrently", m)
			}
		})
	}
}

// TestListAllStopsStartingPagesAfterAFailure: once a page fails, no more
// pages start: the server sees at most the pages already in flight, and
// the client reports no request it did not make.
func TestListAllStopsStartingPagesAfterAFailure(t *testing.T) {
	const workers = 4
	var lists atomic.Int32
	failSecond := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lists.Add(1)
			switch r.URL.Query().Get("offset") {
			case "":
				next.ServeHTTP(w, r)
			case "20": // the second page fails at once
				w.WriteHeader(http.StatusInternalServerError)
			default: // the others hang until the client gives up on them
				<-r.Context().Done()
			}
		})
	}
	var obs observations
	sim, c := setupWith(t, ccmsim.Options{PageCap: 20}, failSecond,
		presence.WithPageWorkers(workers), presence.WithObserver(obs.add))
	sim.Add(ccmsim.GenerateRoster(5000, nil, base, 3)...)
	_, err := c.ListAll(context.Background(), presence.ListOptions{})
	if !errors.Is(err, presence.ErrServer) {
		t.Fatalf("ListAll = %v, want the failing page's server error", err)
	}
	if n := lists.Load(); n > 1+workers {
		t.Errorf("server saw %d list requests, want at most %d (the first page and one round of workers)", n, 1+workers)
	}
	if n := len(obs.list()); n > 1+workers {
		t.Errorf("client reported %d list calls, want at most %d: no page may start after the failure", n, 1+workers)
	}
}

// fakePages is an API whose pages a test describes: serve says which
// agents (by index) and what metadata answer the call-th request.
func fakePages(t *testing.T, serve func(call, offset, limit int) (from, to, total, limitOut, offsetOut int)) (*presence.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := int(calls.Add(1))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		from, to, total, limitOut, offsetOut := serve(call, offset, limit)
		agents := []map[string]string{}
		for i := from; i < to; i++ {
			agents = append(agents, map[string]string{"user_id": fmt.Sprintf("agent_%05d", i), "status": "available"})
		}
		body, _ := json.Marshal(map[string]any{"response": map[string]any{
			"data":     map[string]any{"agents": agents, "summary": map[string]int{"total_agents": total, "available": total}},
			"metadata": map[string]int{"total": total, "limit": limitOut, "offset": offsetOut},
		}})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return presence.NewClient("AC1", secretToken, presence.WithBaseURL(srv.URL),
		presence.WithRetry(1, time.Millisecond, time.Millisecond), presence.WithBreaker(0, 0, nil)), &calls
}

// TestListAllOnOddPaging: answers that would make a naive pager loop or
// come back short either page correctly or fail, within a few requests.
func TestListAllOnOddPaging(t *testing.T) {
	page := func(offset, n, total int) (int, int, int, int, int) {
		to := min(offset+n, total)
		return offset, max(offset, to), total, n, offset
	}
	tests := []struct {
		name     string
		serve    func(call, offset, limit int) (from, to, total, limitOut, offsetOut int)
		want     int // agents; -1 for ErrBadResponse
		maxCalls int
	}{
		// Pages of 10 reported as a limit of 0: page by the agents served.
		{"limit of 0", func(_, offset, _ int) (int, int, int, int, int) {
			from, to, total, _, off := page(offset, 10, 50)
			return from, to, total, 0, off
		}, 50, 5},
		// The first page serves 10, later ones 4: the gaps are fetched.
		{"uneven pages", func(_, offset, _ int) (int, int, int, int, int) {
			if offset == 0 {
				return page(offset, 10, 50)
			}
			return page(offset, 4, 50)
		}, 50, 20},
		// Empty pages before the total is reached: inconsistent.
		{"empty page before the total", func(_, offset, _ int) (int, int, int, int, int) {
			if offset == 0 {
				return page(0, 10, 50)
			}
			return offset, offset, 50, 10, offset
		}, -1, 5},
		// A first page with nothing in it, claiming 50.
		{"empty first page", func(_, offset, _ int) (int, int, int, int, int) {
			return 0, 0, 50, 10, offset
		}, -1, 1},
		// The offset is ignored: every page is the first one again.
		{"offset ignored", func(_, _, _ int) (int, int, int, int, int) {
			return page(0, 10, 50)
		}, -1, 5},
		// The offset is ignored, yet claimed as served: the repeats show it.
		{"offset ignored, claimed", func(_, offset, _ int) (int, int, int, int, int) {
			from, to, total, limit, _ := page(0, 10, 50)
			return from, to, total, limit, offset
		}, -1, 5},
		// Agents joined while paging: the grown roster is fetched too.
		{"total grew once", func(call, offset, _ int) (int, int, int, int, int) {
			if call == 1 {
				return page(offset, 10, 50)
			}
			return page(offset, 10, 60)
		}, 60, 6},
		// Agents left while paging: the pages past the end are empty.
		{"total shrank", func(call, offset, _ int) (int, int, int, int, int) {
			if call == 1 {
				return page(offset, 10, 50)
			}
			return page(offset, 10, 30)
		}, 30, 5},
		// A total that grows with every request never settles.
		{"total keeps growing", func(call, offset, _ int) (int, int, int, int, int) {
			return page(offset, 10, 50+10*call)
		}, -1, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, calls := fakePages(t, tt.serve)
			r, err := c.ListAll(context.Background(), presence.ListOptions{})
			if n := int(calls.Load()); n > tt.maxCalls {
				t.Errorf("%d requests, want at most %d", n, tt.maxCalls)
			}
			if tt.want < 0 {
				if !errors.Is(err, presence.ErrBadResponse) {
					t.Fatalf("ListAll = %d agents, %v; want a bad response, never a short roster", len(r.Agents), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, a := range r.Agents {
				seen[a.ID] = true
			}
			if len(seen) != tt.want || len(r.Agents) != tt.want {
				t.Errorf("got %d agents (%d unique), want %d", len(r.Agents), len(seen), tt.want)
			}
		})
	}
}

// TestAgentIDsAreChecked: an ID the API sends goes into URLs, buttons and
// logs; one absurdly long or holding control characters is a bad answer.
func TestAgentIDsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"ordinary", "agent_001", true},
		{"at the bound", strings.Repeat("a", 128), true},
		{"one byte over", strings.Repeat("a", 129), false},
		{"newline", "agent\n001", false},
		{"NUL", "agent\x00001", false},
		{"escape", "agent\x1b[2J", false},
		{"C1 control", "agent\u0085001", false},
		{"right-to-left override", "agent\u202e100", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, _ := json.Marshal(tt.id)
			sim, c := setupWith(t, ccmsim.Options{}, nil)
			sim.Inject(ccmsim.Fault{Method: "GET", Code: 200, Times: 1,
				Body: `{"response":{"data":{"user_id":` + string(id) + `,"status":"busy"}}}`})
			_, err := c.Get(context.Background(), "agent_001")
			sim.Inject(ccmsim.Fault{Method: "GET", Code: 200, Times: 1,
				Body: `{"response":{"data":{"agents":[{"user_id":` + string(id) + `,"status":"busy"}],"summary":{}},"metadata":{"total":1}}}`})
			_, lerr := c.List(context.Background(), presence.ListOptions{})
			for what, err := range map[string]error{"Get": err, "List": lerr} {
				if tt.ok && err != nil {
					t.Errorf("%s = %v, want success", what, err)
				}
				if !tt.ok && !errors.Is(err, presence.ErrBadResponse) {
					t.Errorf("%s = %v, want a bad response", what, err)
				}
			}
		})
	}
}

// TestSetStatusIgnoresAnOversizedTwoXXBody: the body of a 2xx PUT is never
// read as data, so even one past the size limit is the change made.
func TestSetStatusIgnoresAnOversizedTwoXXBody(t *testing.T) {
	sim, c := setupWith(t, ccmsim.Options{}, nil, presence.WithMaxBody(1024))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	sim.Inject(ccmsim.Fault{Method: "PUT", Code: 200, ApplyFirst: true, Body: `{"pad":"` + strings.Repeat("x", 4096) + `"}`})
	if err := c.SetStatus(context.Background(), "agent_001", presence.Busy); err != nil {
		t.Fatalf("SetStatus = %v, want success", err)
	}
	if st := sim.Stats(); st.Puts != 1 || st.Gets != 0 {
		t.Errorf("server saw %+v, want one PUT and no GET", st)
	}
}

// TestListAllCancelledMidwayIsAnError: a caller giving up while pages are
// still to come gets an error, never the pages fetched so far.
func TestListAllCancelledMidwayIsAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lists atomic.Int32
	sim, c := setupWith(t, ccmsim.Options{PageCap: 20}, nil, presence.WithPageWorkers(1),
		presence.WithObserver(func(o presence.Observation) {
			if o.Endpoint == "list" && lists.Add(1) == 2 {
				cancel() // the second page has its answer; the rest must not be skipped quietly
			}
		}))
	sim.Add(ccmsim.GenerateRoster(100, nil, base, 3)...)
	r, err := c.ListAll(ctx, presence.ListOptions{})
	if !errors.Is(err, context.Canceled) {
		n := 0
		if r != nil {
			n = len(r.Agents)
		}
		t.Fatalf("ListAll = %v (%d agents), want the caller's cancellation", err, n)
	}
}
