package observe

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// bigAnswer is a success larger than the peek limit.
var bigAnswer = `{"ok":true,"members":["` + strings.Repeat("x", peekLimit) + `"]}`

// slackAPI is a stand-in Slack Web API: each method answers a fixed body.
func slackAPI(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	answer := func(path string, code int, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			if code == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		})
	}
	answer("/api/chat.postMessage", 200, `{"ok":true,"channel":"C1","ts":"1.2"}`)
	answer("/api/conversations.info", 200, `{"ok":false,"error":"channel_not_found"}`)
	answer("/api/users.info", 429, `{"ok":false,"error":"ratelimited"}`)
	answer("/api/chat.update", 200, `{"ok":false,"error":"Something <odd> happened"}`)
	answer("/api/auth.test", 500, `upstream trouble`)
	answer("/api/users.list", 200, bigAnswer)
	answer("/commands/T1/123/abcSECRETdef", 200, `{"ok":true}`)
	answer("/api/files.info", 200, `not json at all`)
	// A body that breaks off: Content-Length promises more than is sent.
	mux.HandleFunc("/api/chat.delete", func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ok\":tr")
		_ = buf.Flush()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestSlackTransportCountsCallsAndErrors(t *testing.T) {
	srv := slackAPI(t)
	tests := []struct {
		name        string
		path        string
		wantMethod  string // label of slack_api_calls_total
		wantError   string // label of slack_api_errors_total; "" for none
		wantCode    int
		wantBody    string // the caller reads exactly this; "" to skip
		wantReadErr bool
	}{
		// A success counts the call and no error; the body reaches the caller whole.
		{"ok", "/api/chat.postMessage", "chat.postMessage", "", 200, `{"ok":true,"channel":"C1","ts":"1.2"}`, false},
		// A 200 with "ok":false is an error named by Slack's code.
		{"ok false", "/api/conversations.info", "conversations.info", "channel_not_found", 200, `{"ok":false,"error":"channel_not_found"}`, false},
		// An HTTP error counts by status; its body is untouched.
		{"rate limited", "/api/users.info", "users.info", "http_429", 429, `{"ok":false,"error":"ratelimited"}`, false},
		// A 5xx without JSON is still an error.
		{"server error", "/api/auth.test", "auth.test", "http_500", 500, "upstream trouble", false},
		// An error code that is not Slack-shaped is bounded to "other".
		{"odd error code", "/api/chat.update", "chat.update", "other", 200, `{"ok":false,"error":"Something <odd> happened"}`, false},
		// A body larger than the peek limit passes through intact.
		{"large body", "/api/users.list", "users.list", "", 200, bigAnswer, false},
		// A response_url path (with a secret in it) is "other", never a label.
		{"response url", "/commands/T1/123/abcSECRETdef", "other", "", 200, `{"ok":true}`, false},
		// A body that is not JSON is not an error.
		{"not json", "/api/files.info", "files.info", "", 200, "not json at all", false},
		// A body that breaks off is a transport error, and the caller sees the failure too.
		{"broken body", "/api/chat.delete", "chat.delete", "transport", 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics()
			c := &http.Client{Transport: m.SlackTransport(srv.Client().Transport)}
			resp, err := c.Post(srv.URL+tt.path, "application/x-www-form-urlencoded", strings.NewReader("channel=C1"))
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if gotErr := readErr != nil; gotErr != tt.wantReadErr {
				t.Errorf("read error: got %v, want error %v", readErr, tt.wantReadErr)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body: got %q, want %q", truncateForLog(body), truncateForLog([]byte(tt.wantBody)))
			}

			f := scrape(t, m)
			if got := f.value(t, "presence_bot_slack_api_calls_total", l("method", tt.wantMethod)); got != 1 {
				t.Errorf("slack_api_calls_total{%s}: got %v, want 1", tt.wantMethod, got)
			}
			errs := f["presence_bot_slack_api_errors_total"].GetMetric()
			if tt.wantError == "" {
				if len(errs) != 0 {
					t.Errorf("slack_api_errors_total: got %s, want none", f.series("presence_bot_slack_api_errors_total"))
				}
				return
			}
			if got := f.value(t, "presence_bot_slack_api_errors_total", l("method", tt.wantMethod, "error", tt.wantError)); got != 1 {
				t.Errorf("slack_api_errors_total{%s,%s}: got %v, want 1", tt.wantMethod, tt.wantError, got)
			}
			if len(errs) != 1 {
				t.Errorf("slack_api_errors_total: got %s, want one series", f.series("presence_bot_slack_api_errors_total"))
			}
		})
	}
}

func TestSlackTransportCountsTransportErrors(t *testing.T) {
	// A server closed before the call: the connection is refused.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	m := NewMetrics()
	c := &http.Client{Transport: m.SlackTransport(&http.Transport{DisableKeepAlives: true})}
	resp, err := c.Get(url + "/api/chat.postMessage")
	if err == nil {
		resp.Body.Close()
		t.Fatal("get: got no error from a closed server, want one")
	}
	f := scrape(t, m)
	if got := f.value(t, "presence_bot_slack_api_errors_total", l("method", "chat.postMessage", "error", "transport")); got != 1 {
		t.Errorf("slack_api_errors_total{chat.postMessage,transport}: got %v, want 1", got)
	}
}

// closeRecorder is a body that records being closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSlackTransportClosesTheOriginalBody(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader(`{"ok":false,"error":"not_authed"}`)}
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: body, Header: http.Header{}, Request: r}, nil
	})
	m := NewMetrics()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/api/auth.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.SlackTransport(next).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if got, want := string(b), `{"ok":false,"error":"not_authed"}`; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if body.closed {
		t.Errorf("body closed before the caller closed it")
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !body.closed {
		t.Errorf("original body: got open after Close, want closed")
	}
}

func TestSlackTransportPassesErrorsThrough(t *testing.T) {
	want := errors.New("dial refused")
	next := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, want })
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/api/chat.postMessage", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics().SlackTransport(next).RoundTrip(req); !errors.Is(err, want) {
		t.Errorf("RoundTrip error: got %v, want %v", err, want)
	}
}

func TestSlackMethodOf(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		// The common case.
		{"post message", "https://slack.com/api/chat.postMessage", "chat.postMessage"},
		// Several dots.
		{"nested", "https://slack.com/api/apps.connections.open", "apps.connections.open"},
		// A custom SLACK_API_URL prefix does not matter.
		{"custom base", "http://127.0.0.1:9999/slack/api/users.info", "users.info"},
		// No dot: not a method.
		{"no dot", "https://slack.com/api/token123", "other"},
		// A response_url.
		{"response url", "https://hooks.slack.com/commands/T1/2/secret", "other"},
		// Digits or odd characters are refused.
		{"digits", "https://slack.com/api/chat.post2", "other"},
		// Upper case first part is not Slack's style.
		{"upper", "https://slack.com/api/Chat.postMessage", "other"},
		// Trailing dot.
		{"trailing dot", "https://slack.com/api/chat.", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := slackMethodOf(req); got != tt.want {
				t.Errorf("slackMethodOf(%s): got %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

// truncateForLog keeps failure messages readable for large bodies.
func truncateForLog(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
