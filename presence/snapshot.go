package presence

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Snapshot is the whole roster at one moment, plus the changes the bot
// itself made since. It is immutable: readers share it freely.
type Snapshot struct {
	// FetchedAt is when the fetch began, so the data is at least this fresh.
	FetchedAt time.Time
	Summary   Summary

	agents    []Agent
	index     map[string]int
	overrides map[string]Agent // changes made through the bot since the fetch
	ttl       time.Duration    // the configured TTL, for Stale
	// version is the fleet's claim it was fetched under (see
	// SharedStore); 0 when this replica fetched it alone.
	version int64
	// laid is the sequence of the newest change from the store laid on
	// it, so each is laid once.
	laid int64
}

// Len is the number of agents.
func (s *Snapshot) Len() int { return len(s.agents) }

// All yields every agent, with the bot's own later changes applied.
func (s *Snapshot) All() iter.Seq[Agent] {
	return func(yield func(Agent) bool) {
		for _, a := range s.agents {
			if o, ok := s.overrides[a.ID]; ok {
				a = o
			}
			if !yield(a) {
				return
			}
		}
	}
}

// Agent looks one agent up by ID.
func (s *Snapshot) Agent(id string) (Agent, bool) {
	if o, ok := s.overrides[id]; ok {
		return o, true
	}
	i, ok := s.index[id]
	if !ok {
		return Agent{}, false
	}
	return s.agents[i], true
}

// Age is how old the data is at now.
func (s *Snapshot) Age(now time.Time) time.Duration { return now.Sub(s.FetchedAt) }

// Stale reports whether the snapshot is older at now than the configured
// TTL: Snapshots serve one so only while the contact center's API budget
// is under pressure, and answers then say how old it is. Under a second is
// never stale: to a person that is now, whatever the TTL.
func (s *Snapshot) Stale(now time.Time) bool {
	age := s.Age(now)
	return age > s.ttl && age >= time.Second
}

func newSnapshot(r *Roster, fetchedAt time.Time, ttl time.Duration, version int64) *Snapshot {
	idx := make(map[string]int, len(r.Agents))
	for i, a := range r.Agents {
		idx[a.ID] = i
	}
	return &Snapshot{FetchedAt: fetchedAt, Summary: r.Summary, agents: r.Agents, index: idx, ttl: ttl, version: version}
}

// withOverride returns a copy of s in which a replaces the agent of the
// same ID and the counts move with it. Only the small overrides map is
// copied; the roster is shared.
func (s *Snapshot) withOverride(a Agent) *Snapshot { return s.withOverrides([]Agent{a}) }

// withOverrides is withOverride for several agents, in order, copying the
// overrides map once.
func (s *Snapshot) withOverrides(agents []Agent) *Snapshot {
	var n *Snapshot
	for _, a := range agents {
		old, ok := s.Agent(a.ID)
		if n != nil {
			old, ok = n.Agent(a.ID)
		}
		if !ok {
			continue // not in this roster (filtered out or new): nothing to show
		}
		if n == nil {
			c := *s
			c.overrides = make(map[string]Agent, len(s.overrides)+len(agents))
			for k, v := range s.overrides {
				c.overrides[k] = v
			}
			n = &c
		}
		n.overrides[a.ID] = a
		n.Summary = moveCount(n.Summary, old.Status, a.Status)
	}
	if n == nil {
		return s
	}
	return n
}

func moveCount(s Summary, from, to Status) Summary {
	if from == to {
		return s
	}
	s.Total--
	switch from {
	case Available:
		s.Available--
	case OnCall:
		s.OnCall--
	case Busy:
		s.Busy--
	case AfterCallWork:
		s.AfterCallWork--
	case Offline:
		s.Offline--
	}
	s.Add(to)
	return s
}

// RosterSource fetches the whole roster.
type RosterSource interface {
	ListAll(ctx context.Context, opts ListOptions) (*Roster, error)
}

