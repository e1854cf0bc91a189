package alerts

import (
	"context"

	"github.com/presencebot/presence-bot/message"
)

// Poster posts and updates channel messages. The bot's Slack Web API
// client implements it, and so does the demo console.
type Poster interface {
	Post(ctx context.Context, channel string, m message.Message) (ts string, err error)
	Update(ctx context.Context, channel, ts string, m message.Message) error
}

// Replier posts a reply in a message's thread (chat.postMessage with
// thread_ts). The alerter pings a rule's Mention in its alert's thread
// when the poster is one; otherwise the ping is a post in the channel.
type Replier interface {
	Reply(ctx context.Context, channel, threadTS string, m message.Message) (ts string, err error)
}
