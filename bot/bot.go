// Package bot is the Slack side of presence-bot: the Socket Mode loop that
// acknowledges every envelope at once, hands the work to a bounded pool of
// workers, answers through response_url, and posts for the scheduled
// jobs. The logic lives in commands/; this package only translates.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// Commands runs slash commands.
type Commands interface {
	Handle(ctx context.Context, req commands.Request) message.Message
}

// Clicker runs button presses; a Commands that is one gets them.
type Clicker interface {
	Click(ctx context.Context, c commands.Click) message.Message
}

// Homes renders App Home views; a Commands that is one gets
// app_home_opened events.
type Homes interface {
	Home(ctx context.Context, user string) []message.Block
}

// Config is what a Bot is built from.
type Config struct {
	// Web is the Slack client; the Socket Mode connection uses its tokens.
	Web      *WebAPI
	Commands Commands
	// Dedup remembers envelopes across redeliveries; nil keeps them in
	// memory for ten minutes.
	Dedup Deduper
	// HomeSet remembers who opened the App Home, whose view is refreshed
	// after a change; nil keeps them in memory (NewMemoryHomeSet).
	HomeSet HomeSet
	// Journal keeps accepted commands until they are answered, so that
	// another replica finishes them should this one die (journal.go); nil
	// journals nothing (a single instance has no one to hand over to).
	Journal Journal
	// JournalSweep is how often the journal is searched for a dead
	// replica's commands; 0 means DefaultJournalSweep.
	JournalSweep time.Duration
	// Workers bounds the status changes in flight (/status and button
	// clicks); ReadWorkers the rest (/presence, help, the App Home).
	// Commands mostly wait on the contact center, so both are sized for
	// I/O, not for cores. Two lanes, because a burst of changes may wait
	// minutes for the API budget, and a /presence must not wait for a
	// worker behind them: it is answered from the last roster meanwhile.
	Workers     int
	ReadWorkers int
	// Queue bounds the commands waiting for a worker, in each lane.
	Queue int
	// CommandTimeout bounds one command, so every answer comes within 10 s.
	CommandTimeout time.Duration
	// DrainTimeout bounds how long shutdown waits for commands in flight.
	DrainTimeout time.Duration
	// PingInterval is how long without a ping from Slack before the
	// connection counts as dead; 0 keeps slack-go's default.
	PingInterval time.Duration
	// ConnectBackoff and ConnectBackoffMax bound the waits between tries
	// at reaching Slack at start (auth.test), jittered and doubling from
	// the one to the other; 0 keeps DefaultConnectBackoff and
	// DefaultConnectBackoffMax.
	ConnectBackoff    time.Duration
	ConnectBackoffMax time.Duration
	Logger            *slog.Logger
	Hooks             Hooks
}

// Hooks let metrics watch the bot without the bot knowing about them.
// Every field may be nil.
type Hooks struct {
	Acked func(kind string, latency time.Duration)
	// Answered hears each command's and click's outcome (message.OutcomeOK,
	// OutcomeRefused or OutcomeError): the answer's own, or error when
	// the bot failed to run it or to deliver the answer.
	Answered   func(command, outcome string, took time.Duration)
	Connection func(up bool)
	// Recovered hears each command or click this replica finished for a
	// replica that died after acknowledging it.
	Recovered func()
}

// Defaults for Config.
const (
	DefaultWorkers     = 256
	DefaultReadWorkers = 128
	DefaultQueue       = 8192
	// DefaultCommandTimeout leaves room, within the 10 s a person waits,
	// for the client's check after an ambiguous update (2 s) and delivery.
	DefaultCommandTimeout = 7 * time.Second
	// DefaultDrainTimeout, with the last answers' delivery and the jobs'
	// stop, keeps shutdown within 5 s.
	DefaultDrainTimeout = 2 * time.Second
	ackTimeout          = time.Second
	// lateDeliveryTimeout is the last try at an answer once the drain
	// timeout has passed; abandonAfter, how long shutdown then waits for
	// work that ignores its cancelled context.
	lateDeliveryTimeout = 750 * time.Millisecond
	abandonAfter        = 250 * time.Millisecond
	// DefaultDedupeTTL is how long an envelope is remembered: Slack
	// redelivers within minutes.
	DefaultDedupeTTL = 10 * time.Minute
	overflowAnswers  = 32
)

