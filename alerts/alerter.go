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

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// TotalKey is the key of the rule on the total count. A rule's key names
// its state and, with the episode, is in its alerts' Acknowledge button.
const TotalKey = "total"

// AckActionID is the action ID of the Acknowledge button.
const AckActionID = message.ActionAckAlert

// alertsStateKey is where the alerter keeps its State in the Store.
const alertsStateKey = "alerts"

// TeamKey is the key of a team's rule.
func TeamKey(teamID string) string { return "team:" + teamID }

// ErrNotFiring is returned when acknowledging an alert that is not firing.
var ErrNotFiring = errors.New("alert is not firing")

// ErrStateUnavailable is wrapped by Acknowledge when the alert state could
// not be read or written: nothing was acknowledged, and trying again may
// work. It is not ErrNotFiring: the alert may well be firing.
var ErrStateUnavailable = errors.New("alert state unavailable")

// EpisodeOverError is returned by Acknowledge for a button whose episode
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
}

func (e *EpisodeOverError) Error() string {
	episode := "none named"
	if !e.FiredAt.IsZero() {
		episode = "fired " + e.FiredAt.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("acknowledge %q (episode %s): %v", message.Truncate(e.Key, 80), episode, ErrNotFiring)
}

func (e *EpisodeOverError) Unwrap() error { return ErrNotFiring }

// Lister is the API call the alerter makes.
type Lister interface {
	List(ctx context.Context, opts presence.ListOptions) (*presence.Page, error)
}

// TeamThreshold is one team's threshold.
type TeamThreshold struct {
	TeamID string
	Min    int
}

// Settings configure the alerter (main converts config.Alert).
type Settings struct {
	// Channel is where alerts go; "" turns them off.
	Channel   string
	Threshold int // total available; fires below it
	Teams     []TeamThreshold
	For       time.Duration // below this long before firing
	Repeat    time.Duration // repeat while firing; 0 never
	// UnavailableAfter is how many failed polls in a row post the "data
	// unavailable" notice (below 1 means 1).
	UnavailableAfter int
	// Active reports whether alerts may fire at a time; nil is always.
	Active func(time.Time) bool
	// Location is the zone of times in messages; nil is UTC.
	Location *time.Location
	// OnChange, when set, is called after an alert fired, resolved, was
	// closed, was posted again or was acknowledged: once the new state is
	// saved and its messages posted, so what it reads (Firing) is what
	// the channel shows. It runs on the caller's goroutine (the poll's or
	// the click's, which may run at once), so it should be safe for
	// concurrent use and hand slow work off; it must not call Poll.
	OnChange func(ctx context.Context)
	// Roster, when set, is the roster snapshot the bot shares
	// (presence.Snapshots): a poll reads it when it is fresh, asking the
	// contact center nothing, and otherwise reads whichever way costs
	// fewer requests (see the package doc). nil: the poll makes its own
	// list every time.
	Roster presence.Reader
}

// State is everything the alerter remembers, stored under one key.
type State struct {
	// Rev is the revision: every write adds one. A poll's write is a
	// compare-and-set on it, refused when another write (a poll or an
	// acknowledgement, on any replica) came after the read it decided
	// from; state never goes back to an older decision.
	Rev int64 `json:"rev,omitempty"`
	// Tick is the last tick whose decision was saved: another poll of the
	// same tick (a replica that lost the race) leaves it at that.
	Tick  time.Time             `json:"tick,omitzero"`
	Data  DataState             `json:"data,omitzero"`
	Rules map[string]AlertState `json:"rules,omitempty"`
	// Posting holds, by rule key, the posts decided and saved but not yet
	// known to be made; DataPosting the data notice's.
	Posting     map[string]Posting `json:"posting,omitempty"`
	DataPosting *Posting           `json:"data_posting,omitempty"`
}

// Alerter polls availability and posts alerts. Poll and Acknowledge may be
// called concurrently.
type Alerter struct {
	api   Lister
	post  Poster
	store state.Store
	log   *slog.Logger
	set   Settings
	rules []Rule
	data  DataRule

	// mu lets one poll run at a time in this process (the scheduler's
	// lock does so across replicas). It is held across network calls, so
	// nothing a person waits on takes it.
	mu sync.Mutex
	// teamNames remembers team display names seen in earlier polls, for
	// a team that has nobody available to name it.
	teamNames map[string]string

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
	if s.Location == nil {
		s.Location = time.UTC
	}
	rules := []Rule{{Key: TotalKey, Threshold: s.Threshold, For: s.For, Repeat: s.Repeat, Active: s.Active}}
	for _, t := range s.Teams {
		rules = append(rules, Rule{Key: TeamKey(t.TeamID), TeamID: t.TeamID, Threshold: t.Min, For: s.For, Repeat: s.Repeat, Active: s.Active})
	}
	return &Alerter{
		api: api, post: post, store: store, log: log.With("component", "alerts"), set: s,
		rules:     rules,
		data:      DataRule{After: s.UnavailableAfter, Active: s.Active},
		teamNames: make(map[string]string),
		outcomes:  make(map[postRef]postResult),
	}
}

// reading is one poll's data: per rule key, the count and who is
// available.
type reading map[string]teamReading

type teamReading struct {
	count int
	team  string   // display name; "" for the total
	names []string // available agents' names, sorted, at most maxNames
}

// maxNames caps the names a message lists.
const maxNames = 15

// observe reads the counts with as few requests as it can (see the
// package doc).
func (a *Alerter) observe(ctx context.Context) (reading, error) {
	snap, err := a.snapshot(ctx)
	var r reading
	switch {
	case err != nil:
		return nil, err
	case snap != nil:
		r = a.fromSnapshot(snap)
	default:
		if r, err = a.list(ctx); err != nil {
			return nil, err
		}
	}
	for _, rule := range a.rules[1:] {
		tr := r[rule.Key]
		if tr.team != rule.TeamID {
			a.teamNames[rule.TeamID] = tr.team
		} else if name, ok := a.teamNames[rule.TeamID]; ok {
			tr.team = name
			r[rule.Key] = tr
		}
	}
	return r, nil
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
	last := src.LastKnown()
	if last == nil {
		return nil, nil
	}
	lists := 1
	if last.Summary.Available > presence.MaxPageSize {
		lists += len(a.rules) - 1
	}
	if pages := max(1, (last.Len()+presence.MaxPageSize-1)/presence.MaxPageSize); pages > lists {
		return nil, nil
	}
	s, err := src.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the roster: %w", err)
	}
	return s, nil
}

