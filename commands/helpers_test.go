package commands_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start: the morning of the spec's examples.
var t0 = time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)

// secretToken is distinctive so a test can prove it never leaks.
const secretToken = "tok-SECRET-7f3a9c"

// Slack users of the standard mapping file.
const (
	userJohn   = "U0AGENT01" // agent_001, John Agent
	userJane   = "U0AGENT02" // agent_002, Jane Support
	userPriya  = "U0AGENT03" // agent_003, Priya Sharma
	userBoss   = "U0SUPER01" // supervisor, not an agent
	userNobody = "U0NOBODY1" // in no file, with no email match
)

const mappingYAML = `
agents:
  U0AGENT01: agent_001
  U0AGENT02: agent_002
  U0AGENT03: agent_003
supervisors:
  - U0SUPER01
`

// roster is the standard small floor: one agent in each status, plus a
// second available agent for name searches.
func roster() []presence.Agent {
	sales := presence.Team{ID: "sales_team", Name: "Sales"}
	support := presence.Team{ID: "support_team", Name: "Support"}
	return []presence.Agent{
		{ID: "agent_001", Name: "John Agent", Email: "john@company.com", Status: presence.Available,
			StatusSince: t0.Add(-95 * time.Minute), Team: &sales,
			Device: &presence.Device{Type: "softphone", ContactURI: "sip:john@company.com"},
			Stats:  &presence.Stats{CallsHandledToday: 15, AvgHandleTime: 240, TotalTalkTime: 3600}},
		{ID: "agent_002", Name: "Jane Support", Email: "jane@company.com", Status: presence.Busy,
			StatusSince: t0.Add(-20 * time.Minute), Team: &support},
		{ID: "agent_003", Name: "Priya Sharma", Email: "priya@company.com", Status: presence.OnCall,
			StatusSince: t0.Add(-2 * time.Minute), Team: &sales,
			CurrentCall: &presence.Call{SID: "call_active_123", Direction: "outbound", CustomerNumber: "+919876543210"}},
		{ID: "agent_004", Name: "Rohan Mehta", Email: "Rohan.Mehta@Company.com", Status: presence.AfterCallWork,
			StatusSince: t0.Add(-1 * time.Minute), Team: &support},
		{ID: "agent_005", Name: "Jane Doe", Email: "jane.doe@company.com", Status: presence.Offline,
			StatusSince: t0.Add(-5 * time.Hour), Team: &sales},
	}
}

// emails is an in-test EmailLookup: a fixed profile table that counts
// its calls and can be made to fail.
type emails struct {
	mu    sync.Mutex
	byID  map[string]string
	err   error
	calls int
}

func (e *emails) UserEmail(_ context.Context, slackUserID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.err != nil {
		return "", e.err
	}
	return e.byID[slackUserID], nil
}

func (e *emails) Calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// fixture is the commands handler wired to the simulator over real HTTP,
// with a fake clock and a captured log.
type fixture struct {
	sim    *ccmsim.Sim
	clock  *clockwork.FakeClock
	emails *emails
	roster *presence.Snapshots
	client *presence.Client
	h      *commands.Handler
	logs   *testlog.Buffer
}

type fixtureOptions struct {
	openToAll bool
	// wrap lets a test put a handler in front of the simulator, to act
	// between two requests of one command.
	wrap func(*ccmsim.Sim) http.Handler
	// clientOpts are added to the standard client options.
	clientOpts []presence.Option
	agents     []presence.Agent
	// queue switches on statuses queued for after a call (in memory,
	// expiring after queueExpiry).
	queue bool
}

// queueExpiry is how long a queued status waits in a fixture.
const queueExpiry = 2 * time.Hour

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	sim := ccmsim.New(ccmsim.Options{Token: secretToken, Now: clock.Now, Seed: 1})
	if o.agents == nil {
		o.agents = roster()
	}
	sim.Add(o.agents...)
	var handler http.Handler = sim
	if o.wrap != nil {
		handler = o.wrap(sim)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	opts := append([]presence.Option{
		presence.WithBaseURL(srv.URL),
		presence.WithRetry(1, time.Millisecond, time.Millisecond),
		presence.WithBreaker(0, 0, nil),
	}, o.clientOpts...)
	client := presence.NewClient(sim.AccountSID(), sim.Token(), opts...)
	snaps := presence.NewSnapshots(client, 2*time.Second, clock.Now)

	mapping, err := agentmap.Parse([]byte(mappingYAML))
	if err != nil {
		t.Fatalf("parse mapping: %v", err)
	}
	em := &emails{byID: map[string]string{}}
	logs := &testlog.Buffer{}
	var queue *commands.PendingQueue
	if o.queue {
		queue = commands.NewPendingQueue(state.NewMemoryStore(), queueExpiry)
	}
	h := commands.New(commands.Config{
		API:       client,
		Roster:    snaps,
		Directory: commands.NewDirectory(mapping, em, snaps, clock.Now),
		OpenToAll: o.openToAll,
		Queue:     queue,
		Now:       clock.Now,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
	})
	return &fixture{sim: sim, clock: clock, emails: em, roster: snaps, client: client, h: h, logs: logs}
}

