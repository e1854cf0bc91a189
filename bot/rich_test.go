package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// richClock is a clock the test moves.
type richClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *richClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *richClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// refusals counts RichRefused calls per surface.
type refusals struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusals) add(surface string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[surface]++
}

func (r *refusals) get(surface string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[surface]
}

// richWeb is a WebAPI on fs with an injected clock, refusal counter and log.
func richWeb(fs *fakeslack.Server, clock *richClock, counted *refusals, logs *testlog.Buffer) *WebAPI {
	return NewWebAPI(Slack{
		AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL(),
		Now: clock.Now, RichRefused: counted.add, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
}

func isRichJSON(blocks []byte) bool {
	return strings.Contains(string(blocks), `"data_table"`) || strings.Contains(string(blocks), `"data_visualization"`)
}

// TestRichFallbackEndToEnd drives the bot against a fake Slack that
// refuses charts and tables, as a workspace without them does.
func TestRichFallbackEndToEnd(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{RefuseRichBlocks: true})
	defer fs.Close()
	clock := &richClock{t: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)}
	counted := &refusals{}
	logs := &testlog.Buffer{}
	web := richWeb(fs, clock, counted, logs)
	answered := make(chan string, 8)
	run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message { return richTable() }),
		func(c *Config) {
			c.Web = web
			c.Hooks.Answered = func(_, outcome string, _ time.Duration) { answered <- outcome }
		})

	// ask runs a command and waits until the bot is done with it.
	ask := func() fakeslack.Message {
		t.Helper()
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: "table", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		m := waitAnswer(t, fs, id)
		select {
		case outcome := <-answered:
			if outcome != message.OutcomeOK {
				t.Errorf("outcome %s, want ok", outcome)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the command was never done")
		}
		return m
	}

	// The first answer is refused with its table, and sent again at once
	// without it: one answer, classic, the refusal counted and logged.
	first := ask()
	if isRichJSON(first.Blocks) || !strings.Contains(string(first.Blocks), "12 calls") {
		t.Fatalf("answer = %s, want the classic listing", first.Blocks)
	}
	if got := fs.Calls("response_url"); got != 2 {
		t.Errorf("response_url posts = %d, want 2 (refused, then classic)", got)
	}
	if got := counted.get("response_url"); got != 1 {
		t.Errorf("refusals counted on response_url = %d, want 1", got)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "refused") {
		t.Errorf("refusal not logged at warn:\n%s", l)
	}

	// Within the hour, the workspace is sent classic blocks directly.
	clock.Advance(59 * time.Minute)
	second := ask()
	if isRichJSON(second.Blocks) {
		t.Errorf("second answer carries rich blocks: %s", second.Blocks)
	}
	if got := fs.Calls("response_url"); got != 3 {
		t.Errorf("response_url posts = %d, want 3 (no refusal the second time)", got)
	}
	if _, err := web.Post(context.Background(), "C0REPORT", richChart()); err != nil {
		t.Fatal(err)
	}
	if got := fs.Calls("chat.postMessage"); got != 1 {
		t.Errorf("chat.postMessage calls = %d, want 1 (classic directly)", got)
	}
	if got := counted.get("response_url") + counted.get("chat.postMessage"); got != 1 {
		t.Errorf("refusals counted = %d, want still 1", got)
	}
	// Exactly one answer per command, whatever was refused on the way.
	for _, m := range []fakeslack.Message{first, second} {
		if n := len(answersTo(fs, m.EnvelopeID)); n != 1 {
			t.Errorf("envelope %s got %d answers, want 1", m.EnvelopeID, n)
		}
	}

	// After the while, rich blocks are tried again; this workspace has
	// them now.
	clock.Advance(2 * time.Minute)
	fs.SetRefuseRichBlocks(false)
	third := ask()
	if !isRichJSON(third.Blocks) {
		t.Errorf("after the while, answer = %s, want the table", third.Blocks)
	}
}

