package presence_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSnapshotsShareOneFetchWithinTTL(t *testing.T) {
	sim, c := setup(t)
	sim.Add(ccmsim.GenerateRoster(250, nil, base, 1)...)
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, 2*time.Second, clk.Now)

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			s, err := snaps.Get(context.Background())
			if err != nil || s.Len() != 250 {
				t.Errorf("Get = %v agents, %v", s, err)
			}
		})
	}
	wg.Wait()
	// 50 concurrent readers coalesce into one roster fetch: 3 pages.
	if got := sim.Stats().Lists; got != 3 {
		t.Errorf("list requests = %d, want 3 (one roster fetch)", got)
	}
	clk.Add(time.Second)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != 3 {
		t.Errorf("list requests = %d within the TTL, want still 3", got)
	}
	clk.Add(time.Second)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Stats().Lists; got != 6 {
		t.Errorf("list requests = %d after the TTL, want 6 (a second fetch)", got)
	}
}

func TestSnapshotFailedRefreshIsDroppedButLastKnownKept(t *testing.T) {
	sim, c := setup(t, presence.WithRetry(1, time.Millisecond, time.Millisecond))
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"))
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, time.Second, clk.Now)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Second)
	sim.Inject(ccmsim.Fault{Code: 500})
	if _, err := snaps.Get(context.Background()); !errors.Is(err, presence.ErrServer) {
		t.Fatalf("err = %v, want the refresh's server error, not stale data", err)
	}
	last := snaps.LastKnown()
	if last == nil || last.Len() != 1 {
		t.Fatalf("LastKnown = %v, want the old roster", last)
	}
	if age := last.Age(clk.Now()); age != 2*time.Second {
		t.Errorf("age = %v, want 2s", age)
	}
	// The stale snapshot is never served as current, even within a TTL
	// counted from the failure.
	if _, err := snaps.Get(context.Background()); err == nil {
		t.Error("Get served data after a failed refresh")
	}
}

func TestSnapshotChangedIsSeenAtOnceAndSurvivesAnOlderFetch(t *testing.T) {
	sim, c := setup(t)
	sim.Add(agent("agent_001", "John Agent", presence.Available, "sales"),
		agent("agent_002", "Jane Support", presence.Busy, "support"))
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(c, time.Minute, clk.Now)
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Agent("agent_001")
	a.Status = presence.Busy
	snaps.Changed(a)

	s, _ = snaps.Get(context.Background())
	if got, _ := s.Agent("agent_001"); got.Status != presence.Busy {
		t.Errorf("status after Changed = %s, want busy", got.Status)
	}
	if s.Summary.Available != 0 || s.Summary.Busy != 2 || s.Summary.Total != 2 {
		t.Errorf("summary = %+v, want 0 available, 2 busy", s.Summary)
	}
	busy := 0
	for a := range s.All() {
		if a.Status == presence.Busy {
			busy++
		}
	}
	if busy != 2 {
		t.Errorf("All() shows %d busy, want 2", busy)
	}
}

// slowSource lets a test hold a fetch open while something else happens.
type slowSource struct {
	release chan struct{}
	calls   atomic.Int32
	roster  *presence.Roster
}

func (s *slowSource) ListAll(ctx context.Context, _ presence.ListOptions) (*presence.Roster, error) {
	s.calls.Add(1)
	<-s.release
	return s.roster, nil
}

func TestSnapshotFetchStartedBeforeAChangeKeepsTheChange(t *testing.T) {
	src := &slowSource{release: make(chan struct{}), roster: &presence.Roster{
		Agents:  []presence.Agent{agent("agent_001", "John Agent", presence.Available, "sales")},
		Summary: presence.Summary{Total: 1, Available: 1},
	}}
	clk := &clock{now: base}
	snaps := presence.NewSnapshots(src, time.Minute, clk.Now)
	done := make(chan *presence.Snapshot)
	go func() {
		s, err := snaps.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The bot changes the agent while the (older) fetch is in flight.
	clk.Add(time.Millisecond)
	changed := agent("agent_001", "John Agent", presence.Busy, "sales")
	snaps.Changed(changed)
	close(src.release)
	s := <-done
	if got, _ := s.Agent("agent_001"); got.Status != presence.Busy {
		t.Errorf("status = %s, want busy: a fetch that began earlier brought the old status back", got.Status)
	}
}

func TestSnapshotReaderDeadlineDoesNotFailOthers(t *testing.T) {
	src := &slowSource{release: make(chan struct{}), roster: &presence.Roster{}}
	snaps := presence.NewSnapshots(src, time.Minute, nil)
	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error)
	go func() { _, err := snaps.Get(ctx); impatient <- err }()
	for src.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	patient := make(chan error)
	go func() { _, err := snaps.Get(context.Background()); patient <- err }()
	cancel()
	if err := <-impatient; !errors.Is(err, context.Canceled) {
		t.Errorf("impatient reader: %v, want canceled", err)
	}
	close(src.release)
	if err := <-patient; err != nil {
		t.Errorf("patient reader failed with %v because another gave up", err)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}
