package nudge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// Messenger posts, edits and DMs. Post and Update are the alerts'
// Poster's; DM opens the user's IM and posts there, and says where, so
// the DM can be edited. The bot's Slack Web API client implements it.
type Messenger interface {
	Post(ctx context.Context, channel string, m message.Message) (ts string, err error)
	Update(ctx context.Context, channel, ts string, m message.Message) error
	DM(ctx context.Context, user string, m message.Message) (channel, ts string, err error)
}

// Directory finds an agent's Slack user (agentmap.Map implements it).
type Directory interface {
	SlackUser(agentID string) (string, bool)
}

// Silences are the supervisors' silences, as the nudger reads them: once
// a poll, and a note for every post held back.
type Silences interface {
	Active(ctx context.Context, now time.Time) ([]silence.Silence, error)
	NoteSuppressed(ctx context.Context, id, note string, at time.Time) error
}

// Settings configure the nudger.
type Settings struct {
	Rules []Rule
	// Roster is the roster snapshot the bot shares: a poll reads it fresh
	// when it can, else through Get. The nudger never lists the roster
	// itself.
	Roster presence.Reader
	// Directory maps agents to Slack users; nil maps nobody (every
	// episode goes straight to its channel).
	Directory Directory
	// Silences, when set, hold back posts of the rules and teams they
	// cover.
	Silences Silences
	// Location is the zone of times in messages; nil is UTC.
	Location *time.Location
}

// StateKey is where the nudger keeps its State in the store.
const StateKey = "nudges"

// State is everything the nudger remembers, under one key.
type State struct {
	// Rev is the revision: every write adds one, and a poll's write is a
	// compare-and-set on it (see Alerter in package alerts: the same
	// scheme).
	Rev int64 `json:"rev,omitempty"`
	// Tick is the last tick whose decision was saved.
	Tick time.Time `json:"tick,omitzero"`
	// Episodes are the open episodes, by rule name, then agent ID. An
	// episode that ended is dropped, so the state holds no more than the
	// agents past a rule's After now.
	Episodes map[string]map[string]Episode `json:"episodes,omitempty"`
	// Posting are the posts decided and saved but not yet known made.
	Posting []Posting `json:"posting,omitempty"`
}

// Revision implements state.Revised.
func (s State) Revision() int64 { return s.Rev }

// Posting marks a post that a poll decided and saved before making it. A
// later poll that finds it knows the post was decided, not whether it was
// made: unless its own replica knows it failed, it assumes it made (at
// most one DM, never two).
type Posting struct {
	// ID names the poll that decided it.
	ID    string `json:"id"`
	Rule  string `json:"rule"`
	Agent string `json:"agent"`
	// Kind is kindDM or kindEscalation.
	Kind string `json:"kind"`
	// Since names the episode.
	Since time.Time `json:"since"`
}

const (
	kindDM         = "dm"
	kindEscalation = "escalation"
)

func (p Posting) ref() postRef { return postRef{p.ID, p.Rule, p.Agent, p.Kind} }

// postRef names a decided post.
type postRef struct{ id, rule, agent, kind string }

// postResult is what became of a decided post.
type postResult struct {
	channel, ts string    // where it went, when known
	failed      bool      // nothing was posted
	since       time.Time // the episode it was for
}

// Errors of MoreTime.
var (
	// ErrEpisodeOver: the button's episode is over (the agent moved on,
	// or a newer stretch began): nothing to give more time to.
	ErrEpisodeOver = errors.New("that reminder is over")
	// ErrStateUnavailable: the state could not be read or written;
	// nothing changed, and trying again may work.
	ErrStateUnavailable = errors.New("nudge state unavailable")
	// ErrNotUnderstood: the value is no [5 more minutes] button's.
	ErrNotUnderstood = errors.New("not a nudge button")
	// ErrNoMoreTime: the episode has had its MaxMoreTime extensions;
	// nothing changed. MoreTime returns it as a *NoMoreTimeError.
	ErrNoMoreTime = errors.New("no more extra time")
)

// NoMoreTimeError is MoreTime's refusal of a click beyond MaxMoreTime.
// It wraps ErrNoMoreTime.
type NoMoreTimeError struct {
	Agent string
	// EscalateAt is when the channel is told.
	EscalateAt time.Time
	// Answer is the clicker's answer: "You've had the extra time
	// already; your supervisors will be told at 10:07."
	Answer string
}

