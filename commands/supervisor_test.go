package commands_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// dmBox is an in-test Notifier: it keeps every direct message.
type dmBox struct {
	mu   sync.Mutex
	sent []sentDM
}

type sentDM struct{ user, text string }

func (d *dmBox) DirectMessage(_ context.Context, user string, m message.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, sentDM{user: user, text: allText(m)})
	return nil
}

func (d *dmBox) all() []sentDM {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sentDM(nil), d.sent...)
}

// click presses a button as user and checks the answer fits Slack.
func (f *fixture) click(t testing.TB, user, action string, value url.Values) message.Message {
	t.Helper()
	m := f.h.Click(context.Background(), commands.Click{UserID: user, ChannelID: "C0FLOOR", ActionID: action, Value: value.Encode()})
	checkMessage(t, m)
	return m
}

// poll runs the after-call job once, now, and returns the DMs it sent.
func (f *fixture) poll(t testing.TB) []sentDM {
	t.Helper()
	box := &dmBox{}
	if err := f.h.AfterCall(f.client, box).Poll(context.Background(), f.clock.Now()); err != nil {
		t.Fatalf("poll: %v", err)
	}
	return box.all()
}

// wantDM fails unless dms is exactly one message, to user, holding want.
func wantDM(t testing.TB, dms []sentDM, user, want string) {
	t.Helper()
	if len(dms) != 1 || dms[0].user != user || !strings.Contains(dms[0].text, want) {
		t.Errorf("DMs = %q, want one to %s holding %q", dms, user, want)
	}
}

// TestSupervisorStatusWording: every /status answer says whose status it
// is. To the agent it speaks of "you"; to a supervisor acting for an
// agent it names the agent, and its hints are commands about that agent
// (the mention after the code span, since Slack shows none inside one).
func TestSupervisorStatusWording(t *testing.T) {
	tests := []struct {
		name  string
		queue bool
		setup func(*fixture)
		user  string
		text  string
		want  []string
		never []string
	}{
		// A change, by the agent and by a supervisor.
		{name: "self change", user: userJane, text: "available",
			want:  []string{"✅ You're now 🟢 *available* (was busy).", "You can switch to: `/status busy` · `/status offline`"},
			never: []string{"<@"}},
		{name: "supervisor change", user: userBoss, text: "available <@U0AGENT02|jane>",
			want: []string{"✅ *Jane Support* (`agent_002`) is now 🟢 *available* (was busy).",
				"They can switch to: `/status busy` <@U0AGENT02> · `/status offline` <@U0AGENT02>"},
			never: []string{"You can", "you can", "You're"}},
		// A move the table forbids.
		{name: "self invalid", user: userJohn, text: "busy",
			setup: func(f *fixture) { f.sim.Force("agent_001", presence.Offline) },
			want:  []string{"You can't go from ⚪ *offline* to ⛔ *busy*.", "From offline you can switch to: `available`."}},
		{name: "supervisor invalid", user: userBoss, text: "busy <@U0AGENT02>",
			setup: func(f *fixture) { f.sim.Force("agent_002", presence.Offline) },
			want: []string{"They can't go from ⚪ *offline* to ⛔ *busy*.", "From offline they can switch to: `available`.",
				"They can switch to: `/status available` <@U0AGENT02>"},
			never: []string{"You can", "you can"}},
		// On a call: the offer to queue names the command to type.
		{name: "self on a call", queue: true, user: userPriya, text: "available",
			want: []string{"📞 You're on a call.", "or type `/status available after-call`.",
				"You're on a call: the contact center manages your status until it ends, then you move to after-call work."}},
		{name: "supervisor on a call", queue: true, user: userBoss, text: "available <@U0AGENT03>",
			want: []string{"📞 *Priya Sharma* (`agent_003`) is on a call.", "or type `/status available after-call` <@U0AGENT03>.",
				"On a call: the contact center manages their status until it ends, then they move to after-call work."},
			never: []string{"you move", "your status"}},
		// A status nobody chooses by hand.
		{name: "self not manual", user: userJohn, text: "on-call",
			want: []string{"*on-call* is set by the contact center while you are on a call; you can't choose it."}},
		{name: "supervisor not manual", user: userBoss, text: "on-call <@U0AGENT02>",
			want:  []string{"*on-call* is set by the contact center while an agent is on a call; nobody can choose it."},
			never: []string{"you are on a call", "you can't"}},
		{name: "supervisor not manual, alias", user: userBoss, text: "acw <@U0AGENT02>",
			want:  []string{"*after-call work* follows a call automatically; nobody can choose it."},
			never: []string{"you can't"}},
		// An agent may not cancel for someone else.
		{name: "agent cancels for someone else", queue: true, user: userJohn, text: "cancel <@U0AGENT02>",
			want: []string{"Only supervisors can drop someone else's queued status. You can drop your own with `/status cancel`."}},
		// Queued statuses switched off.
		{name: "self, queue off", user: userPriya, text: "offline after-call",
			want: []string{"Queued statuses are not switched on for this bot. Change your status when the call ends."}},
		{name: "supervisor, queue off", user: userBoss, text: "offline after-call <@U0AGENT03>",
			want:  []string{"Queued statuses are not switched on for this bot. Change their status when the call ends."},
			never: []string{"your status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{queue: tt.queue})
			if tt.setup != nil {
				tt.setup(f)
			}
			m := f.run(t, tt.user, "/status", tt.text)
			wantText(t, m, tt.want...)
			notText(t, m, tt.never...)
		})
	}
}

