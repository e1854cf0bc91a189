package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/message"
)

// Journal keeps each accepted command and click where the other replicas
// can find it, from just before it runs until it is answered: Slack never
// redelivers an envelope that was acknowledged, so without it a replica
// killed between its ack and its answer would lose the command. Entries
// are leased: the replica running one renews the lease; once a lease runs
// out (its replica died) any replica may claim the entry, atomically, and
// finish it through the saved response_url. redisstate.Journal is one.
//
// The ack itself never waits on the journal (acks never wait on the
// shared store): an entry is written by the worker, just before the
// command runs. So a replica killed in the few milliseconds between an ack
// and the entry's write (longer only while every worker is busy and
// commands queue) still loses that command. App Home openings are not
// journaled: a lost Home render is harmless, redrawn at the next opening.
type Journal interface {
	// Put records an entry, owned by this replica, under a fresh lease.
	Put(ctx context.Context, id string, received time.Time, payload []byte) error
	// Renew extends the leases of entries this replica runs, and returns
	// those it no longer owns.
	Renew(ctx context.Context, ids []string) (lost []string, err error)
	// Remove forgets an answered entry.
	Remove(ctx context.Context, id string) error
	// Claim takes over at most max entries whose lease ran out, each with
	// a lease of this replica's, and returns their payloads by id. Entries
	// too old to answer are dropped by the journal.
	Claim(ctx context.Context, max int) (map[string][]byte, error)
	// Lease is how long an entry is its owner's without a renewal; owners
	// renew every third of it.
	Lease() time.Duration
}

// DefaultJournalSweep is how often a replica looks for the entries of a
// dead one. With redisstate's 10 s lease, a dead replica's commands are
// taken over within 15 s of its death and answered within the 30 s the
// runtime contract allows.
const DefaultJournalSweep = 5 * time.Second

// maxClaim bounds the entries claimed in one sweep: a claimed entry waits
// in the queue under this replica's lease, so a sweep takes no more than
// the workers can start soon.
const maxClaim = 64

// journalVersion marks the payload's shape, so a replica of another
// version can tell an entry it cannot read.
const journalVersion = 1

// journalEntry is what a command needs to run and be answered elsewhere.
// It holds the response_url, which is a secret: it is never logged.
type journalEntry struct {
	V           int       `json:"v"`
	Kind        string    `json:"kind"` // "slash" or "click"
	User        string    `json:"user"`
	Channel     string    `json:"channel,omitempty"`
	Command     string    `json:"command"`
	Text        string    `json:"text,omitempty"`
	ActionID    string    `json:"action_id,omitempty"`
	Value       string    `json:"value,omitempty"`
	InHome      bool      `json:"in_home,omitempty"`
	ResponseURL string    `json:"response_url,omitempty"`
	EnvelopeID  string    `json:"envelope_id"`
	DedupeKey   string    `json:"dedupe_key"`
	Received    time.Time `json:"received"`
}

// encodeJob is the journal payload of a command or click.
func encodeJob(j job) ([]byte, error) {
	e := journalEntry{
		V: journalVersion, User: j.req.UserID, Channel: j.req.ChannelID, Command: j.req.Command, Text: j.req.Text,
		InHome: j.inHome, ResponseURL: j.responseURL, EnvelopeID: j.envelopeID, DedupeKey: j.dedupeKey, Received: j.received,
	}
	switch j.kind {
	case slashJob:
		e.Kind = "slash"
	case clickJob:
		e.Kind = "click"
		e.ActionID, e.Value = j.click.ActionID, j.click.Value
	default:
		return nil, fmt.Errorf("journal: a job of kind %d is not journaled", j.kind)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("journal: encode: %w", err)
	}
	return data, nil
}

// decodeJob is the job a journal payload describes, marked recovered.
func decodeJob(data []byte) (job, error) {
	var e journalEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return job{}, fmt.Errorf("journal: decode: %w", err)
	}
	if e.V != journalVersion {
		return job{}, fmt.Errorf("journal: entry version %d, want %d", e.V, journalVersion)
	}
	j := job{
		req:         commands.Request{UserID: e.User, ChannelID: e.Channel, Command: e.Command, Text: e.Text},
		inHome:      e.InHome,
		responseURL: e.ResponseURL,
		envelopeID:  e.EnvelopeID,
		dedupeKey:   e.DedupeKey,
		received:    e.Received,
		recovered:   true,
	}
	switch e.Kind {
	case "slash":
		j.kind = slashJob
	case "click":
		j.kind = clickJob
		j.click = commands.Click{UserID: e.User, ChannelID: e.Channel, ActionID: e.ActionID, Value: e.Value}
	default:
		return job{}, fmt.Errorf("journal: entry of unknown kind %q", e.Kind)
	}
	if e.User == "" || e.DedupeKey == "" {
		return job{}, errors.New("journal: entry without a user or a key")
	}
	return j, nil
}

