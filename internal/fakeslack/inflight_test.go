package fakeslack_test

import (
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// Hold keeps requests in flight, unanswered and unrecorded, until
// released.
func TestHoldKeepsRequestsInFlight(t *testing.T) {
	s := newServer(t, fakeslack.Options{})
	api := newAPI(t, s, fakeslack.BotToken, fakeslack.AppToken)
	release := s.Hold("chat.postMessage")
	defer release()

	var wg sync.WaitGroup
	for _, text := range []string{"one", "two"} {
		wg.Go(func() {
			if _, _, err := api.PostMessageContext(testCtx(t), "C1", slack.MsgOptionText(text, false)); err != nil {
				t.Errorf("post %s: %v", text, err)
			}
		})
	}
	if err := s.WaitInFlight(testCtx(t), "chat.postMessage", 2); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages recorded while held, want 0", n)
	}
	if n := s.InFlight("chat.postMessage"); n < 2 {
		t.Errorf("in flight while held = %d, want the 2 still waiting", n)
	}

	release()
	release() // a second release changes nothing
	wg.Wait()
	var texts []string
	for _, m := range s.Messages() {
		texts = append(texts, m.Text)
	}
	if len(texts) != 2 {
		t.Errorf("recorded %q, want one and two", texts)
	}
}
