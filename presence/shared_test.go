package presence_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// memStore is a SharedStore in memory with the semantics of the Redis one
// (redisstate.RosterStore): one sequence for claims and changes, a claim
// whose lease runs on real time (as Redis's does), a save refused when a
// later claim saved first. down makes every call fail, as Redis down does.
type memStore struct {
	mu        sync.Mutex
	seq       int64
	version   int64
	gen       int64
	failSeq   int64
	failure   string
	data      []byte
	changes   map[string]presence.SharedChange
	lock      string
	lockUntil time.Time
	down      bool
	// beforeClaim and beforeLoad, when set, run (once) at the next claim
	// or load, before it.
	beforeClaim, beforeLoad func()

	stamps, loads, dataLoads, claims, saves atomic.Int32
}

var errStoreDown = errors.New("store down")

func newMemStore(func() time.Time) *memStore {
	return &memStore{changes: map[string]presence.SharedChange{}}
}

func (m *memStore) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

func (m *memStore) stampLocked() presence.SharedStamp {
	return presence.SharedStamp{Version: m.version, Gen: m.gen, FailSeq: m.failSeq, Failure: m.failure}
}

func (m *memStore) Stamp(context.Context) (presence.SharedStamp, error) {
	m.stamps.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return presence.SharedStamp{}, errStoreDown
	}
	return m.stampLocked(), nil
}

func (m *memStore) Load(_ context.Context, withData bool) (presence.SharedState, error) {
	m.loads.Add(1)
	m.mu.Lock()
	if f := m.beforeLoad; f != nil {
		m.beforeLoad = nil
		m.mu.Unlock()
		f()
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	if m.down {
		return presence.SharedState{}, errStoreDown
	}
	st := presence.SharedState{SharedStamp: m.stampLocked()}
	if withData {
		m.dataLoads.Add(1)
		st.Data = slices.Clone(m.data)
	}
	for _, ch := range m.changes {
		if ch.Seq > m.version {
			st.Changes = append(st.Changes, ch)
		}
	}
	slices.SortFunc(st.Changes, func(a, b presence.SharedChange) int { return int(a.Seq - b.Seq) })
	return st, nil
}

func (m *memStore) Claim(_ context.Context, token string, lease time.Duration, seen int64) (int64, error) {
	m.claims.Add(1)
	m.mu.Lock()
	if f := m.beforeClaim; f != nil {
		m.beforeClaim = nil
		m.mu.Unlock()
		f()
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	if m.down {
		return 0, errStoreDown
	}
	if (m.lock != "" && time.Now().Before(m.lockUntil)) || m.version > seen {
		return 0, nil
	}
	m.lock, m.lockUntil = token, time.Now().Add(lease)
	m.seq++
	return m.seq, nil
}

func (m *memStore) Renew(_ context.Context, token string, lease time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, errStoreDown
	}
	if m.lock != token || !time.Now().Before(m.lockUntil) {
		return false, nil
	}
	m.lockUntil = time.Now().Add(lease)
	return true, nil
}

func (m *memStore) release(token string) {
	if m.lock == token {
		m.lock = ""
	}
}

func (m *memStore) Save(_ context.Context, token string, seq int64, data []byte) error {
	m.saves.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	if seq > m.version {
		m.version, m.data = seq, slices.Clone(data)
		m.gen++
		maps.DeleteFunc(m.changes, func(_ string, ch presence.SharedChange) bool { return ch.Seq < seq })
	}
	m.release(token)
	return nil
}

func (m *memStore) Fail(_ context.Context, token string, seq int64, failure string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	m.failSeq, m.failure = seq, failure
	m.gen++
	m.release(token)
	return nil
}

func (m *memStore) Change(_ context.Context, agentID string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	m.seq++
	m.changes[agentID] = presence.SharedChange{Seq: m.seq, Data: slices.Clone(data)}
	m.gen++
	return nil
}

// Two replicas share one roster: the second reads what the first fetched,
// and reads the stored data once while it stays current, however often
// it is asked. Once it is older than the TTL, whichever replica is asked
// first fetches it again, for both.
func TestSharedSnapshotOneFetchForTheFleet(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(250, nil, base, 1)...)
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	a := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))

	if s, err := a.Get(context.Background()); err != nil || s.Len() != 250 {
		t.Fatalf("replica a: %v, %v", s, err)
	}
	if got := sim.Stats().Lists; got != 3 {
		t.Fatalf("list requests = %d, want 3 (one roster fetch)", got)
	}
	clk.Add(time.Second)
	for range 20 {
		s, err := b.Get(context.Background())
		if err != nil || s.Len() != 250 {
			t.Fatalf("replica b: %v, %v", s, err)
		}
		if !s.FetchedAt.Equal(base) {
			t.Fatalf("replica b's snapshot fetched at %v, want replica a's, %v", s.FetchedAt, base)
		}
	}
	if got := sim.Stats().Lists; got != 3 {
		t.Errorf("list requests = %d after replica b read 20 times, want still 3", got)
	}
	if got := store.dataLoads.Load(); got != 1 {
		t.Errorf("replica b read the stored roster %d times within the TTL, want once", got)
	}

	clk.Add(1500 * time.Millisecond) // 2.5 s old: past the TTL
	if _, err := b.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != 6 {
		t.Errorf("list requests = %d past the TTL, want 6 (a second fetch)", got)
	}
	s, err := a.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != 6 {
		t.Errorf("list requests = %d once replica a read again, want still 6 (b's fetch)", got)
	}
	if want := base.Add(2500 * time.Millisecond); !s.FetchedAt.Equal(want) {
		t.Errorf("replica a's snapshot fetched at %v, want replica b's, %v", s.FetchedAt, want)
	}
}

