// Package console is the demo's stand-in for Slack: a terminal in which
// you type slash commands as one of the demo users and see the answers,
// and in which scheduled summaries and alerts appear as channel posts.
// It drives the very same commands/ and alerts/ code as the Slack bot.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
)

// Commands runs slash commands.
type Commands interface {
	Handle(ctx context.Context, req commands.Request) message.Message
}

// User is a demo Slack user.
type User struct {
	ID, Name   string
	AgentID    string // "" for a supervisor without an agent
	Supervisor bool
}

// Console reads commands from in and writes answers and channel posts to
// out. It is safe for concurrent use: posts from scheduled jobs interleave
// with answers line by line.
type Console struct {
	in          io.Reader
	out         io.Writer
	commands    Commands
	users       []User
	interactive bool

	mu      sync.Mutex // guards out and the state below
	current int        // index into users
	// last is the message whose buttons "press N" clicks, as the one a
	// Slack user sees at the bottom; lastPost is its post's ts when it
	// is a channel post ("" otherwise), so an edit of that post counts.
	last     message.Message
	lastPost string
	posts    int
}

// New returns a console. out receives everything it prints, stripped of
// anything a terminal would act on (see Sanitize): names and texts come
// from the contact center and from what people type.
func New(in io.Reader, out io.Writer, cmds Commands, users []User, interactive bool) *Console {
	return &Console{in: in, out: cleanWriter{out}, commands: cmds, users: users, interactive: interactive}
}

const channel = "C0DEMO"

// Run reads and runs commands until end of input, "quit" or ctx ends.
func (c *Console) Run(ctx context.Context) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(c.in)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	c.intro()
	for {
		c.prompt()
		select {
		case <-ctx.Done():
			c.println("\nbye")
			return nil
		case err := <-readErr:
			if err != nil {
				return fmt.Errorf("read commands: %w", err)
			}
			return nil
		case line := <-lines:
			if !c.interactive && strings.TrimSpace(line) != "" {
				c.printf("\n%s> %s\n", c.user().Name, line)
			}
			if quit := c.exec(ctx, strings.TrimSpace(line)); quit {
				return nil
			}
		}
	}
}

func (c *Console) user() User {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[c.current]
}

func (c *Console) intro() {
	u := c.user()
	c.printf("presence-bot demo: a simulated contact center of live agents, and this console in place of Slack.\n")
	c.printf("You are %s. Type help for what you can do.\n", describe(u))
}

func describe(u User) string {
	switch {
	case u.Supervisor && u.AgentID == "":
		return fmt.Sprintf("%s (%s), a supervisor", u.Name, u.ID)
	case u.Supervisor:
		return fmt.Sprintf("%s (%s), a supervisor and agent %s", u.Name, u.ID, u.AgentID)
	case u.AgentID != "":
		return fmt.Sprintf("%s (%s), agent %s", u.Name, u.ID, u.AgentID)
	}
	return fmt.Sprintf("%s (%s), not mapped to any agent", u.Name, u.ID)
}

func (c *Console) prompt() {
	if c.interactive {
		c.printf("%s> ", c.user().Name)
	}
}

const help = `Commands:
  /status                          your status and what you can switch to
  /status available|busy|offline   change it
  /status <status> @user           supervisors: change someone else's
  /presence [help|<status>|team <team_id>|<agent id, name or @user>]
  as <user> <command>              run one command as another user, e.g. as priya /status busy
  press <N>                        press button N of the last message with buttons
  home                             your App Home tab (a supervisor's shows the floor)
  report                           post the day's report now (as REPORT_SCHEDULE would)
  iam <user>                       become another user
  whoami, users                    who you are, who there is
  help, quit
Users can be named by name or Slack ID; @name works in commands too.
`

