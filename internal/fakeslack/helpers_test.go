package fakeslack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/goleak"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// waitTimeout only bounds a broken test; passing tests never reach it.
const waitTimeout = 10 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newServer(tb testing.TB, opts fakeslack.Options) *fakeslack.Server {
	tb.Helper()
	s := fakeslack.New(opts)
	tb.Cleanup(s.Close)
	return s
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// newAPI is a slack-go client for s with its own transport, so its idle
// connections can be closed and leak no goroutines.
func newAPI(tb testing.TB, s *fakeslack.Server, botToken, appToken string) *slack.Client {
	tb.Helper()
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return slack.New(botToken,
		slack.OptionAppLevelToken(appToken),
		slack.OptionAPIURL(s.URL()),
		slack.OptionHTTPClient(&http.Client{Transport: tr}),
	)
}

// bot is a real slack-go Socket Mode client connected to the fake.
type bot struct {
	client *socketmode.Client
	events chan socketmode.Event
}

// startBot runs a Socket Mode client against s until the test ends.
func startBot(tb testing.TB, s *fakeslack.Server, opts ...socketmode.Option) *bot {
	tb.Helper()
	b := &bot{
		client: socketmode.New(newAPI(tb, s, fakeslack.BotToken, fakeslack.AppToken), opts...),
		events: make(chan socketmode.Event, 1024),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.client.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-b.client.Events:
				select {
				case b.events <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return b
}

// next returns the bot's next event of type typ, skipping others.
func (b *bot) next(tb testing.TB, typ socketmode.EventType) socketmode.Event {
	tb.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case e := <-b.events:
			if e.Type == typ {
				return e
			}
		case <-timer.C:
			tb.Fatalf("no %s event within %s", typ, waitTimeout)
		}
	}
}

// nextOfTwo returns the next event of type typ on either bot, and which bot
// (0 or 1) got it.
func nextOfTwo(tb testing.TB, bots [2]*bot, typ socketmode.EventType) (int, socketmode.Event) {
	tb.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case e := <-bots[0].events:
			if e.Type == typ {
				return 0, e
			}
		case e := <-bots[1].events:
			if e.Type == typ {
				return 1, e
			}
		case <-timer.C:
			tb.Fatalf("no %s event within %s", typ, waitTimeout)
		}
	}
}

// compactJSON normalises JSON for comparison.
func compactJSON(tb testing.TB, b []byte) string {
	tb.Helper()
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		tb.Fatalf("compact %q: %v", b, err)
	}
	return buf.String()
}