// run sends one command as user and checks the answer fits Slack.
func (f *fixture) run(t testing.TB, user, command, text string) message.Message {
	t.Helper()
	m := f.h.Handle(context.Background(), commands.Request{UserID: user, ChannelID: "C0FLOOR", Command: command, Text: text})
	checkMessage(t, m)
	return m
}

// status returns an agent's status in the simulator.
func (f *fixture) status(t testing.TB, id string) presence.Status {
	t.Helper()
	a, ok := f.sim.Agent(id)
	if !ok {
		t.Fatalf("agent %s not in the simulator", id)
	}
	return a.Status
}

// auditLines returns the audit lines logged so far.
func (f *fixture) auditLines() []string {
	var out []string
	for _, l := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(l, "audit=true") {
			out = append(out, l)
		}
	}
	return out
}

// allText is every text of a message, blocks and fields, one per line.
func allText(m message.Message) string {
	var b strings.Builder
	for _, bl := range m.Blocks {
		b.WriteString(bl.Text)
		b.WriteByte('\n')
		for _, f := range bl.Fields {
			b.WriteString(f)
			b.WriteByte('\n')
		}
		for _, btn := range bl.Buttons {
			b.WriteString(btn.Label)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// wantText fails unless the answer holds every one of wants.
func wantText(t testing.TB, m message.Message, wants ...string) {
	t.Helper()
	got := allText(m)
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("answer lacks %q; got:\n%s", w, got)
		}
	}
}

// notText fails if the answer holds any of bad.
func notText(t testing.TB, m message.Message, bad ...string) {
	t.Helper()
	got := allText(m)
	for _, w := range bad {
		if strings.Contains(got, w) {
			t.Errorf("answer holds %q; got:\n%s", w, got)
		}
	}
}

// ownMention is the only markup the bot writes itself: a mention of a
// Slack user ID it has checked.
var ownMention = regexp.MustCompile(`<@[UW][A-Z0-9]+>`)

// entity is an escape the bot wrote.
var entity = regexp.MustCompile(`&(amp|lt|gt);`)

// checkEscaped fails if s has an '&', '<' or '>' the bot did not write as
// an escape or as its own mention: such a character came unescaped from
// the API or a user.
func checkEscaped(t testing.TB, where, s string) {
	t.Helper()
	rest := entity.ReplaceAllString(ownMention.ReplaceAllString(s, ""), "")
	if i := strings.IndexAny(rest, "&<>"); i >= 0 {
		t.Errorf("%s: unescaped %q in %q", where, rest[i], s)
	}
}

// checkMessage fails unless m is an answer Slack would take whole: at
// least one block, Slack's limits, no empty text, and everything escaped.
func checkMessage(t testing.TB, m message.Message) {
	t.Helper()
	if len(m.Blocks) == 0 {
		t.Fatalf("answer has no blocks (text %q)", m.Text)
	}
	if len(m.Blocks) > message.MaxBlocks {
		t.Errorf("answer has %d blocks, want at most %d", len(m.Blocks), message.MaxBlocks)
	}
	if m.Text == "" {
		t.Errorf("answer has no notification text")
	}
	checkEscaped(t, "notification text", m.Text)
	total := utf8.RuneCountInString(m.Text)
	for i, b := range m.Blocks {
		n := utf8.RuneCountInString(b.Text)
		total += n
		switch b.Kind {
		case message.Header:
			if n == 0 || n > message.MaxHeaderText {
				t.Errorf("block %d: header of %d characters, want 1..%d", i, n, message.MaxHeaderText)
			}
		case message.Section, message.Context:
			if n == 0 || n > message.MaxSectionText {
				t.Errorf("block %d: text of %d characters, want 1..%d", i, n, message.MaxSectionText)
			}
		case message.Fields:
			if len(b.Fields) == 0 || len(b.Fields) > message.MaxFields {
				t.Errorf("block %d: %d fields, want 1..%d", i, len(b.Fields), message.MaxFields)
			}
			for _, f := range b.Fields {
				fn := utf8.RuneCountInString(f)
				total += fn
				if fn == 0 || fn > message.MaxFieldText {
					t.Errorf("block %d: field of %d characters, want 1..%d", i, fn, message.MaxFieldText)
				}
				checkEscaped(t, "field", f)
			}
		}
		checkEscaped(t, "block text", b.Text)
	}
	if total > message.MaxMessageText {
		t.Errorf("answer has %d characters in all, want at most %d", total, message.MaxMessageText)
	}
}

// errSlackDown is what the in-test Slack profile lookup fails with.
var errSlackDown = errors.New("users.info: service unavailable")
