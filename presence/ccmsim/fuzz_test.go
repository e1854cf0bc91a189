package ccmsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzServeHTTP feeds the handler garbage: it must never panic and must
// always answer with an envelope whose code is one the API uses, or, for a
// change made, the default PUT answer: 204 with no body.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/v2/accounts/ACsim/agents/presence", "limit=5&status=busy", "", true)
	f.Add("PUT", "/v2/accounts/ACsim/agents/agent_001/presence", "", `{"status":"busy"}`, true)
	f.Add("PUT", "/v2/accounts/ACsim/agents/agent_001/presence", "", `{"status":`, true)
	f.Add("GET", "/v2/accounts/ACsim/agents/%zz/presence", "offset=-1", "", true)
	f.Add("POST", "/v2//accounts", "%%%", "\x00\xff", false)
	f.Add("GET", "/v2/accounts/ACsim/agents/presence", "limit=1e9&offset=9999999999999999999999", "", true)

	s := New(Options{Seed: 1})
	s.Add(DemoRoster(t0)...)
	codes := []int{200, 400, 401, 404, 405, 413}
	f.Fuzz(func(t *testing.T, method, path, query, body string, auth bool) {
		req := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: query},
			Header: http.Header{},
			Body:   http.NoBody,
		}
		if body != "" {
			req.Body = readCloser{strings.NewReader(body)}
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+s.Token())
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)

		if method == http.MethodPut && rec.Code == http.StatusNoContent && rec.Body.Len() == 0 {
			return
		}
		var env testEnvelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("got body %q, want an envelope: %v", rec.Body, err)
		}
		if !slices.Contains(codes, rec.Code) || env.HTTPCode != rec.Code {
			t.Fatalf("got HTTP %d with http_code %d, want the same code, one of %v", rec.Code, env.HTTPCode, codes)
		}
		// Whatever came in, every agent is still in a real status.
		for _, a := range s.Agents() {
			if !a.Status.Valid() {
				t.Fatalf("got agent %s in status %q", a.ID, a.Status)
			}
		}
	})
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }
