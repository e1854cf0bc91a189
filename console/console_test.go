package console

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
)

// fakeBot answers the console as the commands package would, from a
// table: command text → answer, action ID → click answer.
type fakeBot struct {
	answers map[string]message.Message
	clicks  map[string]message.Message

	mu      sync.Mutex
	clicked []string // "user:action", in order
}

func (f *fakeBot) Handle(_ context.Context, req commands.Request) message.Message {
	if m, ok := f.answers[strings.TrimSpace(req.Command+" "+req.Text)]; ok {
		return m
	}
	return message.Reply("no answer for " + message.Escape(req.Command+" "+req.Text))
}

func (f *fakeBot) Click(_ context.Context, c commands.Click) message.Message {
	f.mu.Lock()
	f.clicked = append(f.clicked, c.UserID+":"+c.ActionID)
	f.mu.Unlock()
	return f.clicks[c.ActionID]
}

var testUsers = []User{
	{ID: "U1", Name: "John Agent", AgentID: "agent_001"},
	{ID: "U2", Name: "Priya Sharma", AgentID: "agent_003"},
	{ID: "U9", Name: "Sam Supervisor", Supervisor: true},
}

// runConsole types lines into a console, as piped input, and returns all
// it printed.
func runConsole(t *testing.T, bot *fakeBot, before func(*Console), lines ...string) string {
	t.Helper()
	var out strings.Builder
	c := New(strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, bot, testUsers, false)
	if before != nil {
		before(c)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("Run = %v", err)
	}
	return out.String()
}

func statusButtons(labels ...string) message.Message {
	var bs []message.Button
	for _, l := range labels {
		bs = append(bs, message.Button{Label: l, ActionID: "set_" + strings.ToLower(l), Value: "agent=agent_001"})
	}
	return message.Message{Blocks: []message.Block{message.NewSection("Your status"), message.NewActions(bs...)}}
}

// controlRE finds what a terminal would act on rather than show: C0
// controls but newline and tab, DEL, C1 controls (ESC included).
var controlRE = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")

// TestConsoleStripsTerminalEscapes: names and texts from the API or a
// user cannot drive the operator's terminal (clear it, retitle it, hide
// text, plant a link), wherever the console prints them.
func TestConsoleStripsTerminalEscapes(t *testing.T) {
	hostile := "\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\Priya\x1b]8;;\x1b\\ \x1b[2J\x1b[31mSharma\x1b[0m\r\u009b2J\x00\x7f\x1bc\x1b(B\x1bPdcs\x1b\\!"
	bot := &fakeBot{
		answers: map[string]message.Message{
			"/presence": {Blocks: []message.Block{
				message.NewHeader(message.Escape(hostile)),
				message.NewSection("• " + message.Escape(hostile) + " (agent_003)"),
				message.NewFields("*Name*\n" + message.Escape(hostile)),
				message.NewContext(message.Escape(hostile)),
				message.NewActions(message.Button{Label: hostile, ActionID: "a"}),
			}},
		},
	}
	out := runConsole(t, bot, func(c *Console) {
		ctx := context.Background()
		ts, _ := c.Post(ctx, "alerts\x1b[8m", message.Message{Text: hostile})
		_ = c.Update(ctx, "alerts", ts, message.Message{Text: hostile})
		_ = c.DirectMessage(ctx, "U\x1b[5m", message.Message{Text: hostile})
	},
		"/presence",
		"/status \x1b[31mbusy\x1b]0;t\x07 \u009b31m",
	)
	if loc := controlRE.FindStringIndex(out); loc != nil {
		t.Errorf("a control character reached the terminal, %q, in:\n%q", out[loc[0]:loc[1]], out)
	}
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 reached the terminal:\n%q", out)
	}
	for _, want := range []string{
		"Priya Sharma!",      // the text around the sequences stays
		"[1] Priya Sharma!",  // button labels too
		"/status busy",       // the echoed input
		"[#alerts · post 1]", // the channel name
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	for _, payload := range []string{"owned", "evil.example", "dcs"} {
		if strings.Contains(out, payload) {
			t.Errorf("an escape sequence's payload %q was printed:\n%q", payload, out)
		}
	}
}

