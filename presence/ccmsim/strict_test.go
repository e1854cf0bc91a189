package ccmsim

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

// TestPutAnswerShapes: a status change that succeeded answers in the shape
// asked for; the default is a 204 with no body, since the spec documents
// no PUT answer body and a client must not rely on one.
func TestPutAnswerShapes(t *testing.T) {
	tests := []struct {
		name     string
		mode     PutAnswer
		wantCode int
		wantBody string // "" for no body; "envelope" for the spec's envelope
	}{
		// The zero Options: no content at all.
		{"default", PutNoContent, http.StatusNoContent, ""},
		// A 200 without a body.
		{"empty", PutEmpty, http.StatusOK, ""},
		// A 200 with an empty object.
		{"empty object", PutEmptyObject, http.StatusOK, "{}"},
		// A 200 with a bare status word, outside any envelope.
		{"status ok", PutStatusOK, http.StatusOK, `{"status":"ok"}`},
		// The spec's envelope around the updated agent.
		{"envelope", PutEnvelope, http.StatusOK, "envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, Options{PutAnswer: tt.mode}, agent("agent_001", "", presence.Available))
			a := f.put(t, "agent_001", presence.Busy)
			if a.code != tt.wantCode {
				t.Fatalf("got %d (%s), want %d", a.code, a.body, tt.wantCode)
			}
			switch tt.wantBody {
			case "envelope":
				if a.envErr != nil || a.env.Response.Status != "success" || decodeAgent(t, a).Status != presence.Busy {
					t.Errorf("got %s, want the envelope around the busy agent", a.body)
				}
			default:
				if string(a.body) != tt.wantBody {
					t.Errorf("got body %q, want %q", a.body, tt.wantBody)
				}
			}
			if got := mustAgent(t, f.sim, "agent_001").Status; got != presence.Busy {
				t.Errorf("got stored status %s, want busy", got)
			}

			// A refusal keeps the error envelope in every mode.
			a = f.put(t, "agent_001", presence.OnCall)
			if a.code != http.StatusBadRequest || a.message() == "" {
				t.Errorf("refusal: got %d %s, want 400 with the error envelope", a.code, a.body)
			}
		})
	}
}

// TestListPageCap: a service that caps its pages below the asked size
// serves at most the cap and says so in metadata.limit; walking by what
// it served finds every agent once.
func TestListPageCap(t *testing.T) {
	roster := GenerateRoster(250, nil, t0, 7)
	for _, pageCap := range []int{20, 7} {
		t.Run(strconv.Itoa(pageCap), func(t *testing.T) {
			f := newFixtureWith(t, Options{PageCap: pageCap}, roster...)
			var got []string
			for offset := 0; offset < 250; {
				l, total, limit, off := f.list(t, "limit=100&offset="+strconv.Itoa(offset))
				if total != 250 || limit != pageCap || off != offset {
					t.Fatalf("offset %d: got total=%d limit=%d offset=%d, want 250/%d/%d", offset, total, limit, off, pageCap, offset)
				}
				if want := min(pageCap, 250-offset); len(l.Agents) != want {
					t.Fatalf("offset %d: got %d agents, want %d", offset, len(l.Agents), want)
				}
				got = append(got, ids(l.Agents)...)
				offset += len(l.Agents)
			}
			if want := ids(roster); len(got) != len(want) {
				t.Errorf("got %d agents walking the pages, want %d", len(got), len(want))
			}
			// Below the cap, the asked size stands.
			if l, _, limit, _ := f.list(t, "limit=5"); len(l.Agents) != 5 || limit != 5 {
				t.Errorf("limit=5: got %d agents and limit %d, want 5 and 5", len(l.Agents), limit)
			}
			// Without a limit, the default page of 20, capped.
			if l, _, limit, _ := f.list(t, ""); len(l.Agents) != min(20, pageCap) || limit != min(20, pageCap) {
				t.Errorf("no limit: got %d agents and limit %d, want %d", len(l.Agents), limit, min(20, pageCap))
			}
		})
	}
}

// TestListIgnoreLimit: a service that does not know the limit parameter
// serves its default page of 20, whatever is asked, and checks nothing.
func TestListIgnoreLimit(t *testing.T) {
	f := newFixtureWith(t, Options{IgnoreLimit: true}, GenerateRoster(50, nil, t0, 7)...)
	for _, q := range []string{"limit=100", "limit=5", "limit=101", "limit=ten", ""} {
		l, total, limit, _ := f.list(t, q)
		if len(l.Agents) != 20 || limit != 20 || total != 50 {
			t.Errorf("?%s: got %d agents, limit %d, total %d; want 20, 20, 50", q, len(l.Agents), limit, total)
		}
	}
	// With a cap below the default, the cap.
	f = newFixtureWith(t, Options{IgnoreLimit: true, PageCap: 7}, GenerateRoster(50, nil, t0, 7)...)
	if l, _, limit, _ := f.list(t, "limit=100"); len(l.Agents) != 7 || limit != 7 {
		t.Errorf("capped: got %d agents and limit %d, want 7 and 7", len(l.Agents), limit)
	}
}

// TestListReportAskedLimit: a service that claims the asked limit while
// serving fewer; only the agents in the page tell the truth.
func TestListReportAskedLimit(t *testing.T) {
	f := newFixtureWith(t, Options{PageCap: 7, ReportAskedLimit: true}, GenerateRoster(50, nil, t0, 7)...)
	l, _, limit, _ := f.list(t, "limit=100")
	if len(l.Agents) != 7 || limit != 100 {
		t.Errorf("got %d agents and limit %d, want 7 agents claimed as a limit of 100", len(l.Agents), limit)
	}
}
