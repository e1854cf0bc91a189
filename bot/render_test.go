package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from what Render makes now")

// goldenNow is the fixed clock of the golden files.
var goldenNow = time.Date(2024, 6, 15, 9, 0, 0, 0, time.UTC)

// goldenHandler is the real commands handler on a small fixed floor in the
// simulator, over real HTTP, with a fixed clock.
func goldenHandler(t *testing.T) *commands.Handler {
	t.Helper()
	now := func() time.Time { return goldenNow }
	sim := ccmsim.New(ccmsim.Options{Now: now, Seed: 1})
	sales := presence.Team{ID: "sales_team", Name: "Sales"}
	support := presence.Team{ID: "support_team", Name: "Support"}
	sim.Add(
		presence.Agent{ID: "agent_001", Name: "John Agent", Email: "john@company.com", Status: presence.Available,
			StatusSince: goldenNow.Add(-95 * time.Minute), Team: &sales,
			Device: &presence.Device{Type: "softphone", ContactURI: "sip:john@company.com"},
			Stats:  &presence.Stats{CallsHandledToday: 15, AvgHandleTime: 240, TotalTalkTime: 3600}},
		presence.Agent{ID: "agent_002", Name: "Jane Support", Status: presence.Available,
			StatusSince: goldenNow.Add(-64 * time.Minute), Team: &support},
		presence.Agent{ID: "agent_003", Name: "Priya Sharma", Status: presence.OnCall,
			StatusSince: goldenNow.Add(-2 * time.Minute), Team: &sales,
			Device:      &presence.Device{Type: "phone", ContactURI: "+919876500003"},
			Stats:       &presence.Stats{CallsHandledToday: 22, AvgHandleTime: 180, TotalTalkTime: 3960},
			CurrentCall: &presence.Call{SID: "call_active_123", Direction: "outbound", CustomerNumber: "+919876543210"}},
		presence.Agent{ID: "agent_004", Name: "Rohan Mehta", Status: presence.AfterCallWork,
			StatusSince: goldenNow.Add(-time.Minute), Team: &support},
		presence.Agent{ID: "agent_005", Name: "<!channel> & Co", Status: presence.Busy,
			StatusSince: goldenNow.Add(-20 * time.Minute), Team: &support},
		presence.Agent{ID: "agent_006", Name: "Jane Doe", Status: presence.Offline,
			StatusSince: goldenNow.Add(-5 * time.Hour), Team: &sales},
	)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := presence.NewClient(sim.AccountSID(), sim.Token(), presence.WithBaseURL(srv.URL),
		presence.WithRetry(1, time.Millisecond, time.Millisecond), presence.WithBreaker(0, 0, nil))
	snaps := presence.NewSnapshots(client, 2*time.Second, now)
	mapping, err := agentmap.Parse([]byte("agents:\n  U0AGENT01: agent_001\n  U0AGENT02: agent_002\n  U0AGENT03: agent_003\nsupervisors:\n  - U0SUPER01\n"))
	if err != nil {
		t.Fatal(err)
	}
	return commands.New(commands.Config{
		API:       client,
		Roster:    snaps,
		Directory: commands.NewDirectory(mapping, nil, snaps, now),
		Queue:     commands.NewPendingQueue(state.NewMemoryStore(), 2*time.Hour),
		Now:       now,
	})
}

// TestHomeGolden pins the App Home views: an agent's (on a call, with a
// status queued for after it) and a supervisor's floor.
func TestHomeGolden(t *testing.T) {
	h := goldenHandler(t)
	queued := h.Handle(context.Background(), commands.Request{UserID: "U0AGENT03", Command: "/status", Text: "offline after-call"})
	if !strings.Contains(queued.Text, "Noted") {
		t.Fatalf("queueing failed: %q", queued.Text)
	}
	for _, tt := range []struct{ name, user string }{
		{"home_agent", "U0AGENT03"},
		{"home_supervisor", "U0SUPER01"},
		{"home_stranger", "U0NOBODY1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: RenderView(h.Home(context.Background(), tt.user))}}
			got, err := json.MarshalIndent(view, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tt.name, append(got, '\n'))
		})
	}
}

// compareGolden checks got against testdata/<name>.golden.json, or
// rewrites it under -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what Render makes now (rerun with -update if the change is meant):\n%s",
			path, firstDifference(string(got), string(want)))
	}
}

