package commands_test

import (
	"context"
	"testing"

	"github.com/presencebot/presence-bot/commands"
)

// BenchmarkRenderPresence5000 measures /presence and /presence available
// on a 5,000-agent roster from a warm snapshot (the fixture's clock does
// not move, so the snapshot never expires): the command's own work, not
// HTTP. Issue 8 wants it under 5 ms; that answers fit Slack is
// TestPresenceLimits's job.
func BenchmarkRenderPresence5000(b *testing.B) {
	for _, bc := range []struct {
		name, text, want string
	}{
		// The overview: counts, then the longest-waiting few per status.
		{"overview", "", "Agent presence — 5,000 agents"},
		// One status, up to 100 names.
		{"available", "available", "of 5,000 agents"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b, fixtureOptions{agents: bigRoster(false)})
			// The first answer fetches the roster, and proves the loop
			// measures a real answer rather than an apology.
			wantText(b, f.run(b, userJohn, "/presence", bc.text), bc.want)
			fetched := f.sim.Stats().Lists
			req := commands.Request{UserID: userJohn, ChannelID: "C0FLOOR", Command: "/presence", Text: bc.text}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				f.h.Handle(ctx, req)
			}
			b.StopTimer()
			if got := f.sim.Stats().Lists; got != fetched {
				b.Errorf("list requests during the loop = %d, want none: the snapshot went cold", got-fetched)
			}
		})
	}
}
