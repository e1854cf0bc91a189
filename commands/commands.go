// Package commands is the logic of the slash commands: a plain Request in,
// a plain message.Message out, with no Slack I/O, so every path is testable
// without a socket and the demo console runs the very same code.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/message"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
)

// Request is one slash command as a person typed it.
type Request struct {
	UserID    string // Slack user ID of the person asking
	ChannelID string
	Command   string // "/status" or "/presence"
	Text      string // everything after the command
	// Notify, when set, shows the person m before the answer: a status
	// change held by the contact center's API budget says it is queued.
	// The answer that follows replaces it. The bot posts it; nil shows
	// nothing.
	Notify func(ctx context.Context, m message.Message)
}

// API is what the commands need of the contact center.
type API interface {
	Get(ctx context.Context, agentID string) (*presence.Agent, error)
	SetStatus(ctx context.Context, agentID string, status presence.Status) error
}

// Roster is the shared, short-lived roster snapshot.
type Roster interface {
	Get(ctx context.Context) (*presence.Snapshot, error)
	LastKnown() *presence.Snapshot
	Changed(a presence.Agent)
	// Pressured reports whether the contact center's API budget is under
	// pressure (its TTL stretched): a refresh may then wait long.
	Pressured() bool
}

// Config is what a Handler is built from.
type Config struct {
	API       API
	Roster    Roster
	Directory *Directory
	// OpenToAll lets any workspace member run /presence, not only mapped
	// agents and supervisors.
	OpenToAll bool
	Location  *time.Location // for clock times in answers; UTC when nil
	// Queue holds statuses queued for after a call; nil switches that off.
	Queue *PendingQueue
	// Alerts acknowledges firing alerts and lists them on the supervisors'
	// home; nil when alerts are off.
	Alerts Alerts
	// Nudges answers the nudges' [5 more minutes]; nil when there are
	// no time-in-status rules.
	Nudges Nudges
	Now    func() time.Time
	Logger *slog.Logger

	// Silences keeps the alert silences (/presence silence, /presence
	// silences, the [End silence] button); nil when alerts are off.
	Silences Silences
	// SilenceTargets lists what a silence may name: the alert rules' names
	// and the team IDs they watch. Read at each command; nil names none.
	SilenceTargets func() []string

	// History is the per-team counts over time that /presence trend
	// draws; nil when history is off.
	History History
	// HistoryRetention is how far back History goes (HISTORY_RETENTION),
	// the most hours /presence trend takes; 0 means the default, 8 days.
	HistoryRetention time.Duration
}

// History is what /presence trend reads of the recorded counts
// (history.Recorder).
type History interface {
	Range(ctx context.Context, teams []string, from, to time.Time, step time.Duration) (map[string][]history.Point, error)
	Teams(ctx context.Context, from, to time.Time) ([]history.TeamName, error)
	Latest(ctx context.Context, from, to time.Time) (map[string]history.Point, error)
}

// shareDrawingsFrom is the roster size from which one drawing of an
// answer serves every reader of the same second (see renderedOnce):
// 10,000 agents take a few milliseconds to draw, 5,000 under one.
const shareDrawingsFrom = 10_000

