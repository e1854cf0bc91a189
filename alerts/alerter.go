package alerts

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// TotalKey is the state key of the rule on all agents (AllRule). A rule's
// key names its state and, with the episode, is in its alerts' buttons.
const TotalKey = "total"

// AckActionID is the action ID of the Acknowledge button.
const AckActionID = message.ActionAckAlert

// SnoozeActionID is the action ID of the [Snooze 1h] button.
const SnoozeActionID = message.ActionSnoozeAlert

// SnoozeFor is how long a [Snooze 1h] click snoozes an alert.
const SnoozeFor = time.Hour

// alertsStateKey is where the alerter keeps its State in the Store.
const alertsStateKey = "alerts"

// TeamKey is the key (and name) of the rule an ALERT_TEAM_THRESHOLDS
// entry makes for a team.
func TeamKey(teamID string) string { return "team:" + teamID }

// ErrNotFiring is returned when acknowledging an alert that is not firing.
var ErrNotFiring = errors.New("alert is not firing")

// ErrStateUnavailable is wrapped by Acknowledge and Snooze when the alert
// state could not be read or written: nothing was changed, and trying
// again may work. It is not ErrNotFiring: the alert may well be firing.
var ErrStateUnavailable = errors.New("alert state unavailable")

// EpisodeOverError is returned by Acknowledge and Snooze for a button whose episode
// is not the one firing now (or that names no episode, like the buttons
// posted before episodes were carried): what it was posted for is over.
// It wraps ErrNotFiring.
type EpisodeOverError struct {
	// Key is the rule the button named; "" when it named none.
	Key string
	// FiredAt is when the button's episode fired; zero when the button
	// does not say.
	FiredAt time.Time
	// Current is when the rule's current episode fired; zero when the
	// rule is not firing.
	Current time.Time
	// Op is what the click asked: "acknowledge" ("" too) or "snooze".
	Op string
}

