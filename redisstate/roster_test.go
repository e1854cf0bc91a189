package redisstate

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// rosterSim is the simulator with n generated agents behind real HTTP and
// a client for it without retries.
func rosterSim(t *testing.T, n int) (*ccmsim.Sim, *presence.Client) {
	t.Helper()
	at := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	sim := ccmsim.New(ccmsim.Options{Now: func() time.Time { return at }, Seed: 1})
	sim.Add(ccmsim.GenerateRoster(n, nil, at, 1)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, presence.NewClient(sim.AccountSID(), sim.Token(), presence.WithBaseURL(srv.URL),
		presence.WithRetry(1, time.Millisecond, time.Millisecond), presence.WithBreaker(0, 0, nil))
}

// The store's primitives against a real Redis: one claim at a time, a
// save that ends it and drops the changes its fetch saw, a save from an
// older claim refused, changes and failures in order on one sequence.
func TestRosterStoreRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	c := open(t, srv, Options{})
	s := c.RosterStore(0)
	ctx := bg(t)

	if st, err := s.Stamp(ctx); err != nil || st != (presence.SharedStamp{}) {
		t.Fatalf("empty store: stamp %+v, %v", st, err)
	}
	seq, err := s.Claim(ctx, "a", time.Minute, 0)
	if err != nil || seq != 1 {
		t.Fatalf("first claim = %d, %v; want 1", seq, err)
	}
	if other, err := s.Claim(ctx, "b", time.Minute, 0); err != nil || other != 0 {
		t.Errorf("a second claim while the first holds = %d, %v; want 0", other, err)
	}
	if ok, err := s.Renew(ctx, "a", time.Hour); err != nil || !ok {
		t.Errorf("the holder's renewal = %v, %v; want true", ok, err)
	}
	if ttl := c.rdb.PTTL(ctx, c.key("roster", "refresh")).Val(); ttl < 59*time.Minute {
		t.Errorf("the claim's lease after renewal = %v, want about an hour", ttl)
	}
	if ok, err := s.Renew(ctx, "b", time.Hour); err != nil || ok {
		t.Errorf("another's renewal = %v, %v; want false", ok, err)
	}
	roster := []presence.Agent{{ID: "agent_001", Name: "John", Status: presence.Available}}
	data := presence.EncodeRoster(base, presence.Summary{Total: 1, Available: 1}, roster)
	if err := s.Save(ctx, "a", seq, data); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || string(st.Data) != string(data) || len(st.Changes) != 0 {
		t.Errorf("after a save: version %d, %d bytes (want %d), changes %v", st.Version, len(st.Data), len(data), st.Changes)
	}

	changed := presence.EncodeAgent(presence.Agent{ID: "agent_001", Status: presence.Busy})
	if err := s.Change(ctx, "agent_001", changed); err != nil {
		t.Fatal(err)
	}
	st2, err := s.Load(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Gen == st.Gen || st2.Data != nil || len(st2.Changes) != 1 || st2.Changes[0].Seq != 2 || string(st2.Changes[0].Data) != string(changed) {
		t.Errorf("after a change: %+v; want a new gen, no data, the change at seq 2", st2)
	}

	// The save ended the claim; a new one comes after the change, so its
	// fetch saw it and its save drops it. (One asked by a replica that
	// had not seen the save is refused: it reads that snapshot instead.)
	if stale, err := s.Claim(ctx, "b", time.Minute, 0); err != nil || stale != 0 {
		t.Errorf("a claim by a replica that saw no snapshot, after one was saved = %d, %v; want 0", stale, err)
	}
	seq, err = s.Claim(ctx, "b", time.Minute, 1)
	if err != nil || seq != 3 {
		t.Fatalf("claim after the save = %d, %v; want 3", seq, err)
	}
	if err := s.Save(ctx, "b", seq, data); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(ctx, false); err != nil || st.Version != 3 || len(st.Changes) != 0 {
		t.Errorf("after the second save: %+v, %v; want version 3 without changes", st, err)
	}

	// A fetch under an older claim, saved late, does not replace it.
	if err := s.Save(ctx, "a", 1, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(ctx, true); err != nil || st.Version != 3 || string(st.Data) != string(data) {
		t.Errorf("after a late save from claim 1: version %d, %v; want 3 kept", st.Version, err)
	}

	seq, _ = s.Claim(ctx, "c", time.Minute, 3)
	if err := s.Fail(ctx, "c", seq, "server 503 0 1"); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stamp(ctx); err != nil || st.FailSeq != seq || st.Failure != "server 503 0 1" || st.Version != 3 {
		t.Errorf("after a failure: %+v, %v", st, err)
	}
	if again, err := s.Claim(ctx, "d", time.Minute, 3); err != nil || again == 0 {
		t.Errorf("claim after a failure = %d, %v; want it free", again, err)
	}
}

// What the fleet keeps of 5,000 and 20,000 agents, through the real path
// (a fetch from the simulator, encoded and saved): well under a Redis
// value's practical size.
func TestRosterStoreCompactSize(t *testing.T) {
	srv := redistest.Start(t)
	for _, tt := range []struct {
		agents int
		limit  int
	}{{5_000, 512 << 10}, {20_000, 2 << 20}} {
		t.Run(fmt.Sprint(tt.agents), func(t *testing.T) {
			_, client := rosterSim(t, tt.agents)
			c := open(t, srv, Options{})
			snaps := presence.NewSnapshots(client, time.Minute, nil, presence.WithSharedStore(c.RosterStore(0)))
			if _, err := snaps.Get(bg(t)); err != nil {
				t.Fatal(err)
			}
			size, err := c.rdb.StrLen(bg(t), c.key("roster", "data")).Result()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d agents: %d bytes stored (%.1f per agent)", tt.agents, size, float64(size)/float64(tt.agents))
			if size == 0 || size > int64(tt.limit) {
				t.Errorf("%d agents take %d bytes, want at most %d", tt.agents, size, tt.limit)
			}
		})
	}
}

// Three replicas (a Client each), twenty readers each, all at once: the
// contact center sees one roster fetch, and every reader the whole
// roster.
func TestRosterStoreOneRefresherUnderRace(t *testing.T) {
	srv := redistest.Start(t)
	sim, client := rosterSim(t, 450)
	sim.SetLatency(5 * time.Millisecond) // so the others arrive during the fetch
	var wg sync.WaitGroup
	for range 3 {
		c := open(t, srv, Options{Prefix: "race:"})
		snaps := presence.NewSnapshots(client, time.Minute, nil, presence.WithSharedStore(c.RosterStore(0)))
		for range 20 {
			wg.Go(func() {
				if s, err := snaps.Get(bg(t)); err != nil || s.Len() != 450 {
					t.Errorf("Get = %v, %v", s, err)
				}
			})
		}
	}
	wg.Wait()
	if got := sim.Stats().Lists; got != 5 {
		t.Errorf("list requests = %d, want 5 (one fetch of 450 agents for the fleet)", got)
	}
}

// Redis down: the replica fetches alone, as a lone bot does, and counts
// the fallback; once Redis is back the roster is shared again.
func TestRosterStoreFallsBackWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	sim, client := rosterSim(t, 50)
	var h hooks
	o := Options{Timeout: quickTimeout}
	h.install(&o)
	c := open(t, srv, o)
	snaps := presence.NewSnapshots(client, 0, nil, presence.WithSharedStore(c.RosterStore(0)))
	srv.Stop()
	if s, err := snaps.Get(bg(t)); err != nil || s.Len() != 50 {
		t.Fatalf("Get with Redis down = %v, %v; want a local fetch", s, err)
	}
	if got := sim.Stats().Lists; got != 1 {
		t.Errorf("list requests = %d, want 1", got)
	}
	if h.Fallbacks(OpRoster) == 0 {
		t.Error("no roster fallback counted")
	}
	snaps.Changed(presence.Agent{ID: "agent_0001", Status: presence.Busy}) // must not block or fail

	srv.Restart()
	waitHealthy(t, c)
	if _, err := snaps.Get(bg(t)); err != nil {
		t.Fatal(err)
	}
	if v, err := c.rdb.HGet(bg(t), c.key("roster", "meta"), "v").Int(); err != nil || v == 0 {
		t.Errorf("stored version after Redis came back = %d, %v; want a shared snapshot", v, err)
	}
}

// In a cluster the store's scripts name every key they touch, all under
// the one hash tag.
func TestRosterStoreInACluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	sim, client := rosterSim(t, 120)
	c := open(t, nil, Options{URL: cl.URL(), Prefix: "bot:"})
	a := presence.NewSnapshots(client, time.Minute, nil, presence.WithSharedStore(c.RosterStore(0)))
	b := presence.NewSnapshots(client, time.Minute, nil, presence.WithSharedStore(c.RosterStore(0)))
	s, err := a.Get(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	ag, _ := s.Agent("agent_0001")
	ag.Status = presence.Busy
	a.Changed(ag)
	got, err := b.Get(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := got.Agent("agent_0001"); g.Status != presence.Busy {
		t.Errorf("replica b: agent_0001 is %s, want busy", g.Status)
	}
	if n := sim.Stats().Lists; n != 2 {
		t.Errorf("list requests = %d, want 2 (one fetch)", n)
	}
}
