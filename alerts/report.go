package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// reportStateKey is where the last report's claim is kept.
const reportStateKey = "report"

// Layout of the report's table and listing.
const (
	reportPageSize  = 10 // rows per page of the table
	maxReportName   = 40 // runes of a team's name in the table
	maxRuleSections = 3  // sections listing the rules
	// confirmReportTimeout bounds the save that follows the post, made
	// even when the run's context has ended (see Run).
	confirmReportTimeout = 2 * time.Second
)

// Delivery: the report is posted once per tick, and a tick whose post
// failed, or whose replica died, is posted late rather than never.
const (
	// ReportCatchUpEvery is the period of CatchUp's job.
	ReportCatchUpEvery = time.Minute
	// reportClaimLease: a claim this old and unconfirmed was a replica's
	// that died. Longer than any run: the job's deadline
	// (schedule.DefaultJobTimeout) and the confirmation.
	reportClaimLease = 10 * time.Minute
	// reportCatchUpGrace: a due tick that no run claimed is caught up only
	// this long after it, so that the scheduled run claims it first.
	reportCatchUpGrace = 2 * time.Minute
	// reportCatchUpWindow: older ticks are not caught up any more (the
	// next one supersedes a tick anyway).
	reportCatchUpWindow = 24 * time.Hour
	// A run tries a post this many times, waiting from reportRetryFirst,
	// doubled each time, at most reportRetryMax: about a minute in all.
	reportPostAttempts = 6
	reportRetryFirst   = 2 * time.Second
	reportRetryMax     = 30 * time.Second
	// After each failed run the catch-up waits from reportBackoffFirst,
	// doubled, at most reportBackoffMax.
	reportBackoffFirst = time.Minute
	reportBackoffMax   = 30 * time.Minute
	// ReportEventType is the report's message metadata event type; its
	// payload's "tick" names the tick (RFC 3339, UTC).
	ReportEventType = "presence_daily_report"
)

// ReportLedger posts the report with message metadata naming its tick, and
// finds that metadata again in the channel's history: a run that takes a
// tick over after a replica died mid-post looks before posting again. The
// bot's WebAPI implements it (chat.postMessage with metadata,
// conversations.history with include_all_metadata).
type ReportLedger interface {
	PostWithMetadata(ctx context.Context, channel string, m message.Message, eventType string, payload map[string]any) (ts string, err error)
	// FindMetadata returns the payloads of eventType on the channel's
	// messages since oldest, by message timestamp.
	FindMetadata(ctx context.Context, channel, eventType string, oldest time.Time) (map[string]map[string]any, error)
}

// ReportSettings configure the daily report (main converts config.Report
// and the alert rules).
type ReportSettings struct {
	// Channel is where it is posted; "" turns the report off.
	Channel string
	// Location is the zone of the report's day and times; nil is UTC.
	Location *time.Location
	// History gives the day's counts and alerts; nil: only the contact
	// center's figures.
	History History
	// Rules are the availability rules: the minutes below each one's
	// warning threshold are counted (Name, Teams, Warning and Active are
	// read).
	Rules []AvailabilityRule
	// Resolution is the history's finest step: a sample stands for at
	// most this long. 0 is a minute.
	Resolution time.Duration
	// Cron and WithSeconds are REPORT_SCHEDULE, read in Location: CatchUp
	// finds the due tick from them. "": CatchUp only retries the ticks a
	// run claimed.
	Cron        string
	WithSeconds bool
	// Ledger, when set, posts the report with its metadata and is looked
	// in before a tick is posted again. nil: plain posts through the
	// Poster, and a report taken over from a dead replica says it may
	// repeat one.
	Ledger ReportLedger
	// Wait waits between the attempts of a post; nil waits on a timer.
	Wait func(ctx context.Context, d time.Duration) error
}

// ReportState is the claim of the last report: the tick it is for, and,
// until its post is confirmed, the run that claimed it, or that its post
// failed.
type ReportState struct {
	Tick time.Time `json:"tick"`
	// Claim names the run that claimed Tick and has not confirmed its
	// post; "" once confirmed or failed.
	Claim string `json:"claim,omitempty"`
	// ClaimedAt is when Claim was made: past reportClaimLease, its run
	// is taken for dead. Zero (a claim saved before there was a lease)
	// has lapsed.
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	// TS is the posted message's timestamp, once confirmed.
	TS string `json:"ts,omitempty"`
	// Pending: Tick's post failed; CatchUp tries again from RetryAt.
	Pending  bool      `json:"pending,omitempty"`
	Failures int       `json:"failures,omitempty"`
	RetryAt  time.Time `json:"retry_at,omitzero"`
}

