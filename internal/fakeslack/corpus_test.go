package fakeslack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// The corpus (testdata/slack, sources in SOURCES.md) is what real Slack
// sends. These tests hold two things to it: slack-go decodes every frame
// into what the bot reads, and the fake's own envelopes have the same shape.

func fixture(tb testing.TB, name string) json.RawMessage {
	tb.Helper()
	b, err := fakeslack.Fixture(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decode(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("decode %s: %v", truncate(string(b)), err)
	}
	return v
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// responsePrefix is the start of every response_url the fake issues.
func responsePrefix(s *fakeslack.Server) string {
	return strings.TrimSuffix(s.URL(), "api/") + "response/"
}

func TestFixtureLoadsTheCorpus(t *testing.T) {
	// The frames the bot must survive; a file lost from the corpus fails here.
	want := []string{
		"block_actions_home", "block_actions_message",
		"disconnect_link_disabled", "disconnect_refresh_requested", "disconnect_warning",
		"events_api_app_home_opened", "events_api_app_home_opened_retry",
		"hello", "slash_commands",
	}
	if got := fakeslack.FixtureNames(); !slices.Equal(got, want) {
		t.Errorf("got fixtures %v, want %v", got, want)
	}
	// Every frame names its source.
	sources, err := os.ReadFile("testdata/slack/SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if !strings.Contains(string(sources), name+".json") {
			t.Errorf("SOURCES.md does not cite %s.json", name)
		}
		frame := decode(t, fixture(t, name))
		if frame["type"] == nil {
			t.Errorf("%s: got no type, want a Socket Mode frame", name)
		}
		withExt, err := fakeslack.Fixture(name + ".json")
		if err != nil || string(withExt) != string(fixture(t, name)) {
			t.Errorf("%s.json: got %v, want the same file", name, err)
		}
	}
	for _, bad := range []string{"", "nope", "../slack/hello", "SOURCES.md"} {
		if _, err := fakeslack.Fixture(bad); err == nil {
			t.Errorf("Fixture(%q): got no error, want one", bad)
		}
	}
}

// webhookClient posts to response_urls and leaks no idle connections.
func webhookClient(tb testing.TB) *http.Client {
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// respond answers through a response_url the fake issued and returns what
// the fake recorded for it.
func respond(t *testing.T, s *fakeslack.Server, url, envelopeID string) fakeslack.Message {
	t.Helper()
	if !strings.HasPrefix(url, responsePrefix(s)) {
		t.Fatalf("got response_url %q, want one of the fake's (%s…)", url, responsePrefix(s))
	}
	if err := slack.PostWebhookCustomHTTPContext(testCtx(t), url, webhookClient(t), &slack.WebhookMessage{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	m, err := s.WaitMessage(testCtx(t), func(m fakeslack.Message) bool {
		return m.Method == "response_url" && m.EnvelopeID == envelopeID
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ackAndWait acks an event from slack-go and returns the ack the fake saw.
func ackAndWait(t *testing.T, s *fakeslack.Server, b *bot, e socketmode.Event) fakeslack.Ack {
	t.Helper()
	if err := b.client.Ack(*e.Request); err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(testCtx(t), e.Request.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

func TestCorpusDecodesInSlackGo(t *testing.T) {
	t.Run("slash_commands", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		b := startBot(t, s)
		b.next(t, socketmode.EventTypeHello)
		id, err := s.SendFrame(fixture(t, "slash_commands"))
		if err != nil {
			t.Fatal(err)
		}
		e := b.next(t, socketmode.EventTypeSlashCommand)
		if e.Request.EnvelopeID != id || !e.Request.AcceptsResponsePayload {
			t.Errorf("got envelope %q accepts_response_payload %v, want %q true", e.Request.EnvelopeID, e.Request.AcceptsResponsePayload, id)
		}
		got := e.Data.(slack.SlashCommand)
		url := got.ResponseURL
		got.ResponseURL = ""
		want := slack.SlashCommand{
			Token: "xxx", TeamID: "T111", TeamDomain: "xxx", ChannelID: "C111", ChannelName: "random",
			UserID: "U111", UserName: "seratch", Command: "/hello-socket-mode", APIAppID: "A111",
			TriggerID: "111.222.xxx", IsEnterpriseInstall: false, // sent as the string "false"
		}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		ackAndWait(t, s, b, e)
		// The response_url is the fake's, tied to the command's channel and user.
		if m := respond(t, s, url, id); m.Channel != "C111" || m.User != "U111" || m.Text != "done" {
			t.Errorf("got response in %q for %q saying %q, want C111 U111 done", m.Channel, m.User, m.Text)
		}
	})

	t.Run("block_actions_message", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		b := startBot(t, s)
		b.next(t, socketmode.EventTypeHello)
		id, err := s.SendFrame(fixture(t, "block_actions_message"))
		if err != nil {
			t.Fatal(err)
		}
		e := b.next(t, socketmode.EventTypeInteractive)
		if e.Request.EnvelopeID != id || e.Request.AcceptsResponsePayload {
			t.Errorf("got envelope %q accepts_response_payload %v, want %q false", e.Request.EnvelopeID, e.Request.AcceptsResponsePayload, id)
		}
		cb := e.Data.(slack.InteractionCallback)
		if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "W111" || cb.Team.ID != "T111" ||
			cb.Channel.ID != "C111" || cb.Channel.Name != "test-channel" || cb.TriggerID != "111.222.valid" {
			t.Errorf("got %s by %q in team %q channel %q (%q) trigger %q, want block_actions by W111 in T111 C111 (test-channel) 111.222.valid",
				cb.Type, cb.User.ID, cb.Team.ID, cb.Channel.ID, cb.Channel.Name, cb.TriggerID)
		}
		if c := cb.Container; c.Type != "message" || c.MessageTs != "111.222" || c.ChannelID != "C111" || c.IsEphemeral {
			t.Errorf("got container %+v, want a non-ephemeral message 111.222 in C111", c)
		}
		if m := cb.Message; m.Timestamp != "111.222" || m.BotID != "B123ABC456" || m.Text == "" {
			t.Errorf("got message ts %q bot %q text %q, want 111.222 B123ABC456 and its text", m.Timestamp, m.BotID, m.Text)
		}
		if n := len(cb.ActionCallback.BlockActions); n != 1 {
			t.Fatalf("got %d block actions, want 1", n)
		}
		if a := cb.ActionCallback.BlockActions[0]; a.ActionID != "a" || a.BlockID != "b" || a.Value != "click_me_123" ||
			a.Type != "button" || a.ActionTs != "1596530385.194939" {
			t.Errorf("got action %+v, want button a in b worth click_me_123 at 1596530385.194939", *a)
		}
		ackAndWait(t, s, b, e)
		if m := respond(t, s, cb.ResponseURL, id); m.Channel != "C111" || m.User != "W111" {
			t.Errorf("got response in %q for %q, want C111 W111", m.Channel, m.User)
		}
	})

	t.Run("block_actions_home", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		b := startBot(t, s)
		b.next(t, socketmode.EventTypeHello)
		id, err := s.SendFrame(fixture(t, "block_actions_home"))
		if err != nil {
			t.Fatal(err)
		}
		e := b.next(t, socketmode.EventTypeInteractive)
		if e.Request.EnvelopeID != id {
			t.Errorf("got envelope %q, want %q", e.Request.EnvelopeID, id)
		}
		cb := e.Data.(slack.InteractionCallback)
		if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U12345678" || cb.Team.ID != "T12345678" {
			t.Errorf("got %s by %q in %q, want block_actions by U12345678 in T12345678", cb.Type, cb.User.ID, cb.Team.ID)
		}
		if c := cb.Container; c.Type != "view" || c.ViewID != "V1234567890" {
			t.Errorf("got container %+v, want view V1234567890", c)
		}
		if cb.View.Type != slack.VTHomeTab || cb.View.ID != "V1234567890" || cb.View.Hash == "" {
			t.Errorf("got view %q %q hash %q, want the home view V1234567890 with its hash", cb.View.Type, cb.View.ID, cb.View.Hash)
		}
		// What the bot must cope with: nowhere to answer but the Home itself.
		if cb.ResponseURL != "" || cb.Channel.ID != "" {
			t.Errorf("got response_url %q channel %q, want neither for a Home click", cb.ResponseURL, cb.Channel.ID)
		}
		if n := len(cb.ActionCallback.BlockActions); n != 1 {
			t.Fatalf("got %d block actions, want 1", n)
		}
		if a := cb.ActionCallback.BlockActions[0]; a.ActionID != "a" || a.BlockID != "block" || a.Value != "click_me_123" || a.Type != "button" {
			t.Errorf("got action %+v, want button a in block worth click_me_123", *a)
		}
		ackAndWait(t, s, b, e)
	})

	for _, tt := range []struct {
		name        string
		wantAttempt int
		wantReason  string
	}{
		// the first delivery
		{name: "events_api_app_home_opened", wantAttempt: 0, wantReason: ""},
		// Slack's redelivery after a late ack
		{name: "events_api_app_home_opened_retry", wantAttempt: 1, wantReason: "timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			b := startBot(t, s)
			b.next(t, socketmode.EventTypeHello)
			id, err := s.SendFrame(fixture(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeEventsAPI)
			if r := e.Request; r.EnvelopeID != id || r.RetryAttempt != tt.wantAttempt || r.RetryReason != tt.wantReason {
				t.Errorf("got envelope %q retry %d %q, want %q %d %q", r.EnvelopeID, r.RetryAttempt, r.RetryReason, id, tt.wantAttempt, tt.wantReason)
			}
			ev := e.Data.(slackevents.EventsAPIEvent)
			if ev.Type != slackevents.CallbackEvent || ev.TeamID != "T12345678" || ev.APIAppID != "A12345678" {
				t.Errorf("got %s for team %q app %q, want %s T12345678 A12345678", ev.Type, ev.TeamID, ev.APIAppID, slackevents.CallbackEvent)
			}
			if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); !ok || cb.EventID != "Ev12345678" {
				t.Errorf("got callback %+v, want event Ev12345678", ev.Data)
			}
			home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
			if !ok {
				t.Fatalf("got inner event %T, want *slackevents.AppHomeOpenedEvent", ev.InnerEvent.Data)
			}
			if home.User != "U12345678" || home.Channel != "D12345678" || home.Tab != "home" || home.EventTimeStamp != "1747319568.267214" {
				t.Errorf("got %+v, want U12345678 in D12345678 on the home tab at 1747319568.267214", *home)
			}
			if home.View == nil || home.View.Type != slack.VTHomeTab || home.View.ID != "V12345678" {
				t.Errorf("got view %+v, want the home view V12345678", home.View)
			}
			// The fake records the attempt the frame carried.
			if ack := ackAndWait(t, s, b, e); ack.RetryAttempt != tt.wantAttempt {
				t.Errorf("got ack of attempt %d, want %d", ack.RetryAttempt, tt.wantAttempt)
			}
		})
	}

	t.Run("hello", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		b := startBot(t, s)
		b.next(t, socketmode.EventTypeHello) // the fake's own
		if id, err := s.SendFrame(fixture(t, "hello")); err != nil || id != "" {
			t.Fatalf("got envelope %q, %v; want none", id, err)
		}
		r := b.next(t, socketmode.EventTypeHello).Request
		want := socketmode.DebugInfo{Host: "applink-7fc4fdbb64-4x5xq", BuildNumber: 10, ApproximateConnectionTime: 18060}
		if r.NumConnections != 4 || r.DebugInfo != want || r.ConnectionInfo.AppID != "A01K58AR4RF" {
			t.Errorf("got hello %d connections, %+v, app %q; want 4, %+v, A01K58AR4RF", r.NumConnections, r.DebugInfo, r.ConnectionInfo.AppID, want)
		}
	})

	// slack-go answers each of Slack's disconnects by reconnecting.
	for _, name := range []string{"disconnect_refresh_requested", "disconnect_link_disabled", "disconnect_warning"} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			b := startBot(t, s)
			b.next(t, socketmode.EventTypeHello)
			if id, err := s.SendFrame(fixture(t, name)); err != nil || id != "" {
				t.Fatalf("got envelope %q, %v; want none", id, err)
			}
			if err := s.WaitConnectCount(testCtx(t), 2); err != nil {
				t.Fatalf("client did not reconnect: %v", err)
			}
			if err := s.WaitConnections(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			// The new connection carries envelopes; the old one gets none.
			id, err := s.SendFrame(fixture(t, "slash_commands"))
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeSlashCommand)
			if ack := ackAndWait(t, s, b, e); ack.EnvelopeID != id || ack.Conn != 2 {
				t.Errorf("got ack of %q on connection %d, want %q on 2", ack.EnvelopeID, ack.Conn, id)
			}
		})
	}
}

