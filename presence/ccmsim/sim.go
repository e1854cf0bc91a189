// Package ccmsim is an in-process contact-center simulator: an http.Handler
// that serves the Agent Presence API as the spec describes it, with a roster
// the caller controls, the system side of calls (on-call and back), an
// "alive" mode in which agents take calls on their own, and fault injection.
//
// The API client's tests, the end-to-end bot tests, the benchmark and the
// local demo all run against it, so it encodes answers with its own wire
// types rather than presence.Agent: the client's decoding is then checked
// against an independent encoding.
package ccmsim

import (
	"crypto/subtle"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// Defaults for the zero Options.
const (
	DefaultAccountSID = "ACsim"
	DefaultToken      = "sim-token"
)

// maxBody bounds a request body; a status change needs a few dozen bytes.
const maxBody = 1 << 20

// Options configures a Sim. The zero value is ready to use.
type Options struct {
	AccountSID string           // default DefaultAccountSID
	Token      string           // default DefaultToken
	Now        func() time.Time // default time.Now; tests inject a fake clock
	Seed       int64            // seeds alive mode and generated call SIDs

	// PutAnswer is the shape of a successful status change's answer. The
	// zero value, PutNoContent, is deliberately not the kindest: the spec
	// documents no PUT answer body, so a client must not count on one.
	PutAnswer PutAnswer
	// PageCap, when > 0, serves at most this many agents per page whatever
	// limit asks, and reports the size it used in metadata.limit, as real
	// APIs that cap below the asked size do.
	PageCap int
	// IgnoreLimit serves the default page of 20 (or PageCap, if smaller)
	// whatever limit says, without checking it, as an API that does not
	// know the parameter would.
	IgnoreLimit bool
	// ReportAskedLimit echoes the asked limit in metadata.limit even when
	// fewer were served: then only the agents in the page tell the truth.
	ReportAskedLimit bool
	// Day, when set, makes Step play a floor's working day instead of
	// alive mode's chances: see Day.
	Day *Day
}

// PutAnswer is how the simulator answers a status change that succeeded.
type PutAnswer int

// The PUT answer shapes seen from real services. Failures always carry the
// error envelope.
const (
	PutNoContent   PutAnswer = iota // 204 No Content: the default
	PutEmpty                        // 200 with an empty body
	PutEmptyObject                  // 200 with {}
	PutStatusOK                     // 200 with {"status":"ok"}
	PutEnvelope                     // 200 with the spec's envelope around the updated agent
)

// Sim is the simulated contact center. It is an http.Handler and safe for
// concurrent use.
type Sim struct {
	sid   string
	token string // guarded by ctl: SetToken changes it while serving
	now   func() time.Time

	// mu guards the roster and rng. Lists and single reads take the read
	// lock, so concurrent GETs do not queue behind each other.
	mu sync.RWMutex
	// agents is kept sorted by ID so a page is a walk from the start, never
	// a sort; byID points into the same records.
	agents []*presence.Agent
	byID   map[string]*presence.Agent
	rng    *rand.Rand

	// ctl guards the fault queue and latency, apart from the roster so a
	// test flipping faults never waits on a long list.
	ctl     sync.Mutex
	faults  []*Fault
	latency time.Duration

	// How the list and status-change endpoints bend the spec, as a real
	// service may; see Options.
	putAnswer        PutAnswer
	pageCap          int
	ignoreLimit      bool
	reportAskedLimit bool

	day *dayState // Day mode, when Options.Day is set; guarded by mu

	requests atomic.Uint64 // numbers request IDs
	stats    counters
}

// New returns a simulator with an empty roster.
func New(opts Options) *Sim {
	if opts.AccountSID == "" {
		opts.AccountSID = DefaultAccountSID
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now
	var day *dayState
	if opts.Day != nil {
		day = newDayState(*opts.Day, opts.Seed)
	}
	return &Sim{
		day:   day,
		sid:   opts.AccountSID,
		token: opts.Token,
		// Times are kept as the wire carries them, UTC to the millisecond,
		// so what Agent returns equals what a client decodes.
		now:  func() time.Time { return wireTime(now()) },
		byID: make(map[string]*presence.Agent),
		rng:  newRand(opts.Seed),

		putAnswer:        opts.PutAnswer,
		pageCap:          opts.PageCap,
		ignoreLimit:      opts.IgnoreLimit,
		reportAskedLimit: opts.ReportAskedLimit,
	}
}

// newRand returns a deterministic generator for seed.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed_cc51))
}

// AccountSID is the account the simulator answers for.
func (s *Sim) AccountSID() string { return s.sid }

// Token is the bearer token the simulator accepts.
func (s *Sim) Token() string {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return s.token
}

// SetToken changes the bearer token the simulator accepts, as an operator
// issuing or revoking a token would: tests use it to see a refused bot
// recover without a restart.
func (s *Sim) SetToken(tok string) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.token = tok
}

