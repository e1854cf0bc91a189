package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sent is one message the recorder received.
type sent struct {
	channel, ts string
	msg         message.Message
}

// text is everything the message shows, for assertions.
func (s sent) text() string {
	var b strings.Builder
	b.WriteString(s.msg.Text)
	for _, bl := range s.msg.Blocks {
		b.WriteString("\n" + bl.Text)
		for _, f := range bl.Fields {
			b.WriteString("\n" + f)
		}
		for _, btn := range bl.Buttons {
			fmt.Fprintf(&b, "\n[%s %s=%s]", btn.Label, btn.ActionID, btn.Value)
		}
	}
	return b.String()
}

// button returns the message's first button, if any.
func (s sent) button() (message.Button, bool) {
	for _, bl := range s.msg.Blocks {
		if bl.Kind == message.Actions && len(bl.Buttons) > 0 {
			return bl.Buttons[0], true
		}
	}
	return message.Button{}, false
}

var errPostFailed = errors.New("ratelimited: rate limit exhausted")

// recorder is a Poster (and a Replier) that records what it is asked to
// send, and can be told to fail.
type recorder struct {
	mu      sync.Mutex
	posts   []sent
	updates []sent
	replies []sent // ts is the thread's
	n       int
	fail    bool
	// onPost, when set, runs once at the start of the next Post, outside
	// the lock: what another replica does while this one posts.
	onPost func()
}

func (r *recorder) Post(_ context.Context, channel string, m message.Message) (string, error) {
	r.mu.Lock()
	hook := r.onPost
	r.onPost = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return "", errPostFailed
	}
	r.n++
	ts := fmt.Sprintf("1700000000.%06d", r.n)
	r.posts = append(r.posts, sent{channel: channel, ts: ts, msg: m})
	return ts, nil
}

func (r *recorder) Update(_ context.Context, channel, ts string, m message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errPostFailed
	}
	r.updates = append(r.updates, sent{channel: channel, ts: ts, msg: m})
	return nil
}

// Reply records a reply in the thread of ts (a Replier).
func (r *recorder) Reply(_ context.Context, channel, thread string, m message.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return "", errPostFailed
	}
	r.n++
	r.replies = append(r.replies, sent{channel: channel, ts: thread, msg: m})
	return fmt.Sprintf("1700000000.%06d", r.n), nil
}

// takeReplies returns the replies since the last call.
func (r *recorder) takeReplies() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.replies
	r.replies = nil
	return out
}

// beforeNextPost sets onPost.
func (r *recorder) beforeNextPost(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onPost = f
}

func (r *recorder) setFail(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

// take returns the posts and updates since the last take.
func (r *recorder) take() (posts, updates []sent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	posts, updates = r.posts, r.updates
	r.posts, r.updates = nil, nil
	return posts, updates
}

func newLogger() (*slog.Logger, *testlog.Buffer) {
	buf := &testlog.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fixture is the simulator behind a real HTTP server on 127.0.0.1, a
// client without retries or breaker, and a recording poster.
type fixture struct {
	sim    *ccmsim.Sim
	client *presence.Client
	poster *recorder
}

func newFixture(t *testing.T, agents ...presence.Agent) *fixture {
	t.Helper()
	sim := ccmsim.New(ccmsim.Options{Now: func() time.Time { return monday10 }, Seed: 1})
	sim.Add(agents...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := presence.NewClient(sim.AccountSID(), sim.Token(),
		presence.WithBaseURL(srv.URL),
		presence.WithHTTPClient(srv.Client()),
		presence.WithRetry(1, time.Millisecond, time.Millisecond),
		presence.WithBreaker(0, 0, nil))
	return &fixture{sim: sim, client: client, poster: &recorder{}}
}

// force moves agents to a status, bypassing the transition table.
func (f *fixture) force(t *testing.T, st presence.Status, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := f.sim.Force(id, st); err != nil {
			t.Fatalf("force %s to %s: %v", id, st, err)
		}
	}
}

var (
	sales   = presence.Team{ID: "sales_team", Name: "Sales"}
	support = presence.Team{ID: "support_team", Name: "Support"}
)

func agent(id, name string, team presence.Team, st presence.Status) presence.Agent {
	return presence.Agent{ID: id, Name: name, Team: &team, Status: st}
}

// floor is the test roster: 3 of 4 sales agents and 2 of 4 support agents
// available.
func floor() []presence.Agent {
	return []presence.Agent{
		agent("s1", "Asha Rao", sales, presence.Available),
		agent("s2", "Bilal Khan", sales, presence.Available),
		agent("s3", "Chen Wei", sales, presence.Available),
		agent("s4", "Dana Lee", sales, presence.Offline),
		agent("p1", "Eva Silva", support, presence.Available),
		agent("p2", "Farid Nair", support, presence.Available),
		agent("p3", "Gita Das", support, presence.Busy),
		agent("p4", "Hugo Tan", support, presence.OnCall),
	}
}

// mustContain fails unless s holds every part.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s: got %q, want it to contain %q", what, s, p)
		}
	}
}

func mustNotContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(s, p) {
			t.Errorf("%s: got %q, want no %q", what, s, p)
		}
	}
}

// failingStore wraps a store whose saves can be made to fail.
type failingStore struct {
	state.Store
	mu       sync.Mutex
	failSave bool
	saves    int
}

func (f *failingStore) Save(ctx context.Context, key string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSave {
		return errors.New("disk full")
	}
	f.saves++
	return f.Store.Save(ctx, key, v)
}

// Update fails like Save: it is a write.
func (f *failingStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	f.mu.Lock()
	fail := f.failSave
	if !fail {
		f.saves++
	}
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Store.Update(ctx, key, v, change)
}

func (f *failingStore) setFailSave(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSave = fail
}
