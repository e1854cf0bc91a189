package fakeslack_test

import (
	"testing"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// conversations.history lists the channel's messages newest first, with
// their metadata only when include_all_metadata is set, paged by cursor;
// thread replies and other channels are left out.
func TestHistoryWithMetadata(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	api := slack.New(fakeslack.BotToken, slack.OptionAPIURL(fs.URL()))
	meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "presence_daily_report", EventPayload: map[string]any{"tick": "T1"}})
	var tss []string
	for _, text := range []string{"first", "second", "third"} {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if text == "second" {
			opts = append(opts, meta)
		}
		_, ts, err := api.PostMessage("C1", opts...)
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("a reply", false), slack.MsgOptionTS(tss[0])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("C2", slack.MsgOptionText("elsewhere", false), meta); err != nil {
		t.Fatal(err)
	}

	r, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 2 || r.Messages[0].Text != "third" || r.Messages[1].Text != "second" || !r.HasMore {
		t.Fatalf("first page %+v, want third and second, and more", r.Messages)
	}
	if m := r.Messages[1].Metadata; m.EventType != "presence_daily_report" || m.EventPayload["tick"] != "T1" {
		t.Errorf("metadata %+v, want the one posted", m)
	}
	r, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, Cursor: r.ResponseMetaData.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Text != "first" || r.HasMore {
		t.Errorf("second page %+v, want first, and no more", r.Messages)
	}
	// Without include_all_metadata: no metadata; oldest is exclusive.
	r, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Oldest: tss[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 2 || r.Messages[1].Metadata.EventType != "" {
		t.Errorf("since the first %+v, want two without metadata", r.Messages)
	}
}

// Metadata without an event type or payload is refused, as Slack does.
func TestPostWithInvalidMetadata(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	api := slack.New(fakeslack.BotToken, slack.OptionAPIURL(fs.URL()))
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "e"}))
	if err == nil || err.Error() != "invalid_metadata_format" {
		t.Errorf("got %v, want invalid_metadata_format", err)
	}
}
