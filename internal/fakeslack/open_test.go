package fakeslack_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// conversations.open as Slack's reference has it
// (https://docs.slack.dev/reference/methods/conversations.open): one user
// opens their IM, and opening it again returns the same IM saying it was
// open already; what is not a user ID, more than 8 users, or a channel
// that is no IM or MPIM is refused with the documented error.
func TestConversationsOpenAsSlackAnswers(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	open := func(p slack.OpenConversationParameters) (string, bool, bool, error) {
		ch, noOp, already, err := api.OpenConversation(&p)
		if err != nil {
			return "", false, false, err
		}
		return ch.ID, noOp, already, nil
	}

	id, noOp, already, err := open(slack.OpenConversationParameters{Users: []string{"U0ASHA"}})
	if err != nil || id != "D0ASHA" || noOp || already {
		t.Errorf("first open: got %q no_op=%v already_open=%v err=%v, want D0ASHA, a new IM", id, noOp, already, err)
	}
	id, noOp, already, err = open(slack.OpenConversationParameters{Users: []string{"U0ASHA"}})
	if err != nil || id != "D0ASHA" || !noOp || !already {
		t.Errorf("second open: got %q no_op=%v already_open=%v err=%v, want D0ASHA, already open", id, noOp, already, err)
	}

	refused := []struct {
		name string
		p    slack.OpenConversationParameters
		want string
	}{
		{"not a user ID (an agent ID)", slack.OpenConversationParameters{Users: []string{"agent_001"}}, "user_not_found"},
		{"a channel ID as a user", slack.OpenConversationParameters{Users: []string{"C0FLOOR"}}, "user_not_found"},
		{"nine users", slack.OpenConversationParameters{Users: strings.Split("U1,U2,U3,U4,U5,U6,U7,U8,U9", ",")}, "too_many_users"},
		{"a public channel to resume", slack.OpenConversationParameters{ChannelID: "C0FLOOR"}, "method_not_supported_for_channel_type"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := open(tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}