// Reporter posts the daily report.
type Reporter struct {
	src   RosterSource
	post  Poster
	store state.Store
	set   ReportSettings
	sched cron.Schedule // nil without Cron
	log   *slog.Logger

	mu    sync.Mutex
	since time.Time // CatchUp's first run: no fresh tick before it is caught up
}

// NewReporter returns a reporter; log may be nil.
func NewReporter(src RosterSource, post Poster, store state.Store, s ReportSettings, log *slog.Logger) *Reporter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.Resolution <= 0 {
		s.Resolution = time.Minute
	}
	if s.Wait == nil {
		s.Wait = sleepCtx
	}
	r := &Reporter{src: src, post: post, store: store, set: s, log: log.With("component", "report")}
	if s.Cron != "" {
		fields := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow
		if s.WithSeconds {
			fields |= cron.Second
		}
		sched, err := cron.NewParser(fields).Parse(s.Cron)
		if err != nil {
			// config checked it: not expected.
			r.log.Error("report schedule unreadable: ticks that never ran are not caught up", "err", err)
		}
		r.sched = sched
	}
	return r
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run posts the report of tick's day (from midnight in Location to tick)
// once for the tick, whatever runs it.
//
// The scheduler runs a tick on one replica; a tick run again (another
// replica, a retry) finds the claim this run saved before posting, and
// posts nothing while the claim holds. The claim is a compare-and-set in
// the shared store, so two runs of one tick never both post. A post that
// fails is tried again within the run while Slack may take it later
// (5xx, 429, no answer), then left pending for CatchUp. A claim left
// unconfirmed past its lease (the replica died) is taken over by
// CatchUp, which first looks for the post in the channel (Ledger).
func (r *Reporter) Run(ctx context.Context, tick time.Time) error {
	if r.set.Channel == "" {
		return nil
	}
	return r.deliver(ctx, tick, tick, false)
}

// CatchUp posts, late, a due report that is not confirmed: one whose post
// failed (from its RetryAt), one whose claim lapsed (its replica died),
// or one no run claimed (no replica ran its tick) two minutes after its
// tick. It runs every ReportCatchUpEvery on its own job; now is its tick.
// Only the latest due tick, within a day, is caught up.
func (r *Reporter) CatchUp(ctx context.Context, now time.Time) error {
	if r.set.Channel == "" {
		return nil
	}
	r.mu.Lock()
	if r.since.IsZero() {
		r.since = now
	}
	since := r.since
	r.mu.Unlock()

	var st ReportState
	found, err := r.store.Load(ctx, reportStateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		found = false // the next run replaces it
	case err != nil:
		return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report catch-up: load state: %w", err))
	}
	due, ok := r.dueTick(st, found, now, since)
	if !ok {
		return nil
	}
	mode, ok := claimable(st, found, due, now)
	if !ok {
		return nil
	}
	if mode == modeRetry && now.Before(st.RetryAt) {
		r.log.Debug("report pending; trying again later", "tick", due, "retry_at", st.RetryAt)
		return nil
	}
	return r.deliver(ctx, due, now, true)
}

// dueTick is the tick CatchUp looks at: the latest of the stored one
// (within the window) and the schedule's ticks from since that are past
// their grace.
func (r *Reporter) dueTick(st ReportState, found bool, now, since time.Time) (time.Time, bool) {
	var due time.Time
	from := now.Add(-reportCatchUpWindow)
	if found && !st.Tick.IsZero() && st.Tick.After(from) {
		due, from = st.Tick, st.Tick
	}
	if r.sched != nil {
		limit := now.Add(-reportCatchUpGrace)
		for t := r.sched.Next(from.In(r.set.Location)); !t.IsZero() && !t.After(limit); t = r.sched.Next(t) {
			if !t.Before(since) {
				due = t
			}
		}
	}
	return due, !due.IsZero()
}

// deliveryMode is why a run may post a tick.
type deliveryMode int

const (
	modeFirst    deliveryMode = iota // nobody claimed it
	modeRetry                        // its post failed
	modeTakeover                     // its claim lapsed: its replica died
)

// claimable says whether a run at now may claim tick over st, and why.
func claimable(st ReportState, found bool, tick, now time.Time) (deliveryMode, bool) {
	switch {
	case !found || st.Tick.Before(tick):
		return modeFirst, true
	case !st.Tick.Equal(tick):
		return 0, false // a later tick is claimed
	case st.Pending:
		return modeRetry, true
	case st.Claim != "" && now.Sub(st.ClaimedAt) >= reportClaimLease:
		return modeTakeover, true
	}
	return 0, false
}

