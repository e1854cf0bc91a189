package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func TestWebAPICallsAreRecorded(t *testing.T) {
	blocks := []slack.Block{section("*Asha* is busy")}
	blocksJSON, _ := json.Marshal(blocks)
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
	viewJSON, _ := json.Marshal(view)

	tests := []struct {
		name       string
		call       func(api *slack.Client) error
		want       recorded
		wantBlocks string
		wantTS     bool // a fresh ts is assigned
	}{
		{
			// text, blocks and thread as sent
			name: "chat.postMessage",
			call: func(api *slack.Client) error {
				_, _, err := api.PostMessage("C1", slack.MsgOptionText("Asha is busy", false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionTS("111.222"))
				return err
			},
			want:       recorded{Method: "chat.postMessage", Channel: "C1", Text: "Asha is busy", ThreadTS: "111.222"},
			wantBlocks: string(blocksJSON),
			wantTS:     true,
		},
		{
			// the user it is shown to
			name: "chat.postEphemeral",
			call: func(api *slack.Client) error {
				_, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false))
				return err
			},
			want:   recorded{Method: "chat.postEphemeral", Channel: "C1", User: "U1", Text: "only you"},
			wantTS: true,
		},
		{
			// the ts of the message updated
			name: "chat.update",
			call: func(api *slack.Client) error {
				_, _, _, err := api.UpdateMessage("C1", "123.456", slack.MsgOptionText("now available", false))
				return err
			},
			want: recorded{Method: "chat.update", Channel: "C1", Text: "now available", TS: "123.456"},
		},
		{
			// the ts of the message deleted
			name: "chat.delete",
			call: func(api *slack.Client) error {
				_, _, err := api.DeleteMessage("C1", "123.456")
				return err
			},
			want: recorded{Method: "chat.delete", Channel: "C1", TS: "123.456"},
		},
		{
			// the view goes in Blocks
			name: "views.publish",
			call: func(api *slack.Client) error {
				_, err := api.PublishView("U1", view, "")
				return err
			},
			want:       recorded{Method: "views.publish", User: "U1"},
			wantBlocks: string(viewJSON),
		},
		{
			// the user looked up
			name: "users.info",
			call: func(api *slack.Client) error {
				_, err := api.GetUserInfo("U1")
				return err
			},
			want: recorded{Method: "users.info", User: "U1"},
		},
		{
			// a DM with the user
			name: "conversations.open",
			call: func(api *slack.Client) error {
				_, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
				return err
			},
			want: recorded{Method: "conversations.open", Channel: "D1", User: "U1"},
		},
	}
	clock := newFakeClock()
	s := newServer(t, fakeslack.Options{Now: clock.Now})
	s.AddUser(fakeslack.User{ID: "U1", Name: "asha", Email: "asha@example.com"})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(time.Second)
			before := len(s.Messages())
			if err := tt.call(api); err != nil {
				t.Fatal(err)
			}
			msgs := s.Messages()
			if len(msgs) != before+1 {
				t.Fatalf("got %d new messages, want 1", len(msgs)-before)
			}
			m := msgs[before]
			if got := compactJSON(t, m.Blocks); got != compactJSON(t, []byte(tt.wantBlocks)) {
				t.Errorf("got blocks %s, want %s", got, tt.wantBlocks)
			}
			if !m.At.Equal(clock.Now()) {
				t.Errorf("got At %s, want %s", m.At, clock.Now())
			}
			if tt.wantTS {
				if m.TS == "" {
					t.Error("got no ts, want one")
				}
				tt.want.TS = m.TS
			}
			if got := summary(m); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got := s.Calls(tt.want.Method); got != 1 {
				t.Errorf("got %d calls of %s, want 1", got, tt.want.Method)
			}
		})
	}
}

// recorded is the comparable part of a fakeslack.Message.
type recorded struct {
	Method, Channel, User, Text, TS, ThreadTS, ResponseType string
	ReplaceOriginal, DeleteOriginal                         bool
	EnvelopeID                                              string
}

