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

// runDemo types lines into the demo, as piped input, and returns what it
// printed.
func runDemo(t *testing.T, lines ...string) string {
	t.Helper()
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := strings.NewReader(strings.Join(lines, "\n") + "\n")
	if err := app.Demo(ctx, in, &out, slog.New(slog.NewTextHandler(&logs, nil)), app.DemoOptions{Still: true}); err != nil {
		t.Fatalf("Demo = %v\n%s", err, logs.String())
	}
	if ctx.Err() != nil {
		t.Fatal("the demo did not end at the end of its input")
	}
	return out.String()
}

// inOrder checks that out holds each of wants, one after another.
func inOrder(t *testing.T, out string, wants ...string) {
	t.Helper()
	pos := 0
	for _, w := range wants {
		i := strings.Index(out[pos:], w)
		if i < 0 {
			t.Fatalf("transcript lacks %q after position %d:\n%q", w, pos, out)
		}
		pos += i + len(w)
	}
}

// TestDemoRefusedPressKeepsTheButtons: someone else's press is refused
// and John's buttons stay his to press; a press that misses names the
// buttons there are.
func TestDemoRefusedPressKeepsTheButtons(t *testing.T) {
	out := runDemo(t,
		"/status",
		"as priya press 1",
		"press 2",
		"press 3",
		"as priya /status",
		"press 7",
	)
	inOrder(t, out,
		"[1] Busy  [2] Offline",
		"Those buttons are for someone else's status",
		"You're now ⚪ offline (was available)", // John's press 2, after Priya's refusal
		"press 3: there is only button 1 on the last message",
		"[2] Offline after this call", // Priya, on a call
		"press 7: there are buttons 1–2 on the last message",
	)
}

// TestDemoPrintsNoTerminalEscapes: what a user types comes back (echoed,
// quoted in answers) without the escape sequences in it.
func TestDemoPrintsNoTerminalEscapes(t *testing.T) {
	out := runDemo(t,
		"/presence \x1b[2J\x1b]0;pwned\x07nobody\u009b31m",
		"as \x1b[5msam /presence",
		"/status \x1b]8;;http://evil.example/\x1b\\busy\x1b]8;;\x1b\\",
	)
	if i := strings.IndexFunc(out, func(r rune) bool {
		return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f)
	}); i >= 0 {
		t.Errorf("a control character %q reached the terminal at %d:\n%q", out[i:i+1], i, out)
	}
	for _, payload := range []string{"pwned", "evil.example"} {
		if strings.Contains(out, payload) {
			t.Errorf("an escape sequence's payload %q was printed:\n%q", payload, out)
		}
	}
	inOrder(t, out, "/presence nobody", "/status busy", "I don't know the status busy")
}
