package bot

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// pacedBot runs a bot whose /presence answers with a table and /status
// with a line, with a rich lane of one turn that an answer waits for up
// to wait and that lasts up to limit after the answer is written. It
// returns the bot's Web API and the outcome of each command.
func pacedBot(t *testing.T, fs *fakeslack.Server, wait, limit time.Duration) (*WebAPI, chan string) {
	t.Helper()
	web := richWeb(fs, &richClock{t: time.Unix(0, 0)}, &refusals{}, &testlog.Buffer{})
	web.richLane = make(chan struct{}, 1)
	web.richLaneWait, web.richTurnLimit = wait, limit
	answered := make(chan string, 16)
	run(t, fs, commandsFunc(func(_ context.Context, req commands.Request) message.Message {
		if req.Command == "/presence" {
			return richTable()
		}
		return message.Reply("✅ You are now busy.")
	}), func(c *Config) {
		c.Web = web
		c.Hooks.Answered = func(_, outcome string, _ time.Duration) { answered <- outcome }
	})
	return web, answered
}

// askTables sends n /presence table, from n supervisors.
func askTables(t *testing.T, fs *fakeslack.Server, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: "table", UserID: fmt.Sprintf("U%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// Answers with tables take turns on their way to Slack: a burst of them
// (woken together by one roster fetch) leaves one at a time here, and a
// plain answer never waits behind them.
func TestRichAnswersTakeTurns(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	pacedBot(t, fs, time.Hour, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	release := fs.Hold("response_url")
	defer release()
	tables := askTables(t, fs, 4)
	if err := fs.WaitInFlight(ctx, "response_url", 1); err != nil {
		t.Fatal(err)
	}
	status, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.WaitInFlight(ctx, "response_url", 2); err != nil {
		t.Fatalf("the status answer waited behind the tables: %v", err)
	}
	time.Sleep(5 * time.Millisecond) // time for tables that skipped their turn to arrive
	if n := fs.InFlight("response_url"); n != 2 {
		t.Fatalf("%d answers in flight while the first is held, want 2 (one table, the status answer)", n)
	}
	release()
	if m := waitAnswer(t, fs, status); m.Text != "✅ You are now busy." {
		t.Errorf("status answered %q", m.Text)
	}
	for _, id := range tables {
		if m := waitAnswer(t, fs, id); !isRichJSON(m.Blocks) {
			t.Errorf("table %s answered without its table: %s", id, m.Blocks)
		}
	}
}

// Taking turns never holds a burst up for long: a table whose turn has
// not come within the lane's wait goes anyway, and a turn ends soon after
// its answer is written even while Slack has not answered (a slow link).
func TestRichAnswersDoNotWaitLong(t *testing.T) {
	for _, tt := range []struct {
		name        string
		wait, limit time.Duration
	}{
		{"the turn comes late", time.Millisecond, time.Hour},
		{"Slack answers late", time.Hour, time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{})
			defer fs.Close()
			pacedBot(t, fs, tt.wait, tt.limit)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			release := fs.Hold("response_url")
			defer release()
			tables := askTables(t, fs, 3)
			if err := fs.WaitInFlight(ctx, "response_url", 3); err != nil {
				t.Fatalf("tables behind a held one never went: %v", err)
			}
			release()
			for _, id := range tables {
				if m := waitAnswer(t, fs, id); !isRichJSON(m.Blocks) {
					t.Errorf("table %s answered without its table: %s", id, m.Blocks)
				}
				if n := len(answersTo(fs, id)); n != 1 {
					t.Errorf("table %s got %d answers, want 1", id, n)
				}
			}
		})
	}
}

// Every turn taken is given back, however the answer went: a turn kept
// would make every later table wait out the lane's wait.
func TestRichTurnsAreGivenBack(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(*fakeslack.Server)
	}{
		{"answered", func(*fakeslack.Server) {}},
		{"table refused, classic sent", func(fs *fakeslack.Server) { fs.SetRefuseRichBlocks(true) }},
		{"refused, sent as an ephemeral", func(fs *fakeslack.Server) { fs.FailNext("response_url", 1, "expired_url", 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{})
			defer fs.Close()
			web, answered := pacedBot(t, fs, time.Hour, time.Hour)
			tt.setup(fs)
			askTables(t, fs, 3)
			for range 3 {
				select {
				case <-answered:
				case <-time.After(10 * time.Second):
					t.Fatal("a command was never done")
				}
			}
			if n := len(web.richLane); n != 0 {
				t.Errorf("%d turns still taken after every answer went", n)
			}
		})
	}
}