// rawConn is a bare websocket on the fake, to see frames byte for byte.
type rawConn struct{ ws *websocket.Conn }

func dialRaw(t *testing.T, s *fakeslack.Server) *rawConn {
	t.Helper()
	_, url, err := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken).StartSocketModeContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	return &rawConn{ws: ws}
}

// next reads the next text frame (pings are answered while reading).
func (r *rawConn) next(t *testing.T) []byte {
	t.Helper()
	if err := r.ws.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	_, data, err := r.ws.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return data
}

func TestSendFrameKeepsTheFrame(t *testing.T) {
	for _, name := range fakeslack.FixtureNames() {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			c := dialRaw(t, s)
			c.next(t) // the fake's hello
			want := decode(t, fixture(t, name))
			id, err := s.SendFrame(fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, c.next(t))
			if want["envelope_id"] == nil {
				// hello and disconnect go exactly as they are
				if id != "" || !reflect.DeepEqual(got, want) {
					t.Errorf("got envelope %q and frame %v, want none and %v", id, got, want)
				}
				return
			}
			// Only the envelope_id and the response_url are the fake's.
			if got["envelope_id"] != id || id == want["envelope_id"] {
				t.Errorf("got envelope_id %v (returned %q), want a fresh one, not %v", got["envelope_id"], id, want["envelope_id"])
			}
			got["envelope_id"], want["envelope_id"] = nil, nil
			gotPayload, _ := got["payload"].(map[string]any)
			wantPayload := want["payload"].(map[string]any)
			if wantPayload["response_url"] != nil {
				if u, _ := gotPayload["response_url"].(string); !strings.HasPrefix(u, responsePrefix(s)) {
					t.Errorf("got response_url %q, want one of the fake's", u)
				}
				gotPayload["response_url"], wantPayload["response_url"] = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				gotJSON, _ := json.Marshal(got)
				wantJSON, _ := json.Marshal(want)
				t.Errorf("got frame\n%s\nwant\n%s", gotJSON, wantJSON)
			}
		})
	}

	// A redelivery of a corpus frame is the same frame with the retry
	// fields Slack sets, even on a slash command, whose first frame has none.
	t.Run("redelivered", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		id, err := s.SendFrame(fixture(t, "slash_commands"))
		if err != nil {
			t.Fatal(err)
		}
		first := decode(t, c.next(t))
		if _, ok := first["retry_attempt"]; ok {
			t.Errorf("got retry_attempt %v in a first slash_commands frame, want none as Slack's", first["retry_attempt"])
		}
		if err := s.Redeliver(id, 2, "timeout"); err != nil {
			t.Fatal(err)
		}
		again := decode(t, c.next(t))
		if again["retry_attempt"] != float64(2) || again["retry_reason"] != "timeout" {
			t.Errorf("got retry %v %v, want 2 timeout", again["retry_attempt"], again["retry_reason"])
		}
		delete(again, "retry_attempt")
		delete(again, "retry_reason")
		if !reflect.DeepEqual(again, first) {
			t.Errorf("got redelivery %v, want the first frame %v", again, first)
		}
	})
}

