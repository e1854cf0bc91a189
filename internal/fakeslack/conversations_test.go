package fakeslack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// listAll pages through conversations.list with slack-go, as a client
// does: by the cursor, whatever the size of each page.
func listAll(t *testing.T, api *slack.Client, p slack.GetConversationsParameters) (names []string, pages int) {
	t.Helper()
	for {
		chans, next, err := api.GetConversationsContext(testCtx(t), &p)
		if err != nil {
			t.Fatalf("conversations.list: %v", err)
		}
		pages++
		for _, c := range chans {
			names = append(names, c.Name)
		}
		if next == "" {
			return names, pages
		}
		p.Cursor = next
	}
}

func TestConversationsList(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	var public []string
	for i := range 250 {
		name := fmt.Sprintf("floor-%03d", i)
		s.AddChannel(fakeslack.Channel{ID: fmt.Sprintf("C%07d", i), Name: name, Member: i%2 == 0})
		public = append(public, name)
	}
	s.AddChannel(fakeslack.Channel{ID: "G0SUPER", Name: "supervisors", Private: true, Member: true})
	s.AddChannel(fakeslack.Channel{ID: "G0HIDDEN", Name: "hidden", Private: true}) // the bot is not in it
	s.AddChannel(fakeslack.Channel{ID: "C0OLD", Name: "old-floor", Archived: true, Member: true})
	api := slack.New(fakeslack.BotToken, slack.OptionAPIURL(s.URL()))

	// The default type is public_channel; archived channels are listed.
	names, pages := listAll(t, api, slack.GetConversationsParameters{Limit: 100})
	if want := append(slices.Clone(public), "old-floor"); !slices.Equal(names, want) {
		t.Errorf("public channels: got %d %v…, want %d", len(names), names[:3], len(want))
	}
	if pages != 3 {
		t.Errorf("251 channels by 100: %d pages, want 3", pages)
	}

	// A bot sees the private channels it is in, and only those.
	names, _ = listAll(t, api, slack.GetConversationsParameters{Types: []string{"private_channel"}})
	if !slices.Equal(names, []string{"supervisors"}) {
		t.Errorf("private channels: %v, want supervisors only", names)
	}

	// exclude_archived filters each virtual page after it is cut, as Slack
	// documents: the last page comes back short, not empty of meaning.
	names, _ = listAll(t, api, slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200})
	if len(names) != 251 || slices.Contains(names, "old-floor") || !slices.Contains(names, "supervisors") {
		t.Errorf("without archived: %d channels (old-floor %v, supervisors %v)",
			len(names), slices.Contains(names, "old-floor"), slices.Contains(names, "supervisors"))
	}

	// The fields a client reads, in Slack's shape.
	chans, _, err := api.GetConversationsContext(testCtx(t), &slack.GetConversationsParameters{Types: []string{"private_channel"}})
	if err != nil || len(chans) != 1 {
		t.Fatalf("private list: %v %v", chans, err)
	}
	if c := chans[0]; c.ID != "G0SUPER" || !c.IsPrivate || !c.IsMember || c.IsArchived || !c.IsChannel || c.NameNormalized != "supervisors" {
		t.Errorf("got %+v", c)
	}
	chans, _, _ = api.GetConversationsContext(testCtx(t), &slack.GetConversationsParameters{Limit: 2})
	if len(chans) != 2 || chans[0].IsMember != true || chans[1].IsMember != false {
		t.Errorf("is_member: got %+v", chans)
	}
}

func TestConversationsListErrors(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	s.AddChannel(fakeslack.Channel{ID: "C0GENERAL", Name: "general", Member: true})
	post := func(form url.Values) map[string]any {
		t.Helper()
		form.Set("token", fakeslack.BotToken)
		resp, err := http.PostForm(s.URL()+"conversations.list", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body
	}
	for _, tt := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"cursor": {"not-a-cursor"}}, "invalid_cursor"},
		{url.Values{"limit": {"1000"}}, "invalid_limit"},
		{url.Values{"limit": {"-1"}}, "invalid_limit"},
		{url.Values{"limit": {"ten"}}, "invalid_limit"},
		{url.Values{"types": {"public_channel,rooms"}}, "invalid_types"},
	} {
		if body := post(tt.form); body["ok"] != false || body["error"] != tt.want {
			t.Errorf("%v: got %v, want error %s", tt.form, body, tt.want)
		}
	}
	body := post(url.Values{})
	meta, _ := body["response_metadata"].(map[string]any)
	if body["ok"] != true || meta == nil || meta["next_cursor"] != "" {
		t.Errorf("last page: got %v, want ok with an empty next_cursor", body)
	}
	// The app-level token is not for the Web API's other methods.
	resp, err := http.PostForm(s.URL()+"conversations.list", url.Values{"token": {fakeslack.AppToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var refused map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&refused)
	if !strings.Contains(fmt.Sprint(refused["error"]), "not_allowed_token_type") {
		t.Errorf("app token: got %v", refused)
	}
}
