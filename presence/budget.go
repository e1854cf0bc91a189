package presence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// The API budget: every HTTP attempt the client makes, retries included,
// first takes a token from a bucket of EXOTEL_RATE_LIMIT (with REDIS_URL,
// one bucket in Redis for every replica). Status changes go before roster
// reads, and a 429's Retry-After holds every request.

// Priority orders requests waiting for the API budget.
type Priority int

const (
	// Read is the default: rosters, one agent's view, probes.
	Read Priority = iota
	// Write is a status change: the PUT, and the GET that checks it.
	Write
)

func (p Priority) String() string {
	if p == Write {
		return "write"
	}
	return "read"
}

// priorityKey carries a *priorityValue.
type priorityKey struct{}

// priorityValue is a request's priority and its place in the queue: all
// the requests of one status change share a ticket, so its PUT keeps the
// place its GET had instead of queueing again behind later changes.
type priorityValue struct {
	p      Priority
	ticket *ticket
}

// ticket is guarded by the Budget's mu.
type ticket struct {
	since time.Time // the first time a request of the change waited
}

// WithPriority marks the requests made with ctx as p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, &priorityValue{p: p, ticket: &ticket{}})
}

// PriorityOf is the priority of the requests made with ctx (Read unless
// marked).
func PriorityOf(ctx context.Context) Priority {
	if v, ok := ctx.Value(priorityKey{}).(*priorityValue); ok {
		return v.p
	}
	return Read
}

type noticeKey struct{}

type queueNotice struct {
	once sync.Once
	f    func(position int)
}

// WithQueueNotice has f called once, with the request's position among
// the waiting requests of its priority (1: next), when the requests made
// with ctx have waited for the budget longer than its notice delay. f
// runs on the waiting goroutine, which goes on waiting afterwards, so
// anything f sends is sent before the request's own answer.
func WithQueueNotice(ctx context.Context, f func(position int)) context.Context {
	return context.WithValue(ctx, noticeKey{}, &queueNotice{f: f})
}

// ErrBudgetExhausted is wrapped (inside an *APIError of kind
// ErrRateLimited) by a request that could not get through the budget: it
// waited its limit, or its caller's deadline, and was never sent.
var ErrBudgetExhausted = errors.New("the contact center's API budget is exhausted")

// budgetWaitError is a wait for the budget that ended without a token. It
// is never retried.
type budgetWaitError struct{ err error }

func (e *budgetWaitError) Error() string { return "waiting for the API budget: " + e.err.Error() }
func (e *budgetWaitError) Unwrap() error { return e.err }

// Budget modes, as /readyz and check show them.
const (
	BudgetShared = "shared" // one bucket in Redis for every replica
	BudgetLocal  = "local"  // this process's own bucket
	BudgetOff    = "off"    // EXOTEL_RATE_LIMIT=0: requests are only counted
)

// Defaults for BudgetOptions.
const (
	// DefaultNoticeDelay is how long a status change waits before it
	// says it is queued: longer than a normal answer takes.
	DefaultNoticeDelay = 2 * time.Second
	// DefaultMaxWait bounds one wait for the budget. A status change
	// waits on its own bound, not its command's deadline: a shift-start
	// burst of 2,000 changes at 10 requests a second takes 400 s, and
	// every one must still be made and answered, through a response_url
	// that lives 30 minutes. 20 minutes leaves the answer 10 of them.
	DefaultMaxWait = 20 * time.Minute
	// DefaultReplicas is the share a replica keeps to when the shared
	// bucket is unreachable before it ever counted the replicas:
	// deploy/ runs three.
	DefaultReplicas = 3
	// DefaultPause is the pause after a 429 that names no Retry-After.
	DefaultPause = time.Second
	// sharedTimeout bounds a call to the shared bucket; its client has a
	// tighter bound of its own (REDIS_TIMEOUT).
	sharedTimeout = 2 * time.Second
)