// TestSupervisorQueuesAfterCall: a supervisor queues a status for an
// agent on a call. The supervisor is told what was queued for whom; the
// agent's /status says who queued it; the DM when it is applied names the
// supervisor. The agent's own wish reads as before.
func TestSupervisorQueuesAfterCall(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		text      string
		wantQueue []string // the answer to the queueing command
		neverQ    []string
		wantView  string // Priya's own /status afterwards
		wantDM    string // to Priya, when the call ended
	}{
		{"self", userPriya, "offline after-call",
			[]string{"⏳ Noted: ⚪ *offline* when this call ends. I'll send a message when it's done.",
				"⏳ You're set to go ⚪ *offline* when this call ends (until 11:00 UTC). `/status cancel` drops it."},
			[]string{"queued by"},
			"⏳ You're set to go ⚪ *offline* when this call ends (until 11:00 UTC). `/status cancel` drops it.",
			"✅ Your call ended: you're now ⚪ *offline*, as you asked."},
		{"supervisor", userBoss, "offline after-call <@U0AGENT03|priya>",
			[]string{"✅ Queued *Priya Sharma* (`agent_003`) to switch to ⚪ *offline* when the call ends; I'll DM them when it's done.",
				"⏳ *Priya Sharma* (`agent_003`) is set to go ⚪ *offline* when this call ends (until 11:00 UTC), queued by you. `/status cancel` <@U0AGENT03> drops it.",
				"On a call: the contact center manages their status"},
			[]string{"Noted", "You're", "`/status cancel` drops", "your status"},
			"⏳ You're set to go ⚪ *offline* when this call ends (until 11:00 UTC), queued by <@U0SUPER01>. `/status cancel` drops it.",
			"✅ Your call ended: you're now ⚪ *offline*, as <@U0SUPER01> queued it for you."},
		// The mention first, then after-call: the same.
		{"supervisor, mention first", userBoss, "offline <@U0AGENT03> after-call",
			[]string{"✅ Queued *Priya Sharma* (`agent_003`) to switch to ⚪ *offline* when the call ends; I'll DM them when it's done."},
			nil,
			"queued by <@U0SUPER01>",
			"as <@U0SUPER01> queued it for you."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{queue: true})
			m := f.run(t, tt.user, "/status", tt.text)
			wantText(t, m, tt.wantQueue...)
			notText(t, m, tt.neverQ...)
			wantText(t, f.run(t, userPriya, "/status", ""), tt.wantView)

			if err := f.sim.EndCall("agent_003"); err != nil {
				t.Fatal(err)
			}
			wantDM(t, f.poll(t), userPriya, tt.wantDM)
			if got := f.status(t, "agent_003"); got != presence.Offline {
				t.Errorf("agent_003 is %s, want offline", got)
			}
		})
	}
}