func summary(m fakeslack.Message) recorded {
	return recorded{
		Method: m.Method, Channel: m.Channel, User: m.User, Text: m.Text, TS: m.TS, ThreadTS: m.ThreadTS,
		ResponseType: m.ResponseType, ReplaceOriginal: m.ReplaceOriginal, DeleteOriginal: m.DeleteOriginal,
		EnvelopeID: m.EnvelopeID,
	}
}

func TestWebAPIAnswers(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	s.AddUser(fakeslack.User{ID: "U1", Name: "asha", RealName: "Asha K", Email: "asha@example.com"})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)

	auth, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if auth.TeamID != fakeslack.TeamID || auth.UserID != fakeslack.BotUserID || auth.BotID != fakeslack.BotID || auth.Team == "" || auth.URL == "" {
		t.Errorf("got auth.test %+v, want team %s user %s bot %s", auth, fakeslack.TeamID, fakeslack.BotUserID, fakeslack.BotID)
	}

	u, err := api.GetUserInfo("U1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.Email != "asha@example.com" || u.Name != "asha" || u.RealName != "Asha K" || u.IsBot {
		t.Errorf("got user %s %q %q bot %v, want asha@example.com asha \"Asha K\" false", u.Profile.Email, u.Name, u.RealName, u.IsBot)
	}
	if _, err := api.GetUserInfo("U404"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("got %v for an unknown user, want user_not_found", err)
	}

	ch, ts, err := api.PostMessage("U1", slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "D1" || ts == "" {
		t.Errorf("got channel %q ts %q for a post to a user, want D1 and a ts", ch, ts)
	}
	_, ts2, err := api.PostMessage("C1", slack.MsgOptionText("again", false))
	if err != nil {
		t.Fatal(err)
	}
	if ts2 == ts {
		t.Errorf("got the same ts %q twice, want unique ones", ts)
	}
}

func TestResponseURLPostsAreRecorded(t *testing.T) {
	blocks := []slack.Block{section("Asha: busy")}
	blocksJSON, _ := json.Marshal(blocks)
	tests := []struct {
		name       string
		opts       func(url string) []slack.MsgOption
		want       recorded // EnvelopeID filled in by the test
		wantBlocks string
	}{
		{
			// an ephemeral answer
			name: "ephemeral",
			opts: func(url string) []slack.MsgOption {
				return []slack.MsgOption{slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText("You are busy", false)}
			},
			want: recorded{Method: "response_url", Channel: "C1", User: "U1", Text: "You are busy", ResponseType: "ephemeral"},
		},
		{
			// an answer for the channel, with blocks
			name: "in channel with blocks",
			opts: func(url string) []slack.MsgOption {
				return []slack.MsgOption{slack.MsgOptionResponseURL(url, slack.ResponseTypeInChannel), slack.MsgOptionBlocks(blocks...)}
			},
			want:       recorded{Method: "response_url", Channel: "C1", User: "U1", ResponseType: "in_channel"},
			wantBlocks: string(blocksJSON),
		},
		{
			// replacing the message the command came from
			name: "replace original",
			opts: func(url string) []slack.MsgOption {
				return []slack.MsgOption{slack.MsgOptionReplaceOriginal(url), slack.MsgOptionText("Done", false)}
			},
			want: recorded{Method: "response_url", Channel: "C1", User: "U1", Text: "Done", ReplaceOriginal: true},
		},
		{
			// deleting it, which needs no text
			name: "delete original",
			opts: func(url string) []slack.MsgOption {
				return []slack.MsgOption{slack.MsgOptionDeleteOriginal(url)}
			},
			want: recorded{Method: "response_url", Channel: "C1", User: "U1", DeleteOriginal: true},
		},
	}
	s := newServer(t, fakeslack.Options{})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1", ChannelID: "C1"})
			if err != nil {
				t.Fatal(err)
			}
			cmd := b.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)
			if _, _, err := api.PostMessage("", tt.opts(cmd.ResponseURL)...); err != nil {
				t.Fatal(err)
			}
			m, err := s.WaitMessage(testCtx(t), func(m fakeslack.Message) bool { return m.EnvelopeID == id })
			if err != nil {
				t.Fatal(err)
			}
			tt.want.EnvelopeID = id
			if got := summary(m); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got := compactJSON(t, m.Blocks); got != compactJSON(t, []byte(tt.wantBlocks)) {
				t.Errorf("got blocks %s, want %s", got, tt.wantBlocks)
			}
		})
	}
}

