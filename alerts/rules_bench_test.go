package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// fixedRoster is a RosterSource that serves one roster.
type fixedRoster struct{ agents []presence.Agent }

func (f fixedRoster) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	r := &presence.Roster{Agents: f.agents}
	for _, a := range f.agents {
		r.Summary.Add(a.Status)
	}
	return r, nil
}

// ruleWorld is a floor of n agents in 100 teams and 110 rules: one per
// team, and 10 that each sum 10 teams; with a few silences, and half the
// team rules firing already.
func ruleWorld(b *testing.B, n int) (*Alerter, *presence.Snapshot, State, []silence.Silence) {
	b.Helper()
	tt := teams(100)
	snaps := presence.NewSnapshots(fixedRoster{ccmsim.GenerateRoster(n, tt, monday10, 11)}, time.Hour, func() time.Time { return monday10 })
	snap, err := snaps.Get(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var rules []AvailabilityRule
	for i, t := range tt {
		rules = append(rules, AvailabilityRule{Name: "team-" + t.ID, Teams: []string{t.ID}, Warning: n / 100 / 3 * (i % 2 * 2),
			Critical: n / 100 / 6, Repeat: 30 * time.Minute, Mention: []string{"U0SUPER"}})
	}
	for g := range 10 {
		var ids []string
		for _, t := range tt[g*10 : g*10+10] {
			ids = append(ids, t.ID)
		}
		rules = append(rules, AvailabilityRule{Name: fmt.Sprintf("group-%d", g), Teams: ids, Warning: n / 30, ResolveAt: n / 25, Repeat: 30 * time.Minute})
	}
	a := NewAlerter(nil, &recorder{}, state.NewMemoryStore(), Settings{Channel: "C", Rules: rules}, nil)
	base := State{Rev: 7, Tick: monday10.Add(-time.Minute), Rules: map[string]AlertState{}}
	for i, r := range rules[:100] {
		if i%2 == 0 {
			base.Rules[r.Key()] = firingAt(LevelWarning)
		}
	}
	sil := []silence.Silence{
		{ID: "a", Target: tt[3].ID, Start: monday10.Add(-time.Hour), End: monday10.Add(time.Hour)},
		{ID: "b", Target: "group-2", Start: monday10.Add(-time.Hour), End: monday10.Add(time.Hour)},
	}
	return a, snap, base, sil
}

// benchDecide measures one poll's evaluation without I/O: the snapshot
// counted once into per-team tallies, then every rule decided.
func benchDecide(b *testing.B, n int) {
	a, snap, base, sil := ruleWorld(b, n)
	now := monday10
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd := countSnapshot(snap)
		next, _, _ := a.decide(base, rd, nil, sil, now, "bench")
		if len(next.Rules) == 0 {
			b.Fatal("nothing decided")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(n)/100), "ns/100agents")
}

// BenchmarkDecideRules5000: 5,000 agents, 100 teams, 110 rules.
func BenchmarkDecideRules5000(b *testing.B) { benchDecide(b, 5000) }

// BenchmarkDecideRulesScaling shows the evaluation is O(agents): the
// ns/100agents figure stays flat as the floor grows.
func BenchmarkDecideRulesScaling(b *testing.B) {
	for _, n := range []int{1000, 5000, 20000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) { benchDecide(b, n) })
	}
}