// TestAfterCallNotesNameWhoQueued: each note about a queued status (already
// there, refused, expired) tells the agent who queued it, when it was a
// supervisor.
func TestAfterCallNotesNameWhoQueued(t *testing.T) {
	tests := []struct {
		name  string
		user  string
		text  string
		after func(*fixture) // between queueing and the poll
		want  string
	}{
		{"already, self", userPriya, "offline after-call", func(f *fixture) { f.sim.Force("agent_003", presence.Offline) },
			"Your call ended and you're already ⚪ *offline*, as you asked."},
		{"already, supervisor", userBoss, "offline after-call <@U0AGENT03>", func(f *fixture) { f.sim.Force("agent_003", presence.Offline) },
			"Your call ended and you're already ⚪ *offline*, as <@U0SUPER01> queued it for you."},
		{"refused, self", userPriya, "offline after-call", func(f *fixture) {
			f.sim.EndCall("agent_003")
			f.sim.Inject(ccmsim.Fault{Method: "PUT", Code: 403})
		}, "Your call ended, but the contact center refused ⚪ *offline*, so I dropped the queued status. Use `/status` to set it."},
		{"refused, supervisor", userBoss, "offline after-call <@U0AGENT03>", func(f *fixture) {
			f.sim.EndCall("agent_003")
			f.sim.Inject(ccmsim.Fault{Method: "PUT", Code: 403})
		}, "Your call ended, but the contact center refused ⚪ *offline*, so I dropped the status <@U0SUPER01> queued for you. Use `/status` to set it."},
		{"expired, self", userPriya, "offline after-call", func(f *fixture) { f.clock.Advance(queueExpiry) },
			"⌛ Your queued ⚪ *offline* expired before the call ended, so I dropped it. Use `/status` when you're ready."},
		{"expired, supervisor", userBoss, "offline after-call <@U0AGENT03>", func(f *fixture) { f.clock.Advance(queueExpiry) },
			"⌛ The ⚪ *offline* <@U0SUPER01> queued for you expired before your call ended, so I dropped it. Use `/status` when you're ready."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{queue: true})
			f.run(t, tt.user, "/status", tt.text)
			tt.after(f)
			wantDM(t, f.poll(t), userPriya, tt.want)
		})
	}
}

// TestSupervisorCancelWording: /status cancel @user speaks of the agent,
// and every cancel says whose wish it dropped.
func TestSupervisorCancelWording(t *testing.T) {
	tests := []struct {
		name    string
		queueBy string // who queued offline for Priya; "" for nobody
		queue   string // their command
		user    string
		text    string
		want    string
		never   []string
	}{
		{"supervisor drops their own wish for an agent", userBoss, "offline after-call <@U0AGENT03>", userBoss, "cancel <@U0AGENT03>",
			"Dropped the status queued for <@U0AGENT03> (`agent_003`): ⚪ *offline*, queued by you. Their status will follow the call as usual.",
			[]string{"Your status", "your status"}},
		{"supervisor drops the agent's wish", userPriya, "offline after-call", userBoss, "cancel <@U0AGENT03|priya>",
			"Dropped the status queued for <@U0AGENT03> (`agent_003`): ⚪ *offline*, queued by them. Their status will follow the call as usual.",
			[]string{"Your status"}},
		{"supervisor, nothing queued", "", "", userBoss, "cancel <@U0AGENT03>",
			"<@U0AGENT03> (`agent_003`) has no queued status to cancel.", nil},
		{"agent drops a supervisor's wish", userBoss, "offline after-call <@U0AGENT03>", userPriya, "cancel",
			"Dropped the queued status (⚪ *offline*, queued by <@U0SUPER01>). Your status will follow the call as usual.", nil},
		{"agent drops their own wish", userPriya, "offline after-call", userPriya, "cancel",
			"Dropped the queued status (⚪ *offline*). Your status will follow the call as usual.", []string{"queued by"}},
		{"agent, nothing queued", "", "", userPriya, "cancel",
			"There is no queued status to cancel.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{queue: true})
			if tt.queueBy != "" {
				f.run(t, tt.queueBy, "/status", tt.queue)
			}
			m := f.run(t, tt.user, "/status", tt.text)
			wantText(t, m, tt.want)
			notText(t, m, tt.never...)
			if dms := f.poll(t); len(dms) != 0 {
				t.Errorf("DMs after the cancel = %q, want none", dms)
			}
		})
	}
}