func (e *EpisodeOverError) Error() string {
	episode := "none named"
	if !e.FiredAt.IsZero() {
		episode = "fired " + e.FiredAt.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s %q (episode %s): %v", cmp.Or(e.Op, "acknowledge"), message.Truncate(e.Key, 80), episode, ErrNotFiring)
}

func (e *EpisodeOverError) Unwrap() error { return ErrNotFiring }

// Lister is the API call the alerter makes.
type Lister interface {
	List(ctx context.Context, opts presence.ListOptions) (*presence.Page, error)
}

// Settings configure the alerter (main converts config.Alert).
type Settings struct {
	// Channel is the channel of the rules that name none.
	Channel string
	// Rules are the availability rules, each with its own state; a rule
	// without a channel (its own or Channel) is left out, and so is one
	// whose Key another rule has. With no rules, a poll only announces
	// the silences that ended.
	Rules []AvailabilityRule
	// Watched are the rules this alerter does not evaluate (the
	// time-in-status rules, which the nudger runs) by name, scope and
	// channel: a silence that covered one of them ends with its note in
	// that channel too, since the alerter announces every silence's end.
	Watched []RuleScope
	// UnavailableAfter is how many failed polls in a row post the "data
	// unavailable" notice (below 1 means 1), in every rule's channel. It
	// is posted while any rule is in its active hours.
	UnavailableAfter int
	// Location is the zone of times in messages; nil is UTC.
	Location *time.Location
	// Silences, when set, are the supervisors' silences: read once per
	// poll, and a rule one covers posts nothing (see Poll).
	Silences Silences
	// OnChange, when set, is called after an alert fired, resolved, was
	// closed, was posted again, moved level, was acknowledged or snoozed:
	// once the new state is saved and its messages posted, so what it
	// reads (Firing) is what the channel shows. It runs on the caller's
	// goroutine (the poll's or the click's, which may run at once), so it
	// should be safe for concurrent use and hand slow work off; it must
	// not call Poll.
	OnChange func(ctx context.Context)
	// Roster, when set, is the roster snapshot the bot shares
	// (presence.Snapshots): a poll reads it when it is fresh, asking the
	// contact center nothing, and otherwise reads whichever way costs
	// fewer requests (see the package doc). nil: the poll makes its own
	// list every time.
	Roster presence.Reader
	// OnSnapshot, when set, is called by each poll that counted from a
	// roster snapshot, with the tick and that snapshot, so the history
	// records the same reading without a second read. It runs on the
	// poll's goroutine and must return quickly.
	OnSnapshot func(now time.Time, s *presence.Snapshot)
	// OnCounts, when set, is called by each poll that counted from its
	// own lists instead, with what they tell (reading.sample): the floor's
	// agents per status, and each team listed on its own. Same contract
	// as OnSnapshot.
	OnCounts func(now time.Time, s history.Sample)
	// OnEvent, when set, is told each alert's fire, level change,
	// acknowledgement and resolve, once (see Event). It runs on the
	// caller's goroutine (the poll's or the click's).
	OnEvent func(ctx context.Context, e Event)
}

// State is everything the alerter remembers, stored under one key.
type State struct {
	// Rev is the revision: every write adds one. A poll's write is a
	// compare-and-set on it, refused when another write (a poll or a
	// click, on any replica) came after the read it decided from; state
	// never goes back to an older decision.
	Rev int64 `json:"rev,omitempty"`
	// Tick is the last tick whose decision was saved: another poll of the
	// same tick (a replica that lost the race) leaves it at that.
	Tick time.Time `json:"tick,omitzero"`
	Data DataState `json:"data,omitzero"`
	// Rules holds each rule's state by its key (AvailabilityRule.Key).
	Rules map[string]AlertState `json:"rules,omitempty"`
	// Posting holds, by rule key, the posts decided and saved but not yet
	// known to be made; DataPosting the data notice's.
	Posting     map[string]Posting `json:"posting,omitempty"`
	DataPosting *Posting           `json:"data_posting,omitempty"`
}

// Revision implements state.Revised.
func (s State) Revision() int64 { return s.Rev }

// Alerter polls availability and posts alerts. Poll, Acknowledge and
// Snooze may be called concurrently.
type Alerter struct {
	api   Lister
	post  Poster
	store state.Store
	log   *slog.Logger
	set   Settings
	rules []AvailabilityRule
	// teams are the team IDs the rules name, each once; channels the
	// rules' channels, each once (where the data notice goes).
	teams    []string
	channels []string
	data     DataRule

	// mu lets one poll run at a time in this process (the scheduler's
	// lock does so across replicas). It is held across network calls, so
	// nothing a person waits on takes it.
	mu sync.Mutex
	// teamNames remembers team display names seen in earlier polls, for
	// a team that has nobody available to name it.
	teamNames map[string]string
	// listed is the floor's summary from this replica's last list, guarded
	// by mu: the roster's size when no snapshot was ever read, so a small
	// floor reads the snapshot (as cheap, and it counts every team for
	// the history) from the second poll on.
	listed *presence.Summary

	// outcomes, guarded by mu, are what became of this replica's posts
	// whose result it could not save: facts about Slack, not decisions,
	// so the next poll here settles its own markers exactly (see Poll).
	outcomes map[postRef]postResult

	// stateMu guards what follows: quick reads and writes, never I/O.
	stateMu sync.Mutex
	// last is the newest state read from or saved to the store, for the
	// home board; no poll decides from it.
	last   State
	loaded bool
}

// postRef names a decided post: the poll's ID and the rule's key
// (dataRef for the data notice).
type postRef struct{ id, key string }

// dataRef is the data notice's key in a postRef; no rule key is empty.
const dataRef = ""

// NewAlerter returns an alerter; log may be nil.
func NewAlerter(api Lister, post Poster, store state.Store, s Settings, log *slog.Logger) *Alerter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "alerts")
	if s.Location == nil {
		s.Location = time.UTC
	}
	a := &Alerter{
		api: api, post: post, store: store, log: log, set: s,
		teamNames: make(map[string]string),
		outcomes:  make(map[postRef]postResult),
	}
	for _, r := range s.Rules {
		r.Channel = cmp.Or(r.Channel, s.Channel)
		if r.Channel == "" {
			log.Warn("alert rule has no channel and there is no default channel; it is left out", "rule", r.Name)
			continue
		}
		if i := a.ruleIndex(r.Key()); i >= 0 {
			// Two rules on one state key would overwrite each other's
			// state (config refuses the names that could).
			log.Error("alert rule has the state key of another rule; it is left out", "rule", r.Name, "key", r.Key(),
				"other", a.rules[i].Name)
			continue
		}
		a.rules = append(a.rules, r)
		for _, t := range r.Teams {
			if !slices.Contains(a.teams, t) {
				a.teams = append(a.teams, t)
			}
		}
		if !slices.Contains(a.channels, r.Channel) {
			a.channels = append(a.channels, r.Channel)
		}
	}
	a.data = DataRule{After: s.UnavailableAfter, Active: a.anyActive}
	return a
}

// anyActive reports whether any rule is in its active hours: the data
// notice matters while some rule could fire.
func (a *Alerter) anyActive(now time.Time) bool {
	return slices.ContainsFunc(a.rules, func(r AvailabilityRule) bool { return active(r.Active, now) })
}

// maxNames caps the names a message lists.
const maxNames = 15

// observe reads the counts with as few requests as it can (see the
// package doc).
func (a *Alerter) observe(ctx context.Context, now time.Time) (reading, error) {
	snap, err := a.snapshot(ctx)
	var rd reading
	switch {
	case err != nil:
		return reading{}, err
	case snap != nil:
		rd = countSnapshot(snap)
		rd.snap = snap
	default:
		if rd, err = a.list(ctx, now); err != nil {
			return reading{}, err
		}
	}
	for _, id := range a.teams {
		t := rd.teams[id]
		switch {
		case t == nil:
			if name, ok := a.teamNames[id]; ok {
				rd.teams[id] = &tally{team: name}
			}
		case t.team != id && t.team != "":
			a.teamNames[id] = t.team
		default:
			if name, ok := a.teamNames[id]; ok {
				t.team = name
			}
		}
	}
	return rd, nil
}

