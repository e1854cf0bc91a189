package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/internal/redact"
	"github.com/presencebot/presence-bot/message"
)

// hints name the fix for Slack errors an operator can do something about.
var hints = map[string]string{
	"channel_not_found":      "check the channel ID (SUMMARY_CHANNEL / ALERT_CHANNEL): use the ID (C…), not the name",
	"not_in_channel":         "invite the bot to the channel (/invite @presence-bot)",
	"is_archived":            "the channel is archived: pick another one",
	"invalid_auth":           "SLACK_BOT_TOKEN is wrong or revoked: copy the Bot User OAuth Token (xoxb-…) again",
	"not_authed":             "SLACK_BOT_TOKEN is missing",
	"token_revoked":          "the app was uninstalled or the token revoked: reinstall the app and update SLACK_BOT_TOKEN",
	"account_inactive":       "the token's workspace or user is inactive: reinstall the app",
	"missing_scope":          "reinstall the app from manifest.yml so it has every scope it needs",
	"not_allowed_token_type": "a token of the wrong kind: SLACK_BOT_TOKEN is xoxb-…, SLACK_APP_TOKEN is xapp-…",
	"user_not_found":         "the Slack user does not exist in this workspace",
}

// tokenErrors are the errors about a token: which token depends on the call.
var tokenErrors = map[string]bool{"invalid_auth": true, "not_authed": true, "token_revoked": true, "account_inactive": true}

// HintFor returns how to fix a Slack error from a call made with the
// token in variable (SLACK_BOT_TOKEN or SLACK_APP_TOKEN), or "".
func HintFor(err error, variable string) string {
	if err == nil {
		return ""
	}
	for code := range tokenErrors {
		if strings.Contains(err.Error(), code) {
			return variable + " was refused (" + code + "): copy the token again from the app's settings, or reinstall the app"
		}
	}
	return Hint(err)
}

// Hint returns how to fix a Slack error from a Web API call made with the
// bot token, or "".
func Hint(err error) string {
	if err == nil {
		return ""
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return hints[se.Err]
	}
	for code, h := range hints {
		if strings.Contains(err.Error(), code) {
			return h
		}
	}
	return ""
}

// WebAPI is the part of Slack's Web API the bot uses. Rate limits are
// retried by slack-go's own retry (honouring Retry-After); response_url
// posts get the same treatment here.
type WebAPI struct {
	api  *slack.Client
	http *http.Client
	// rich decides whether a message goes with its charts and tables, and
	// sends it again without them when Slack refuses them (rich.go).
	rich *richGate
	// richLane delivers answers with charts or tables in turns, on half
	// the cores at most: a burst of them (a 100-row table is 30 kB) woken
	// at once by one roster fetch would otherwise be written, encrypted
	// and read all at once, holding every core while the Socket Mode acks
	// of the next commands wait. A turn lasts until Slack has answered or
	// richTurnLimit after the answer was written, whichever comes first:
	// where Slack reads on the same cores (the benchmark's fake) its
	// reading is paced too, and a slow link costs each answer no more
	// than richTurnLimit. An answer waits for its turn at most
	// richLaneWait, then goes anyway: taking turns must never cost one.
	richLane      chan struct{}
	richLaneWait  time.Duration
	richTurnLimit time.Duration
	// bodies keeps the encoded answers of shared drawings (see encode).
	bodies bodyCache
}

// encode is the response_url payload of m. An answer drawn once for many
// (Message.Drawing) is encoded once: a shift start's hundreds of /presence
// on one roster are one 30 kB encoding a second, not hundreds.
func (w *WebAPI) encode(m message.Message) ([]byte, error) {
	if m.Drawing == nil {
		return json.Marshal(webhookMessage(m))
	}
	k := bodyKey{drawing: m.Drawing, visibility: m.Visibility, replace: m.ReplaceOriginal, rich: m.HasRich(), blocks: len(m.Blocks)}
	if b, ok := w.bodies.get(k); ok {
		return b, nil
	}
	b, err := json.Marshal(webhookMessage(m))
	if err == nil {
		w.bodies.put(k, b)
	}
	return b, err
}

// bodyKey names an encoded answer: the drawing, and what a sender may set
// on its copy (the fallback drops the rich blocks).
type bodyKey struct {
	drawing    *message.Drawing
	visibility message.Visibility
	replace    bool
	rich       bool
	blocks     int
}

