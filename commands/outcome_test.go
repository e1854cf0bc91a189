package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// lastCommandLine is the latest "command" log line.
func lastCommandLine(logs string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "msg=command ") {
			return lines[i]
		}
	}
	return ""
}

// checkOutcome fails unless the answer carries want and the command's log
// line says the same.
func checkOutcome(t *testing.T, m message.Message, logs, want string) {
	t.Helper()
	if got := m.Outcome(); got != want {
		t.Errorf("outcome = %q, want %q; answer:\n%s", got, want, allText(m))
	}
	line := lastCommandLine(logs)
	if !strings.Contains(line, " outcome="+want+" ") {
		t.Errorf("log line %q does not say outcome=%s", line, want)
	}
}

// TestEveryAnswerCarriesItsOutcome: each kind of answer has the
// contract's outcome (ok, refused, error), set where it is decided, and
// the command's log line says the same.
func TestEveryAnswerCarriesItsOutcome(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		command string
		text    string
		setup   func(f *fixture)
		want    string
	}{
		// Done as asked.
		{name: "help", user: userJohn, command: "/status", text: "help", want: "ok"},
		{name: "show own status", user: userJohn, command: "/status", want: "ok"},
		{name: "a change done", user: userJohn, command: "/status", text: "busy", want: "ok"},
		{name: "already in that status", user: userJohn, command: "/status", text: "available", want: "ok"},
		{name: "presence overview", user: userBoss, command: "/presence", want: "ok"},
		{name: "presence help", user: userNobody, command: "/presence", text: "help", want: "ok"},
		{name: "one agent", user: userBoss, command: "/presence", text: "agent_002", want: "ok"},

		// Refused: bad input, not allowed, invalid transition.
		{name: "unknown command", user: userJohn, command: "/deploy", want: "refused"},
		{name: "too long", user: userJohn, command: "/status", text: strings.Repeat("x", commands.MaxTextLen+1), want: "refused"},
		{name: "unknown status", user: userJohn, command: "/status", text: "sleeping", want: "refused"},
		{name: "too many words", user: userJohn, command: "/status", text: "busy now please thanks", want: "refused"},
		{name: "not a person", user: userJohn, command: "/status", text: "busy jane", want: "refused"},
		{name: "cancel with after-call", user: userJohn, command: "/status", text: "cancel after-call", want: "refused"},
		{name: "system-managed status", user: userJohn, command: "/status", text: "on-call", want: "refused"},
		{name: "unmapped user", user: userNobody, command: "/status", want: "refused"},
		{name: "not a supervisor", user: userJohn, command: "/status", text: "busy <@U0AGENT02>", want: "refused"},
		{name: "mentioned person unmapped", user: userBoss, command: "/status", text: "busy <@U0NOBODY1>", want: "refused"},
		{name: "offline to busy", user: userJohn, command: "/status", text: "busy",
			setup: func(f *fixture) { _ = f.sim.Force("agent_001", presence.Offline) }, want: "refused"},
		{name: "on a call", user: "U0AGENT03", command: "/status", text: "busy", want: "refused"},
		{name: "queue off", user: userJohn, command: "/status", text: "cancel", want: "refused"},
		{name: "after-call queue off", user: "U0AGENT03", command: "/status", text: "available after-call", want: "refused"},
		{name: "presence for strangers", user: userNobody, command: "/presence", want: "refused"},
		{name: "team without id", user: userBoss, command: "/presence", text: "team", want: "refused"},
		{name: "no such team", user: userBoss, command: "/presence", text: "team nosuch", want: "refused"},
		{name: "no agent matches", user: userBoss, command: "/presence", text: "zebedee", want: "refused"},
		{name: "mention unmapped", user: userBoss, command: "/presence", text: "<@U0NOBODY1>", want: "refused"},
		{name: "unknown agent", user: userJohn, command: "/status", setup: func(f *fixture) {
			f.sim.Inject(ccmsim.Fault{Code: 404, Times: 1})
		}, want: "refused"},

		// Error: the person is told something failed.
		{name: "contact center down on a change", user: userJohn, command: "/status", text: "busy", setup: func(f *fixture) {
			f.sim.Inject(ccmsim.Fault{Code: 500})
		}, want: "error"},
		{name: "contact center down on a read", user: userJohn, command: "/status", setup: func(f *fixture) {
			f.sim.Inject(ccmsim.Fault{Code: 503})
		}, want: "error"},
		{name: "roster down", user: userBoss, command: "/presence", setup: func(f *fixture) {
			f.sim.Inject(ccmsim.Fault{Code: 500})
		}, want: "error"},
		{name: "lookup fails", user: userNobody, command: "/status", setup: func(f *fixture) {
			f.emails.err = errSlackDown
		}, want: "error"},
		{name: "presence lookup fails", user: userNobody, command: "/presence", setup: func(f *fixture) {
			f.emails.err = errSlackDown
		}, want: "error"},
		{name: "mention lookup fails", user: userBoss, command: "/status", text: "busy <@U0NOBODY1>", setup: func(f *fixture) {
			f.emails.err = errSlackDown
		}, want: "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			if tc.setup != nil {
				tc.setup(f)
			}
			m := f.h.Handle(context.Background(), commands.Request{UserID: tc.user, ChannelID: "C0FLOOR", Command: tc.command, Text: tc.text})
			checkOutcome(t, m, f.logs.String(), tc.want)
		})
	}
}

// TestLastKnownDataIsAnError: serving the last known roster while the
// contact center fails tells the person it failed, so it is an error.
func TestLastKnownDataIsAnError(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if m := f.run(t, userBoss, "/presence", ""); m.Outcome() != "ok" {
		t.Fatalf("first /presence: outcome %q, want ok", m.Outcome())
	}
	f.clock.Advance(5 * 60e9) // past the snapshot's TTL
	f.sim.Inject(ccmsim.Fault{Code: 500})
	m := f.run(t, userBoss, "/presence", "")
	wantText(t, m, "last known data")
	checkOutcome(t, m, f.logs.String(), "error")
}