// snapshot returns the shared roster when reading it costs no more than
// the poll's own lists: fresh, it costs nothing; stale, a refresh costs a
// request per hundred agents, which is the cheaper read of a small floor
// (and leaves it fresh for every other reader). nil when the lists are
// cheaper, or nothing is known of the roster's size.
func (a *Alerter) snapshot(ctx context.Context) (*presence.Snapshot, error) {
	src := a.set.Roster
	if src == nil {
		return nil, nil
	}
	if s, ok := src.Fresh(ctx); ok {
		return s, nil
	}
	var agents, available int
	switch last := src.LastKnown(); {
	case last != nil:
		agents, available = last.Len(), last.Summary.Available
	case a.listed != nil:
		agents, available = a.listed.Total, a.listed.Available
	default:
		return nil, nil
	}
	lists := 1
	if available > presence.MaxPageSize {
		lists += len(a.teams)
	}
	if pages := max(1, (agents+presence.MaxPageSize-1)/presence.MaxPageSize); pages > lists {
		return nil, nil
	}
	s, err := src.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the roster: %w", err)
	}
	return s, nil
}

// list counts with the poll's own requests: the available agents (whose
// summary counts who is logged in on the whole floor), then, when they
// are more than one page, each team's; and, for a team rule that finds
// nobody available, the team's summary, to tell "nobody logged in" from
// "0 available" (only when that rule could fire now).
func (a *Alerter) list(ctx context.Context, now time.Time) (reading, error) {
	page, err := a.api.List(ctx, presence.ListOptions{Status: presence.Available, Limit: presence.MaxPageSize})
	if err != nil {
		return reading{}, err
	}
	rd := reading{
		all:   tally{available: page.Total, loggedIn: page.Summary.Total - page.Summary.Offline, names: agentNames(page.Agents), summary: &page.Summary},
		teams: make(map[string]*tally, len(a.teams)),
	}
	a.listed = &page.Summary
	complete := len(page.Agents) >= page.Total
	var mu sync.Mutex
	teamList := func(ctx context.Context, id string) error {
		p, err := a.api.List(ctx, presence.ListOptions{Status: presence.Available, TeamID: id, Limit: presence.MaxPageSize})
		if err != nil {
			return fmt.Errorf("team %s: %w", id, err)
		}
		t := &tally{available: p.Total, loggedIn: p.Summary.Total - p.Summary.Offline, team: id, names: agentNames(p.Agents), summary: &p.Summary}
		for _, ag := range p.Agents {
			t.team = cmp.Or(ag.TeamName(), t.team)
		}
		mu.Lock()
		rd.teams[id] = t
		mu.Unlock()
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, id := range a.teams {
		if !complete {
			g.Go(func() error { return teamList(gctx, id) })
			continue
		}
		t := &tally{loggedIn: -1, team: id}
		for _, ag := range page.Agents {
			if ag.TeamID() == id {
				t.available++
				t.names = append(t.names, cmp.Or(ag.Name, ag.ID))
				t.team = cmp.Or(ag.TeamName(), t.team)
			}
		}
		rd.teams[id] = t
	}
	if err := g.Wait(); err != nil {
		return reading{}, err
	}
	if complete {
		// A group's context ends with its Wait: a new group.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, id := range a.needLoggedIn(rd, now) {
			g.Go(func() error {
				// Any one agent of the team, for its name; the summary
				// counts the whole team whatever the filters.
				p, err := a.api.List(gctx, presence.ListOptions{TeamID: id, Limit: 1})
				if err != nil {
					return fmt.Errorf("team %s: %w", id, err)
				}
				mu.Lock()
				defer mu.Unlock()
				t := rd.teams[id]
				t.loggedIn, t.summary = p.Summary.Total-p.Summary.Offline, &p.Summary
				for _, ag := range p.Agents {
					t.team = cmp.Or(ag.TeamName(), t.team)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return reading{}, err
		}
	}
	return rd, nil
}

// needLoggedIn are the teams whose logged-in count a decision needs and
// the reading lacks: those of rules that could fire now with nobody
// available.
func (a *Alerter) needLoggedIn(rd reading, now time.Time) []string {
	var need []string
	for _, r := range a.rules {
		if len(r.Teams) == 0 || r.Warning <= 0 || !active(r.Active, now) || rd.scope(r).available > 0 {
			continue
		}
		for _, id := range r.Teams {
			if t := rd.teams[id]; t != nil && t.loggedIn < 0 && !slices.Contains(need, id) {
				need = append(need, id)
			}
		}
	}
	return need
}

func agentNames(agents []presence.Agent) []string {
	names := make([]string, 0, len(agents))
	for _, ag := range agents {
		names = append(names, cmp.Or(ag.Name, ag.ID))
	}
	return names
}

// confirmTimeout bounds the save of a poll's outcomes once its own
// context has ended; the store's own timeout (REDIS_TIMEOUT) is shorter.
const confirmTimeout = 5 * time.Second

// casTries bounds how often a poll decides again after losing the race
// for the state to another writer; then it skips the tick.
const casTries = 3

// intent is one thing a poll decided to send: a post, an edit, or both
// (or, for a firing alert closed outside active hours, only an update).
type intent struct {
	key    string // rule key; dataRef for the data notice
	act    Actions
	rule   AvailabilityRule
	before AlertState // the rule's state it was decided from
	after  AlertState // the rule's state once posted, as saved
	shown  Posted     // what the rule's message shows now (for posts and edits)
	// silence holds the post back (act.Held).
	silence silence.Silence
	data    DataState // the data notice's state once posted, as saved
	prev    DataState // and before
	obsErr  error
}

// posts reports whether the intent makes a post (so has a marker).
func (in intent) posts() bool { return in.act.Reason.Posts() && !in.act.Held }

// sendResult is what became of an intent: its post, and its edit when
// one was made.
type sendResult struct {
	post   postResult
	edited bool
}

// Poll runs one poll at now (the tick).
//
// The order is: read the state, read the counts and the silences,
// decide, save the decision, post, save what was posted, announce the
// silences that ended. No message is posted from a state that was not
// saved, and every write of a decision is a compare-and-set on the
// state's revision, so nothing decided from an old read (before another
// replica's poll or a supervisor's click) is ever saved or posted: the
// poll reads again and decides again (a few times, then it skips the
// tick). A tick whose decision another poll saved is left at that.
//
// The decision is saved with a marker (Posting) per post, then the posts
// are made, then the markers are replaced by the outcome: the message
// recorded, or, for a post that failed, the state before the decision, so
// the next tick tries again. A replica that dies (or loses the store)
// between the two saves leaves its markers; the next poll cannot know
// whether those posts were made, and assumes they were. That trade-off is
// deliberate: at most one post, never two. What can be lost is one post
// decided by a replica that died before making it: an alert then shows at
// its first repeat, a recovery or notice not at all. A replica that is
// alive knows its own posts' outcomes, and the next poll here applies
// them exactly. Edits (a level move) are safe to repeat: one that failed
// is made again next poll.
//
// Silences are read once per poll; a rule an active silence covers
// decides as usual and saves its state as if it had posted, posts
// nothing (edits of its message still go), and notes each post held back
// on the silence; an alert that fired under it and still fires when it
// ends is posted then (Release). Silences that cannot be read are
// ignored, with a warning: a missed page is worse than an unwanted one.
// With no availability rule, Poll only announces the silences that ended
// (those of the nudger's rules).
func (a *Alerter) Poll(ctx context.Context, now time.Time) error {
	if len(a.rules) == 0 {
		// No availability rule: nothing to decide, but the end of every
		// silence (of the nudger's rules too) is still announced here.
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.announceEnded(ctx, now)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	base, err := a.load(ctx)
	if err != nil {
		// Deciding from a state we could not read risks posting again
		// what another replica posted: skip this tick instead.
		return schedule.SkipTick(schedule.SkipStoreUnavailable, err)
	}
	first := base
	rd, obsErr := a.observe(ctx, now)
	if obsErr != nil && ctx.Err() != nil {
		// Cancelled (shutdown): that says nothing about the contact center.
		return fmt.Errorf("read availability: %w", obsErr)
	}
	var errs []error
	if obsErr != nil {
		errs = append(errs, fmt.Errorf("read availability: %w", obsErr))
	}
	if obsErr == nil && rd.snap != nil && a.set.OnSnapshot != nil {
		a.set.OnSnapshot(now, rd.snap)
	}
	if obsErr == nil && rd.snap == nil && a.set.OnCounts != nil {
		a.set.OnCounts(now, rd.sample())
	}
	silences := a.activeSilences(ctx, now)

	id := newPollID()
	var next State
	var todo []intent
	for try := 1; ; try++ {
		if !base.Tick.Before(now) {
			a.log.Debug("alert tick already decided", "tick", now, "decided", base.Tick)
			return nil
		}
		var assumed []string
		next, todo, assumed = a.decide(base, rd, obsErr, silences, now, id)
		if same(base, next) {
			clear(a.outcomes) // base has no markers left to settle
			errs = append(errs, a.announceEnded(ctx, now))
			return errors.Join(errs...)
		}
		err := a.saveDecision(ctx, base.Rev, &next, now)
		if err == nil {
			clear(a.outcomes) // the decision settled every marker it found
			for _, key := range assumed {
				a.log.Warn("an earlier poll decided a post and never confirmed it (its replica died or lost the store); assuming it was made",
					"alert", key)
			}
			break
		}
		if !errors.Is(err, state.ErrConflict) {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, errors.Join(append(errs, err)...))
		}
		if try == casTries {
			return schedule.SkipTick(schedule.SkipStoreUnavailable,
				errors.Join(append(errs, fmt.Errorf("alert state changed under %d tries: %w", casTries, err))...))
		}
		a.log.Debug("alert state changed since it was read; deciding again", "try", try)
		if base, err = a.load(ctx); err != nil {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, errors.Join(append(errs, err)...))
		}
	}
	a.remember(next)

	results := make([]sendResult, len(todo))
	for i, in := range todo {
		res, err := a.send(ctx, in, now)
		if err != nil {
			errs = append(errs, err)
		}
		results[i] = res
	}
	// The outcome is saved even when the poll's context has ended
	// (shutdown, deadline), briefly: a marker left behind would make the
	// next poll, on any replica, assume a failed post made.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	final, err := a.confirm(cctx, id, todo, results)
	cancel()
	if err != nil {
		errs = append(errs, err)
		final = next
	}
	a.events(ctx, todo, results, now)
	errs = append(errs, a.announceEnded(ctx, now))
	if !slices.Equal(a.firingLines(first), a.firingLines(final)) {
		a.changed(ctx)
	}
	return errors.Join(errs...)
}

// newPollID names a poll's markers: unique enough among the polls that
// ever meet in one store.
func newPollID() string { return strconv.FormatUint(rand.Uint64(), 36) }

// decide is the poll's decision, from base alone and this poll's reading:
// the state to save before posting (with a marker per post) and what to
// send. It first settles the markers earlier polls left: with the outcome
// when this replica knows it, else assuming the post made (listed in
// assumed, for the log). It does no I/O.
func (a *Alerter) decide(base State, rd reading, obsErr error, silences []silence.Silence, now time.Time, id string) (State, []intent, []string) {
	st := base
	var assumed []string
	for _, key := range slices.Sorted(maps.Keys(base.Posting)) {
		p := base.Posting[key]
		res, known := a.outcomes[postRef{p.ID, key}]
		if !known {
			assumed = append(assumed, key)
		}
		settleRule(&st, key, p.ID, parseReason(p.Reason), res, st.Rules[key])
	}
	if p := base.DataPosting; p != nil {
		res, known := a.outcomes[postRef{p.ID, dataRef}]
		if !known {
			assumed = append(assumed, "data")
		}
		settleData(&st, p.ID, res)
	}

	failed := obsErr != nil
	next := State{Rev: base.Rev, Tick: base.Tick, Rules: make(map[string]AlertState, len(a.rules))}
	var todo []intent
	reason, ds := DecideData(st.Data, failed, a.data, now)
	if reason.Posts() {
		next.DataPosting = &Posting{ID: id, Reason: reason.String(), At: now, PrevData: st.Data}
		todo = append(todo, intent{key: dataRef, act: Actions{Reason: reason}, data: ds, prev: st.Data, obsErr: obsErr})
	}
	next.Data = ds

	for _, r := range a.rules {
		key := r.Key()
		before := st.Rules[key]
		obs := Observation{Failed: failed}
		var t tally
		if !failed {
			t = rd.scope(r)
			obs.Available, obs.LoggedIn = t.available, t.loggedIn
		}
		sil, silenced := silence.Find(silences, r.Name, r.Teams, now)
		obs.Silenced = silenced
		act, after := Decide(before, obs, r, now)
		in := intent{key: key, act: act, rule: r, before: before, silence: sil}
		if act.Reason.Posts() || act.Edit {
			in.shown = Posted{Count: t.available, Team: t.team, Names: shownNames(t.names), Level: after.Level, Empty: after.Empty}
		}
		switch {
		case act.Reason == Fire && act.Held:
			after.Posted = in.shown // nothing posted: no message to update
		case act.Reason == Fire || act.Reason == Release || act.Reason == Repeat && !act.Held:
			after.Posted = in.shown
			after.Posted.Channel = r.Channel
		case act.Edit:
			// The message's new content is saved with the decision, before
			// the edit: a click answered meanwhile replaces the message from
			// the stored content, and must not bring the old level back.
			// confirm puts the old content back if the edit fails, so the
			// next poll makes it again.
			shown := in.shown
			shown.Channel, shown.TS = before.Posted.Channel, before.Posted.TS
			after.Posted = shown
		}
		in.after = after
		if in.posts() {
			if next.Posting == nil {
				next.Posting = make(map[string]Posting)
			}
			next.Posting[key] = Posting{ID: id, Reason: act.Reason.String(), At: now, Prev: before}
		}
		if act.Reason.Posts() || act.Reason == Suppressed || act.Edit {
			todo = append(todo, in)
		}
		if after.Phase != PhaseInactive {
			next.Rules[key] = after
		}
	}
	return next, todo, assumed
}

// saveDecision writes next as the revision after baseRev, for tick now,
// unless the stored revision is no longer baseRev: then it saves nothing
// and returns an error wrapping state.ErrConflict.
func (a *Alerter) saveDecision(ctx context.Context, baseRev int64, next *State, now time.Time) error {
	next.Rev, next.Tick = baseRev+1, now
	if err := state.SaveRevision(ctx, a.store, alertsStateKey, baseRev, *next); err != nil {
		return fmt.Errorf("save alert decision: %w", err)
	}
	return nil
}

// confirm replaces the poll's markers by what became of its posts, and
// records the edits made, on the state as stored now (clicks may have
// come in since the decision). It is a read-modify-write of facts, not a
// decision: a marker another poll has taken over is left to that poll's
// assumption. When the store fails, the posts' outcomes are kept for the
// next poll here (an edit not recorded is just made again).
func (a *Alerter) confirm(ctx context.Context, id string, todo []intent, results []sendResult) (State, error) {
	editFailed := func(i int) bool { return todo[i].act.Edit && !results[i].edited }
	if !slices.ContainsFunc(todo, intent.posts) && !slices.ContainsFunc(results, func(r sendResult) bool { return r.edited }) &&
		!slices.ContainsFunc(todo, func(in intent) bool { return in.act.Edit }) {
		return a.lastKnown(), nil
	}
	var stored State
	var missed []string
	err := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		orig := stored // settle* copy what they change, so orig stays as read
		missed = missed[:0]
		for i, in := range todo {
			switch {
			case results[i].edited:
				settleEdit(&stored, in.key, in.before.Posted.TS, in.shown)
			case editFailed(i):
				unsettleEdit(&stored, in.key, in.before.Posted, in.after.Posted)
			}
			var lost bool
			switch {
			case !in.posts():
				continue
			case in.key == dataRef:
				lost = settleData(&stored, id, results[i].post)
			default:
				lost = settleRule(&stored, in.key, id, in.act.Reason, results[i].post, in.after)
			}
			if lost {
				missed = append(missed, in.key)
			}
		}
		if same(orig, stored) {
			return false, nil
		}
		stored.Rev++
		return true, nil
	})
	if err != nil {
		for i, in := range todo {
			if in.posts() {
				a.outcomes[postRef{id, in.key}] = results[i].post
			}
		}
		return State{}, fmt.Errorf("save posted alert messages: %w", err)
	}
	for _, key := range missed {
		a.log.Warn("an alert post failed after another poll assumed it made; it is not retried", "alert", cmp.Or(key, "data"))
	}
	a.remember(stored)
	return stored, nil
}