// Handler runs commands. It is safe for concurrent use.
type Handler struct {
	api       API
	roster    Roster
	dir       *Directory
	openToAll bool
	loc       *time.Location
	queue     *PendingQueue
	alerts    Alerts
	nudges    Nudges
	now       func() time.Time
	log       *slog.Logger
	table     []command
	// rendering admits /presence renders on half the cores at most: a
	// burst of them waiting on one roster fetch wakes at once, and side
	// by side they would hold every core while Socket Mode acks wait.
	rendering chan struct{}
	// renders keeps answers drawn from the newest roster (renderedOnce),
	// when it has at least shareDrawingsFrom agents.
	renders           renderCache
	shareDrawingsFrom int

	silences       Silences
	silenceTargets func() []string

	history          History
	historyRetention time.Duration
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{
		api:       cfg.API,
		roster:    cfg.Roster,
		dir:       cfg.Directory,
		openToAll: cfg.OpenToAll,
		loc:       cfg.Location,
		queue:     cfg.Queue,
		alerts:    cfg.Alerts,
		nudges:    cfg.Nudges,
		now:       cfg.Now,
		log:       cfg.Logger,
		rendering: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),

		shareDrawingsFrom: shareDrawingsFrom,

		silences:       cfg.Silences,
		silenceTargets: cfg.SilenceTargets,

		history:          cfg.History,
		historyRetention: cfg.HistoryRetention,
	}
	if h.historyRetention <= 0 {
		h.historyRetention = defaultHistoryRetention
	}
	if h.loc == nil {
		h.loc = time.UTC
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.dir == nil {
		// Nobody is mapped: every command explains how to get mapped.
		h.dir = NewDirectory(nil, nil, cfg.Roster, h.now)
	}
	h.table = []command{
		{
			name:    "/status",
			summary: "See or change your own status.",
			usage: []usageLine{
				{"/status", "your status, since when, and what you may switch to"},
				{"/status available|busy|offline", "change your status"},
				{"/status <status> @user", "supervisors: change someone else's status"},
				{"/status available|offline after-call", "while on a call: switch when the call ends"},
				{"/status cancel", "drop a status queued for after the call"},
				{"/status help", "this help"},
			},
			run: h.status,
		},
		{
			name:    "/presence",
			summary: "See who is where on the floor.",
			usage: []usageLine{
				{"/presence", "counts per status and who is in each"},
				{"/presence <status>", "only agents in one status (available, on-call, after-call-work, busy, offline; also " + aliasList() + ")"},
				{"/presence team <team_id>", "one team"},
				{"/presence <agent id, name or @mention>", "one agent, with the current call"},
				{"/presence table [<status>|team <team_id>]", "one row per agent, sortable: status, time in it, calls today, handle and talk time"},
				{"/presence trend [<team_id>] [<hours>]", "available agents per team over the last hours (default 4)"},
				{"/presence silence <rule|team> <duration> [reason]", "supervisors: hold back a rule's or team's alerts for 1m to 7d (30m, 1h30m, 2d)"},
				{"/presence silences", "the active silences, each with an End button"},
				{"/presence help", "this help"},
			},
			run: h.presence,
		},
	}
	return h
}

// MaxTextLen bounds the text of a command, in characters; Slack itself
// sends far less.
const MaxTextLen = 2000

// textLen counts characters (runes), not bytes: Hindi or Tamil text takes
// three bytes a character, and must get the same limit as English.
func textLen(s string) int { return utf8.RuneCountInString(s) }

type usageLine struct{ syntax, meaning string }

type command struct {
	name    string
	summary string
	usage   []usageLine
	run     func(ctx context.Context, req Request, args []string) message.Message
}

// Handle runs one command and always answers; failures become answers
// that say what went wrong.
func (h *Handler) Handle(ctx context.Context, req Request) message.Message {
	start := time.Now()
	name := req.Command
	var m message.Message
	cmd, ok := h.lookup(req.Command)
	switch {
	case !ok:
		m = refused(fmt.Sprintf("I don't know the command `%s`. I understand `/status` and `/presence`.", message.Escape(req.Command)))
	case textLen(req.Text) > MaxTextLen:
		name = cmd.name
		m = refused(fmt.Sprintf("That command is too long (%s characters; at most %s).\n%s",
			message.Thousands(textLen(req.Text)), message.Thousands(MaxTextLen), cmd.shortUsage()))
	default:
		name = cmd.name
		m = cmd.run(ctx, req, words(req.Text))
	}
	h.logCommand(name, req.UserID, m, start)
	return m
}

