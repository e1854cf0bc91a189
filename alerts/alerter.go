package alerts

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
}

// State is everything the alerter remembers, stored under one key.
type State struct {
	Data  DataState             `json:"data,omitzero"`
	Rules map[string]AlertState `json:"rules,omitempty"`
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

	// stateMu guards what follows: quick reads and writes, never I/O.
	stateMu sync.Mutex
	// last is the state as last committed or loaded. While dirty (its
	// save failed) it is newer than the store's, and is used instead of
	// loading; the home board reads it too.
	last   State
	dirty  bool
	loaded bool
}

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

// Poll runs one poll at now (the tick): read, decide per rule, send, and
// save what was sent. A failed post leaves its rule's state as it was, so
// the next poll tries again.
func (a *Alerter) Poll(ctx context.Context, now time.Time) error {
	if a.set.Channel == "" {
		return nil // alerts are off
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prev, err := a.load(ctx)
	if err != nil {
		// Deciding from a state we could not read risks posting again
		// what another replica posted: skip this tick instead.
		return schedule.SkipTick(schedule.SkipStoreUnavailable, err)
	}
	rd, obsErr := a.observe(ctx)
	failed := obsErr != nil
	if failed && ctx.Err() != nil {
		// Cancelled (shutdown): that says nothing about the contact center.
		return fmt.Errorf("read availability: %w", obsErr)
	}

	var errs []error
	if failed {
		errs = append(errs, fmt.Errorf("read availability: %w", obsErr))
	}
	next := State{Rules: make(map[string]AlertState, len(a.rules))}

	reason, ds := DecideData(prev.Data, failed, a.data, now)
	if err := a.sendData(ctx, reason, prev.Data, obsErr, now); err != nil {
		errs = append(errs, err)
		ds = prev.Data
	}
	next.Data = ds

	for _, r := range a.rules {
		before := prev.Rules[r.Key]
		obs := Observation{Failed: failed}
		if !failed {
			obs.Count = rd[r.Key].count
		}
		reason, after := Decide(before, obs, r, now)
		after, err := a.send(ctx, r, reason, before, after, rd[r.Key], now)
		if err != nil {
			errs = append(errs, err)
			after = before
		}
		if after.Phase != PhaseInactive {
			next.Rules[r.Key] = after
		}
	}
	if err := a.commit(ctx, prev, next); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// load returns the state to decide from: the store's, or the last
// committed one while the store is behind. A corrupt store value is logged
// and replaced by an empty state: better a repeated alert than none. Any
// other read failure is an error.
func (a *Alerter) load(ctx context.Context) (State, error) {
	a.stateMu.Lock()
	if a.dirty {
		defer a.stateMu.Unlock()
		return a.last, nil
	}
	a.stateMu.Unlock()
	var st State
	found, err := a.store.Load(ctx, alertsStateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		a.log.Error("alert state is corrupt; starting from empty state", "err", err)
		st = State{}
	case err != nil:
		return State{}, fmt.Errorf("load alert state: %w", err)
	case !found:
		st = State{}
	}
	a.remember(st, false)
	return st, nil
}

// remember records st as the latest known state.
func (a *Alerter) remember(st State, dirty bool) {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	a.last, a.dirty, a.loaded = st, dirty, true
}

// commit saves next when it differs from what was loaded, keeping any
// acknowledgement saved meanwhile (on this replica or another): the poll
// decided from a state read before it.
func (a *Alerter) commit(ctx context.Context, prev, next State) error {
	// An acknowledgement made during this poll, kept in memory while the
	// store was behind, must survive it too.
	a.stateMu.Lock()
	dirty := a.dirty
	mergeAcks(&next, a.last)
	a.stateMu.Unlock()
	if same(prev, next) && !dirty {
		a.remember(next, false)
		return nil
	}
	var stored State
	err := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
		mergeAcks(&next, stored)
		stored = next
		return true, nil
	})
	if err != nil && !errors.Is(err, state.ErrCorrupt) {
		a.remember(next, true)
		return fmt.Errorf("save alert state: %w", err)
	}
	if errors.Is(err, state.ErrCorrupt) {
		if err := a.store.Save(ctx, alertsStateKey, next); err != nil {
			a.remember(next, true)
			return fmt.Errorf("save alert state: %w", err)
		}
	}
	a.remember(next, false)
	return nil
}

// mergeAcks copies into next the acknowledgements from that it lacks, for
// the same firing (same FiredAt): a poll decides from a state read before
// a supervisor's click, and must not undo it.
func mergeAcks(next *State, from State) {
	for key, st := range next.Rules {
		was, ok := from.Rules[key]
		if !ok || !was.Acked || st.Acked || !was.FiredAt.Equal(st.FiredAt) {
			continue
		}
		st.Acked, st.AckedBy, st.AckedAt = true, was.AckedBy, was.AckedAt
		next.Rules[key] = st
	}
}

func same(x, y State) bool {
	bx, errx := json.Marshal(x)
	by, erry := json.Marshal(y)
	return errx == nil && erry == nil && bytes.Equal(bx, by)
}