// load reads the state to decide from. A corrupt value is logged and
// replaced by an empty state (better a repeated alert than none), so that
// the compare-and-set writes, which must decode it, work again. Any other
// read failure is an error.
func (a *Alerter) load(ctx context.Context) (State, error) {
	var st State
	found, err := a.store.Load(ctx, alertsStateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		a.log.Error("alert state is corrupt; starting from empty state", "err", err)
		if err := a.store.Save(ctx, alertsStateKey, State{}); err != nil {
			return State{}, fmt.Errorf("replace corrupt alert state: %w", err)
		}
		a.stateMu.Lock()
		a.last, a.loaded = State{}, true
		a.stateMu.Unlock()
		return State{}, nil
	case err != nil:
		return State{}, fmt.Errorf("load alert state: %w", err)
	case !found:
		st = State{}
	}
	a.remember(st)
	return st, nil
}

// remember records st, read from or saved to the store, for the board,
// unless a newer revision is known already (a click saved while a poll
// runs).
func (a *Alerter) remember(st State) {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	if !a.loaded || st.Rev >= a.last.Rev {
		a.last, a.loaded = st, true
	}
}

// lastKnown is the state remember recorded.
func (a *Alerter) lastKnown() State {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	return a.last
}

// changed calls the OnChange hook, if any.
func (a *Alerter) changed(ctx context.Context) {
	if a.set.OnChange != nil {
		a.set.OnChange(ctx)
	}
}