// Bot is a running Slack connection. Build it with New, run it with Run.
type Bot struct {
	cfg    Config
	socket *socketmode.Client
	web    *WebAPI
	log    *slog.Logger
	dedup  Deduper
	// journal is nil without Config.Journal.
	journal *journaler

	teamID    string
	connected atomic.Bool
	jobs      chan job // status changes (writes): see Config.Workers
	reads     chan job // the rest
	overflow  chan struct{}
	refusing  sync.WaitGroup // answers to commands the queue had no room for

	// deliveries bounds every answer's delivery; Run ends it at shutdown.
	deliveries context.Context

	// homes are the users who opened the App Home, whose view is
	// refreshed after a change through the bot (homes.go).
	homes     HomeSet
	refresh   refresher
	refreshes sync.WaitGroup // RefreshHomes's passes; Run waits for them
}

// job is one accepted envelope waiting for a worker: a slash command, a
// button press or an App Home to publish.
type job struct {
	kind  jobKind
	req   commands.Request
	click commands.Click
	// inHome marks a click in the App Home tab: Slack sends those with no
	// response_url and no channel, so the answer goes into the Home view.
	inHome      bool
	responseURL string
	envelopeID  string
	// dedupeKey names the delivery: the envelope for commands and clicks,
	// the event_id for events, which Slack retries under new envelopes.
	dedupeKey string
	received  time.Time
	// recovered marks a command another replica acknowledged and did not
	// answer, claimed from the journal: it is journaled (by this replica
	// now) and was checked for redelivery already.
	recovered bool
}

// writes reports whether j may change a status, and so wait for the API
// budget behind other changes: /status and button clicks.
func (j job) writes() bool {
	return j.kind == clickJob || (j.kind == slashJob && j.req.Command == "/status")
}

type jobKind int

const (
	slashJob jobKind = iota
	clickJob
	homeJob
)

