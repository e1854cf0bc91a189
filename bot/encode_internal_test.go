package bot

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
)

// An answer drawn once for many is encoded once: the copies given to
// others get the same bytes; a copy changed where a sender may change it
// (replace the original, the classic fallback) or drawn alone is encoded
// for itself.
func TestSharedDrawingsAreEncodedOnce(t *testing.T) {
	w := NewWebAPI(Slack{BotToken: "xoxb-x", AppToken: "xapp-x"})
	m := message.Reply("Agent presence — 5 agents")
	m.Blocks = append(m.Blocks, message.NewContext("As of 09:00"))
	m.Drawing = &message.Drawing{}

	first, err := w.encode(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(webhookMessage(m))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, want) {
		t.Fatalf("encoded %s, want %s", first, want)
	}
	again, _ := w.encode(m)
	if &again[0] != &first[0] {
		t.Error("a copy of the same drawing was encoded again")
	}

	replaced := m
	replaced.ReplaceOriginal = true
	if b, _ := w.encode(replaced); &b[0] == &first[0] || !bytes.Contains(b, []byte(`"replace_original":true`)) {
		t.Errorf("a copy that replaces the original got the first copy's bytes: %s", b)
	}
	late := lateNote(m, time.Time{}, time.Time{})
	if late.Drawing != nil {
		t.Error("lateNote kept the drawing of an answer it changed")
	}
	alone := m
	alone.Drawing = nil
	if b, _ := w.encode(alone); &b[0] == &first[0] {
		t.Error("an answer drawn alone got a shared drawing's bytes")
	}
}