func TestResponseURLLimits(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	if _, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	url := b.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand).ResponseURL
	post := func(url string) error {
		_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText("hi", false))
		return err
	}

	// Slack takes five posts to one response_url.
	for i := range 5 {
		if err := post(url); err != nil {
			t.Fatalf("post %d: got %v, want success", i+1, err)
		}
	}
	if err := post(url); err == nil || err.Error() != "used_url" {
		t.Errorf("sixth post: got %v, want used_url", err)
	}
	// A URL the fake never issued is not found.
	var codeErr slack.StatusCodeError
	if err := post(strings.TrimSuffix(s.URL(), "api/") + "response/R-nope"); !errors.As(err, &codeErr) || codeErr.Code != http.StatusNotFound {
		t.Errorf("unknown URL: got %v, want HTTP 404", err)
	}
	if got, want := s.Calls("response_url"), 7; got != want {
		t.Errorf("got %d response_url calls, want %d", got, want)
	}
	posted := 0
	for _, m := range s.Messages() {
		if m.Method == "response_url" {
			posted++
		}
	}
	if want := 5; posted != want {
		t.Errorf("got %d response_url messages recorded, want %d", posted, want)
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		slackErr   string
		retryAfter time.Duration
		check      func(t *testing.T, err error)
	}{
		{
			// HTTP 429 with Retry-After rounded up to whole seconds
			name: "rate limited", n: 1, slackErr: "rate_limited", retryAfter: 1500 * time.Millisecond,
			check: func(t *testing.T, err error) {
				t.Helper()
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
					t.Errorf("got %v, want *slack.RateLimitedError retry after 2s", err)
				}
			},
		},
		{
			// Slack's own spelling works too
			name: "ratelimited", n: 1, slackErr: "ratelimited", retryAfter: 3 * time.Second,
			check: func(t *testing.T, err error) {
				t.Helper()
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
					t.Errorf("got %v, want *slack.RateLimitedError retry after 3s", err)
				}
			},
		},
		{
			// any other error, several times in a row
			name: "channel_not_found twice", n: 2, slackErr: "channel_not_found",
			check: func(t *testing.T, err error) {
				t.Helper()
				if err == nil || err.Error() != "channel_not_found" {
					t.Errorf("got %v, want channel_not_found", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, fakeslack.Options{})
			api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
			s.FailNext("chat.postMessage", tt.n, tt.slackErr, tt.retryAfter)
			post := func() error {
				_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
				return err
			}
			for range tt.n {
				tt.check(t, post())
			}
			if err := post(); err != nil {
				t.Errorf("after %d failures: got %v, want success", tt.n, err)
			}
			if got, want := s.Calls("chat.postMessage"), tt.n+1; got != want {
				t.Errorf("got %d calls, want %d", got, want)
			}
			if got := len(s.Messages()); got != 1 {
				t.Errorf("got %d messages recorded, want only the successful one", got)
			}
		})
	}
}

