package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/message"
)

// DefaultRichRetry is how long a workspace that refused charts or tables
// is sent classic blocks before they are tried again.
const DefaultRichRetry = time.Hour

// richGate sends messages with charts and tables (Slack's data_visualization
// and data_table blocks, still being rolled out) where Slack takes them, and
// without them everywhere else. Every surface it guards reports a refusal
// (response_url answers, chat.postMessage, chat.postEphemeral, chat.update,
// views.publish), so a refused message is sent again at once as
// m.Classic(): the person gets one answer either way. The bot talks to one
// workspace, so one gate remembers that workspace's refusals.
type richGate struct {
	now     func() time.Time
	retry   time.Duration
	refused func(surface string)
	log     *slog.Logger

	mu    sync.Mutex
	until time.Time // classic only before this
}

func newRichGate(s Slack) *richGate {
	g := &richGate{now: s.Now, retry: s.RichRetry, refused: s.RichRefused, log: s.Logger}
	if g.now == nil {
		g.now = time.Now
	}
	if g.retry <= 0 {
		g.retry = DefaultRichRetry
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// send sends m on surface through send: with its charts and tables when
// they fit Slack's limits and the workspace has not refused them lately,
// else as m.Classic(); and again at once as m.Classic() when Slack refuses
// them. A refusal counts as the workspace's only when the classic message
// then goes through: a refusal it gets too was about something else.
func (g *richGate) send(surface string, m message.Message, send func(message.Message) error) error {
	if !m.HasRich() {
		return send(m)
	}
	if err := richProblem(m); err != nil {
		// A producer's bug: Slack would refuse it, and a refusal of ours
		// must not mark the workspace.
		g.log.Warn("slack: a chart or table breaks Slack's limits; sent without it", "surface", surface, "err", err)
		return send(m.Classic())
	}
	if g.refusing() {
		return send(m.Classic())
	}
	err := send(m)
	if err == nil || !refusesRich(err) {
		return err
	}
	if cerr := send(m.Classic()); cerr != nil {
		return errors.Join(err, cerr)
	}
	g.mu.Lock()
	g.until = g.now().Add(g.retry)
	g.mu.Unlock()
	if g.refused != nil {
		g.refused(surface)
	}
	g.log.Warn("slack: this workspace refused charts and tables; answered without them, and will until the retry",
		"surface", surface, "retry_in", g.retry, "err", err)
	return nil
}

func (g *richGate) refusing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.now().Before(g.until)
}

// richProblem is why m's rich blocks would be refused: the message model's
// check of Slack's documented limits, and slack-go's own Validate of the
// rendered data_visualization blocks.
func richProblem(m message.Message) error {
	if err := message.ValidateRich(m); err != nil {
		return err
	}
	for _, b := range m.Blocks {
		if b.Kind != message.Chart {
			continue
		}
		if err := renderChart(*b.Chart).Validate(); err != nil {
			return fmt.Errorf("chart %q: %w", b.Chart.Title, err)
		}
	}
	return nil
}

// refusesRich reports whether err is Slack refusing a message's blocks:
// invalid_blocks (chat.postMessage's error for blocks it cannot take:
// https://docs.slack.dev/reference/methods/chat.postMessage, Errors), or
// any refusal whose detail names a block (views.publish answers
// invalid_arguments with a JSON pointer into the view's blocks). A
// response_url refusal comes as "HTTP 400: invalid_blocks" (Respond).
func refusesRich(err error) bool {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		if strings.HasPrefix(se.Err, "invalid_blocks") {
			return true
		}
		for _, msg := range se.ResponseMetadata.Messages {
			if strings.Contains(msg, "block") {
				return true
			}
		}
		return false
	}
	return strings.Contains(err.Error(), "invalid_blocks")
}
