package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Ack is an acknowledgement the client sent for an envelope.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload as sent; nil when there was none.
	Payload json.RawMessage
	// Refused is why Slack would not show the payload's answer (an
	// invalid_blocks error, e.g. for rich blocks, which the bot never puts
	// in an ack); "" when it would, or when there is no payload.
	Refused string
	// Latency runs from the moment the acknowledged delivery was written to
	// the socket to the moment the ack was read, on Options.Now's clock.
	Latency time.Duration
	At      time.Time
	// RetryAttempt is the retry_attempt of the delivery this ack answers.
	RetryAttempt int
	// Conn is the serial number (1, 2, …, as ConnectCount counts) of the
	// connection the ack arrived on.
	Conn int
}

// conn is one Socket Mode websocket connection.
type conn struct {
	id   int
	ws   *websocket.Conn
	wmu  sync.Mutex // gorilla allows one concurrent writer (WriteControl aside)
	done chan struct{}
}

// write sends one text frame. The caller holds c.wmu.
func (c *conn) write(b []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write to connection %d: %w", c.id, err)
	}
	return nil
}

// envelope is what the server sent under one envelope ID, once or more.
type envelope struct {
	id, typ         string
	payload         json.RawMessage
	acceptsResponse bool
	// frame holds the top-level fields of a frame sent by SendFrame, written
	// as they are rather than as a wireEnvelope; nil for the fake's own.
	frame      map[string]json.RawMessage
	deliveries []*delivery
}

type delivery struct {
	conn    int
	attempt int
	sentAt  time.Time
	acked   bool
	ack     Ack
}

// wireEnvelope is Slack's Socket Mode envelope format.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	// Slack sends the retry fields with events_api envelopes (0 and "" on
	// a first delivery) and with redeliveries; slash_commands and
	// interactive frames have neither (the corpus's SOURCES.md).
	RetryAttempt *int    `json:"retry_attempt,omitempty"`
	RetryReason  *string `json:"retry_reason,omitempty"`
}

type debugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

type helloMessage struct {
	Type           string    `json:"type"`
	NumConnections int       `json:"num_connections"`
	DebugInfo      debugInfo `json:"debug_info"`
	ConnectionInfo struct {
		AppID string `json:"app_id"`
	} `json:"connection_info"`
}

type disconnectMessage struct {
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	DebugInfo debugInfo `json:"debug_info"`
}

type wireAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// handleLink upgrades a ticket from apps.connections.open to a Socket Mode
// connection and reads the client's acks until the connection ends.
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // tickets are single-use, as Slack's are
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("fakeslack: websocket upgrade", "err", err)
		return // the upgrader has answered the client
	}
	ws.SetReadLimit(readLimit)
	c := &conn{ws: ws, done: make(chan struct{})}

	// The connection is registered before hello goes out, so a client that
	// has seen hello can be sent envelopes at once; holding wmu meanwhile
	// keeps any envelope from overtaking hello.
	c.wmu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.wmu.Unlock()
		_ = ws.Close()
		return
	}
	s.connectCount++
	c.id = s.connectCount
	s.open = append(s.open, c)
	hello := helloMessage{
		Type:           "hello",
		NumConnections: len(s.open),
		DebugInfo:      debugInfo{Host: "fakeslack-" + s.idPrefix, BuildNumber: 1, ApproximateConnectionTime: 18060},
	}
	hello.ConnectionInfo.AppID = AppID
	s.connSig.broadcast()
	s.mu.Unlock()
	b, _ := json.Marshal(hello) // cannot fail: plain strings and ints
	err = c.write(b)
	if err == nil && s.pings.Load() {
		// A first ping at once: a client with a short ping timeout must not
		// give up before the first tick.
		err = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
	}
	c.wmu.Unlock()
	if err != nil {
		s.log.Debug("fakeslack: hello", "conn", c.id, "err", err)
		s.forget(c)
		return
	}
	s.log.Debug("fakeslack: connected", "conn", c.id)

	s.wg.Go(func() { s.pingLoop(c) })
	s.readLoop(c)
}

// readLoop records acks until the connection fails, then forgets it.
func (s *Server) readLoop(c *conn) {
	defer func() {
		close(c.done)
		s.forget(c)
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			s.log.Debug("fakeslack: connection ended", "conn", c.id, "err", err)
			return
		}
		at := s.now()
		var a wireAck
		if err := json.Unmarshal(data, &a); err != nil || a.EnvelopeID == "" {
			s.log.Debug("fakeslack: ignoring frame that is not an ack", "conn", c.id)
			continue
		}
		s.recordAck(c.id, a, at)
	}
}

func (s *Server) recordAck(connID int, a wireAck, at time.Time) {
	ack := Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, At: at, Conn: connID}
	if err := ValidateAck(a.Payload); err != nil {
		ack.Refused = err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if env := s.envelopes[a.EnvelopeID]; env != nil {
		if d := env.unacked(connID); d != nil {
			ack.Latency = at.Sub(d.sentAt)
			ack.RetryAttempt = d.attempt
			d.acked, d.ack = true, ack
		}
	}
	s.acks = append(s.acks, ack)
	s.ackSig.broadcast()
}

// unacked finds the delivery an ack answers: the latest unacknowledged one on
// the ack's connection, else (the client reconnected in between) the latest
// unacknowledged one anywhere.
func (e *envelope) unacked(connID int) *delivery {
	var fallback *delivery
	for i := len(e.deliveries) - 1; i >= 0; i-- {
		d := e.deliveries[i]
		if d.acked {
			continue
		}
		if d.conn == connID {
			return d
		}
		if fallback == nil {
			fallback = d
		}
	}
	return fallback
}

