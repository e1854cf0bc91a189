package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
)

func TestDemoWithPipedInput(t *testing.T) {
	in := strings.NewReader(strings.Join([]string{
		"/presence",
		"/status busy",
		"/presence busy",
		"/status offline",
		"/status busy",
		"as priya /status offline",
		"as sam /status available @john",
		"/presence agent_003",
		"/status",
		"press 1",
		"as priya /status offline after-call",
		"as priya /status",
		"as priya /status cancel",
		"as sam home",
		"frobnicate",
	}, "\n") + "\n")
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := app.Demo(ctx, in, &out, slog.New(slog.NewTextHandler(&logs, nil)), app.DemoOptions{Still: true})
	if err != nil {
		t.Fatalf("Demo = %v\n%s", err, logs.String())
	}
	if ctx.Err() != nil {
		t.Fatal("the demo did not end at the end of its input")
	}
	got := out.String()
	// Each answer, in order: the transcript reads like the README's.
	wants := []string{
		"Agent presence — 25 agents",
		"You're now ⛔ busy (was available)",
		"Busy — 4 of 25 agents", "John Agent (agent_001)", // the change is in the next /presence
		"You're now ⚪ offline",
		"can't go from ⚪ offline to ⛔ busy", "From offline you can switch to: available",
		"on a call",
		"John Agent (agent_001) is now 🟢 available",
		"customer ••••0003",
		"[1] Busy  [2] Offline",             // buttons, numbered
		"You're now ⛔ busy (was available)", // press 1
		"Noted: ⚪ offline when this call ends",
		"You're set to go ⚪ offline when this call ends",
		"Dropped the queued status",
		"The floor", "Available: ",
		`I don't understand "frobnicate"`,
	}
	pos := 0
	for _, w := range wants {
		i := strings.Index(got[pos:], w)
		if i < 0 {
			t.Fatalf("transcript lacks %q after position %d:\n%s", w, pos, got)
		}
		pos += i + len(w)
	}
	if strings.Contains(got, "&lt;") || strings.Contains(got, "*") {
		t.Errorf("mrkdwn markup leaked into the terminal:\n%s", got)
	}
}