// send carries out a rule's decision and returns the state to keep, with
// the posted message recorded. An error means nothing was posted, and the
// caller keeps the previous state.
func (a *Alerter) send(ctx context.Context, r Rule, reason Reason, before, after AlertState, tr teamReading, now time.Time) (AlertState, error) {
	log := a.log.With("alert", r.Key, "reason", reason.String())
	switch reason {
	case Fire, Repeat:
		p := Posted{Channel: a.set.Channel, Count: tr.count, Team: tr.team, Names: tr.names}
		ts, err := a.post.Post(ctx, a.set.Channel, a.alertMessage(r, after, p, reason == Repeat, true, now))
		if err != nil {
			return AlertState{}, fmt.Errorf("post %s alert %s: %w", reason, r.Key, err)
		}
		p.TS = ts
		after.Posted = p
		log.Info("low availability alert posted", "count", tr.count, "threshold", r.Threshold)
		if reason == Repeat {
			// Only the newest copy keeps Acknowledge, so people click the
			// one that says how things are now. Best effort: a copy left
			// with its button still acknowledges this same episode.
			a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Posted again at %s: the newest copy below has the Acknowledge button.",
				a.clock(now, now)))
		}
	case Resolve:
		if _, err := a.post.Post(ctx, a.set.Channel, a.recoveryMessage(r, before, tr, now)); err != nil {
			return AlertState{}, fmt.Errorf("post recovery %s: %w", r.Key, err)
		}
		log.Info("availability recovered", "count", tr.count, "threshold", r.Threshold)
		a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Recovered at %s: %s available, after %s below.",
			a.clock(now, now), message.Thousands(tr.count), message.Duration(now.Sub(before.Since))))
	case Suppressed:
		if before.Phase == PhaseFiring {
			log.Info("firing alert closed outside active hours")
			a.updateOriginal(ctx, log, r, before, fmt.Sprintf("Closed at %s: outside active hours.", a.clock(now, now)))
		}
	}
	return after, nil
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

func (a *Alerter) sendData(ctx context.Context, reason Reason, prev DataState, obsErr error, now time.Time) error {
	switch reason {
	case Unavailable:
		failures := prev.Failures + 1
		since := prev.Since
		if failures == 1 {
			since = now
		}
		if _, err := a.post.Post(ctx, a.set.Channel, a.unavailableMessage(failures, since, obsErr, now)); err != nil {
			return fmt.Errorf("post data unavailable notice: %w", err)
		}
		a.log.Warn("presence data unavailable notice posted", "failures", failures, "err", obsErr)
	case Back:
		if _, err := a.post.Post(ctx, a.set.Channel, a.backMessage(prev.Since, now)); err != nil {
			return fmt.Errorf("post data back notice: %w", err)
		}
		a.log.Info("presence data back notice posted")
	}
	return nil
}

// Acknowledge marks a firing alert as acknowledged by a Slack user at a
// time: it is not repeated until it resolves (the recovery is still
// posted). value is the clicked button's value, which names the rule and
// its episode. It returns the alert message as it now reads, without its
// button, for the caller to put in place of the original (replace_original
// or chat.update). Acknowledging twice keeps the first acknowledgement.
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
		rules := make(map[string]AlertState, len(st.Rules))
		for k, v := range st.Rules {
			rules[k] = v
		}
		rules[key] = rs
		st.Rules = rules
		return rs, true, nil
	}

	var rs AlertState
	var err error
	a.stateMu.Lock()
	if a.dirty {
		// The store is behind: acknowledge in memory; the next poll saves it.
		var changed bool
		rs, changed, err = ack(&a.last)
		a.stateMu.Unlock()
		if err == nil && changed {
			a.log.Info("alert acknowledged (saved with the next poll)", "alert", key, "by", by)
		}
	} else {
		a.stateMu.Unlock()
		// Atomic in the store, so no poll on any replica overwrites it.
		var stored State
		var ackErr error
		storeErr := a.store.Update(ctx, alertsStateKey, &stored, func(bool) (bool, error) {
			var changed bool
			rs, changed, ackErr = ack(&stored)
			return changed && ackErr == nil, nil
		})
		switch {
		case ackErr != nil:
			err = ackErr
		case storeErr != nil && episode.IsZero():
			// A button without an episode is over whatever the store says.
			err = &EpisodeOverError{Key: key}
		case storeErr != nil:
			a.log.Warn("alert acknowledgement failed: alert state unavailable", "alert", key, "by", by, "err", storeErr)
			return message.Message{}, fmt.Errorf("acknowledge %q: %w: %w", key, ErrStateUnavailable, storeErr)
		default:
			a.patchAck(key, rs)
			a.log.Info("alert acknowledged", "alert", key, "by", by)
		}
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

// patchAck copies a saved acknowledgement into what this replica knows;
// a poll's unsaved state (dirty) stays as it is.
func (a *Alerter) patchAck(key string, rs AlertState) {
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	r, ok := a.last.Rules[key]
	if !ok || !r.FiredAt.Equal(rs.FiredAt) || r.Acked {
		return
	}
	rules := make(map[string]AlertState, len(a.last.Rules))
	for k, v := range a.last.Rules {
		rules[k] = v
	}
	r.Acked, r.AckedBy, r.AckedAt = rs.Acked, rs.AckedBy, rs.AckedAt
	rules[key] = r
	a.last.Rules = rules
}
