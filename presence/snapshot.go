package presence

import (
	"context"
	"iter"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Snapshot is the whole roster at one moment, plus the changes the bot
// itself made since. It is immutable: readers share it freely.
type Snapshot struct {
	// FetchedAt is when the fetch began, so the data is at least this fresh.
	FetchedAt time.Time
	Summary   Summary

	agents    []Agent
	index     map[string]int
	overrides map[string]Agent // changes made through the bot since the fetch
}

// Len is the number of agents.
func (s *Snapshot) Len() int { return len(s.agents) }

// All yields every agent, with the bot's own later changes applied.
func (s *Snapshot) All() iter.Seq[Agent] {
	return func(yield func(Agent) bool) {
		for _, a := range s.agents {
			if o, ok := s.overrides[a.ID]; ok {
				a = o
			}
			if !yield(a) {
				return
			}
		}
	}
}

// Agent looks one agent up by ID.
func (s *Snapshot) Agent(id string) (Agent, bool) {
	if o, ok := s.overrides[id]; ok {
		return o, true
	}
	i, ok := s.index[id]
	if !ok {
		return Agent{}, false
	}
	return s.agents[i], true
}

// Age is how old the data is at now.
func (s *Snapshot) Age(now time.Time) time.Duration { return now.Sub(s.FetchedAt) }

func newSnapshot(r *Roster, fetchedAt time.Time) *Snapshot {
	idx := make(map[string]int, len(r.Agents))
	for i, a := range r.Agents {
		idx[a.ID] = i
	}
	return &Snapshot{FetchedAt: fetchedAt, Summary: r.Summary, agents: r.Agents, index: idx}
}

// withOverride returns a copy of s in which a replaces the agent of the
// same ID and the counts move with it. Only the small overrides map is
// copied; the roster is shared.
func (s *Snapshot) withOverride(a Agent) *Snapshot {
	old, ok := s.Agent(a.ID)
	if !ok {
		return s // not in this roster (filtered out or new): nothing to show
	}
	n := *s
	n.overrides = make(map[string]Agent, len(s.overrides)+1)
	for k, v := range s.overrides {
		n.overrides[k] = v
	}
	n.overrides[a.ID] = a
	n.Summary = moveCount(n.Summary, old.Status, a.Status)
	return &n
}

func moveCount(s Summary, from, to Status) Summary {
	if from == to {
		return s
	}
	s.Total--
	switch from {
	case Available:
		s.Available--
	case OnCall:
		s.OnCall--
	case Busy:
		s.Busy--
	case AfterCallWork:
		s.AfterCallWork--
	case Offline:
		s.Offline--
	}
	s.Add(to)
	return s
}

// RosterSource fetches the whole roster.
type RosterSource interface {
	ListAll(ctx context.Context, opts ListOptions) (*Roster, error)
}

// Snapshots shares one roster between every reader for a short TTL, so a
// burst of /presence costs one roster fetch, not one each. Concurrent
// refreshes are coalesced.
type Snapshots struct {
	src RosterSource
	ttl time.Duration
	now func() time.Time

	group singleflight.Group

	mu      sync.Mutex
	current *Snapshot // nil when expired or after a failed refresh
	last    *Snapshot // the last good one, shown marked with its age on failures
	// changes are the bot's own updates with when they were made, so a
	// fetch that began before an update cannot bring the old status back.
	changes map[string]change

	onRefresh func(*Snapshot)
}

type change struct {
	agent Agent
	at    time.Time
}

// NewSnapshots returns a cache over src. A ttl of 0 fetches every time
// (still coalescing concurrent readers).
func NewSnapshots(src RosterSource, ttl time.Duration, now func() time.Time) *Snapshots {
	if now == nil {
		now = time.Now
	}
	return &Snapshots{src: src, ttl: ttl, now: now, changes: map[string]change{}}
}

// OnRefresh calls f with every freshly fetched snapshot (metrics read the
// counts from it). Set it before the first Get.
func (c *Snapshots) OnRefresh(f func(*Snapshot)) { c.onRefresh = f }

// Get returns a snapshot no older than the TTL, fetching one if needed.
func (c *Snapshots) Get(ctx context.Context) (*Snapshot, error) {
	c.mu.Lock()
	cur := c.current
	c.mu.Unlock()
	if cur != nil && c.now().Sub(cur.FetchedAt) < c.ttl {
		return cur, nil
	}
	// The fetch runs detached from any one caller, so one impatient reader
	// cannot fail the others it is shared with; each still stops waiting
	// at its own deadline.
	ch := c.group.DoChan("roster", func() (any, error) {
		return c.refresh(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Snapshot), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchTimeout bounds a detached roster fetch.
const fetchTimeout = 8 * time.Second

func (c *Snapshots) refresh(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	began := c.now()
	r, err := c.src.ListAll(ctx, ListOptions{})
	snap, err := c.install(r, began, err)
	if err == nil && c.onRefresh != nil {
		c.onRefresh(snap)
	}
	return snap, err
}

// install makes a fetched roster current, or drops the current one when
// the fetch failed: stale data is never served as current.
func (c *Snapshots) install(r *Roster, began time.Time, err error) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.current = nil
		return nil, err
	}
	snap := newSnapshot(r, began)
	for id, ch := range c.changes {
		if ch.at.Before(began) {
			delete(c.changes, id) // the fetch already saw it
			continue
		}
		snap = snap.withOverride(ch.agent)
	}
	c.current, c.last = snap, snap
	return snap, nil
}

// LastKnown returns the last good snapshot, however old, or nil.
func (c *Snapshots) LastKnown() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Changed records an agent's new presence after the bot changed it, so
// nobody reads the old status from the cache afterwards.
func (c *Snapshots) Changed(a Agent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes[a.ID] = change{agent: a, at: c.now()}
	if c.current != nil {
		c.current = c.current.withOverride(a)
	}
	if c.last != nil {
		c.last = c.last.withOverride(a)
	}
}