// Five replicas asked at once, twenty times each: the contact center sees
// one roster fetch.
func TestSharedSnapshotRaceOfReplicasFetchesOnce(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(250, nil, base, 1)...)
	sim.SetLatency(5 * time.Millisecond) // so the others arrive during the fetch
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	var wg sync.WaitGroup
	for range 5 {
		r := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
		for range 20 {
			wg.Go(func() {
				if s, err := r.Get(context.Background()); err != nil || s.Len() != 250 {
					t.Errorf("Get = %v, %v", s, err)
				}
			})
		}
	}
	wg.Wait()
	if got := sim.Stats().Lists; got != 3 {
		t.Errorf("list requests = %d, want 3 (one roster fetch for the fleet)", got)
	}
}

// A status the bot changed on one replica shows on another at once, in
// its counts too, though its snapshot is well within the TTL; a replica
// that starts later sees it as well.
func TestSharedChangedShowsOnOtherReplicasAtOnce(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"),
		agent("agent_002", "Jane Support", presence.Busy, "support"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	a := presence.NewSnapshots(c, time.Minute, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, time.Minute, clk.Now, presence.WithSharedStore(store))
	for _, r := range []*presence.Snapshots{a, b} {
		if _, err := r.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Second)
	changed := agent("agent_001", "John Agent", presence.Busy, "sales")
	changed.StatusSince = clk.Now()
	a.Changed(changed)

	late := presence.NewSnapshots(c, time.Minute, clk.Now, presence.WithSharedStore(store))
	for name, r := range map[string]*presence.Snapshots{"b": b, "a later replica": late} {
		s, err := r.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Agent("agent_001"); got.Status != presence.Busy || !got.StatusSince.Equal(clk.Now()) {
			t.Errorf("replica %s: agent_001 is %s since %v, want busy since %v", name, got.Status, got.StatusSince, clk.Now())
		}
		if s.Summary.Available != 0 || s.Summary.Busy != 2 || s.Summary.Total != 2 {
			t.Errorf("replica %s: summary = %+v, want 0 available, 2 busy", name, s.Summary)
		}
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1: the change travels without a fetch", got)
	}
}

// gatedSource holds each fetch until the test answers it.
type gatedSource struct {
	calls  atomic.Int32
	answer chan error
	src    presence.RosterSource
}

func (g *gatedSource) ListAll(ctx context.Context, opts presence.ListOptions) (*presence.Roster, error) {
	g.calls.Add(1)
	if err := <-g.answer; err != nil {
		return nil, err
	}
	return g.src.ListAll(ctx, opts)
}

// The refresh one replica makes fails: the replica waiting on it gets the
// failure (of the same kind) rather than trying again at once, and keeps
// its last known roster; nobody serves the old one as current.
func TestSharedFailedRefreshReachesTheWaiters(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	gate := &gatedSource{answer: make(chan error, 1), src: c}
	a := presence.NewSnapshots(gate, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	gate.answer <- nil
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	sim.ResetStats()
	clk.Add(3 * time.Second)

	aDone := make(chan error, 1)
	go func() { _, err := a.Get(context.Background()); aDone <- err }()
	waitUntil(t, "replica a fetches", func() bool { return gate.calls.Load() == 2 })
	claims := store.claims.Load()
	bDone := make(chan error, 1)
	go func() { _, err := b.Get(context.Background()); bDone <- err }()
	// b asked for the claim and was refused: it waits on a's refresh.
	waitUntil(t, "replica b asks for the claim", func() bool { return store.claims.Load() > claims })
	gate.answer <- &presence.APIError{Op: "list presence", Kind: presence.ErrServer, StatusCode: 503}
	if err := <-aDone; !errors.Is(err, presence.ErrServer) {
		t.Errorf("replica a: %v, want its server error", err)
	}
	if err := <-bDone; !errors.Is(err, presence.ErrServer) {
		t.Errorf("replica b: %v, want the refresh's server error", err)
	}
	if got := sim.Stats().Lists; got != 0 {
		t.Errorf("replica b made %d list requests of its own, want 0", got)
	}
	if last := b.LastKnown(); last == nil || last.Len() != 1 {
		t.Errorf("replica b's LastKnown = %v, want the old roster", last)
	}
	if s, ok := b.Fresh(context.Background()); ok {
		t.Errorf("replica b calls %v fresh after a failed refresh", s)
	}
}

// waitUntil polls cond every millisecond for at most 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Redis down: every replica fetches for itself, as a lone bot does, and
// the bot's own changes still show on the replica that made them.
func TestSharedStoreDownFallsBackToALocalFetch(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	store.setDown(true)
	a := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	s, err := a.Get(context.Background())
	if err != nil || s.Len() != 1 {
		t.Fatalf("Get with the store down = %v, %v; want a local fetch", s, err)
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1", got)
	}
	changed := agent("agent_001", "John Agent", presence.Busy, "sales")
	a.Changed(changed)
	s, err = a.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Agent("agent_001"); got.Status != presence.Busy {
		t.Errorf("status = %s after Changed with the store down, want busy", got.Status)
	}

	// Back up: the next refresh is shared again.
	store.setDown(false)
	clk.Add(3 * time.Second)
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if store.saves.Load() != 1 {
		t.Errorf("saves = %d once the store is back, want 1", store.saves.Load())
	}
}

// Fresh serves what is current, from this replica or the store, and never
// asks the contact center.
func TestSharedFreshNeverFetches(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	a := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	if s, ok := b.Fresh(context.Background()); ok {
		t.Fatalf("Fresh = %v before anyone fetched", s)
	}
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if s, ok := b.Fresh(context.Background()); !ok || s.Len() != 1 {
		t.Errorf("replica b: Fresh = %v, %v; want replica a's roster", s, ok)
	}
	clk.Add(2 * time.Second)
	if s, ok := b.Fresh(context.Background()); ok {
		t.Errorf("replica b: Fresh = %v past the TTL", s)
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1: Fresh never fetches", got)
	}
}

// Under pressure (the API budget is short) the snapshot lives longer, and
// says it is older than the TTL; when the pressure ends the TTL is back.
func TestSnapshotPressureStretchesTheTTLAndBack(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(250, nil, base, 1)...)
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithStretchedTTL(15*time.Second))
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(1500 * time.Millisecond)
	if s.Stale(clk.Now()) {
		t.Errorf("stale at %v, within the TTL", s.Age(clk.Now()))
	}
	snaps.SetPressure(true)
	clk.Add(12500 * time.Millisecond) // 14 s old
	got, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != s || sim.Stats().Lists != 3 {
		t.Errorf("under pressure at 14 s: lists = %d and a new snapshot %v; want the old one, no fetch", sim.Stats().Lists, got != s)
	}
	if !got.Stale(clk.Now()) || got.Age(clk.Now()) != 14*time.Second {
		t.Errorf("Stale = %v at age %v, want true at 14s", got.Stale(clk.Now()), got.Age(clk.Now()))
	}
	if _, ok := snaps.Fresh(context.Background()); !ok {
		t.Error("Fresh refuses the stretched snapshot under pressure")
	}
	clk.Add(2 * time.Second) // 16 s: past the stretched TTL too
	if got, err = snaps.Get(context.Background()); err != nil || got == s {
		t.Fatalf("past the stretched TTL: %v, same snapshot %v; want a new one", err, got == s)
	}
	if sim.Stats().Lists != 6 {
		t.Errorf("lists = %d, want 6", sim.Stats().Lists)
	}

	snaps.SetPressure(false)
	s = got
	clk.Add(3 * time.Second)
	if got, err = snaps.Get(context.Background()); err != nil || got == s {
		t.Fatalf("pressure over, 3 s old: %v, same snapshot %v; want a new one", err, got == s)
	}
	if got.Stale(clk.Now()) {
		t.Error("a fresh snapshot says it is stale")
	}
}

