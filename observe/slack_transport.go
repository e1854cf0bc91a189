package observe

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"regexp"
	"strconv"
)

// peekLimit bounds how much of a Slack answer is read to look for
// "ok":false. Slack's error answers are a few dozen bytes; a larger answer
// is taken as a success without being parsed.
const peekLimit = 64 << 10

var (
	// slackMethod matches Web API method names (chat.postMessage,
	// apps.connections.open). Anything else, such as a response_url whose
	// path holds a token, is counted as "other" and never becomes a label.
	slackMethod = regexp.MustCompile(`^[a-z]+(\.[a-zA-Z]+)+$`)
	// slackError matches Slack's error codes (channel_not_found).
	slackError = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// SlackTransport wraps next (http.DefaultTransport when nil) so that every
// Slack Web API call is counted by method, and failures by method and
// error. A 2xx answer is read (up to 64 KiB) to find "ok":false; the
// caller still reads the whole body, unchanged.
func (m *Metrics) SlackTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &slackTransport{next: next, m: m}
}

type slackTransport struct {
	next http.RoundTripper
	m    *Metrics
}

func (t *slackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := slackMethodOf(req)
	t.m.slackCalls.WithLabelValues(method).Inc()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.m.slackErrors.WithLabelValues(method, "transport").Inc()
		return resp, err
	}
	if resp.StatusCode >= 400 {
		t.m.slackErrors.WithLabelValues(method, "http_"+strconv.Itoa(resp.StatusCode)).Inc()
		return resp, nil
	}
	if code, failed := peekSlackError(resp); failed {
		t.m.slackErrors.WithLabelValues(method, code).Inc()
	}
	return resp, nil
}

// slackMethodOf returns the Web API method a request calls: the last
// element of its path, when it looks like one.
func slackMethodOf(req *http.Request) string {
	if req.URL == nil {
		return other
	}
	m := path.Base(req.URL.Path)
	if !slackMethod.MatchString(m) {
		return other
	}
	return m
}

// peekSlackError reads the start of a successful answer and reports the
// error of an "ok":false answer. It puts back what it read, so the caller
// sees the body as it came, read errors included.
func peekSlackError(resp *http.Response) (code string, failed bool) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return "", false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, peekLimit+1))
	rest := resp.Body
	resp.Body = &peekedBody{
		Reader: io.MultiReader(bytes.NewReader(head), &errAfter{r: rest, err: err}),
		Closer: rest,
	}
	if err != nil {
		// The answer broke off; the caller will meet the same error.
		return "transport", true
	}
	if len(head) > peekLimit {
		return "", false
	}
	var answer struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(head, &answer) != nil || answer.OK == nil || *answer.OK {
		return "", false
	}
	if !slackError.MatchString(answer.Error) {
		return other, true
	}
	return answer.Error, true
}

// peekedBody reads what was peeked, then the rest, and closes the original.
type peekedBody struct {
	io.Reader
	io.Closer
}

// errAfter replays a read error met while peeking once the caller reaches
// it, and otherwise reads on from r.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return e.r.Read(p)
}