// New builds a bot. It does not connect; Run does.
func New(cfg Config) (*Bot, error) {
	if cfg.Commands == nil || cfg.Web == nil {
		return nil, errors.New("bot: a Slack client and a command handler are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.ReadWorkers <= 0 {
		cfg.ReadWorkers = DefaultReadWorkers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.ConnectBackoff <= 0 {
		cfg.ConnectBackoff = DefaultConnectBackoff
	}
	if cfg.ConnectBackoffMax < cfg.ConnectBackoff {
		cfg.ConnectBackoffMax = max(cfg.ConnectBackoff, DefaultConnectBackoffMax)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dedup == nil {
		cfg.Dedup = NewMemoryDeduper(DefaultDedupeTTL, nil)
	}
	if cfg.HomeSet == nil {
		cfg.HomeSet = NewMemoryHomeSet(DefaultHomeTTL, DefaultMaxHomes, nil)
	}
	var sockOpts []socketmode.Option
	if cfg.PingInterval > 0 {
		sockOpts = append(sockOpts, socketmode.OptionPingInterval(cfg.PingInterval))
	}
	logger := cfg.Logger
	if d := watchingDialer(func() {
		logger.Error("slack: Socket Mode was turned off for this app (disconnect reason link_disabled); reconnecting until it is back",
			"hint", "turn Socket Mode on again in the app's settings at api.slack.com/apps (or recreate the app from manifest.yml)")
	}); d != nil {
		sockOpts = append(sockOpts, socketmode.OptionDialer(d))
	}
	b := &Bot{
		cfg:      cfg,
		socket:   socketmode.New(cfg.Web.api, sockOpts...),
		web:      cfg.Web,
		log:      cfg.Logger,
		dedup:    cfg.Dedup,
		homes:    cfg.HomeSet,
		journal:  newJournaler(cfg.Journal, cfg.JournalSweep, cfg.Logger),
		jobs:     make(chan job, cfg.Queue),
		reads:    make(chan job, cfg.Queue),
		overflow: make(chan struct{}, overflowAnswers),
	}
	// Refreshes may be asked for before Run (the scheduler starts first)
	// and are stopped by it.
	b.refresh.ctx, b.refresh.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Connected reports whether the Socket Mode connection is up.
func (b *Bot) Connected() bool { return b.connected.Load() }

// Run connects and serves until ctx is done, then stops taking work,
// finishes the commands in flight (up to the drain timeout) and returns.
// It returns an error when Slack refuses the tokens; trouble reaching
// Slack, at start as later, is retried until ctx is done (then nil).
func (b *Bot) Run(ctx context.Context) error {
	defer b.stopRefreshes()
	auth, err := b.authenticate(ctx)
	if err != nil {
		return err
	}
	if auth == nil {
		return nil // shut down before Slack could be reached
	}
	b.teamID = auth.TeamID
	b.log.Info("slack authenticated", "team", auth.Team, "team_id", auth.TeamID, "bot_user", auth.UserID)

	// Work outlives the socket by the drain timeout, so commands already
	// acknowledged still get their answer during shutdown; deliveries get
	// a last short try after that, and nothing outlives the budget.
	deliveries, endDeliveries := context.WithCancel(context.WithoutCancel(ctx))
	defer endDeliveries()
	b.deliveries = deliveries
	workCtx, stopWork := context.WithCancel(deliveries)
	defer stopWork()
	var workers sync.WaitGroup
	for lane, n := range map[chan job]int{b.jobs: b.cfg.Workers, b.reads: b.cfg.ReadWorkers} {
		for range n {
			workers.Go(func() {
				for j := range lane {
					b.runJob(workCtx, j)
				}
			})
		}
	}

	sockCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	sockDone := make(chan error, 1)
	go func() { sockDone <- b.socket.RunContext(sockCtx) }()

	stopSweeps, stopRenewals := b.startJournal(deliveries)
	defer stopRenewals() // the leases of commands in flight are kept to the end

	runErr := b.loop(ctx, sockDone)

	// Shutdown in order: stop taking Slack work, drain, then return, all
	// within DrainTimeout + lateDeliveryTimeout + abandonAfter.
	stopSocket()
	b.setConnected(false)
	stopSweeps() // nothing may enqueue once jobs is closed
	close(b.jobs)
	close(b.reads)
	b.stopRefreshes()
	done := make(chan struct{})
	go func() { workers.Wait(); b.refusing.Wait(); b.refreshes.Wait(); close(done) }()
	if !waitFor(done, b.cfg.DrainTimeout) {
		b.log.Warn("shutdown: commands still running after the drain timeout; cancelling them")
		stopWork()
		if !waitFor(done, lateDeliveryTimeout) {
			endDeliveries()
			if !waitFor(done, abandonAfter) {
				b.log.Error("shutdown: some commands did not stop; leaving them")
			}
		}
	}
	return runErr
}

// waitFor reports whether done closed within d.
func waitFor(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// loop reads Socket Mode events until ctx ends or the connection fails for
// good.
func (b *Bot) loop(ctx context.Context, sockDone <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sockDone:
			if ctx.Err() != nil {
				return nil
			}
			if h := HintFor(err, "SLACK_APP_TOKEN"); h != "" {
				return fmt.Errorf("slack socket mode: %w (%s)", err, h)
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-b.socket.Events:
			b.handleEvent(ctx, evt)
		}
	}
}

func (b *Bot) setConnected(up bool) {
	if b.connected.Swap(up) != up && b.cfg.Hooks.Connection != nil {
		b.cfg.Hooks.Connection(up)
	}
}

func (b *Bot) handleEvent(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.setConnected(false)
		b.log.Debug("slack: connecting")
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		if !b.connected.Load() {
			b.log.Info("slack: connected")
		}
		b.setConnected(true)
	case socketmode.EventTypeConnectionError:
		b.setConnected(false)
		var cause error
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			cause = ce.ErrorObj
		}
		b.log.Warn("slack: connection failed; retrying", "err", cause, hintAttr(HintFor(cause, "SLACK_APP_TOKEN")))
	case socketmode.EventTypeInvalidAuth:
		b.setConnected(false)
		b.log.Error("slack: SLACK_APP_TOKEN refused", "hint", "copy the app-level token (xapp-…) with connections:write again")
	case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		b.log.Warn("slack: socket trouble", "event", evt.Type, "err", socketTrouble(evt.Data))
	case socketmode.EventTypeSlashCommand:
		b.onSlashCommand(ctx, evt)
	case socketmode.EventTypeInteractive:
		b.onInteractive(ctx, evt)
	case socketmode.EventTypeEventsAPI:
		b.onEvent(ctx, evt)
	}
}

// ack acknowledges an envelope with no payload: answers follow through
// response_url, so the ack never waits on the contact center.
func (b *Bot) ack(ctx context.Context, evt socketmode.Event, kind string) {
	if evt.Request == nil {
		return
	}
	start := time.Now()
	// slack-go queues acks for the connection; while it is down the queue
	// can fill, and an ack that waits forever would stall the loop and
	// shutdown. Slack redelivers what was not acknowledged.
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := b.socket.AckCtx(actx, evt.Request.EnvelopeID, nil); err != nil {
		b.log.Warn("slack: ack failed", "envelope", evt.Request.EnvelopeID, "err", err)
		return
	}
	if b.cfg.Hooks.Acked != nil {
		b.cfg.Hooks.Acked(kind, time.Since(start))
	}
}

// accept decides whether an acknowledged envelope is ours to run: only
// from our workspace. Whether it ran already is asked by the worker, so a
// slow shared store never delays the acks of the envelopes behind it.
func (b *Bot) accept(evt socketmode.Event, teamID string) bool {
	if teamID != "" && b.teamID != "" && teamID != b.teamID {
		b.log.Warn("slack: envelope from another workspace ignored", "team_id", teamID, "envelope", evt.Request.EnvelopeID)
		return false
	}
	return true
}

func (b *Bot) enqueue(ctx context.Context, j job) {
	lane := b.reads
	if j.writes() {
		lane = b.jobs
	}
	select {
	case lane <- j:
	default:
		b.refuseOverload(ctx, j)
	}
}

func (b *Bot) onSlashCommand(ctx context.Context, evt socketmode.Event) {
	b.ack(ctx, evt, "slash_commands")
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || evt.Request == nil {
		b.log.Warn("slack: slash command envelope without a command")
		return
	}
	if !b.accept(evt, cmd.TeamID) {
		return
	}
	b.enqueue(ctx, job{
		kind: slashJob,
		req: commands.Request{
			UserID:    cmd.UserID,
			ChannelID: cmd.ChannelID,
			Command:   cmd.Command,
			Text:      cmd.Text,
		},
		responseURL: cmd.ResponseURL,
		envelopeID:  evt.Request.EnvelopeID,
		dedupeKey:   "envelope:" + evt.Request.EnvelopeID,
		received:    time.Now(),
	})
}

func (b *Bot) onInteractive(ctx context.Context, evt socketmode.Event) {
	b.ack(ctx, evt, "interactive")
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || evt.Request == nil {
		b.log.Warn("slack: interactive envelope without a payload")
		return
	}
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return // nothing the bot offers produces other interactions
	}
	if _, ok := b.cfg.Commands.(Clicker); !ok || !b.accept(evt, cb.Team.ID) {
		return
	}
	// A block_actions payload carries the one button pressed.
	action := cb.ActionCallback.BlockActions[0]
	// Clicks in the App Home come with container.type "view" and a view
	// of type "home", and without response_url or channel (Slack's
	// block_actions reference, "container" and "response_url").
	inHome := cb.Container.Type == "view" && cb.View.Type == slack.VTHomeTab
	b.enqueue(ctx, job{
		kind: clickJob,
		req:  commands.Request{UserID: cb.User.ID, ChannelID: cb.Channel.ID, Command: "button:" + action.ActionID},
		click: commands.Click{
			UserID:    cb.User.ID,
			ChannelID: cb.Channel.ID,
			ActionID:  action.ActionID,
			Value:     action.Value,
		},
		inHome:      inHome,
		responseURL: cb.ResponseURL,
		envelopeID:  evt.Request.EnvelopeID,
		dedupeKey:   "envelope:" + evt.Request.EnvelopeID,
		received:    time.Now(),
	})
}

func (b *Bot) onEvent(ctx context.Context, evt socketmode.Event) {
	b.ack(ctx, evt, "events_api")
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok || evt.Request == nil {
		return
	}
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" {
		return
	}
	if _, ok := b.cfg.Commands.(Homes); !ok || !b.accept(evt, ev.TeamID) {
		return
	}
	b.enqueue(ctx, job{
		kind:       homeJob,
		req:        commands.Request{UserID: opened.User, Command: "app_home_opened"},
		envelopeID: evt.Request.EnvelopeID,
		dedupeKey:  eventKey(ev, evt.Request.EnvelopeID),
		received:   time.Now(),
	})
}

