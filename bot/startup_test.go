package bot

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/testlog"
	"github.com/presencebot/presence-bot/message"
)

// flakyNetwork stands between the bot and the fake Slack, breaking the
// first fail auth.test requests the way a network at boot does (fail < 0:
// every one), and passing everything else through.
type flakyNetwork struct {
	srv    *httptest.Server
	fail   atomic.Int64
	broken atomic.Int64 // auth.test requests broken so far
}

// How flakyNetwork breaks a request.
const (
	gatewayDown  = "gateway 503"       // a proxy or load balancer answering 503
	brokenAnswer = "broken connection" // garbage on the wire, then closed
)

func newFlakyNetwork(t *testing.T, fs *fakeslack.Server, how string, fail int) *flakyNetwork {
	t.Helper()
	target, err := url.Parse(fs.URL())
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	n := &flakyNetwork{}
	n.fail.Store(int64(fail))
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth.test") && n.take() {
			n.broken.Add(1)
			switch how {
			case gatewayDown:
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			case brokenAnswer:
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_, _ = conn.Write([]byte("SSH-2.0-not-http\r\n\r\n"))
					_ = conn.Close()
				}
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

// take reports whether this request is to be broken.
func (n *flakyNetwork) take() bool {
	for {
		left := n.fail.Load()
		if left == 0 {
			return false
		}
		if left < 0 || n.fail.CompareAndSwap(left, left-1) {
			return true
		}
	}
}

func (n *flakyNetwork) url() string { return n.srv.URL + "/api/" }

// fastStart makes start-up retries wait a millisecond or two.
func fastStart(c *Config) {
	c.ConnectBackoff = time.Millisecond
	c.ConnectBackoffMax = 2 * time.Millisecond
}

// startBot runs a bot whose Web API goes through apiURL. It returns the
// logs, the connection changes seen, and Run's result channel.
func startBot(t *testing.T, apiURL, botToken string, adjust func(*Config)) (*testlog.Buffer, *connections, context.CancelFunc, <-chan error) {
	t.Helper()
	logs := &testlog.Buffer{}
	conns := &connections{}
	cfg := Config{
		Web: NewWebAPI(Slack{AppToken: fakeslack.AppToken, BotToken: botToken, APIURL: apiURL}),
		Commands: commandsFunc(func(_ context.Context, req commands.Request) message.Message {
			return message.Reply("pong " + req.Text)
		}),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Hooks:  Hooks{Connection: conns.record},
	}
	if adjust != nil {
		adjust(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	returned := make(chan struct{}) // the test may have read done already
	go func() { done <- b.Run(ctx); close(returned) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-returned:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return logs, conns, cancel, done
}

// connections records Hooks.Connection calls.
type connections struct {
	mu  sync.Mutex
	ups int
}

func (c *connections) record(up bool) {
	if up {
		c.mu.Lock()
		c.ups++
		c.mu.Unlock()
	}
}

func (c *connections) up() int { c.mu.Lock(); defer c.mu.Unlock(); return c.ups }

// TestStartRetriesWhileSlackIsUnreachable: trouble reaching Slack at boot
// is retried, each try logged at WARN with a hint, and the bot then
// connects and serves; the connection counts as up only then.
func TestStartRetriesWhileSlackIsUnreachable(t *testing.T) {
	for _, how := range []string{gatewayDown, brokenAnswer} {
		t.Run(how, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{})
			defer fs.Close()
			const failures = 4
			nw := newFlakyNetwork(t, fs, how, failures)
			logs, conns, _, done := startBot(t, nw.url(), fakeslack.BotToken, fastStart)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			select {
			case err := <-done:
				t.Fatalf("Run returned %v during start-up trouble, want it to keep trying\n%s", err, logs.String())
			case <-waitConnected(ctx, fs):
			}
			if got := nw.broken.Load(); got != failures {
				t.Errorf("auth.test requests broken: got %d, want %d", got, failures)
			}
			if n := strings.Count(logs.String(), "level=WARN msg=\"slack: cannot reach Slack; retrying\""); n < 1 {
				t.Errorf("no WARN line per retry:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), "hint=") {
				t.Errorf("the retries carry no hint:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), fakeslack.BotToken) {
				t.Errorf("the logs hold the bot token")
			}
			// Connected and serving.
			id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "ping", UserID: "U1", ChannelID: "C1"})
			if err != nil {
				t.Fatal(err)
			}
			if m := waitAnswer(t, fs, id); !strings.Contains(m.Text+string(m.Blocks), "pong ping") {
				t.Errorf("answer %+v, want pong ping", m)
			}
			if conns.up() < 1 {
				t.Errorf("Hooks.Connection(true) never called")
			}
		})
	}
}

// waitConnected closes its channel once the fake has a connection.
func waitConnected(ctx context.Context, fs *fakeslack.Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		if fs.WaitConnections(ctx, 1) == nil {
			close(ch)
		}
	}()
	return ch
}

// TestStartSlackErrorIsRetried: Slack answering with a passing error of
// its own at boot is retried too.
func TestStartSlackErrorIsRetried(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	fs.FailNext("auth.test", 3, "internal_error", 0)
	logs, _, _, done := startBot(t, fs.URL(), fakeslack.BotToken, fastStart)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v, want it to retry internal_error\n%s", err, logs.String())
	case <-waitConnected(ctx, fs):
	}
	if n := fs.Calls("auth.test"); n != 4 {
		t.Errorf("auth.test calls: got %d, want 4 (3 failed, then ok)", n)
	}
}