// exec runs one line; it reports whether to quit.
func (c *Console) exec(ctx context.Context, line string) bool {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return false
	}
	switch strings.ToLower(fields[0]) {
	case "quit", "exit", "bye":
		return true
	case "help", "?":
		c.printf("%s", help)
	case "whoami":
		c.printf("You are %s.\n", describe(c.user()))
	case "users":
		for _, u := range c.users {
			c.printf("  %-8s %s\n", strings.ToLower(firstName(u.Name)), describe(u))
		}
	case "press":
		c.press(ctx, fields)
	case "home":
		c.home(ctx)
	case "report":
		c.report(ctx)
	case "iam":
		if len(fields) != 2 {
			c.printf("Say who: iam <user>. Type users to see them.\n")
			return false
		}
		if i, ok := c.find(fields[1]); ok {
			c.mu.Lock()
			c.current = i
			c.mu.Unlock()
			c.printf("You are now %s.\n", describe(c.users[i]))
		} else {
			c.printf("There is no user %q. Type users to see them.\n", fields[1])
		}
	case "as":
		if len(fields) < 3 {
			c.printf("Say who and what: as <user> <command>, e.g. as priya /status busy\n")
			return false
		}
		i, ok := c.find(fields[1])
		if !ok {
			c.printf("There is no user %q. Type users to see them.\n", fields[1])
			return false
		}
		// Become them for one line, whatever it is, then be yourself again.
		c.mu.Lock()
		me := c.current
		c.current = i
		c.mu.Unlock()
		quit := c.exec(ctx, strings.Join(fields[2:], " "))
		c.mu.Lock()
		c.current = me
		c.mu.Unlock()
		return quit
	default:
		if strings.HasPrefix(fields[0], "/") {
			c.slash(ctx, c.user(), line)
			return false
		}
		c.printf("I don't understand %q. Commands start with / (try /presence), or type help.\n", fields[0])
	}
	return false
}

func firstName(name string) string {
	first, _, _ := strings.Cut(name, " ")
	return first
}

// find looks a user up by Slack ID, first name or full name.
func (c *Console) find(who string) (int, bool) {
	who = strings.TrimPrefix(who, "@")
	for i, u := range c.users {
		if strings.EqualFold(u.ID, who) || strings.EqualFold(firstName(u.Name), who) || strings.EqualFold(u.Name, who) {
			return i, true
		}
	}
	return 0, false
}

// slash runs a slash command as u. An @name becomes the mention Slack
// would send.
func (c *Console) slash(ctx context.Context, u User, line string) {
	cmd, text, _ := strings.Cut(line, " ")
	words := strings.Fields(text)
	for i, w := range words {
		if strings.HasPrefix(w, "@") {
			if j, ok := c.find(w); ok {
				words[i] = fmt.Sprintf("<@%s|%s>", c.users[j].ID, strings.ToLower(firstName(c.users[j].Name)))
			}
		}
	}
	answer := c.commands.Handle(ctx, commands.Request{
		UserID: u.ID, ChannelID: channel, Command: cmd, Text: strings.Join(words, " "),
	})
	c.show(answer)
}

// show prints a new answer, which becomes the message at the bottom:
// its buttons, or none, are the ones "press" clicks.
func (c *Console) show(m message.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.lastPost = m, ""
	Render(c.out, m, c.nameOf)
}

// showClick prints the answer to a click. As in Slack, only an answer
// that replaces the clicked message changes its buttons; a refusal or
// any other answer for the clicker alone leaves the message, buttons
// and all, where it was. A failure that would replace it keeps the
// buttons too, so the click can be tried again.
func (c *Console) showClick(m message.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.ReplaceOriginal && !m.Failed {
		c.last = m
	}
	Render(c.out, m, c.nameOf)
}