func TestSendFrameRejectsBadInput(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	tests := []struct {
		name    string
		frame   string
		wantErr error // nil: any error
	}{
		// a frame is an object
		{name: "not an object", frame: `[1]`},
		// of a type Slack sends
		{name: "unknown type", frame: `{"type":"goodbye"}`},
		// an envelope has an envelope_id
		{name: "no envelope_id", frame: `{"type":"events_api","payload":{}}`},
		// and an object for payload
		{name: "payload not an object", frame: `{"type":"slash_commands","envelope_id":"x","payload":"text"}`},
		// nothing goes out with no connection open
		{name: "envelope without connection", frame: string(fixture(t, "slash_commands")), wantErr: fakeslack.ErrNoConnection},
		{name: "hello without connection", frame: string(fixture(t, "hello")), wantErr: fakeslack.ErrNoConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendFrame(json.RawMessage(tt.frame))
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("got envelope %q, %v; want an error (%v)", id, err, tt.wantErr)
			}
		})
	}
}

// shape maps every path in a JSON value to its JSON type: "payload.user.id"
// → "string"; array elements share the path "…[]".
func shape(v any, path string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out[p] = jsonType(x)
			shape(x, p, out)
		}
	case []any:
		for _, x := range v {
			out[path+"[]"] = jsonType(x)
			shape(x, path+"[]", out)
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	default:
		return "null"
	}
}

