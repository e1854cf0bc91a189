package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence"
)

// withEnv sets configuration variables for one world.
func withEnv(kv ...string) setting {
	return func(env map[string]string, _ *[]app.Option) {
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
	}
}

// button is one button of an answer.
type button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Text     struct {
		Text string `json:"text"`
	} `json:"text"`
}

// buttons lists the buttons of a Block Kit payload.
func buttons(t *testing.T, raw json.RawMessage) []button {
	t.Helper()
	var blocks []struct {
		Type     string          `json:"type"`
		Elements json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	var out []button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		var bs []button
		if err := json.Unmarshal(b.Elements, &bs); err != nil {
			t.Fatalf("buttons: %v", err)
		}
		out = append(out, bs...)
	}
	return out
}

// find returns the button whose label is label.
func findButton(t *testing.T, bs []button, label string) button {
	t.Helper()
	for _, b := range bs {
		if b.Text.Text == label {
			return b
		}
	}
	t.Fatalf("no %q button among %+v", label, bs)
	return button{}
}

// click presses a button as user and returns the envelope ID.
func (w *world) click(user string, b button) string {
	w.t.Helper()
	id, err := w.slack.SendInteractive(map[string]any{
		"type":    "block_actions",
		"user":    map[string]string{"id": user},
		"channel": map[string]string{"id": "C0FLOOR"},
		"actions": []map[string]string{{"type": "button", "action_id": b.ActionID, "value": b.Value, "block_id": "b1"}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// waitFor waits for a Web API message that matches.
func (w *world) waitFor(what string, match func(fakeslack.Message) bool) fakeslack.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := w.slack.WaitMessage(ctx, match)
	if err != nil {
		w.t.Fatalf("never: %s: %v\nlogs:\n%s", what, err, w.logs.String())
	}
	return m
}

func (w *world) count(match func(fakeslack.Message) bool) int {
	n := 0
	for _, m := range w.slack.Messages() {
		if match(m) {
			n++
		}
	}
	return n
}

func TestButtonChangesStatusAndReplacesTheMessage(t *testing.T) {
	w := start(t)
	first := w.answer(w.send(userAlice, "/status", ""))
	busy := findButton(t, buttons(t, first.Blocks), "Busy")
	findButton(t, buttons(t, first.Blocks), "Offline")

	m := w.answer(w.click(userAlice, busy))
	if !m.ReplaceOriginal {
		t.Error("the click's answer does not replace the message")
	}
	mustContain(t, blockText(t, m.Blocks), "now", "busy")
	findButton(t, buttons(t, m.Blocks), "Available") // the new moves
	if st := w.sim.Stats(); st.Puts != 1 || st.Gets != 2 {
		t.Errorf("requests = %+v, want one GET per answer and one PUT", st)
	}
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", a.Status)
	}
}

func TestButtonRefusals(t *testing.T) {
	w := start(t)
	first := w.answer(w.send(userAlice, "/status", ""))
	busy := findButton(t, buttons(t, first.Blocks), "Busy")

	// Someone else presses Alice's button: refused, nothing written, and
	// Alice's message stays.
	m := w.answer(w.click(userBob, busy))
	if m.ReplaceOriginal {
		t.Error("a refused click replaced the owner's message")
	}
	mustContain(t, blockText(t, m.Blocks), "someone else")

	// A supervisor may.
	// The button is stale once Alice has moved: nothing is written.
	if err := w.sim.Force("agent_001", presence.Offline); err != nil {
		t.Fatal(err)
	}
	m = w.answer(w.click(userAlice, busy))
	mustContain(t, blockText(t, m.Blocks), "That button was for", "available", "offline", "changed nothing")
	findButton(t, buttons(t, m.Blocks), "Available") // fresh buttons for where she is
	if n := w.sim.Stats().Puts; n != 0 {
		t.Errorf("PUTs = %d, want 0", n)
	}

	// The same click delivered twice runs once.
	if err := w.sim.Force("agent_001", presence.Available); err != nil {
		t.Fatal(err)
	}
	id := w.click(userSuper, busy)
	w.answer(id)
	if err := w.slack.Redeliver(id, 1, "timeout"); err != nil {
		t.Fatal(err)
	}
	w.ask(userBob, "/status", "") // a later command, answered after the redelivery
	if n := w.sim.Stats().Puts; n != 1 {
		t.Errorf("PUTs = %d after a redelivered click, want 1", n)
	}
}

func TestQueuedStatusAppliedWhenTheCallEnds(t *testing.T) {
	w := start(t, withEnv("AFTER_CALL_POLL", "1s"))
	if err := w.sim.StartCall("agent_001", presence.Call{Direction: "inbound", CustomerNumber: "+15550001111"}); err != nil {
		t.Fatal(err)
	}
	// On a call: refused, with an offer.
	m := w.answer(w.send(userAlice, "/status", "offline"))
	mustContain(t, blockText(t, m.Blocks), "on a call", "when this call ends")
	later := findButton(t, buttons(t, m.Blocks), "Offline after this call")
	// busy cannot wait for the call: explained.
	mustContain(t, w.ask(userAlice, "/status", "busy after-call"), "can't be queued", "after-call work")

	// The offer's button queues it; /status shows it.
	mustContain(t, blockText(t, w.answer(w.click(userAlice, later)).Blocks), "Noted", "offline")
	mustContain(t, w.ask(userAlice, "/status", ""), "set to go", "offline", "/status cancel")

	// The call ends; the next poll applies it and tells Alice once.
	if err := w.sim.EndCall("agent_001"); err != nil {
		t.Fatal(err)
	}
	dm := w.waitFor("the DM about the queued status", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(m.Text, "call ended")
	})
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Offline {
		t.Errorf("agent_001 is %s, want offline", a.Status)
	}
	if !strings.HasPrefix(dm.Channel, "D") {
		t.Errorf("announced in %s, want a direct message", dm.Channel)
	}
	time.Sleep(2500 * time.Millisecond) // two more polls: nothing more to say
	if n := w.count(func(m fakeslack.Message) bool { return strings.Contains(m.Text, "call ended") }); n != 1 {
		t.Errorf("announced %d times, want once", n)
	}
	if n := w.sim.Stats().Puts; n != 1 {
		t.Errorf("PUTs = %d, want 1", n)
	}
}

func TestQueuedStatusCancelledAndExpired(t *testing.T) {
	w := start(t, withEnv("AFTER_CALL_POLL", "1s", "AFTER_CALL_EXPIRY", "2s"))
	for _, id := range []string{"agent_001", "agent_002"} {
		_ = w.sim.Force(id, presence.Available)
		if err := w.sim.StartCall(id, presence.Call{Direction: "inbound"}); err != nil {
			t.Fatal(err)
		}
	}
	mustContain(t, w.ask(userAlice, "/status", "offline after-call"), "Noted")
	mustContain(t, w.ask(userAlice, "/status", "cancel"), "Dropped")
	mustContain(t, w.ask(userAlice, "/status", "cancel"), "no queued status")

	// Bob's wish outlives its expiry while his call goes on: dropped, and said so.
	mustContain(t, w.ask(userBob, "/status", "available after-call"), "Noted")
	w.waitFor("the expiry notice", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(m.Text, "expired")
	})
	_ = w.sim.EndCall("agent_001")
	_ = w.sim.EndCall("agent_002")
	time.Sleep(1500 * time.Millisecond) // a poll after the calls ended
	if n := w.sim.Stats().Puts; n != 0 {
		t.Errorf("PUTs = %d, want 0: the cancelled and the expired wish must not apply", n)
	}
}

func TestQueuedStatusSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	stateDir := withEnv("STATE_DIR", filepath.Join(dir, "state"), "AFTER_CALL_POLL", "1s")
	w := start(t, stateDir)
	if err := w.sim.StartCall("agent_001", presence.Call{Direction: "inbound"}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, w.ask(userAlice, "/status", "offline after-call"), "Noted")
	if err := w.shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err != nil {
		t.Fatalf("no state written: %v", err)
	}

	// A new process on the same state, with the same contact center.
	w2 := start(t, stateDir, func(env map[string]string, _ *[]app.Option) {
		env["EXOTEL_BASE_URL"] = w.ccmURL()
	})
	if err := w.sim.EndCall("agent_001"); err != nil {
		t.Fatal(err)
	}
	w2.waitFor("the queued status applied after the restart", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(m.Text, "call ended")
	})
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Offline {
		t.Errorf("agent_001 is %s, want offline", a.Status)
	}
}

func TestAppHome(t *testing.T) {
	w := start(t)
	agent := blockText(t, w.homeView(userAlice))
	mustContain(t, agent, "Your status", "available")
	findButton(t, buttons(t, w.homeView(userAlice)), "Busy")
	mustContain(t, blockText(t, w.homeView(userSuper)), "The floor", "Sales", "Support", "Available: Alice Agent")

	// A change through the bot (here a slash command) refreshes the
	// opened home.
	before := w.slack.Calls("views.publish")
	w.answer(w.send(userAlice, "/status", "busy"))
	w.waitFor("the home refreshed", func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == userAlice && strings.Contains(string(m.Blocks), "*busy* since")
	})
	if w.slack.Calls("views.publish") <= before {
		t.Error("home not republished after the change")
	}
}

// homeView opens user's App Home and returns its blocks.
func (w *world) homeView(user string) json.RawMessage {
	w.t.Helper()
	isHome := func(m fakeslack.Message) bool { return m.Method == "views.publish" && m.User == user }
	skip := w.count(isHome) // WaitMessage also sees earlier messages
	if _, err := w.slack.SendEvent(map[string]any{"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0X"}); err != nil {
		w.t.Fatal(err)
	}
	seen := 0
	m := w.waitFor("views.publish for "+user, func(m fakeslack.Message) bool {
		if !isHome(m) {
			return false
		}
		seen++
		return seen > skip
	})
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(m.Blocks, &view); err != nil {
		w.t.Fatal(err)
	}
	return view.Blocks
}

