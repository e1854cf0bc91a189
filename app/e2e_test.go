package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestStatusShowsOwnStatusWithoutWriting(t *testing.T) {
	w := start(t)
	got := w.ask(userAlice, "/status", "")
	mustContain(t, got, "available", "/status busy", "/status offline")
	if st := w.sim.Stats(); st.Puts != 0 || st.Gets != 1 {
		t.Errorf("requests = %+v, want one GET and no PUT", st)
	}
}

func TestStatusChangeCostsOneGetAndOnePut(t *testing.T) {
	w := start(t)
	got := w.ask(userAlice, "/status", "busy")
	mustContain(t, got, "now", "busy", "was available")
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", a.Status)
	}
	if st := w.sim.Stats(); st.Gets != 1 || st.Puts != 1 || st.Lists != 0 {
		t.Errorf("requests = %+v, want exactly one GET and one PUT", st)
	}
	// The next /presence shows the change.
	mustContain(t, w.ask(userAlice, "/presence", "busy"), "Alice Agent")
}

func TestStatusRefusalsMakeNoWrite(t *testing.T) {
	tests := []struct {
		name  string
		setup func(sim *ccmsim.Sim)
		user  string
		text  string
		wants []string
	}{
		{"invalid transition names from, to and what is allowed", nil,
			userBob, "busy", []string{"already", "busy"}},
		{"offline cannot go busy", func(sim *ccmsim.Sim) { _ = sim.Force("agent_001", presence.Offline) },
			userAlice, "busy", []string{"can't go from", "offline", "busy", "available"}},
		{"on a call is managed by the contact center", func(sim *ccmsim.Sim) {
			_ = sim.StartCall("agent_001", presence.Call{Direction: "inbound", CustomerNumber: "+15551234567"})
		}, userAlice, "offline", []string{"on a call", "managed"}},
		{"after-call-work cannot be chosen", nil, userAlice, "after-call-work", []string{"after-call work", "available", "busy", "offline", "Usage"}},
		{"on-call cannot be chosen", nil, userAlice, "on-call", []string{"on-call", "can't choose", "Usage"}},
		{"unknown word", nil, userAlice, "lunch", []string{"don't know the status", "available", "busy", "offline"}},
		{"extra words", nil, userAlice, "busy right now please", []string{"Usage"}},
		{"unmapped user is told how to get mapped", nil, userStray, "busy", []string{"mapping file", userStray}},
		{"non-supervisor acting for someone else", nil, userAlice, "offline <@U0BOB|bob>", []string{"Only supervisors"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t)
			if tt.setup != nil {
				tt.setup(w.sim)
			}
			got := w.ask(tt.user, "/status", tt.text)
			mustContain(t, got, tt.wants...)
			if n := w.sim.Stats().Puts; n != 0 {
				t.Errorf("%d PUTs, want none", n)
			}
		})
	}
}

func TestEmailFallbackMapsAndIsCached(t *testing.T) {
	w := start(t)
	got := w.ask(userCarol, "/status", "available")
	mustContain(t, got, "now", "available")
	if a, _ := w.sim.Agent("agent_003"); a.Status != presence.Available {
		t.Errorf("agent_003 is %s, want available", a.Status)
	}
	w.ask(userCarol, "/status", "")
	if n := w.slack.Calls("users.info"); n != 1 {
		t.Errorf("users.info called %d times, want 1 (cached)", n)
	}
}

func TestSupervisorChangesSomeoneElse(t *testing.T) {
	w := start(t)
	got := w.ask(userSuper, "/status", "offline <@U0BOB|bob>")
	mustContain(t, got, "Bob Busy", "offline")
	if a, _ := w.sim.Agent("agent_002"); a.Status != presence.Offline {
		t.Errorf("agent_002 is %s, want offline", a.Status)
	}
	if !strings.Contains(w.logs.String(), "by="+userSuper) {
		t.Errorf("no audit line naming the supervisor:\n%s", w.logs.String())
	}
}

func TestPresenceForms(t *testing.T) {
	w := start(t)
	if err := w.sim.StartCall("agent_004", presence.Call{Direction: "outbound", CustomerNumber: "+919876543210"}); err != nil {
		t.Fatal(err)
	}
	t.Run("overview", func(t *testing.T) {
		mustContain(t, w.ask(userSuper, "/presence", ""), "4 agents", "1 available", "1 on-call", "Alice Agent", "Sales", "30m")
	})
	t.Run("by status", func(t *testing.T) {
		got := w.ask(userSuper, "/presence", "busy")
		mustContain(t, got, "Bob Busy")
		if strings.Contains(got, "Alice") {
			t.Errorf("busy list shows Alice:\n%s", got)
		}
	})
	t.Run("by team", func(t *testing.T) {
		got := w.ask(userSuper, "/presence", "team support_team")
		mustContain(t, got, "Support", "Bob Busy", "Carol Calls")
		if strings.Contains(got, "Alice") {
			t.Errorf("support team shows Alice:\n%s", got)
		}
	})
	t.Run("one agent with the call, number masked", func(t *testing.T) {
		got := w.ask(userSuper, "/presence", "agent_004")
		mustContain(t, got, "Dan On-Call", "outbound", "••••3210")
		if strings.Contains(got, "9876543210") {
			t.Errorf("customer number not masked:\n%s", got)
		}
	})
	t.Run("by name and by mention", func(t *testing.T) {
		mustContain(t, w.ask(userSuper, "/presence", "carol"), "Carol Calls", "offline")
		mustContain(t, w.ask(userSuper, "/presence", "<@U0ALICE|alice>"), "Alice Agent")
	})
	t.Run("help", func(t *testing.T) {
		mustContain(t, w.ask(userSuper, "/presence", "help"), "/presence team", "/presence &lt;status&gt;")
	})
	t.Run("refused to strangers", func(t *testing.T) {
		mustContain(t, w.ask(userStray, "/presence", ""), "for contact-center agents and supervisors")
	})
}