func TestRenderGolden(t *testing.T) {
	h := goldenHandler(t)
	ask := func(command, text string) message.Message {
		return h.Handle(context.Background(), commands.Request{UserID: "U0AGENT02", ChannelID: "C0FLOOR", Command: command, Text: text})
	}
	tests := []struct {
		name string
		msg  message.Message
	}{
		// A /status answer: a section and the moves that may follow.
		{"status", ask("/status", "busy")},
		// The /presence overview of the fixed floor (after the change above).
		{"overview", ask("/presence", "")},
		// One agent on a call: header, call line, fields, context.
		{"agent", ask("/presence", "agent_003")},
		// A message with buttons, posted in the channel, replacing a prompt.
		{"buttons", message.Message{
			Visibility:      message.InChannel,
			Text:            "Jane Support has been busy for 2h",
			ReplaceOriginal: true,
			Blocks: []message.Block{
				message.NewSection("*Jane Support* (`agent_002`) has been ⛔ *busy* for 2h."),
				message.NewDivider(),
				message.NewActions(
					message.Button{Label: "Set available", ActionID: "status_set", Value: `{"agent":"agent_002","from":"busy","to":"available"}`, Style: message.StylePrimary},
					message.Button{Label: "Set offline", ActionID: "status_set", Value: `{"agent":"agent_002","from":"busy","to":"offline"}`, Style: message.StyleDanger},
					message.Button{Label: "Leave it", ActionID: "dismiss", Value: "dismiss"},
				),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.MarshalIndent(webhookMessage(tt.msg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, tt.name, append(got, '\n'))
		})
	}
}

// firstDifference shows the first line where got and want part.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + gl + "\n want " + wl
		}
	}
	return "(no line differs)"
}

func TestRenderCapsBlocks(t *testing.T) {
	tests := []struct {
		name   string
		blocks int
		view   bool
		want   int
		cut    bool
	}{
		// Up to the limit, every block is kept.
		{"message at limit", message.MaxBlocks, false, message.MaxBlocks, false},
		// Beyond it, the last kept block says the rest was cut.
		{"message over limit", message.MaxBlocks + 10, false, message.MaxBlocks, true},
		// App Home views allow more.
		{"view over message limit", message.MaxBlocks + 10, true, message.MaxBlocks + 10, false},
		{"view over limit", message.MaxViewBlocks + 1, true, message.MaxViewBlocks, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]message.Block, tt.blocks)
			for i := range in {
				in[i] = message.NewSection("line")
			}
			var out []slack.Block
			if tt.view {
				out = RenderView(in)
			} else {
				out = Render(message.Message{Blocks: in})
			}
			if len(out) != tt.want {
				t.Fatalf("got %d blocks, want %d", len(out), tt.want)
			}
			last := out[len(out)-1]
			ctx, isContext := last.(*slack.ContextBlock)
			if isContext != tt.cut {
				t.Fatalf("last block is %T, want a context block: %v", last, tt.cut)
			}
			if tt.cut {
				text := ctx.ContextElements.Elements[0].(*slack.TextBlockObject).Text
				if !strings.Contains(text, "more than fits in one message") {
					t.Errorf("cut note = %q, want it to say the rest did not fit", text)
				}
			}
			// The caller's blocks are left as they were.
			if in[len(in)-1].Kind != message.Section || len(in) != tt.blocks {
				t.Errorf("Render changed its input")
			}
		})
	}
}

// TestRenderNeverEmptyText: Slack refuses a whole message for one empty
// text object, so every text Render emits has something in it, and blocks
// with nothing to show are left out.
func TestRenderNeverEmptyText(t *testing.T) {
	m := message.Message{Blocks: []message.Block{
		message.NewHeader(""),
		message.NewSection(""),
		message.NewContext(""),
		message.NewFields("", "*Team*\nSales"),
		message.NewFields(),  // nothing: left out
		message.NewActions(), // no buttons: left out
		message.NewActions(message.Button{ActionID: "a", Value: "v"}),
		message.NewDivider(),
	}}
	blocks := Render(m)
	if len(blocks) != 6 {
		t.Errorf("got %d blocks, want 6 (empty fields and actions left out)", len(blocks))
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	texts := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if typ, _ := v["type"].(string); typ == slack.PlainTextType || typ == slack.MarkdownType {
				texts++
				if s, _ := v["text"].(string); s == "" {
					t.Errorf("empty %s text object in %s", typ, raw)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(tree)
	// header, section, context, two fields, one button label
	if texts != 6 {
		t.Errorf("found %d text objects, want 6", texts)
	}
}

// Slack refuses a whole message for one button value over 2,000
// characters (runes, not bytes): such a button is left out, its siblings
// stay, and an actions block left empty is dropped.
func TestRenderLeavesOutButtonsWhoseValueSlackRefuses(t *testing.T) {
	long := strings.Repeat("अ", message.MaxButtonValue+1) // 2,001 runes, 6,003 bytes
	atLimit := strings.Repeat("अ", message.MaxButtonValue)
	m := message.Message{Text: "t", Blocks: []message.Block{
		message.NewSection("Pick one"),
		message.NewActions(
			message.Button{Label: "Too long", ActionID: "a", Value: long},
			message.Button{Label: "At the limit", ActionID: "b", Value: atLimit},
		),
		message.NewActions(message.Button{Label: "Alone and too long", ActionID: "c", Value: long}),
	}}
	blocks := Render(m)
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("got %d blocks, want 2 (the empty actions block left out): %s", len(blocks), raw)
	}
	if strings.Contains(string(raw), "Too long") || !strings.Contains(string(raw), "At the limit") {
		t.Errorf("wrong buttons kept: %s", raw)
	}
	if err := fakeslack.ValidateMessage("t", raw); err != nil {
		t.Errorf("Slack would refuse it: %v", err)
	}
}