// A click in the App Home arrives as Slack sends it (container "view", no
// response_url, no channel): its answer is the Home itself, published
// again with what happened at the top.
func TestHomeClickAnswersInTheHome(t *testing.T) {
	w := start(t)
	busy := findButton(t, buttons(t, w.homeView(userAlice)), "Busy")
	published := w.slack.Calls("views.publish")
	if _, err := w.slack.SendHomeClick(userAlice, busy.ActionID, busy.Value); err != nil {
		t.Fatal(err)
	}
	m := w.waitFor("the home with the result", func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == userAlice && strings.Contains(string(m.Blocks), "now")
	})
	mustContain(t, blockText(t, m.Blocks), "You're now", "busy", "Your status")
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", a.Status)
	}
	// One publish answers the click: no refresh overwrites the notice.
	if n := w.slack.Calls("views.publish") - published; n != 1 {
		t.Errorf("views.publish calls after the click = %d, want 1", n)
	}
	for _, m := range w.slack.Messages() {
		if m.Method == "response_url" || m.Method == "chat.postEphemeral" {
			t.Errorf("a Home click was answered through %s", m.Method)
		}
	}
	if strings.Contains(w.logs.String(), "could not deliver") {
		t.Errorf("an answer was lost:\n%s", w.logs.String())
	}
}

// A refused Home click is never silent: the refusal leads the Home.
func TestHomeClickRefusalShowsInTheHome(t *testing.T) {
	w := start(t)
	busy := findButton(t, buttons(t, w.homeView(userAlice)), "Busy")
	// The status moves behind the Home's back: its Busy button is stale.
	if err := w.sim.Force("agent_001", presence.Offline); err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.SendHomeClick(userAlice, busy.ActionID, busy.Value); err != nil {
		t.Fatal(err)
	}
	m := w.waitFor("the home with the refusal", func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == userAlice && strings.Contains(string(m.Blocks), "That button was for")
	})
	mustContain(t, blockText(t, m.Blocks), "I changed nothing", "offline", "Your status")
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Offline {
		t.Errorf("agent_001 is %s, want offline (nothing written)", a.Status)
	}
	if n := w.sim.Stats().Puts; n != 0 {
		t.Errorf("PUTs = %d, want 0", n)
	}
}

// The fake refuses Home clicks in shapes Slack never sends, and buttons
// that are not in the published Home.
func TestFakeHomeClicksAreStrict(t *testing.T) {
	w := start(t)
	w.homeView(userAlice)
	if _, err := w.slack.SendHomeClick(userAlice, "status_set", "agent=agent_001&from=available&to=nowhere"); !errors.Is(err, fakeslack.ErrNoSuchButton) {
		t.Errorf("click on a button not in the view: err = %v, want ErrNoSuchButton", err)
	}
	_, err := w.slack.SendInteractive(map[string]any{
		"user":    map[string]string{"id": userAlice},
		"channel": map[string]string{"id": "C0FLOOR"},
		"view":    map[string]string{"id": "V1", "type": "home"},
		"actions": []map[string]string{{"type": "button", "action_id": "status_set", "value": "x"}},
	})
	if err == nil {
		t.Error("a view click with a channel was sent")
	}
}

func TestAlertReachesTheChannelAndIsAcknowledged(t *testing.T) {
	// Two of four agents are available; the threshold is three.
	w := start(t, withEnv("ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "3", "ALERT_INTERVAL", "1s",
		"SUMMARY_CHANNEL", "C0SUMMARY", "SUMMARY_SCHEDULE", "1s"))
	alert := w.waitFor("the alert in ALERT_CHANNEL", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C0ALERTS"
	})
	text := blockText(t, alert.Blocks)
	mustContain(t, text, "2", "3", "Alice Agent")
	w.waitFor("a summary in SUMMARY_CHANNEL", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C0SUMMARY"
	})

	// Acknowledged by a supervisor: the message says so.
	ack := findButton(t, buttons(t, alert.Blocks), "Acknowledge")
	refused := w.answer(w.click(userAlice, ack))
	mustContain(t, blockText(t, refused.Blocks), "Only supervisors")
	m := w.answer(w.click(userSuper, ack))
	if !m.ReplaceOriginal {
		t.Error("the acknowledgement does not replace the alert")
	}
	mustContain(t, blockText(t, m.Blocks), "cknowledged")

	// Recovery: a third agent available.
	if err := w.sim.Force("agent_003", presence.Available); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the recovery", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C0ALERTS" && m.TS != alert.TS &&
			strings.Contains(strings.ToLower(m.Text+string(m.Blocks)), "recover")
	})
	if n := w.count(func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C0ALERTS" && !strings.Contains(strings.ToLower(m.Text+string(m.Blocks)), "recover")
	}); n != 1 {
		t.Errorf("alerts posted = %d, want 1", n)
	}
}
