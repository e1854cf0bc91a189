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
