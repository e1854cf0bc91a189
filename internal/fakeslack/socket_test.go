package fakeslack_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

func TestClientConnectsAndGetsHello(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	first := startBot(t, s)

	connected := first.next(t, socketmode.EventTypeConnected).Data.(*socketmode.ConnectedEvent)
	if want := "ws://127.0.0.1:"; !strings.HasPrefix(connected.Info.URL, want) {
		t.Errorf("got websocket URL %q, want prefix %q", connected.Info.URL, want)
	}
	hello := first.next(t, socketmode.EventTypeHello).Request
	if hello.NumConnections != 1 || hello.ConnectionInfo.AppID != fakeslack.AppID {
		t.Errorf("got hello num_connections %d app_id %q, want 1 %q", hello.NumConnections, hello.ConnectionInfo.AppID, fakeslack.AppID)
	}
	if err := s.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}

	// A second replica's hello counts both connections.
	second := startBot(t, s)
	if got := second.next(t, socketmode.EventTypeHello).Request.NumConnections; got != 2 {
		t.Errorf("got second hello num_connections %d, want 2", got)
	}
	if err := s.WaitConnections(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	if got, want := s.ConnectCount(), 2; got != want {
		t.Errorf("got ConnectCount %d, want %d", got, want)
	}
}

func TestSlashCommandReachesClient(t *testing.T) {
	tests := []struct {
		name string
		cmd  fakeslack.SlashCommand
		want slack.SlashCommand // ResponseURL and TriggerID are checked apart
	}{
		{
			// every field given is passed on
			name: "all fields",
			cmd:  fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1", ChannelID: "C9", TeamID: "T2", UserName: "asha.k", ChannelName: "support"},
			want: slack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1", UserName: "asha.k", ChannelID: "C9", ChannelName: "support", TeamID: "T2", TeamDomain: "fake", APIAppID: fakeslack.AppID},
		},
		{
			// the team, #general and the user's name from AddUser fill the gaps
			name: "defaults",
			cmd:  fakeslack.SlashCommand{Command: "/presence", UserID: "U1"},
			want: slack.SlashCommand{Command: "/presence", UserID: "U1", UserName: "asha", ChannelID: "C0GENERAL", ChannelName: "general", TeamID: fakeslack.TeamID, TeamDomain: "fake", APIAppID: fakeslack.AppID},
		},
		{
			// a DM is named like Slack names it; an unknown user gets a name from its ID
			name: "direct message",
			cmd:  fakeslack.SlashCommand{Command: "/status", UserID: "U7", ChannelID: "D7"},
			want: slack.SlashCommand{Command: "/status", UserID: "U7", UserName: "u7", ChannelID: "D7", ChannelName: "directmessage", TeamID: fakeslack.TeamID, TeamDomain: "fake", APIAppID: fakeslack.AppID},
		},
	}
	s := newServer(t, fakeslack.Options{})
	s.AddUser(fakeslack.User{ID: "U1", Name: "asha", RealName: "Asha K", Email: "asha@example.com"})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendSlashCommand(tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeSlashCommand)
			if e.Request.EnvelopeID != id || !e.Request.AcceptsResponsePayload || e.Request.RetryAttempt != 0 {
				t.Errorf("got envelope %q accepts_response_payload %v retry %d, want %q true 0",
					e.Request.EnvelopeID, e.Request.AcceptsResponsePayload, e.Request.RetryAttempt, id)
			}
			got := e.Data.(slack.SlashCommand)
			if want := "http://127.0.0.1:"; !strings.HasPrefix(got.ResponseURL, want) || !strings.Contains(got.ResponseURL, "/response/") {
				t.Errorf("got response_url %q, want %s…/response/…", got.ResponseURL, want)
			}
			if got.TriggerID == "" {
				t.Error("got no trigger_id, want one")
			}
			got.ResponseURL, got.TriggerID, got.Token = "", "", ""
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAckIsRecordedWithLatency(t *testing.T) {
	tests := []struct {
		name        string
		payload     []any
		wantPayload string
	}{
		// an answer in the ack is kept as sent
		{name: "with payload", payload: []any{map[string]string{"text": "You are now busy"}}, wantPayload: `{"text":"You are now busy"}`},
		// a bare ack has no payload
		{name: "bare", wantPayload: ""},
	}
	clock := newFakeClock()
	s := newServer(t, fakeslack.Options{Now: clock.Now})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1"})
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeSlashCommand)
			clock.Advance(250 * time.Millisecond)
			if err := b.client.Ack(*e.Request, tt.payload...); err != nil {
				t.Fatal(err)
			}
			ack, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if ack.EnvelopeID != id || ack.Latency != 250*time.Millisecond || !ack.At.Equal(clock.Now()) || ack.Conn != 1 {
				t.Errorf("got ack %s latency %s at %s conn %d, want %s 250ms %s 1", ack.EnvelopeID, ack.Latency, ack.At, ack.Conn, id, clock.Now())
			}
			if got := compactJSON(t, ack.Payload); got != tt.wantPayload {
				t.Errorf("got payload %s, want %s", got, tt.wantPayload)
			}
		})
	}
	if got, want := len(s.Acks()), len(tests); got != want {
		t.Errorf("got %d acks, want %d", got, want)
	}
}