// bodyCache keeps a few encoded answers; drawings live a second.
type bodyCache struct {
	mu     sync.Mutex
	bodies map[bodyKey][]byte
}

// maxBodies bounds the encoded answers kept (a second's forms).
const maxBodies = 32

func (c *bodyCache) get(k bodyKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.bodies[k]
	return b, ok
}

func (c *bodyCache) put(k bodyKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bodies == nil || len(c.bodies) >= maxBodies {
		c.bodies = make(map[bodyKey][]byte)
	}
	c.bodies[k] = b
}

// Slack is how to reach Slack.
type Slack struct {
	AppToken   string // xapp-…, for the Socket Mode connection
	BotToken   string // xoxb-…, for the Web API
	APIURL     string // Slack's Web API base URL; "" for Slack's own
	HTTPClient *http.Client
	// RichRefused hears each message whose charts or tables Slack refused
	// (it was sent again without them), by surface: response_url,
	// chat.postMessage, chat.postEphemeral, chat.update, views.publish.
	// May be nil.
	RichRefused func(surface string)
	// RichRetry is how long a workspace that refused charts or tables is
	// sent classic blocks before they are tried again; DefaultRichRetry
	// when 0.
	RichRetry time.Duration
	// Now is the clock of RichRetry; time.Now when nil.
	Now func() time.Time
	// Logger hears the refusals; discarded when nil.
	Logger *slog.Logger
}

// NewWebAPI returns a Web API client. Rate-limited calls are retried after
// the Retry-After Slack gives; so are connection errors and 5xx.
func NewWebAPI(s Slack) *WebAPI {
	if s.HTTPClient == nil {
		s.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	apiURL := s.APIURL
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/" // slack-go appends method names to it
	}
	retry := slack.DefaultRetryConfig()
	retry.RetryAfterDuration = 5 * time.Second // when a 429 names no delay
	retry.Handlers = slack.AllBuiltinRetryHandlers(retry)
	api := slack.New(s.BotToken,
		slack.OptionAppLevelToken(s.AppToken),
		slack.OptionAPIURL(apiURL),
		slack.OptionHTTPClient(s.HTTPClient),
		slack.OptionRetryConfig(retry),
	)
	return &WebAPI{
		api: api, http: s.HTTPClient, rich: newRichGate(s),
		richLane:      make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		richLaneWait:  DefaultRichLaneWait,
		richTurnLimit: DefaultRichTurnLimit,
	}
}

// AuthTest checks the bot token and returns the workspace's ID.
func (w *WebAPI) AuthTest(ctx context.Context) (*slack.AuthTestResponse, error) {
	r, err := w.api.AuthTestContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack auth.test: %w", err)
	}
	return r, nil
}

// ConnectionsOpen checks the app-level token by asking for a Socket Mode
// URL (the connection itself is not made).
func (w *WebAPI) ConnectionsOpen(ctx context.Context) error {
	if _, _, err := w.api.StartSocketModeContext(ctx); err != nil {
		return fmt.Errorf("slack apps.connections.open: %w", err)
	}
	return nil
}