// logCommand writes the one info line each command gets, with the
// answer's outcome: the same word bot counts in commands_total. The agent
// is the caller's when already known: no lookup just for the log.
func (h *Handler) logCommand(name, user string, m message.Message, start time.Time) {
	h.log.Info("command", "command", message.Truncate(name, 40), "user", user, "agent", h.dir.knownAgent(user),
		"outcome", m.Outcome(), "took_ms", time.Since(start).Milliseconds())
}

// failed is an answer that reports a failure.
func failed(text string) message.Message { return failure(message.Reply(text)) }

// failure marks an answer as reporting a failure (outcome error).
func failure(m message.Message) message.Message {
	m.Failed = true
	return m
}

// refused is an answer that turns the request down.
func refused(text string) message.Message { return refusal(message.Reply(text)) }

// refusal marks an answer as a refusal (outcome refused): bad input, not
// allowed, an invalid transition, a stale button.
func refusal(m message.Message) message.Message {
	m.Refused = true
	return m
}

func (h *Handler) lookup(name string) (command, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name != "" && !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	for _, c := range h.table {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// help is the generated help of one command.
func (c command) help() message.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* — %s\n", c.name, c.summary)
	for _, u := range c.usage {
		fmt.Fprintf(&b, "• `%s` — %s\n", message.Escape(u.syntax), message.Escape(u.meaning))
	}
	return message.Message{
		Visibility: message.Ephemeral,
		Text:       c.name + ": " + c.summary,
		Blocks:     []message.Block{message.NewSection(strings.TrimRight(b.String(), "\n"))},
	}
}

// shortUsage is the one-line reminder that follows a refusal.
func (c command) shortUsage() string {
	parts := make([]string, 0, len(c.usage))
	for _, u := range c.usage {
		parts = append(parts, "`"+message.Escape(u.syntax)+"`")
	}
	return "Usage: " + strings.Join(parts, " · ")
}

// HelpText is every command's help, for the console.
func (h *Handler) HelpText() []message.Message {
	out := make([]message.Message, 0, len(h.table))
	for _, c := range h.table {
		out = append(out, c.help())
	}
	return out
}

// effect says what a failed contact-center call means for the person.
type effect int

const (
	readOnly     effect = iota // a query: nothing to change
	nothingDone                // a change that was never sent
	maybeChanged               // a change whose fate is unknown
)

// trouble is what a person is told about one kind of contact-center
// failure.
type trouble struct {
	kind error
	// what says what happened and, when retrying will not help, who can
	// fix it.
	what string
	// short is the cause alone, for "I couldn't look you up just now (…)".
	short string
	// agent says it of one agent, for the kinds that are about the agent
	// rather than the service: {agent} is its ID, {action} what the bot
	// tried ("see", "change the status of").
	agent string
}

// troubles is the one table from the client's error kinds to a person's
// words: every answer about a contact-center failure reads it. Each kind
// names its own cause, so a refused token, an unknown agent and an outage
// are never all "not answering".
var troubles = []trouble{
	{kind: presence.ErrUnauthorized,
		what:  "The contact center refused the bot's credentials. An admin needs to check `EXOTEL_ACCESS_TOKEN`.",
		short: "the contact center refused the bot's credentials"},
	{kind: presence.ErrForbidden,
		what:  "The contact center does not allow the bot to do that. An admin needs to check what the bot's access token may do.",
		short: "the contact center does not allow the bot to do that",
		agent: "The contact center does not allow the bot to {action} agent {agent}. An admin needs to check what the bot's access token may do."},
	{kind: presence.ErrNotFound,
		what:  "The contact center does not know the account or agent the bot asked about. An admin should check `EXOTEL_ACCOUNT_SID` and the agent mapping file.",
		short: "the contact center does not know the account or agent asked about",
		agent: "The contact center does not know agent {agent}. An admin should check the agent mapping file."},
	{kind: presence.ErrInvalidTransition,
		what:  "The contact center refused the status change: it is not allowed from the agent's current status.",
		short: "the contact center refused a status change"},
	{kind: presence.ErrRateLimited,
		what:  "The contact center is rate-limiting the bot right now.",
		short: "the contact center is rate-limiting the bot"},
	{kind: presence.ErrServer,
		what:  "The contact center had a server error.",
		short: "the contact center had a server error"},
	{kind: presence.ErrBadResponse,
		what:  "The contact center sent an answer the bot could not read.",
		short: "the contact center sent an answer the bot could not read"},
	{kind: presence.ErrUnavailable,
		what:  "The bot could not reach the contact center.",
		short: "the bot could not reach the contact center"},
	{kind: presence.ErrBadRequest,
		what:  "The contact center refused the bot's request.",
		short: "the contact center refused the bot's request"},
}

// budgetTrouble is a request the bot itself held back: it waited for the
// API budget (EXOTEL_RATE_LIMIT) longer than it may, and was never sent.
// Its kind is ErrRateLimited, whose row would blame the contact center.
var budgetTrouble = trouble{
	kind: presence.ErrBudgetExhausted,
	what: "The contact center's API budget is exhausted: the bot keeps to its share of the contact center's rate limit " +
		"(`EXOTEL_RATE_LIMIT`), and too many requests are waiting.",
	short: "the contact center's API budget is exhausted",
}

// troubleDefault is for errors that are not the client's, such as a
// command's own deadline passing while it waited for the roster.
const troubleDefault = "Something went wrong while asking the contact center."

// troubleFor finds err's row: by the APIError's kind first, so a cause
// wrapped inside cannot pick another row, then by any kind it wraps.
func troubleFor(err error) (trouble, bool) {
	if errors.Is(err, presence.ErrBudgetExhausted) {
		return budgetTrouble, true
	}
	if ae, ok := errors.AsType[*presence.APIError](err); ok {
		for _, t := range troubles {
			if t.kind == ae.Kind {
				return t, true
			}
		}
	}
	for _, t := range troubles {
		if errors.Is(err, t.kind) {
			return t, true
		}
	}
	return trouble{}, false
}

// troubleWhat names a contact-center failure in a person's words.
func troubleWhat(err error) string {
	if t, ok := troubleFor(err); ok {
		return t.what
	}
	return troubleDefault
}

// troubleText explains a contact-center failure to a person, never
// claiming "nothing was changed" when that is not known.
func troubleText(err error, e effect) string {
	return withEffect("⚠️ "+troubleWhat(err), err, e)
}

// aboutAgent reports whether err is about the agent asked for (unknown to
// the contact center, or off limits to the bot) rather than the service.
func aboutAgent(err error) bool {
	t, ok := troubleFor(err)
	return ok && t.agent != ""
}

// agentTroubleText explains a failed call about one agent, naming the
// agent when the failure is about it. action is what the bot tried.
func agentTroubleText(err error, agentID, action string, e effect) string {
	t, ok := troubleFor(err)
	if !ok || t.agent == "" {
		return troubleText(err, e)
	}
	text := strings.NewReplacer("{agent}", "`"+message.Escape(agentID)+"`", "{action}", action).Replace(t.agent)
	return withEffect(text, err, e)
}

// withEffect adds what the failure means for the person: whether anything
// changed, and whether trying again soon can help.
func withEffect(what string, err error, e effect) string {
	_, known := troubleFor(err)
	retry := !known || presence.Temporary(err)
	switch {
	case e == maybeChanged:
		return what + " The change may not have been applied: check with `/status` in a minute."
	case e == nothingDone && retry:
		return what + " Nothing was changed; try again in a minute."
	case e == nothingDone:
		return what + " Nothing was changed."
	case retry:
		return what + " Try again in a minute."
	}
	return what
}

// words splits command text at spaces, keeping each Slack-escaped token
// (<@U123|jane doe>) whole even when its label has spaces.
func words(text string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == '<':
			depth++
		case r == '>' && depth > 0:
			depth--
		case depth == 0 && unicode.IsSpace(r):
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}