// BucketLimit is a token bucket's settings: Rate tokens a second, at most
// Burst at once; a read leaves Reserve tokens in the bucket for writes.
type BucketLimit struct {
	Rate    float64
	Burst   int
	Reserve int
}

// SharedTake is the shared bucket's answer to a take.
type SharedTake struct {
	OK bool
	// Wait is how long to wait before asking again, when not OK.
	Wait time.Duration
	// Tokens is what the bucket holds after the take.
	Tokens float64
	// Paused is how much longer a 429's pause holds every replica.
	Paused time.Duration
	// Replicas is how many replicas have been heard from lately.
	Replicas int
}

// SharedBucket is a token bucket every replica takes from
// (redisstate.Budget).
type SharedBucket interface {
	// Take takes one token, leaving at least l.Reserve in the bucket, or
	// says how long to wait first.
	Take(ctx context.Context, l BucketLimit) (SharedTake, error)
	// Pause holds every replica's requests for d.
	Pause(ctx context.Context, d time.Duration) error
	// Replicas is the number of replicas last counted, 0 when unknown.
	Replicas() int
}

// BudgetOptions configure a Budget.
type BudgetOptions struct {
	// Rate is the requests per second the whole fleet may send; 0 or
	// less turns the budget off (requests are still counted).
	Rate float64
	// Burst is how many may go at once; at least 1.
	Burst int
	// Shared is the bucket the replicas share; nil keeps the budget in
	// this process.
	Shared SharedBucket
	// Clock is what waits are measured on; default the real clock.
	Clock clockwork.Clock
	// NoticeDelay is the wait after which WithQueueNotice's callback is
	// called; default DefaultNoticeDelay.
	NoticeDelay time.Duration
	// MaxWait bounds one wait; default DefaultMaxWait.
	MaxWait time.Duration
	// OnGrant hears every request let through (one per HTTP attempt).
	OnGrant func(BudgetGrant)
	Logger  *slog.Logger
}

// BudgetGrant is one request let through.
type BudgetGrant struct {
	Kind     string // "list", "get" or "update"
	Priority Priority
	Waited   time.Duration
}

// BudgetState is the budget as /readyz, the metrics and check show it.
type BudgetState struct {
	Mode  string  // BudgetShared, BudgetLocal or BudgetOff
	Rate  float64 // the fleet's requests per second
	Burst int
	// Tokens is what is left, as well as this replica knows (NaN when
	// off or not yet known).
	Tokens float64
	// PausedUntil is when a 429's pause ends; zero or past when none.
	PausedUntil   time.Time
	WaitingWrites int
	WaitingReads  int
	// Detail says what the replica keeps to when that is not the whole
	// configured budget.
	Detail string
}

// Budget rations the API's requests. Its methods are safe for concurrent
// use. One goroutine hands out tokens, in priority order, while requests
// wait; none runs while nobody waits.
type Budget struct {
	limit       BucketLimit // the fleet's
	off         bool
	shared      SharedBucket
	clock       clockwork.Clock
	noticeDelay time.Duration
	maxWait     time.Duration
	onGrant     func(BudgetGrant)
	log         *slog.Logger

	mu sync.Mutex
	// local is the bucket of this process: the whole budget without a
	// shared one, else a share of it while the shared one is unreachable.
	local      *rate.Limiter
	localLimit BucketLimit
	fallback   bool // the shared bucket is unreachable
	// sharedTokens is the shared bucket's last answer, at sharedAt.
	sharedTokens float64
	sharedAt     time.Time
	pausedUntil  time.Time
	writes       []*waiter // by ticket, so a change's requests keep its place
	reads        []*waiter // first come first served
	// sinceRead counts the grants to writes since the last to a read
	// (see headLocked).
	sinceRead int
	running   bool // the dispatcher runs
	kick      chan struct{}
}

type waiter struct {
	prio    Priority
	since   time.Time
	ready   chan struct{} // closed when granted
	granted bool          // guarded by Budget.mu
}