func TestInteractiveDecodesInSlackGo(t *testing.T) {
	tests := []struct {
		name            string
		payload         any
		wantResponseURL string // "" means: one the fake issued
	}{
		{
			// a map as a test writes it; the fake fills response_url, team, trigger_id
			name: "map",
			payload: map[string]any{
				"user":      map[string]string{"id": "U1", "username": "asha"},
				"channel":   map[string]string{"id": "C1"},
				"container": map[string]any{"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": true},
				"actions":   []map[string]string{{"type": "button", "action_id": "set_status", "block_id": "b1", "value": "busy"}},
			},
		},
		{
			// slack-go's own type works too
			name: "slack.InteractionCallback",
			payload: &slack.InteractionCallback{
				Type:           slack.InteractionTypeBlockActions,
				User:           slack.User{ID: "U1"},
				Channel:        slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C1"}}},
				Container:      slack.Container{Type: "message", MessageTs: "1.2", ChannelID: "C1", IsEphemeral: true},
				ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{Type: "button", ActionID: "set_status", BlockID: "b1", Value: "busy"}}},
			},
		},
		{
			// a response_url given is kept
			name: "own response_url",
			payload: map[string]any{
				"type":         "block_actions",
				"user":         map[string]string{"id": "U1"},
				"channel":      map[string]string{"id": "C1"},
				"container":    map[string]any{"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": true},
				"actions":      []map[string]string{{"type": "button", "action_id": "set_status", "block_id": "b1", "value": "busy"}},
				"response_url": "http://127.0.0.1:1/elsewhere",
			},
			wantResponseURL: "http://127.0.0.1:1/elsewhere",
		},
	}
	s := newServer(t, fakeslack.Options{})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendInteractive(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeInteractive)
			if e.Request.EnvelopeID != id || e.Request.AcceptsResponsePayload {
				t.Errorf("got envelope %q accepts_response_payload %v, want %q false", e.Request.EnvelopeID, e.Request.AcceptsResponsePayload, id)
			}
			cb := e.Data.(slack.InteractionCallback)
			if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U1" || cb.Channel.ID != "C1" ||
				cb.Team.ID != fakeslack.TeamID || cb.APIAppID != fakeslack.AppID || cb.TriggerID == "" {
				t.Errorf("got type %q user %q channel %q team %q app %q trigger %q, want block_actions U1 C1 %s %s and a trigger",
					cb.Type, cb.User.ID, cb.Channel.ID, cb.Team.ID, cb.APIAppID, cb.TriggerID, fakeslack.TeamID, fakeslack.AppID)
			}
			if !cb.Container.IsEphemeral || cb.Container.MessageTs != "1.2" {
				t.Errorf("got container %+v, want ephemeral message 1.2", cb.Container)
			}
			if n := len(cb.ActionCallback.BlockActions); n != 1 {
				t.Fatalf("got %d block actions, want 1", n)
			}
			if a := cb.ActionCallback.BlockActions[0]; a.ActionID != "set_status" || a.Value != "busy" || a.BlockID != "b1" {
				t.Errorf("got action %s=%s in %s, want set_status=busy in b1", a.ActionID, a.Value, a.BlockID)
			}
			switch {
			case tt.wantResponseURL != "" && cb.ResponseURL != tt.wantResponseURL:
				t.Errorf("got response_url %q, want %q", cb.ResponseURL, tt.wantResponseURL)
			case tt.wantResponseURL == "" && !strings.Contains(cb.ResponseURL, "/response/"):
				t.Errorf("got response_url %q, want one of the fake's", cb.ResponseURL)
			}
		})
	}
}

