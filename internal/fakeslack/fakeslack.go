// Package fakeslack is an in-process fake of the Slack Web API and of Socket
// Mode, for driving the real slack-go client in end-to-end tests and the
// benchmark.
//
// A Server listens on 127.0.0.1. Its Web API answers the handful of methods the
// bot uses, checks tokens the way Slack does and records every successful call
// as a Message. Its Socket Mode side accepts several websocket connections,
// greets each with hello, pings them, spreads envelopes over them round-robin
// and records the client's acks with their latency. Tests steer it (failures,
// latency, disconnects, redeliveries) and wait on it without polling.
package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Identities the fake answers with. The tokens are the only ones it accepts.
const (
	AppToken  = "xapp-1-fake"
	BotToken  = "xoxb-fake"
	TeamID    = "T0FAKE"
	TeamName  = "Fake Workspace"
	TeamURL   = "https://fake.slack.test/"
	BotUserID = "U0BOT"
	BotID     = "B0BOT"
	AppID     = "A0FAKE"
)

// DefaultPingInterval is how often connections are pinged when
// Options.PingInterval is zero; well under slack-go's 30 s ping timeout.
const DefaultPingInterval = 5 * time.Second

const (
	// writeTimeout bounds a websocket write, so a client that stops reading
	// cannot wedge a test.
	writeTimeout = 5 * time.Second
	// readLimit is generous: slack-go refuses to send acks of 20 KB or more.
	readLimit = 1 << 20
	// maxBody bounds a Web API request body.
	maxBody = 4 << 20
)

// ErrClosed is returned by the Wait functions once the server is closed.
var ErrClosed = errors.New("fakeslack: server closed")

// ErrNoConnection is returned when an envelope is sent while no Socket Mode
// connection is open.
var ErrNoConnection = errors.New("fakeslack: no open socket mode connection")

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// PingInterval is the period of websocket pings; DefaultPingInterval
	// when zero.
	PingInterval time.Duration
	// Now stamps recorded messages and acks and measures ack latency;
	// time.Now when nil. Network deadlines always use the real clock.
	Now func() time.Time
	// Logger receives the server's debug logs and net/http's errors;
	// discarded when nil.
	Logger *slog.Logger
	// RefuseRichBlocks refuses every data_visualization and data_table
	// block with invalid_blocks, as a workspace where they are not rolled
	// out does; SetRefuseRichBlocks changes it later.
	RefuseRichBlocks bool
}

// User is a workspace member that users.info knows.
type User struct {
	ID, Name, RealName, Email string
	IsBot                     bool
}

// Server is a fake Slack. All methods are safe for concurrent use.
type Server struct {
	now          func() time.Time
	log          *slog.Logger
	pingInterval time.Duration
	pings        atomic.Bool
	refuseRich   atomic.Bool // SetRefuseRichBlocks

	ln       net.Listener
	srv      *http.Server
	base     string // "http://127.0.0.1:port"
	upgrader websocket.Upgrader
	idPrefix string // random, so IDs differ between servers in one process
	seq      atomic.Uint64

	wg   sync.WaitGroup // handlers and connection goroutines; guarded by mu for Add
	done chan struct{}  // closed by Close

	mu           sync.Mutex
	closed       bool
	tickets      map[string]bool
	open         []*conn // connections that get envelopes, in connect order
	draining     []*conn // told to disconnect; still read for acks
	rr           int
	connectCount int
	envelopes    map[string]*envelope
	acks         []Ack
	responses    map[string]*responseURL
	messages     []Message
	calls        map[string]int
	failures     map[string][]failure
	latency      map[string]time.Duration
	holds        map[string]chan struct{} // Hold: closed on release
	inFlight     map[string]int
	users        map[string]User
	homes        map[string]json.RawMessage // user → the Home view as published, with id and hash
	directory    channelDirectory           // conversations.list; see conversations.go
	opened       map[string]bool            // IMs and MPIMs conversations.open opened
	connSig      signal
	ackSig       signal
	msgSig       signal
	flightSig    signal
}

// New starts a server on 127.0.0.1 with a random port. It panics if it cannot
// listen, as httptest.NewServer does: a test cannot go on without it.
func New(opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("fakeslack: listen on 127.0.0.1: %v", err))
	}
	s := &Server{
		now:          opts.Now,
		log:          opts.Logger,
		pingInterval: opts.PingInterval,
		ln:           ln,
		base:         "http://" + ln.Addr().String(),
		idPrefix:     randomHex(4),
		done:         make(chan struct{}),
		tickets:      make(map[string]bool),
		envelopes:    make(map[string]*envelope),
		responses:    make(map[string]*responseURL),
		calls:        make(map[string]int),
		failures:     make(map[string][]failure),
		latency:      make(map[string]time.Duration),
		holds:        make(map[string]chan struct{}),
		inFlight:     make(map[string]int),
		users:        make(map[string]User),
		homes:        make(map[string]json.RawMessage),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.pingInterval <= 0 {
		s.pingInterval = DefaultPingInterval
	}
	s.pings.Store(true)
	s.refuseRich.Store(opts.RefuseRichBlocks)
	s.users[BotUserID] = User{ID: BotUserID, Name: "presence-bot", RealName: "Presence Bot", IsBot: true}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		// slack-go sends Origin: https://api.slack.com, which is not our host.
		CheckOrigin: func(*http.Request) bool { return true },
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.handleAPI)
	mux.HandleFunc("GET /api/{method}", s.handleAPI)
	mux.HandleFunc("GET /link/", s.handleLink)
	mux.HandleFunc("POST /response/{id}", s.handleResponseURL)
	s.srv = &http.Server{
		Handler:           s.track(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.wg.Go(func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("fakeslack: serve", "err", err)
		}
	})
	return s
}

// URL is the Web API base URL, ending in "/", for slack.OptionAPIURL.
func (s *Server) URL() string { return s.base + "/api/" }

// Close closes every connection, stops the server and waits for its
// goroutines. Waiters get ErrClosed. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := append(append([]*conn(nil), s.open...), s.draining...)
	s.mu.Unlock()

	_ = s.srv.Close()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	s.wg.Wait()
}

// AddUser adds or replaces a member that users.info answers for.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// track counts in-flight handlers so Close can wait for them. Adds happen
// under mu before closed is set, so none races with Close's Wait.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "fakeslack closed", http.StatusServiceUnavailable)
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// nextID returns a process-unique ID with the given prefix.
func (s *Server) nextID(prefix string) string {
	return prefix + s.idPrefix + "-" + strconv.FormatUint(s.seq.Add(1), 10)
}

// sleep waits d unless the request or the server ends first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// wait blocks until check reports true, re-running it after every broadcast
// of sig. check runs with mu held.
func (s *Server) wait(ctx context.Context, sig *signal, check func() bool) error {
	for {
		s.mu.Lock()
		if check() {
			s.mu.Unlock()
			return nil
		}
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		ch := sig.wait()
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakeslack: wait: %w", ctx.Err())
		case <-s.done:
		}
	}
}

// signal wakes every waiter on a change. The channel is made only when
// someone waits, so a busy server without waiters allocates nothing.
// Its methods are called with Server.mu held.
type signal struct{ ch chan struct{} }

func (s *signal) wait() <-chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) broadcast() {
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// discard drains and closes a body so the client's connection can be reused.
func discard(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxBody))
	_ = r.Close()
}
