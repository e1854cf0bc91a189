package observe

import (
	"encoding/json"
	"errors"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// budgetState is a presence.Budget's State for tests: what the collector
// and /readyz read.
type budgetState struct{ st presence.BudgetState }

func (b *budgetState) State() presence.BudgetState { return b.st }

// TestBudgetMetrics: requests are counted by kind at the budget (one per
// HTTP attempt), waits by priority, and the tokens left and a 429's pause
// are gauges read at scrape time.
func TestBudgetMetrics(t *testing.T) {
	m := NewMetrics()
	for range 3 {
		m.ObserveBudget(presence.BudgetGrant{Kind: "get", Priority: presence.Write, Waited: 20 * time.Millisecond})
	}
	m.ObserveBudget(presence.BudgetGrant{Kind: "update", Priority: presence.Write, Waited: 3 * time.Second})
	m.ObserveBudget(presence.BudgetGrant{Kind: "list", Priority: presence.Read})
	m.ObserveBudget(presence.BudgetGrant{Kind: "surprise", Priority: presence.Read}) // bounded to other
	b := &budgetState{presence.BudgetState{Mode: presence.BudgetShared, Rate: 10, Burst: 20, Tokens: 7.5,
		PausedUntil: time.Now().Add(time.Minute)}}
	m.WatchBudget(b)
	f := scrape(t, m)

	for kind, want := range map[string]float64{"get": 3, "update": 1, "list": 1, "other": 1} {
		if got := f.value(t, "presence_bot_api_requests_total", l("kind", kind)); got != want {
			t.Errorf("api_requests_total{kind=%s} = %v, want %v", kind, got, want)
		}
	}
	w := f.histogram(t, "presence_bot_api_budget_wait_seconds", l("priority", "write"))
	if w.GetSampleCount() != 4 || bucket(t, w, 0.05) != 3 {
		t.Errorf("write waits: %d samples, %d within 50 ms; want 4 and 3", w.GetSampleCount(), bucket(t, w, 0.05))
	}
	if r := f.histogram(t, "presence_bot_api_budget_wait_seconds", l("priority", "read")); r.GetSampleCount() != 2 {
		t.Errorf("read waits: %d samples, want 2", r.GetSampleCount())
	}
	if got := f.value(t, "presence_bot_api_budget_tokens", nil); got != 7.5 {
		t.Errorf("api_budget_tokens = %v, want 7.5", got)
	}
	if got := f.value(t, "presence_bot_api_paused", nil); got != 1 {
		t.Errorf("api_paused = %v during a pause, want 1", got)
	}

	// Past the pause, with tokens unknown: not paused, and no tokens
	// series rather than a made-up number.
	b.st.PausedUntil, b.st.Tokens = time.Now().Add(-time.Second), math.NaN()
	f = scrape(t, m)
	if got := f.value(t, "presence_bot_api_paused", nil); got != 0 {
		t.Errorf("api_paused = %v after the pause, want 0", got)
	}
	if f["presence_bot_api_budget_tokens"] != nil {
		t.Errorf("api_budget_tokens exported while unknown: %s", f.series("presence_bot_api_budget_tokens"))
	}
}

// TestReadyzShowsTheBudget: /readyz says what budget the bot keeps to,
// how, and until when a 429 holds it, without changing readiness.
func TestReadyzShowsTheBudget(t *testing.T) {
	h := NewHealth(nil)
	h.Connection(true)
	until := time.Now().Add(30 * time.Second).Truncate(time.Second).UTC()
	b := &budgetState{presence.BudgetState{Mode: presence.BudgetShared, Rate: 10, Burst: 20, Tokens: 3.14159,
		PausedUntil: until, WaitingWrites: 4, WaitingReads: 2}}
	h.WatchBudget(b.State)
	get := func() (int, map[string]any) {
		srv := httptest.NewServer(h.Handler())
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	code, body := get()
	if code != 200 {
		t.Errorf("/readyz = %d with the budget paused, want 200: a pause is not unreadiness", code)
	}
	got, _ := body["budget"].(map[string]any)
	want := map[string]any{"mode": "shared", "rate": 10.0, "burst": 20.0, "paused_until": until.Format(time.RFC3339),
		"tokens": 3.14, "waiting": map[string]any{"writes": 4.0, "reads": 2.0}}
	for k, v := range want {
		if gv, _ := json.Marshal(got[k]); string(gv) != mustJSON(t, v) {
			t.Errorf("budget.%s = %s, want %s (body %v)", k, gv, mustJSON(t, v), body)
		}
	}

	b.st = presence.BudgetState{Mode: presence.BudgetLocal, Rate: 10, Burst: 20, Tokens: math.NaN(),
		Detail: "the shared bucket (Redis) is unreachable"}
	_, body = get()
	got, _ = body["budget"].(map[string]any)
	if got["mode"] != "local" || got["paused_until"] != nil || got["detail"] == nil {
		t.Errorf("budget with Redis down: %v, want local, paused_until null, a detail", got)
	}
	if _, ok := got["tokens"]; ok {
		t.Errorf("tokens shown while unknown: %v", got)
	}
}

// TestBudgetExhaustionIsNotAnOutage: a request the bot held back in its
// own budget says nothing about the contact center.
func TestBudgetExhaustionIsNotAnOutage(t *testing.T) {
	h := NewHealth(nil)
	h.ObserveAPI(presence.Observation{Endpoint: "list"})
	h.ObserveAPI(presence.Observation{Endpoint: "update", Err: &presence.APIError{Op: "set", Kind: presence.ErrRateLimited,
		Cause: errors.Join(presence.ErrBudgetExhausted, errors.New("waited 2m0s"))}})
	if _, parts := h.Ready(); parts[PartContactCenter].State != OK {
		t.Errorf("contact_center %+v after a request held in the budget, want ok", parts[PartContactCenter])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
