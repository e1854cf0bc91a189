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
// reason when it passes. It looks for the reason field, not the word: a
// user who types "link_disabled" sends it as a text field, and quotes in
// user text arrive escaped, so no user can forge the field.
var linkDisabled = []byte(`"link_disabled"`)

// isLinkDisabled reports whether p holds "reason":"link_disabled" (JSON
// may put spaces around the colon).
func isLinkDisabled(p []byte) bool {
	for {
		i := bytes.Index(p, linkDisabled)
		if i < 0 {
			return false
		}
		before := bytes.TrimRight(p[:i], " \t")
		if bytes.HasSuffix(before, []byte(":")) &&
			bytes.HasSuffix(bytes.TrimRight(before[:len(before)-1], " \t"), []byte(`"reason"`)) {
			return true
		}
		p = p[i+len(linkDisabled):]
	}
}

// watchedConn reports link_disabled once per connection.
type watchedConn struct {
	net.Conn
	once     sync.Once
	disabled func()
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && isLinkDisabled(p[:n]) {
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
// link_disabled, or nil to keep slack-go's dialer whenever a proxy is
// configured: the custom TLS dial would bypass its tunnel, so there the
// reason goes unread rather than the connection being put at risk.
func watchingDialer(disabled func()) *websocket.Dialer {
	// Asked for a host no NO_PROXY lists, net/http says whether any
	// proxy is configured at all.
	for _, scheme := range []string{"https", "http"} {
		probe := &http.Request{URL: &url.URL{Scheme: scheme, Host: "presence-bot.invalid"}}
		if p, err := http.ProxyFromEnvironment(probe); p != nil || err != nil {
			return nil
		}
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
