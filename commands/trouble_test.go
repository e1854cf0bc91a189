package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

// TestTroubleTable: every error kind of the contact-center client has its
// own words for a person, naming the real cause; the catch-all is only
// for errors that are not the client's.
func TestTroubleTable(t *testing.T) {
	tests := []struct {
		kind error
		want string // part of the text
	}{
		// 400 on a change.
		{presence.ErrInvalidTransition, "not allowed from"},
		// 401: the token itself.
		{presence.ErrUnauthorized, "`EXOTEL_ACCESS_TOKEN`"},
		// 403: a good token that may not do this.
		{presence.ErrForbidden, "does not allow the bot"},
		// 404: an agent (or account) it does not know.
		{presence.ErrNotFound, "does not know"},
		// 429.
		{presence.ErrRateLimited, "rate-limiting the bot"},
		// 5xx.
		{presence.ErrServer, "server error"},
		// Garbage.
		{presence.ErrBadResponse, "could not read"},
		// Timeouts, refused connections, failing fast.
		{presence.ErrUnavailable, "could not reach the contact center"},
		// Any other 4xx.
		{presence.ErrBadRequest, "refused the bot's request"},
	}
	fallback := troubleWhat(errors.New("something else"))
	seen := map[string]error{}
	seenShort := map[string]error{}
	covered := map[error]bool{}
	for _, tt := range tests {
		t.Run(tt.kind.Error(), func(t *testing.T) {
			covered[tt.kind] = true
			err := &presence.APIError{Op: "get agent agent_001", Kind: tt.kind, StatusCode: 999, Attempts: 1}
			got := troubleWhat(err)
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to say %q", got, tt.want)
			}
			if got == fallback || strings.Contains(got, "not answering") {
				t.Errorf("got %q: the catch-all, or a cause that is not this one", got)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("got %q, the same text as %v", got, other)
			}
			seen[got] = tt.kind
			if wrapped := troubleWhat(fmt.Errorf("while answering: %w", err)); wrapped != got {
				t.Errorf("wrapped: got %q, want %q", wrapped, got)
			}
			// The short form, inside "I couldn't look you up just now (…)".
			short := lookupTrouble(err)
			if strings.Contains(short, "not answering") || strings.Contains(short, "Slack") {
				t.Errorf("short form %q does not name the cause", short)
			}
			if other, dup := seenShort[short]; dup {
				t.Errorf("short form %q, the same as %v's", short, other)
			}
			seenShort[short] = tt.kind
		})
	}
	for _, k := range presence.Kinds() {
		if !covered[k] {
			t.Errorf("kind %v has no row in this test", k)
		}
	}
	// Errors that are not the client's get the catch-all.
	for _, err := range []error{errors.New("boom"), context.DeadlineExceeded, fmt.Errorf("render: %w", context.Canceled)} {
		if got := troubleWhat(err); got != fallback {
			t.Errorf("%v: got %q, want the catch-all %q", err, got, fallback)
		}
	}
}