// forget closes a connection and drops it from the server's lists.
func (s *Server) forget(c *conn) {
	_ = c.ws.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = slices.DeleteFunc(s.open, func(x *conn) bool { return x == c })
	s.draining = slices.DeleteFunc(s.draining, func(x *conn) bool { return x == c })
	s.connSig.broadcast()
}

// pingLoop pings the client every PingInterval while pings are on.
func (s *Server) pingLoop(c *conn) {
	t := time.NewTicker(s.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if !s.pings.Load() {
				continue
			}
			// WriteControl may run concurrently with WriteMessage.
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				s.log.Debug("fakeslack: ping", "conn", c.id, "err", err)
			}
		}
	}
}

// SetPings turns websocket pings on or off (on by default), so a test can make
// the client hit its ping timeout.
func (s *Server) SetPings(on bool) { s.pings.Store(on) }

// Connections is the number of open connections that receive envelopes
// (connections told to disconnect no longer count).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// ConnectCount is the number of connections ever opened.
func (s *Server) ConnectCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectCount
}

// WaitConnections waits until at least n connections receive envelopes.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.wait(ctx, &s.connSig, func() bool { return len(s.open) >= n })
}

// WaitConnectCount waits until at least n connections have ever been opened:
// after a disconnect, it tells that the client has reconnected.
func (s *Server) WaitConnectCount(ctx context.Context, n int) error {
	return s.wait(ctx, &s.connSig, func() bool { return s.connectCount >= n })
}

// Disconnect sends a disconnect message with the reason (refresh_requested,
// link_disabled, warning, …) on every connection. The connections get no
// more envelopes; acks on them are still recorded until the client closes
// them.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	conns := s.open
	s.open = nil
	s.draining = append(s.draining, conns...)
	s.connSig.broadcast()
	s.mu.Unlock()

	b, _ := json.Marshal(disconnectMessage{Type: "disconnect", Reason: reason, DebugInfo: debugInfo{Host: "fakeslack-" + s.idPrefix}})
	for _, c := range conns {
		c.wmu.Lock()
		if err := c.write(b); err != nil {
			s.log.Debug("fakeslack: disconnect", "conn", c.id, "err", err)
		}
		c.wmu.Unlock()
	}
}

// DropConnections closes every connection abruptly, without a message.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := slices.Concat(s.open, s.draining)
	s.open, s.draining = nil, nil
	s.connSig.broadcast()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// send delivers an envelope round-robin, on another connection than avoid
// (a connection's serial number; 0 for none) when there is one. A connection
// that fails the write is closed and the next one tried.
func (s *Server) send(env *envelope, attempt int, reason string, avoid int) error {
	var b []byte
	var err error
	if env.frame != nil {
		b, err = env.encodeFrame(attempt, reason)
	} else {
		w := wireEnvelope{
			EnvelopeID:             env.id,
			Type:                   env.typ,
			Payload:                env.payload,
			AcceptsResponsePayload: env.acceptsResponse,
		}
		if env.typ == "events_api" || attempt > 0 {
			w.RetryAttempt, w.RetryReason = &attempt, &reason
		}
		b, err = json.Marshal(w)
	}
	if err != nil {
		return fmt.Errorf("encode envelope %s: %w", env.id, err)
	}
	var lastErr error
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		c := s.pick(avoid)
		if c == nil {
			s.mu.Unlock()
			if lastErr != nil {
				return fmt.Errorf("send envelope %s: %w (last: %w)", env.id, ErrNoConnection, lastErr)
			}
			return fmt.Errorf("send envelope %s: %w", env.id, ErrNoConnection)
		}
		s.mu.Unlock()

		c.wmu.Lock()
		d := &delivery{conn: c.id, attempt: attempt}
		s.mu.Lock()
		// Stamped and recorded before the write, so an ack cannot beat it.
		// An envelope is known only with at least one delivery.
		d.sentAt = s.now()
		env.deliveries = append(env.deliveries, d)
		s.envelopes[env.id] = env
		s.mu.Unlock()
		err := c.write(b)
		c.wmu.Unlock()
		if err == nil {
			return nil
		}

		lastErr = err
		s.mu.Lock()
		env.deliveries = slices.DeleteFunc(env.deliveries, func(x *delivery) bool { return x == d })
		if len(env.deliveries) == 0 {
			delete(s.envelopes, env.id)
		}
		s.mu.Unlock()
		s.forget(c)
		avoid = 0
	}
}

// pick chooses the next connection round-robin, skipping connection avoid
// when another is open. Called with mu held.
func (s *Server) pick(avoid int) *conn {
	n := len(s.open)
	if n == 0 {
		return nil
	}
	for i := range n {
		c := s.open[(s.rr+i)%n]
		if c.id != avoid || n == 1 {
			s.rr = (s.rr + i + 1) % n
			return c
		}
	}
	return nil // unreachable: with n > 1 some connection differs
}

// WaitAck waits for the ack of the envelope's latest delivery (after
// Redeliver, the redelivery's).
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	s.mu.Lock()
	env := s.envelopes[envelopeID]
	var d *delivery
	if env != nil {
		d = env.deliveries[len(env.deliveries)-1]
	}
	s.mu.Unlock()
	if d == nil {
		return Ack{}, fmt.Errorf("fakeslack: wait ack: unknown envelope %q", envelopeID)
	}
	if err := s.wait(ctx, &s.ackSig, func() bool { return d.acked }); err != nil {
		return Ack{}, fmt.Errorf("ack for %s: %w", envelopeID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.ack, nil
}

// Acks returns every ack received, in arrival order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acks)
}
