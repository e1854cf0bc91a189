package bot

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// slack-go treats every disconnect message as "reconnect", and tells its
// user nothing of the reason. One reason needs a person: link_disabled
// means Socket Mode was turned off in the app's settings, and no amount of
// reconnecting fixes that. The watcher reads the connection's bytes as they
// arrive (Slack's frames are unmasked JSON, uncompressed) and reports that
// reason when it passes.
var linkDisabled = []byte(`"link_disabled"`)

// watchedConn reports link_disabled once per connection.
type watchedConn struct {
	net.Conn
	once     sync.Once
	disabled func()
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && bytes.Contains(p[:n], linkDisabled) {
		c.once.Do(c.disabled)
	}
	return n, err
}

// Settings of slack-go's own dialer, kept so the watched one behaves alike.
const (
	handshakeTimeout = 45 * time.Second
	writeBufferSize  = 32 * 1024 // above Slack's 20 KB ack limit: one frame
)

// watchingDialer returns a websocket dialer whose connections report
// link_disabled, or nil to keep slack-go's dialer: behind a proxy, whose
// tunnelling the custom TLS dial would bypass, the reason goes unread.
func watchingDialer(disabled func()) *websocket.Dialer {
	probe := &http.Request{URL: &url.URL{Scheme: "https", Host: "wss-primary.slack.com"}}
	if p, err := http.ProxyFromEnvironment(probe); p != nil || err != nil {
		return nil
	}
	nd := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	watch := func(c net.Conn) net.Conn { return &watchedConn{Conn: c, disabled: disabled} }
	return &websocket.Dialer{
		HandshakeTimeout: handshakeTimeout,
		WriteBufferSize:  writeBufferSize,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return watch(c), nil
		},
		// With NetDialTLSContext set, gorilla leaves the handshake to it.
		NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			td := &tls.Dialer{NetDialer: nd, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
			c, err := td.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return watch(c), nil
		},
	}
}
