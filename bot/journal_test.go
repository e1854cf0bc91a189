package bot

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
)

// journalFake is a Journal in memory: what was put, renewed, removed,
// and what Claim hands out.
type journalFake struct {
	lease time.Duration

	mu        sync.Mutex
	entries   map[string][]byte
	puts      []string
	removes   []string
	renewals  map[string]int
	claimable map[string][]byte
	putErr    error
}

func newJournalFake(lease time.Duration) *journalFake {
	return &journalFake{lease: lease, entries: map[string][]byte{}, renewals: map[string]int{}, claimable: map[string][]byte{}}
}

func (f *journalFake) Put(_ context.Context, id string, _ time.Time, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.putErr != nil {
		return f.putErr
	}
	f.puts = append(f.puts, id)
	f.entries[id] = slices.Clone(payload)
	return nil
}

func (f *journalFake) Renew(_ context.Context, ids []string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lost []string
	for _, id := range ids {
		if _, ok := f.entries[id]; ok {
			f.renewals[id]++
		} else {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

func (f *journalFake) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.entries, id)
	f.removes = append(f.removes, id)
	return nil
}

func (f *journalFake) Claim(_ context.Context, max int) (map[string][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for id, p := range f.claimable {
		if len(out) == max {
			break
		}
		out[id] = p
		f.entries[id] = p
		delete(f.claimable, id)
	}
	return out, nil
}

func (f *journalFake) Lease() time.Duration { return f.lease }

func (f *journalFake) entry(id string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.entries[id]
	return p, ok
}

func (f *journalFake) snapshot() (puts, removes []string, renewals map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.puts), slices.Clone(f.removes), maps.Clone(f.renewals)
}

// journalCommands answers commands, clicks and Home openings with the
// functions given.
type journalCommands struct {
	handle func(ctx context.Context, req commands.Request) message.Message
	click  func(ctx context.Context, c commands.Click) message.Message
}

func (c journalCommands) Handle(ctx context.Context, req commands.Request) message.Message {
	return c.handle(ctx, req)
}

func (c journalCommands) Click(ctx context.Context, cl commands.Click) message.Message {
	return c.click(ctx, cl)
}

func (c journalCommands) Home(context.Context, string) []message.Block {
	return []message.Block{message.NewSection("home")}
}

// journalEventually polls cond every few milliseconds for up to 10 s.
func journalEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func answersTo(fs *fakeslack.Server, envelope string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range fs.Messages() {
		if m.Method == "response_url" && m.EnvelopeID == envelope {
			out = append(out, m)
		}
	}
	return out
}

// A command is journaled before it runs, with everything needed to run
// and answer it elsewhere; its lease is renewed while it runs; it is
// removed once answered. Redeliveries and Home openings are not
// journaled.
func TestJournalKeepsACommandFromAckToAnswer(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	jf := newJournalFake(30 * time.Millisecond) // renewed every 10 ms
	var ran atomic.Int32
	cmds := journalCommands{handle: func(context.Context, commands.Request) message.Message {
		ran.Add(1)
		// Journaled before it runs, and renewed while it runs (polled
		// here, off the test's goroutine, so an error, not a fatal).
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			_, _, renewals := jf.snapshot()
			if slices.ContainsFunc(slices.Collect(maps.Values(renewals)), func(n int) bool { return n >= 2 }) {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the running command's lease was not renewed twice within 5 s")
				break
			}
		}
		return message.Reply("done")
	}}
	logs, _ := run(t, fs, cmds, func(c *Config) { c.Journal = jf; c.JournalSweep = time.Hour })

	id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	key := "envelope:" + id
	journalEventually(t, "the command journaled", func() bool { _, ok := jf.entry(key); return ok })
	payload, _ := jf.entry(key)
	j, err := decodeJob(payload)
	if err != nil {
		t.Fatalf("the journal holds what the bot cannot read: %v", err)
	}
	if j.kind != slashJob || j.req.UserID != "U1" || j.req.ChannelID != "C1" || j.req.Command != "/status" || j.req.Text != "busy" ||
		j.envelopeID != id || j.dedupeKey != key || !strings.Contains(j.responseURL, "/response/") ||
		time.Since(j.received) > time.Minute || time.Since(j.received) < 0 {
		t.Errorf("journaled %+v, want the command, its response_url, envelope, key and received time", j)
	}
	if m := waitAnswer(t, fs, id); m.Text != "done" {
		t.Errorf("answered %q, want done", m.Text)
	}
	journalEventually(t, "the answered command removed", func() bool {
		_, removes, _ := jf.snapshot()
		return slices.Contains(removes, key)
	})
	if strings.Contains(blocksOf(waitAnswer(t, fs, id)), "Finished by another replica") {
		t.Error("a command answered by its own replica says it was finished by another")
	}

	// The same envelope again, and a Home opening: neither journaled.
	if err := fs.Redeliver(id, 1, "timeout"); err != nil {
		t.Fatal(err)
	}
	journalEventually(t, "the redelivery ignored", func() bool { return strings.Contains(logs.String(), "redelivered envelope ignored") })
	if _, err := fs.SendEvent(map[string]any{"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D0X"}); err != nil {
		t.Fatal(err)
	}
	journalEventually(t, "the Home published", func() bool {
		return slices.ContainsFunc(fs.Messages(), func(m fakeslack.Message) bool { return m.Method == "views.publish" })
	})
	if puts, _, _ := jf.snapshot(); !slices.Equal(puts, []string{key}) {
		t.Errorf("journaled %v, want only the command (%s)", puts, key)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("the command ran %d times, want once", n)
	}
}