func same(x, y State) bool {
	bx, errx := json.Marshal(x)
	by, erry := json.Marshal(y)
	return errx == nil && erry == nil && bytes.Equal(bx, by)
}

// send carries out one decided intent: its edit first (so the reply that
// pings follows a message that already says critical), then its post.
// An error means its post was not made.
func (a *Alerter) send(ctx context.Context, in intent, now time.Time) (sendResult, error) {
	r, before, after := in.rule, in.before, in.after
	log := a.log.With("alert", cmp.Or(r.Name, "data"), "reason", in.act.Reason.String())
	var res sendResult
	if in.act.Edit {
		res.edited = a.edit(ctx, log, in, now)
	}
	if in.act.Held {
		a.noteHeld(ctx, log, in, now)
		if in.act.Reason == Resolve {
			a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Recovered at %s: %s available (the recovery note was held back by a silence).",
				a.clock(now, now), message.Thousands(in.shown.Count)))
		}
		return res, nil
	}
	var ts string
	var err error
	switch in.act.Reason {
	case Unavailable:
		ts, err = a.postAll(ctx, a.unavailableMessage(in.data.Failures, in.data.Since, in.obsErr, now))
		if err != nil {
			return sendResult{post: postResult{failed: true}}, fmt.Errorf("post data unavailable notice: %w", err)
		}
		log.Warn("presence data unavailable notice posted", "failures", in.data.Failures, "err", in.obsErr)
	case Back:
		ts, err = a.postAll(ctx, a.backMessage(in.prev.Since, now))
		if err != nil {
			return sendResult{post: postResult{failed: true}}, fmt.Errorf("post data back notice: %w", err)
		}
		log.Info("presence data back notice posted")
	case Fire, Repeat, Release:
		m := a.alertMessage(r, after, in.shown, in.act.Reason == Repeat, true, now)
		if in.act.Reason == Release {
			note := message.NewContext(fmt.Sprintf("Fired at %s during a silence, which held it back.", a.clock(after.FiredAt, now)))
			m.Blocks = slices.Insert(slices.Clone(m.Blocks), min(3, len(m.Blocks)), note)
		}
		if in.act.Mention {
			m = withMention(m, r)
		}
		ts, err = a.post.Post(ctx, r.Channel, m)
		if err != nil {
			res.post.failed = true
			return res, fmt.Errorf("post %s alert %s: %w", in.act.Reason, r.Name, err)
		}
		log.Info("low availability alert posted", "count", in.shown.Count, "level", after.Level, "mention", in.act.Mention)
		if in.act.Reason == Repeat {
			// Only the newest copy keeps its buttons, so people click the
			// one that says how things are now. Best effort: a copy left
			// with its buttons still acts on this same episode.
			a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Posted again at %s: the newest copy below has the buttons.",
				a.clock(now, now)))
		}
	case Escalate:
		ts, err = a.reply(ctx, r, before.Posted, a.escalationMessage(r, in.shown, now))
		if err != nil {
			res.post.failed = true
			return res, fmt.Errorf("post escalation of %s: %w", r.Name, err)
		}
		log.Info("alert rose to critical: mention posted", "count", in.shown.Count)
	case Resolve:
		ts, err = a.post.Post(ctx, r.Channel, a.recoveryMessage(r, before, in.shown, now))
		if err != nil {
			res.post.failed = true
			return res, fmt.Errorf("post recovery %s: %w", r.Name, err)
		}
		log.Info("availability recovered", "count", in.shown.Count, "resolve_at", r.resolveAt())
		a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Recovered at %s: %s available, after %s below.",
			a.clock(now, now), message.Thousands(in.shown.Count), message.Duration(now.Sub(before.Since))))
	case Suppressed:
		log.Info("firing alert closed outside active hours")
		a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Closed at %s: outside active hours.", a.clock(now, now)))
	}
	res.post.ts = ts
	return res, nil
}