func TestEventsAPIDecodesInSlackGo(t *testing.T) {
	tests := []struct {
		name     string
		event    any
		wantTeam string
	}{
		{
			// an inner event is wrapped in an event_callback for the fake's team
			name:     "inner event",
			event:    map[string]string{"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
			wantTeam: fakeslack.TeamID,
		},
		{
			// a whole event_callback goes as it is
			name: "event callback",
			event: json.RawMessage(`{"type":"event_callback","token":"x","team_id":"T0OTHER","api_app_id":"A0FAKE",
				"event_id":"Ev1","event_time":1,"event":{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home"}}`),
			wantTeam: "T0OTHER",
		},
	}
	s := newServer(t, fakeslack.Options{})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendEvent(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeEventsAPI)
			if e.Request.EnvelopeID != id {
				t.Errorf("got envelope %q, want %q", e.Request.EnvelopeID, id)
			}
			ev := e.Data.(slackevents.EventsAPIEvent)
			if ev.Type != slackevents.CallbackEvent || ev.TeamID != tt.wantTeam {
				t.Errorf("got %s for team %s, want %s for %s", ev.Type, ev.TeamID, slackevents.CallbackEvent, tt.wantTeam)
			}
			home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
			if !ok {
				t.Fatalf("got inner event %T, want *slackevents.AppHomeOpenedEvent", ev.InnerEvent.Data)
			}
			if home.User != "U1" || home.Tab != "home" {
				t.Errorf("got user %q tab %q, want U1 home", home.User, home.Tab)
			}
		})
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	tests := []struct {
		name string
		send func() (string, error)
	}{
		// a slash command needs a command
		{"slash without command", func() (string, error) { return s.SendSlashCommand(fakeslack.SlashCommand{UserID: "U1"}) }},
		// and a user
		{"slash without user", func() (string, error) { return s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status"}) }},
		// an interactive payload is an object
		{"interactive not an object", func() (string, error) { return s.SendInteractive([]int{1}) }},
		// an event names its type
		{"event without type", func() (string, error) { return s.SendEvent(map[string]string{"user": "U1"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, err := tt.send(); err == nil {
				t.Errorf("got envelope %q and no error, want an error", id)
			}
		})
	}
}

func TestSendWithoutConnection(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	_, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"})
	if !errors.Is(err, fakeslack.ErrNoConnection) {
		t.Errorf("got %v, want ErrNoConnection", err)
	}
}

func TestRedeliveryCarriesRetryAttempt(t *testing.T) {
	tests := []struct {
		name    string
		bots    int
		wantHop bool // whether the redelivery goes to the other bot
	}{
		// with two connections, the redelivery goes to the other replica
		{name: "two connections", bots: 2, wantHop: true},
		// with one, it comes back on the same connection
		{name: "one connection", bots: 1, wantHop: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			var bots [2]*bot
			bots[0] = startBot(t, s)
			bots[1] = bots[0]
			if tt.bots == 2 {
				bots[1] = startBot(t, s)
			}
			if err := s.WaitConnections(testCtx(t), tt.bots); err != nil {
				t.Fatal(err)
			}

			// Two envelopes, so that plain round-robin would bring the
			// redelivery of the first back to the first bot.
			var id string
			for i := range 2 {
				sent, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: "U1"})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					id = sent
				}
			}
			first := -1
			for range 2 {
				i, e := nextOfTwo(t, bots, socketmode.EventTypeSlashCommand)
				if e.Request.EnvelopeID != id {
					continue
				}
				first = i
				if err := bots[i].client.Ack(*e.Request); err != nil {
					t.Fatal(err)
				}
			}
			if first < 0 {
				t.Fatalf("envelope %s never arrived", id)
			}
			firstAck, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}

			if err := s.Redeliver(id, 1, "timeout"); err != nil {
				t.Fatal(err)
			}
			second, e := nextOfTwo(t, bots, socketmode.EventTypeSlashCommand)
			if e.Request.EnvelopeID != id || e.Request.RetryAttempt != 1 || e.Request.RetryReason != "timeout" {
				t.Errorf("got envelope %q retry %d %q, want %q 1 timeout", e.Request.EnvelopeID, e.Request.RetryAttempt, e.Request.RetryReason, id)
			}
			if hopped := bots[second] != bots[first]; hopped != tt.wantHop {
				t.Errorf("got redelivery on another bot %v, want %v", hopped, tt.wantHop)
			}
			if err := bots[second].client.Ack(*e.Request); err != nil {
				t.Fatal(err)
			}
			ack, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if ack.RetryAttempt != 1 || (ack.Conn != firstAck.Conn) != tt.wantHop {
				t.Errorf("got redelivery ack attempt %d on conn %d (first on %d), want attempt 1, other conn %v", ack.RetryAttempt, ack.Conn, firstAck.Conn, tt.wantHop)
			}
		})
	}
}

func TestRedeliverUnknownEnvelope(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	if err := s.Redeliver("E-nope", 1, "timeout"); err == nil {
		t.Error("got no error, want one for an unknown envelope")
	}
	if _, err := s.WaitAck(testCtx(t), "E-nope"); err == nil {
		t.Error("got no error from WaitAck, want one for an unknown envelope")
	}
}

