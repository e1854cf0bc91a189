package commands_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// budgeted is a fixture whose client waits for an API budget on a fake
// clock of its own, recording what it lets through.
type budgeted struct {
	*fixture
	budget *presence.Budget
	clock  *clockwork.FakeClock

	mu      sync.Mutex
	grants  []string // kind/priority
	notices []message.Message
}

func newBudgeted(t *testing.T, o presence.BudgetOptions) *budgeted {
	t.Helper()
	bf := &budgeted{clock: clockwork.NewFakeClockAt(t0)}
	o.Clock = bf.clock
	o.OnGrant = func(g presence.BudgetGrant) {
		bf.mu.Lock()
		defer bf.mu.Unlock()
		bf.grants = append(bf.grants, g.Kind+"/"+g.Priority.String())
	}
	bf.budget = presence.NewBudget(o)
	bf.fixture = newFixture(t, fixtureOptions{clientOpts: []presence.Option{presence.WithBudget(bf.budget)}})
	return bf
}

func (bf *budgeted) notify(_ context.Context, m message.Message) {
	bf.mu.Lock()
	defer bf.mu.Unlock()
	bf.notices = append(bf.notices, m)
}

func (bf *budgeted) snapshot() (grants []string, notices []message.Message) {
	bf.mu.Lock()
	defer bf.mu.Unlock()
	return slices.Clone(bf.grants), slices.Clone(bf.notices)
}

// waitTimers waits, for up to 5 s, until n timers wait on the budget's
// clock.
func (bf *budgeted) waitTimers(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := bf.clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("%d timers never waited on the budget's clock: %v", n, err)
	}
}

// TestBudgetHeldChangeIsNoticedThenAnswered: a status change held by the
// budget past the notice delay tells the person once that it is queued,
// and where, then answers as usual; its GET and PUT go as writes.
func TestBudgetHeldChangeIsNoticedThenAnswered(t *testing.T) {
	for _, how := range []string{"command", "button"} {
		t.Run(how, func(t *testing.T) {
			bf := newBudgeted(t, presence.BudgetOptions{Rate: 100, Burst: 10, NoticeDelay: 2 * time.Second})
			bf.budget.Pause(5 * time.Second) // a 429 a moment ago
			done := make(chan message.Message, 1)
			go func() {
				if how == "command" {
					done <- bf.h.Handle(context.Background(), commands.Request{UserID: userJohn, ChannelID: "C0FLOOR",
						Command: "/status", Text: "busy", Notify: bf.notify})
					return
				}
				done <- bf.h.Click(context.Background(), commands.Click{UserID: userJohn, ChannelID: "C0FLOOR",
					ActionID: commands.ActionSetStatus, Value: "agent=agent_001&from=available&to=busy", Notify: bf.notify})
			}()
			bf.waitTimers(t, 3) // the GET's limit and notice timers, and the dispatcher
			bf.clock.Advance(1900 * time.Millisecond)
			if _, notices := bf.snapshot(); len(notices) != 0 {
				t.Fatalf("told it was queued before the notice delay: %v", notices)
			}
			bf.clock.Advance(100 * time.Millisecond)
			eventuallyTrue(t, "the queued notice", func() bool { _, n := bf.snapshot(); return len(n) == 1 })
			bf.clock.Advance(3 * time.Second)
			var m message.Message
			select {
			case m = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("no answer after the pause")
			}
			checkMessage(t, m)
			wantText(t, m, "now", "busy")
			if m.Outcome() != message.OutcomeOK {
				t.Errorf("outcome %s, want ok", m.Outcome())
			}
			grants, notices := bf.snapshot()
			if len(notices) != 1 {
				t.Fatalf("%d notices, want one", len(notices))
			}
			n := notices[0]
			checkMessage(t, n)
			wantText(t, n, "queued", "busy", "next", "replaced")
			if n.Visibility != message.Ephemeral {
				t.Errorf("the notice is not ephemeral")
			}
			if want := []string{"get/write", "update/write"}; !slices.Equal(grants, want) {
				t.Errorf("through the budget: %v, want %v", grants, want)
			}
			if got := bf.status(t, "agent_001"); got != presence.Busy {
				t.Errorf("agent_001 is %s, want busy", got)
			}
		})
	}
}

// TestBudgetExhaustedAnswerChangesNothing: a change that cannot get
// through the budget within its limit says so, and nothing was sent.
func TestBudgetExhaustedAnswerChangesNothing(t *testing.T) {
	bf := newBudgeted(t, presence.BudgetOptions{Rate: 100, Burst: 10, MaxWait: 2 * time.Minute})
	bf.budget.Pause(10 * time.Minute)
	done := make(chan message.Message, 1)
	go func() {
		done <- bf.h.Handle(context.Background(), commands.Request{UserID: userJohn, ChannelID: "C0FLOOR",
			Command: "/status", Text: "busy"})
	}()
	bf.waitTimers(t, 2) // the GET's limit and the dispatcher
	bf.clock.Advance(2 * time.Minute)
	var m message.Message
	select {
	case m = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after the budget's limit")
	}
	checkMessage(t, m)
	wantText(t, m, "API budget is exhausted", "Nothing was changed")
	if m.Outcome() != message.OutcomeError {
		t.Errorf("outcome %s, want error", m.Outcome())
	}
	if st := bf.sim.Stats(); st.Total != 0 {
		t.Errorf("the contact center saw %+v, want nothing", st)
	}
	if got := bf.status(t, "agent_001"); got != presence.Available {
		t.Errorf("agent_001 is %s, want available still", got)
	}
	if audit := strings.Join(bf.auditLines(), "\n"); !strings.Contains(audit, "budget") {
		t.Errorf("the audit line does not say why: %s", audit)
	}
}

// eventuallyTrue polls cond every 2 ms for up to 5 s.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
