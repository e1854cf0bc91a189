package redisstate

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/redistest"
)

func TestOpenRejectsBadURLsWithoutTheirPassword(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		// Nothing configured is not a URL.
		{"empty", "", "empty"},
		// Only Redis schemes.
		{"wrong scheme", "http://user:SECRETPW@cache:6379", `scheme "http"`},
		// url.Parse quotes the whole URL in its errors.
		{"bad port", "redis://:SECRETPW@cache:port/0", "port"},
		// Same, for a control character.
		{"control character", "redis://:SECRETPW@cache\x7f:6379", "control character"},
		// A URL with nothing to connect to.
		{"no host", "rediss://:SECRETPW@/0", "no host"},
		// go-redis's own checks.
		{"bad database", "redis://:SECRETPW@cache:6379/zero", "database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(context.Background(), Options{URL: tc.url})
			if err == nil {
				c.Close()
				t.Fatalf("Open(%q): got nil error, want one", tc.url)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %q, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETPW") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

func TestUnreachableAtStartRunsDegradedThenRecovers(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	var h hooks
	o := Options{Timeout: quickTimeout}
	h.install(&o)
	c := open(t, srv, o)

	if c.Healthy() {
		t.Fatal("Healthy with Redis down: got true, want false")
	}
	if got, want := h.States(), []bool{false}; !slices.Equal(got, want) {
		t.Errorf("state hook calls %v, want %v (the initial state, from Open)", got, want)
	}
	// Degraded: the store fails fast, dedupe answers from memory.
	within(t, 20*time.Millisecond, "Save while degraded", func() {
		if err := c.Store().Save(bg(t), "k", 1); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Save while degraded: got %v, want ErrUnavailable", err)
		}
	})
	if d := c.Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)); !d.FirstDelivery(bg(t), "env-1") {
		t.Error("first delivery while degraded: got false, want true")
	}

	srv.Restart()
	waitHealthy(t, c)
	if got, want := h.States(), []bool{false, true}; !slices.Equal(got, want) {
		t.Errorf("state hook calls %v, want %v", got, want)
	}
	if err := c.Store().Save(bg(t), "k", 1); err != nil {
		t.Errorf("Save after recovery: %v", err)
	}
}

func TestProbeReportsOutageWhileIdle(t *testing.T) {
	srv := redistest.Start(t)
	var h hooks
	o := Options{Timeout: quickTimeout}
	h.install(&o)
	c := open(t, srv, o)
	if !c.Healthy() {
		t.Fatal("Healthy with Redis up: got false, want true")
	}

	srv.Stop()
	deadline := time.Now().Add(recoverWithin)
	for c.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("still Healthy %s after Redis stopped, with no traffic", recoverWithin)
		}
		time.Sleep(2 * time.Millisecond)
	}
	srv.Restart()
	waitHealthy(t, c)
	if got, want := h.States(), []bool{true, false, true}; !slices.Equal(got, want) {
		t.Errorf("state hook calls %v, want %v", got, want)
	}
}

// syncBuffer is a log destination for goroutines that log concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWrongPasswordStaysOutOfLogsAndErrors(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "the-right-one")
	var logs syncBuffer
	const secret = "SECRETPW-9876"
	c := open(t, srv, Options{
		URL:    "redis://:" + secret + "@" + srv.Addr + "/0",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if c.Healthy() {
		t.Fatal("Healthy with a password Redis refuses: got true, want false")
	}
	err := c.Store().Save(bg(t), "k", 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Save: got %v, want ErrUnavailable", err)
	}
	if err := c.Close(); err != nil { // no more logging from the probe
		t.Errorf("Close: %v", err)
	}
	if !strings.Contains(logs.String(), "WRONGPASS") {
		t.Errorf("logs %q do not say why Redis is unreachable", logs.String())
	}
	for what, text := range map[string]string{"logs": logs.String(), "error": err.Error()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s hold the password: %s", what, text)
		}
	}
}

func TestPasswordAccepted(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "the-right-one")
	c := open(t, srv, Options{URL: "redis://:the-right-one@" + srv.Addr + "/0"})
	if !c.Healthy() {
		t.Fatal("Healthy with the right password: got false, want true")
	}
	if err := c.Store().Save(bg(t), "k", 1); err != nil {
		t.Errorf("Save: %v", err)
	}
}

func TestGoRedisLogger(t *testing.T) {
	var logs syncBuffer
	l := NewGoRedisLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, "refused")
	got := logs.String()
	for _, want := range []string{"level=DEBUG", `msg="connection pool: failed to dial after 1 attempts: refused"`, "component=go-redis"} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %s", got, want)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	srv := redistest.Start(t)
	c, err := Open(context.Background(), Options{URL: srv.URL()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}
