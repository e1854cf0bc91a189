package observe

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// State is how one part of the bot is doing.
type State string

// The states of a part. Only Down makes the bot not ready: a Degraded part
// (say, shared state falling back to local files) still serves commands.
const (
	OK       State = "ok"
	Degraded State = "degraded"
	Down     State = "down"
)

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
// contact center starts ok ("no request yet"): a quiet bot with no alert
// polls may go a long time without calling it, and should not be taken out
// of service for that; the first failed request makes it down, the next
// success makes it ok again.
type Health struct {
	now func() time.Time

	mu    sync.Mutex
	parts map[string]PartStatus
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
	}
}

// Set records a part's state. Since moves only when the state changes, so
// it tells how long the part has been down, not when it was last checked.
func (h *Health) Set(part string, state State, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps, ok := h.parts[part]
	if !ok || ps.State != state {
		ps.Since = h.now()
	}
	ps.State, ps.Detail = state, detail
	h.parts[part] = ps
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

// ObserveAPI records the outcome of a contact-center call; the most recent
// call decides. It fits presence.WithObserver.
//
// An agent not found or a refused transition is the service working, so it
// counts as success, except a 404 on the list endpoint, which means a wrong
// base URL or account. A call its caller gave up on (context canceled)
// tells nothing about the service and changes nothing.
func (h *Health) ObserveAPI(o presence.Observation) {
	if o.Err == nil || serviceAnswered(o) {
		h.Set(PartContactCenter, OK, "last request succeeded")
		return
	}
	if errors.Is(o.Err, context.Canceled) {
		return
	}
	h.Set(PartContactCenter, Down, apiFailure(o))
}

func serviceAnswered(o presence.Observation) bool {
	if errors.Is(o.Err, presence.ErrInvalidTransition) {
		return true
	}
	return errors.Is(o.Err, presence.ErrNotFound) && o.Endpoint != "list"
}

// apiFailure describes a failed call for /readyz, which anyone who can
// reach the port may read: the error class and HTTP status only, never the
// error text, whose URLs name the account.
func apiFailure(o presence.Observation) string {
	endpoint := bounded(o.Endpoint, knownEndpoints)
	var ae *presence.APIError
	if !errors.As(o.Err, &ae) || ae.Kind == nil {
		return endpoint + ": request failed"
	}
	d := endpoint + ": " + ae.Kind.Error()
	if ae.StatusCode != 0 {
		d += " (HTTP " + httpCode(ae.StatusCode) + ")"
	} else if o.Attempts == 0 && errors.Is(ae.Kind, presence.ErrUnavailable) {
		d += " (failing fast after repeated failures)"
	}
	return d
}

// Ready reports whether no part is down (degraded parts are still ready), with a copy of every part's
// status.
func (h *Health) Ready() (bool, map[string]PartStatus) {
	h.mu.Lock()
	parts := maps.Clone(h.parts)
	h.mu.Unlock()
	return worst(parts) != Down, parts
}

// readyBody is the JSON answer of /readyz.
type readyBody struct {
	Ready bool `json:"ready"`
	// Status is the worst state of any part: ok, degraded or down.
	Status State                 `json:"status"`
	Parts  map[string]PartStatus `json:"parts"`
}

// Handler serves /healthz (the process answers) and /readyz (200 when no
// part is down, 503 otherwise; the JSON body names every part's state).
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
		ready, parts := h.Ready()
		body := readyBody{Ready: ready, Status: worst(parts), Parts: parts}
		code := http.StatusOK
		if !ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, body)
	})
}

// worst returns the most serious state among parts. A state other than
// the three known ones counts as down, so a caller's typo fails safe.
func worst(parts map[string]PartStatus) State {
	s := OK
	for _, ps := range parts {
		switch ps.State {
		case OK:
		case Degraded:
			s = Degraded
		default:
			return Down
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
