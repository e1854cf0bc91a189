package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
)

// Regions and their base URLs, from the spec.
const (
	RegionSingapore = "singapore"
	RegionMumbai    = "mumbai"
)

var regionURLs = map[string]string{
	RegionSingapore: "https://ccm-api.exotel.com",
	RegionMumbai:    "https://ccm-api.in.exotel.com",
}

// RegionBaseURL returns the base URL of a data center.
func RegionBaseURL(region string) (string, error) {
	u, ok := regionURLs[strings.ToLower(region)]
	if !ok {
		return "", fmt.Errorf("unknown region %q (want %s or %s)", region, RegionSingapore, RegionMumbai)
	}
	return u, nil
}

// Defaults, chosen so a command still answers well inside 10 s when the
// contact center misbehaves.
const (
	DefaultAttemptTimeout = 4 * time.Second
	DefaultAttempts       = 3
	DefaultRetryWait      = 200 * time.Millisecond
	DefaultMaxRetryWait   = 10 * time.Second
	DefaultBreakAfter     = 5
	DefaultBreakFor       = 5 * time.Second
	DefaultMaxBody        = 16 << 20
	// DefaultPageWorkers fetches a 5,000-agent roster in five round trips:
	// with fewer, a burst of /presence waits longer on each fetch, and
	// the waiters pile up.
	DefaultPageWorkers = 16

	// confirmTimeout bounds the check after an ambiguous update.
	confirmTimeout = 2 * time.Second
)

// Observation is what the client reports about each call, for metrics and
// readiness.
type Observation struct {
	Endpoint string // "list", "get" or "update"
	Code     int    // the last HTTP status, 0 when none arrived
	Attempts int    // 1 when it was not retried; 0 when it failed fast
	Duration time.Duration
	Err      error
}

// Client calls the Agent Presence API. It is safe for concurrent use.
type Client struct {
	rc          *resty.Client
	sid         string
	breaker     *breaker
	observe     func(Observation)
	log         *slog.Logger
	pageWorkers int
	// decoding admits JSON decodes, the client's only CPU-heavy work, on
	// half the cores at most: a roster fetch brings its pages back at
	// once, and decoded side by side they would hold every core while the
	// bot's Socket Mode acks wait.
	decoding chan struct{}
}

type settings struct {
	baseURL        string
	httpClient     *http.Client
	attemptTimeout time.Duration
	attempts       int
	retryWait      time.Duration
	maxRetryWait   time.Duration
	breakAfter     int
	breakFor       time.Duration
	now            func() time.Time
	maxBody        int
	observe        func(Observation)
	log            *slog.Logger
	pageWorkers    int
}

// Option configures a Client.
type Option func(*settings)

// WithBaseURL sets the API's base URL (a region's, a proxy's or a
// simulator's).
func WithBaseURL(u string) Option { return func(s *settings) { s.baseURL = u } }

// WithHTTPClient sets the underlying HTTP client.
func WithHTTPClient(c *http.Client) Option { return func(s *settings) { s.httpClient = c } }

// WithAttemptTimeout bounds each HTTP attempt.
func WithAttemptTimeout(d time.Duration) Option {
	return func(s *settings) { s.attemptTimeout = d }
}

// WithRetry sets how many attempts a call makes in all and the backoff
// bounds between them (jittered, doubling from wait up to maxWait; a
// Retry-After header overrides it).
func WithRetry(attempts int, wait, maxWait time.Duration) Option {
	return func(s *settings) { s.attempts, s.retryWait, s.maxRetryWait = attempts, wait, maxWait }
}

// WithBreaker makes calls fail fast for cooldown after failures consecutive
// failed calls; failures <= 0 turns it off. now is the clock it reads.
func WithBreaker(failures int, cooldown time.Duration, now func() time.Time) Option {
	return func(s *settings) { s.breakAfter, s.breakFor, s.now = failures, cooldown, now }
}

// WithMaxBody bounds the size of an answer the client reads.
func WithMaxBody(n int) Option { return func(s *settings) { s.maxBody = n } }

// WithObserver receives an Observation after every call.
func WithObserver(f func(Observation)) Option { return func(s *settings) { s.observe = f } }