// eventKey names an Events API delivery by its event_id: Slack retries an
// event under a new envelope_id with the same event_id (Events API docs,
// "Retries"), so the envelope alone would run it twice.
func eventKey(ev slackevents.EventsAPIEvent, envelopeID string) string {
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
		return "event:" + cb.EventID
	}
	return "envelope:" + envelopeID
}

// socketTrouble describes a socket error without its payload: slack-go
// hands back the raw frame with a bad message, and a raw frame holds
// response_url and the verification token.
func socketTrouble(data any) string {
	switch d := data.(type) {
	case *socketmode.ErrorBadMessage:
		return fmt.Sprintf("could not read a frame: %v", d.Cause)
	case error:
		return d.Error()
	case nil:
		return ""
	}
	return fmt.Sprintf("%T", data)
}

// refuseOverload answers a command the queue has no room for, so it is
// refused out loud rather than dropped. These answers are bounded too.
func (b *Bot) refuseOverload(ctx context.Context, j job) {
	b.log.Error("slack: command queue full; command refused", "command", j.req.Command, "user", j.req.UserID,
		"outcome", message.OutcomeError)
	b.answered(j, message.OutcomeError) // not run, whether or not the refusal reaches them
	select {
	case b.overflow <- struct{}{}:
	default:
		return // already answering as many refusals as we allow
	}
	b.refusing.Go(func() {
		defer func() { <-b.overflow }()
		b.deliver(ctx, j, message.Reply("⚠️ I'm overloaded right now and did not run that. Please try again in a moment."))
	})
}

