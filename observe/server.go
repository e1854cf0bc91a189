package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server timeouts. Probes and scrapes are small; nothing here should hold a
// connection for long.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Server serves /healthz, /readyz and /metrics on HTTP_ADDR.
type Server struct {
	addr string
	srv  *http.Server

	mu       sync.Mutex
	started  bool
	done     chan struct{} // closed when Serve returns
	serveErr error
}

// NewServer returns a server for h and m on addr (":8080", "127.0.0.1:0"),
// and exports h's readiness through m (see Metrics.WatchHealth).
// The HTTP server's own errors (bad requests, TLS noise) go to log at warn
// level rather than to the standard library's global logger; a nil log
// discards them.
func NewServer(addr string, h *Health, m *Metrics, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.WatchHealth(h)
	mux := http.NewServeMux()
	h.register(mux)
	mux.Handle("GET /metrics", m.Handler())
	return &Server{
		addr: addr,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
}

// Start listens on the address and serves in the background. It returns
// the address actually bound, which tells the port when addr ends in ":0".
func (s *Server) Start() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil, errors.New("observe server: already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("observe server: listen on %s: %w", s.addr, err)
	}
	s.started = true
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.mu.Lock()
		s.serveErr = err
		s.mu.Unlock()
	}()
	return ln.Addr(), nil
}

// Shutdown stops accepting connections, waits for requests in flight until
// ctx ends, and returns once the serving goroutine has exited. It also
// reports an error that stopped serving early. Calling it on a server that
// was never started is a no-op.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Requests still running past the deadline: cut them off so the
		// goroutine can end.
		err = errors.Join(fmt.Errorf("observe server: shutdown: %w", err), s.srv.Close())
	}
	<-done
	s.mu.Lock()
	serveErr := s.serveErr
	s.mu.Unlock()
	if serveErr != nil {
		return errors.Join(err, fmt.Errorf("observe server: serve: %w", serveErr))
	}
	return err
}