func TestEnvelopesGoRoundRobin(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	bots := [2]*bot{startBot(t, s), startBot(t, s)}
	if err := s.WaitConnections(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	const n = 6
	sent := make([]string, n)
	for i := range sent {
		id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		sent[i] = id
	}
	got := make(map[string]int, n) // envelope → bot
	perBot := [2]int{}
	for range n {
		i, e := nextOfTwo(t, bots, socketmode.EventTypeSlashCommand)
		got[e.Request.EnvelopeID] = i
		perBot[i]++
	}
	if perBot != [2]int{n / 2, n / 2} {
		t.Errorf("got %v envelopes per bot, want %d each", perBot, n/2)
	}
	for i := 1; i < n; i++ {
		if got[sent[i]] == got[sent[i-1]] {
			t.Errorf("got envelopes %d and %d on the same bot, want them alternating", i-1, i)
		}
	}
}

func TestClientReconnects(t *testing.T) {
	tests := []struct {
		name string
		do   func(s *fakeslack.Server)
	}{
		// Slack's routine refresh
		{"disconnect refresh_requested", func(s *fakeslack.Server) { s.Disconnect("refresh_requested") }},
		// the app's socket mode link was turned off and on
		{"disconnect link_disabled", func(s *fakeslack.Server) { s.Disconnect("link_disabled") }},
		// Slack warns before closing
		{"disconnect warning", func(s *fakeslack.Server) { s.Disconnect("warning") }},
		// the connection dies without a word
		{"dropped", func(s *fakeslack.Server) { s.DropConnections() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			b := startBot(t, s)
			b.next(t, socketmode.EventTypeHello)
			if err := s.WaitConnections(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}

			tt.do(s)
			// Right after, the old connection takes no envelopes: none is
			// open unless the client was quick enough to reconnect already.
			if n, count := s.Connections(), s.ConnectCount(); n != 0 && count < 2 {
				t.Errorf("got %d connections taking envelopes of %d ever opened, want 0 until a reconnect", n, count)
			}
			if err := s.WaitConnectCount(testCtx(t), 2); err != nil {
				t.Fatalf("client did not reconnect: %v", err)
			}
			if err := s.WaitConnections(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}

			// The new connection works.
			id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"})
			if err != nil {
				t.Fatal(err)
			}
			e := b.next(t, socketmode.EventTypeSlashCommand)
			if err := b.client.Ack(*e.Request); err != nil {
				t.Fatal(err)
			}
			ack, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Conn != 2 {
				t.Errorf("got ack on connection %d, want 2", ack.Conn)
			}
		})
	}
}

func TestPingTimeoutMakesClientReconnect(t *testing.T) {
	s := newServer(t, fakeslack.Options{PingInterval: 5 * time.Millisecond})
	b := startBot(t, s, socketmode.OptionPingInterval(150*time.Millisecond))
	b.next(t, socketmode.EventTypeHello)

	s.SetPings(false)
	if err := s.WaitConnectCount(testCtx(t), 2); err != nil {
		t.Fatalf("client did not reconnect after pings stopped: %v", err)
	}
	s.SetPings(true)
	if err := s.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
}

// TestServerPingsAndTickets drives the websocket directly: pings arrive every
// PingInterval, and a ticket from apps.connections.open works once.
func TestServerPingsAndTickets(t *testing.T) {
	s := newServer(t, fakeslack.Options{PingInterval: 2 * time.Millisecond})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	_, url, err := api.StartSocketModeContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	defer ws.Close()

	var hello struct {
		Type string `json:"type"`
	}
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("got first message %q (%v), want hello", hello.Type, err)
	}
	pinged := make(chan struct{}, 8)
	ws.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	frames := make(chan []byte, 8)
	go func() {
		defer close(frames)
		for {
			_, data, err := ws.ReadMessage() // control frames are handled while reading
			if err != nil {
				return
			}
			frames <- data
		}
	}()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for range 3 {
		select {
		case <-pinged:
		case <-timer.C:
			t.Fatal("got fewer than 3 pings, want them every 2ms")
		}
	}

	// A disconnect names its reason, and the connection gets no more
	// envelopes.
	s.Disconnect("warning")
	var disconnect struct {
		Type, Reason string
	}
	if err := json.Unmarshal(<-frames, &disconnect); err != nil || disconnect.Type != "disconnect" || disconnect.Reason != "warning" {
		t.Errorf("got %+v (%v), want a disconnect for warning", disconnect, err)
	}
	if _, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"}); !errors.Is(err, fakeslack.ErrNoConnection) {
		t.Errorf("got %v sending after disconnect, want ErrNoConnection", err)
	}

	// The ticket is spent: dialing it again is refused.
	_, resp, err = websocket.DefaultDialer.DialContext(testCtx(t), url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("got %v on reusing a ticket, want 401", err)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	_ = ws.Close()
	for range frames { // until the reader ends
	}
}
