package bot

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
)

// A message posted with metadata is found again by its event type in the
// channel's history (conversations.history with include_all_metadata);
// other messages, other event types and older messages are not.
func TestPostWithMetadataIsFoundInTheHistory(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)

	if _, err := web.Post(ctx, "C0REPORT", message.Reply("no metadata")); err != nil {
		t.Fatal(err)
	}
	if _, err := web.PostWithMetadata(ctx, "C0REPORT", message.Reply("other"), "something_else", map[string]any{"tick": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := web.PostWithMetadata(ctx, "C0OTHER", message.Reply("elsewhere"), "presence_daily_report", map[string]any{"tick": "y"}); err != nil {
		t.Fatal(err)
	}
	ts, err := web.PostWithMetadata(ctx, "C0REPORT", message.Reply("Daily report"), "presence_daily_report",
		map[string]any{"tick": "2025-03-03T12:30:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := web.FindMetadata(ctx, "C0REPORT", "presence_daily_report", start)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{ts: {"tick": "2025-03-03T12:30:00Z"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("found %v, want %v", got, want)
	}
	// Nothing since after the post.
	if got, err := web.FindMetadata(ctx, "C0REPORT", "presence_daily_report", time.Now().Add(time.Minute)); err != nil || len(got) != 0 {
		t.Errorf("found %v, %v since after the post, want nothing", got, err)
	}
}

// A refused look-up (the token lacks channels:history) is an error naming
// the channel.
func TestFindMetadataRefused(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	web := NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: fakeslack.BotToken, APIURL: fs.URL()})
	fs.FailNext("conversations.history", 1, "missing_scope", 0)
	if _, err := web.FindMetadata(context.Background(), "C0REPORT", "presence_daily_report", time.Now()); err == nil {
		t.Fatal("no error, want missing_scope")
	} else if want := "conversations.history C0REPORT: missing_scope"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
