package commands

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// A shift start's /presence burst on one roster draws each answer once a
// second: the same form on the same roster in the same second is served
// from the first drawing (its own copy), another form, another second or
// a new roster is drawn again.
func TestRosterAnswersAreDrawnOncePerSecond(t *testing.T) {
	clock, client := smallFloor(t)
	snaps := presence.NewSnapshots(client, 2*time.Second, clock.Now)
	h := New(Config{API: client, Roster: snaps, OpenToAll: true, Now: clock.Now})
	h.shareDrawingsFrom = 0 // a small roster here, drawn as a large one is

	var drawn atomic.Int32
	draw := func(key string) message.Message {
		return h.withSnapshot(context.Background(), form{key: key}, func(s *presence.Snapshot, note string) message.Message {
			drawn.Add(1)
			return h.overview(s, note)
		})
	}
	first := draw("overview")
	for range 99 {
		draw("overview")
	}
	if n := drawn.Load(); n != 1 {
		t.Fatalf("100 overviews of one roster in one second drawn %d times, want 1", n)
	}
	if d := draw("overview").Drawing; d == nil || d != first.Drawing {
		t.Error("the copies of one drawing do not name it: the bot would encode each")
	}
	again := draw("overview")
	again.Blocks = append(again.Blocks[:1], message.NewContext("changed by a caller"))
	if got := draw("overview"); len(got.Blocks) != len(first.Blocks) || got.Blocks[1].Text != first.Blocks[1].Text {
		t.Errorf("a caller's change to its answer reached the next answer")
	}
	draw("status\x00available")
	if n := drawn.Load(); n != 2 {
		t.Errorf("another form: drawn %d times in all, want 2", n)
	}
	clock.Advance(time.Second)
	draw("overview")
	if n := drawn.Load(); n != 3 {
		t.Errorf("the next second: drawn %d times in all, want 3", n)
	}
	clock.Advance(3 * time.Second) // past the TTL: a new roster
	draw("overview")
	if n := drawn.Load(); n != 4 {
		t.Errorf("a new roster: drawn %d times in all, want 4", n)
	}
}

// Readers that miss the cache together share one drawing: a burst woken
// by one roster fetch draws it once, not once per reader in turn.
func TestReadersMissingTogetherShareOneDrawing(t *testing.T) {
	clock, client := smallFloor(t)
	snaps := presence.NewSnapshots(client, 2*time.Second, clock.Now)
	h := New(Config{API: client, Roster: snaps, OpenToAll: true, Now: clock.Now})
	h.shareDrawingsFrom = 0 // a small roster here, drawn as a large one is
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	var drawn atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			h.withSnapshot(context.Background(), form{key: "overview"}, func(s *presence.Snapshot, note string) message.Message {
				drawn.Add(1)
				<-release // the first drawing is still under way when the others come
				return h.overview(s, note)
			})
		})
	}
	time.Sleep(5 * time.Millisecond) // the 20 readers arrive while it draws
	close(release)
	wg.Wait()
	if n := drawn.Load(); n != 1 {
		t.Errorf("20 readers missing together drew %d times, want 1", n)
	}
}

// A small roster is drawn for each answer: drawn one after another, a
// burst's answers leave a few at a time rather than all at once.
func TestSmallRostersAreDrawnForEachAnswer(t *testing.T) {
	clock, client := smallFloor(t)
	h := New(Config{API: client, Roster: presence.NewSnapshots(client, 2*time.Second, clock.Now), OpenToAll: true, Now: clock.Now})
	var drawn atomic.Int32
	for range 3 {
		h.withSnapshot(context.Background(), form{key: "overview"}, func(s *presence.Snapshot, note string) message.Message {
			drawn.Add(1)
			return h.overview(s, note)
		})
	}
	if n := drawn.Load(); n != 3 {
		t.Errorf("3 overviews of a 50-agent roster drawn %d times, want 3", n)
	}
}

// A table is drawn once a second for all its readers at any roster size:
// the bot sends such answers a few at a time, so sharing costs no burst,
// and one drawing is one 30 kB encoding. The classic answers of the same
// small roster are still drawn for each reader.
func TestTablesAreSharedAtAnyRosterSize(t *testing.T) {
	clock, client := smallFloor(t)
	h := New(Config{API: client, Roster: presence.NewSnapshots(client, 2*time.Second, clock.Now), OpenToAll: true, Now: clock.Now})
	ask := func(text string) message.Message {
		t.Helper()
		m := h.Handle(context.Background(), Request{UserID: "U1", ChannelID: "C1", Command: "/presence", Text: text})
		if m.Refused || m.Failed {
			t.Fatalf("/presence %s: %s", text, m.Text)
		}
		return m
	}
	first := ask("table")
	if first.Drawing == nil || !first.HasRich() {
		t.Fatalf("a table of a 50-agent roster was drawn for one reader alone (rich %v)", first.HasRich())
	}
	if again := ask("table"); again.Drawing != first.Drawing {
		t.Error("a second reader of the table in the same second got another drawing")
	}
	if other := ask("table available"); other.Drawing == nil || other.Drawing == first.Drawing {
		t.Error("another table filter shares the first one's drawing, or none")
	}
	if classic := ask(""); classic.Drawing != nil {
		t.Error("the overview of a 50-agent roster is shared: its burst would leave at once")
	}
}

// smallFloor is a 50-agent simulator over HTTP on a fake clock, and a
// client of it.
func smallFloor(t *testing.T) (*clockwork.FakeClock, *presence.Client) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sim := ccmsim.New(ccmsim.Options{Now: clock.Now})
	sim.Add(ccmsim.GenerateRoster(50, ccmsim.DefaultTeams(), clock.Now().Add(-time.Hour), 1)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return clock, presence.NewClient(sim.AccountSID(), sim.Token(), presence.WithBaseURL(srv.URL))
}
