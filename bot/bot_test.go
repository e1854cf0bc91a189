package bot

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// commandsFunc lets a test decide what a command does.
type commandsFunc func(ctx context.Context, req commands.Request) message.Message

func (f commandsFunc) Handle(ctx context.Context, req commands.Request) message.Message {
	return f(ctx, req)
}

// run starts a bot against a fake Slack and returns a stop function that
// waits for Run to return.
func run(t *testing.T, fs *fakeslack.Server, cmds Commands, adjust func(*Config)) (*testlog.Buffer, func()) {
	t.Helper()
	logs := &testlog.Buffer{}
	cfg := Config{
		Web:      NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()}),
		Commands: cmds,
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := fs.WaitConnections(wctx, 1); err != nil {
		t.Fatalf("no connection: %v\n%s", err, logs.String())
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return logs, stop
}

func waitAnswer(t *testing.T, fs *fakeslack.Server, envelopeID string) fakeslack.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := fs.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.EnvelopeID == envelopeID })
	if err != nil {
		t.Fatalf("no answer to %s: %v", envelopeID, err)
	}
	return m
}

func TestPanicInOneCommandIsRecoveredAndOthersServed(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	logs, _ := run(t, fs, commandsFunc(func(_ context.Context, req commands.Request) message.Message {
		if req.Text == "boom" {
			panic("kaboom")
		}
		return message.Reply("fine")
	}), nil)

	boom, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "boom", UserID: "U1"})
	m := waitAnswer(t, fs, boom)
	if !strings.Contains(m.Text, "Something went wrong") {
		t.Errorf("panicking command answered %q, want an error answer", m.Text)
	}
	ok, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U2"})
	if m := waitAnswer(t, fs, ok); m.Text != "fine" {
		t.Errorf("next command answered %q, want fine", m.Text)
	}
	if l := logs.String(); !strings.Contains(l, "kaboom") || !strings.Contains(l, "goroutine") {
		t.Errorf("panic not logged with its stack:\n%s", l)
	}
}

func TestBurstOfAThousandIsAckedBoundedAndAnswered(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	const workers = 64
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	cmds := commandsFunc(func(ctx context.Context, req commands.Request) message.Message {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release // every worker is held until the whole burst is in
		inFlight.Add(-1)
		return message.Reply("done " + req.Text)
	})
	_, _ = run(t, fs, cmds, func(c *Config) { c.ReadWorkers = workers }) // /presence: the read lane

	goroutinesBefore := runtime.NumGoroutine()
	ids := make([]string, 1000)
	for i := range ids {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: "x", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	// Every envelope is acknowledged while the workers are all busy.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var slowest time.Duration
	for _, id := range ids {
		ack, err := fs.WaitAck(ctx, id)
		if err != nil {
			t.Fatalf("envelope %s not acked: %v", id, err)
		}
		slowest = max(slowest, ack.Latency)
	}
	if slowest > 3*time.Second {
		t.Errorf("slowest ack %v, want within Slack's 3s", slowest)
	}
	// Concurrency stays bounded: a fixed pool, not a goroutine per command.
	if g := runtime.NumGoroutine(); g > goroutinesBefore+50 {
		t.Errorf("goroutines grew from %d to %d during the burst", goroutinesBefore, g)
	}
	close(release)
	for _, id := range ids {
		waitAnswer(t, fs, id)
	}
	if p := peak.Load(); p > workers {
		t.Errorf("peak concurrency %d, want at most %d", p, workers)
	}
}

func TestEnvelopeFromAnotherWorkspaceIsIgnored(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	var ran atomic.Int32
	logs, stop := run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message {
		ran.Add(1)
		return message.Reply("ok")
	}), nil)
	id, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1", TeamID: "T0OTHER"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := fs.WaitAck(ctx, id); err != nil {
		t.Fatalf("not acked: %v", err)
	}
	// A command from our own workspace after it is answered; the stranger's never ran.
	own, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"})
	waitAnswer(t, fs, own)
	stop()
	if n := ran.Load(); n != 1 {
		t.Errorf("commands run = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "another workspace") {
		t.Errorf("no log of the ignored envelope:\n%s", logs.String())
	}
}

func TestReconnectsWhenPingsStop(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{PingInterval: 50 * time.Millisecond})
	defer fs.Close()
	_, _ = run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message {
		return message.Reply("ok")
	}), func(c *Config) { c.PingInterval = 300 * time.Millisecond })
	fs.SetPings(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fs.WaitConnectCount(ctx, 2); err != nil {
		t.Fatalf("no reconnect after pings stopped: %v", err)
	}
	fs.SetPings(true)
	if err := fs.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	id, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"})
	waitAnswer(t, fs, id)
}