// endpoint is the API operation a request names by path and method.
type endpoint int

const (
	endpointNone endpoint = iota
	endpointList
	endpointGet
	endpointPut
)

// route is a parsed request path.
type route struct {
	endpoint endpoint
	// allow is set when the path names an endpoint but the method does
	// not fit it, for a 405 with an Allow header.
	allow  string
	sid    string
	userID string
}

// parseRoute matches the two paths of the API:
//
//	/v2/accounts/{sid}/agents/presence
//	/v2/accounts/{sid}/agents/{user_id}/presence
func parseRoute(r *http.Request) route {
	segs := strings.Split(r.URL.EscapedPath(), "/")
	var rt route
	switch {
	case len(segs) == 6 && segs[0] == "" && segs[1] == "v2" && segs[2] == "accounts" &&
		segs[4] == "agents" && segs[5] == "presence":
		if r.Method != http.MethodGet {
			rt.allow = http.MethodGet
			break
		}
		rt.endpoint = endpointList
	case len(segs) == 7 && segs[0] == "" && segs[1] == "v2" && segs[2] == "accounts" &&
		segs[4] == "agents" && segs[6] == "presence":
		id, err := url.PathUnescape(segs[5])
		if err != nil || id == "" {
			return route{}
		}
		rt.userID = id
		switch r.Method {
		case http.MethodGet:
			rt.endpoint = endpointGet
		case http.MethodPut:
			rt.endpoint = endpointPut
		default:
			rt.allow = "GET, PUT"
		}
	default:
		return route{}
	}
	sid, err := url.PathUnescape(segs[3])
	if err != nil {
		return route{}
	}
	rt.sid = sid
	return rt
}

// ServeHTTP answers one API request: count it, wait out the latency, then
// either answer an injected fault or the endpoint's own answer.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := parseRoute(r)
	s.stats.count(rt.endpoint)
	// Read the body before waiting: net/http only notices a client that
	// hangs up once the body has been read, and the wait must end then.
	var body []byte
	var bodyErr error
	if r.Body != nil { // only hand-built requests lack one
		body, bodyErr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	}
	if !s.wait(r) {
		return // the client gave up; nobody reads an answer
	}
	f, faulted := s.takeFault(r.Method)
	if faulted && !f.ApplyFirst {
		s.writeFault(w, r, f)
		return
	}
	rep := s.handle(r, rt, body, bodyErr)
	if faulted {
		// ApplyFirst: the change above happened, yet the client sees a
		// failure, as when a gateway times out after the backend acted.
		s.writeFault(w, r, f)
		return
	}
	s.write(w, r, rep)
}

// handle checks auth and the account, then runs the endpoint.
func (s *Sim) handle(r *http.Request, rt route, body []byte, bodyErr error) reply {
	if !s.authorized(r) {
		rep := failure(http.StatusUnauthorized, "missing or invalid bearer token")
		rep.header = http.Header{"Www-Authenticate": {"Bearer"}}
		return rep
	}
	if rt.endpoint == endpointNone && rt.allow == "" {
		return failure(http.StatusNotFound, "no such endpoint")
	}
	if rt.sid != s.sid {
		return failure(http.StatusNotFound, "account not found")
	}
	switch rt.endpoint {
	case endpointList:
		return s.list(r)
	case endpointGet:
		return s.get(rt.userID)
	case endpointPut:
		return s.put(rt.userID, body, bodyErr)
	}
	rep := failure(http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
	rep.header = http.Header{"Allow": {rt.allow}}
	return rep
}

// authorized reports whether r carries the simulator's bearer token. The
// scheme is case-insensitive, as RFC 7235 says.
func (s *Sim) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(s.Token())) == 1
}
