package observe

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer starts a Server on a free loopback port and returns its base
// URL and a client whose connections are dropped at cleanup.
func startServer(t *testing.T, h *Health, m *Metrics) (*Server, string, *http.Client) {
	t.Helper()
	s := NewServer("127.0.0.1:0", h, m, nil)
	addr, err := s.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, "http://" + addr.String(), &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestServerServesAllThreeEndpoints(t *testing.T) {
	h := NewHealth(nil)
	m := NewMetrics()
	_, base, c := startServer(t, h, m)

	if code, body := get(t, c, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: got %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, c, base+"/readyz"); code != 503 || !strings.Contains(body, `"slack_socket"`) {
		t.Errorf("/readyz before connecting: got %d %q, want 503 naming slack_socket", code, body)
	}
	// The server exports h's readiness through m.
	if got := scrapeURL(t, c, base+"/metrics").value(t, "presence_bot_ready", nil); got != 0 {
		t.Errorf("presence_bot_ready before connecting: got %v, want 0", got)
	}

	// The app feeds both from the same hook.
	for _, up := range []bool{true, false, true} {
		h.Connection(up)
		m.Connection(up)
	}
	if code, body := get(t, c, base+"/readyz"); code != 200 {
		t.Errorf("/readyz once connected: got %d %q, want 200", code, body)
	}
	f := scrapeURL(t, c, base+"/metrics")
	if got := f.value(t, "presence_bot_ready", nil); got != 1 {
		t.Errorf("presence_bot_ready once connected: got %v, want 1", got)
	}
	if got := f.value(t, "presence_bot_socket_up", nil); got != 1 {
		t.Errorf("socket_up: got %v, want 1", got)
	}
	if got := f.value(t, "presence_bot_socket_reconnects_total", nil); got != 1 {
		t.Errorf("socket_reconnects_total: got %v, want 1", got)
	}
	if f["go_goroutines"] == nil {
		t.Errorf("go_goroutines: missing from /metrics served by the server")
	}
}

func TestServerStartErrors(t *testing.T) {
	s, _, _ := startServer(t, NewHealth(nil), NewMetrics())
	if _, err := s.Start(); err == nil {
		t.Errorf("second Start: got no error, want one")
	}

	// The port is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := NewServer(ln.Addr().String(), NewHealth(nil), NewMetrics(), nil)
	if _, err := busy.Start(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Start on a taken port: got %v, want a listen error", err)
	}
	if err := busy.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of a server that never started: got %v, want nil", err)
	}
}

func TestServerShutdownStopsServing(t *testing.T) {
	s := NewServer("127.0.0.1:0", NewHealth(nil), NewMetrics(), nil)
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	if code, _ := get(t, c, "http://"+addr.String()+"/healthz"); code != 200 {
		t.Fatalf("/healthz: got %d, want 200", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if resp, err := c.Get("http://" + addr.String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET after Shutdown: got HTTP %d, want a connection error", resp.StatusCode)
	}
}

func TestServerHasTimeouts(t *testing.T) {
	s := NewServer(":0", NewHealth(nil), NewMetrics(), nil)
	if s.srv.ReadHeaderTimeout <= 0 || s.srv.ReadTimeout <= 0 || s.srv.WriteTimeout <= 0 || s.srv.IdleTimeout <= 0 {
		t.Errorf("timeouts: got header %v read %v write %v idle %v, want all set",
			s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout)
	}
	if s.srv.ErrorLog == nil {
		t.Errorf("ErrorLog: got nil (the global logger), want one writing to slog")
	}
}