// TestStartRefusedTokenExitsAtOnce: a refused token is no network
// trouble; waiting will not fix it, so Run returns the error with a hint
// after one try.
func TestStartRefusedTokenExitsAtOnce(t *testing.T) {
	for _, code := range []string{"invalid_auth", "not_authed", "token_revoked", "account_inactive"} {
		t.Run(code, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{})
			defer fs.Close()
			fs.FailNext("auth.test", 1, code, 0)
			_, _, _, done := startBot(t, fs.URL(), fakeslack.BotToken, fastStart)
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
					t.Errorf("Run = %v, want the %s error with a hint naming SLACK_BOT_TOKEN", err, code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run kept going after a refused token")
			}
			if n := fs.Calls("auth.test"); n != 1 {
				t.Errorf("auth.test calls: got %d, want 1", n)
			}
		})
	}
}

// TestStartShutdownDuringRetries: a shutdown while Slack cannot be reached
// ends Run at once, cleanly.
func TestStartShutdownDuringRetries(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	nw := newFlakyNetwork(t, fs, gatewayDown, -1)
	// Waits of a minute: only the shutdown can end them within the test.
	_, conns, cancel, done := startBot(t, nw.url(), fakeslack.BotToken, func(c *Config) {
		c.ConnectBackoff, c.ConnectBackoffMax = time.Minute, time.Minute
	})
	deadline := time.Now().Add(10 * time.Second)
	for nw.broken.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("auth.test never tried")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the shutdown, want it to keep trying", err)
	default:
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after a shutdown during start-up: %v, want nil (exit 0)", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of the shutdown")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run took %v to return after the shutdown", took)
	}
	if conns.up() != 0 {
		t.Errorf("the connection was reported up without Slack")
	}
}

// TestStartShutdownDuringAHangingAuthTest: the shutdown also ends a try
// that is still waiting for Slack's answer.
func TestStartShutdownDuringAHangingAuthTest(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	fs.SetLatency("auth.test", time.Minute)
	_, _, cancel, done := startBot(t, fs.URL(), fakeslack.BotToken, fastStart)
	deadline := time.Now().Add(10 * time.Second)
	for fs.Calls("auth.test") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("auth.test never tried")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after a shutdown: %v, want nil (exit 0)", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of the shutdown")
	}
}
