package commands_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/state"
)

// silenceTargets are the rules file's names and teams in these tests.
var silenceTargets = []string{"sales-floor", "long-wrap-up", "sales_team", "support_team"}

type silenceFixture struct {
	h      *commands.Handler
	clock  *clockwork.FakeClock
	store  *silence.Store
	logs   *testlog.Buffer
	target []string
}

type silenceOptions struct {
	targets []string
	state   state.Store // nil: in memory
	off     bool        // no silence store: alerts are off
	loc     *time.Location
}

func newSilenceFixture(t *testing.T, o silenceOptions) *silenceFixture {
	t.Helper()
	mapping, err := agentmap.Parse([]byte(mappingYAML))
	if err != nil {
		t.Fatalf("parse mapping: %v", err)
	}
	if o.targets == nil {
		o.targets = silenceTargets
	}
	if o.state == nil {
		o.state = state.NewMemoryStore()
	}
	clock := clockwork.NewFakeClockAt(t0)
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	f := &silenceFixture{clock: clock, logs: logs, target: o.targets, store: silence.New(o.state, log)}
	cfg := commands.Config{
		Directory:      commands.NewDirectory(mapping, nil, nil, clock.Now),
		Now:            clock.Now,
		Location:       o.loc,
		Logger:         log,
		SilenceTargets: func() []string { return f.target },
	}
	if !o.off {
		cfg.Silences = f.store
	}
	f.h = commands.New(cfg)
	return f
}

func (f *silenceFixture) run(t *testing.T, user, text string) message.Message {
	t.Helper()
	m := f.h.Handle(context.Background(), commands.Request{UserID: user, ChannelID: "C0FLOOR", Command: "/presence", Text: text})
	checkMessage(t, m)
	return m
}

func (f *silenceFixture) click(t *testing.T, user, value string) message.Message {
	t.Helper()
	m := f.h.Click(context.Background(), commands.Click{UserID: user, ChannelID: "C0FLOOR", ActionID: commands.ActionEndSilence, Value: value})
	checkMessage(t, m)
	return m
}

func (f *silenceFixture) active(t *testing.T) []silence.Silence {
	t.Helper()
	list, err := f.store.Active(context.Background(), f.clock.Now())
	if err != nil {
		t.Fatalf("Active: %v", err)
	}
	return list
}

// endButtons are the [End silence] buttons of an answer.
func endButtons(m message.Message) []message.Button {
	var out []message.Button
	for _, b := range m.Blocks {
		for _, btn := range b.Buttons {
			if btn.ActionID == commands.ActionEndSilence {
				out = append(out, btn)
			}
		}
	}
	return out
}

// TestSilenceAdd: a supervisor's silence is stored as asked and told to
// the channel: who, what, until when (in the bot's time zone) and why.
func TestSilenceAdd(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		loc        *time.Location
		target     string
		d          time.Duration
		reason     string
		want       []string
	}{
		{name: "hours, with a reason", text: "silence sales-floor 2h team offsite", target: "sales-floor", d: 2 * time.Hour,
			reason: "team offsite", want: []string{"<@U0SUPER01> silenced `sales-floor` until 11:00 UTC (for 2h).", "Reason: team offsite"}},
		{name: "a team, any case, Go duration", text: "silence SUPPORT_TEAM 1h30m", target: "support_team", d: 90 * time.Minute,
			want: []string{"<@U0SUPER01> silenced `support_team` until 10:30 UTC (for 1h 30m)."}},
		{name: "days end another day", text: "silence long-wrap-up 2d", target: "long-wrap-up", d: 48 * time.Hour,
			want: []string{"until Mon 17 Jun 09:00 UTC (for 2d)."}},
		{name: "days and hours", text: "silence long-wrap-up 1d12h", target: "long-wrap-up", d: 36 * time.Hour,
			want: []string{"until Sun 16 Jun 21:00 UTC (for 1d 12h)."}},
		{name: "the bot's time zone", text: "silence sales-floor 30m", loc: kolkata, target: "sales-floor", d: 30 * time.Minute,
			want: []string{"until 15:00 IST (for 30m)."}},
		{name: "a reason is escaped", text: "silence sales-floor 1h <b>&co</b>", target: "sales-floor", d: time.Hour,
			reason: "<b>&co</b>", want: []string{"&lt;b&gt;&amp;co&lt;/b&gt;"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSilenceFixture(t, silenceOptions{loc: tc.loc})
			m := f.run(t, userBoss, tc.text)
			if m.Outcome() != message.OutcomeOK {
				t.Fatalf("outcome %s: %s", m.Outcome(), allText(m))
			}
			if m.Visibility != message.InChannel {
				t.Errorf("the silence is not told to the channel")
			}
			wantText(t, m, tc.want...)
			list := f.active(t)
			if len(list) != 1 {
				t.Fatalf("%d silences stored, want 1", len(list))
			}
			s := list[0]
			if s.Target != tc.target || s.By != userBoss || !s.End.Equal(t0.Add(tc.d)) || s.Reason != tc.reason {
				t.Errorf("stored %+v; want target %q until %s, reason %q", s, tc.target, t0.Add(tc.d), tc.reason)
			}
			if got := f.logs.String(); !containsAll(got, "silence added", "outcome=ok") {
				t.Errorf("log lacks the audit line or the outcome:\n%s", got)
			}
		})
	}
}