func TestTokensAreChecked(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	authTest := func(api *slack.Client) error { _, err := api.AuthTest(); return err }
	open := func(api *slack.Client) error {
		_, _, err := api.StartSocketModeContext(context.Background())
		return err
	}
	tests := []struct {
		name, bot, app string
		call           func(*slack.Client) error
		wantErr        string
	}{
		// the bot token works for bot methods
		{"bot token", fakeslack.BotToken, "", authTest, ""},
		// an unknown token is refused
		{"wrong bot token", "xoxb-wrong", "", authTest, "invalid_auth"},
		// as is none
		{"missing bot token", "", "", authTest, "invalid_auth"},
		// the app token is for apps.connections.open only
		{"app token for a bot method", fakeslack.AppToken, "", authTest, "not_allowed_token_type"},
		// the app token opens connections
		{"app token", fakeslack.BotToken, fakeslack.AppToken, open, ""},
		// the bot token does not
		{"bot token to open a connection", fakeslack.BotToken, fakeslack.BotToken, open, "not_allowed_token_type"},
		// nor does a wrong one
		{"wrong app token", fakeslack.BotToken, "xapp-wrong", open, "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newAPI(t, s, tt.bot, tt.app))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want success", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("got %v, want %s", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownMethod(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(s.URL()+"chat.teleport", "application/x-www-form-urlencoded", strings.NewReader("token="+fakeslack.BotToken))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := compactJSON(t, body), `{"error":"unknown_method","ok":false}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := s.Calls("chat.teleport"); got != 1 {
		t.Errorf("got %d calls, want 1", got)
	}
}

func TestPostMessageRejectsWhatSlackWould(t *testing.T) {
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	tests := []struct {
		name     string
		opts     []slack.MsgOption
		wantErr  string
		wantNote string // part of response_metadata.messages
	}{
		// 51 blocks are one too many
		{"too many blocks", []slack.MsgOption{slack.MsgOptionBlocks(many...)}, "invalid_blocks", "[json-pointer:/blocks]"},
		// section text is capped at 3,000 characters
		{"long section", []slack.MsgOption{slack.MsgOptionBlocks(section(strings.Repeat("a", 3001)))}, "invalid_blocks", "[json-pointer:/blocks/0/text/text]"},
		// message text is capped at 40,000
		{"long text", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("a", 40_001), false)}, "msg_too_long", ""},
		// a message needs something to show
		{"empty", nil, "no_text", ""},
	}
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessage("C1", tt.opts...)
			var slackErr slack.SlackErrorResponse
			if !errors.As(err, &slackErr) || slackErr.Err != tt.wantErr {
				t.Fatalf("got %v, want %s", err, tt.wantErr)
			}
			if note := strings.Join(slackErr.ResponseMetadata.Messages, " "); !strings.Contains(note, tt.wantNote) {
				t.Errorf("got messages %q, want one containing %q", note, tt.wantNote)
			}
		})
	}
	if got := len(s.Messages()); got != 0 {
		t.Errorf("got %d messages recorded, want none", got)
	}
}

func TestValidateMessage(t *testing.T) {
	fiftyDividers := "[" + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 50), ",") + "]"
	tests := []struct {
		name    string
		text    string
		blocks  string
		wantErr string // "" for valid; else a part of the error
	}{
		// text alone
		{"text only", "hello", "", ""},
		// 50 blocks are allowed
		{"fifty blocks", "", fiftyDividers, ""},
		// blocks as a JSON string, as in a form field
		{"blocks as string", "", `"[{\"type\":\"divider\"}]"`, ""},
		// a section of exactly 3,000 characters
		{"section at limit", "", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("é", 3000) + `"}}]`, ""},
		// one more character is too many
		{"section over limit", "", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("é", 3001) + `"}}]`, "/blocks/0/text/text"},
		// Slack refuses empty text
		{"empty section text", "", `[{"type":"section","text":{"type":"mrkdwn","text":""}}]`, "more than 0 characters"},
		// eleven fields
		{"too many fields", "", `[{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"x"},`, 11), ",") + `]}]`, "/blocks/0/fields"},
		// headers are plain text of at most 150 characters
		{"long header", "", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]`, "/blocks/0/text/text"},
		// and never mrkdwn
		{"mrkdwn header", "", `[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]`, "/blocks/0/text/type"},
		// button labels are at most 75 characters
		{"long button", "", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"` + strings.Repeat("b", 76) + `"}}]}]`, "/blocks/0/elements/0/text/text"},
		// an actions block holds at most 25 elements
		{"too many buttons", "", `[{"type":"actions","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"button","text":{"type":"plain_text","text":"b"}},`, 26), ",") + `]}]`, "/blocks/0/elements"},
		// a context block needs elements
		{"empty context", "", `[{"type":"context","elements":[]}]`, "at least 1"},
		// an unknown block type
		{"unknown type", "", `[{"type":"sectoin"}]`, "unknown block type"},
		// not an array
		{"not an array", "", `{"type":"divider"}`, "array"},
		// message text over 40,000 characters
		{"long text", strings.Repeat("t", 40_001), "", "msg_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fakeslack.ValidateMessage(tt.text, json.RawMessage(tt.blocks))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWaitMessage(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)

	found := make(chan fakeslack.Message, 1)
	errc := make(chan error, 1)
	go func() {
		m, err := s.WaitMessage(testCtx(t), func(m fakeslack.Message) bool { return m.Text == "second" })
		found <- m
		errc <- err
	}()
	for _, text := range []string{"first", "second"} {
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText(text, false)); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := <-found, <-errc; err != nil || m.Text != "second" {
		t.Errorf("got %q (%v), want second", m.Text, err)
	}

	// A message already recorded is found at once.
	if m, err := s.WaitMessage(testCtx(t), func(m fakeslack.Message) bool { return m.Text == "first" }); err != nil || m.Text != "first" {
		t.Errorf("got %q (%v), want first", m.Text, err)
	}
	// A cancelled wait says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitMessage(ctx, func(fakeslack.Message) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestWaitersReturnOnClose(t *testing.T) {
	tests := []struct {
		name string
		wait func(s *fakeslack.Server) error
	}{
		// waiting for a connection that never comes
		{"WaitConnections", func(s *fakeslack.Server) error { return s.WaitConnections(context.Background(), 1) }},
		// waiting for a reconnect
		{"WaitConnectCount", func(s *fakeslack.Server) error { return s.WaitConnectCount(context.Background(), 1) }},
		// waiting for a message
		{"WaitMessage", func(s *fakeslack.Server) error {
			_, err := s.WaitMessage(context.Background(), func(fakeslack.Message) bool { return false })
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeslack.New(fakeslack.Options{})
			errc := make(chan error, 1)
			go func() { errc <- tt.wait(s) }()
			s.Close()
			if err := <-errc; !errors.Is(err, fakeslack.ErrClosed) {
				t.Errorf("got %v, want ErrClosed", err)
			}
		})
	}
}

