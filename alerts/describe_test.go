package alerts

import (
	"errors"
	"testing"

	"github.com/presencebot/presence-bot/presence"
)

// Every contact-center error kind that can stop a poll has words of its
// own in the "data unavailable" notice: none falls to the catch-all.
func TestDescribeNamesEveryPollFailure(t *testing.T) {
	seen := map[string]error{}
	for _, kind := range presence.Kinds() {
		if errors.Is(kind, presence.ErrInvalidTransition) || errors.Is(kind, presence.ErrBadRequest) {
			continue // a poll only lists: no transition, and no request of ours is bad
		}
		got := describe(&presence.APIError{Op: "list presence", Kind: kind})
		if got == describe(errors.New("other")) {
			t.Errorf("%v is described by the catch-all %q", kind, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("%v and %v share the words %q", kind, prev, got)
		}
		seen[got] = kind
	}
}
