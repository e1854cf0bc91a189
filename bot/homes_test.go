package bot

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
)

// fakeClock is a settable clock for the memory HomeSet.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestMemoryHomeSetRemembersForItsTTL(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	h := NewMemoryHomeSet(time.Hour, 10, clock.Now)
	h.Opened(ctx, "U1")
	clock.Add(30 * time.Minute)
	h.Opened(ctx, "U2")
	if !h.IsOpen(ctx, "U1") || !h.IsOpen(ctx, "U2") || h.IsOpen(ctx, "U3") {
		t.Errorf("IsOpen U1, U2, U3 = %v, %v, %v; want true, true, false", h.IsOpen(ctx, "U1"), h.IsOpen(ctx, "U2"), h.IsOpen(ctx, "U3"))
	}
	if got := sorted(h.Open(ctx)); !slices.Equal(got, []string{"U1", "U2"}) {
		t.Errorf("Open = %v, want [U1 U2]", got)
	}
	// U1 opened an hour and a minute ago: forgotten; U2 not yet.
	clock.Add(31 * time.Minute)
	if h.IsOpen(ctx, "U1") || !h.IsOpen(ctx, "U2") {
		t.Errorf("after U1's TTL: IsOpen U1, U2 = %v, %v; want false, true", h.IsOpen(ctx, "U1"), h.IsOpen(ctx, "U2"))
	}
	if got := h.Open(ctx); !slices.Equal(got, []string{"U2"}) {
		t.Errorf("Open after U1's TTL = %v, want [U2]", got)
	}
	// Opening again starts the TTL over.
	h.Opened(ctx, "U2")
	clock.Add(59 * time.Minute)
	if !h.IsOpen(ctx, "U2") {
		t.Error("U2 opened again 59 minutes ago: IsOpen false, want true")
	}
}

func TestMemoryHomeSetIsBounded(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	h := NewMemoryHomeSet(time.Hour, 3, clock.Now)
	for _, u := range []string{"U1", "U2", "U3", "U4", "U5"} {
		h.Opened(ctx, u)
		clock.Add(time.Second)
	}
	// The newest three are kept: a full set forgets the oldest.
	if got := sorted(h.Open(ctx)); !slices.Equal(got, []string{"U3", "U4", "U5"}) {
		t.Errorf("Open = %v, want the newest three [U3 U4 U5]", got)
	}
	if h.IsOpen(ctx, "U1") {
		t.Error("U1, the oldest, still open in a full set")
	}
}

// homeBot is a Commands with an App Home that records the Homes it
// renders and can hold them.
type homeBot struct {
	changed string        // the user whose status each command changes
	hold    chan struct{} // when set, Home waits for it to close
	mu      sync.Mutex
	renders []string
	active  atomic.Int32
	peak    atomic.Int32
}

func (h *homeBot) Handle(_ context.Context, req commands.Request) message.Message {
	m := message.Reply("ok")
	m.Changed = h.changed
	return m
}

func (h *homeBot) Home(ctx context.Context, user string) []message.Block {
	n := h.active.Add(1)
	defer h.active.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	h.mu.Lock()
	h.renders = append(h.renders, user)
	h.mu.Unlock()
	if h.hold != nil {
		select {
		case <-h.hold:
		case <-ctx.Done():
		}
	}
	return []message.Block{message.NewSection("home of " + user)}
}

func (h *homeBot) rendered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.renders)
}

// published lists the users whose Home the fake Slack got, in order.
func published(fs *fakeslack.Server) []string {
	var users []string
	for _, m := range fs.Messages() {
		if m.Method == "views.publish" {
			users = append(users, m.User)
		}
	}
	return users
}