// Post sends m to a channel and returns the message's timestamp.
func (w *WebAPI) Post(ctx context.Context, channel string, m message.Message) (string, error) {
	var ts string
	err := w.rich.send("chat.postMessage", m, func(m message.Message) (err error) {
		_, ts, err = w.api.PostMessageContext(ctx, channel, msgOptions(m)...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("post to %s: %w", channel, err)
	}
	return ts, nil
}

// PostWithMetadata posts m to a channel with message metadata: an event
// type and a payload of strings, numbers and booleans
// (https://docs.slack.dev/messaging/message-metadata), which apps read
// back from the channel's history (FindMetadata).
func (w *WebAPI) PostWithMetadata(ctx context.Context, channel string, m message.Message, eventType string, payload map[string]any) (string, error) {
	meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: eventType, EventPayload: payload})
	var ts string
	err := w.rich.send("chat.postMessage", m, func(m message.Message) (err error) {
		_, ts, err = w.api.PostMessageContext(ctx, channel, append(msgOptions(m), meta)...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("post to %s: %w", channel, err)
	}
	return ts, nil
}

// historyPages bounds FindMetadata's pages of 100 messages.
const historyPages = 5

// FindMetadata returns the metadata payloads of eventType on the channel's
// messages since oldest, by message timestamp: conversations.history with
// include_all_metadata (https://docs.slack.dev/reference/methods/conversations.history;
// scope channels:history, or groups:history for a private channel).
func (w *WebAPI) FindMetadata(ctx context.Context, channel, eventType string, oldest time.Time) (map[string]map[string]any, error) {
	found := map[string]map[string]any{}
	p := &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 100, IncludeAllMetadata: true,
		Oldest: strconv.FormatInt(oldest.Unix(), 10)}
	for range historyPages {
		r, err := w.api.GetConversationHistoryContext(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("conversations.history %s: %w", channel, err)
		}
		for _, m := range r.Messages {
			if m.Metadata.EventType == eventType {
				found[m.Timestamp] = m.Metadata.EventPayload
			}
		}
		if !r.HasMore || r.ResponseMetaData.NextCursor == "" {
			break
		}
		p.Cursor = r.ResponseMetaData.NextCursor
	}
	return found, nil
}

// Update replaces a posted message.
func (w *WebAPI) Update(ctx context.Context, channel, ts string, m message.Message) error {
	err := w.rich.send("chat.update", m, func(m message.Message) error {
		_, _, _, err := w.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s in %s: %w", ts, channel, err)
	}
	return nil
}

// Reply posts m in the thread of the message ts in channel, and returns
// the reply's timestamp (chat.postMessage with thread_ts:
// https://docs.slack.dev/reference/methods/chat.postMessage). A reply
// notifies the people it mentions, where an edit of the parent would not.
func (w *WebAPI) Reply(ctx context.Context, channel, threadTS string, m message.Message) (string, error) {
	var ts string
	err := w.rich.send("chat.postMessage", m, func(m message.Message) (err error) {
		_, ts, err = w.api.PostMessageContext(ctx, channel, append(msgOptions(m), slack.MsgOptionTS(threadTS))...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reply in thread %s in %s: %w", threadTS, channel, err)
	}
	return ts, nil
}

// PostEphemeral shows m to one user in a channel.
func (w *WebAPI) PostEphemeral(ctx context.Context, channel, user string, m message.Message) error {
	err := w.rich.send("chat.postEphemeral", m, func(m message.Message) error {
		_, err := w.api.PostEphemeralContext(ctx, channel, user, msgOptions(m)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("post ephemeral to %s in %s: %w", user, channel, err)
	}
	return nil
}

// DirectMessage sends m to a user in a DM.
func (w *WebAPI) DirectMessage(ctx context.Context, user string, m message.Message) error {
	_, _, err := w.DM(ctx, user, m)
	return err
}

// DM sends m to a user in their IM with the bot (conversations.open, then
// chat.postMessage: a real message, not an ephemeral) and returns where it
// went, so it can be edited later with Update. One user ID opens (or
// reopens) their IM: https://docs.slack.dev/reference/methods/conversations.open
func (w *WebAPI) DM(ctx context.Context, user string, m message.Message) (channel, ts string, err error) {
	ch, _, _, err := w.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", "", fmt.Errorf("open a DM with %s: %w", user, err)
	}
	if ts, err = w.Post(ctx, ch.ID, m); err != nil {
		return "", "", err
	}
	return ch.ID, ts, nil
}

// UserEmail returns a user's profile email (scope users:read.email).
func (w *WebAPI) UserEmail(ctx context.Context, user string) (string, error) {
	u, err := w.api.GetUserInfoContext(ctx, user)
	if err != nil {
		return "", fmt.Errorf("users.info %s: %w", user, err)
	}
	return u.Profile.Email, nil
}

// respondAttempts bounds response_url retries.
const respondAttempts = 4

// Respond posts m to a response_url, retrying rate limits (after the
// Retry-After Slack gives) and server errors; charts and tables Slack
// refuses are left out at once (rich.go).
func (w *WebAPI) Respond(ctx context.Context, responseURL string, m message.Message) error {
	return w.rich.send("response_url", m, func(m message.Message) error {
		return w.respond(ctx, responseURL, m)
	})
}

func (w *WebAPI) respond(ctx context.Context, responseURL string, m message.Message) error {
	// Only charts and tables take turns: a small answer (a status
	// change's) never queues behind a burst of large ones.
	paced := m.HasRich()
	done, err := w.turn(ctx, paced)
	if err != nil {
		return fmt.Errorf("answer through response_url: %w", err)
	}
	body, err := w.encode(m)
	if err != nil {
		done()
		return fmt.Errorf("encode the answer: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < respondAttempts; attempt++ {
		if attempt > 0 {
			if done, err = w.turn(ctx, paced); err != nil {
				return fmt.Errorf("answer through response_url: %w (gave up: %w)", lastErr, err)
			}
		}
		wait, err := w.respondOnce(w.endTurnAfterWrite(ctx, paced, done), responseURL, body)
		done() // Slack has answered; and no turn is held through a backoff
		if err == nil {
			return nil
		}
		lastErr = err
		if wait < 0 {
			break
		}
		if wait == 0 {
			wait = time.Duration(100<<attempt) * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("answer through response_url: %w (gave up: %w)", lastErr, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("answer through response_url: %w", lastErr)
}

// DefaultRichLaneWait is the longest an answer with charts or tables waits
// for its turn. A shift start's table burst (170 answers, one turn on 2
// cores) leaves within 0.85 s at richTurnLimit a turn; a turn that takes
// longer means a machine too loaded for taking turns to help.
const DefaultRichLaneWait = time.Second

// DefaultRichTurnLimit is how long a turn lasts after its answer was
// written while Slack has not answered: on a local link (the benchmark's
// fake Slack, 1–3 ms) Slack's answer ends the turn first; over a real
// network (50 ms and more) this does, and each turn lets 200 answers a
// second through.
const DefaultRichTurnLimit = 5 * time.Millisecond

// turn waits for a turn in the rich lane when paced, for richLaneWait at
// most, and returns its end, which may be called more than once. Past
// richLaneWait the answer goes without a turn (its end is then a no-op);
// only the end of ctx stops it.
func (w *WebAPI) turn(ctx context.Context, paced bool) (done func(), err error) {
	nothing := func() {}
	if !paced {
		return nothing, nil
	}
	select {
	case w.richLane <- struct{}{}:
		return sync.OnceFunc(func() { <-w.richLane }), nil
	default:
	}
	t := time.NewTimer(w.richLaneWait)
	defer t.Stop()
	select {
	case w.richLane <- struct{}{}:
		return sync.OnceFunc(func() { <-w.richLane }), nil
	case <-t.C:
		return nothing, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for its turn: %w", ctx.Err())
	}
}

// endTurnAfterWrite returns ctx for a request that ends its turn (done)
// richTurnLimit after it is written, if Slack has not answered by then.
func (w *WebAPI) endTurnAfterWrite(ctx context.Context, paced bool, done func()) context.Context {
	if !paced {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { time.AfterFunc(w.richTurnLimit, done) },
	})
}

// respondOnce posts once. It returns how long to wait before trying again
// (0: the default backoff, negative: do not try again).
func (w *WebAPI) respondOnce(ctx context.Context, responseURL string, body []byte) (time.Duration, error) {
	// A response_url is a credential (anyone holding it can post as the
	// app), so no error from here repeats it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("build the request: %w", redact.ResponseURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, redact.ResponseURLError(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return max(time.Duration(secs)*time.Second, time.Second), errors.New("rate limited")
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	case resp.StatusCode >= 300:
		return -1, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(text)))
	}
	// Slack answers 200 with {"ok":false,...} for some refusals.
	var r struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(text, &r) == nil && r.OK != nil && !*r.OK {
		return -1, fmt.Errorf("slack refused: %s", r.Error)
	}
	return 0, nil
}

// PublishHome shows blocks as a user's App Home tab; charts and tables
// Slack refuses are left out at once (rich.go).
func (w *WebAPI) PublishHome(ctx context.Context, user string, blocks []message.Block) error {
	err := w.rich.send("views.publish", message.Message{Blocks: blocks}, func(m message.Message) error {
		_, err := w.api.PublishViewContext(ctx, slack.PublishViewContextRequest{
			UserID: user,
			View:   slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: RenderView(m.Blocks)}},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("views.publish for %s: %w", user, err)
	}
	return nil
}