// NewBudget returns a budget; see BudgetOptions.
func NewBudget(o BudgetOptions) *Budget {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.NoticeDelay <= 0 {
		o.NoticeDelay = DefaultNoticeDelay
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	burst := max(1, o.Burst)
	b := &Budget{
		limit:       BucketLimit{Rate: o.Rate, Burst: burst, Reserve: readReserve(burst)},
		off:         o.Rate <= 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0),
		shared:      o.Shared,
		clock:       o.Clock,
		noticeDelay: o.NoticeDelay,
		maxWait:     o.MaxWait,
		onGrant:     o.OnGrant,
		log:         o.Logger,
		kick:        make(chan struct{}, 1),
	}
	if !b.off {
		b.setLocalLocked(b.limit)
	}
	return b
}

// readReserve is what reads leave in the bucket for writes: a quarter of
// the burst, so a status change finds a token at once while reads keep
// every replica's bucket low, and reads still get the whole rate.
func readReserve(burst int) int { return burst / 4 }

// reserve is what a request of priority p must leave in the bucket.
func (l BucketLimit) reserve(p Priority) int {
	if p == Write {
		return 0
	}
	return l.Reserve
}

// setLocalLocked makes the local bucket l, full. b.mu is held (or b is
// not shared yet).
func (b *Budget) setLocalLocked(l BucketLimit) {
	b.localLimit = l
	b.local = rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
	b.local.AllowN(b.clock.Now(), 0) // starts the refill clock at the budget's time
}

