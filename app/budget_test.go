package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
)

// responsePosts are the response_url posts made for an envelope, in order.
func (w *world) responsePosts(envelopeID string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range w.slack.Messages() {
		if m.Method == "response_url" && m.EnvelopeID == envelopeID {
			out = append(out, m)
		}
	}
	return out
}

// TestBudgetHeldStatusChangeIsQueuedThenReplaced: a status change held by
// the API budget past the notice delay gets one "queued" message, then its
// answer replacing it; the command's deadline does not cut it off.
func TestBudgetHeldStatusChangeIsQueuedThenReplaced(t *testing.T) {
	w := start(t, withHTTP, func(env map[string]string, opts *[]app.Option) {
		// One token at a time, two a second: the start probe takes the
		// first, so the GET or the PUT waits about half a second.
		env["EXOTEL_RATE_LIMIT"] = "2/1"
		*opts = append(*opts,
			app.WithBudget(func(o *presence.BudgetOptions) { o.NoticeDelay = 100 * time.Millisecond }),
			// Shorter than the change takes in the budget.
			app.WithBotConfig(func(c *bot.Config) { c.CommandTimeout = 300 * time.Millisecond }))
	})
	id := w.send(userAlice, "/status", "busy")
	eventually(t, "two posts for the change", func() bool { return len(w.responsePosts(id)) >= 2 })
	time.Sleep(20 * time.Millisecond) // nothing more should follow
	posts := w.responsePosts(id)
	if len(posts) != 2 {
		t.Fatalf("%d response_url posts for the change, want 2 (the notice, then the answer)", len(posts))
	}
	notice, answer := blockText(t, posts[0].Blocks), blockText(t, posts[1].Blocks)
	mustContain(t, notice, "queued", "busy", "replaced")
	if posts[0].ReplaceOriginal {
		t.Errorf("the notice replaces something: there is nothing to replace yet")
	}
	mustContain(t, answer, "now", "busy", "was available")
	if !posts[1].ReplaceOriginal {
		t.Errorf("the answer does not replace the notice (replace_original false)")
	}
	for _, p := range posts {
		if p.ResponseType != "ephemeral" {
			t.Errorf("a post is %q, want ephemeral", p.ResponseType)
		}
	}
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", a.Status)
	}
	if st := w.sim.Stats(); st.Gets != 1 || st.Puts != 1 {
		t.Errorf("requests %+v, want one GET and one PUT", st)
	}

	// A click held by the budget: its notice replaces the message
	// clicked (its buttons cannot be pressed twice meanwhile), and the
	// answer replaces the notice.
	id = w.click(userAlice, findButton(t, buttons(t, posts[1].Blocks), "Available"))
	eventually(t, "two posts for the click", func() bool { return len(w.responsePosts(id)) >= 2 })
	clicked := w.responsePosts(id)
	mustContain(t, blockText(t, clicked[0].Blocks), "queued", "available")
	mustContain(t, blockText(t, clicked[1].Blocks), "now", "available", "was busy")
	if len(clicked) != 2 || !clicked[0].ReplaceOriginal || !clicked[1].ReplaceOriginal {
		t.Errorf("the click: %d posts, replace_original %v then %v; want 2, both replacing", len(clicked),
			clicked[0].ReplaceOriginal, clicked[1].ReplaceOriginal)
	}

	// /readyz and the metrics show the budget.
	_, body := w.ready()
	mustContain(t, body, `"budget":{"mode":"local","rate":2,"burst":1,`)
	if n := w.metric("presence_bot_api_budget_wait_seconds", map[string]string{"priority": "write"}); n != 4 {
		t.Errorf("api_budget_wait_seconds{priority=write} counts %v waits, want 4 (two changes, a GET and a PUT each)", n)
	}
	if n := w.metric("presence_bot_api_requests_total", map[string]string{"kind": "update"}); n != 2 {
		t.Errorf("api_requests_total{kind=update} = %v, want 2", n)
	}

	// A change the budget does not hold answers once, replacing nothing.
	w.sim.ResetStats()
	time.Sleep(time.Second) // the bucket refills
	id = w.send(userBob, "/status", "available")
	eventually(t, "the answer", func() bool { return len(w.responsePosts(id)) >= 1 })
	if p := w.responsePosts(id); len(p) != 1 || p[0].ReplaceOriginal {
		t.Errorf("an unheld change: %d posts (replace_original %v), want one that replaces nothing", len(p), len(p) > 0 && p[0].ReplaceOriginal)
	}
}