// Reader is what the snapshot's readers take: the commands, the alert
// poll, the summary, the after-call poll and whatever else reads the
// roster (history), so that they all share one fetch.
type Reader interface {
	// Get returns a current snapshot, fetching one when needed.
	Get(ctx context.Context) (*Snapshot, error)
	// Fresh returns a current snapshot only if one is at hand (here or,
	// with a shared store, from another replica), never fetching.
	Fresh(ctx context.Context) (*Snapshot, bool)
	// LastKnown returns the last good snapshot, however old, or nil.
	LastKnown() *Snapshot
}

// Refresh sources, as observers are told.
const (
	SourceAPI   = "api"   // this replica fetched it
	SourceStore = "redis" // another replica fetched it, through the SharedStore
)

// DefaultStretchedTTL is how long a snapshot may live while the API
// budget is under pressure, unless WithStretchedTTL says otherwise (and
// never less than the TTL itself).
const DefaultStretchedTTL = 15 * time.Second

// Bounds of a refresh: the fetch itself; the fleet's claim on it, renewed
// while the fetch goes on, so a slow fetch is not doubled while a dead
// refresher holds the others up for one lease at most; and how often a
// replica waiting on another's fetch looks for its result.
const (
	fetchTimeout = 8 * time.Second
	claimLease   = 3 * time.Second
	claimRenew   = time.Second
	waitFirst    = 2 * time.Millisecond
	waitMost     = 20 * time.Millisecond
)

// Snapshots shares one roster between every reader for a short TTL, so a
// burst of /presence costs one roster fetch, not one each. Concurrent
// refreshes are coalesced.
//
// With a SharedStore (WithSharedStore) the whole fleet shares it: a
// replica that needs a refresh first looks in the store; when what is
// there is too old, one replica claims the refresh and fetches while the
// others wait for what it stores (or for its failure, which they report
// as their own rather than fetch again). Each replica keeps what it read
// for the TTL, and on every read checks the store's stamp, a few bytes,
// so changes the bot made on another replica show at once. When the store
// cannot be reached, each replica fetches for itself as a lone bot does.
//
// Under pressure (SetPressure, or a refresh refused with 429) the TTL
// stretches, so the fleet fetches less often; what is served then says it
// is older than the TTL (Snapshot.Stale), and is never served past the
// stretched TTL.
type Snapshots struct {
	src     RosterSource
	ttl     time.Duration
	stretch time.Duration
	now     func() time.Time
	shared  SharedStore
	log     *slog.Logger
	observe func(source string, s *Snapshot)

	group    singleflight.Group
	pressure atomic.Bool
	// pressureFn is asked too, when set: the API budget's UnderPressure.
	pressureFn func() bool
	// lease and renew time the fleet's claim (claimLease, claimRenew).
	lease, renew time.Duration
	// fetchTimeout bounds a fetch, its waits for the budget aside.
	fetchTimeout time.Duration

	mu      sync.Mutex
	current *Snapshot // nil when expired or after a failed refresh
	last    *Snapshot // the last good one, shown marked with its age on failures
	// changes are the bot's own updates with when they were made, so a
	// fetch that began before an update cannot bring the old status back.
	changes map[string]change
	// limitedUntil is when the pressure of a refresh refused with 429
	// ends.
	limitedUntil time.Time
	// seenGen and seenFail are the store's Gen and FailSeq this replica
	// last took in.
	seenGen, seenFail int64

	onRefresh func(*Snapshot)
}

type change struct {
	agent Agent
	at    time.Time
}

// SnapshotOption configures Snapshots.
type SnapshotOption func(*Snapshots)

// WithSharedStore shares the snapshot with the other replicas through s.
func WithSharedStore(s SharedStore) SnapshotOption { return func(c *Snapshots) { c.shared = s } }

// WithStretchedTTL sets how long a snapshot lives while the API budget is
// under pressure (DefaultStretchedTTL otherwise).
func WithStretchedTTL(d time.Duration) SnapshotOption { return func(c *Snapshots) { c.stretch = d } }