func TestSetLatency(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)

	// An answer comes no sooner than the latency.
	s.SetLatency("auth.test", 20*time.Millisecond)
	start := time.Now()
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 20*time.Millisecond {
		t.Errorf("got an answer after %s, want at least 20ms", got)
	}

	// A client that gives up is not kept waiting, and Close is not either.
	s.SetLatency("auth.test", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := api.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}

	// Zero removes the delay.
	s.SetLatency("auth.test", 0)
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
}

// A response_url expires 30 minutes after its issue, as Slack's do: a
// post after that is refused, however few posts it has had.
func TestResponseURLExpiresAfterThirtyMinutes(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newServer(t, fakeslack.Options{Now: clock})
	b := startBot(t, s)
	b.next(t, socketmode.EventTypeHello)
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	post := func(url string) error {
		_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText("hi", false))
		return err
	}
	for _, age := range []time.Duration{29 * time.Minute, 31 * time.Minute} {
		mu.Lock()
		now = now.Add(-age) // issued age ago
		mu.Unlock()
		if _, err := s.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", UserID: "U1"}); err != nil {
			t.Fatal(err)
		}
		url := b.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand).ResponseURL
		mu.Lock()
		now = now.Add(age)
		mu.Unlock()
		err := post(url)
		var codeErr slack.StatusCodeError
		switch {
		case age < responseURLLifeForTest && err != nil:
			t.Errorf("post %s after issue: %v, want success", age, err)
		case age > responseURLLifeForTest && (!errors.As(err, &codeErr) || codeErr.Code != http.StatusNotFound):
			t.Errorf("post %s after issue: got %v, want HTTP 404 (expired_url)", age, err)
		}
	}
}

// responseURLLifeForTest is Slack's documented life of a response_url.
const responseURLLifeForTest = 30 * time.Minute
