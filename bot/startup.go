package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Start-up retry defaults: a minute of network trouble at boot costs a few
// tries, and a longer one is retried every 30 s or so, as slack-go retries
// the Socket Mode connection itself.
const (
	DefaultConnectBackoff    = time.Second
	DefaultConnectBackoffMax = 30 * time.Second
)

// authenticate calls auth.test until Slack answers. Only a refused token
// ends it with an error: DNS failures, refused connections, 5xx and
// Slack's own passing errors are retried with a jittered, doubling wait,
// so a minute of network trouble at boot does not leave a unit failed
// when the same trouble later is only reconnected through. A shutdown
// meanwhile returns (nil, nil).
func (b *Bot) authenticate(ctx context.Context) (*slack.AuthTestResponse, error) {
	wait := b.cfg.ConnectBackoff
	for attempt := 1; ; attempt++ {
		auth, err := b.web.AuthTest(ctx)
		if err == nil {
			return auth, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if tokenRefused(err) {
			return nil, fmt.Errorf("%w (%s)", err, HintFor(err, "SLACK_BOT_TOKEN"))
		}
		// Half to all of the wait: replicas that boot together do not
		// knock in step.
		d := wait/2 + rand.N(wait/2+1)
		b.log.Warn("slack: cannot reach Slack; retrying", "call", "auth.test", "attempt", attempt,
			"retry_in", d.Round(time.Millisecond).String(), "err", err, "hint", startHint(err))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil
		case <-t.C:
		}
		wait = min(2*wait, b.cfg.ConnectBackoffMax)
	}
}

// tokenRefused reports whether Slack refused the token itself: no wait
// will fix that.
func tokenRefused(err error) bool {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return tokenErrors[se.Err]
	}
	return false
}

// startHint says what to check when Slack cannot be reached at start.
func startHint(err error) string {
	if h := Hint(err); h != "" {
		return h
	}
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &se):
		return "Slack answered with an error of its own; see status.slack.com"
	case errors.As(err, &sc) || strings.Contains(err.Error(), "server error"):
		return "Slack or a proxy on the way answered with an HTTP error; see status.slack.com and check any HTTPS proxy"
	}
	return "check DNS, the network, any HTTPS proxy and SLACK_API_URL; the bot keeps trying"
}
