package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

func (f *fixture) summarizer(t *testing.T, store state.Store) *Summarizer {
	t.Helper()
	if store == nil {
		store = state.NewMemoryStore()
	}
	// A TTL of 0 reads the roster afresh on every run.
	snaps := presence.NewSnapshots(f.client, 0, func() time.Time { return monday10 })
	return NewSummarizer(snaps, f.poster, store, SummarySettings{Channel: "C_SUMMARY"}, nil)
}

func run(t *testing.T, s *Summarizer, now time.Time) sent {
	t.Helper()
	if err := s.Run(context.Background(), now); err != nil {
		t.Fatalf("Run at %s: %v", now.Format("15:04"), err)
	}
	posts, updates := s.post.(*recorder).take()
	if len(posts) != 1 || len(updates) != 0 {
		t.Fatalf("Run at %s: got %d posts and %d updates, want 1 post", now.Format("15:04"), len(posts), len(updates))
	}
	return posts[0]
}

// sections returns the texts of the message's section blocks.
func sections(m message.Message) []string {
	var out []string
	for _, b := range m.Blocks {
		if b.Kind == message.Section {
			out = append(out, b.Text)
		}
	}
	return out
}

func checkSections(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d sections, want %d:\n%s", len(got), len(want), strings.Join(got, "\n---\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("section %d:\ngot  %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestSummaryContent(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)

	first := run(t, s, at(0))
	if first.channel != "C_SUMMARY" {
		t.Errorf("posted to %q, want C_SUMMARY", first.channel)
	}
	if got, want := first.msg.Blocks[0], message.NewHeader("Presence summary · Mon 10:00"); got.Kind != want.Kind || got.Text != want.Text {
		t.Errorf("header: got %+v, want %+v", got, want)
	}
	if got, want := first.msg.Text, "Presence summary: 9 of 25 agents available, 3 teams"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	checkSections(t, sections(first.msg), []string{
		"*All teams* · 25 agents\n*available 9* · on-call 7 · after-call work 2 · busy 3 · offline 4\n" +
			"Available: Fatima Abdullah, Jane Support, John Agent, Karan Kumar, Kavya Rao, Marco Silva, Meera Nair, Sarah Wong, Wei Tan.",
		"*Billing* (`billing_team`) · 5 agents\n*available 2* · on-call 1 · after-call work 0 · busy 1 · offline 1\n" +
			"Available: Meera Nair, Sarah Wong.",
		"*Sales* (`sales_team`) · 9 agents\n*available 4* · on-call 2 · after-call work 0 · busy 1 · offline 2\n" +
			"Available: Fatima Abdullah, John Agent, Karan Kumar, Marco Silva.",
		"*Support* (`support_team`) · 11 agents\n*available 3* · on-call 4 · after-call work 2 · busy 1 · offline 1\n" +
			"Available: Jane Support, Kavya Rao, Wei Tan.",
	})
	mustContain(t, "first summary", first.text(), "First summary")

	// John (sales) goes busy, Wei (support) takes a call.
	f.force(t, presence.Busy, "agent_001")
	f.force(t, presence.OnCall, "agent_014")
	second := run(t, s, at(time.Hour))
	if got, want := second.msg.Text, "Presence summary: 7 of 25 agents available (-2), 3 teams"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	checkSections(t, sections(second.msg), []string{
		"*All teams* · 25 agents\n*available 7* (-2) · on-call 8 (+1) · after-call work 2 · busy 4 (+1) · offline 4\n" +
			"Available: Fatima Abdullah, Jane Support, Karan Kumar, Kavya Rao, Marco Silva, Meera Nair, Sarah Wong.",
		"*Billing* (`billing_team`) · 5 agents\n*available 2* · on-call 1 · after-call work 0 · busy 1 · offline 1\n" +
			"Available: Meera Nair, Sarah Wong.",
		"*Sales* (`sales_team`) · 9 agents\n*available 3* (-1) · on-call 2 · after-call work 0 · busy 2 (+1) · offline 2\n" +
			"Available: Fatima Abdullah, Karan Kumar, Marco Silva.",
		"*Support* (`support_team`) · 11 agents\n*available 2* (-1) · on-call 5 (+1) · after-call work 2 · busy 1 · offline 1\n" +
			"Available: Jane Support, Kavya Rao.",
	})
	mustContain(t, "second summary", second.text(), "Changes since the previous summary at Mon 10:00.")
}

func TestSummaryChangesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	fileStore := func() state.Store {
		fs, err := state.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	run(t, f.summarizer(t, fileStore()), at(0))

	f.force(t, presence.Available, "agent_008") // Arjun, billing, was offline
	after := run(t, f.summarizer(t, fileStore()), at(time.Hour))
	mustContain(t, "after restart", after.text(), "*available 10* (+1)", "offline 3 (-1)", "*available 3* (+1)",
		"Changes since the previous summary at Mon 10:00.")
}

func TestSummaryFailedPostKeepsPreviousCounts(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)
	run(t, s, at(0))

	f.force(t, presence.Offline, "agent_001")
	f.poster.setFail(true)
	if err := s.Run(context.Background(), at(time.Hour)); !errors.Is(err, errPostFailed) {
		t.Fatalf("Run with a failing post: got %v, want the post error", err)
	}
	f.poster.setFail(false)
	f.poster.take()

	third := run(t, s, at(2*time.Hour))
	mustContain(t, "after a failed post", third.text(), "*available 8* (-1)", "Changes since the previous summary at Mon 10:00.")
}