// lateNote tells the person that their command was finished by another
// replica, and how long after they sent it.
func lateNote(m message.Message, received, now time.Time) message.Message {
	secs := int(now.Sub(received).Round(time.Second) / time.Second)
	note := message.NewContext(fmt.Sprintf("⏱ Finished by another replica after a restart, %d s after you sent it.", secs))
	blocks := slices.Clone(m.Blocks)
	if len(blocks) == 0 && m.Text != "" {
		// Blocks replace the text in Slack's display: keep the text.
		blocks = append(blocks, message.NewSection(m.Text))
	}
	if len(blocks) < message.MaxBlocks {
		m.Blocks = append(blocks, note)
	}
	m.Drawing = nil // no longer the drawing others were given
	return m
}

// journaler runs the journal's side of a bot: it journals commands
// before they run and removes them once answered, renews the leases of
// those this replica runs, retries removals that failed, and sweeps for
// the entries of dead replicas.
type journaler struct {
	j          Journal
	log        *slog.Logger
	sweepEvery time.Duration
	renewEvery time.Duration

	mu sync.Mutex
	// running are this replica's entries not yet answered (claimed ones
	// from their claim, while they wait in the queue too); unremoved are
	// answered ones whose removal failed (Redis down), kept leased and
	// retried so that no one finishes them a second time.
	running   map[string]bool
	unremoved map[string]bool
	// putFailing and renewFailing are set while those calls fail, so an
	// outage logs once, not once per command or renewal.
	putFailing   atomic.Bool
	renewFailing atomic.Bool
}

// newJournaler is nil without a journal.
func newJournaler(j Journal, sweepEvery time.Duration, log *slog.Logger) *journaler {
	if j == nil {
		return nil
	}
	if sweepEvery <= 0 {
		sweepEvery = DefaultJournalSweep
	}
	renewEvery := j.Lease() / 3
	if renewEvery <= 0 {
		renewEvery = time.Millisecond
	}
	return &journaler{j: j, log: log, sweepEvery: sweepEvery, renewEvery: renewEvery,
		running: map[string]bool{}, unremoved: map[string]bool{}}
}

// journalPut journals a command or click just before it runs, and reports
// whether it is journaled (to be removed once answered). A command is
// never held up by the journal: when the write fails (Redis down, within
// REDIS_TIMEOUT) it runs unjournaled.
func (b *Bot) journalPut(ctx context.Context, j job) bool {
	jr := b.journal
	if jr == nil || j.kind == homeJob {
		return false // a lost Home render is harmless: the next opening redraws it
	}
	if j.recovered {
		return true // journaled already, and this replica's since the claim
	}
	payload, err := encodeJob(j)
	if err == nil {
		err = jr.j.Put(ctx, j.dedupeKey, j.received, payload)
	}
	if err != nil {
		if !jr.putFailing.Swap(true) {
			b.log.Warn("journal: could not journal a command; it runs, but would be lost should this replica die before answering it (logged once until journaling works again)",
				"command", j.req.Command, "envelope", j.envelopeID, "err", err)
		}
		return false
	}
	if jr.putFailing.Swap(false) {
		b.log.Info("journal: journaling commands again")
	}
	jr.mu.Lock()
	jr.running[j.dedupeKey] = true
	jr.mu.Unlock()
	return true
}

// journalDone removes an answered command's entry. A removal that fails
// is retried by the renewals; the entry stays leased meanwhile.
func (b *Bot) journalDone(ctx context.Context, j job) {
	jr := b.journal
	jr.mu.Lock()
	delete(jr.running, j.dedupeKey)
	jr.mu.Unlock()
	if j.recovered {
		b.log.Info("journal: finished a command another replica acknowledged and did not answer",
			"command", j.req.Command, "user", j.req.UserID, "envelope", j.envelopeID,
			"late_by", time.Since(j.received).Round(time.Millisecond))
		if b.cfg.Hooks.Recovered != nil {
			b.cfg.Hooks.Recovered()
		}
	}
	// Answered even when the command was cut short: the removal gets its
	// own bounded try (the journal's timeout).
	if err := jr.j.Remove(context.WithoutCancel(ctx), j.dedupeKey); err != nil {
		b.log.Warn("journal: could not remove an answered command; retrying", "envelope", j.envelopeID, "err", err)
		jr.mu.Lock()
		jr.unremoved[j.dedupeKey] = true
		jr.mu.Unlock()
	}
}