// A refresh refused with 429 stretches the TTL too: the last roster is
// served, marked with its age, and nothing is asked until the stretched
// TTL or the Retry-After runs out.
func TestSnapshotRateLimitedRefreshStretches(t *testing.T) {
	sim, c := setup(t, presence.WithRetry(1, time.Millisecond, time.Millisecond))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithStretchedTTL(15*time.Second))
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(3 * time.Second)
	sim.Inject(ccmsim.Fault{Code: 429})
	got, err := snaps.Get(context.Background())
	if err != nil || got != s {
		t.Fatalf("after a 429: %v, same snapshot %v; want the last one, marked", err, got == s)
	}
	if !got.Stale(clk.Now()) || !snaps.Pressured() {
		t.Errorf("after a 429: Stale = %v, Pressured = %v; want both", got.Stale(clk.Now()), snaps.Pressured())
	}
	lists := sim.Stats().Lists
	clk.Add(5 * time.Second)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != lists {
		t.Errorf("list requests = %d within the stretched TTL after a 429, want %d", got, lists)
	}
	sim.ClearFaults()
	clk.Add(16 * time.Second) // the pressure from the 429 is over
	got, err = snaps.Get(context.Background())
	if err != nil || got == s || got.Stale(clk.Now()) {
		t.Errorf("after the stretch: %v, same snapshot %v; want a fresh one", err, got == s)
	}
}