// WithLogger sets where retries are logged.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// WithPageWorkers bounds how many pages ListAll fetches at once.
func WithPageWorkers(n int) Option { return func(s *settings) { s.pageWorkers = n } }

// NewClient returns a client for the account. The token is sent as a
// Bearer token and never logged.
func NewClient(accountSID, accessToken string, opts ...Option) *Client {
	s := settings{
		baseURL:        regionURLs[RegionSingapore],
		attemptTimeout: DefaultAttemptTimeout,
		attempts:       DefaultAttempts,
		retryWait:      DefaultRetryWait,
		maxRetryWait:   DefaultMaxRetryWait,
		breakAfter:     DefaultBreakAfter,
		breakFor:       DefaultBreakFor,
		now:            time.Now,
		maxBody:        DefaultMaxBody,
		log:            slog.New(slog.DiscardHandler),
		pageWorkers:    DefaultPageWorkers,
	}
	for _, o := range opts {
		o(&s)
	}
	if s.attempts < 1 {
		s.attempts = 1
	}
	if s.pageWorkers < 1 {
		s.pageWorkers = 1
	}
	if s.now == nil {
		s.now = time.Now
	}

	var rc *resty.Client
	if s.httpClient != nil {
		rc = resty.NewWithClient(s.httpClient)
	} else {
		rc = resty.New()
	}
	rc.SetBaseURL(strings.TrimRight(s.baseURL, "/")).
		SetAuthToken(accessToken).
		SetHeader("Accept", "application/json").
		SetTimeout(s.attemptTimeout).
		SetResponseBodyLimit(s.maxBody).
		SetLogger(restyLogger{s.log}).
		SetRetryCount(s.attempts - 1).
		SetRetryWaitTime(s.retryWait).
		// Resty caps every wait at its max, Retry-After included; ours
		// caps only the backoff (see retryWait), and the caller's deadline
		// caps the rest.
		SetRetryMaxWaitTime(maxRetryAfter).
		SetRetryAfter(retryWait(s.retryWait, s.maxRetryWait)).
		AddRetryCondition(retryable)

	return &Client{
		rc:          rc,
		sid:         accountSID,
		breaker:     &breaker{threshold: s.breakAfter, cooldown: s.breakFor, now: s.now},
		observe:     s.observe,
		log:         s.log,
		pageWorkers: s.pageWorkers,
		decoding:    make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
}

// retryable retries what may succeed next time: 429, 5xx and transport
// failures. Resty hands transport errors to conditions with a nil response
// or a response without a raw one.
func retryable(r *resty.Response, err error) bool {
	if err != nil {
		// An attempt's own timeout is worth retrying; the caller's context
		// ending is not. Both look like DeadlineExceeded, so ask the
		// request's context which one it was.
		if r != nil && r.Request != nil && r.Request.Context().Err() != nil {
			return false
		}
		return !errors.Is(err, context.Canceled) && !errors.Is(err, resty.ErrResponseBodyTooLarge)
	}
	if r == nil {
		return false
	}
	code := r.StatusCode()
	return code == http.StatusTooManyRequests || code >= 500
}

// errRetryAfterTooLong stops retrying when the wait the API asks for would
// outlast the caller's deadline: better to answer now than to fail later.
var errRetryAfterTooLong = errors.New("the API asked to wait longer than the deadline allows")

// maxRetryAfter is the longest Retry-After the client waits for.
const maxRetryAfter = 2 * time.Minute

// retryWait honours a Retry-After header (seconds or an HTTP date), and
// otherwise backs off exponentially from wait up to maxWait with full
// jitter, so many clients do not retry in step.
func retryWait(wait, maxWait time.Duration) resty.RetryAfterFunc {
	return func(_ *resty.Client, r *resty.Response) (time.Duration, error) {
		d := parseRetryAfter(r.Header().Get("Retry-After"), time.Now())
		if d <= 0 {
			backoff := min(maxWait, wait<<min(r.Request.Attempt, 16))
			return max(wait, time.Duration(rand.Int64N(int64(backoff)+1))), nil
		}
		if deadline, ok := r.Request.Context().Deadline(); ok && time.Until(deadline) < d {
			return 0, errRetryAfterTooLong
		}
		return d, nil
	}
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// envelope is the spec's answer wrapper. data is kept raw so each endpoint
// decodes and checks its own shape.
type envelope struct {
	RequestID string `json:"request_id"`
	HTTPCode  int    `json:"http_code"`
	Response  *struct {
		Code     int             `json:"code"`
		Status   string          `json:"status"`
		Message  string          `json:"message"`
		Error    json.RawMessage `json:"error"`
		Data     json.RawMessage `json:"data"`
		Metadata *struct {
			Total  *int `json:"total"`
			Limit  int  `json:"limit"`
			Offset int  `json:"offset"`
		} `json:"metadata"`
	} `json:"response"`
}

// message digs the API's explanation out of an error answer. The spec
// gives no error body, so anything goes: response.error as a string or an
// object with a message, or response.message.
func (e *envelope) message() string {
	if e == nil || e.Response == nil {
		return ""
	}
	if len(e.Response.Error) > 0 {
		var s string
		if json.Unmarshal(e.Response.Error, &s) == nil && s != "" {
			return s
		}
		var obj struct {
			Message     string `json:"message"`
			Description string `json:"description"`
		}
		if json.Unmarshal(e.Response.Error, &obj) == nil {
			if obj.Message != "" {
				return obj.Message
			}
			if obj.Description != "" {
				return obj.Description
			}
		}
	}
	return e.Response.Message
}

// maxMessage keeps an API message short enough for logs and answers.
const maxMessage = 300

// call runs one logical request (with resty's retries) and returns the
// decoded envelope of a 2xx answer.
func (c *Client) call(ctx context.Context, endpoint, op, method, path string, query url.Values, body any) (*envelope, error) {
	start := time.Now()
	obs := Observation{Endpoint: endpoint}
	env, err := c.do(ctx, op, method, path, query, body, &obs)
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Attempts = obs.Attempts
	}
	obs.Duration = time.Since(start)
	obs.Err = err
	if c.observe != nil {
		c.observe(obs)
	}
	return env, err
}

func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body any, obs *Observation) (*envelope, error) {
	if !c.breaker.allow() {
		return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: errors.New("failing fast after repeated failures")}
	}
	req := c.rc.R().SetContext(ctx).SetQueryParamsFromValues(query)
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, path)
	if resp != nil && resp.Request != nil {
		obs.Attempts = resp.Request.Attempt
	}
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up; that says nothing about the service.
			c.breaker.release()
			return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: ctx.Err()}
		}
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			c.breaker.record(true)
			return nil, &APIError{Op: op, Kind: ErrBadResponse, StatusCode: resp.StatusCode(),
				Cause: fmt.Errorf("answer larger than %d bytes", c.rc.ResponseBodyLimit)}
		}
		if errors.Is(err, errRetryAfterTooLong) && resp != nil {
			c.breaker.record(true)
			return nil, c.statusError(op, method, resp)
		}
		c.breaker.record(true)
		return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: sanitize(err)}
	}
	obs.Code = resp.StatusCode()
	if resp.IsError() || resp.StatusCode() >= 300 {
		apiErr := c.statusError(op, method, resp)
		c.breaker.record(resp.StatusCode() >= 500 || resp.StatusCode() == http.StatusTooManyRequests)
		return nil, apiErr
	}
	var env *envelope
	if err := c.decode(ctx, func() (derr error) { env, derr = decodeEnvelope(resp.Body()); return derr }); err != nil {
		if ctx.Err() != nil {
			c.breaker.release()
			return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: ctx.Err()}
		}
		c.breaker.record(true)
		return nil, &APIError{Op: op, Kind: ErrBadResponse, StatusCode: resp.StatusCode(), Cause: err}
	}
	c.breaker.record(false)
	return env, nil
}