// TestBudgetBurstKeepsTheBotResponsive: hundreds of status changes at
// once, more than the workers, all waiting for the API budget: every
// envelope is acknowledged at once, the journal's leases stay renewed (no
// command is taken for a dead replica's), and every change is made and
// answered once.
func TestBudgetBurstKeepsTheBotResponsive(t *testing.T) {
	const n = 300
	srv := redistest.Start(t)
	var mapFile string
	w := start(t, func(env map[string]string, opts *[]app.Option) {
		var b strings.Builder
		b.WriteString("agents:\n")
		for i := range n {
			fmt.Fprintf(&b, "  U0BURST%03d: burst_%03d\n", i, i)
		}
		mapFile = filepath.Join(t.TempDir(), "burst.yml")
		if err := os.WriteFile(mapFile, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		env["AGENT_MAP_FILE"] = mapFile
		env["REDIS_URL"] = srv.URL()
		env["REDIS_TIMEOUT"] = "1s"
		// 600 requests at 400 a second: each change waits up to 1.5 s.
		env["EXOTEL_RATE_LIMIT"] = "400/20"
		*opts = append(*opts,
			// Renewed every 200 ms: a stalled renewal shows within a
			// second as a command claimed from the journal.
			app.WithJournal(600*time.Millisecond, 100*time.Millisecond),
			app.WithBotConfig(func(c *bot.Config) { c.Workers = 128 }))
	})
	since := time.Now().Add(-time.Hour)
	for i := range n {
		w.sim.Add(presence.Agent{ID: fmt.Sprintf("burst_%03d", i), Name: fmt.Sprintf("Burst %03d", i),
			Status: presence.Available, StatusSince: since, Team: &presence.Team{ID: "sales_team", Name: "Sales"}})
	}
	w.sim.ResetStats()

	start := time.Now()
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy",
				UserID: fmt.Sprintf("U0BURST%03d", i), ChannelID: "C0FLOOR"})
			if err != nil {
				t.Errorf("send %d: %v", i, err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	eventually(t, "every change answered", func() bool {
		answered := 0
		for _, m := range w.slack.Messages() {
			if m.Method == "response_url" && !strings.Contains(blockText(t, m.Blocks), "queued") {
				answered++
			}
		}
		return answered >= n
	})
	took := time.Since(start)

	var slowest time.Duration
	acked := map[string]bool{}
	for _, a := range w.slack.Acks() {
		acked[a.EnvelopeID] = true
		slowest = max(slowest, a.Latency)
	}
	for i, id := range ids {
		if !acked[id] {
			t.Errorf("change %d (%s) never acknowledged", i, id)
		}
		answers := 0
		for _, p := range w.responsePosts(id) {
			if !strings.Contains(blockText(t, p.Blocks), "queued") {
				answers++
				mustContain(t, blockText(t, p.Blocks), "now", "busy")
			}
		}
		if answers != 1 {
			t.Errorf("change %d answered %d times, want once", i, answers)
		}
	}
	if slowest > time.Second {
		t.Errorf("the slowest ack took %s: acks waited on the budget", slowest)
	}
	for _, bad := range []string{"finishing it here", "another replica took over", "could not renew"} {
		if strings.Contains(w.logs.String(), bad) {
			t.Errorf("the logs say %q: the journal's leases were not kept while commands waited", bad)
		}
	}
	if st := w.sim.Stats(); st.Gets != n || st.Puts != n {
		t.Errorf("requests %+v, want %d GETs and %d PUTs", st, n, n)
	}
	for i := range n {
		if a, _ := w.sim.Agent(fmt.Sprintf("burst_%03d", i)); a.Status != presence.Busy {
			t.Errorf("burst_%03d is %s, want busy", i, a.Status)
		}
	}
	t.Logf("%d changes answered in %s; slowest ack %s", n, took.Round(time.Millisecond), slowest)
}

// TestCheckPrintsTheBudget: check says what API budget the bot keeps to,
// and how the replicas share it.
func TestCheckPrintsTheBudget(t *testing.T) {
	w := newCheckWorld(t)
	srv := redistest.Start(t)
	tests := []struct {
		name string
		kv   []string
		want string
	}{
		{"default, alone", nil, "ok      API budget       10/s, burst 20, for this instance alone (no REDIS_URL"},
		{"shared", []string{"REDIS_URL", srv.URL(), "EXOTEL_RATE_LIMIT", "25/40"},
			"ok      API budget       25/s, burst 40, shared by the replicas through Redis"},
		{"off", []string{"EXOTEL_RATE_LIMIT", "0"}, "WARNING API budget       off (EXOTEL_RATE_LIMIT=0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := w.check(t, w.env(tt.kv...))
			if err != nil {
				t.Fatalf("Check = %v:\n%s", err, out)
			}
			contains(t, out, tt.want)
		})
	}
}

// TestBudgetShutdownWhileChangesWait: changes waiting for the budget do
// not hold shutdown up: they are given up within the drain, each still
// answered, and the bot stops within its 5 s.
func TestBudgetShutdownWhileChangesWait(t *testing.T) {
	w := start(t, func(env map[string]string, opts *[]app.Option) {
		env["EXOTEL_RATE_LIMIT"] = "0.5/1" // a token every 2 s
	})
	var ids []string
	for range 4 {
		ids = append(ids, w.send(userAlice, "/status", "busy"))
	}
	eventually(t, "the changes acknowledged", func() bool { return len(w.slack.Acks()) >= len(ids) })
	time.Sleep(20 * time.Millisecond) // into the budget's queue
	began := time.Now()
	if err := w.shutdown(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("shutdown took %s with changes waiting for the budget, want within 5 s", took)
	}
	for _, id := range ids {
		answered := false
		for _, p := range w.responsePosts(id) {
			if !strings.Contains(blockText(t, p.Blocks), "queued") {
				answered = true
			}
		}
		if !answered {
			t.Errorf("envelope %s got no answer at shutdown", id)
		}
	}
}