// deliver claims tick, posts its report and confirms it; late says it is
// CatchUp's.
func (r *Reporter) deliver(ctx context.Context, tick, now time.Time, late bool) error {
	// Read first, so a tick already reported costs no history or roster.
	var st ReportState
	found, err := r.store.Load(ctx, reportStateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		// Better a report twice than never again.
		r.log.Error("report state is corrupt; starting afresh", "err", err)
		if err := r.store.Save(ctx, reportStateKey, ReportState{}); err != nil {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: replace corrupt state: %w", err))
		}
		found = false
	case err != nil:
		return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: load state: %w", err))
	}
	if _, ok := claimable(st, found, tick, now); !ok {
		r.already(st, tick)
		return nil
	}

	claim := newPollID()
	var prev, cur ReportState
	var mode deliveryMode
	claimed := false
	err = r.store.Update(ctx, reportStateKey, &cur, func(found bool) (bool, error) {
		m, ok := claimable(cur, found, tick, now)
		if !ok {
			claimed = false
			return false, nil
		}
		prev, mode, claimed = cur, m, true
		next := ReportState{Tick: tick, Claim: claim, ClaimedAt: now}
		if found && cur.Tick.Equal(tick) {
			next.Failures = cur.Failures
		}
		cur = next
		return true, nil
	})
	if err != nil {
		return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("report: claim the tick: %w", err))
	}
	if !claimed {
		r.already(cur, tick)
		return nil
	}
	if prev.Tick.Before(tick) && (prev.Pending || prev.Claim != "") {
		r.log.Warn("an earlier daily report was never confirmed posted; this tick supersedes it", "tick", tick, "earlier", prev.Tick)
	}

	// The same tick again: look for its post first.
	maybeRepeat := false
	if mode != modeFirst {
		ts, seen, err := r.findPosted(ctx, tick)
		switch {
		case seen:
			r.log.Info("daily report found in the channel: it was posted; not posting it again", "tick", tick, "ts", ts)
			return r.confirm(ctx, tick, claim, ts, nil, now)
		case err != nil:
			r.log.Warn("could not look for the daily report in the channel", "tick", tick, "err", err)
			maybeRepeat = mode == modeTakeover
		case r.set.Ledger == nil:
			maybeRepeat = mode == modeTakeover
		}
	}
	if mode == modeTakeover {
		r.log.Warn("the run posting this report stopped before confirming it (its replica died?); posting it", "tick", tick,
			"claimed_at", prev.ClaimedAt, "may_repeat", maybeRepeat)
	}
	note := ""
	if late {
		note = r.lateNote(mode, tick, now, prev.ClaimedAt, maybeRepeat)
	}
	m := r.build(ctx, tick, note)
	ts, postErr := r.postRetrying(ctx, tick, m)
	return r.confirm(ctx, tick, claim, ts, postErr, now)
}

// lateNote says when and why a report goes out late: "posted at 18:07
// after a delivery failure".
func (r *Reporter) lateNote(mode deliveryMode, tick, now, claimedAt time.Time, maybeRepeat bool) string {
	clock := func(t time.Time) string { return t.In(r.set.Location).Format("15:04") }
	at := "posted at " + clock(now)
	switch mode {
	case modeRetry:
		return at + " after a delivery failure"
	case modeTakeover:
		at += " after the replica posting it stopped"
		if maybeRepeat {
			if claimedAt.IsZero() {
				claimedAt = tick
			}
			at += "; it may repeat one sent at " + clock(claimedAt)
		}
		return at
	}
	return at + ", late: its run at " + clock(tick) + " did not take place"
}

// confirm saves the outcome of the post: confirmed, or pending with its
// next try. It is saved even when ctx has ended (shutdown, deadline),
// briefly: a claim left behind would hold the tick until its lease ends.
func (r *Reporter) confirm(ctx context.Context, tick time.Time, claim, ts string, postErr error, now time.Time) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmReportTimeout)
	defer cancel()
	var cur ReportState
	err := r.store.Update(sctx, reportStateKey, &cur, func(bool) (bool, error) {
		if cur.Claim != claim || !cur.Tick.Equal(tick) {
			return false, nil // not ours any more: leave it
		}
		if postErr != nil {
			cur.Claim, cur.ClaimedAt, cur.Pending = "", time.Time{}, true
			cur.Failures++
			cur.RetryAt = now.Add(backoff(cur.Failures))
		} else {
			cur = ReportState{Tick: tick, TS: ts}
		}
		return true, nil
	})
	if postErr != nil {
		return errors.Join(fmt.Errorf("report: post (the catch-up tries again from %s): %w", cur.RetryAt.In(r.set.Location).Format("15:04"), postErr),
			wrapErr("report: give back the claim", err))
	}
	if err != nil {
		// Posted; the claim stays until its lease ends, and the post is
		// found then (or, without a Ledger, posted again, said so).
		return fmt.Errorf("report: confirm the post: %w", err)
	}
	r.log.Info("daily report posted", "tick", tick, "channel", r.set.Channel)
	return nil
}