// Wait blocks until a request of ctx's priority may be sent, then counts
// it as kind. It fails when ctx ends first (for a write whose ctx came
// from WithBudgetExemptTimeout, only when its parent does: the wait does
// not count against that deadline), or when the wait passes the budget's
// limit (ErrBudgetExhausted). Errors are never worth retrying.
func (b *Budget) Wait(ctx context.Context, kind string) error {
	pv, _ := ctx.Value(priorityKey{}).(*priorityValue)
	p := Read
	if pv != nil {
		p = pv.p
	}
	if err := ctx.Err(); err != nil {
		return &budgetWaitError{err}
	}
	start := b.clock.Now()
	if b.off {
		b.granted(kind, p, 0)
		return nil
	}
	w := &waiter{prio: p, ready: make(chan struct{})}
	b.mu.Lock()
	w.since = start
	if pv != nil {
		if pv.ticket.since.IsZero() {
			pv.ticket.since = start
		}
		w.since = pv.ticket.since
	}
	b.enqueueLocked(w)
	switch {
	case !b.running:
		b.running = true
		go b.dispatch()
	case p == Write:
		// The dispatcher may be waiting for a read's reserve: a write
		// needs none.
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()

	done := ctx.Done()
	if ex := exemptOf(ctx); ex != nil && (p == Write || ex.reads) {
		// The command's deadline stops while its change waits here; the
		// budget's own limit bounds the wait instead.
		ex.hold()
		defer ex.release()
	}
	limit := b.clock.NewTimer(b.maxWait)
	defer limit.Stop()
	var noticeC <-chan time.Time
	n, _ := ctx.Value(noticeKey{}).(*queueNotice)
	if n != nil {
		nt := b.clock.NewTimer(max(0, b.noticeDelay-start.Sub(w.since)))
		defer nt.Stop()
		noticeC = nt.Chan()
	}
	for {
		select {
		case <-w.ready:
			b.granted(kind, p, b.clock.Since(start))
			return nil
		case <-done:
			b.abandon(w)
			return &budgetWaitError{ctx.Err()}
		case <-limit.Chan():
			b.abandon(w)
			return &budgetWaitError{fmt.Errorf("%w: waited %s", ErrBudgetExhausted, b.maxWait)}
		case <-noticeC:
			noticeC = nil
			if pos := b.position(w); pos > 0 {
				n.once.Do(func() { n.f(pos) })
			}
		}
	}
}

// granted reports one request let through.
func (b *Budget) granted(kind string, p Priority, waited time.Duration) {
	if b.onGrant != nil {
		b.onGrant(BudgetGrant{Kind: kind, Priority: p, Waited: waited})
	}
}

// enqueueLocked queues w: a write after the writes whose change came
// first, a read last.
func (b *Budget) enqueueLocked(w *waiter) {
	if w.prio != Write {
		b.reads = append(b.reads, w)
		return
	}
	i, _ := slices.BinarySearchFunc(b.writes, w.since, func(x *waiter, since time.Time) int {
		if x.since.After(since) {
			return 1
		}
		return -1 // equal: after those already queued
	})
	b.writes = slices.Insert(b.writes, i, w)
}

// Reads' share while writes queue: writes go first, but after
// readShareEvery-1 grants to writes in a row, a read that has waited
// readStarve gets the next token. A burst of changes at the budget's rate
// lasts minutes; without a share, a cold roster read (a fetch the bot
// has never made, so no last snapshot to serve) would wait all of it.
const (
	readShareEvery = 10
	readStarve     = 2 * time.Second
)

// headLocked is the next waiter to serve, and whether it takes its
// token as a write does (a read's share: no reserve is left for writes,
// which are queued anyway): the first write, else the first read, but a
// read that waited long enough once in readShareEvery grants.
func (b *Budget) headLocked() (w *waiter, asWrite bool) {
	if len(b.writes) > 0 {
		if len(b.reads) > 0 && b.sinceRead >= readShareEvery-1 && b.clock.Since(b.reads[0].since) >= readStarve {
			return b.reads[0], true
		}
		return b.writes[0], true
	}
	if len(b.reads) > 0 {
		return b.reads[0], false
	}
	return nil, false
}

func (b *Budget) removeLocked(w *waiter) {
	q := &b.reads
	if w.prio == Write {
		q = &b.writes
	}
	if i := slices.Index(*q, w); i >= 0 {
		*q = slices.Delete(*q, i, i+1)
	}
}

// abandon takes w out of the queue; a token granted meanwhile is lost.
// The dispatcher is woken, so that it stops when nobody waits any more
// rather than sleep out a long pause.
func (b *Budget) abandon(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !w.granted {
		b.removeLocked(w)
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// position is w's place among the waiters of its priority, 1 for the
// next; 0 once it is through.
func (b *Budget) position(w *waiter) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.reads
	if w.prio == Write {
		q = b.writes
	}
	return slices.Index(q, w) + 1
}

// dispatch hands tokens to the waiters, best first, until none waits.
func (b *Budget) dispatch() {
	for {
		b.mu.Lock()
		w, asWrite := b.headLocked()
		if w == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		p := w.prio
		if asWrite {
			p = Write
		}
		b.mu.Unlock()
		wait := b.take(p)
		if wait <= 0 {
			b.mu.Lock()
			// A write may have come meanwhile: the token is the best
			// waiter's now.
			if w, _ := b.headLocked(); w != nil {
				if w.prio == Write {
					b.sinceRead++
				} else {
					b.sinceRead = 0
				}
				b.removeLocked(w)
				w.granted = true
				close(w.ready)
			}
			b.mu.Unlock()
			continue
		}
		t := b.clock.NewTimer(wait)
		select {
		case <-t.Chan():
		case <-b.kick:
			t.Stop()
		}
	}
}

// take takes a token for a request of priority p, or says how long to
// wait before trying again.
func (b *Budget) take(p Priority) time.Duration {
	now := b.clock.Now()
	b.mu.Lock()
	paused := b.pausedUntil.Sub(now)
	b.mu.Unlock()
	if paused > 0 {
		return paused
	}
	if b.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		t, err := b.shared.Take(ctx, BucketLimit{Rate: b.limit.Rate, Burst: b.limit.Burst, Reserve: b.limit.reserve(p)})
		cancel()
		if err == nil {
			b.sharedAnswered(now, t)
			switch {
			case t.Paused > 0:
				return t.Paused
			case t.OK:
				return 0
			}
			return max(t.Wait, time.Microsecond)
		}
		b.sharedFailed(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	need := float64(1 + b.localLimit.reserve(p))
	tokens := b.local.TokensAt(now)
	if tokens >= need && b.local.AllowN(now, 1) {
		return 0
	}
	return max(time.Duration(math.Ceil((need-tokens)/b.localLimit.Rate*float64(time.Second))), time.Microsecond)
}

// sharedAnswered records the shared bucket's answer, and leaves the
// fallback when it was in it.
func (b *Budget) sharedAnswered(now time.Time, t SharedTake) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sharedTokens, b.sharedAt = t.Tokens, now
	if t.Paused > 0 {
		b.pausedUntil = later(b.pausedUntil, now.Add(t.Paused))
	}
	if b.fallback {
		b.fallback = false
		b.log.Info("API budget: the shared bucket answers again; keeping to the fleet's budget with the other replicas")
	}
}

// sharedFailed moves to this replica's share of the budget while the
// shared bucket is unreachable: the rate and burst divided by the
// replicas last counted (DefaultReplicas before any count).
func (b *Budget) sharedFailed(err error) {
	n := b.shared.Replicas()
	if n < 1 {
		n = DefaultReplicas
	}
	share := BucketLimit{Rate: b.limit.Rate / float64(n), Burst: max(1, b.limit.Burst/n)}
	share.Reserve = readReserve(share.Burst)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fallback || share != b.localLimit {
		b.setLocalLocked(share)
	}
	if !b.fallback {
		b.fallback = true
		b.log.Warn("API budget: the shared bucket is unreachable; this replica keeps to its share until it answers",
			"replicas", n, "rate", share.Rate, "burst", share.Burst, "err", err)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Pause holds every request for d, on every replica when the budget is
// shared: the contact center answered 429 with this Retry-After.
func (b *Budget) Pause(d time.Duration) {
	if b.off || d <= 0 {
		return
	}
	now := b.clock.Now()
	b.mu.Lock()
	b.pausedUntil = later(b.pausedUntil, now.Add(d))
	b.mu.Unlock()
	b.log.Warn("API budget: the contact center is rate-limiting the bot (HTTP 429); every request waits", "for", d)
	if b.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := b.shared.Pause(ctx, d); err != nil {
			b.log.Debug("API budget: could not share the pause with the other replicas", "err", err)
		}
	}
}

// UnderPressure reports whether the budget is short now: a 429's pause
// holds, or requests wait for a token. The roster snapshot then lives
// longer (Snapshots' WithPressureSource), so the fleet reads less while
// changes queue.
func (b *Budget) UnderPressure() bool {
	if b.off {
		return false
	}
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pausedUntil.After(now) || len(b.writes) > 0 || len(b.reads) > 0
}

// State is the budget now.
func (b *Budget) State() BudgetState {
	st := BudgetState{Mode: BudgetOff, Rate: b.limit.Rate, Burst: b.limit.Burst, Tokens: math.NaN()}
	if b.off {
		st.Rate, st.Burst = 0, 0
		return st
	}
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	st.WaitingWrites, st.WaitingReads = len(b.writes), len(b.reads)
	if b.pausedUntil.After(now) {
		st.PausedUntil = b.pausedUntil
	}
	switch {
	case b.shared == nil:
		st.Mode = BudgetLocal
		st.Tokens = b.local.TokensAt(now)
	case b.fallback:
		st.Mode = BudgetLocal
		st.Tokens = b.local.TokensAt(now)
		st.Detail = fmt.Sprintf("the shared bucket (Redis) is unreachable: this replica keeps to its share, %s/s, burst %d",
			strconv.FormatFloat(b.localLimit.Rate, 'f', -1, 64), b.localLimit.Burst)
	default:
		st.Mode = BudgetShared
		if !b.sharedAt.IsZero() {
			refill := now.Sub(b.sharedAt).Seconds() * b.limit.Rate
			st.Tokens = min(float64(b.limit.Burst), b.sharedTokens+refill)
		}
	}
	return st
}