// press clicks button n of the last message with buttons, as Slack would.
func (c *Console) press(ctx context.Context, fields []string) {
	c.mu.Lock()
	buttons := Buttons(c.last)
	c.mu.Unlock()
	clicker, ok := c.commands.(Clicker)
	if !ok || len(buttons) == 0 {
		c.printf("The last message has no buttons.\n")
		return
	}
	which := "buttons 1–" + strconv.Itoa(len(buttons))
	if len(buttons) == 1 {
		which = "only button 1"
	}
	if len(fields) < 2 {
		c.printf("press: say which button, 1–%d, as in press 1\n", len(buttons))
		return
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n < 1 || n > len(buttons) || len(fields) > 2 {
		verb := "are"
		if len(buttons) == 1 {
			verb = "is"
		}
		c.printf("press %s: there %s %s on the last message\n", strings.Join(fields[1:], " "), verb, which)
		return
	}
	b := buttons[n-1]
	c.showClick(clicker.Click(ctx, commands.Click{UserID: c.user().ID, ChannelID: channel, ActionID: b.ActionID, Value: b.Value}))
}

// home shows the App Home tab as the current user would see it.
func (c *Console) home(ctx context.Context) {
	homes, ok := c.commands.(Homes)
	if !ok {
		c.printf("There is no home tab in this demo.\n")
		return
	}
	c.show(message.Message{Blocks: homes.Home(ctx, c.user().ID)})
}

// report posts the day's report now, when the demo has one.
func (c *Console) report(ctx context.Context) {
	r, ok := c.commands.(Reports)
	if !ok {
		c.printf("There is no daily report in this demo.\n")
		return
	}
	if err := r.Report(ctx); err != nil {
		c.printf("The report failed: %v\n", err)
	}
}

// Reports posts the day's report (through the console, as a post).
type Reports interface {
	Report(ctx context.Context) error
}

// Clicker runs button presses.
type Clicker interface {
	Click(ctx context.Context, c commands.Click) message.Message
}

// Homes renders the App Home tab.
type Homes interface {
	Home(ctx context.Context, user string) []message.Block
}

func (c *Console) nameOf(id string) string {
	for _, u := range c.users {
		if u.ID == id {
			return strings.ToLower(firstName(u.Name))
		}
	}
	return ""
}

// Post shows a scheduled post as a message in a channel. It implements
// the scheduled jobs' poster.
func (c *Console) Post(_ context.Context, ch string, m message.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts++
	ts := strconv.Itoa(c.posts)
	if len(Buttons(m)) > 0 {
		c.last, c.lastPost = m, ts // so "press 1" acknowledges an alert
	}
	fmt.Fprintf(c.out, "\n[#%s · post %s]\n", ch, ts)
	Render(c.out, m, c.nameOf)
	return ts, nil
}

// DirectMessage shows a direct message to a user.
func (c *Console) DirectMessage(ctx context.Context, user string, m message.Message) error {
	_, _, err := c.DM(ctx, user, m)
	return err
}

// DM shows a direct message to a user, as a post in their DM "channel"
// (named after them) that later edits find; its buttons can be pressed,
// as an agent nudged in Slack would press them.
func (c *Console) DM(_ context.Context, user string, m message.Message) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := c.nameOf(user)
	if name == "" {
		name = user
	}
	c.posts++
	ts := strconv.Itoa(c.posts)
	if len(Buttons(m)) > 0 {
		c.last, c.lastPost = m, ts
	}
	fmt.Fprintf(c.out, "\n[direct message to %s · post %s]\n", name, ts)
	Render(c.out, m, c.nameOf)
	return "@" + name, ts, nil
}

// Reply shows a reply in a post's thread (an alert's ping).
func (c *Console) Reply(_ context.Context, ch, threadTS string, m message.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts++
	ts := strconv.Itoa(c.posts)
	fmt.Fprintf(c.out, "\n[#%s · reply in the thread of post %s]\n", ch, threadTS)
	Render(c.out, m, c.nameOf)
	return ts, nil
}

// Update shows an edited post.
func (c *Console) Update(_ context.Context, ch, ts string, m message.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts == c.lastPost {
		c.last = m // the alert's button goes once it is acknowledged
	}
	if name, ok := strings.CutPrefix(ch, "@"); ok { // a DM (see DM)
		fmt.Fprintf(c.out, "\n[direct message to %s · post %s, edited]\n", name, ts)
	} else {
		fmt.Fprintf(c.out, "\n[#%s · post %s, edited]\n", ch, ts)
	}
	Render(c.out, m, c.nameOf)
	return nil
}

func (c *Console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

func (c *Console) println(s string) { c.printf("%s\n", s) }