// TestSilenceRefusals: each bad request gets its own refusal, and nothing
// is silenced.
func TestSilenceRefusals(t *testing.T) {
	usage := "`/presence silence &lt;rule|team&gt; &lt;duration&gt; [reason]`"
	known := "`sales-floor`, `long-wrap-up`, `sales_team`, `support_team`"
	tests := []struct {
		name, user, text string
		want             []string
		bad              []string
	}{
		{"an agent", userJohn, "silence sales-floor 1h", []string{"Only supervisors can silence alerts."}, []string{usage}},
		{"a stranger", userNobody, "silence sales-floor 1h", []string{"Only supervisors can silence alerts."}, nil},
		{"nothing named", userBoss, "silence", []string{"Name what to silence and for how long", usage, known}, nil},
		{"no duration", userBoss, "silence sales-floor", []string{"Name what to silence and for how long", usage}, nil},
		{"unknown target", userBoss, "silence nosuch 1h", []string{"There is no alert rule or team `nosuch` to silence.", known}, nil},
		{"unknown target escaped", userBoss, "silence <b> 1h", []string{"`&lt;b&gt;`"}, nil},
		{"not a duration", userBoss, "silence sales-floor soon", []string{"`soon` is not a duration", "`30m`, `1h30m`, `2d`", usage}, nil},
		{"days garbled", userBoss, "silence sales-floor 2dd", []string{"`2dd` is not a duration"}, nil},
		{"too short", userBoss, "silence sales-floor 30s", []string{"at least 1 minute and at most 7 days", "not `30s`."}, nil},
		{"negative", userBoss, "silence sales-floor -1h", []string{"at least 1 minute and at most 7 days"}, nil},
		{"too long", userBoss, "silence sales-floor 8d", []string{"at least 1 minute and at most 7 days", "not `8d`."}, nil},
		{"reason too long", userBoss, "silence sales-floor 1h " + strings.Repeat("x", 201),
			[]string{"The reason is too long (201 characters; at most 200)."}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSilenceFixture(t, silenceOptions{})
			m := f.run(t, tc.user, tc.text)
			if m.Outcome() != message.OutcomeRefused {
				t.Errorf("outcome %s, want refused", m.Outcome())
			}
			if m.Visibility != message.Ephemeral {
				t.Errorf("a refusal goes to the channel")
			}
			wantText(t, m, tc.want...)
			notText(t, m, tc.bad...)
			if got := f.active(t); len(got) != 0 {
				t.Errorf("a refused silence was stored: %+v", got)
			}
		})
	}
}