func TestAgentNamesCannotMentionAnyone(t *testing.T) {
	w := start(t)
	w.sim.Add(presence.Agent{ID: "agent_666", Name: "<!channel> & <@U0SUPER>", Status: presence.Available,
		StatusSince: time.Now(), Team: &presence.Team{ID: "sales_team", Name: "<b>Sales</b>"}})
	m := w.answer(w.send(userSuper, "/presence", ""))
	text := blockText(t, m.Blocks) + m.Text
	if strings.Contains(text, "<!channel>") || strings.Contains(text, "<@U0SUPER>") || strings.Contains(text, "<b>") {
		t.Errorf("unescaped mention reached Slack:\n%s", text)
	}
	mustContain(t, text, "&lt;!channel&gt; &amp; &lt;@U0SUPER&gt;", "&lt;b&gt;Sales&lt;/b&gt;")
}

func TestDuplicateDeliveryRunsOnce(t *testing.T) {
	w := start(t)
	id := w.send(userAlice, "/status", "busy")
	w.answer(id)
	if err := w.slack.Redeliver(id, 1, "timeout"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The redelivery is acknowledged...
	ack, err := w.slack.WaitAck(ctx, id)
	if err != nil || ack.RetryAttempt != 1 {
		t.Fatalf("redelivery ack = %+v, %v", ack, err)
	}
	// ...but not run: a later command's answer arrives, and still one PUT.
	w.ask(userBob, "/status", "")
	if n := w.sim.Stats().Puts; n != 1 {
		t.Errorf("PUTs = %d, want 1", n)
	}
	answers := 0
	for _, m := range w.slack.Messages() {
		if m.EnvelopeID == id {
			answers++
		}
	}
	if answers != 1 {
		t.Errorf("answers to the envelope = %d, want 1", answers)
	}
}

func TestReconnectsAfterDisconnect(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "drop"} {
		t.Run(reason, func(t *testing.T) {
			w := start(t)
			if reason == "drop" {
				w.slack.DropConnections()
			} else {
				w.slack.Disconnect(reason)
			}
			w.waitConnected(2)
			mustContain(t, w.ask(userAlice, "/status", "busy"), "now", "busy")
		})
	}
}

func TestStuckAPIStillAcksInTime(t *testing.T) {
	w := start(t)
	w.sim.SetLatency(10 * time.Second)
	id := w.send(userAlice, "/status", "busy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ack, err := w.slack.WaitAck(ctx, id)
	if err != nil {
		t.Fatalf("no ack within 3s while the API is stuck: %v", err)
	}
	if ack.Latency > 3*time.Second {
		t.Errorf("ack latency %v, want < 3s", ack.Latency)
	}
	// The answer follows within the command timeout and says nothing changed.
	got := blockText(t, w.answer(id).Blocks)
	mustContain(t, got, "could not reach", "Nothing was changed")
	w.sim.SetLatency(0) // let shutdown finish promptly
}

func TestGracefulShutdownFinishesCommandsInFlight(t *testing.T) {
	w := start(t)
	w.sim.SetLatency(300 * time.Millisecond)
	id := w.send(userAlice, "/status", "busy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := w.slack.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := w.shutdown(); err != nil {
		t.Fatalf("Run = %v, want nil on shutdown", err)
	}
	// The command that was in flight was answered and applied.
	var answered bool
	for _, m := range w.slack.Messages() {
		answered = answered || m.EnvelopeID == id
	}
	if !answered {
		t.Error("the command in flight at shutdown got no answer")
	}
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", a.Status)
	}
}

// Slack retries an event under a new envelope_id with the same event_id:
// the retry is acknowledged and not run again.
func TestEventRetryUnderANewEnvelopeRunsOnce(t *testing.T) {
	w := start(t)
	event := map[string]any{
		"token": "fake-verification-token", "team_id": fakeslack.TeamID, "api_app_id": fakeslack.AppID,
		"type": "event_callback", "event_id": "Ev0HOMEOPEN1", "event_time": 1700000000,
		"event": map[string]any{"type": "app_home_opened", "user": userAlice, "channel": "D0X", "tab": "home",
			"event_ts": "1700000000.000100"},
	}
	first, err := w.slack.SendEvent(event)
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor("the home", func(m fakeslack.Message) bool { return m.Method == "views.publish" && m.User == userAlice })
	retry, err := w.slack.SendEvent(event)
	if err != nil {
		t.Fatal(err)
	}
	if retry == first {
		t.Fatal("the fake reused the envelope id")
	}
	w.waitLog("event:Ev0HOMEOPEN1")
	if n := w.slack.Calls("views.publish"); n != 1 {
		t.Errorf("views.publish calls = %d, want 1", n)
	}
}

// Userinfo in the configured URLs is a credential: the logs never show it,
// not even the start-up line that names both URLs.
func TestLogsNeverShowUserinfoInURLs(t *testing.T) {
	w := start(t, func(env map[string]string, _ *[]app.Option) {
		env["EXOTEL_BASE_URL"] = strings.Replace(env["EXOTEL_BASE_URL"], "http://", "http://ccmuser:ccm-pa55@", 1)
		env["SLACK_API_URL"] = strings.Replace(env["SLACK_API_URL"], "http://", "http://slackuser:slack-pa55@", 1)
	})
	w.ask(userAlice, "/status", "")
	w.waitLog("presence-bot starting")
	logs := w.logs.String()
	for _, s := range []string{"ccmuser", "ccm-pa55", "slackuser", "slack-pa55"} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs show %q:\n%s", s, logs)
		}
	}
}