func (e *NoMoreTimeError) Error() string {
	return fmt.Sprintf("5 more minutes for %s: %v (escalation at %s)", e.Agent, ErrNoMoreTime, e.EscalateAt.UTC().Format(time.RFC3339))
}

func (e *NoMoreTimeError) Unwrap() error { return ErrNoMoreTime }

// Nudger runs the time-in-status rules. Poll and MoreTime may be called
// concurrently.
type Nudger struct {
	msg   Messenger
	store state.Store
	set   Settings
	rules []Rule
	loc   *time.Location
	log   *slog.Logger

	// mu lets one poll run at a time here (the scheduler's lock does so
	// across replicas); it is held across network calls, so no click
	// takes it.
	mu sync.Mutex
	// outcomes, guarded by mu, are what became of this replica's posts
	// whose outcome it could not save, for the next poll here.
	outcomes map[postRef]postResult
	// untimed, guarded by mu, are the agents in a watched status whom the
	// last poll found without a status_since, so that each is logged
	// once, not every poll.
	untimed map[string]bool
}

// New returns a nudger; log may be nil.
func New(msg Messenger, store state.Store, s Settings, log *slog.Logger) *Nudger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Nudger{msg: msg, store: store, set: s, rules: slices.Clone(s.Rules), loc: loc,
		log: log.With("component", "nudges"), outcomes: make(map[postRef]postResult)}
}

// casTries bounds how often a poll decides again after losing the race
// for the state; confirmTimeout bounds saving what became of its posts
// once its own context has ended.
const (
	casTries       = 3
	confirmTimeout = 5 * time.Second
)

// reading is one poll's data.
type reading struct {
	snap *presence.Snapshot
	// cands are, per rule, the agents in its status and teams for at
	// least its After: the only ones an episode can start for.
	cands    [][]presence.Agent
	silences []silence.Silence
}

// intent is one agent's decision under one rule, to carry out.
type intent struct {
	rule          int
	agent         string
	act           Action
	before, after Episode
	obs           Observation
	silence       string // the silence holding its posts back, if any
}