// TestSilenceTargetsListed: a refusal lists at most 10 targets and counts
// the rest; with no rules there is nothing to silence.
func TestSilenceTargetsListed(t *testing.T) {
	var many []string
	for i := range 15 {
		many = append(many, fmt.Sprintf("rule-%02d", i))
	}
	f := newSilenceFixture(t, silenceOptions{targets: many})
	m := f.run(t, userBoss, "silence nosuch 1h")
	wantText(t, m, "`rule-00`", "`rule-09`", "and 5 more")
	notText(t, m, "`rule-10`")

	f = newSilenceFixture(t, silenceOptions{targets: []string{}})
	m = f.run(t, userBoss, "silence sales-floor 1h")
	wantText(t, m, "No alert rules are configured, so there is nothing to silence.")
	if m.Outcome() != message.OutcomeRefused {
		t.Errorf("outcome %s, want refused", m.Outcome())
	}
}

// TestSilencesOff: without alerts, both commands say so.
func TestSilencesOff(t *testing.T) {
	f := newSilenceFixture(t, silenceOptions{off: true})
	for _, text := range []string{"silence sales-floor 1h", "silences"} {
		m := f.run(t, userBoss, text)
		wantText(t, m, "Alerts are not switched on for this bot")
		if m.Outcome() != message.OutcomeRefused {
			t.Errorf("%s: outcome %s, want refused", text, m.Outcome())
		}
	}
	m := f.click(t, userBoss, "abc")
	wantText(t, m, "Alerts are not switched on for this bot")
}