// WithPressureSource makes the TTL stretch while f reports pressure (the
// API budget's UnderPressure): read on every use, so the TTL comes back
// as soon as the pressure ends. f must be cheap and must not call back
// into the snapshots.
func WithPressureSource(f func() bool) SnapshotOption {
	return func(c *Snapshots) { c.pressureFn = f }
}

// WithFetchTimeout bounds a roster fetch's time at the contact center
// (default 8 s); its waits for the API budget do not count.
func WithFetchTimeout(d time.Duration) SnapshotOption {
	return func(c *Snapshots) {
		if d > 0 {
			c.fetchTimeout = d
		}
	}
}

// WithSnapshotLogger sets where trouble with the shared store is logged.
func WithSnapshotLogger(l *slog.Logger) SnapshotOption { return func(c *Snapshots) { c.log = l } }

// WithRefreshObserver calls f with every snapshot this replica takes in,
// fetched itself (SourceAPI) or read from the store (SourceStore), for
// metrics. It must return quickly.
func WithRefreshObserver(f func(source string, s *Snapshot)) SnapshotOption {
	return func(c *Snapshots) { c.observe = f }
}

// NewSnapshots returns a cache over src. A ttl of 0 fetches every time
// (still coalescing concurrent readers).
func NewSnapshots(src RosterSource, ttl time.Duration, now func() time.Time, opts ...SnapshotOption) *Snapshots {
	if now == nil {
		now = time.Now
	}
	c := &Snapshots{src: src, ttl: ttl, stretch: DefaultStretchedTTL, now: now, changes: map[string]change{},
		log: slog.New(slog.DiscardHandler), lease: claimLease, renew: claimRenew, fetchTimeout: fetchTimeout}
	for _, o := range opts {
		o(c)
	}
	c.stretch = max(c.stretch, c.ttl)
	return c
}

// OnRefresh calls f with every snapshot taken in (fetched, or read from
// the shared store); metrics read the counts from it. Set it before the
// first Get.
func (c *Snapshots) OnRefresh(f func(*Snapshot)) { c.onRefresh = f }

// SetPressure says whether the contact center's API budget is under
// pressure (the rate limiter calls it): while it is, snapshots live for
// the stretched TTL. Safe to call from any goroutine, as often as wanted.
func (c *Snapshots) SetPressure(on bool) { c.pressure.Store(on) }

// Pressured reports whether the TTL is stretched now: SetPressure's, or a
// refresh refused with 429 not long ago.
func (c *Snapshots) Pressured() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ttlAt(c.now()) > c.ttl
}

// ttlAt is the TTL in force at now. c.mu is held.
func (c *Snapshots) ttlAt(now time.Time) time.Duration {
	if c.pressure.Load() || now.Before(c.limitedUntil) || (c.pressureFn != nil && c.pressureFn()) {
		return c.stretch
	}
	return c.ttl
}

// usable reports whether s may be served as current at now. c.mu is held.
func (c *Snapshots) usable(s *Snapshot, now time.Time) bool {
	return s != nil && now.Sub(s.FetchedAt) < c.ttlAt(now)
}

// currentUsable returns the current snapshot if it may be served.
func (c *Snapshots) currentUsable() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.usable(c.current, c.now()) {
		return c.current
	}
	return nil
}