// A status changed on this replica refreshes the Home of its person when
// the shared HomeSet says they opened it, though they opened it through
// another replica's connection: this bot never saw the event.
func TestChangeRefreshesAHomeOpenedElsewhere(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	homes := NewMemoryHomeSet(time.Hour, 10, nil)
	homes.Opened(context.Background(), "U0AGENT") // as another replica recorded it
	run(t, fs, &homeBot{changed: "U0AGENT"}, func(c *Config) { c.HomeSet = homes })

	id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U0AGENT", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, fs, id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fs.WaitMessage(ctx, func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == "U0AGENT"
	}); err != nil {
		t.Fatalf("the Home opened elsewhere was not refreshed: %v", err)
	}
}

// app_home_opened is recorded in the HomeSet (by the worker, so the
// shared store never delays an ack).
func TestHomeOpenedIsRecorded(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	homes := NewMemoryHomeSet(time.Hour, 10, nil)
	run(t, fs, &homeBot{}, func(c *Config) { c.HomeSet = homes })
	if _, err := fs.SendEvent(map[string]any{"type": "app_home_opened", "user": "U0OPENER", "tab": "home", "channel": "D0X"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fs.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.Method == "views.publish" }); err != nil {
		t.Fatal(err)
	}
	if !homes.IsOpen(context.Background(), "U0OPENER") {
		t.Error("app_home_opened not recorded in the HomeSet")
	}
}

// RefreshHomes republishes the Homes of those who opened it and whom the
// filter keeps, a few at a time, without making its caller (the alert
// poll) wait; asked again while it runs, it runs once more, not once per
// call.
func TestRefreshHomesIsFilteredBoundedAndNeverBlocks(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	ctx := context.Background()
	homes := NewMemoryHomeSet(time.Hour, 100, nil)
	var supers []string
	for i := range 12 {
		u := "U0SUP" + string(rune('A'+i))
		supers = append(supers, u)
		homes.Opened(ctx, u)
	}
	homes.Opened(ctx, "U0AGENT") // opened, not a supervisor
	isSuper := func(u string) bool { return strings.HasPrefix(u, "U0SUP") || u == "U0NEVER" }
	hb := &homeBot{hold: make(chan struct{})}
	bt := unstarted(t, fs, hb, homes)

	start := time.Now()
	bt.RefreshHomes(isSuper)
	bt.RefreshHomes(isSuper) // while the first runs: one more pass
	bt.RefreshHomes(isSuper)
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("RefreshHomes took %s with every Home held: it must not wait", took)
	}
	eventually(t, "the first renders", func() bool { return hb.active.Load() == homeRefreshLimit })
	close(hb.hold)
	eventually(t, "two passes published", func() bool { return len(published(fs)) == 2*len(supers) })
	time.Sleep(5 * time.Millisecond) // a third pass would have begun by now
	got := published(fs)
	if len(got) != 2*len(supers) {
		t.Errorf("%d Homes published, want %d (two passes of %d supervisors)", len(got), 2*len(supers), len(supers))
	}
	for _, u := range got {
		if !slices.Contains(supers, u) {
			t.Errorf("the Home of %s was published: not a supervisor who opened it", u)
		}
	}
	if p := hb.peak.Load(); p > homeRefreshLimit {
		t.Errorf("%d Homes rendered at once, want at most %d", p, homeRefreshLimit)
	}

	// Once the bot stops, nothing more starts: a poll still running during
	// shutdown must not leave a refresh behind.
	bt.stopRefreshes()
	bt.RefreshHomes(nil)
	bt.refreshes.Wait()
	if n := len(published(fs)); n != 2*len(supers) {
		t.Errorf("%d Homes published after the stop, want none (%d before)", n-2*len(supers), 2*len(supers))
	}
}

// unstarted builds a bot that is not Run: RefreshHomes needs only the
// Web API. Its refreshes are stopped and waited for at cleanup.
func unstarted(t *testing.T, fs *fakeslack.Server, cmds Commands, homes HomeSet) *Bot {
	t.Helper()
	b, err := New(Config{
		Web:      NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()}),
		Commands: cmds,
		HomeSet:  homes,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.stopRefreshes()
		b.refreshes.Wait()
	})
	return b
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