// TestSilencesList: the active silences, each with who set it, until
// when, why, how many posts it held back, and an [End silence] button for
// supervisors; "No silences." when there are none.
func TestSilencesList(t *testing.T) {
	ctx := context.Background()
	f := newSilenceFixture(t, silenceOptions{})
	m := f.run(t, userBoss, "silences")
	wantText(t, m, "No silences.")
	if m.Outcome() != message.OutcomeOK || len(endButtons(m)) != 0 {
		t.Errorf("empty list: outcome %s, %d buttons", m.Outcome(), len(endButtons(m)))
	}

	a, err := f.store.Add(ctx, "sales-floor", 2*time.Hour, userBoss, "team <offsite>", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.store.Add(ctx, "support_team", 30*time.Minute, "U0SUPER02", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	// One over by the time of the list: not shown.
	if _, err := f.store.Add(ctx, "long-wrap-up", time.Minute, userBoss, "", t0); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := f.store.NoteSuppressed(ctx, a.ID, "warning", t0); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(10 * time.Minute)

	m = f.run(t, userBoss, "silences")
	if m.Outcome() != message.OutcomeOK || m.Visibility != message.Ephemeral {
		t.Errorf("outcome %s, visibility %v; want ok, ephemeral", m.Outcome(), m.Visibility)
	}
	wantText(t, m, "2 active",
		"`sales-floor`", "until 11:00 UTC", "1h 50m left", "set by <@U0SUPER01>", "3 held back", "team &lt;offsite&gt;",
		"`support_team`", "until 09:30 UTC", "set by <@U0SUPER02>", "0 held back")
	notText(t, m, "`long-wrap-up`", "No silences.")
	buttons := endButtons(m)
	if len(buttons) != 2 || buttons[0].Value != a.ID || buttons[1].Value != b.ID || buttons[0].Label != "End silence" {
		t.Errorf("buttons %+v, want [End silence] for %s and %s", buttons, a.ID, b.ID)
	}

	// An agent sees the list, without buttons that would only refuse.
	m = f.run(t, userJohn, "silences")
	wantText(t, m, "`sales-floor`", "`support_team`")
	if n := len(endButtons(m)); n != 0 {
		t.Errorf("an agent gets %d End buttons", n)
	}
	// Someone who may not use /presence does not.
	m = f.run(t, userNobody, "silences")
	if m.Outcome() != message.OutcomeRefused {
		t.Errorf("a stranger: outcome %s, want refused", m.Outcome())
	}
	notText(t, m, "sales-floor")
}

// TestSilencesListCapped: a long list stays within Slack's 50 blocks and
// says how many more there are.
func TestSilencesListCapped(t *testing.T) {
	ctx := context.Background()
	var targets []string
	for i := range silence.MaxActive {
		targets = append(targets, fmt.Sprintf("team_%03d", i))
	}
	f := newSilenceFixture(t, silenceOptions{targets: targets})
	for _, target := range targets {
		if _, err := f.store.Add(ctx, target, time.Hour, userBoss, strings.Repeat("r", silence.MaxReason), t0); err != nil {
			t.Fatal(err)
		}
	}
	m := f.run(t, userBoss, "silences")
	shown := len(endButtons(m))
	if shown == 0 || len(m.Blocks) > message.MaxBlocks {
		t.Fatalf("%d blocks, %d silences shown", len(m.Blocks), shown)
	}
	wantText(t, m, fmt.Sprintf("…and %d more", silence.MaxActive-shown))
}

// TestEndSilenceClick: a supervisor's click ends the silence and tells the
// channel who ended it; a second click, an unknown silence, an agent's
// click or a garbled button changes nothing and says why.
func TestEndSilenceClick(t *testing.T) {
	ctx := context.Background()
	f := newSilenceFixture(t, silenceOptions{})
	a, err := f.store.Add(ctx, "sales-floor", 2*time.Hour, "U0SUPER02", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.NoteSuppressed(ctx, a.ID, "warning", t0); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Minute)

	m := f.click(t, userJohn, a.ID)
	wantText(t, m, "Only supervisors can end a silence.")
	if m.Outcome() != message.OutcomeRefused || len(f.active(t)) != 1 {
		t.Errorf("an agent's click: outcome %s, %d active; want refused, still active", m.Outcome(), len(f.active(t)))
	}

	m = f.click(t, userBoss, a.ID)
	if m.Outcome() != message.OutcomeOK || m.Visibility != message.InChannel {
		t.Errorf("outcome %s, visibility %v; want ok in the channel", m.Outcome(), m.Visibility)
	}
	wantText(t, m, "<@U0SUPER01> ended the silence of `sales-floor`", "set by <@U0SUPER02>", "1 alert post held back")
	if got := f.active(t); len(got) != 0 {
		t.Errorf("still active after the click: %+v", got)
	}
	if got := f.logs.String(); !containsAll(got, "silence ended", "ended_by=U0SUPER01", "outcome=ok") {
		t.Errorf("the end is not in the log:\n%s", got)
	}

	tests := []struct {
		name, value string
		want        string
	}{
		{"again", a.ID, "That silence of `sales-floor` has already ended (at 09:05 UTC, by <@U0SUPER01>)."},
		{"unknown", "nosuch", "I have no such silence"},
		{"empty", "", "That button is not one I understand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.click(t, userBoss, tc.value)
			wantText(t, m, tc.want)
			if m.Outcome() != message.OutcomeRefused || m.Visibility != message.Ephemeral {
				t.Errorf("outcome %s, visibility %v; want refused, ephemeral", m.Outcome(), m.Visibility)
			}
		})
	}

	// One that ran out on its own.
	b, err := f.store.Add(ctx, "support_team", time.Minute, userBoss, "", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	m = f.click(t, userBoss, b.ID)
	wantText(t, m, "That silence of `support_team` has already ended (ran out at 09:06 UTC).")
}

// TestSilenceStoreTrouble: when the shared state fails, each command says
// so and reports an error.
func TestSilenceStoreTrouble(t *testing.T) {
	f := newSilenceFixture(t, silenceOptions{state: downStore{errors.New("redis: i/o timeout")}})
	for _, text := range []string{"silence sales-floor 1h", "silences"} {
		m := f.run(t, userBoss, text)
		wantText(t, m, "I couldn't reach the bot's shared state just now")
		notText(t, m, "i/o timeout")
		if m.Outcome() != message.OutcomeError {
			t.Errorf("%s: outcome %s, want error", text, m.Outcome())
		}
	}
	m := f.click(t, userBoss, "abc")
	wantText(t, m, "I couldn't reach the bot's shared state just now; nothing was ended.")
	if m.Outcome() != message.OutcomeError {
		t.Errorf("click: outcome %s, want error", m.Outcome())
	}
}

// downStore is a state store that is down.
type downStore struct{ err error }

func (d downStore) Load(context.Context, string, any) (bool, error) { return false, d.err }
func (d downStore) Save(context.Context, string, any) error         { return d.err }
func (d downStore) Delete(context.Context, string) error            { return d.err }
func (d downStore) Update(context.Context, string, any, func(bool) (bool, error)) error {
	return d.err
}