func TestRichFallbackOnWebAPI(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		surface string
		send    func(w *WebAPI) error
	}{
		{"chat.postMessage", func(w *WebAPI) error { _, err := w.Post(ctx, "C1", richChart()); return err }},
		{"chat.update", func(w *WebAPI) error { return w.Update(ctx, "C1", "1.000001", richChart()) }},
		{"chat.postEphemeral", func(w *WebAPI) error { return w.PostEphemeral(ctx, "C1", "U1", richTable()) }},
		{"views.publish", func(w *WebAPI) error { return w.PublishHome(ctx, "U1", richTable().Blocks) }},
	}
	for _, tt := range tests {
		t.Run(tt.surface, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{RefuseRichBlocks: true})
			defer fs.Close()
			counted := &refusals{}
			web := richWeb(fs, &richClock{t: time.Unix(0, 0)}, counted, &testlog.Buffer{})
			if err := tt.send(web); err != nil {
				t.Fatalf("send: %v", err)
			}
			var got []fakeslack.Message
			for _, m := range fs.Messages() {
				if m.Method == tt.surface {
					got = append(got, m)
				}
			}
			if len(got) != 1 || isRichJSON(got[0].Blocks) {
				t.Fatalf("recorded %d messages (%v), want one, classic", len(got), got)
			}
			if fs.Calls(tt.surface) != 2 || counted.get(tt.surface) != 1 {
				t.Errorf("calls %d, counted %d: want 2 and 1", fs.Calls(tt.surface), counted.get(tt.surface))
			}
		})
	}
}

// A refusal that the classic message gets too is not about rich blocks:
// the workspace is not marked, nothing is counted, the error is returned.
func TestRichFallbackOtherRefusal(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	counted := &refusals{}
	web := richWeb(fs, &richClock{t: time.Unix(0, 0)}, counted, &testlog.Buffer{})
	fs.FailNext("chat.postMessage", 2, "invalid_blocks", 0)
	if _, err := web.Post(context.Background(), "C1", richChart()); err == nil {
		t.Fatal("Post succeeded, want the refusal")
	}
	if counted.get("chat.postMessage") != 0 {
		t.Error("a refusal of the classic message too was counted as a rich refusal")
	}
	if _, err := web.Post(context.Background(), "C1", richChart()); err != nil {
		t.Fatal(err)
	}
	if m := fs.Messages(); len(m) != 1 || !isRichJSON(m[0].Blocks) {
		t.Errorf("next post = %v, want the chart (the workspace was not marked)", m)
	}
}

// A chart that breaks Slack's limits is never sent: the classic message
// goes, with a warning, and no refusal is counted.
func TestRichOverLimitsSentClassic(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	counted := &refusals{}
	logs := &testlog.Buffer{}
	web := richWeb(fs, &richClock{t: time.Unix(0, 0)}, counted, logs)
	m := richChart()
	m.Blocks[1].Chart.Title = strings.Repeat("t", message.MaxChartTitle+1)
	if _, err := web.Post(context.Background(), "C1", m); err != nil {
		t.Fatal(err)
	}
	if got := fs.Messages(); len(got) != 1 || isRichJSON(got[0].Blocks) || fs.Calls("chat.postMessage") != 1 {
		t.Errorf("sent %v in %d calls, want one classic message", got, fs.Calls("chat.postMessage"))
	}
	if counted.get("chat.postMessage") != 0 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("counted %d, logs:\n%s", counted.get("chat.postMessage"), logs.String())
	}
}

func TestRefusesRich(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"invalid_blocks", slack.SlackErrorResponse{Err: "invalid_blocks"}, true},
		{"invalid_blocks_format", slack.SlackErrorResponse{Err: "invalid_blocks_format"}, true},
		{"a view naming a block", slack.SlackErrorResponse{Err: "invalid_arguments",
			ResponseMetadata: slack.ResponseMetadata{Messages: []string{"[ERROR] unsupported type: data_table [json-pointer:/view/blocks/2/type]"}}}, true},
		{"response_url", errors.New("answer through response_url: HTTP 400: invalid_blocks"), true},
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, false},
		{"invalid_arguments on something else", slack.SlackErrorResponse{Err: "invalid_arguments",
			ResponseMetadata: slack.ResponseMetadata{Messages: []string{"[ERROR] missing required field: user_id"}}}, false},
		{"transport", errors.New("dial tcp: connection refused"), false},
	}
	for _, tt := range tests {
		if got := refusesRich(tt.err); got != tt.want {
			t.Errorf("%s: refusesRich = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The ack never carries rich blocks: the answer with a table follows
// through the response_url, where a refusal is reported.
func TestAckNeverCarriesRichBlocks(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message { return richTable() }), nil)
	id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: "table", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := fs.WaitAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Refused != "" || isRichJSON(ack.Payload) {
		t.Errorf("ack payload %s (refused: %s), want no rich blocks", ack.Payload, ack.Refused)
	}
	if m := waitAnswer(t, fs, id); !isRichJSON(m.Blocks) {
		t.Errorf("answer = %s, want the table through the response_url", m.Blocks)
	}
}