// runJob runs one command and answers it. A panic is the bot's bug, not
// the user's: it is logged with its stack and the user told.
func (b *Bot) runJob(ctx context.Context, j job) {
	if ctx.Err() != nil {
		if b.journalRelease(j) {
			return // claimed from the journal: its lease lapses, another replica finishes it
		}
		// Taken from the queue after shutdown cut the drain short: say so
		// rather than start what cannot finish.
		b.log.Warn("shutdown: command not run", "command", j.req.Command, "user", j.req.UserID, "outcome", message.OutcomeError)
		b.deliver(ctx, j, message.Reply("⚠️ I'm restarting and did not run that. Please try again in a moment."))
		b.answered(j, message.OutcomeError)
		return
	}
	if !j.recovered && !b.dedup.FirstDelivery(ctx, j.dedupeKey) {
		b.log.Info("slack: redelivered envelope ignored", "envelope", j.envelopeID, "key", j.dedupeKey)
		return
	}
	journaled := b.journalPut(ctx, j)
	start := time.Now()
	var (
		answer    message.Message
		delivered bool
	)
	notice := &queuedNotice{}
	ok := b.safely(j, "outcome", message.OutcomeError)(func() {
		// A status change waiting for the contact center's API budget is
		// not cut off by the deadline: it waits on the budget's own
		// limit, and is answered through the response_url when done.
		cctx, cancel := presence.WithBudgetExemptTimeout(ctx, b.cfg.CommandTimeout)
		defer cancel()
		switch j.kind {
		case clickJob:
			c := j.click
			c.Notify = b.notifier(j, notice)
			answer = b.cfg.Commands.(Clicker).Click(cctx, c)
		case homeJob:
			// Recorded by the worker, not the socket loop: a slow shared
			// store must not delay the acks behind this event.
			b.homes.Opened(cctx, j.req.UserID)
			delivered = b.publishHome(cctx, j.req.UserID)
		default:
			req := j.req
			req.Notify = b.notifier(j, notice)
			answer = b.cfg.Commands.Handle(cctx, req)
		}
	})
	if !ok {
		answer = message.Reply("⚠️ Something went wrong on my side and the command did not finish. It has been logged; please try again.")
	}
	if j.recovered {
		answer = lateNote(answer, j.received, time.Now())
	}
	if notice.answered() {
		answer.ReplaceOriginal = true // in place of the "queued" message
	}
	switch {
	case j.inHome:
		// The Home view is the only place to answer a click in it.
		b.homes.Opened(ctx, j.req.UserID)
		delivered = b.answerInHome(ctx, j, answer)
	case j.kind != homeJob:
		delivered = b.deliver(ctx, j, answer)
	}
	if journaled {
		b.journalDone(ctx, j)
	}
	refreshed := j.inHome && answer.Changed == j.req.UserID
	if answer.Changed != "" && !refreshed && b.homes.IsOpen(ctx, answer.Changed) {
		// Keep the Home tab of the person whose status changed true,
		// wherever they opened it: the set is shared by the replicas.
		b.safely(j)(func() {
			cctx, cancel := context.WithTimeout(ctx, b.cfg.CommandTimeout)
			defer cancel()
			b.publishHome(cctx, answer.Changed)
		})
	}
	// The answer's outcome, unless the bot failed it: a panic or an
	// undelivered answer is an error whatever the answer said, and was
	// logged as one (outcome=error) where it happened.
	outcome := answer.Outcome()
	if !ok || !delivered {
		outcome = message.OutcomeError
	}
	// commands/ logs what the command did; this is how its answer went.
	b.log.Debug("answered", "command", j.req.Command, "user", j.req.UserID, "channel", j.req.ChannelID,
		"delivered", delivered, "outcome", outcome, "took_ms", time.Since(j.received).Milliseconds(),
		"ran_ms", time.Since(start).Milliseconds())
	b.answered(j, outcome)
}