// Poll runs one poll at now (the tick): read the state, the roster and
// the silences; decide for every rule over every agent; save the decision
// with a marker per post (a compare-and-set on the revision); post; save
// what became of the posts. A post that failed is undone in the state,
// so the next poll decides it again; a marker another poll finds is
// assumed made.
func (n *Nudger) Poll(ctx context.Context, now time.Time) error {
	if len(n.rules) == 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	base, err := n.load(ctx)
	if err != nil {
		return schedule.SkipTick(schedule.SkipStoreUnavailable, err)
	}
	snap, err := n.roster(ctx)
	if err != nil {
		// No data is not everyone moving on: decide nothing.
		return fmt.Errorf("nudges: read the roster: %w", err)
	}
	rd := n.read(ctx, snap, now)

	id := newPollID()
	var next State
	var todo []intent
	for try := 1; ; try++ {
		if !base.Tick.Before(now) {
			n.log.Debug("nudge tick already decided", "tick", now, "decided", base.Tick)
			return nil
		}
		var changed bool
		var assumed []Posting
		next, todo, changed, assumed = n.decide(base, rd, now, id)
		if !changed {
			clear(n.outcomes) // base has no markers left to settle
			return nil
		}
		err := n.save(ctx, base.Rev, &next, now)
		if err == nil {
			clear(n.outcomes)
			for _, p := range assumed {
				n.log.Warn("an earlier poll decided a nudge post and never confirmed it; assuming it was made",
					"rule", p.Rule, "agent", p.Agent, "kind", p.Kind)
			}
			break
		}
		if !errors.Is(err, state.ErrConflict) {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, err)
		}
		if try == casTries {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, fmt.Errorf("nudge state changed under %d tries: %w", casTries, err))
		}
		if base, err = n.load(ctx); err != nil {
			return schedule.SkipTick(schedule.SkipStoreUnavailable, err)
		}
	}

	var errs []error
	results := make(map[postRef]postResult)
	for _, in := range todo {
		errs = append(errs, n.send(ctx, id, in, now, results)...)
	}
	if len(results) > 0 {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
		if err := n.confirm(cctx, results); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// roster reads the shared snapshot: fresh when one is at hand, else
// through Get (one fetch shared with every other reader).
func (n *Nudger) roster(ctx context.Context) (*presence.Snapshot, error) {
	if n.set.Roster == nil {
		return nil, errors.New("no roster")
	}
	if s, ok := n.set.Roster.Fresh(ctx); ok {
		return s, nil
	}
	return n.set.Roster.Get(ctx)
}

// read gathers the poll's data: one pass over the roster for every rule's
// candidates, and the silences, read once. Reading silences fails open:
// a missed nudge is worse than an unwanted one.
func (n *Nudger) read(ctx context.Context, snap *presence.Snapshot, now time.Time) reading {
	rd := reading{snap: snap, cands: make([][]presence.Agent, len(n.rules))}
	var untimed map[string]bool
	for a := range snap.All() {
		for i := range n.rules {
			r := &n.rules[i]
			switch {
			case r.watches(a, now):
				rd.cands[i] = append(rd.cands[i], a)
			case a.Status == r.Status && a.StatusSince.IsZero() && r.covers(a.TeamID()):
				if untimed == nil {
					untimed = make(map[string]bool)
				}
				if !untimed[a.ID] && !n.untimed[a.ID] {
					n.log.Info("agent has no status_since: their time in status cannot be measured, so no rule nudges them until it has one",
						"agent", a.ID, "status", a.Status, "rule", r.Name)
				}
				untimed[a.ID] = true
			}
		}
	}
	n.untimed = untimed
	if n.set.Silences != nil {
		list, err := n.set.Silences.Active(ctx, now)
		if err != nil {
			n.log.Warn("silences unreadable; nudging as if nothing were silenced", "err", err)
		}
		rd.silences = list
	}
	return rd
}

// observe is an agent's observation under rule r (a is the agent as the
// roster has it, ok whether it has it at all).
func (n *Nudger) observe(r Rule, a presence.Agent, ok bool, rd reading, now time.Time) (Observation, string) {
	if !ok || !r.covers(a.TeamID()) {
		return Observation{}, ""
	}
	obs := Observation{Present: true, Status: a.Status, Since: a.StatusSince, Name: a.Name, Team: a.TeamID()}
	if a.Status != r.Status {
		return obs, "" // moved on: who they are matters no more
	}
	if n.set.Directory != nil {
		if u, ok := n.set.Directory.SlackUser(a.ID); ok {
			obs.User = u
		}
	}
	s, silenced := silence.Find(rd.silences, r.Name, []string{obs.Team}, now)
	obs.Silenced = silenced
	return obs, s.ID
}

// decide is the poll's decision from base and the reading: the state to
// save (with a marker per post) and what to send. It first settles the
// markers earlier polls left: by the outcome when this replica knows it,
// else assuming the post made (those are returned, for the log). It does
// no I/O.
func (n *Nudger) decide(base State, rd reading, now time.Time, id string) (next State, todo []intent, changed bool, assumed []Posting) {
	eps := base.Episodes
	if len(base.Posting) > 0 {
		changed = true
		eps = cloneEpisodes(eps)
		for _, p := range base.Posting {
			res, known := n.outcomes[p.ref()]
			if !known {
				assumed = append(assumed, p)
			}
			settle(eps, p, res)
		}
	}

	next = State{Rev: base.Rev, Tick: base.Tick, Episodes: make(map[string]map[string]Episode, len(n.rules))}
	for i, r := range n.rules {
		prevs := eps[r.Name]
		var kept map[string]Episode
		decideOne := func(agentID string, prev Episode, obs Observation, silenceID string) {
			act, ep := Decide(prev, obs, r, now)
			if act != 0 || ep != prev {
				changed = true
			}
			if act != 0 {
				todo = append(todo, intent{rule: i, agent: agentID, act: act, before: prev, after: ep, obs: obs, silence: silenceID})
			}
			if act.Has(Nudge) && !ep.DM.Held {
				next.Posting = append(next.Posting, Posting{ID: id, Rule: r.Name, Agent: agentID, Kind: kindDM, Since: ep.Since})
			}
			if act.Has(Escalate) && !ep.Escalation.Held {
				next.Posting = append(next.Posting, Posting{ID: id, Rule: r.Name, Agent: agentID, Kind: kindEscalation, Since: ep.Since})
			}
			if ep.open() {
				if kept == nil {
					kept = make(map[string]Episode, len(prevs)+1)
				}
				kept[agentID] = ep
			}
		}
		for _, a := range rd.cands[i] {
			obs, sid := n.observe(r, a, true, rd, now)
			decideOne(a.ID, prevs[a.ID], obs, sid)
		}
		// Episodes whose agents are no candidates now: moved on, left,
		// or (After raised since) still there under the new After.
		for _, agentID := range slices.Sorted(maps.Keys(prevs)) {
			a, ok := rd.snap.Agent(agentID)
			if ok && r.watches(a, now) {
				continue // a candidate: decided above
			}
			obs, sid := n.observe(r, a, ok, rd, now)
			decideOne(agentID, prevs[agentID], obs, sid)
		}
		if kept != nil {
			next.Episodes[r.Name] = kept
		}
	}
	for name := range eps {
		if !slices.ContainsFunc(n.rules, func(r Rule) bool { return r.Name == name }) {
			changed = true // a rule taken out of the configuration: forgotten
		}
	}
	return next, todo, changed, assumed
}

// settle applies to eps what became of a marked post: a failure undoes it
// in its episode (still the same episode), so it is decided again; a post
// made records where it went. It changes eps's inner maps by copying.
func settle(eps map[string]map[string]Episode, p Posting, res postResult) {
	ep, ok := eps[p.Rule][p.Agent]
	if !ok || !ep.Since.Equal(p.Since) {
		return
	}
	switch {
	case res.failed && p.Kind == kindDM:
		ep.NudgedAt, ep.EscalateAt, ep.DM = time.Time{}, time.Time{}, Posted{}
	case res.failed:
		ep.EscalatedAt, ep.Escalation = time.Time{}, Posted{}
	case res.ts == "":
		return // assumed made: where it went is unknown
	case p.Kind == kindDM && ep.DM.TS == "" && !ep.NudgedAt.IsZero():
		ep.DM = Posted{Channel: res.channel, TS: res.ts}
	case p.Kind == kindEscalation && ep.Escalation.TS == "" && !ep.EscalatedAt.IsZero():
		ep.Escalation = Posted{Channel: res.channel, TS: res.ts}
	default:
		return
	}
	inner := maps.Clone(eps[p.Rule])
	inner[p.Agent] = ep
	eps[p.Rule] = inner
}

func cloneEpisodes(eps map[string]map[string]Episode) map[string]map[string]Episode {
	out := make(map[string]map[string]Episode, len(eps))
	maps.Copy(out, eps) // inner maps are copied by settle when changed
	return out
}

// newPollID names a poll's markers.
func newPollID() string { return strconv.FormatUint(rand.Uint64(), 36) }

// save writes next as the revision after baseRev, for tick now, unless
// the stored revision is no longer baseRev: then it saves nothing and
// returns an error wrapping state.ErrConflict.
func (n *Nudger) save(ctx context.Context, baseRev int64, next *State, now time.Time) error {
	next.Rev, next.Tick = baseRev+1, now
	if err := state.SaveRevision(ctx, n.store, StateKey, baseRev, *next); err != nil {
		return fmt.Errorf("save nudge decision: %w", err)
	}
	return nil
}

// load reads the state to decide from. A corrupt value is logged and
// replaced by an empty state (a DM again is better than none ever).
func (n *Nudger) load(ctx context.Context) (State, error) {
	var st State
	_, err := n.store.Load(ctx, StateKey, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		n.log.Error("nudge state is corrupt; starting from empty state", "err", err)
		if err := n.store.Save(ctx, StateKey, State{}); err != nil {
			return State{}, fmt.Errorf("replace corrupt nudge state: %w", err)
		}
		return State{}, nil
	case err != nil:
		return State{}, fmt.Errorf("load nudge state: %w", err)
	}
	return st, nil
}

// confirm replaces the poll's markers by what became of its posts, on the
// state as stored now. A marker another poll has taken over (it assumed
// the post made) is left to it; a post that failed then is missed, and
// logged. When the store fails, the outcomes are kept for the next poll
// here.
func (n *Nudger) confirm(ctx context.Context, results map[postRef]postResult) error {
	var stored State
	var missed []postRef
	err := n.store.Update(ctx, StateKey, &stored, func(bool) (bool, error) {
		missed = missed[:0]
		stored.Episodes = cloneEpisodes(stored.Episodes)
		var left []Posting
		for _, p := range stored.Posting {
			if _, mine := results[p.ref()]; !mine {
				left = append(left, p)
			}
		}
		for ref, res := range results {
			i := slices.IndexFunc(stored.Posting, func(p Posting) bool { return p.ref() == ref })
			if i < 0 && res.failed {
				missed = append(missed, ref)
				continue
			}
			// A post made records where it went, even under a marker
			// another poll took over.
			p := Posting{ID: ref.id, Rule: ref.rule, Agent: ref.agent, Kind: ref.kind, Since: res.since}
			if i >= 0 {
				p = stored.Posting[i]
			}
			settle(stored.Episodes, p, res)
		}
		stored.Posting = left
		stored.Rev++
		return true, nil
	})
	if err != nil {
		maps.Copy(n.outcomes, results)
		return fmt.Errorf("save sent nudges: %w", err)
	}
	for _, ref := range missed {
		n.log.Warn("a nudge post failed after another poll assumed it made; it is not retried",
			"rule", ref.rule, "agent", ref.agent, "kind", ref.kind)
	}
	return nil
}

// send carries out one intent: the edits of an episode that ended, the
// DM, the escalation. It records each post's outcome in results under
// the poll's marker; a post a silence held back is noted to it instead.
func (n *Nudger) send(ctx context.Context, id string, in intent, now time.Time, results map[postRef]postResult) []error {
	r := n.rules[in.rule]
	log := n.log.With("rule", r.Name, "agent", in.agent, "action", in.act.String())
	var errs []error
	if in.act.Has(Close) {
		n.edit(ctx, log, in.before.DM, thanksMessage(in.before, in.obs))
		n.edit(ctx, log, in.before.Escalation, leftMessage(in.agent, in.before, in.obs, now))
		log.Info("time in status over", "status", in.before.Status, "for", left(in.before, in.obs, now).String())
	}
	if in.act.Has(Expire) {
		n.edit(ctx, log, in.before.DM, n.dmMessage(r, in.agent, in.before, false, now))
		n.edit(ctx, log, in.before.Escalation, n.escalationMessage(r, in.agent, in.before, false, now))
		log.Info("time-in-status episode closed outside active hours")
	}
	ep := in.after
	if in.act.Has(Nudge) {
		ref := postRef{id, r.Name, in.agent, kindDM}
		switch {
		case ep.DM.Held:
			n.held(ctx, log, in.silence, heldNote("DM", cmp.Or(ep.Name, in.agent), r, ep, now), now)
		default:
			ch, ts, err := n.msg.DM(ctx, ep.User, n.dmMessage(r, in.agent, ep, true, now))
			if err != nil {
				results[ref] = postResult{failed: true, since: ep.Since}
				errs = append(errs, fmt.Errorf("nudge %s (rule %s): %w", in.agent, r.Name, err))
				break
			}
			results[ref] = postResult{channel: ch, ts: ts, since: ep.Since}
			log.Info("agent nudged", "status", ep.Status, "since", ep.Since)
		}
	}
	if in.act.Has(Escalate) {
		ref := postRef{id, r.Name, in.agent, kindEscalation}
		switch {
		case ep.Escalation.Held:
			n.held(ctx, log, in.silence, heldNote("Escalation", cmp.Or(ep.Name, in.agent), r, ep, now), now)
		default:
			ts, err := n.msg.Post(ctx, r.Channel, n.escalationMessage(r, in.agent, ep, true, now))
			if err != nil {
				results[ref] = postResult{failed: true, since: ep.Since}
				errs = append(errs, fmt.Errorf("escalate %s (rule %s): %w", in.agent, r.Name, err))
				break
			}
			results[ref] = postResult{channel: r.Channel, ts: ts, since: ep.Since}
			log.Info("time in status escalated", "status", ep.Status, "since", ep.Since, "channel", r.Channel)
		}
	}
	return errs
}

// edit replaces a posted message; best effort: the news is in the state,
// and a message left with its buttons still works (they check the status).
func (n *Nudger) edit(ctx context.Context, log *slog.Logger, p Posted, m message.Message) {
	if p.TS == "" {
		return
	}
	if err := n.msg.Update(ctx, p.Channel, p.TS, m); err != nil {
		log.Warn("could not edit a nudge message", "err", err)
	}
}

// held notes a post a silence held back.
func (n *Nudger) held(ctx context.Context, log *slog.Logger, silenceID, note string, now time.Time) {
	log.Info("nudge post held back by a silence", "silence", silenceID)
	if n.set.Silences == nil || silenceID == "" {
		return
	}
	if err := n.set.Silences.NoteSuppressed(ctx, silenceID, note, now); err != nil {
		log.Warn("could not note a post held back by a silence", "silence", silenceID, "err", err)
	}
}

// MoreTime is a [5 more minutes] click by a Slack user at a time: the
// escalation moves to at least MoreTime from now (after it, the click is
// only noted). value is the button's value, which names the rule, the
// agent, the episode and the message it is on. It returns that message as
// it now reads, to replace it; the other message of the episode (the DM
// or the escalation), if any, is edited here. A click beyond MaxMoreTime
// before the escalation changes nothing and returns a *NoMoreTimeError,
// whose Answer tells the clicker when the supervisors will be told.
//
// The click is decided from the stored state and saved in one atomic
// update that adds a revision, so a poll that decided from the revision
// before has its write refused and decides again: no poll undoes it.
func (n *Nudger) MoreTime(ctx context.Context, value, by string, at time.Time) (message.Message, error) {
	rule, agentID, since, on, ok := parseMoreValue(value)
	if !ok {
		return message.Message{}, ErrNotUnderstood
	}
	i := slices.IndexFunc(n.rules, func(r Rule) bool { return r.Name == rule })
	if i < 0 {
		return message.Message{}, fmt.Errorf("rule %q: %w", rule, ErrEpisodeOver)
	}
	r := n.rules[i]
	var stored State
	var ep Episode
	var over error
	err := n.store.Update(ctx, StateKey, &stored, func(bool) (bool, error) {
		over = nil
		cur, ok := stored.Episodes[rule][agentID]
		if !ok || !cur.Since.Equal(since) || cur.Closed {
			over = fmt.Errorf("%s in rule %q: %w", agentID, rule, ErrEpisodeOver)
			return false, nil
		}
		if ep, ok = GiveMoreTime(cur, by, at); !ok {
			over = &NoMoreTimeError{Agent: agentID, EscalateAt: cur.EscalateAt,
				Answer: "You've had the extra time already; your supervisors will be told at " + n.clock(cur.EscalateAt, at) + "."}
			return false, nil
		}
		inner := maps.Clone(stored.Episodes[rule])
		inner[agentID] = ep
		stored.Episodes = maps.Clone(stored.Episodes)
		stored.Episodes[rule] = inner
		stored.Rev++
		return true, nil
	})
	switch {
	case err != nil:
		n.log.Warn("5 more minutes failed: nudge state unavailable", "rule", rule, "agent", agentID, "by", by, "err", err)
		return message.Message{}, fmt.Errorf("5 more minutes for %s: %w: %w", agentID, ErrStateUnavailable, err)
	case errors.Is(over, ErrNoMoreTime):
		n.log.Info("5 more minutes refused: the extra time is used up", "rule", rule, "agent", agentID, "by", by,
			"max", MaxMoreTime)
		return message.Message{}, over
	case over != nil:
		n.log.Info("5 more minutes refused: the episode is over", "rule", rule, "agent", agentID, "by", by)
		return message.Message{}, over
	}
	n.log.Info("5 more minutes", "rule", rule, "agent", agentID, "by", by, "until", ep.MoreUntil)
	log := n.log.With("rule", rule, "agent", agentID)
	dm, esc := n.dmMessage(r, agentID, ep, true, at), n.escalationMessage(r, agentID, ep, true, at)
	m := dm
	if on == onEscalation {
		m = esc
		n.edit(ctx, log, ep.DM, dm)
	} else {
		n.edit(ctx, log, ep.Escalation, esc)
	}
	m.ReplaceOriginal = true
	return m, nil
}
