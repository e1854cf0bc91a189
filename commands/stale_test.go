package commands_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// staleNote is what an answer from a stretched snapshot says.
const staleNote = "Data from 14s ago (the contact center's API budget is busy)"

// While the API budget is under pressure the roster lives longer than the
// TTL; every answer drawn from it then says how old it is, and none does
// while it is current.
func TestStalePresenceAnswersSayHowOld(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	home := func() message.Message {
		return message.Message{Blocks: f.h.Home(context.Background(), userBoss)}
	}
	forms := map[string]func() message.Message{
		"/presence":           func() message.Message { return f.run(t, userBoss, "/presence", "") },
		"/presence available": func() message.Message { return f.run(t, userBoss, "/presence", "available") },
		"/presence team":      func() message.Message { return f.run(t, userBoss, "/presence", "team sales_team") },
		"the floor Home":      home,
	}
	for name, ask := range forms {
		notText(t, ask(), "Data from")
		_ = name
	}
	lists := f.sim.Stats().Lists

	f.roster.SetPressure(true)
	f.clock.Advance(14 * time.Second)
	for name, ask := range forms {
		m := ask()
		if !strings.Contains(allText(m), staleNote) {
			t.Errorf("%s under pressure, 14 s old: no %q in\n%s", name, staleNote, allText(m))
		}
	}
	if got := f.sim.Stats().Lists; got != lists {
		t.Errorf("list requests = %d under pressure, want %d (the stretched snapshot)", got, lists)
	}

	f.roster.SetPressure(false)
	for name, ask := range forms {
		m := ask()
		if strings.Contains(allText(m), "Data from") {
			t.Errorf("%s once the pressure ended: still marked\n%s", name, allText(m))
		}
	}
}

// The after-call poll asks about the agents it waits on, one GET each,
// and lists nothing: a few queued statuses cost a few requests, whatever
// the size of the floor.
func TestAfterCallPollGetsOnlyTheQueuedAgents(t *testing.T) {
	// A thousand agents more, a third of them on calls: listing who is
	// on a call would take several pages.
	agents := append(roster(), ccmsim.GenerateRoster(1000, nil, t0, 1)...)
	f := newFixture(t, fixtureOptions{queue: true, agents: agents})
	if err := f.sim.StartCall("agent_001", presence.Call{Direction: "inbound"}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Force("agent_002", presence.OnCall); err != nil {
		t.Fatal(err)
	}
	wantText(t, f.run(t, userPriya, "/status", "available after-call"), "Noted")
	wantText(t, f.run(t, userJohn, "/status", "offline after-call"), "Noted")
	wantText(t, f.run(t, userBoss, "/status", "available after-call <@U0AGENT02>"), "Queued")
	// A roster read by /presence: its counts tell the poll what a list
	// would cost.
	f.run(t, userBoss, "/presence", "")
	f.sim.ResetStats()

	if dms := f.poll(t); len(dms) != 0 {
		t.Errorf("DMs while every call goes on: %v", dms)
	}
	if st := f.sim.Stats(); st.Lists != 0 || st.Gets != 3 {
		t.Errorf("poll while three wait: %+v; want 3 GETs and no list", st)
	}

	if err := f.sim.EndCall("agent_003"); err != nil {
		t.Fatal(err)
	}
	f.sim.ResetStats()
	dms := f.poll(t)
	wantDM(t, dms, userPriya, "now 🟢 *available*")
	if st := f.sim.Stats(); st.Lists != 0 || st.Gets != 3 || st.Puts != 1 {
		t.Errorf("poll once one call ended: %+v; want 3 GETs, 1 PUT, no list", st)
	}
	if got := f.status(t, "agent_003"); got != presence.Available {
		t.Errorf("agent_003 is %s, want available", got)
	}
}

// The after-call poll's GET and PUT are changes in the API budget, ahead
// of roster reads: a queued status is a status change that waited.
func TestAfterCallPollGoesAsAChangeInTheBudget(t *testing.T) {
	var mu sync.Mutex
	grants := map[string][]presence.Priority{}
	budget := presence.NewBudget(presence.BudgetOptions{Rate: 1000, Burst: 100, OnGrant: func(g presence.BudgetGrant) {
		mu.Lock()
		defer mu.Unlock()
		grants[g.Kind] = append(grants[g.Kind], g.Priority)
	}})
	f := newFixture(t, fixtureOptions{queue: true, clientOpts: []presence.Option{presence.WithBudget(budget)}})
	// agent_003 (Priya) is on a call in the fixture's roster.
	wantText(t, f.run(t, userPriya, "/status", "available after-call"), "Noted")
	if err := f.sim.EndCall("agent_003"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clear(grants)
	mu.Unlock()
	wantDM(t, f.poll(t), userPriya, "now 🟢 *available*")
	mu.Lock()
	defer mu.Unlock()
	if len(grants["update"]) != 1 || grants["update"][0] != presence.Write {
		t.Errorf("the poll's PUT went as %v, want one write", grants["update"])
	}
	for _, p := range grants["get"] {
		if p != presence.Write {
			t.Errorf("the poll's GETs went as %v, want writes", grants["get"])
			break
		}
	}
}

// Under pressure and past even the stretched TTL, a refresh may wait
// minutes behind status changes (they go first on the budget): /presence
// waits for it only briefly, then answers from the last roster, marked
// with its age as any roster past the TTL; the refresh goes on for the
// next reader.
func TestPresenceUnderPressureAnswersFromTheLastRosterSoon(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	var hold sync.Mutex
	holding := false
	f := newFixture(t, fixtureOptions{wrap: func(sim *ccmsim.Sim) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hold.Lock()
			h := holding
			hold.Unlock()
			if h && r.Method == http.MethodGet {
				<-release // the refresh waits, as behind a burst of changes
			}
			sim.ServeHTTP(w, r)
		})
	}})
	if m := f.run(t, userBoss, "/presence", ""); m.Failed {
		t.Fatalf("the first /presence failed: %s", allText(m))
	}
	hold.Lock()
	holding = true
	hold.Unlock()
	f.roster.SetPressure(true)
	f.clock.Advance(time.Minute) // past the stretched TTL too

	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	// Waiting out the refresh would end at this deadline, with another
	// reason in the answer.
	m := f.h.Handle(ctx, commands.Request{UserID: userBoss, ChannelID: "C0FLOOR", Command: "/presence"})
	checkMessage(t, m)
	text := allText(m)
	for _, want := range []string{"Data from 1m ago (the contact center's API budget is busy)", "Agent presence"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the answer:\n%s", want, text)
		}
	}
	// Served as asked, marked with its age: not a failure.
	if o := m.Outcome(); o != message.OutcomeOK {
		t.Errorf("outcome %q, want ok", o)
	}
	unblock()
}