func TestAnswerFallsBackToPostEphemeral(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	b, err := New(Config{
		Web:      NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()}),
		Commands: commandsFunc(func(context.Context, commands.Request) message.Message { return message.Reply("x") }),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A response_url Slack no longer accepts: the answer still arrives.
	j := job{req: commands.Request{UserID: "U1", ChannelID: "C0FLOOR", Command: "/status"},
		responseURL: strings.TrimSuffix(fs.URL(), "/api/") + "/response/unknown"}
	if !b.deliver(context.Background(), j, message.Reply("via ephemeral")) {
		t.Fatal("deliver failed")
	}
	msgs := fs.Messages()
	last := msgs[len(msgs)-1]
	if last.Method != "chat.postEphemeral" || last.User != "U1" || last.Channel != "C0FLOOR" {
		t.Errorf("answer = %+v, want chat.postEphemeral to U1 in C0FLOOR", last)
	}
}

func TestRespondRetriesRateLimits(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	fs.FailNext("chat.postMessage", 1, "rate_limited", time.Second)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	start := time.Now()
	ts, err := web.Post(context.Background(), "C0ALERTS", message.Reply("alert"))
	if err != nil || ts == "" {
		t.Fatalf("Post = %q, %v; want it retried after the rate limit", ts, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, want at least the 1s Retry-After", waited)
	}
	if n := fs.Calls("chat.postMessage"); n != 2 {
		t.Errorf("chat.postMessage calls = %d, want 2", n)
	}
}

func TestSlackErrorsCarryAHint(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	for code, want := range map[string]string{
		"channel_not_found": "channel ID",
		"not_in_channel":    "/invite",
		"invalid_auth":      "SLACK_BOT_TOKEN",
	} {
		fs.FailNext("chat.postMessage", 1, code, 0)
		_, err := web.Post(context.Background(), "C0X", message.Reply("x"))
		if err == nil {
			t.Fatalf("%s: Post succeeded", code)
		}
		if h := Hint(err); !strings.Contains(h, want) {
			t.Errorf("Hint(%v) = %q, want it to mention %q", err, h, want)
		}
	}
}

func TestLinkDisabledIsReportedClearly(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	logs, _ := run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message {
		return message.Reply("ok")
	}), nil)
	fs.Disconnect("link_disabled")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fs.WaitConnectCount(ctx, 2); err != nil {
		t.Fatalf("no reconnect: %v", err)
	}
	for !strings.Contains(logs.String(), "link_disabled") {
		if ctx.Err() != nil {
			t.Fatalf("link_disabled not reported:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	if !strings.Contains(logs.String(), "turn Socket Mode on again") {
		t.Errorf("the report does not say what to do:\n%s", logs.String())
	}
	// A routine refresh is no error.
	before := strings.Count(logs.String(), "level=ERROR")
	fs.Disconnect("refresh_requested")
	if err := fs.WaitConnectCount(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if after := strings.Count(logs.String(), "level=ERROR"); after != before {
		t.Errorf("refresh_requested logged %d errors", after-before)
	}
}

func TestIsLinkDisabled(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"type":"disconnect","reason":"link_disabled","debug_info":{}}`, true}, // Slack's message
		{`{"type":"disconnect","reason" : "link_disabled"}`, true},               // spaced JSON
		{`{"type":"disconnect","reason":"refresh_requested"}`, false},            // a routine refresh
		{`{"payload":{"text":"link_disabled"}}`, false},                          // a user typed the word
		{`{"payload":{"text":"\"reason\":\"link_disabled\""}}`, false},           // or tried to forge the field
		{`{"text":"link_disabled","reason":"link_disabled"}`, true},              // the field after a decoy
	}
	for _, tt := range tests {
		if got := isLinkDisabled([]byte(tt.in)); got != tt.want {
			t.Errorf("isLinkDisabled(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestShutdownKeepsItsBudget: a command stuck on a slow contact center and
// an answer stuck on a slow Slack still let Run return within 5 s, and the
// stuck command's person gets the last try at an answer.
func TestShutdownKeepsItsBudget(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	started := make(chan struct{}, 4)
	_, stop := run(t, fs, commandsFunc(func(ctx context.Context, req commands.Request) message.Message {
		started <- struct{}{}
		<-ctx.Done() // the contact center never answers
		return message.Reply("⚠️ not answering")
	}), func(c *Config) { c.Workers = 2; c.CommandTimeout = time.Minute })
	for range 3 { // two run, one waits in the queue
		if _, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	<-started
	fs.SetLatency("response_url", 30*time.Second) // and Slack is slow to take answers
	began := time.Now()
	stop()
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("shutdown took %v, want under 5s", took)
	}
}

// TestAnsweredHookGetsTheOutcome: the metrics hook hears each command's
// outcome as the answer carries it, and error when the bot itself failed
// (a panic, an answer that could not be delivered).
func TestAnsweredHookGetsTheOutcome(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	type answered struct{ command, outcome string }
	got := make(chan answered, 10)
	logs, _ := run(t, fs, commandsFunc(func(_ context.Context, req commands.Request) message.Message {
		m := message.Reply("answer to " + req.Command)
		switch req.Command {
		case "/refused":
			m.Refused = true
		case "/failed":
			m.Failed = true
		case "/both":
			m.Refused, m.Failed = true, true // a failure wins
		case "/panic":
			panic("kaboom")
		}
		return m
	}), func(c *Config) {
		c.Hooks.Answered = func(command, outcome string, _ time.Duration) { got <- answered{command, outcome} }
	})
	tests := []struct {
		command, channel string
		undeliverable    bool
		want             string
	}{
		{command: "/ok", channel: "C0FLOOR", want: "ok"},
		{command: "/refused", channel: "C0FLOOR", want: "refused"},
		{command: "/failed", channel: "C0FLOOR", want: "error"},
		{command: "/both", channel: "C0FLOOR", want: "error"},
		{command: "/panic", channel: "C0FLOOR", want: "error"},
		// Neither the response_url nor chat.postEphemeral takes the answer:
		// the person never hears, which is an error whatever it said.
		{command: "/undeliverable", undeliverable: true, want: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			if tt.undeliverable {
				fs.FailNext("response_url", 1, "expired_url", 0)
				fs.FailNext("chat.postEphemeral", 1, "channel_not_found", 0)
			}
			if _, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: tt.command, UserID: "U1", ChannelID: tt.channel}); err != nil {
				t.Fatal(err)
			}
			select {
			case a := <-got:
				if a.command != tt.command || a.outcome != tt.want {
					t.Errorf("Answered(%q, %q), want (%q, %q)", a.command, a.outcome, tt.command, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no Answered call for %s", tt.command)
			}
		})
	}
	l := logs.String()
	for _, want := range []string{
		`msg="could not deliver an answer" command=/undeliverable`,
		`msg="command panicked" command=/panic`,
	} {
		i := strings.Index(l, want)
		if i < 0 {
			t.Errorf("logs lack %q:\n%s", want, l)
			continue
		}
		if line, _, _ := strings.Cut(l[i:], "\n"); !strings.Contains(line, "outcome=error") {
			t.Errorf("the line %q does not say outcome=error, as the metric counts it", line)
		}
	}
}

// TestOverloadIsAnErrorOutcome: a command the queue has no room for is
// not run; the person is told so, and it counts as an error.
func TestOverloadIsAnErrorOutcome(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close) // after the bot's stop: its last answers still land
	started, release := make(chan struct{}, 2), make(chan struct{})
	defer close(release)
	got := make(chan string, 10)
	_, _ = run(t, fs, commandsFunc(func(context.Context, commands.Request) message.Message {
		started <- struct{}{}
		<-release
		return message.Reply("done")
	}), func(c *Config) {
		c.Workers, c.ReadWorkers, c.Queue = 1, 1, 1
		c.Hooks.Answered = func(command, outcome string, _ time.Duration) { got <- command + " " + outcome }
	})
	send := func(command string) string {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: command, UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	send("/running")
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first command never ran")
	}
	queued := send("/queued")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fs.WaitAck(ctx, queued); err != nil {
		t.Fatal(err)
	}
	over := send("/overflow")
	if m := waitAnswer(t, fs, over); !strings.Contains(m.Text, "overloaded") {
		t.Errorf("the overflow answered %q, want the overload notice", m.Text)
	}
	select {
	case a := <-got:
		if a != "/overflow error" {
			t.Errorf("Answered %q first, want \"/overflow error\"", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the overflow was never counted")
	}
}

// TestPresenceIsNotQueuedBehindStatusChanges: status changes waiting (on
// the API budget, here on a contact center that does not answer) fill
// their lane; /presence runs in its own and is answered meanwhile.
func TestPresenceIsNotQueuedBehindStatusChanges(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 8)
	_, _ = run(t, fs, commandsFunc(func(ctx context.Context, req commands.Request) message.Message {
		if req.Command == "/status" {
			started <- struct{}{}
			<-release
		}
		return message.Reply("done " + req.Command)
	}), func(c *Config) { c.Workers, c.ReadWorkers = 2, 2; c.CommandTimeout = time.Minute })
	send := func(command string) string {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: command, Text: "busy", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for range 4 { // two run, two wait for a worker
		send("/status")
	}
	<-started
	<-started
	if m := waitAnswer(t, fs, send("/presence")); m.Text != "done /presence" {
		t.Errorf("/presence answered %q", m.Text)
	}
}