// TestSupervisorButtons: the buttons a supervisor presses on someone
// else's status answer as the commands do: about the agent, with hints
// naming them. The agent's own presses speak of "you".
func TestSupervisorButtons(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		action string
		value  url.Values
		want   []string
		never  []string
	}{
		{"self set", userJane, commands.ActionSetStatus, url.Values{"agent": {"agent_002"}, "from": {"busy"}, "to": {"available"}},
			[]string{"✅ You're now 🟢 *available* (was busy).", "You can switch to: `/status busy` · `/status offline`"}, []string{"<@"}},
		{"supervisor set", userBoss, commands.ActionSetStatus, url.Values{"agent": {"agent_002"}, "from": {"busy"}, "to": {"available"}},
			[]string{"✅ *Jane Support* (`agent_002`) is now 🟢 *available* (was busy).", "They can switch to: `/status busy` <@U0AGENT02>"},
			[]string{"You can", "You're"}},
		{"supervisor stale", userBoss, commands.ActionSetStatus, url.Values{"agent": {"agent_002"}, "from": {"offline"}, "to": {"available"}},
			[]string{"That button was for ⚪ *offline*, but *Jane Support* (`agent_002`) is now ⛔ *busy*, so I changed nothing.",
				"They can switch to: `/status available` <@U0AGENT02>"},
			[]string{"You can", "you're"}},
		{"self queue", userPriya, commands.ActionQueueStatus, url.Values{"agent": {"agent_003"}, "to": {"offline"}},
			[]string{"⏳ Noted: ⚪ *offline* when this call ends.", "`/status cancel` drops it."}, []string{"<@"}},
		{"supervisor queue", userBoss, commands.ActionQueueStatus, url.Values{"agent": {"agent_003"}, "to": {"offline"}},
			[]string{"✅ Queued *Priya Sharma* (`agent_003`) to switch to ⚪ *offline* when the call ends; I'll DM them when it's done.",
				"queued by you. `/status cancel` <@U0AGENT03> drops it."},
			[]string{"Noted", "You're"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{queue: true})
			m := f.click(t, tt.user, tt.action, tt.value)
			wantText(t, m, tt.want...)
			notText(t, m, tt.never...)
		})
	}

	// Cancel, pressed by a supervisor on the agent's queued status.
	t.Run("supervisor cancel", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{queue: true})
		f.run(t, userPriya, "/status", "offline after-call")
		m := f.click(t, userBoss, commands.ActionCancelQueue, url.Values{"agent": {"agent_003"}})
		wantText(t, m, "Dropped the status queued for <@U0AGENT03> (`agent_003`): ⚪ *offline*, queued by them.")
		notText(t, m, "Your status")
	})
}

// TestSupervisorQueuesForUnknownSlackUser: a supervisor's button for an
// agent nobody in Slack is: the supervisor is told they get the DM, and
// the DM speaks of the agent.
func TestSupervisorQueuesForUnknownSlackUser(t *testing.T) {
	f := newFixture(t, fixtureOptions{queue: true})
	if err := f.sim.Force("agent_004", presence.Available); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.StartCall("agent_004", presence.Call{Direction: "inbound"}); err != nil {
		t.Fatal(err)
	}
	m := f.click(t, userBoss, commands.ActionQueueStatus, url.Values{"agent": {"agent_004"}, "to": {"offline"}})
	wantText(t, m, "✅ Queued *Rohan Mehta* (`agent_004`) to switch to ⚪ *offline* when the call ends; I'll DM you when it's done.",
		"queued by you. The *Cancel queued status* button drops it.")
	notText(t, m, "`/status cancel` drops", "<@")
	if err := f.sim.EndCall("agent_004"); err != nil {
		t.Fatal(err)
	}
	wantDM(t, f.poll(t), userBoss, "✅ The call of *Rohan Mehta* (`agent_004`) ended: they're now ⚪ *offline*, as you asked.")

	// Expired: said to the supervisor, of the agent.
	f2 := newFixture(t, fixtureOptions{queue: true})
	_ = f2.sim.Force("agent_004", presence.Available)
	if err := f2.sim.StartCall("agent_004", presence.Call{Direction: "inbound"}); err != nil {
		t.Fatal(err)
	}
	f2.click(t, userBoss, commands.ActionQueueStatus, url.Values{"agent": {"agent_004"}, "to": {"offline"}})
	f2.clock.Advance(queueExpiry)
	wantDM(t, f2.poll(t), userBoss, "⌛ The ⚪ *offline* you queued for agent `agent_004` expired before their call ended, so I dropped it.")
}