// backoff is how long the catch-up waits after the n-th failed run.
func backoff(n int) time.Duration {
	d := reportBackoffFirst
	for i := 1; i < n && d < reportBackoffMax; i++ {
		d *= 2
	}
	return min(d, reportBackoffMax)
}

// postRetrying posts m, trying again while Slack may take it later and
// the run's deadline leaves room; after a post with no answer (it may have
// gone through) it looks for it first.
func (r *Reporter) postRetrying(ctx context.Context, tick time.Time, m message.Message) (string, error) {
	wait := reportRetryFirst
	for attempt := 1; ; attempt++ {
		ts, err := r.send(ctx, tick, m)
		if err == nil {
			return ts, nil
		}
		if attempt == reportPostAttempts || !retryablePost(err) {
			return "", err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+confirmReportTimeout {
			return "", err
		}
		r.log.Warn("daily report not posted; trying again", "tick", tick, "attempt", attempt, "retry_in", wait.String(), "err", err)
		if r.set.Wait(ctx, wait) != nil {
			return "", err
		}
		wait = min(2*wait, reportRetryMax)
		if unanswered(err) {
			if ts, seen, _ := r.findPosted(ctx, tick); seen {
				return ts, nil
			}
		}
	}
}

// send posts m once, with its metadata when there is a Ledger.
func (r *Reporter) send(ctx context.Context, tick time.Time, m message.Message) (string, error) {
	if l := r.set.Ledger; l != nil {
		return l.PostWithMetadata(ctx, r.set.Channel, m, ReportEventType, map[string]any{"tick": tickKey(tick)})
	}
	return r.post.Post(ctx, r.set.Channel, m)
}

// tickKey names a tick in the report's metadata.
func tickKey(tick time.Time) string { return tick.UTC().Format(time.RFC3339) }

// findPosted looks for tick's report in the channel; false without a
// Ledger.
func (r *Reporter) findPosted(ctx context.Context, tick time.Time) (ts string, seen bool, err error) {
	if r.set.Ledger == nil {
		return "", false, nil
	}
	found, err := r.set.Ledger.FindMetadata(ctx, r.set.Channel, ReportEventType, tick)
	if err != nil {
		return "", false, fmt.Errorf("report: look in the channel: %w", err)
	}
	key := tickKey(tick)
	for ts, p := range found {
		if p["tick"] == key {
			return ts, true, nil
		}
	}
	return "", false, nil
}

// retryablePost reports whether a failed post may succeed if made again
// soon: what says so itself (slack-go's StatusCodeError for 5xx and 429,
// RateLimitedError), and a request with no answer. A refusal
// (channel_not_found, not_in_channel, invalid_auth…) is not, nor is the
// end of the run.
func retryablePost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return unanswered(err)
}

