package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/message"
)

// A response_url is a credential: a failed answer's error, which is
// logged, never repeats it.
func TestRespondErrorsNeverHoldTheResponseURL(t *testing.T) {
	// A port that refuses connections: a real transport error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const secret = "T0FAKE/1234567890/Zk9yIGV5ZXMgb25seQ"
	web := NewWebAPI(Slack{BotToken: "xoxb-x", AppToken: "xapp-x"})
	// Short: the retries' backoff is not what is tested.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for _, u := range []string{"http://" + addr + "/actions/" + secret, "http://[::1/actions/" + secret} {
		err := web.Respond(ctx, u, message.Reply("hi"))
		if err == nil {
			t.Fatalf("Respond to %s succeeded", u)
		}
		if strings.Contains(err.Error(), "Zk9yIGV5ZXMgb25seQ") || strings.Contains(err.Error(), "1234567890") {
			t.Errorf("the error holds the response_url: %v", err)
		}
		if !strings.Contains(err.Error(), "response_url") {
			t.Errorf("the error does not say what failed: %v", err)
		}
	}
}

// A frame slack-go cannot read comes back with its raw text, which holds
// response_url and the verification token: the log line keeps neither.
func TestSocketTroubleNeverLogsThePayload(t *testing.T) {
	raw := json.RawMessage(`{"envelope_id":"E1","type":"slash_commands","payload":{"token":"verif-SECRET","response_url":"https://hooks.slack.com/commands/T1/2/SECRETPATH"`)
	for _, data := range []any{
		&socketmode.ErrorBadMessage{Cause: errors.New("unexpected end of JSON input"), Message: raw},
		errors.New("write: broken pipe"),
		nil,
		struct{ Payload string }{string(raw)},
	} {
		got := socketTrouble(data)
		if strings.Contains(got, "SECRET") {
			t.Errorf("socketTrouble(%T) = %q: holds the payload", data, got)
		}
	}
	if got := socketTrouble(&socketmode.ErrorBadMessage{Cause: errors.New("unexpected end of JSON input"), Message: raw}); !strings.Contains(got, "unexpected end") {
		t.Errorf("the cause is lost: %q", got)
	}
}