// noticeTimeout bounds the post of a "queued" notice: the change it is
// about waits meanwhile.
const noticeTimeout = 3 * time.Second

// queuedNotice is what a job told the person before its answer.
type queuedNotice struct {
	mu   sync.Mutex
	sent bool // a notice was posted: the answer replaces it
	done bool // the answer is on its way: no notice may follow it
}

// answered marks the answer as on its way, and reports whether it must
// replace a notice.
func (n *queuedNotice) answered() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.done = true
	return n.sent
}

// notifier is the job's commands.Request.Notify: one notice, through the
// response_url only (a chat.postEphemeral message could not be replaced
// by the answer), never after the answer. A click's notice replaces the
// message clicked, so its buttons cannot be pressed twice meanwhile.
func (b *Bot) notifier(j job, n *queuedNotice) func(context.Context, message.Message) {
	if j.responseURL == "" || j.inHome {
		return nil
	}
	return func(ctx context.Context, m message.Message) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.sent || n.done {
			return
		}
		m.ReplaceOriginal = j.kind == clickJob
		base := b.deliveries
		if base == nil {
			base = context.WithoutCancel(ctx)
		}
		dctx, cancel := context.WithTimeout(base, noticeTimeout)
		defer cancel()
		if err := b.web.Respond(dctx, j.responseURL, m); err != nil {
			b.log.Warn("could not post the queued notice; the answer follows when the change is done",
				"command", j.req.Command, "user", j.req.UserID, "envelope", j.envelopeID, "err", err)
			return
		}
		n.sent = true
	}
}

// answered tells the metrics hook how a command or click ended.
func (b *Bot) answered(j job, outcome string) {
	if b.cfg.Hooks.Answered != nil {
		b.cfg.Hooks.Answered(j.req.Command, outcome, time.Since(j.received))
	}
}

// hintAttr is the log attribute of a hint, or nothing (an empty Attr,
// which slog's handlers drop) when there is none: hint="" says nothing.
func hintAttr(h string) slog.Attr {
	if h == "" {
		return slog.Attr{}
	}
	return slog.String("hint", h)
}

