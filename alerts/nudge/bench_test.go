package nudge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// BenchmarkNudgePoll5000 is one poll of 3 rules over 5,000 agents with
// nothing due: 50 agents are in episodes already escalated, the rest in
// their status for less than the rules allow or in another. It reports
// the time per 100 agents, which must stay well under a millisecond.
func BenchmarkNudgePoll5000(b *testing.B) {
	const agents = 5000
	teams := []string{"sales_team", "support_team", "billing_team", "retention_team"}
	statuses := []presence.Status{presence.Available, presence.OnCall, presence.AfterCallWork, presence.Busy, presence.Offline}
	var list []presence.Agent
	dir := directory{}
	for i := range agents {
		id := fmt.Sprintf("agent_%04d", i)
		st := statuses[i%len(statuses)]
		since := t0.Add(-time.Minute)
		if i < 50 {
			st, since = presence.AfterCallWork, t0.Add(-20*time.Minute)
		}
		list = append(list, agent(id, "Agent "+id, teams[i%len(teams)], st, since))
		if i%2 == 0 {
			dir[id] = fmt.Sprintf("U%04d", i)
		}
	}
	src := &roster{agents: list}
	msg := &messenger{}
	rules := []Rule{
		wrapUp(),
		{Name: "long-break", Teams: []string{"sales_team", "support_team"}, Status: presence.Busy, After: 15 * time.Minute,
			EscalateAfter: 5 * time.Minute, Channel: "C0FLOOR"},
		{Name: "long-call", Status: presence.OnCall, After: 30 * time.Minute, EscalateAfter: 10 * time.Minute, Channel: "C0FLOOR"},
	}
	n := New(msg, state.NewMemoryStore(), Settings{Rules: rules, Roster: presence.NewSnapshots(src, time.Hour, func() time.Time { return t0 }),
		Directory: dir}, nil)
	ctx := context.Background()
	for _, at := range []time.Time{t0, t0.Add(3 * time.Minute)} { // the 50 are nudged, then escalated
		if err := n.Poll(ctx, at); err != nil {
			b.Fatal(err)
		}
	}
	if got := len(msg.take()); got != 75 {
		b.Fatalf("setup sent %d messages, want 25 DMs and 50 escalations", got)
	}
	start := t0.Add(3 * time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := n.Poll(ctx, start.Add(time.Duration(i+1)*time.Microsecond)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if calls := msg.take(); len(calls) != 0 {
		b.Fatalf("the polls sent %d messages, want none due", len(calls))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(agents/100), "ns/100agents")
}