func (c *Client) statusError(op, method string, resp *resty.Response) *APIError {
	e := &APIError{
		Op:         op,
		StatusCode: resp.StatusCode(),
		Kind:       kindForStatus(resp.StatusCode(), method == http.MethodPut),
		RetryAfter: parseRetryAfter(resp.Header().Get("Retry-After"), time.Now()),
	}
	var env envelope
	if json.Unmarshal(resp.Body(), &env) == nil {
		e.Message = truncate(env.message(), maxMessage)
	}
	return e
}

func decodeEnvelope(body []byte) (*envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	if env.Response == nil {
		return nil, errors.New(`answer has no "response"`)
	}
	return &env, nil
}

// sanitize keeps a transport error's meaning but drops the query string
// from any URL in it, so nothing a proxy put there leaks into logs.
func sanitize(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (c *Client) agentsPath() string {
	return "/v2/accounts/" + url.PathEscape(c.sid) + "/agents/presence"
}

func (c *Client) agentPath(id string) string {
	return "/v2/accounts/" + url.PathEscape(c.sid) + "/agents/" + url.PathEscape(id) + "/presence"
}

// List fetches one page of agents.
func (c *Client) List(ctx context.Context, opts ListOptions) (*Page, error) {
	op := "list presence"
	if opts.Limit < 0 || opts.Limit > MaxPageSize || opts.Offset < 0 {
		return nil, fmt.Errorf("%s: limit must be 0..%d and offset >= 0, got %d and %d", op, MaxPageSize, opts.Limit, opts.Offset)
	}
	q := url.Values{}
	if opts.Status != "" {
		q.Set("status", string(opts.Status))
	}
	if opts.TeamID != "" {
		q.Set("team_id", opts.TeamID)
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Offset > 0 {
		q.Set("offset", strconv.Itoa(opts.Offset))
	}
	env, err := c.call(ctx, "list", op, http.MethodGet, c.agentsPath(), q, nil)
	if err != nil {
		return nil, err
	}
	var page *Page
	if err := c.decode(ctx, func() (derr error) { page, derr = decodePage(env); return derr }); err != nil {
		if ctx.Err() != nil {
			return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: ctx.Err()}
		}
		return nil, &APIError{Op: op, Kind: ErrBadResponse, Cause: err}
	}
	return page, nil
}

// decode runs f, the client's CPU-heavy work, in one of the decoding
// slots; a caller whose context ends while waiting for one gives up.
func (c *Client) decode(ctx context.Context, f func() error) error {
	select {
	case c.decoding <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.decoding }()
	return f()
}

func decodePage(env *envelope) (*Page, error) {
	var data struct {
		Agents  *[]Agent `json:"agents"`
		Summary *Summary `json:"summary"`
	}
	if len(env.Response.Data) == 0 {
		return nil, errors.New(`answer has no "data"`)
	}
	if err := json.Unmarshal(env.Response.Data, &data); err != nil {
		return nil, fmt.Errorf("decode agents: %w", err)
	}
	if data.Agents == nil {
		return nil, errors.New(`answer has no "agents"`)
	}
	if data.Summary == nil {
		return nil, errors.New(`answer has no "summary"`)
	}
	meta := env.Response.Metadata
	if meta == nil || meta.Total == nil {
		return nil, errors.New(`answer has no "metadata.total"`)
	}
	if *meta.Total < 0 {
		return nil, fmt.Errorf(`"metadata.total" is %d`, *meta.Total)
	}
	for i := range *data.Agents {
		if err := checkAgent(&(*data.Agents)[i]); err != nil {
			return nil, fmt.Errorf("agent %d: %w", i, err)
		}
	}
	return &Page{
		Agents:  *data.Agents,
		Summary: *data.Summary,
		Total:   *meta.Total,
		Limit:   meta.Limit,
		Offset:  meta.Offset,
	}, nil
}

// checkAgent refuses an agent the rest of the bot could not trust.
func checkAgent(a *Agent) error {
	if a.ID == "" {
		return errors.New(`missing "user_id"`)
	}
	if !a.Status.Valid() {
		return fmt.Errorf("agent %q has unknown status %q", a.ID, a.Status)
	}
	return nil
}

// Roster is every agent that matched, with the API's counts.
type Roster struct {
	Agents  []Agent
	Summary Summary
}

// maxPages stops paging a total that keeps growing, rather than loop.
const maxPages = 2000

// ListAll pages through every agent matching opts (Limit and Offset are
// ignored). The first page tells the total; the rest are fetched
// concurrently, bounded by the page workers. Agents are de-duplicated by
// ID, since the roster can shift between pages.
func (c *Client) ListAll(ctx context.Context, opts ListOptions) (*Roster, error) {
	opts.Limit, opts.Offset = MaxPageSize, 0
	first, err := c.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Checked before the arithmetic, which a huge total would overflow.
	if first.Total > maxPages*MaxPageSize {
		return nil, &APIError{Op: "list presence", Kind: ErrBadResponse,
			Cause: fmt.Errorf("total of %d agents is more than this bot pages through", first.Total)}
	}
	pages := (first.Total + MaxPageSize - 1) / MaxPageSize
	if pages > maxPages {
		return nil, &APIError{Op: "list presence", Kind: ErrBadResponse,
			Cause: fmt.Errorf("total of %d agents is more than this bot pages through", first.Total)}
	}
	results := make([][]Agent, max(pages, 1))
	results[0] = first.Agents
	if pages > 1 {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
			sem      = make(chan struct{}, c.pageWorkers)
		)
		for p := 1; p < pages; p++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(p int) {
				defer wg.Done()
				defer func() { <-sem }()
				o := opts
				o.Offset = p * MaxPageSize
				page, err := c.List(ctx, o)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					return
				}
				results[p] = page.Agents
			}(p)
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
	}
	// Sized by what arrived, not by what the API claimed.
	n := 0
	for _, page := range results {
		n += len(page)
	}
	seen := make(map[string]struct{}, n)
	agents := make([]Agent, 0, n)
	for _, page := range results {
		for _, a := range page {
			if _, dup := seen[a.ID]; dup {
				continue
			}
			seen[a.ID] = struct{}{}
			agents = append(agents, a)
		}
	}
	return &Roster{Agents: agents, Summary: first.Summary}, nil
}

