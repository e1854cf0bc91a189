package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// fakeClock is a settable clock for the snapshots.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// A poll with the roster fresh in the shared snapshot (another reader
// fetched it within the TTL) asks the contact center nothing, and counts
// from it as it would from its own list.
func TestAlertPollReadsAFreshSnapshot(t *testing.T) {
	f := newFixture(t, floor()...)
	clk := &fakeClock{now: monday10}
	snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
	s := settings()
	s.Rules = append(s.Rules, teamRule("support_team", 3))
	s.Roster = snaps
	a := f.alerter(t, nil, s)
	f.force(t, presence.Offline, "s1")
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.sim.ResetStats()
	poll(t, a, at(0))
	if st := f.sim.Stats(); st.Total != 0 {
		t.Errorf("the poll made %+v requests with a fresh snapshot, want none", st)
	}
	posts, _ := f.expect(t, "below both thresholds", 2, 0)
	mustContain(t, "total alert", posts[0].text(), "*4 agents* available across all teams",
		"Available: Bilal Khan, Chen Wei, Eva Silva, Farid Nair.")
	mustContain(t, "team alert", posts[1].text(), "Support", "*2 agents* available", "Available: Eva Silva, Farid Nair.")
}

// Without a fresh snapshot the poll reads the cheaper way: the whole
// roster when it is one page anyway (and then the snapshot is fresh for
// everyone else), its own list of who is available when the roster is
// many pages.
func TestAlertPollWithoutAFreshSnapshotReadsTheCheaperWay(t *testing.T) {
	t.Run("small roster: the snapshot", func(t *testing.T) {
		f := newFixture(t, floor()...)
		clk := &fakeClock{now: monday10}
		snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
		s := settings()
		s.Roster = snaps
		a := f.alerter(t, nil, s)
		if _, err := snaps.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.now = clk.now.Add(time.Minute)
		f.sim.ResetStats()
		poll(t, a, at(time.Minute))
		if st := f.sim.Stats(); st.Lists != 1 {
			t.Errorf("lists = %d, want 1", st.Lists)
		}
		if _, ok := snaps.Fresh(context.Background()); !ok {
			t.Error("the poll read the roster, but the snapshot is not fresh for the others")
		}
	})
	t.Run("large roster: its own list", func(t *testing.T) {
		f := newFixture(t, ccmsim.GenerateRoster(1000, ccmsim.DefaultTeams(), monday10, 7)...)
		clk := &fakeClock{now: monday10}
		snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
		s := settings()
		s.Rules[0].Warning = 0
		s.Roster = snaps
		a := f.alerter(t, nil, s)
		if _, err := snaps.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.now = clk.now.Add(time.Minute)
		f.sim.ResetStats()
		poll(t, a, at(time.Minute))
		if st := f.sim.Stats(); st.Lists != 1 {
			t.Errorf("lists = %d, want 1 (the available list, not 10 pages of roster)", st.Lists)
		}
	})
}

// A summary with the roster fresh asks nothing; with a snapshot kept
// past the TTL under pressure it says how old its data is.
func TestSummaryReadsTheSharedSnapshot(t *testing.T) {
	f := newFixture(t, floor()...)
	clk := &fakeClock{now: monday10}
	snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
	sum := NewSummarizer(snaps, f.poster, state.NewMemoryStore(), SummarySettings{Channel: "C_SUMMARY"}, nil)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.sim.ResetStats()
	m := run(t, sum, monday10)
	if st := f.sim.Stats(); st.Total != 0 {
		t.Errorf("the summary made %+v requests with a fresh snapshot, want none", st)
	}
	mustNotContain(t, "fresh summary", m.text(), "Data from")

	snaps.SetPressure(true)
	clk.now = clk.now.Add(14 * time.Second)
	m = run(t, sum, clk.now) // the tick is the run's now
	mustContain(t, "stretched summary", m.text(), "Data from 14s ago (the contact center's API budget is busy)")
	if st := f.sim.Stats(); st.Total != 0 {
		t.Errorf("the summary made %+v requests under pressure, want none", st)
	}
}

// A stale summary of a floor with more teams than Slack's blocks allow
// still fits: the note takes the place of one more team.
func TestSummaryStaleNoteFitsSlack(t *testing.T) {
	f := newFixture(t, ccmsim.GenerateRoster(2000, teams(60), monday10, 5)...)
	clk := &fakeClock{now: monday10}
	snaps := presence.NewSnapshots(f.client, 2*time.Second, clk.Now)
	if _, err := snaps.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	snaps.SetPressure(true)
	clk.now = clk.now.Add(14 * time.Second)
	sum := NewSummarizer(snaps, f.poster, state.NewMemoryStore(), SummarySettings{Channel: "C_SUMMARY"}, nil)
	m := run(t, sum, clk.now).msg
	checkLimits(t, m)
	if len(m.Blocks) != message.MaxBlocks {
		t.Errorf("got %d blocks, want exactly %d", len(m.Blocks), message.MaxBlocks)
	}
	mustContain(t, "stale summary", sent{msg: m}.text(), "Data from 14s ago", "…and 16 teams not shown: ")
}