// safely returns a runner of f that turns a panic into a logged error
// with its stack, with attrs added: one bad command must not take the bot
// down for everyone else. Only the command's own run adds its outcome; a
// panic refreshing a Home after the answer does not change it.
func (b *Bot) safely(j job, attrs ...any) func(f func()) bool {
	return func(f func()) (ok bool) {
		defer func() {
			if r := recover(); r != nil {
				ok = false
				b.log.Error("command panicked", append([]any{"command", j.req.Command, "user", j.req.UserID},
					append(attrs, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))...)...)
			}
		}()
		f()
		return true
	}
}

// publishHome renders and publishes a user's App Home.
func (b *Bot) publishHome(ctx context.Context, user string) bool {
	return b.publishHomeWith(ctx, user, nil) == nil
}

// publishHomeWith publishes a user's App Home led by notice blocks (the
// answer to a click in it), keeping within the view's block limit.
func (b *Bot) publishHomeWith(ctx context.Context, user string, notice []message.Block) error {
	homes, ok := b.cfg.Commands.(Homes)
	if !ok {
		return errors.New("the bot has no App Home")
	}
	blocks := homes.Home(ctx, user)
	if len(notice) > 0 {
		blocks = append(append(notice, message.NewDivider()), blocks...)
		if len(blocks) > message.MaxViewBlocks {
			blocks = append(blocks[:message.MaxViewBlocks-1], message.NewContext("…more in `/presence`."))
		}
	}
	if err := b.web.PublishHome(ctx, user, blocks); err != nil {
		b.log.Error("could not publish the home tab", "user", user, "err", err, hintAttr(Hint(err)))
		return err
	}
	return nil
}

// answerInHome answers a click in the App Home: the Home is published
// again, led by what the click did or why it was refused. Should that
// fail, the answer goes to the person as a DM: never silent.
func (b *Bot) answerInHome(ctx context.Context, j job, m message.Message) bool {
	ctx, cancel := b.deliveryContext(ctx)
	defer cancel()
	err := b.publishHomeWith(ctx, j.req.UserID, homeNotice(m))
	if err == nil {
		return true
	}
	if derr := b.web.DirectMessage(ctx, j.req.UserID, m); derr != nil {
		b.log.Error("could not deliver an answer", "command", j.req.Command, "user", j.req.UserID,
			"envelope", j.envelopeID, "outcome", message.OutcomeError, "err", errors.Join(err, derr), hintAttr(Hint(derr)))
		return false
	}
	return true
}

// homeNotice is the lead of an answer, to stand at the top of the Home:
// the rest of the answer (the status and its buttons) is what the Home
// shows anyway.
func homeNotice(m message.Message) []message.Block {
	for _, bl := range m.Blocks {
		if bl.Kind == message.Section && bl.Text != "" {
			return []message.Block{bl}
		}
	}
	if m.Text != "" {
		return []message.Block{message.NewSection(m.Text)}
	}
	return nil
}

// deliveryContext bounds one answer's delivery. A command cut short by
// shutdown still owes its person an answer (its change may have landed):
// a last, short try, within the shutdown's budget.
func (b *Bot) deliveryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := b.cfg.CommandTimeout
	if ctx.Err() != nil {
		timeout = lateDeliveryTimeout
	}
	base := b.deliveries
	if base == nil {
		base = context.WithoutCancel(ctx)
	}
	return context.WithTimeout(base, timeout)
}

// deliver sends an answer through the response_url, falling back to
// chat.postEphemeral when that fails.
func (b *Bot) deliver(ctx context.Context, j job, m message.Message) bool {
	ctx, cancel := b.deliveryContext(ctx)
	defer cancel()
	err := errors.New("no response_url")
	if j.responseURL != "" {
		if err = b.web.Respond(ctx, j.responseURL, m); err == nil {
			return true
		}
	}
	if j.req.ChannelID != "" {
		if perr := b.web.PostEphemeral(ctx, j.req.ChannelID, j.req.UserID, m); perr == nil {
			return true
		} else {
			err = errors.Join(err, perr)
		}
	}
	b.log.Error("could not deliver an answer", "command", j.req.Command, "user", j.req.UserID,
		"envelope", j.envelopeID, "outcome", message.OutcomeError, "err", err, hintAttr(Hint(err)))
	return false
}