// journalRelease lets go of a claimed command that shutdown keeps from
// running: its lease lapses and another replica finishes it. It reports
// whether j was such a command.
func (b *Bot) journalRelease(j job) bool {
	if b.journal == nil || !j.recovered {
		return false
	}
	b.journal.mu.Lock()
	delete(b.journal.running, j.dedupeKey)
	b.journal.mu.Unlock()
	b.log.Info("shutdown: a command claimed from the journal is left to another replica", "envelope", j.envelopeID)
	return true
}

// startJournal starts the renewals and the sweeps, each stopped (and
// waited for) by the function returned: the sweeps before the queue
// closes, the renewals once the commands in flight are done.
func (b *Bot) startJournal(ctx context.Context) (stopSweeps, stopRenewals func()) {
	if b.journal == nil {
		return func() {}, func() {}
	}
	jr := b.journal
	stopSweeps = journalLoop(ctx, jr.sweepEvery, true, b.sweepJournal)
	stopRenew := journalLoop(ctx, jr.renewEvery, false, jr.renew)
	return stopSweeps, func() {
		stopRenew()
		jr.mu.Lock()
		n := len(jr.unremoved)
		jr.mu.Unlock()
		if n > 0 {
			b.log.Warn("journal: stopping with answered commands still journaled; another replica may answer them again", "count", n)
		}
	}
}

// journalLoop runs f every period (and at once when now is set) until the
// returned function is called; that function waits for f to return.
func journalLoop(ctx context.Context, period time.Duration, now bool, f func(context.Context)) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if now {
			f(ctx)
		}
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// renew extends the leases of this replica's entries in one call, and
// retries the removals that failed.
func (jr *journaler) renew(ctx context.Context) {
	jr.mu.Lock()
	ids := make([]string, 0, len(jr.running)+len(jr.unremoved))
	for id := range jr.running {
		ids = append(ids, id)
	}
	for id := range jr.unremoved {
		ids = append(ids, id)
	}
	jr.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	lost, err := jr.j.Renew(ctx, ids)
	if err != nil {
		if ctx.Err() == nil && !jr.renewFailing.Swap(true) {
			jr.log.Warn("journal: could not renew the leases of the commands running here; retrying", "count", len(ids), "err", err)
		}
		return
	}
	jr.renewFailing.Store(false)
	for _, id := range lost {
		jr.mu.Lock()
		// An entry answered meanwhile is gone from running (before its
		// removal), so only one still running here was taken from us.
		running := jr.running[id]
		delete(jr.running, id)
		delete(jr.unremoved, id)
		jr.mu.Unlock()
		if running {
			jr.log.Warn("journal: another replica took over a command still running here (this one stalled past its lease); it may be answered twice",
				"entry", id)
		}
	}
	jr.mu.Lock()
	retry := make([]string, 0, len(jr.unremoved))
	for id := range jr.unremoved {
		retry = append(retry, id)
	}
	jr.mu.Unlock()
	for _, id := range retry {
		if err := jr.j.Remove(ctx, id); err == nil {
			jr.mu.Lock()
			delete(jr.unremoved, id)
			jr.mu.Unlock()
		}
	}
}

// sweepJournal claims the entries of dead replicas, as many as the queue
// has room for, and queues them to be finished here.
func (b *Bot) sweepJournal(ctx context.Context) {
	jr := b.journal
	room := min(cap(b.jobs)-len(b.jobs), maxClaim)
	if room <= 0 {
		return // busy: the entries wait for a replica with room
	}
	claimed, err := jr.j.Claim(ctx, room)
	if err != nil {
		// Redis down: the client logs the outage; the next sweep tries again.
		b.log.Debug("journal: sweep failed", "err", err)
		return
	}
	for id, payload := range claimed {
		j, err := decodeJob(payload)
		if err != nil {
			b.log.Error("journal: dropped an entry this replica cannot read", "entry", id, "err", err)
			_ = jr.j.Remove(ctx, id)
			continue
		}
		j.dedupeKey = id // the entry's name, whatever its payload says
		jr.mu.Lock()
		jr.running[id] = true // renewed from now on, while it waits too
		jr.mu.Unlock()
		select {
		case b.jobs <- j:
			b.log.Info("journal: a replica died before answering a command; finishing it here",
				"command", j.req.Command, "user", j.req.UserID, "envelope", j.envelopeID,
				"age", time.Since(j.received).Round(time.Millisecond))
		default:
			// The queue filled meanwhile: the lease lapses and the entry
			// is claimed again, here or elsewhere.
			jr.mu.Lock()
			delete(jr.running, id)
			jr.mu.Unlock()
		}
	}
}