// TestClicksCarryTheirOutcome: buttons are answered with the same three
// outcomes as commands.
func TestClicksCarryTheirOutcome(t *testing.T) {
	value := func(agent string, from, to presence.Status) string {
		return fmt.Sprintf("agent=%s&from=%s&to=%s", agent, from, to)
	}
	tests := []struct {
		name   string
		click  commands.Click
		alerts *fakeAlerts
		setup  func(f *fixture)
		want   string
	}{
		{name: "a change done", click: commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus,
			Value: value("agent_001", presence.Available, presence.Busy)}, want: "ok"},
		{name: "not understood", click: commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus,
			Value: "%%%"}, want: "refused"},
		{name: "unknown action", click: commands.Click{UserID: userJohn, ActionID: "launch",
			Value: value("agent_001", presence.Available, presence.Busy)}, want: "refused"},
		{name: "stale button", click: commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus,
			Value: value("agent_001", presence.Busy, presence.Offline)}, want: "refused"},
		{name: "someone else's button", click: commands.Click{UserID: userJane, ActionID: commands.ActionSetStatus,
			Value: value("agent_001", presence.Available, presence.Busy)}, want: "refused"},
		{name: "contact center down", click: commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus,
			Value: value("agent_001", presence.Available, presence.Busy)},
			setup: func(f *fixture) { f.sim.Inject(ccmsim.Fault{Code: 500}) }, want: "error"},
		{name: "queue off", click: commands.Click{UserID: userJohn, ActionID: commands.ActionCancelQueue,
			Value: "agent=agent_001"}, want: "refused"},
		{name: "ack by an agent", click: commands.Click{UserID: userJohn, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, alerts: &fakeAlerts{}, want: "refused"},
		{name: "ack of an alert that is over", click: commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, alerts: &fakeAlerts{err: alerts.ErrNotFiring}, want: "refused"},
		{name: "ack with alerts off", click: commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, want: "refused"},
		{name: "ack store trouble", click: commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, alerts: &fakeAlerts{err: fmt.Errorf("x: %w", alerts.ErrStateUnavailable)}, want: "error"},
		{name: "ack done", click: commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, alerts: &fakeAlerts{m: message.Reply("Acknowledged")}, want: "ok"},
		{name: "ack fails otherwise", click: commands.Click{UserID: userBoss, ActionID: commands.ActionAckAlert,
			Value: "alert=total&fired=1"}, alerts: &fakeAlerts{err: errors.New("boom")}, want: "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				h    *commands.Handler
				logs interface{ String() string }
			)
			if tc.alerts != nil {
				hh, l := ackHandler(t, tc.alerts)
				h, logs = hh, l
			} else {
				f := newFixture(t, fixtureOptions{})
				if tc.setup != nil {
					tc.setup(f)
				}
				h, logs = f.h, f.logs
			}
			m := h.Click(context.Background(), tc.click)
			checkOutcome(t, m, logs.String(), tc.want)
		})
	}
}

// A click's answer replaces the message it was in only when it is the new
// state of things (the status view); a failure or a bare refusal leaves the
// message and its buttons, so the person can try again.
func TestClickReplacesTheMessageOnlyWithAView(t *testing.T) {
	value := func(from, to presence.Status) string {
		return fmt.Sprintf("agent=agent_001&from=%s&to=%s", from, to)
	}
	tests := []struct {
		name    string
		click   commands.Click
		setup   func(f *fixture)
		replace bool
	}{
		{"a change done", commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus, Value: value(presence.Available, presence.Busy)}, nil, true},
		{"a stale button: the view as it is now", commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus, Value: value(presence.Busy, presence.Offline)}, nil, true},
		{"the contact center failing", commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus, Value: value(presence.Available, presence.Busy)},
			func(f *fixture) { f.sim.Inject(ccmsim.Fault{Code: 500}) }, false},
		{"someone else's button", commands.Click{UserID: userJane, ActionID: commands.ActionSetStatus, Value: value(presence.Available, presence.Busy)}, nil, false},
		{"not understood", commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus, Value: "%%%"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			if tc.setup != nil {
				tc.setup(f)
			}
			if m := f.h.Click(context.Background(), tc.click); m.ReplaceOriginal != tc.replace {
				t.Errorf("ReplaceOriginal = %v, want %v (answer %q)", m.ReplaceOriginal, tc.replace, m.Text)
			}
		})
	}
}

// A click finished late (its replica died after the change landed, another
// replica runs it again) finds the agent already where the button leads:
// that is "already", not a stale button, and nothing is written.
func TestLateClickWhoseChangeLandedSaysAlready(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	click := commands.Click{UserID: userJohn, ActionID: commands.ActionSetStatus,
		Value: fmt.Sprintf("agent=agent_001&from=%s&to=%s", presence.Available, presence.Busy)}
	if m := f.h.Click(context.Background(), click); m.Outcome() != "ok" {
		t.Fatalf("first click: %s %q", m.Outcome(), m.Text)
	}
	puts := f.sim.Stats().Puts
	m := f.h.Click(context.Background(), click)
	if !strings.Contains(m.Text, "already") || strings.Contains(m.Text, "That button was for") {
		t.Errorf("the repeated click says %q, want that the agent is already busy", m.Text)
	}
	if m.Outcome() != "ok" {
		t.Errorf("outcome %s, want ok", m.Outcome())
	}
	if n := f.sim.Stats().Puts - puts; n != 0 {
		t.Errorf("the repeated click made %d PUTs, want 0", n)
	}
}