// fromSnapshot counts the available agents of a whole roster, in all and
// per team.
func (a *Alerter) fromSnapshot(s *presence.Snapshot) reading {
	var all []presence.Agent
	byTeam := map[string][]presence.Agent{}
	for ag := range s.All() {
		if ag.Status != presence.Available {
			continue
		}
		all = append(all, ag)
		byTeam[ag.TeamID()] = append(byTeam[ag.TeamID()], ag)
	}
	r := reading{TotalKey: summarize(len(all), all, "")}
	for _, rule := range a.rules[1:] {
		team := byTeam[rule.TeamID]
		r[rule.Key] = summarize(len(team), team, rule.TeamID)
	}
	return r
}

// list counts the available agents with the poll's own requests.
func (a *Alerter) list(ctx context.Context) (reading, error) {
	page, err := a.api.List(ctx, presence.ListOptions{Status: presence.Available, Limit: presence.MaxPageSize})
	if err != nil {
		return nil, err
	}
	r := reading{TotalKey: summarize(page.Total, page.Agents, "")}
	complete := len(page.Agents) >= page.Total
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, rule := range a.rules[1:] {
		if complete {
			var team []presence.Agent
			for _, ag := range page.Agents {
				if ag.TeamID() == rule.TeamID {
					team = append(team, ag)
				}
			}
			r[rule.Key] = summarize(len(team), team, rule.TeamID)
			continue
		}
		g.Go(func() error {
			p, err := a.api.List(gctx, presence.ListOptions{Status: presence.Available, TeamID: rule.TeamID, Limit: presence.MaxPageSize})
			if err != nil {
				return fmt.Errorf("team %s: %w", rule.TeamID, err)
			}
			mu.Lock()
			r[rule.Key] = summarize(p.Total, p.Agents, rule.TeamID)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return r, nil
}

func summarize(count int, agents []presence.Agent, teamID string) teamReading {
	tr := teamReading{count: count, team: teamID}
	for _, ag := range agents {
		if teamID != "" && ag.TeamName() != "" {
			tr.team = ag.TeamName()
		}
		tr.names = append(tr.names, cmp.Or(ag.Name, ag.ID))
	}
	slices.Sort(tr.names)
	if len(tr.names) > maxNames {
		tr.names = tr.names[:maxNames]
	}
	return tr
}

// confirmTimeout bounds the save of a poll's outcomes once its own
// context has ended; the store's own timeout (REDIS_TIMEOUT) is shorter.
const confirmTimeout = 5 * time.Second

// casTries bounds how often a poll decides again after losing the race
// for the state to another writer; then it skips the tick.
const casTries = 3

// intent is one thing a poll decided to send: a post (or, for a firing
// alert closed outside active hours, only an update).
type intent struct {
	key    string // rule key; dataRef for the data notice
	reason Reason
	rule   Rule
	before AlertState // the rule's state it was decided from
	after  AlertState // the rule's state once posted, as saved
	tr     teamReading
	data   DataState // the data notice's state once posted, as saved
	prev   DataState // and before
	obsErr error
}

// Poll runs one poll at now (the tick).
//
// The order is: read the state, read the counts, decide, save the
// decision, post, save what was posted. No message is posted from a state
// that was not saved, and every write of a decision is a compare-and-set
// on the state's revision, so nothing decided from an old read (before
// another replica's poll or a supervisor's click) is ever saved or posted:
// the poll reads again and decides again (a few times, then it skips the
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
// them exactly.
func (a *Alerter) Poll(ctx context.Context, now time.Time) error {
	if a.set.Channel == "" {
		return nil // alerts are off
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
	rd, obsErr := a.observe(ctx)
	if obsErr != nil && ctx.Err() != nil {
		// Cancelled (shutdown): that says nothing about the contact center.
		return fmt.Errorf("read availability: %w", obsErr)
	}
	var errs []error
	if obsErr != nil {
		errs = append(errs, fmt.Errorf("read availability: %w", obsErr))
	}

	id := newPollID()
	var next State
	var todo []intent
	for try := 1; ; try++ {
		if !base.Tick.Before(now) {
			a.log.Debug("alert tick already decided", "tick", now, "decided", base.Tick)
			return nil
		}
		var assumed []string
		next, todo, assumed = a.decide(base, rd, obsErr, now, id)
		if same(base, next) {
			clear(a.outcomes) // base has no markers left to settle
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

	results := make([]postResult, len(todo))
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
func (a *Alerter) decide(base State, rd reading, obsErr error, now time.Time, id string) (State, []intent, []string) {
	st := base
	var assumed []string
	for _, key := range slices.Sorted(maps.Keys(base.Posting)) {
		p := base.Posting[key]
		res, known := a.outcomes[postRef{p.ID, key}]
		if !known {
			assumed = append(assumed, key)
		}
		settleRule(&st, key, p.ID, res, st.Rules[key])
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
		todo = append(todo, intent{key: dataRef, reason: reason, data: ds, prev: st.Data, obsErr: obsErr})
	}
	next.Data = ds

	for _, r := range a.rules {
		before := st.Rules[r.Key]
		obs := Observation{Failed: failed}
		if !failed {
			obs.Count = rd[r.Key].count
		}
		reason, after := Decide(before, obs, r, now)
		tr := rd[r.Key]
		switch reason {
		case Fire, Repeat:
			after.Posted = Posted{Channel: a.set.Channel, Count: tr.count, Team: tr.team, Names: tr.names}
		case Suppressed:
			if before.Phase != PhaseFiring {
				reason = Nothing
			}
		}
		if reason.Posts() {
			if next.Posting == nil {
				next.Posting = make(map[string]Posting)
			}
			next.Posting[r.Key] = Posting{ID: id, Reason: reason.String(), At: now, Prev: before}
		}
		if reason.Posts() || reason == Suppressed {
			todo = append(todo, intent{key: r.Key, reason: reason, rule: r, before: before, after: after, tr: tr})
		}
		if after.Phase != PhaseInactive {
			next.Rules[r.Key] = after
		}
	}
	return next, todo, assumed
}

// saveDecision writes next as the revision after baseRev, for tick now,
// unless the stored revision is no longer baseRev: then it saves nothing
// and returns an error wrapping state.ErrConflict.
func (a *Alerter) saveDecision(ctx context.Context, baseRev int64, next *State, now time.Time) error {
	next.Rev, next.Tick = baseRev+1, now
	var stored State
	err := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		if stored.Rev != baseRev {
			return false, fmt.Errorf("revision %d, decided from %d: %w", stored.Rev, baseRev, state.ErrConflict)
		}
		stored = *next
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("save alert decision: %w", err)
	}
	return nil
}

// confirm replaces the poll's markers by what became of its posts, on the
// state as stored now (acknowledgements may have come in since the
// decision). It is a read-modify-write of facts, not a decision: a marker
// another poll has taken over is left to that poll's assumption. When the
// store fails, the outcomes are kept for the next poll here.
func (a *Alerter) confirm(ctx context.Context, id string, todo []intent, results []postResult) (State, error) {
	if !slices.ContainsFunc(todo, func(in intent) bool { return in.reason.Posts() }) {
		return a.lastKnown(), nil
	}
	var stored State
	var missed []string
	err := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		orig := stored // settle* copy what they change, so orig stays as read
		missed = missed[:0]
		for i, in := range todo {
			var lost bool
			switch {
			case !in.reason.Posts():
				continue
			case in.key == dataRef:
				lost = settleData(&stored, id, results[i])
			default:
				lost = settleRule(&stored, in.key, id, results[i], in.after)
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
			if in.reason.Posts() {
				a.outcomes[postRef{id, in.key}] = results[i]
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
// unless a newer revision is known already (an acknowledgement saved
// while a poll runs).
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

// send carries out one decided intent and reports what became of its
// post. An error means nothing was posted.
func (a *Alerter) send(ctx context.Context, in intent, now time.Time) (postResult, error) {
	r, before, after, tr := in.rule, in.before, in.after, in.tr
	log := a.log.With("alert", cmp.Or(in.key, "data"), "reason", in.reason.String())
	var ts string
	var err error
	switch in.reason {
	case Unavailable:
		ts, err = a.post.Post(ctx, a.set.Channel, a.unavailableMessage(in.data.Failures, in.data.Since, in.obsErr, now))
		if err != nil {
			return postResult{failed: true}, fmt.Errorf("post data unavailable notice: %w", err)
		}
		log.Warn("presence data unavailable notice posted", "failures", in.data.Failures, "err", in.obsErr)
	case Back:
		ts, err = a.post.Post(ctx, a.set.Channel, a.backMessage(in.prev.Since, now))
		if err != nil {
			return postResult{failed: true}, fmt.Errorf("post data back notice: %w", err)
		}
		log.Info("presence data back notice posted")
	case Fire, Repeat:
		ts, err = a.post.Post(ctx, a.set.Channel, a.alertMessage(r, after, after.Posted, in.reason == Repeat, true, now))
		if err != nil {
			return postResult{failed: true}, fmt.Errorf("post %s alert %s: %w", in.reason, r.Key, err)
		}
		log.Info("low availability alert posted", "count", tr.count, "threshold", r.Threshold)
		if in.reason == Repeat {
			// Only the newest copy keeps Acknowledge, so people click the
			// one that says how things are now. Best effort: a copy left
			// with its button still acknowledges this same episode.
			a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Posted again at %s: the newest copy below has the Acknowledge button.",
				a.clock(now, now)))
		}
	case Resolve:
		ts, err = a.post.Post(ctx, a.set.Channel, a.recoveryMessage(r, before, tr, now))
		if err != nil {
			return postResult{failed: true}, fmt.Errorf("post recovery %s: %w", r.Key, err)
		}
		log.Info("availability recovered", "count", tr.count, "threshold", r.Threshold)
		a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Recovered at %s: %s available, after %s below.",
			a.clock(now, now), message.Thousands(tr.count), message.Duration(now.Sub(before.Since))))
	case Suppressed:
		log.Info("firing alert closed outside active hours")
		a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Closed at %s: outside active hours.", a.clock(now, now)))
	}
	return postResult{ts: ts}, nil
}

// updateOriginal rewrites the last alert message without its button, with
// a closing note. It is best effort: the news was posted already.
func (a *Alerter) updateOriginal(ctx context.Context, log *slog.Logger, r Rule, st AlertState, note string) {
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
// posted). value is the clicked button's value, which names the rule and
// its episode. It returns the alert message as it now reads, without its
// button, for the caller to put in place of the original (replace_original
// or chat.update). Acknowledging twice keeps the first acknowledgement.
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
	key, episode, ok := parseAckValue(value)
	if !ok && a.ruleIndex(value) >= 0 {
		// A button from before episodes were carried: the rule key alone.
		// Read on, to say whether a newer episode fires.
		key = value
	}
	i := a.ruleIndex(key)
	if i < 0 {
		over := &EpisodeOverError{Key: key, FiredAt: episode}
		a.log.Info("alert acknowledgement refused: the button is from another episode or no alert",
			"value", message.Truncate(value, 120), "by", by)
		return message.Message{}, over
	}
	ack := func(st *State) (AlertState, bool, error) {
		rs, ok := st.Rules[key]
		firing := ok && rs.Phase == PhaseFiring
		if !firing || episode.IsZero() || !rs.FiredAt.Equal(episode) {
			over := &EpisodeOverError{Key: key, FiredAt: episode}
			if firing {
				over.Current = rs.FiredAt
			}
			return AlertState{}, false, over
		}
		if rs.Acked {
			return rs, false, nil // the first acknowledgement stands
		}
		rs.Acked, rs.AckedBy, rs.AckedAt = true, by, at
		st.Rules = withRule(st.Rules, key, rs)
		st.Rev++
		return rs, true, nil
	}

	var stored State
	var rs AlertState
	var changed bool
	var err error
	storeErr := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		rs, changed, err = ack(&stored)
		return changed && err == nil, nil
	})
	switch {
	case err != nil:
	case storeErr != nil && episode.IsZero():
		// A button without an episode is over whatever the store says.
		err = &EpisodeOverError{Key: key}
	case storeErr != nil:
		a.log.Warn("alert acknowledgement failed: alert state unavailable", "alert", key, "by", by, "err", storeErr)
		return message.Message{}, fmt.Errorf("acknowledge %q: %w: %w", key, ErrStateUnavailable, storeErr)
	case changed:
		a.remember(stored)
		a.log.Info("alert acknowledged", "alert", key, "by", by)
		a.changed(ctx)
	}
	if over, ok := errors.AsType[*EpisodeOverError](err); ok {
		a.log.Info("alert acknowledgement refused: the button is from another episode",
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
	return slices.IndexFunc(a.rules, func(r Rule) bool { return r.Key == key })
}