func TestSummaryAPIFailurePostsNothing(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	s := f.summarizer(t, nil)
	f.sim.Inject(ccmsim.Fault{Code: 503})
	if err := s.Run(context.Background(), at(0)); !errors.Is(err, presence.ErrServer) {
		t.Errorf("Run with the API down: got %v, want a server error", err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 {
		t.Errorf("got %d posts with the API down, want none", len(posts))
	}
}

func TestSummaryOffWithoutChannel(t *testing.T) {
	f := newFixture(t, ccmsim.DemoRoster(monday10)...)
	snaps := presence.NewSnapshots(f.client, 0, nil)
	s := NewSummarizer(snaps, f.poster, state.NewMemoryStore(), SummarySettings{}, nil)
	if err := s.Run(context.Background(), at(0)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if posts, _ := f.poster.take(); len(posts) != 0 || f.sim.Stats().Total != 0 {
		t.Errorf("without a channel: %d posts and %d requests, want none", len(posts), f.sim.Stats().Total)
	}
}

// teams returns n teams team_01 … with names Team 01 ….
func teams(n int) []presence.Team {
	out := make([]presence.Team, n)
	for i := range out {
		out[i] = presence.Team{ID: fmt.Sprintf("team_%02d", i+1), Name: fmt.Sprintf("Team %02d", i+1)}
	}
	return out
}

func TestSummaryLimits(t *testing.T) {
	tests := []struct {
		name         string
		agents       int
		teams        int
		wantSections int // total plus teams shown
		wantFold     string
	}{
		// 40 teams all fit: header, total, divider, 40 teams, context.
		{"5000 agents in 40 teams", 5000, 40, 41, ""},
		// 60 teams: 45 shown, the rest folded into one line.
		{"5000 agents in 60 teams", 5000, 60, 46, "…and 15 teams not shown: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ccmsim.GenerateRoster(tc.agents, teams(tc.teams), monday10, 5)...)
			m := run(t, f.summarizer(t, nil), at(0)).msg
			checkLimits(t, m)
			secs := sections(m)
			if len(secs) != tc.wantSections {
				t.Errorf("got %d sections, want %d", len(secs), tc.wantSections)
			}
			mustContain(t, "total", secs[0], "*All teams* · 5,000 agents", "more.")
			for i, sec := range secs[1:] {
				mustContain(t, "team section", sec, fmt.Sprintf("*Team %02d* (`team_%02d`)", i+1, i+1))
				if n := strings.Count(sec, ","); n > maxSummaryNames {
					t.Errorf("team %d lists %d names, want at most %d", i+1, n+1, maxSummaryNames)
				}
			}
			if tc.wantFold != "" {
				mustContain(t, "fold", sent{msg: m}.text(), tc.wantFold)
				if len(m.Blocks) != message.MaxBlocks {
					t.Errorf("got %d blocks, want exactly %d", len(m.Blocks), message.MaxBlocks)
				}
			}
		})
	}
}

func TestSummaryEscapesAPIText(t *testing.T) {
	evil := presence.Team{ID: "rd<1>", Name: "R&D <!here>"}
	f := newFixture(t, agent("x1", "Eve <@U1>", evil, presence.Available), agent("x2", "", presence.Team{}, presence.Busy))
	m := run(t, f.summarizer(t, nil), at(0))
	text := m.text()
	mustContain(t, "summary", text, "*R&amp;D &lt;!here&gt;* (`rd&lt;1&gt;`)", "Eve &lt;@U1&gt;", "*No team* · 1 agent")
	mustNotContain(t, "summary", text, "<!here>", "<@U1>")
}
