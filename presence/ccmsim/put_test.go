package ccmsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

func TestPutTransitions(t *testing.T) {
	// The spec's "Valid Status Transitions" table, copied here rather than
	// read from presence, so a wrong table there fails this test.
	spec := map[presence.Status][]presence.Status{
		presence.Offline:       {presence.Available},                   // offline → available
		presence.Available:     {presence.Busy, presence.Offline},      // available → busy, offline
		presence.AfterCallWork: {presence.Available, presence.Offline}, // after-call-work → available, offline
		presence.Busy:          {presence.Available, presence.Offline}, // busy → available, offline
		// on-call has no row: the system manages moves into and out of it.
	}
	// The enveloped answer, so the test can check the agent it carries;
	// TestPutAnswerShapes covers the others.
	f := newFixtureWith(t, Options{PutAnswer: PutEnvelope}, agent("agent_001", "", presence.Offline))
	for _, from := range presence.Statuses {
		for _, to := range presence.Statuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				if err := f.sim.Force("agent_001", from); err != nil {
					t.Fatal(err)
				}
				before := mustAgent(t, f.sim, "agent_001")
				f.clock.Advance(time.Minute)

				a := f.put(t, "agent_001", to)
				after := mustAgent(t, f.sim, "agent_001")

				if slices.Contains(spec[from], to) {
					if a.code != http.StatusOK {
						t.Fatalf("got %d (%s), want 200", a.code, a.body)
					}
					got := decodeAgent(t, a)
					if got.Status != to || !got.StatusSince.Equal(f.clock.Now()) {
						t.Errorf("got answer %s since %v, want %s since %v", got.Status, got.StatusSince, to, f.clock.Now())
					}
					if after.Status != to || !after.StatusSince.Equal(f.clock.Now()) {
						t.Errorf("got stored %s since %v, want %s since %v", after.Status, after.StatusSince, to, f.clock.Now())
					}
					return
				}
				if a.code != http.StatusBadRequest {
					t.Fatalf("got %d (%s), want 400", a.code, a.body)
				}
				want := "invalid status transition from " + string(from) + " to " + string(to)
				if !strings.Contains(a.message(), want) {
					t.Errorf("got message %q, want it to contain %q", a.message(), want)
				}
				if after.Status != before.Status || !after.StatusSince.Equal(before.StatusSince) {
					t.Errorf("got %s since %v after a refused change, want %s since %v unchanged",
						after.Status, after.StatusSince, before.Status, before.StatusSince)
				}
			})
		}
	}
}

func TestPutRejectsBadBodies(t *testing.T) {
	f := newFixture(t, agent("agent_001", "", presence.Available))
	pad := func(n int) string { return `{"status":"busy","note":"` + strings.Repeat("x", n) + `"}` }
	tests := []struct {
		name     string
		body     string
		wantCode int
	}{
		// No body at all.
		{"empty", "", http.StatusBadRequest},
		// Not JSON.
		{"not json", "busy", http.StatusBadRequest},
		// JSON, but not an object.
		{"array", `["busy"]`, http.StatusBadRequest},
		// JSON null.
		{"null", "null", http.StatusBadRequest},
		// An object without a status.
		{"no status", `{}`, http.StatusBadRequest},
		// A status that is not a string.
		{"number", `{"status":5}`, http.StatusBadRequest},
		// A status the spec does not list.
		{"unknown status", `{"status":"sleeping"}`, http.StatusBadRequest},
		// Statuses are lower case on the wire.
		{"upper case", `{"status":"BUSY"}`, http.StatusBadRequest},
		// Garbage after a valid object.
		{"trailing data", `{"status":"busy"} {"status":"offline"}`, http.StatusBadRequest},
		// Cut off half-way.
		{"truncated", `{"status":"bu`, http.StatusBadRequest},
		// More than 1 MiB.
		{"too large", pad(1 << 20), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, http.MethodPut, f.path("/agents/agent_001/presence"), tt.body)
			if a.code != tt.wantCode {
				t.Fatalf("got %d (%s), want %d", a.code, a.body, tt.wantCode)
			}
			if a.message() == "" {
				t.Errorf("got body %s, want an error message", a.body)
			}
			if got := mustAgent(t, f.sim, "agent_001").Status; got != presence.Available {
				t.Errorf("got status %s after a bad body, want available unchanged", got)
			}
		})
	}

	// Just under the limit, with a field the simulator does not know, is fine.
	a := f.do(t, http.MethodPut, f.path("/agents/agent_001/presence"), pad(1<<20-100))
	if a.code != http.StatusNoContent {
		t.Errorf("got %d for a body under 1 MiB, want 204", a.code)
	}
}