// Get returns a snapshot no older than the TTL (the stretched one under
// pressure), fetching one if needed.
func (c *Snapshots) Get(ctx context.Context) (*Snapshot, error) {
	if s := c.currentUsable(); s != nil {
		if c.shared == nil {
			return s, nil
		}
		// Another replica may have changed an agent, or dropped the
		// snapshot after a failed refresh.
		if s = c.follow(ctx); s != nil {
			return s, nil
		}
	}
	// The fetch runs detached from any one caller, so one impatient reader
	// cannot fail the others it is shared with; each still stops waiting
	// at its own deadline.
	ch := c.group.DoChan("roster", func() (any, error) {
		return c.refresh(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Snapshot), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Fresh returns a snapshot current enough to serve without a fetch: this
// replica's, or with a shared store one another replica stored. It never
// asks the contact center.
func (c *Snapshots) Fresh(ctx context.Context) (*Snapshot, bool) {
	if c.shared != nil {
		s := c.follow(ctx)
		return s, s != nil
	}
	s := c.currentUsable()
	return s, s != nil
}

// follow takes in what changed in the shared store (one stamp read,
// shared by the readers of the moment) and returns the current snapshot
// if it may still be served.
func (c *Snapshots) follow(ctx context.Context) *Snapshot {
	ch := c.group.DoChan("stamp", func() (any, error) {
		c.sync(context.WithoutCancel(ctx)) // the store bounds each call by its own timeout
		return nil, nil
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
	return c.currentUsable()
}

// sync brings this replica up to what the store holds: a newer snapshot,
// changes the bot made on other replicas, a failed refresh. It returns
// the stamp read, and false when the store could not be read.
func (c *Snapshots) sync(ctx context.Context) (SharedStamp, bool) {
	st, err := c.shared.Stamp(ctx)
	if err != nil {
		c.log.Debug("shared roster unreadable; this replica fetches its own", "err", err)
		return st, false
	}
	c.mu.Lock()
	same, known := st.Gen == c.seenGen, c.knownVersion()
	c.mu.Unlock()
	if same {
		return st, true
	}
	state, err := c.shared.Load(ctx, st.Version > known)
	if err == nil && state.Data == nil && state.Version > known {
		// Another replica stored a roster between the stamp and the
		// load: read it too, or this replica would count it seen and
		// fetch it again.
		state, err = c.shared.Load(ctx, true)
	}
	if err != nil {
		c.log.Debug("shared roster unreadable; this replica fetches its own", "err", err)
		return st, false
	}
	c.adopt(state)
	return state.SharedStamp, true
}

// knownVersion is the newest shared version this replica holds. c.mu is
// held.
func (c *Snapshots) knownVersion() int64 {
	var v int64
	for _, s := range []*Snapshot{c.current, c.last} {
		if s != nil {
			v = max(v, s.version)
		}
	}
	return v
}

// adopt takes in what the store holds.
func (c *Snapshots) adopt(st SharedState) {
	var loaded *Snapshot
	if st.Data != nil {
		at, sum, agents, err := DecodeRoster(st.Data)
		if err != nil {
			// Another version of the bot, or damage: the next refresh
			// replaces it.
			c.log.Warn("shared roster unreadable; it will be fetched again", "err", err)
		} else {
			loaded = newSnapshot(&Roster{Agents: agents, Summary: sum}, at, c.ttl, st.Version)
		}
	}
	remote := decodeChanges(st.Changes, c.log)

	c.mu.Lock()
	took := false
	if loaded != nil && loaded.version > c.knownVersion() {
		loaded = c.overlay(loaded, remote)
		// Newer than what this replica holds, unless it fetched alone
		// meanwhile (Redis trouble) and that is newer still.
		if c.last == nil || !loaded.FetchedAt.Before(c.last.FetchedAt) {
			c.last, took = loaded, true
		}
		// A failed refresh after this fetch dropped it, unless that was
		// a 429, which stretches instead (below).
		dropped := st.FailSeq > loaded.version && !pressing(parseFailure(st.Failure).err())
		if !dropped && (c.current == nil || !loaded.FetchedAt.Before(c.current.FetchedAt)) {
			c.current, took = loaded, true
		}
	} else {
		c.current = layRemote(c.current, remote)
		c.last = layRemote(c.last, remote)
	}
	if st.FailSeq > c.seenFail {
		c.seenFail = st.FailSeq
		f := parseFailure(st.Failure)
		switch {
		case pressing(f.err()):
			c.limitedUntil = laterTime(c.limitedUntil, f.at.Add(max(f.retry, c.stretch)))
		case c.current != nil && c.current.version < st.FailSeq &&
			(c.current.version != 0 || f.at.After(c.current.FetchedAt)):
			// A refresh that began after this snapshot's failed (one
			// fetched alone has no claim to compare: by time). Dropped,
			// as in one process.
			c.current = nil
		}
	}
	c.seenGen = st.Gen
	c.mu.Unlock()
	if took {
		c.took(SourceStore, loaded)
	}
}

// refresh fetches a new snapshot, or with a shared store takes the one
// another replica fetched.
func (c *Snapshots) refresh(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := withFetchTimeout(ctx, c.fetchTimeout)
	defer cancel()
	if c.shared != nil {
		if s, err, done := c.refreshShared(ctx); done {
			return s, err
		}
		// The store is unreachable: fetch alone, as one bot does.
	}
	began := c.now()
	r, err := c.src.ListAll(ctx, ListOptions{})
	return c.install(r, began, err, 0)
}

// refreshShared is refresh through the store. done is false when the
// store failed and the caller should fetch alone.
func (c *Snapshots) refreshShared(ctx context.Context) (_ *Snapshot, _ error, done bool) {
	st, ok := c.sync(ctx)
	if !ok {
		return nil, nil, false
	}
	if s := c.currentUsable(); s != nil {
		return s, nil, true // another replica stored a current one
	}
	token := strconv.FormatUint(rand.Uint64(), 36)
	from, failed := st.Version, st.FailSeq
	wait := waitFirst
	for {
		seq, err := c.shared.Claim(ctx, token, c.lease, from)
		if err != nil {
			if ctx.Err() != nil {
				return nil, refreshUnavailable(ctx.Err()), true
			}
			return nil, nil, false
		}
		if seq > 0 {
			s, err := c.fetchShared(ctx, token, seq)
			return s, err, true
		}
		// Another replica is fetching: wait for what it stores.
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, refreshUnavailable(ctx.Err()), true
		}
		wait = min(2*wait, waitMost)
		st, ok := c.sync(ctx)
		if !ok {
			return nil, nil, false
		}
		switch {
		case st.Version > from:
			// As in one process, a reader joins the fetch in flight,
			// whenever it began.
			c.mu.Lock()
			s := c.last
			c.mu.Unlock()
			if s != nil && s.version >= st.Version {
				return s, nil, true
			}
			from = st.Version // unreadable: claim and fetch it again
		case st.FailSeq > failed:
			if s := c.currentUsable(); s != nil {
				return s, nil, true // a 429 stretched the TTL
			}
			return nil, parseFailure(st.Failure).err(), true
		}
	}
}

// fetchShared fetches under the fleet's claim seq and shares the outcome.
func (c *Snapshots) fetchShared(ctx context.Context, token string, seq int64) (*Snapshot, error) {
	began := c.now()
	stop := c.keepClaim(ctx, token)
	r, err := c.src.ListAll(ctx, ListOptions{})
	stop()
	// Shared even when the caller's time is up: the others wait on it.
	sctx := context.WithoutCancel(ctx)
	if err != nil {
		if serr := c.shared.Fail(sctx, token, seq, encodeFailure(err, c.now())); serr != nil {
			c.log.Debug("failed roster refresh not shared", "err", serr)
		}
		return c.install(nil, began, err, seq)
	}
	snap, _ := c.install(r, began, nil, seq)
	if serr := c.shared.Save(sctx, token, seq, EncodeRoster(began, r.Summary, r.Agents)); serr != nil {
		c.log.Debug("roster not shared", "err", serr)
	}
	return snap, nil
}

// keepClaim renews the claim every c.renew until the returned stop is
// called (it waits for the renewer to end), or the claim is lost.
func (c *Snapshots) keepClaim(ctx context.Context, token string) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(c.renew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if ok, err := c.shared.Renew(ctx, token, c.lease); err != nil || !ok {
				// Lost, or Redis trouble: another replica may fetch too,
				// and the saves keep the newest.
				c.log.Debug("roster refresh claim not renewed", "lost", err == nil, "err", err)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

// install makes a fetched roster current, or drops the current one when
// the fetch failed: stale data is never served as current. A 429 (or the
// fleet's API budget spent) is the exception: it stretches the TTL, and
// the current snapshot is served within that, marked with its age.
func (c *Snapshots) install(r *Roster, began time.Time, err error, version int64) (*Snapshot, error) {
	c.mu.Lock()
	now := c.now()
	if err != nil {
		defer c.mu.Unlock()
		if pressing(err) {
			c.limitedUntil = laterTime(c.limitedUntil, now.Add(max(retryAfterOf(err), c.stretch)))
			if c.usable(c.current, now) {
				return c.current, nil
			}
		}
		c.current = nil
		return nil, err
	}
	snap := c.overlay(newSnapshot(r, began, c.ttl, version), nil)
	c.current, c.last = snap, snap
	c.mu.Unlock()
	c.took(SourceAPI, snap)
	return snap, nil
}

// overlay lays on s the bot's changes it cannot have seen: those of
// remote (from the store) after its claim, and this replica's made after
// its fetch began. c.mu is held.
func (c *Snapshots) overlay(s *Snapshot, remote []SharedChange) *Snapshot {
	s = layRemote(s, remote)
	for id, ch := range c.changes {
		if ch.at.Before(s.FetchedAt) {
			delete(c.changes, id) // the fetch already saw it
			continue
		}
		s = s.withOverride(ch.agent)
	}
	return s
}

// took tells the observers about a snapshot taken in.
func (c *Snapshots) took(source string, s *Snapshot) {
	if c.onRefresh != nil {
		c.onRefresh(s)
	}
	if c.observe != nil {
		c.observe(source, s)
	}
}

// LastKnown returns the last good snapshot, however old, or nil.
func (c *Snapshots) LastKnown() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Changed records an agent's new presence after the bot changed it, so
// nobody reads the old status from the cache afterwards: on this replica
// at once, and with a shared store on every other replica at its next
// read.
func (c *Snapshots) Changed(a Agent) {
	c.mu.Lock()
	c.changes[a.ID] = change{agent: a, at: c.now()}
	if c.current != nil {
		c.current = c.current.withOverride(a)
	}
	if c.last != nil {
		c.last = c.last.withOverride(a)
	}
	c.mu.Unlock()
	if c.shared != nil {
		// Before the caller answers, so whoever reads next anywhere sees
		// it; bounded by the store's own timeout.
		if err := c.shared.Change(context.Background(), a.ID, EncodeAgent(a)); err != nil {
			c.log.Debug("status change not shared; other replicas see it at their next refresh", "agent", a.ID, "err", err)
		}
	}
}

// decodeChanges decodes the store's changes, in order, skipping (and
// logging) any it cannot read.
func decodeChanges(raw []SharedChange, log *slog.Logger) []SharedChange {
	out := make([]SharedChange, 0, len(raw))
	for _, ch := range raw {
		if _, err := DecodeAgent(ch.Data); err != nil {
			log.Warn("shared status change unreadable; ignored", "err", err)
			continue
		}
		out = append(out, ch)
	}
	return out
}

// layRemote lays on s the store's changes newer than its claim and than
// those laid already (remote is in sequence order).
func layRemote(s *Snapshot, remote []SharedChange) *Snapshot {
	if s == nil {
		return nil
	}
	var agents []Agent
	laid := s.laid
	for _, ch := range remote {
		if ch.Seq <= max(s.version, s.laid) {
			continue // the fetch began after it, or it is laid already
		}
		if a, err := DecodeAgent(ch.Data); err == nil {
			agents = append(agents, a)
		}
		laid = max(laid, ch.Seq)
	}
	if laid == s.laid {
		return s
	}
	n := s.withOverrides(agents)
	if n == s {
		c := *s
		n = &c
	}
	n.laid = laid
	return n
}

func laterTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func retryAfterOf(err error) time.Duration {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.RetryAfter
	}
	return 0
}

func refreshUnavailable(cause error) error {
	return &APIError{Op: "list presence", Kind: ErrUnavailable, Cause: cause}
}
