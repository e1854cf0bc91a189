package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
)

// DM opens the user's IM (conversations.open) and posts there with
// chat.postMessage, a real message rather than an ephemeral, and says
// where it went, so it can be edited later with chat.update.
func TestDMPostsToTheIMAndCanBeEdited(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	ctx := context.Background()

	channel, ts, err := web.DM(ctx, "U0ASHA", message.Reply("You've been in after-call work for 6m."))
	if err != nil {
		t.Fatal(err)
	}
	if channel != "D0ASHA" || ts == "" {
		t.Fatalf("got channel %q ts %q, want the IM D0ASHA and a timestamp", channel, ts)
	}
	if err := web.Update(ctx, channel, ts, message.Reply("Thanks — you're now Available.")); err != nil {
		t.Fatalf("editing the DM where DM said it went: %v", err)
	}
	var methods []string
	for _, m := range fs.Messages() {
		methods = append(methods, m.Method+" "+m.Channel)
		if m.Method == "chat.postMessage" && m.TS != ts {
			t.Errorf("posted ts %q, DM returned %q", m.TS, ts)
		}
	}
	want := "conversations.open D0ASHA|chat.postMessage D0ASHA|chat.update D0ASHA"
	if got := strings.Join(methods, "|"); got != want {
		t.Errorf("got calls %s, want %s", got, want)
	}
}

// A DM Slack refuses is an error naming the user, with nothing posted;
// DirectMessage still works and fails the same way.
func TestDMReportsARefusedOpen(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	fs.FailNext("conversations.open", 2, "user_not_found", 0)

	if _, _, err := web.DM(context.Background(), "U0GONE", message.Reply("hi")); err == nil ||
		!strings.Contains(err.Error(), "U0GONE") || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("got %v, want an error naming U0GONE and user_not_found", err)
	}
	if err := web.DirectMessage(context.Background(), "U0GONE", message.Reply("hi")); err == nil {
		t.Error("DirectMessage: got no error, want user_not_found")
	}
	if n := fs.Calls("chat.postMessage"); n != 0 {
		t.Errorf("got %d posts, want none", n)
	}
}

// Reply posts in the parent's thread (thread_ts), so the people it
// mentions are notified, and says where the reply went.
func TestReplyPostsInTheThread(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	ctx := context.Background()

	parent, err := web.Post(ctx, "C0ALERTS", message.Reply("Warning · Low availability"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := web.Reply(ctx, "C0ALERTS", parent, message.Reply("<@U0SUPER> now critical"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range fs.Messages() {
		if m.Method == "chat.postMessage" && m.TS == ts {
			found = true
			if m.ThreadTS != parent || m.Channel != "C0ALERTS" {
				t.Errorf("reply went to %s thread %q, want C0ALERTS thread %q", m.Channel, m.ThreadTS, parent)
			}
		}
	}
	if !found || ts == parent {
		t.Fatalf("no reply with ts %q recorded (parent %q)", ts, parent)
	}
}
