package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/presence"
)

// corpusFrame is a frame of the Slack corpus (internal/fakeslack/testdata/slack,
// each cited in SOURCES.md) made to speak of this world: its workspace and
// user become ours, and edit may point it at a real command or button.
// Only identities and values change; the shape stays Slack's.
func corpusFrame(t *testing.T, name, user string, edit func(payload map[string]any)) json.RawMessage {
	t.Helper()
	raw, err := fakeslack.Fixture(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, team := range []string{"T111", "T12345678"} {
		text = strings.ReplaceAll(text, `"`+team+`"`, `"`+fakeslack.TeamID+`"`)
	}
	for _, u := range []string{"U111", "W111", "U12345678"} {
		text = strings.ReplaceAll(text, `"`+u+`"`, `"`+user+`"`)
	}
	var frame map[string]any
	if err := json.Unmarshal([]byte(text), &frame); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(frame["payload"].(map[string]any))
	}
	out, err := json.Marshal(frame)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pointAt makes a corpus click press one of the bot's buttons.
func pointAt(b button) func(map[string]any) {
	return func(p map[string]any) {
		a := p["actions"].([]any)[0].(map[string]any)
		a["action_id"], a["value"] = b.ActionID, b.Value
	}
}

func (w *world) sendFrame(frame json.RawMessage) string {
	w.t.Helper()
	id, err := w.slack.SendFrame(frame)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// The real bot, driven by Slack's own payloads: a slash command, a click
// in a message, a click in the App Home, app_home_opened and its retry, and
// a disconnect. If the bot works only with the fake's envelopes, this fails.
func TestSlackCorpusDrivesTheRealBot(t *testing.T) {
	w := start(t)

	// slash_commands: the answer goes to the response_url.
	id := w.sendFrame(corpusFrame(t, "slash_commands", userAlice, func(p map[string]any) {
		p["command"], p["text"] = "/status", ""
	}))
	first := w.answer(id)
	mustContain(t, blockText(t, first.Blocks), "available")
	busy := findButton(t, buttons(t, first.Blocks), "Busy")

	// app_home_opened, then its retry under a new envelope: one Home.
	// (Before any change: a change refreshes an opened Home, which would
	// race with the count.)
	w.sendFrame(corpusFrame(t, "events_api_app_home_opened", userAlice, nil))
	w.waitFor("the home", func(m fakeslack.Message) bool { return m.Method == "views.publish" && m.User == userAlice })
	retry := w.sendFrame(corpusFrame(t, "events_api_app_home_opened_retry", userAlice, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ack, err := w.slack.WaitAck(ctx, retry); err != nil || ack.RetryAttempt != 1 {
		t.Fatalf("the retry's ack = %+v, %v", ack, err)
	}
	w.waitLog("event:Ev12345678")
	if n := w.slack.Calls("views.publish"); n != 1 {
		t.Errorf("views.publish after an event and its retry = %d, want 1", n)
	}

	// block_actions from a message: replaces the message it was in.
	m := w.answer(w.sendFrame(corpusFrame(t, "block_actions_message", userAlice, pointAt(busy))))
	if !m.ReplaceOriginal {
		t.Error("the click's answer does not replace the message")
	}
	mustContain(t, blockText(t, m.Blocks), "now", "busy")
	offline := findButton(t, buttons(t, m.Blocks), "Offline")

	// block_actions from the Home: no response_url, no channel; the
	// answer is the Home, published again.
	w.sendFrame(corpusFrame(t, "block_actions_home", userAlice, pointAt(offline)))
	home := w.waitFor("the home after the click", func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == userAlice && strings.Contains(string(m.Blocks), "You're now")
	})
	mustContain(t, blockText(t, home.Blocks), "offline")
	if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Offline {
		t.Errorf("agent_001 is %s, want offline", a.Status)
	}

	// disconnect (refresh_requested): the bot reconnects and serves on.
	before := w.slack.ConnectCount()
	if _, err := w.slack.SendFrame(corpusFrame(t, "disconnect_refresh_requested", userAlice, nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.slack.WaitConnectCount(ctx, before+1); err != nil {
		t.Fatalf("no reconnect after disconnect: %v", err)
	}
	w.waitConnected(1)
	mustContain(t, w.ask(userAlice, "/status", ""), "offline")
	if strings.Contains(w.logs.String(), "could not deliver") {
		t.Errorf("an answer was lost:\n%s", w.logs.String())
	}
}