func TestSanitizeTerminal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain — ✅ text\n\ttabbed", "plain — ✅ text\n\ttabbed"},
		{"a\x1b[1;31mb\x1b[0mc", "abc"},           // CSI with parameters
		{"a\x1b[?25lb", "ab"},                     // private CSI (hide the cursor)
		{"a\x1b]0;title\x07b", "ab"},              // OSC ended by BEL
		{"a\x1b]52;c;Zm9v\x1b\\b", "ab"},          // OSC ended by ST (clipboard write)
		{"a\u009d0;title\u009cb", "ab"},           // OSC and ST as C1 controls
		{"a\u009b2Jb", "ab"},                      // CSI as a C1 control
		{"a\x1bPq#0\x1b\\b", "ab"},                // DCS (sixel)
		{"a\x1b_apc\x1b\\b\x1b^pm\x1b\\c", "abc"}, // APC, PM
		{"a\x1b7b\x1b8c\x1bcd", "abcd"},           // two-character escapes
		{"a\x1b(0b", "ab"},                        // a character-set switch
		{"a\x1b]0;never ended", "a"},              // an unterminated string swallows the rest, as a terminal would
		{"a\x1b", "a"},                            // a lone ESC at the end
		{"a\rb\bc\x07d\x00e\x7ff", "abcdef"},      // C0 controls and DEL
		{"a\u0085b", "ab"},                        // other C1 controls
		{"a\xffb\x9bc", "a\ufffdb\ufffdc"},        // invalid UTF-8 (a raw 8-bit CSI) shown as U+FFFD
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConsolePressNamesTheValidRange: a press that misses says which
// buttons there are.
func TestConsolePressNamesTheValidRange(t *testing.T) {
	bot := &fakeBot{answers: map[string]message.Message{
		"/status":     statusButtons("Available", "Busy", "Offline", "Cancel"),
		"/status one": statusButtons("Busy"),
	}}
	out := runConsole(t, bot, nil,
		"press 1",
		"/status",
		"press 7",
		"press 0",
		"press two",
		"press",
		"/status one",
		"press 2",
	)
	for _, want := range []string{
		"The last message has no buttons.",
		"press 7: there are buttons 1–4 on the last message",
		"press 0: there are buttons 1–4 on the last message",
		"press two: there are buttons 1–4 on the last message",
		"press: say which button, 1–4, as in press 1",
		"press 2: there is only button 1 on the last message",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(bot.clicked) != 0 {
		t.Errorf("clicked %v, want nothing", bot.clicked)
	}
}

// TestConsoleRefusedClickKeepsTheButtons: as in Slack, an answer to a
// click that does not replace the message (a refusal, for the clicker
// alone) or that reports a failure leaves the message and its buttons
// where they were; only a replacement changes which buttons there are.
func TestConsoleRefusedClickKeepsTheButtons(t *testing.T) {
	bot := &fakeBot{
		answers: map[string]message.Message{"/status": statusButtons("Busy", "Offline", "Fail", "Done")},
		clicks: map[string]message.Message{
			"set_busy":    message.Reply("Those buttons are for someone else's status, so I changed nothing."),
			"set_fail":    {ReplaceOriginal: true, Failed: true, Blocks: []message.Block{message.NewSection("⚠️ The contact center did not answer.")}},
			"set_offline": {ReplaceOriginal: true, Blocks: []message.Block{message.NewSection("✅ You're now offline."), message.NewActions(message.Button{Label: "Available", ActionID: "set_available"})}},
			"set_done":    {ReplaceOriginal: true, Blocks: []message.Block{message.NewSection("Dropped.")}},
			"ack":         message.Reply("Only supervisors can acknowledge alerts."),
		},
	}
	out := runConsole(t, bot, nil,
		"/status",
		"as priya press 1", // refused: John's buttons stay
		"press 3",          // failed: they stay too
		"press 2",          // replaced: now one button
		"press 1",
		"/status",
		"press 4", // replaced by a message without buttons
		"press 1",
	)
	want := []string{"U2:set_busy", "U1:set_fail", "U1:set_offline", "U1:set_available", "U1:set_done"}
	if strings.Join(bot.clicked, " ") != strings.Join(want, " ") {
		t.Errorf("clicked %v, want %v\n%s", bot.clicked, want, out)
	}
	if !strings.Contains(out, "The last message has no buttons.") {
		t.Errorf("a press after the buttons were replaced away did not say so:\n%s", out)
	}

	// An alert's button stays for the supervisor after an agent's refused
	// press, and its edit (the acknowledgement) takes the button away.
	bot.clicked = nil
	alert := message.Message{Blocks: []message.Block{message.NewSection("Low availability"),
		message.NewActions(message.Button{Label: "Acknowledge", ActionID: "ack"})}}
	out = runConsole(t, bot, func(c *Console) {
		ctx := context.Background()
		ts, _ := c.Post(ctx, "alerts", alert)
		c.commands = &editOnClick{fakeBot: bot, edit: func() {
			_ = c.Update(ctx, "alerts", ts, message.Message{Blocks: []message.Block{message.NewSection("Acknowledged by @sam")}})
		}}
	},
		"press 1",        // John: refused
		"as sam press 1", // Sam: acknowledges; the post is edited
		"as sam press 1",
	)
	if strings.Join(bot.clicked, " ") != "U1:ack U9:ack" {
		t.Errorf("clicked %v, want John's then Sam's acknowledgement\n%s", bot.clicked, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "The last message has no buttons.") {
		t.Errorf("the edited alert kept its button:\n%s", out)
	}
}

// editOnClick edits the alert post when its button is pressed by a
// supervisor, as the alerter does.
type editOnClick struct {
	*fakeBot
	edit func()
}

func (e *editOnClick) Click(ctx context.Context, c commands.Click) message.Message {
	m := e.fakeBot.Click(ctx, c)
	if c.UserID == "U9" {
		e.edit()
		return message.Message{}
	}
	return m
}

func TestRenderShowsShortcodesAsEmoji(t *testing.T) {
	var b strings.Builder
	Render(&b, message.Message{Blocks: []message.Block{
		message.NewSection(":white_check_mark: *Availability recovered* :warning: :rotating_light: agent_001 :not_a_code:"),
	}}, nil)
	got := b.String()
	if want := "✅ Availability recovered ⚠️ 🚨 agent_001 :not_a_code:"; !strings.Contains(got, want) {
		t.Errorf("Render = %q, want it to contain %q", got, want)
	}
}

// TestConsoleAndSlackShowTheSameEmoji: the bot writes emoji as Unicode,
// which Slack and the terminal both show as they are; a shortcode would
// show in the console (or any client without Slack's table) as its name.
// Every string literal of the packages that write messages is checked.
func TestConsoleAndSlackShowTheSameEmoji(t *testing.T) {
	for _, dir := range []string{"../alerts", "../commands", "../message", "../bot", "../app"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				for _, code := range shortcodeRE.FindAllString(s, -1) {
					t.Errorf("%s: %s: write the emoji itself, not the shortcode (console shows %q)",
						fset.Position(lit.Pos()), code, Sanitize(emojiFor(code)))
				}
				return true
			})
		}
	}
}

// emojiFor is the Unicode of a shortcode the console knows, else the code.
func emojiFor(code string) string {
	if e, ok := shortcodes[strings.Trim(code, ":")]; ok {
		return e
	}
	return code
}

// A shortcode is a word of its own: "channels:read:" (a Slack scope in a
// hint) holds none, and renders as it is.
func TestShortcodesAreWordsOfTheirOwn(t *testing.T) {
	if got := shortcodeRE.FindAllString("lacks channels:read: reinstall; :white_check_mark: done", -1); len(got) != 1 || got[0] != ":white_check_mark:" {
		t.Errorf("shortcodes found %q, want only :white_check_mark:", got)
	}
}