// blocksOf is the text of an answer's blocks as sent, for searching.
func blocksOf(m fakeslack.Message) string { return string(m.Blocks) }

// Replica A acknowledges a command and a click and dies before answering;
// replica B finds them in the journal and finishes each once, through the
// saved response_url, saying it was late.
func TestJournalFinishesADeadReplicasCommands(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	jA := newJournalFake(time.Hour)
	var started atomic.Int32
	// A is stuck until it stops (then its answers find Slack gone).
	stuck := journalCommands{
		handle: func(ctx context.Context, _ commands.Request) message.Message {
			started.Add(1)
			<-ctx.Done()
			return message.Reply("A's answer")
		},
		click: func(ctx context.Context, _ commands.Click) message.Message {
			started.Add(1)
			<-ctx.Done()
			return message.Reply("A's answer")
		},
	}
	_, stopA := run(t, fs, stuck, func(c *Config) {
		c.Journal, c.JournalSweep = jA, time.Hour
		c.CommandTimeout, c.DrainTimeout = time.Minute, 10*time.Millisecond
	})
	slash, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	click, err := fs.SendInteractive(map[string]any{
		"type":    "block_actions",
		"user":    map[string]string{"id": "U2"},
		"channel": map[string]string{"id": "C2"},
		"actions": []map[string]string{{"type": "button", "action_id": "set_status", "value": "agent=a2&to=offline&from=busy", "block_id": "b1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	journalEventually(t, "A running both", func() bool { return started.Load() == 2 })

	// B takes over what A journaled.
	jB := newJournalFake(time.Hour)
	for _, id := range []string{slash, click} {
		p, ok := jA.entry("envelope:" + id)
		if !ok {
			t.Fatalf("A did not journal %s before running it", id)
		}
		jB.claimable["envelope:"+id] = p
	}
	var (
		mu  sync.Mutex
		got []string
	)
	var recovered atomic.Int32
	finish := journalCommands{
		handle: func(_ context.Context, req commands.Request) message.Message {
			mu.Lock()
			got = append(got, req.UserID+" "+req.ChannelID+" "+req.Command+" "+req.Text)
			mu.Unlock()
			return message.Reply("✅ You're now busy")
		},
		click: func(_ context.Context, c commands.Click) message.Message {
			mu.Lock()
			got = append(got, c.UserID+" "+c.ChannelID+" "+c.ActionID+" "+c.Value)
			mu.Unlock()
			return message.Reply("✅ They're now offline")
		},
	}
	run(t, fs, finish, func(c *Config) {
		c.Journal, c.JournalSweep = jB, 5*time.Millisecond
		c.Hooks.Recovered = func() { recovered.Add(1) }
	})
	for _, id := range []string{slash, click} {
		m := waitAnswer(t, fs, id)
		if text := blocksOf(m); !strings.Contains(text, "Finished by another replica after a restart") || !strings.Contains(text, "s after you sent it") {
			t.Errorf("late answer to %s does not say it is late: %s", id, text)
		}
	}
	journalEventually(t, "both removed from the journal", func() bool {
		_, removes, _ := jB.snapshot()
		return slices.Contains(removes, "envelope:"+slash) && slices.Contains(removes, "envelope:"+click)
	})
	journalEventually(t, "both counted as recovered", func() bool { return recovered.Load() == 2 })
	mu.Lock()
	slices.Sort(got)
	want := []string{"U1 C1 /status busy", "U2 C2 set_status agent=a2&to=offline&from=busy"}
	if !slices.Equal(got, want) {
		t.Errorf("B ran %q, want %q", got, want)
	}
	mu.Unlock()
	for _, id := range []string{slash, click} {
		if n := len(answersTo(fs, id)); n != 1 {
			t.Errorf("%s answered %d times, want once", id, n)
		}
	}
	// A "dies": Slack is gone before its stuck commands give up.
	fs.Close()
	stopA()
}

// With the journal failing (Redis down), commands run and are answered
// all the same; the outage is logged once, not once per command.
func TestJournalFailureNeverStopsACommand(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	jf := newJournalFake(time.Hour)
	jf.putErr = errors.New("redis unavailable")
	logs, _ := run(t, fs, journalCommands{handle: func(context.Context, commands.Request) message.Message {
		return message.Reply("done")
	}}, func(c *Config) { c.Journal = jf; c.JournalSweep = time.Hour })
	for range 3 {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		if m := waitAnswer(t, fs, id); m.Text != "done" {
			t.Errorf("answered %q, want done", m.Text)
		}
	}
	if _, removes, _ := jf.snapshot(); len(removes) != 0 {
		t.Errorf("removed %v, never journaled", removes)
	}
	if n := strings.Count(logs.String(), "could not journal"); n != 1 {
		t.Errorf("%d log lines about the journal failing, want 1:\n%s", n, logs.String())
	}
}