// edit rewrites the episode's message at its new level. It reports
// whether it was made; one that failed is made again next poll.
func (a *Alerter) edit(ctx context.Context, log *slog.Logger, in intent, now time.Time) bool {
	p := in.before.Posted
	m := a.alertMessage(in.rule, in.after, in.shown, !in.before.LastSent.Equal(in.before.FiredAt), true, now)
	if err := a.post.Update(ctx, p.Channel, p.TS, m); err != nil {
		log.Warn("could not edit the alert message to its new level; trying again next poll", "level", in.after.Level, "err", err)
		return false
	}
	log.Info("alert message edited to its new level", "level", in.after.Level, "empty", in.after.Empty)
	return true
}

// reply posts m in the thread of the alert message p, where the poster
// can (Replier), else as a post in the rule's channel.
func (a *Alerter) reply(ctx context.Context, r AvailabilityRule, p Posted, m message.Message) (string, error) {
	if rp, ok := a.post.(Replier); ok && p.TS != "" {
		return rp.Reply(ctx, cmp.Or(p.Channel, r.Channel), p.TS, m)
	}
	return a.post.Post(ctx, r.Channel, m)
}

// postAll posts m once in each rule channel. It fails only when no post
// was made (then the next poll tries them all again); a channel that
// failed while others worked is logged, not retried: a second copy in
// the channels that have it would be worse.
func (a *Alerter) postAll(ctx context.Context, m message.Message) (string, error) {
	var ts string
	var errs []error
	for _, ch := range a.channels {
		t, err := a.post.Post(ctx, ch, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ts = cmp.Or(ts, t)
	}
	switch {
	case ts == "":
		return "", errors.Join(errs...)
	case len(errs) > 0:
		a.log.Warn("a notice reached only some alert channels; it is not posted again", "failed", len(errs), "err", errors.Join(errs...))
	}
	return ts, nil
}

// updateOriginal rewrites the last alert message without its buttons,
// with a closing note. It is best effort: the news was posted already.
func (a *Alerter) updateOriginal(ctx context.Context, log *slog.Logger, r AvailabilityRule, st AlertState, note string) {
	if st.Posted.TS == "" {
		return
	}
	m := a.alertMessage(r, st, st.Posted, !st.LastSent.Equal(st.FiredAt), false, st.LastSent)
	m.Blocks = append(m.Blocks, message.NewContext(note))
	if err := a.post.Update(ctx, st.Posted.Channel, st.Posted.TS, m); err != nil {
		log.Warn("could not update the alert message", "err", err)
	}
}

// Acknowledge marks a firing alert as acknowledged by a Slack user at a
// time: it is not repeated until it resolves (the recovery is still
// posted, and a rise to critical still pings). value is the clicked
// button's value, which names the rule and its episode. It returns the
// alert message as it now reads, without its buttons, for the caller to
// put in place of the original (replace_original or chat.update).
// Acknowledging twice keeps the first acknowledgement.
//
// The acknowledgement is decided from the stored state and saved in one
// atomic update that adds a revision, so a poll that decided from the
// revision before it has its write refused and decides again: no poll
// undoes it, on any replica.
//
// A button from another episode (an earlier one, one that resolved, or a
// button without an episode) changes nothing and returns an
// *EpisodeOverError, which wraps ErrNotFiring. A store that cannot be read
// or written returns an error wrapping ErrStateUnavailable: nothing was
// acknowledged, and the alert may well be firing.
func (a *Alerter) Acknowledge(ctx context.Context, value, by string, at time.Time) (message.Message, error) {
	return a.click(ctx, "acknowledge", value, by, func(rs *AlertState) bool {
		if rs.Acked {
			return false // the first acknowledgement stands
		}
		rs.Acked, rs.AckedBy, rs.AckedAt = true, by, at
		return true
	})
}

// Snooze snoozes a firing alert for SnoozeFor from at, by a Slack user:
// until then it is not repeated and nobody is pinged when it reaches
// critical (the ping is made when the snooze ends, if it is still
// critical); edits and the recovery still go. It mirrors Acknowledge:
// value names the rule and its episode, a button from another episode
// returns an *EpisodeOverError, store trouble an error wrapping
// ErrStateUnavailable, and the message returned is the alert as it now
// reads ("Snoozed until 10:15 by …"), its buttons kept. Snoozing again
// extends the snooze to an hour from the later click.
func (a *Alerter) Snooze(ctx context.Context, value, by string, at time.Time) (message.Message, error) {
	until := at.Add(SnoozeFor)
	return a.click(ctx, "snooze", value, by, func(rs *AlertState) bool {
		if !until.After(rs.SnoozedUntil) {
			return false
		}
		rs.SnoozedUntil, rs.SnoozedBy = until, by
		return true
	})
}

// click applies a button's change (acknowledge, snooze) to the episode
// its value names, in one atomic update of the stored state.
func (a *Alerter) click(ctx context.Context, op, value, by string, change func(*AlertState) bool) (message.Message, error) {
	key, episode, ok := parseAckValue(value)
	if !ok && a.ruleIndex(value) >= 0 {
		// A button from before episodes were carried: the rule key alone.
		// Read on, to say whether a newer episode fires.
		key = value
	}
	i := a.ruleIndex(key)
	if i < 0 {
		over := &EpisodeOverError{Key: key, FiredAt: episode, Op: op}
		a.log.Info("alert "+op+" refused: the button is from another episode or no alert",
			"value", message.Truncate(value, 120), "by", by)
		return message.Message{}, over
	}
	apply := func(st *State) (AlertState, bool, error) {
		rs, ok := st.Rules[key]
		firing := ok && rs.Phase == PhaseFiring
		if !firing || episode.IsZero() || !rs.FiredAt.Equal(episode) {
			over := &EpisodeOverError{Key: key, FiredAt: episode, Op: op}
			if firing {
				over.Current = rs.FiredAt
			}
			return AlertState{}, false, over
		}
		if !change(&rs) {
			return rs, false, nil
		}
		st.Rules = withRule(st.Rules, key, rs)
		st.Rev++
		return rs, true, nil
	}

	var stored State
	var rs AlertState
	var changed bool
	var err error
	storeErr := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		rs, changed, err = apply(&stored)
		return changed && err == nil, nil
	})
	switch {
	case err != nil:
	case storeErr != nil && episode.IsZero():
		// A button without an episode is over whatever the store says.
		err = &EpisodeOverError{Key: key, Op: op}
	case storeErr != nil:
		a.log.Warn("alert "+op+" failed: alert state unavailable", "alert", key, "by", by, "err", storeErr)
		return message.Message{}, fmt.Errorf("%s %q: %w: %w", op, key, ErrStateUnavailable, storeErr)
	case changed:
		a.remember(stored)
		a.log.Info("alert "+op+"d", "alert", key, "by", by, "snoozed_until", rs.SnoozedUntil)
		if op == "acknowledge" {
			a.event(ctx, a.rules[i], EventAcked, rs.Level, rs.AckedAt)
		}
		a.changed(ctx)
	}
	if over, ok := errors.AsType[*EpisodeOverError](err); ok {
		a.log.Info("alert "+op+" refused: the button is from another episode",
			"alert", key, "episode", over.FiredAt, "current", over.Current, "by", by)
	}
	if err != nil {
		return message.Message{}, err
	}
	m := a.alertMessage(a.rules[i], rs, rs.Posted, !rs.LastSent.Equal(rs.FiredAt), true, rs.LastSent)
	m.ReplaceOriginal = true
	return m, nil
}

// ruleIndex is the index of the rule with key in a.rules, or -1.
func (a *Alerter) ruleIndex(key string) int {
	return slices.IndexFunc(a.rules, func(r AvailabilityRule) bool { return r.Key() == key })
}