// With a TTL of 0 (fetch every time) nothing served is marked stale: a
// fraction of a second is current to a person.
func TestSnapshotStaleNeedsASecond(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, 0, clk.Now)
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(500 * time.Millisecond)
	if s.Stale(clk.Now()) {
		t.Error("stale at 500ms")
	}
	clk.Add(time.Second)
	if !s.Stale(clk.Now()) {
		t.Error("not stale at 1.5s with a TTL of 0")
	}
}

// The compact form keeps every field the snapshot's readers use, exactly,
// and refuses damaged data without panicking.
func TestRosterCodecRoundTrip(t *testing.T) {
	at := base.Add(123456789 * time.Nanosecond)
	agents := []presence.Agent{
		{ID: "agent_001", Name: "Priya Śarmā 🎧", Email: "priya@example.com", Status: presence.OnCall,
			StatusSince: base.Add(-90 * time.Minute).Add(7 * time.Millisecond),
			Team:        &presence.Team{ID: "sales_team", Name: "Sales"},
			Stats:       &presence.Stats{CallsHandledToday: 24, AvgHandleTime: 310, TotalTalkTime: 7440}},
		{ID: "agent_002", Name: "", Status: presence.Offline},                                                                   // no team, no stats, zero time
		{ID: "agent_003", Name: "Jane", Status: presence.Busy, StatusSince: at.Add(time.Minute), Team: &presence.Team{ID: "t"}}, // after the fetch
		{ID: "agent_004", Name: "Ann", Status: presence.Available, StatusSince: base, Team: &presence.Team{ID: "sales_team", Name: "Sales"}},
	}
	sum := presence.Summary{Total: 4, Available: 1, OnCall: 1, Busy: 1, Offline: 1}
	data := presence.EncodeRoster(at, sum, agents)
	gotAt, gotSum, got, err := presence.DecodeRoster(data)
	if err != nil {
		t.Fatal(err)
	}
	if !gotAt.Equal(at) || gotSum != sum {
		t.Errorf("header = %v %+v, want %v %+v", gotAt, gotSum, at, sum)
	}
	if len(got) != len(agents) {
		t.Fatalf("%d agents, want %d", len(got), len(agents))
	}
	for i, w := range agents {
		g := got[i]
		if g.ID != w.ID || g.Name != w.Name || g.Email != w.Email || g.Status != w.Status || !g.StatusSince.Equal(w.StatusSince) ||
			(g.Team == nil) != (w.Team == nil) || (g.Team != nil && *g.Team != *w.Team) ||
			(g.Stats == nil) != (w.Stats == nil) || (g.Stats != nil && *g.Stats != *w.Stats) {
			t.Errorf("agent %d = %+v, want %+v", i, g, w)
		}
	}
	for n := range len(data) {
		if _, _, _, err := presence.DecodeRoster(data[:n]); err == nil {
			t.Errorf("decoding the first %d of %d bytes succeeded", n, len(data))
		}
	}

	one, err := presence.DecodeAgent(presence.EncodeAgent(agents[0]))
	if err != nil || one.ID != agents[0].ID || one.Status != agents[0].Status || !one.StatusSince.Equal(agents[0].StatusSince) ||
		*one.Team != *agents[0].Team || *one.Stats != *agents[0].Stats {
		t.Errorf("one agent = %+v, %v; want %+v", one, err, agents[0])
	}
}