// shapeDiff lists how the fake's frame differs in shape from Slack's: keys
// Slack sends that the fake lacks, keys the fake sends that Slack does not,
// and keys of another JSON type. A path in except, or under one, is skipped.
func shapeDiff(slackFrame, fakeFrame []byte, except map[string]string) []string {
	var want, got any
	if err := json.Unmarshal(slackFrame, &want); err != nil {
		return []string{"corpus: " + err.Error()}
	}
	if err := json.Unmarshal(fakeFrame, &got); err != nil {
		return []string{"fake: " + err.Error()}
	}
	wantShape, gotShape := map[string]string{}, map[string]string{}
	shape(want, "", wantShape)
	shape(got, "", gotShape)
	excepted := func(p string) bool {
		for e := range except {
			if p == e || strings.HasPrefix(p, e+".") || strings.HasPrefix(p, e+"[]") {
				return true
			}
		}
		return false
	}
	var diffs []string
	for p, wt := range wantShape {
		switch gt, ok := gotShape[p]; {
		case excepted(p):
		case !ok:
			diffs = append(diffs, fmt.Sprintf("lacks %s (%s in Slack's)", p, wt))
		case gt != wt:
			diffs = append(diffs, fmt.Sprintf("sends %s as %s, Slack as %s", p, gt, wt))
		}
	}
	for p, gt := range gotShape {
		if _, ok := wantShape[p]; !ok && !excepted(p) {
			diffs = append(diffs, fmt.Sprintf("sends %s (%s) that Slack does not", p, gt))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// TestFakeMatchesCorpusShape holds the fake's own envelopes to the corpus:
// the fake must not lack a key Slack sends, which the bot could come to rely
// on, nor send one Slack never does. Frames are read off a bare websocket.
func TestFakeMatchesCorpusShape(t *testing.T) {
	check := func(t *testing.T, corpus string, frame []byte, except map[string]string) {
		t.Helper()
		for _, d := range shapeDiff(fixture(t, corpus), frame, except) {
			t.Errorf("fake %s", d)
		}
	}

	t.Run("hello", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		check(t, "hello", dialRaw(t, s).next(t), nil)
	})

	t.Run("disconnect", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		s.Disconnect("warning")
		check(t, "disconnect_warning", c.next(t), nil)
	})

	t.Run("slash_commands", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		if _, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/hello-socket-mode", UserID: "U111", ChannelID: "C111"}); err != nil {
			t.Fatal(err)
		}
		check(t, "slash_commands", c.next(t), nil)
	})

	t.Run("events_api", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		// The inner event is the test's to give; the wrapping is the fake's.
		var corpus struct {
			Payload struct {
				Event json.RawMessage `json:"event"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(fixture(t, "events_api_app_home_opened"), &corpus); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendEvent(corpus.Payload.Event); err != nil {
			t.Fatal(err)
		}
		check(t, "events_api_app_home_opened", c.next(t), nil)
	})

	// A click as a test describes it: who, where, which message, which
	// button. Everything else is the fake's to fill in as Slack would.
	t.Run("block_actions_message", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		_, err := s.SendInteractive(map[string]any{
			"type":    "block_actions",
			"user":    map[string]string{"id": "W111"},
			"channel": map[string]string{"id": "C111"},
			"message": map[string]string{"ts": "111.222", "text": "Who if I cried out would hear me."},
			"actions": []map[string]string{{"action_id": "a", "block_id": "b", "value": "click_me_123", "type": "button"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "block_actions_message", c.next(t), nil)
	})

	// A click in the Home the bot published.
	t.Run("block_actions_home", func(t *testing.T) {
		s := newServer(t, fakeslack.Options{})
		c := dialRaw(t, s)
		c.next(t)
		button := slack.NewButtonBlockElement("a", "click_me_123", slack.NewTextBlockObject(slack.PlainTextType, "Button", true, false))
		home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewActionBlock("block", button)}}}
		if _, err := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken).PublishViewContext(testCtx(t),
			slack.PublishViewContextRequest{UserID: "U12345678", View: home}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendHomeClick("U12345678", "a", "click_me_123"); err != nil {
			t.Fatal(err)
		}
		check(t, "block_actions_home", c.next(t), nil)
	})
}