// unanswered reports a post that got no answer: it may have been made.
func unanswered(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// already logs why a run posts nothing: its tick is reported, or claimed.
func (r *Reporter) already(st ReportState, tick time.Time) {
	if st.Claim != "" && st.Tick.Equal(tick) {
		r.log.Warn("another run claimed this report and has not confirmed it yet; not posting it meanwhile",
			"tick", tick, "claim_lapses_at", st.ClaimedAt.Add(reportClaimLease))
		return
	}
	r.log.Debug("report already posted for this tick", "tick", tick, "reported", st.Tick)
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// build reads the day and renders the report. What cannot be read is
// left out and said: the report goes out with the rest.
func (r *Reporter) build(ctx context.Context, tick time.Time, late string) message.Message {
	loc := r.set.Location
	y, mo, d := tick.In(loc).Date()
	in := reportInput{
		from: time.Date(y, mo, d, 0, 0, 0, 0, loc), to: tick, loc: loc, late: late,
		rules: r.set.Rules, resolution: r.set.Resolution, names: map[string]string{},
	}
	if h := r.set.History; h == nil {
		in.historyNote = "history is off"
	} else if err := in.readHistory(ctx, h); err != nil {
		r.log.Warn("history unreadable; the report goes without it", "err", err)
		in.points, in.events = nil, nil
		in.historyNote = "it could not be read"
	}
	snap, err := r.src.Get(ctx)
	if err != nil {
		r.log.Warn("roster unreadable; the report goes without the call figures", "err", err)
	} else {
		in.snap = snap
		if snap.Stale(tick) {
			in.stale = message.StaleNote(snap.Age(tick))
		}
	}
	return in.message()
}

// reportInput is what a report is made of.
type reportInput struct {
	from, to    time.Time
	loc         *time.Location
	rules       []AvailabilityRule
	resolution  time.Duration
	points      map[string][]history.Point // per team ID, "" the floor
	events      []history.AlertEvent
	names       map[string]string // team display names from the history
	historyNote string            // why there is no history, when there is none
	snap        *presence.Snapshot
	stale       string
	late        string // "posted at 18:07 after a delivery failure"; "" on time
}

func (in *reportInput) readHistory(ctx context.Context, h History) error {
	var err error
	if in.points, err = h.Range(ctx, nil, in.from, in.to, in.resolution); err != nil {
		return fmt.Errorf("read counts: %w", err)
	}
	if in.events, err = h.Alerts(ctx, in.from, in.to); err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	teams, err := h.Teams(ctx, in.from, in.to)
	if err != nil {
		return fmt.Errorf("read team names: %w", err)
	}
	for _, t := range teams {
		in.names[t.ID] = t.Name
	}
	return nil
}

// dayFigures are one team's (or the floor's) figures for the day.
type dayFigures struct {
	id, name string
	// sampled: the history has the team today; anyIn: at a sample with
	// anyone of it logged in, which peak and low are taken from.
	sampled, anyIn bool
	seen           int // the most logged in at once
	peak, low      int
	peakAt, lowAt  time.Time
	// below is the minutes below the team's own rule's warning (ownRule).
	below   time.Duration
	ownRule bool
	fired   int
	acked   int
	// The contact center's stats (withStats: any agent had them).
	withStats     bool
	calls         int
	handleSeconds int // Σ avg_handle_time × calls
	talkSeconds   int
}

// handle is the average handle time over the calls, in seconds.
func (f dayFigures) handle() float64 {
	if f.calls == 0 {
		return 0
	}
	return float64(f.handleSeconds) / float64(f.calls)
}

// ruleFigures are one availability rule's figures for the day.
type ruleFigures struct {
	rule         AvailabilityRule
	scope        string // "Sales + Support", "all agents"; escaped
	below        time.Duration
	fired, acked int
}

// span is how long the sample at i stands for: until the next one, or
// the report's end, at most the resolution (a gap in the history, such
// as the bot stopped, counts for nothing).
func span(pts []history.Point, i int, to time.Time, res time.Duration) time.Duration {
	end := to
	if i+1 < len(pts) {
		end = pts[i+1].At
	}
	return max(0, min(end.Sub(pts[i].At), res))
}

// tallyDay reads a series of samples (sorted by time) into f.
func tallyDay(f *dayFigures, pts []history.Point) {
	for _, p := range pts {
		f.sampled = true
		c := p.Counts
		f.seen = max(f.seen, c.LoggedIn())
		if c.LoggedIn() == 0 {
			continue // nobody to be available: no peak, no low
		}
		if !f.anyIn || c.Available > f.peak {
			f.peak, f.peakAt = c.Available, p.At
		}
		if !f.anyIn || c.Available < f.low {
			f.low, f.lowAt = c.Available, p.At
		}
		f.anyIn = true
	}
}

// belowFor is how long the series was below warning while anyone was
// logged in and active says the rule could fire (nil: always).
func belowFor(pts []history.Point, warning int, active func(time.Time) bool, to time.Time, res time.Duration) time.Duration {
	var d time.Duration
	for i, p := range pts {
		if p.Counts.LoggedIn() > 0 && p.Counts.Available < warning && (active == nil || active(p.At)) {
			d += span(pts, i, to, res)
		}
	}
	return d
}

// sumSeries adds up teams' series sample by sample (the teams of one
// sample share its time).
func sumSeries(points map[string][]history.Point, teams []string) []history.Point {
	byAt := map[time.Time]history.Counts{}
	for _, id := range teams {
		for _, p := range points[id] {
			c := byAt[p.At]
			c.Available += p.Counts.Available
			c.OnCall += p.Counts.OnCall
			c.AfterCallWork += p.Counts.AfterCallWork
			c.Busy += p.Counts.Busy
			c.Offline += p.Counts.Offline
			byAt[p.At] = c
		}
	}
	out := make([]history.Point, 0, len(byAt))
	for at, c := range byAt {
		out = append(out, history.Point{At: at, Counts: c})
	}
	slices.SortFunc(out, func(a, b history.Point) int { return a.At.Compare(b.At) })
	return out
}

// figures computes the day per team (lowest availability first), for the
// floor, and per rule. Teams are those of the history and of the roster.
func (in *reportInput) figures() (floor dayFigures, teams []*dayFigures, rules []ruleFigures) {
	byID := map[string]*dayFigures{}
	team := func(id string) *dayFigures {
		f := byID[id]
		if f == nil {
			f = &dayFigures{id: id, name: cmp.Or(in.names[id], id)}
			byID[id] = f
		}
		return f
	}
	var teamIDs []string
	for id, pts := range in.points {
		slices.SortFunc(pts, func(a, b history.Point) int { return a.At.Compare(b.At) })
		if id != "" {
			teamIDs = append(teamIDs, id)
			tallyDay(team(id), pts)
		}
	}
	floorPts, ok := in.points[""]
	if !ok {
		floorPts = sumSeries(in.points, teamIDs)
	}
	floor = dayFigures{name: "All teams"}
	tallyDay(&floor, floorPts)

	if in.snap != nil {
		for ag := range in.snap.All() {
			var f *dayFigures
			if id := ag.TeamID(); id != "" {
				f = team(id)
				if n := ag.TeamName(); n != "" {
					f.name = n // the roster's name is the current one
				}
			}
			for _, g := range []*dayFigures{f, &floor} {
				if g == nil {
					continue
				}
				g.withStats = true
				if s := ag.Stats; s != nil {
					g.calls += s.CallsHandledToday
					g.handleSeconds += s.AvgHandleTime * s.CallsHandledToday
					g.talkSeconds += s.TotalTalkTime
				}
			}
		}
	}

	for _, r := range in.rules {
		rf := ruleFigures{rule: r, scope: "all agents"}
		var pts []history.Point
		switch len(r.Teams) {
		case 0:
			pts = floorPts
		case 1:
			pts = in.points[r.Teams[0]]
		default:
			pts = sumSeries(in.points, r.Teams)
		}
		if len(r.Teams) > 0 {
			names := make([]string, len(r.Teams))
			for i, id := range r.Teams {
				names[i] = clean(cmp.Or(in.names[id], id))
				if f := byID[id]; f != nil {
					names[i] = clean(f.name)
				}
			}
			rf.scope = strings.Join(names, " + ")
		}
		rf.below = belowFor(pts, r.Warning, r.Active, in.to, in.resolution)
		if len(r.Teams) == 1 {
			// The team's own rule: the first naming it alone. A team
			// neither recorded nor in the roster has no row.
			if f := byID[r.Teams[0]]; f != nil && !f.ownRule {
				f.ownRule, f.below = true, rf.below
			}
		}
		rules = append(rules, rf)
	}
	for _, e := range in.events {
		for i := range rules {
			if rules[i].rule.Name == e.Rule {
				countEvent(&rules[i].fired, &rules[i].acked, e.Kind)
			}
		}
		for _, id := range e.Teams {
			if f := byID[id]; f != nil {
				countEvent(&f.fired, &f.acked, e.Kind)
			}
		}
	}

	for _, f := range byID {
		teams = append(teams, f)
	}
	// Lowest availability first (teams without a sample with anyone in
	// last), then by name.
	slices.SortFunc(teams, func(a, b *dayFigures) int {
		if a.anyIn != b.anyIn {
			if a.anyIn {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.low, b.low), cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.id, b.id))
	})
	return floor, teams, rules
}

func countEvent(fired, acked *int, kind string) {
	switch kind {
	case "fired":
		*fired++
	case "acked":
		*acked++
	}
}

// message renders the report: a header; the floor's figures; the day's
// chart and its figures; the table of teams (its fallback the same as a
// listing); each rule's minutes below and alerts; what the figures mean.
// It fits Slack's limits for any floor, rich or classic.
func (in *reportInput) message() message.Message {
	floor, teams, rules := in.figures()
	day := in.to.In(in.loc).Format("Mon 2 Jan")
	hasHist := floor.sampled || slices.ContainsFunc(teams, func(f *dayFigures) bool { return f.sampled })
	hasStats := in.snap != nil

	blocks := []message.Block{message.NewHeader("Daily report · " + day)}
	if in.late != "" {
		blocks = append(blocks, message.NewContext("⏰ "+strings.ToUpper(in.late[:1])+in.late[1:]+"."))
	}
	blocks = append(blocks, message.NewSection(in.floorText(floor, hasHist, hasStats)))
	var notes []string
	if !hasHist {
		why := cmp.Or(in.historyNote, "none recorded yet")
		notes = append(notes, "No availability history for today ("+why+"): agents seen, peaks, lows and minutes below are left out.")
	}
	if !hasStats {
		notes = append(notes, "Call figures unavailable: the contact center did not answer.")
	}
	if hasHist {
		ranked := make([]string, len(teams))
		for i, f := range teams {
			ranked[i] = f.id
		}
		names := make(map[string]string, len(teams))
		for _, f := range teams {
			names[f.id] = f.name
		}
		step := chartStep(in.to.Sub(in.from), in.resolution)
		if tr := buildTrend(in.points, names, "Available agents, "+day, step, in.loc, ranked,
			fmt.Sprintf("the %d with the lowest availability today", message.MaxChartSeries)); tr != nil {
			blocks = append(blocks, tr.blocks()...)
		}
	}
	// The rules' and the notes' blocks come after the table: counted now,
	// so the table's fallback leaves them room.
	tail := packLines(in.ruleLines(rules), maxRuleSections, "rule")
	if hasHist {
		notes = append(notes, in.definitions())
	}
	if in.stale != "" {
		notes = append(notes, in.stale)
	}
	if len(teams) > 0 && (hasHist || hasStats) {
		table, fallbackRoom := in.table(teams, day, hasHist, hasStats)
		if left := len(teams) - len(table.Rows); left > 0 {
			notes = append(notes, fmt.Sprintf("The table shows the %d teams with the lowest availability of %s; %s left out.",
				len(table.Rows), message.Thousands(len(teams)), message.Plural(left, "team")))
		}
		room := message.MaxBlocks - len(blocks) - len(tail) - 1 // the notes' context
		fallback := packLines(fallbackRoom, room, "team")
		blocks = append(blocks, message.NewTable(table, fallback...))
	}
	blocks = append(blocks, tail...)
	if len(notes) > 0 {
		blocks = append(blocks, message.NewContext(strings.Join(notes, " ")))
	}

	text := "Daily report for " + day
	if in.late != "" {
		text += ", " + in.late
	}
	var parts []string
	if hasHist {
		parts = append(parts, message.Plural(floor.seen, "agent")+" seen")
	}
	if hasStats {
		parts = append(parts, message.Plural(floor.calls, "call")+" handled")
	}
	if hasHist {
		fired := 0
		for _, e := range in.events {
			if e.Kind == "fired" {
				fired++
			}
		}
		parts = append(parts, message.Plural(fired, "alert")+" fired")
	}
	if len(parts) > 0 {
		text += ": " + strings.Join(parts, ", ")
	}
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

// clock is a time of the day's as the report shows it.
func (in *reportInput) clock(t time.Time) string { return t.In(in.loc).Format("15:04") }

func (in *reportInput) floorText(f dayFigures, hasHist, hasStats bool) string {
	parts := []string{"*All teams*"}
	if hasHist {
		parts = append(parts, message.Plural(f.seen, "agent")+" seen")
		if f.anyIn {
			parts = append(parts, fmt.Sprintf("available: peak %s at %s, lowest %s at %s",
				message.Thousands(f.peak), in.clock(f.peakAt), message.Thousands(f.low), in.clock(f.lowAt)))
		}
	}
	if hasStats {
		parts = append(parts, fmt.Sprintf("%s handled, average handle time %s, talk time %s",
			message.Plural(f.calls, "call"), minSec(f.handle()), message.Duration(time.Duration(f.talkSeconds)*time.Second)))
	}
	return strings.Join(parts, " · ")
}

// minSec is a handle time: "4m 12s", "45s", "1h 2m".
func minSec(seconds float64) string {
	s := int(math.Round(seconds))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	}
	return message.Duration(time.Duration(s) * time.Second)
}

// minutes is a duration in whole minutes, rounded.
func minutes(d time.Duration) int { return int(d.Round(time.Minute) / time.Minute) }

func (in *reportInput) ruleLines(rules []ruleFigures) []string {
	if len(rules) == 0 {
		return nil
	}
	lines := []string{"*Alert rules today*: minutes below the warning threshold, alerts fired and acknowledged"}
	for _, r := range rules {
		lines = append(lines, fmt.Sprintf("• `%s` (%s, below %d): %d min below · %d fired · %d acknowledged",
			clean(strings.ReplaceAll(r.rule.Name, "`", "'")), r.scope, r.rule.Warning, minutes(r.below), r.fired, r.acked))
	}
	return lines
}

func (in *reportInput) definitions() string {
	return "Agents seen: the most logged in at once. Peak and lowest available: over the samples with anyone of the team " +
		"logged in, at the first time reached. Minutes below: while anyone in the rule's scope was logged in, in its active " +
		"hours; the table's are the team's own rule's (the first naming the team alone; — for none). " +
		"Calls, handle and talk time: the contact center's figures for the day at " + in.clock(in.to) + "."
}

// table is the report's table, the lowest-availability teams first, as
// many as Slack's rows and characters allow, and the classic listing of
// the same rows.
func (in *reportInput) table(teams []*dayFigures, day string, hasHist, hasStats bool) (message.TableData, []string) {
	num := func(n float64, text string) message.Cell { return message.Cell{Number: n, Text: text} }
	cols := []message.Column{{Name: "Team"}}
	if hasHist {
		cols = append(cols, message.Column{Name: "Agents seen", Numeric: true},
			message.Column{Name: "Peak available", Numeric: true}, message.Column{Name: "Peak at"},
			message.Column{Name: "Lowest available", Numeric: true}, message.Column{Name: "Lowest at"},
			message.Column{Name: "Min below warning", Numeric: true},
			message.Column{Name: "Alerts fired", Numeric: true}, message.Column{Name: "Alerts acked", Numeric: true})
	}
	if hasStats {
		cols = append(cols, message.Column{Name: "Calls handled", Numeric: true},
			message.Column{Name: "Avg handle time", Numeric: true}, message.Column{Name: "Talk time", Numeric: true})
	}
	t := message.TableData{Caption: "Daily report per team, " + day, Columns: cols, PageSize: reportPageSize}
	var lines []string
	for _, f := range teams[:min(len(teams), message.MaxTableRows)] {
		name := fitLabel(cmp.Or(f.name, f.id), maxReportName)
		row := []message.Cell{{Text: name}}
		line := "*" + name + "*"
		if f.id != "" {
			line += " (`" + clean(f.id) + "`)"
		}
		var parts []string
		if hasHist {
			peak, low := num(float64(f.peak), ""), num(float64(f.low), "")
			peakAt, lowAt := message.Cell{Text: "—"}, message.Cell{Text: "—"}
			if f.anyIn {
				peakAt.Text, lowAt.Text = in.clock(f.peakAt), in.clock(f.lowAt)
				parts = append(parts, fmt.Sprintf("%d seen · available peak %d at %s, lowest %d at %s",
					f.seen, f.peak, peakAt.Text, f.low, lowAt.Text))
			} else {
				peak.Text, low.Text = "—", "—"
				parts = append(parts, fmt.Sprintf("%d seen · nobody logged in at a sample", f.seen))
			}
			below := num(float64(minutes(f.below)), "")
			if f.ownRule {
				parts = append(parts, fmt.Sprintf("%d min below warning", minutes(f.below)))
			} else {
				below.Text = "—"
			}
			parts = append(parts, fmt.Sprintf("alerts %d fired, %d acked", f.fired, f.acked))
			row = append(row, num(float64(f.seen), ""), peak, peakAt, low, lowAt, below,
				num(float64(f.fired), ""), num(float64(f.acked), ""))
		}
		if hasStats {
			handle, talk := math.Round(f.handle()), time.Duration(f.talkSeconds)*time.Second
			row = append(row, num(float64(f.calls), ""), num(handle, minSec(handle)), num(float64(f.talkSeconds), message.Duration(talk)))
			parts = append(parts, fmt.Sprintf("%s · handle %s · talk %s", message.Plural(f.calls, "call"), minSec(handle), message.Duration(talk)))
		}
		t.Rows = append(t.Rows, row)
		lines = append(lines, line+": "+strings.Join(parts, " · "))
	}
	// Slack counts the characters of every cell: past its limit, the
	// last rows (the best available) go.
	for len(t.Rows) > 1 && t.Chars() > message.MaxTableChars {
		t.Rows = t.Rows[:len(t.Rows)-1]
	}
	return t, lines[:len(t.Rows)]
}

// packLines puts lines into at most maxBlocks sections, each within
// Slack's section limit; the lines that do not fit are counted in a last
// line ("…and 3 more teams.").
func packLines(lines []string, maxBlocks int, what string) []message.Block {
	if len(lines) == 0 || maxBlocks <= 0 {
		return nil
	}
	cut := make([]string, len(lines))
	for i, l := range lines {
		// Any line fits in a section with the "more" line.
		cut[i] = message.Truncate(l, message.MaxSectionText/2)
	}
	for keep := len(cut); keep >= 0; keep-- {
		shown := cut[:keep:keep]
		if keep < len(cut) {
			shown = append(shown, fmt.Sprintf("…and %s more.", message.Plural(len(cut)-keep, what)))
		}
		if secs := pack(shown); len(secs) <= maxBlocks {
			blocks := make([]message.Block, len(secs))
			for i, s := range secs {
				blocks[i] = message.NewSection(s)
			}
			return blocks
		}
	}
	return nil
}

// pack joins lines into as few texts of at most a section's length as
// their order allows (bytes counted: never fewer than runes).
func pack(lines []string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range lines {
		if cur.Len() > 0 && cur.Len()+1+len(l) > message.MaxSectionText {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	return append(out, cur.String())
}