// Get fetches one agent, with the current call while on one.
func (c *Client) Get(ctx context.Context, agentID string) (*Agent, error) {
	op := "get agent " + agentID
	env, err := c.call(ctx, "get", op, http.MethodGet, c.agentPath(agentID), nil, nil)
	if err != nil {
		return nil, err
	}
	a, err := decodeAgent(env)
	if err != nil {
		return nil, &APIError{Op: op, Kind: ErrBadResponse, Cause: err}
	}
	return a, nil
}

func decodeAgent(env *envelope) (*Agent, error) {
	if len(env.Response.Data) == 0 {
		return nil, errors.New(`answer has no "data"`)
	}
	var a Agent
	if err := json.Unmarshal(env.Response.Data, &a); err != nil {
		return nil, fmt.Errorf("decode agent: %w", err)
	}
	if err := checkAgent(&a); err != nil {
		return nil, err
	}
	return &a, nil
}

// SetStatus moves an agent to status. When a retried update finds the
// agent already in that status, the first attempt landed and its answer
// was lost: that is success, not an invalid transition.
func (c *Client) SetStatus(ctx context.Context, agentID string, status Status) error {
	op := fmt.Sprintf("set %s to %s", agentID, status)
	body := map[string]string{"status": string(status)}
	_, err := c.call(ctx, "update", op, http.MethodPut, c.agentPath(agentID), nil, body)
	if err == nil {
		return nil
	}
	if !ambiguous(err) {
		return err
	}
	// The update may have landed; ask before reporting failure. The check
	// gets a short time of its own: the caller's deadline may be what
	// made the update ambiguous.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	a, gerr := c.Get(cctx, agentID)
	if gerr == nil && a.Status == status {
		c.log.Info("status update confirmed after an ambiguous failure", "agent", agentID, "status", status)
		return nil
	}
	return err
}

// ambiguous reports whether an update's failure leaves its effect unknown:
// the request may have reached the API. A 400 after a retry is the API
// refusing a repeat of a change that already happened.
func ambiguous(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch {
	case errors.Is(ae.Kind, ErrServer), errors.Is(ae.Kind, ErrBadResponse):
		return true
	case errors.Is(ae.Kind, ErrUnavailable):
		// Failing fast sent nothing; a cancelled caller cannot wait for a check.
		return ae.Attempts > 0 && !errors.Is(err, context.Canceled)
	case errors.Is(ae.Kind, ErrInvalidTransition):
		return ae.Attempts > 1
	}
	return false
}

// restyLogger routes resty's own messages (retries, warnings) to slog.
type restyLogger struct{ l *slog.Logger }

func (r restyLogger) Errorf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)) }
func (r restyLogger) Warnf(format string, v ...any)  { r.l.Warn(fmt.Sprintf(format, v...)) }
func (r restyLogger) Debugf(format string, v ...any) { r.l.Debug(fmt.Sprintf(format, v...)) }
