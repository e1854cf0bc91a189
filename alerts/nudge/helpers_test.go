package nudge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// roster is a fixed roster the test changes by hand, read through the
// real snapshots (a TTL of 0: every Get reads it again).
type roster struct {
	mu     sync.Mutex
	agents []presence.Agent
	fail   error
	lists  int
	// during, when set, runs (once) as a list begins, outside the lock.
	during func()
}

func (r *roster) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	r.mu.Lock()
	hook := r.during
	r.during = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lists++
	if r.fail != nil {
		return nil, r.fail
	}
	return &presence.Roster{Agents: slices.Clone(r.agents)}, nil
}

// move sets an agent's status and status_since.
func (r *roster) move(id string, st presence.Status, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.agents {
		if r.agents[i].ID == id {
			r.agents[i].Status, r.agents[i].StatusSince = st, since
		}
	}
}

func (r *roster) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

func (r *roster) reader() presence.Reader {
	return presence.NewSnapshots(r, 0, func() time.Time { return t0 })
}

func agent(id, name, team string, st presence.Status, since time.Time) presence.Agent {
	return presence.Agent{ID: id, Name: name, Status: st, StatusSince: since, Team: &presence.Team{ID: team, Name: team}}
}

// directory maps agent IDs to Slack users.
type directory map[string]string

func (d directory) SlackUser(agentID string) (string, bool) {
	u, ok := d[agentID]
	return u, ok
}

// sent is one call the messenger got.
type sent struct {
	method      string // "dm", "post" or "update"
	user        string // the DM's user
	channel, ts string
	m           message.Message
}

// text is everything the message says, blocks included.
func (s sent) text() string {
	parts := []string{s.m.Text}
	for _, b := range s.m.Blocks {
		parts = append(parts, b.Text)
		parts = append(parts, b.Fields...)
	}
	return strings.Join(parts, "\n")
}

func (s sent) buttons() []message.Button {
	var out []message.Button
	for _, b := range s.m.Blocks {
		out = append(out, b.Buttons...)
	}
	return out
}

// messenger records what it is asked to send; failDM fails that many
// DMs first. It is safe for concurrent use (replicas share it, as they
// share Slack).
type messenger struct {
	mu     sync.Mutex
	calls  []sent
	failDM int
	seq    int
	// beforeDM, when set, runs (once) as a DM begins, outside the lock.
	beforeDM func()
}

func (m *messenger) DM(_ context.Context, user string, msg message.Message) (string, string, error) {
	m.mu.Lock()
	hook := m.beforeDM
	m.beforeDM = nil
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failDM > 0 {
		m.failDM--
		return "", "", errors.New("slack: ratelimited")
	}
	m.seq++
	s := sent{method: "dm", user: user, channel: "D" + user[1:], ts: fmt.Sprintf("%d.000", m.seq), m: msg}
	m.calls = append(m.calls, s)
	return s.channel, s.ts, nil
}

func (m *messenger) Post(_ context.Context, channel string, msg message.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	s := sent{method: "post", channel: channel, ts: fmt.Sprintf("%d.000", m.seq), m: msg}
	m.calls = append(m.calls, s)
	return s.ts, nil
}

func (m *messenger) Update(_ context.Context, channel, ts string, msg message.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, sent{method: "update", channel: channel, ts: ts, m: msg})
	return nil
}

func (m *messenger) setFailDM(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failDM = n
}

// take returns the calls since the last take.
func (m *messenger) take() []sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.calls
	m.calls = nil
	return out
}

func only(calls []sent, method string) []sent {
	var out []sent
	for _, c := range calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func newLogger() (*slog.Logger, *testlog.Buffer) {
	buf := &testlog.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fixture is a nudger over a fixed roster, a memory store and a
// recording messenger, with Asha (mapped) and Bilal (busy) on the floor.
type fixture struct {
	roster *roster
	store  *state.MemoryStore
	msg    *messenger
	dir    directory
	log    *testlog.Buffer
	n      *Nudger
}

func newFixture(t *testing.T, agents ...presence.Agent) *fixture {
	t.Helper()
	if agents == nil {
		agents = []presence.Agent{
			agent("agent_001", "Asha Rao", "support_team", presence.AfterCallWork, ago(5*time.Minute)),
			agent("agent_002", "Bilal Khan", "support_team", presence.Busy, ago(time.Hour)),
		}
	}
	f := &fixture{roster: &roster{agents: agents}, store: state.NewMemoryStore(), msg: &messenger{},
		dir: directory{"agent_001": "U0ASHA", "agent_002": "U0BILAL"}}
	return f
}

// nudger builds a nudger of the fixture's (more share its store and
// messenger, as replicas share Redis and Slack).
func (f *fixture) nudger(t *testing.T, change func(*Settings)) *Nudger {
	t.Helper()
	log, buf := newLogger()
	f.log = buf
	s := Settings{Rules: []Rule{wrapUp()}, Roster: f.roster.reader(), Directory: f.dir}
	if change != nil {
		change(&s)
	}
	return New(f.msg, f.store, s, log)
}

func poll(t *testing.T, n *Nudger, at time.Time) {
	t.Helper()
	if err := n.Poll(context.Background(), at); err != nil {
		t.Fatalf("poll at %s: %v", at.Format("15:04"), err)
	}
}

func (f *fixture) state(t *testing.T) State {
	t.Helper()
	var st State
	if _, err := f.store.Load(context.Background(), StateKey, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s: %q lacks %q", what, s, p)
		}
	}
}

func mustNotContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(s, p) {
			t.Errorf("%s: %q has %q", what, s, p)
		}
	}
}

// buttonSummary lists buttons as "action value" lines.
func buttonSummary(bs []message.Button) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Label+" "+b.ActionID+" "+b.Value)
	}
	return out
}

// flakyStore is a memory store whose Updates fail while failing is set.
type flakyStore struct {
	*state.MemoryStore
	mu      sync.Mutex
	failing bool
}

func (f *flakyStore) setFailing(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = on
}

func (f *flakyStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	f.mu.Lock()
	failing := f.failing
	f.mu.Unlock()
	if failing {
		return errors.New("redis: i/o timeout")
	}
	return f.MemoryStore.Update(ctx, key, v, change)
}
