package observe

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// State is how one part of the bot is doing.
type State string

// The states of a part. Degraded is reported but still ready: an outage of
// a shared dependency (the contact center failing, Redis down) hits every
// replica at once, and taking them all out of service would only block
// drains and rollouts. Down, Refused and Checking are not ready.
const (
	OK       State = "ok"
	Degraded State = "degraded"
	Down     State = "down"
	// Refused: the contact center refuses the configuration (the token,
	// or the account): no restart or wait fixes that, an operator must.
	Refused State = "refused"
	// Checking: the first check of the contact center has not answered
	// yet, so nobody is told "ready" before a refusal could show.
	Checking State = "checking"
)

// severity orders the states for the body's summary; unknown states are
// the most severe, so a caller's typo fails safe.
var severity = map[State]int{OK: 0, Degraded: 1, Checking: 2, Refused: 3, Down: 4}

// ready reports whether a part in state s lets the bot serve.
func ready(s State) bool { return s == OK || s == Degraded }

// The parts Health tracks from the start. Callers may add others with Set.
const (
	PartSlackSocket   = "slack_socket"
	PartContactCenter = "contact_center"
)

// PartStatus is one part's state, why, and since when it has been in it.
type PartStatus struct {
	State  State     `json:"state"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// Health tracks the readiness of the bot's parts. Its methods are safe for
// concurrent use.
//
// The Socket Mode connection starts down ("not connected yet"). The
// contact center starts ok ("no request yet") unless MarkChecking says a
// first check is on its way; every call's outcome (ObserveAPI) moves it.
type Health struct {
	now func() time.Time

	mu       sync.Mutex
	parts    map[string]PartStatus
	stopping bool
	log      *slog.Logger
	// changed is closed and replaced on every change of a part's state,
	// so the probe loop can sleep until the contact center leaves ok.
	changed chan struct{}
	// budget reads the API budget for the body (budget.go); nil: none.
	budget func() presence.BudgetState
}

// NewHealth returns a Health reading the time from now (time.Now when nil).
func NewHealth(now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	t := now()
	return &Health{
		now: now,
		parts: map[string]PartStatus{
			PartSlackSocket:   {State: Down, Detail: "not connected yet", Since: t},
			PartContactCenter: {State: OK, Detail: "no request yet", Since: t},
		},
		changed: make(chan struct{}),
	}
}

// LogChanges logs every change of a part's state to l: one line per
// change, never one per request, so an outage is a line, not a flood.
func (h *Health) LogChanges(l *slog.Logger) {
	h.mu.Lock()
	h.log = l
	h.mu.Unlock()
}

// Set records a part's state. Since moves only when the state changes, so
// it tells how long the part has been down, not when it was last checked.
func (h *Health) Set(part string, state State, detail string) {
	h.update(part, func(PartStatus) (State, string, bool) { return state, detail, true })
}

// update changes a part's status to what decide returns (nothing when it
// returns false), under the lock, so a decision that depends on the
// current state cannot race another; the change is logged after.
func (h *Health) update(part string, decide func(cur PartStatus) (State, string, bool)) {
	h.mu.Lock()
	ps, known := h.parts[part]
	state, detail, ok := decide(ps)
	if !ok {
		h.mu.Unlock()
		return
	}
	changed := !known || ps.State != state
	if changed {
		ps.Since = h.now()
		close(h.changed)
		h.changed = make(chan struct{})
	}
	ps.State, ps.Detail = state, detail
	h.parts[part] = ps
	log := h.log
	isReady := h.readyLocked()
	h.mu.Unlock()
	if changed && log != nil {
		log.Log(context.Background(), logLevel(state), "health changed",
			"part", part, "state", string(state), "detail", detail, "ready", isReady)
	}
}

// logLevel says how bad a state is: a refusal needs an operator, an
// outage is worth a look, a recovery is news.
func logLevel(s State) slog.Level {
	switch s {
	case OK:
		return slog.LevelInfo
	case Degraded, Down:
		return slog.LevelWarn
	case Checking:
		return slog.LevelDebug
	}
	return slog.LevelError
}

// Connection records the Socket Mode connection going up or down. It fits
// bot.Hooks.Connection.
func (h *Health) Connection(up bool) {
	if up {
		h.Set(PartSlackSocket, OK, "connected")
		return
	}
	h.Set(PartSlackSocket, Down, "disconnected")
}

// Stopping marks the bot as shutting down: not ready from now on, so a
// load balancer or rollout stops counting on this replica at once.
func (h *Health) Stopping() {
	h.mu.Lock()
	first := !h.stopping
	h.stopping = true
	log := h.log
	h.mu.Unlock()
	if first && log != nil {
		log.Info("health changed: shutting down, not ready")
	}
}

// MarkChecking marks the contact center as being checked for the first
// time: not ready until that check (RunProbes) or any call answers.
func (h *Health) MarkChecking() {
	h.Set(PartContactCenter, Checking, "checking the contact center (first request)")
}

// ObserveAPI records the outcome of a contact-center call. It fits
// presence.WithObserver.
//
//   - A success: ok.
//   - The account's own list refused (401, 403, 404): refused, with what to
//     fix. Only list calls can refuse: a 404 or 403 for one agent is the
//     service answering about that agent (unknown, or not the bot's to
//     change), and says nothing about the token or the account.
//   - An answer about one agent (404, 403, an invalid transition): the
//     service works, so an outage is over; a refusal stays until the list
//     or a success says otherwise.
//   - Anything else (timeouts, 5xx, 429, failing fast, bad answers): an
//     outage, degraded. A refusal stays: an outage does not show the
//     configuration is right now.
//   - A call its caller gave up on (context canceled) changes nothing.
func (h *Health) ObserveAPI(o presence.Observation) {
	if o.Err != nil && (errors.Is(o.Err, context.Canceled) || errors.Is(o.Err, presence.ErrBudgetExhausted)) {
		// Abandoned, or held back by the bot's own budget: nothing was
		// asked of the contact center.
		return
	}
	h.update(PartContactCenter, func(cur PartStatus) (State, string, bool) {
		switch {
		case o.Err == nil:
			return OK, "last request succeeded", true
		case o.Endpoint == "list" && refusal(o.Err) != "":
			return Refused, refusal(o.Err), true
		case cur.State == Refused:
			return "", "", false
		case cur.State == Checking && (agentAnswer(o) || errors.Is(o.Err, presence.ErrUnauthorized)):
			// Neither proves the configuration right or wrong: the
			// first check, on its way, will.
			return "", "", false
		case agentAnswer(o):
			return OK, "last request answered", true
		case errors.Is(o.Err, presence.ErrUnauthorized):
			// Only the list says "refused"; the probe loop, woken by
			// this change, asks it (or is asking it already).
			return Degraded, "the contact center refused EXOTEL_ACCESS_TOKEN on an agent's request (HTTP 401); checking the account's list", true
		}
		return Degraded, apiFailure(o), true
	})
}

// refusal returns what to fix when err is the account's list refused, or
// "". It names variables, never their values: /readyz is readable by
// anyone who can reach the port.
func refusal(err error) string {
	switch {
	case errors.Is(err, presence.ErrUnauthorized):
		return "the contact center refused EXOTEL_ACCESS_TOKEN (HTTP 401): copy the token again"
	case errors.Is(err, presence.ErrForbidden):
		return "EXOTEL_ACCESS_TOKEN may not read this account's agents (HTTP 403 on the account's list): check the token's permissions and EXOTEL_ACCOUNT_SID"
	case errors.Is(err, presence.ErrNotFound):
		return "no such account (HTTP 404 on the account's list): check EXOTEL_ACCOUNT_SID and the region (EXOTEL_REGION or EXOTEL_BASE_URL)"
	}
	return ""
}

// agentAnswer reports whether the service answered about one agent: it
// is up, whatever it thought of the request.
func agentAnswer(o presence.Observation) bool {
	if o.Endpoint == "list" {
		return false
	}
	return errors.Is(o.Err, presence.ErrNotFound) || errors.Is(o.Err, presence.ErrForbidden) ||
		errors.Is(o.Err, presence.ErrInvalidTransition)
}

// apiFailure describes a failed call for /readyz: the error class and HTTP
// status only, never the error text, whose URLs name the account.
func apiFailure(o presence.Observation) string {
	endpoint := bounded(o.Endpoint, knownEndpoints)
	var ae *presence.APIError
	if !errors.As(o.Err, &ae) || ae.Kind == nil {
		return endpoint + " request failed"
	}
	d := endpoint + " request failed: " + ae.Kind.Error()
	switch {
	case ae.StatusCode != 0:
		d += " (HTTP " + httpCode(ae.StatusCode) + ")"
	case o.Attempts == 0 && errors.Is(ae.Kind, presence.ErrUnavailable):
		d += " (failing fast after repeated failures)"
	case errors.Is(ae.Kind, presence.ErrUnavailable):
		d += " (no answer)"
	}
	return d
}

// Ready reports whether the bot may serve: not shutting down, and no part
// down, refused or still being checked (degraded parts are still ready),
// with a copy of every part's status.
func (h *Health) Ready() (bool, map[string]PartStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.readyLocked(), maps.Clone(h.parts)
}

func (h *Health) readyLocked() bool {
	if h.stopping {
		return false
	}
	for _, ps := range h.parts {
		if !ready(ps.State) {
			return false
		}
	}
	return true
}

// state returns a part's current state and a channel closed at the next
// change of any part's state.
func (h *Health) state(part string) (State, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.parts[part].State, h.changed
}

// Probes is how Health re-checks the contact center by itself.
type Probes struct {
	// Check makes one cheap request (a list with limit=1). Its outcome
	// reaches Health through ObserveAPI, as every call's does.
	Check func(ctx context.Context) error
	// Every is the wait before the next check while the contact center
	// is not ok; it doubles after each check up to Max.
	Every, Max time.Duration
	// Timeout bounds one check.
	Timeout time.Duration
	// Sleep waits d, or less when ctx ends first (then it returns
	// false); nil uses a timer. Tests record the waits instead.
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Defaults for Probes.
const (
	DefaultProbeEvery   = 3 * time.Second
	DefaultProbeMax     = time.Minute
	DefaultProbeTimeout = 15 * time.Second
)

// RunProbes checks the contact center at once, then again while it is
// refused or degraded, with a doubling, jittered wait; while it is ok it
// rests until a request fails. So a refusal at start keeps the bot
// running and unready until the contact center accepts it, and a quiet
// bot does not stay degraded after an outage ends. It returns when ctx
// ends.
func (h *Health) RunProbes(ctx context.Context, p Probes) {
	if p.Every <= 0 {
		p.Every = DefaultProbeEvery
	}
	if p.Max < p.Every {
		p.Max = max(p.Every, DefaultProbeMax)
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultProbeTimeout
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	wait, check := p.Every, true
	for {
		if check {
			cctx, cancel := context.WithTimeout(ctx, p.Timeout)
			_ = p.Check(cctx) // the outcome arrives through ObserveAPI
			cancel()
			if ctx.Err() != nil {
				return
			}
			h.update(PartContactCenter, func(cur PartStatus) (State, string, bool) {
				// A check that observed nothing must not leave the bot
				// unready for ever.
				return Degraded, "the first check got no answer", cur.State == Checking
			})
		}
		for {
			st, changed := h.state(PartContactCenter)
			if st != OK {
				break
			}
			wait = p.Every // the next trouble starts the backoff over
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
		// Half to all of the wait: replicas that met the same outage do
		// not check again in step.
		if !p.Sleep(ctx, wait/2+rand.N(wait/2+1)) {
			return
		}
		wait = min(2*wait, p.Max)
		// A request may have answered meanwhile: then nothing to check.
		st, _ := h.state(PartContactCenter)
		check = st != OK
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readyBody is the JSON answer of /readyz.
type readyBody struct {
	Ready bool `json:"ready"`
	// Stopping is set while the bot shuts down.
	Stopping bool `json:"stopping,omitempty"`
	// Status is the most serious state of any part: ok, degraded,
	// checking, refused or down.
	Status State                 `json:"status"`
	Parts  map[string]PartStatus `json:"parts"`
	// Budget is the contact-center API budget, when one is watched.
	Budget *budgetBody `json:"budget,omitempty"`
}

// Handler serves /healthz (the process answers) and /readyz (200 when
// ready, 503 otherwise; the JSON body names every part's state).
func (h *Health) Handler() http.Handler {
	mux := http.NewServeMux()
	h.register(mux)
	return mux
}

func (h *Health) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		body := readyBody{Ready: h.readyLocked(), Stopping: h.stopping, Parts: maps.Clone(h.parts)}
		budget := h.budget
		h.mu.Unlock()
		body.Budget = budgetNow(budget, time.Now())
		body.Status = worst(body.Parts)
		code := http.StatusOK
		if !body.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
}

// worst returns the most serious state among parts. A state other than
// the known ones counts as down, so a caller's typo fails safe.
func worst(parts map[string]PartStatus) State {
	s := OK
	for _, ps := range parts {
		sev, known := severity[ps.State]
		if !known {
			return Down
		}
		if sev > severity[s] {
			s = ps.State
		}
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain strings, bools and times are marshalled; this cannot
		// happen, but a probe must still get an answer.
		http.Error(w, `{"error":"encode"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Probes must see the current state, never a cached one.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