// A fetch slower than the claim's lease is not doubled: its replica
// renews the claim while it fetches, and the other waits for it.
func TestSharedSlowFetchKeepsItsClaim(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	gate := &gatedSource{answer: make(chan error, 1), src: c}
	a := presence.NewSnapshots(gate, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	presence.SetClaimLease(a, 100*time.Millisecond, 10*time.Millisecond)
	presence.SetClaimLease(b, 100*time.Millisecond, 10*time.Millisecond)

	aDone := make(chan error, 1)
	go func() { _, err := a.Get(context.Background()); aDone <- err }()
	waitUntil(t, "replica a fetches", func() bool { return gate.calls.Load() == 1 })
	bDone := make(chan error, 1)
	go func() { _, err := b.Get(context.Background()); bDone <- err }()
	time.Sleep(400 * time.Millisecond) // four leases
	gate.answer <- nil
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1: replica b fetched while a's slow fetch held the claim", got)
	}
}

// A replica that claimed the refresh and died (its claim no longer
// renewed) holds the others up for one lease at most: then one of them
// claims and fetches.
func TestSharedDeadRefresherIsTakenOver(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	if seq, err := store.Claim(context.Background(), "dead replica", 50*time.Millisecond, 0); err != nil || seq == 0 {
		t.Fatalf("claim = %d, %v", seq, err)
	}
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	start := time.Now()
	s, err := b.Get(context.Background())
	if err != nil || s.Len() != 1 {
		t.Fatalf("Get = %v, %v", s, err)
	}
	if took := time.Since(start); took < 40*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v, want about the dead claim's lease, 50ms", took)
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1", got)
	}
}

// A replica that found the stored roster too old, and claims the refresh
// just after another replica stored a new one, is refused the claim and
// takes that one: no second fetch.
func TestSharedClaimAfterAnotherSavedIsRefused(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	a := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Add(3 * time.Second)
	// b looks, finds the roster too old; before its claim, a refreshes.
	store.beforeClaim = func() {
		if _, err := a.Get(context.Background()); err != nil {
			t.Error(err)
		}
	}
	s, err := b.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(3 * time.Second); !s.FetchedAt.Equal(want) {
		t.Errorf("replica b's snapshot fetched at %v, want replica a's second, %v", s.FetchedAt, want)
	}
	if got := sim.Stats().Lists; got != 2 {
		t.Errorf("list requests = %d, want 2: replica b fetched again what a had just stored", got)
	}
}

// A replica that reads the store just as another stores a new roster (the
// stamp before, the load after) takes that roster rather than fetch it
// again.
func TestSharedSnapshotStoredBetweenStampAndLoadIsTaken(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"),
		agent("agent_002", "Jane Support", presence.Busy, "support"))
	clk := &clock{now: base}
	store := newMemStore(clk.Now)
	a := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	b := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithSharedStore(store))
	if _, err := a.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Changed(agent("agent_002", "Jane Support", presence.Available, "support")) // so b has news to load
	clk.Add(3 * time.Second)
	store.beforeLoad = func() {
		if _, err := a.Get(context.Background()); err != nil {
			t.Error(err)
		}
	}
	s, err := b.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(3 * time.Second); !s.FetchedAt.Equal(want) {
		t.Errorf("replica b's snapshot fetched at %v, want replica a's second, %v", s.FetchedAt, want)
	}
	if got := sim.Stats().Lists; got != 2 {
		t.Errorf("list requests = %d, want 2: replica b fetched again what a had just stored", got)
	}
}

// WithPressureSource stretches the TTL exactly while its source reports
// pressure: the budget's queue, read on every use.
func TestSnapshotPressureSourceStretchesTheTTL(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(50, nil, base, 1)...)
	clk := &clock{now: base}
	var pressed atomic.Bool
	snaps := presence.NewSnapshots(c, 2*time.Second, clk.Now, presence.WithStretchedTTL(15*time.Second),
		presence.WithPressureSource(pressed.Load))
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pressed.Store(true)
	clk.Add(10 * time.Second)
	if got, err := snaps.Get(context.Background()); err != nil || got != s {
		t.Errorf("under pressure at 10 s: %v, same snapshot %v; want the old one", err, got == s)
	}
	pressed.Store(false)
	if got, err := snaps.Get(context.Background()); err != nil || got == s {
		t.Errorf("pressure over at 10 s: %v, same snapshot %v; want a fresh one", err, got == s)
	}
}
