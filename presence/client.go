package presence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/go-resty/resty/v2"

	"github.com/presencebot/presence-bot/internal/redact"
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
	budgeted    bool // attempts go through a Budget, which counts those sent
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
	budget         *Budget
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

// WithBudget makes every HTTP attempt (retries included) wait for a token
// of b first, in the priority of its context (WithPriority), and lets a
// 429's Retry-After pause b.
func WithBudget(b *Budget) Option { return func(s *settings) { s.budget = b } }

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
		SetRetryAfter(logRetries(s.log, retryWait(s.retryWait, s.maxRetryWait))).
		AddRetryHook(noteRetry).
		AddRetryCondition(retryable)
	if b := s.budget; b != nil {
		// Before each attempt, not each call: resty runs these hooks for
		// every attempt, and outside the attempt's own timeout.
		rc.OnBeforeRequest(func(_ *resty.Client, r *resty.Request) error {
			n, _ := r.Context().Value(retryNoteKey{}).(*retryNote)
			kind := "other"
			if n != nil {
				kind = n.endpoint
			}
			if err := b.Wait(r.Context(), kind); err != nil {
				return err
			}
			if n != nil {
				n.sent.Add(1)
			}
			return nil
		})
		rc.OnAfterResponse(func(_ *resty.Client, r *resty.Response) error {
			if r.StatusCode() == http.StatusTooManyRequests {
				d := parseRetryAfter(r.Header().Get("Retry-After"), time.Now())
				if d <= 0 {
					d = DefaultPause
				}
				b.Pause(d)
			}
			return nil
		})
	}

	return &Client{
		rc:          rc,
		budgeted:    s.budget != nil,
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
	if _, ok := errors.AsType[*budgetWaitError](err); ok {
		return false // the budget's limit or the caller's: a retry waits the same
	}
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

// budgetCause says why a request never got through the budget: always
// ErrBudgetExhausted, with the caller's deadline when that was what ended
// the wait.
func budgetCause(bw *budgetWaitError) error {
	if errors.Is(bw.err, ErrBudgetExhausted) {
		return bw.err
	}
	return fmt.Errorf("%w: %w", ErrBudgetExhausted, bw.err)
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
			Total *int `json:"total"`
			Limit int  `json:"limit"`
			// Offset is a pointer so a missing one can stand for the
			// offset asked for, while a different one is caught.
			Offset *int `json:"offset"`
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
	note := &retryNote{op: op, endpoint: obs.Endpoint}
	req := c.rc.R().SetContext(context.WithValue(ctx, retryNoteKey{}, note)).SetQueryParamsFromValues(query)
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, path)
	if resp != nil && resp.Request != nil {
		obs.Attempts = resp.Request.Attempt
	}
	if c.budgeted {
		// An attempt that never got through the budget was not made.
		obs.Attempts = int(note.sent.Load())
	}
	if err != nil {
		if bw, ok := errors.AsType[*budgetWaitError](err); ok && !errors.Is(err, context.Canceled) {
			// Nothing is wrong with the service: the bot is holding back.
			c.breaker.release()
			return nil, &APIError{Op: op, Kind: ErrRateLimited, Attempts: obs.Attempts, Cause: budgetCause(bw)}
		}
		if ctx.Err() != nil {
			// The caller gave up; that says nothing about the service.
			c.breaker.release()
			return nil, &APIError{Op: op, Kind: ErrUnavailable, Cause: ctx.Err()}
		}
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			if method != http.MethodGet && resp != nil && resp.StatusCode()/100 == 2 {
				// A change's body is never read as data (see below).
				obs.Code = resp.StatusCode()
				c.breaker.record(false)
				return nil, nil
			}
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
	if method != http.MethodGet {
		// The spec documents no PUT answer body, and services send none,
		// {}, {"status":"ok"}, a 204 or the envelope: the 2xx is the
		// answer. Decoding it would turn every change into a failure,
		// then a confirming GET, and a burst of them would open the
		// breaker.
		c.breaker.record(false)
		return nil, nil
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
	if env.Response.Metadata.Offset == nil {
		page.Offset = opts.Offset // not stated: take it as served where asked
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
	page := &Page{
		Agents:  *data.Agents,
		Summary: *data.Summary,
		Total:   *meta.Total,
		Limit:   meta.Limit,
	}
	if meta.Offset != nil {
		page.Offset = *meta.Offset
	}
	return page, nil
}

// maxAgentID bounds an agent ID from the API. IDs go into URL paths,
// button values (2,000 characters for all of one), log lines and answers;
// the spec's are like "agent_001", so anything longer than this is an
// answer gone wrong, not an agent.
const maxAgentID = 128

// checkAgent refuses an agent the rest of the bot could not trust.
func checkAgent(a *Agent) error {
	if a.ID == "" {
		return errors.New(`missing "user_id"`)
	}
	if len(a.ID) > maxAgentID {
		return fmt.Errorf(`"user_id" of %d bytes, more than %d`, len(a.ID), maxAgentID)
	}
	// Control characters would break log lines and Slack text; invisible
	// format characters (right-to-left overrides, zero-width joiners)
	// would make one ID look like another in answers.
	if i := strings.IndexFunc(a.ID, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }); i >= 0 {
		return fmt.Errorf(`"user_id" %q holds a control character`, a.ID)
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

// maxPages bounds the requests of one roster fetch, so an API that
// serves tiny pages or never settles cannot keep it paging.
const maxPages = 2000

// maxGrowthRounds bounds how often a roster fetch follows a total that
// grew while it paged: agents joining meanwhile are normal, a total that
// grows with every page is an API that never settles.
const maxGrowthRounds = 3

// ListAll pages through every agent matching opts (Limit and Offset are
// ignored). It pages by what the API says it served, never by the size it
// asked for: the first page's agents (or metadata.limit, if smaller) set
// the step, and the rest are fetched concurrently, bounded by the page
// workers. A page that serves fewer than its step is followed up at the
// next offset; a total that grows is followed a few rounds. Agents are
// de-duplicated by ID, since the roster can shift between pages.
//
// An answer that cannot be paged consistently is ErrBadResponse rather
// than a silently short roster: an empty page below the total, an offset
// other than the one asked for, a later page that repeats the first, a
// total that keeps growing, or more requests than maxPages.
func (c *Client) ListAll(ctx context.Context, opts ListOptions) (*Roster, error) {
	opts.Limit, opts.Offset = MaxPageSize, 0
	first, err := c.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Checked before any arithmetic, which a huge total would overflow.
	if first.Total > maxPages*MaxPageSize {
		return nil, badPaging("total of %d agents is more than this bot pages through", first.Total)
	}
	if first.Offset != 0 {
		return nil, badPaging("asked for offset 0, the API served offset %d", first.Offset)
	}
	served := len(first.Agents)
	if served >= first.Total {
		return &Roster{Agents: dedupe([][]Agent{first.Agents}), Summary: first.Summary}, nil
	}
	if served == 0 {
		return nil, badPaging("the first page is empty, yet the total is %d", first.Total)
	}
	step := served
	if first.Limit > 0 && first.Limit < step {
		step = first.Limit // a smaller stated page size only costs duplicates
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &pager{c: c, ctx: ctx, cancel: cancel, opts: opts, first: first.Agents,
		workers: c.pageWorkers, requests: 1, maxTotal: first.Total,
		pages: map[int][]Agent{0: first.Agents}}
	p.mu.Lock()
	for planned, round := served, 0; p.err == nil && planned < p.maxTotal; round++ {
		target := p.maxTotal
		switch {
		case round > maxGrowthRounds:
			p.fail(badPaging("the total kept growing while paging: %d, then %d", first.Total, target))
		case target > maxPages*MaxPageSize:
			p.fail(badPaging("total of %d agents is more than this bot pages through", target))
		case p.requests+(target-planned+step-1)/step > maxPages:
			p.fail(badPaging("%d agents at %d a page take more than %d requests", target, step, maxPages))
		}
		for s := planned; p.err == nil && s < target; s += step {
			p.fetch(s, min(s+step, target))
		}
		planned = target
		p.mu.Unlock()
		p.wg.Wait()
		p.mu.Lock()
	}
	err = p.err
	p.mu.Unlock()
	p.wg.Wait() // a failed round may have left fetches to wind down
	if err != nil {
		return nil, err
	}
	offsets := slices.Sorted(maps.Keys(p.pages))
	pages := make([][]Agent, len(offsets))
	for i, off := range offsets {
		pages[i] = p.pages[off]
	}
	return &Roster{Agents: dedupe(pages), Summary: first.Summary}, nil
}

func badPaging(format string, args ...any) error {
	return &APIError{Op: "list presence", Kind: ErrBadResponse, Cause: fmt.Errorf(format, args...)}
}

// pager is one ListAll's fetches after the first page. Pages are fetched
// in the order they were planned by at most workers goroutines, so the
// first pages go first and a failure stops what has not started yet.
type pager struct {
	c       *Client
	ctx     context.Context
	cancel  context.CancelFunc
	opts    ListOptions
	first   []Agent
	workers int
	wg      sync.WaitGroup

	mu       sync.Mutex
	err      error // the first failure; nothing starts after it
	requests int   // made or started, the first page included
	maxTotal int
	pages    map[int][]Agent // by the offset they were served from
	queue    []pageSpan      // planned, not started, in order
	running  int             // workers
}

// pageSpan is a page to fetch from start, which should cover the agents
// up to end.
type pageSpan struct{ start, end int }

// fail records the first failure and stops the fetches in flight. p.mu
// is held.
func (p *pager) fail(err error) {
	if p.err == nil {
		p.err = err
		p.cancel()
	}
}

// fetch plans the page at offset start, which should cover the agents up
// to end, and starts a worker when fewer than allowed are running. p.mu is
// held.
func (p *pager) fetch(start, end int) {
	if p.err != nil {
		return
	}
	if p.requests >= maxPages {
		p.fail(badPaging("the roster takes more than %d requests", maxPages))
		return
	}
	p.requests++
	p.queue = append(p.queue, pageSpan{start, end})
	if p.running < p.workers {
		p.running++
		p.wg.Add(1)
		go p.work()
	}
}

// work fetches planned pages, first planned first, until none is left or
// one failed.
func (p *pager) work() {
	defer p.wg.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() { p.running-- }()
	for len(p.queue) > 0 && p.err == nil {
		if err := p.ctx.Err(); err != nil {
			// The caller gave up: a skipped page must not pass for a
			// short roster.
			p.fail(&APIError{Op: "list presence", Kind: ErrUnavailable, Cause: err})
			return
		}
		span := p.queue[0]
		p.queue = p.queue[1:]
		o := p.opts
		o.Offset = span.start
		p.mu.Unlock()
		page, err := p.c.List(p.ctx, o)
		p.mu.Lock()
		p.take(span, page, err)
	}
}

// take records one page's answer. p.mu is held.
func (p *pager) take(span pageSpan, page *Page, err error) {
	start, end := span.start, span.end
	switch {
	case err != nil:
		p.fail(err)
		return
	case page.Offset != start:
		p.fail(badPaging("asked for offset %d, the API served offset %d", start, page.Offset))
		return
	case len(page.Agents) == 0:
		// Past the end is fine (the roster shrank); below it, the API
		// contradicts itself and paging on would never end.
		if start < page.Total {
			p.fail(badPaging("the page at offset %d is empty, yet the total is %d", start, page.Total))
		}
		return
	case slices.EqualFunc(page.Agents, p.first, func(a, b Agent) bool { return a.ID == b.ID }):
		p.fail(badPaging("the page at offset %d repeats the first page: the API ignores offset", start))
		return
	}
	p.maxTotal = max(p.maxTotal, page.Total)
	p.pages[start] = page.Agents
	if next := start + len(page.Agents); next < min(end, page.Total) {
		p.fetch(next, end) // served fewer than the step: fetch the rest
	}
}

// dedupe joins pages in order, keeping each agent ID's first appearance.
func dedupe(pages [][]Agent) []Agent {
	// Sized by what arrived, not by what the API claimed.
	n := 0
	for _, page := range pages {
		n += len(page)
	}
	seen := make(map[string]struct{}, n)
	agents := make([]Agent, 0, n)
	for _, page := range pages {
		for _, a := range page {
			if _, dup := seen[a.ID]; dup {
				continue
			}
			seen[a.ID] = struct{}{}
			agents = append(agents, a)
		}
	}
	return agents
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
	case errors.Is(err, ErrBudgetExhausted):
		// A retry that waited too long for the budget follows an attempt
		// that may have landed.
		return ae.Attempts > 0
	}
	return false
}

// restyLogger routes resty's own messages to slog, all at debug: resty
// warns of every failed attempt and errors at the end of every failed
// call, which the client's error, the retry records (logRetries) and the
// metrics already say in a structured way. Its preformatted text becomes
// one attribute, with any URL's userinfo and query taken out.
type restyLogger struct{ l *slog.Logger }

func (r restyLogger) Errorf(format string, v ...any) { r.log("error", format, v) }
func (r restyLogger) Warnf(format string, v ...any)  { r.log("warn", format, v) }
func (r restyLogger) Debugf(format string, v ...any) { r.log("debug", format, v) }

func (r restyLogger) log(level, format string, v []any) {
	args := make([]any, len(v))
	for i, a := range v {
		if e, ok := a.(error); ok {
			a = redact.Error(e)
		}
		args[i] = a
	}
	r.l.Debug("contact center http", "resty_level", level, "detail", fmt.Sprintf(format, args...))
}

// retryNote carries what resty's retry hook saw of a failed attempt to
// the wait function that logs the retry: resty hands that function the
// response but not the error.
type retryNote struct {
	op       string
	endpoint string       // "list", "get" or "update": the budget counts by it
	sent     atomic.Int32 // attempts that got through the budget
	err      error
}

type retryNoteKey struct{}

// noteRetry is resty's retry hook. It runs after each failed attempt
// that may be retried, on the request's goroutine, just before the wait
// is chosen.
func noteRetry(resp *resty.Response, err error) {
	if resp == nil || resp.Request == nil {
		return
	}
	if n, ok := resp.Request.Context().Value(retryNoteKey{}).(*retryNote); ok {
		n.err = err
	}
}

// logRetries wraps the wait function. Resty asks for a wait exactly once
// per retry (not after the last attempt), so this logs one structured
// debug record per retry: a retry is routine, and the call's outcome is
// reported by its error and the metrics.
func logRetries(log *slog.Logger, wait resty.RetryAfterFunc) resty.RetryAfterFunc {
	return func(c *resty.Client, r *resty.Response) (time.Duration, error) {
		d, err := wait(c, r)
		if err != nil {
			return d, err // no retry follows
		}
		attrs := []any{"attempt", r.Request.Attempt, "status", r.StatusCode(), "wait", d, "url", redact.URL(r.Request.URL)}
		if n, ok := r.Request.Context().Value(retryNoteKey{}).(*retryNote); ok {
			attrs = append(attrs, "op", n.op)
			if n.err != nil {
				attrs = append(attrs, "err", redact.Error(n.err))
			}
		}
		log.Debug("contact center retry", attrs...)
		return d, nil
	}
}
