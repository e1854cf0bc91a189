package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// Pending is a status an agent asked for while on a call, to be applied
// when the call ends.
type Pending struct {
	AgentID string          `json:"agent_id"`
	Target  presence.Status `json:"target"`
	// Notify is the Slack user told when it is applied: the agent, or
	// the supervisor who asked when the agent has no known Slack user.
	Notify string `json:"notify,omitempty"`
	By     string `json:"by"` // the Slack user who asked
	// BySupervisor is set when By asked for someone else's agent, so the
	// notes can say who queued it (false in records from before it was
	// kept: those were the agents' own, or are told as such).
	BySupervisor bool      `json:"by_supervisor,omitempty"`
	At           time.Time `json:"at"`
	Expires      time.Time `json:"expires"`
}

// PendingQueue holds at most one pending status per agent, in a
// state.Store so it survives a restart (and is shared between replicas
// when the store is).
type PendingQueue struct {
	store  state.Store
	expiry time.Duration
}

// queueKey is where the queue lives in the store: one small value, since
// a floor has at most a few hundred agents on calls at once.
const queueKey = "after_call_queue"

// NewPendingQueue keeps pending statuses in store; each expires after
// expiry.
func NewPendingQueue(store state.Store, expiry time.Duration) *PendingQueue {
	return &PendingQueue{store: store, expiry: expiry}
}

// All returns every pending status by agent.
func (q *PendingQueue) All(ctx context.Context) (map[string]Pending, error) {
	all := map[string]Pending{}
	if _, err := q.store.Load(ctx, queueKey, &all); err != nil && !errors.Is(err, state.ErrCorrupt) {
		return nil, fmt.Errorf("read the after-call queue: %w", err)
	}
	return all, nil
}

// Get returns the agent's pending status, if any.
func (q *PendingQueue) Get(ctx context.Context, agentID string) (Pending, bool, error) {
	all, err := q.All(ctx)
	if err != nil {
		return Pending{}, false, err
	}
	p, ok := all[agentID]
	return p, ok, nil
}

// Put records p, replacing the agent's earlier wish.
func (q *PendingQueue) Put(ctx context.Context, p Pending) error {
	return q.update(ctx, func(all map[string]Pending) bool {
		all[p.AgentID] = p
		return true
	})
}

// Delete drops the agent's wish; it returns the wish dropped, if any, so
// the answer can say what it was and who made it.
func (q *PendingQueue) Delete(ctx context.Context, agentID string) (Pending, bool, error) {
	var (
		p   Pending
		had bool
	)
	err := q.update(ctx, func(all map[string]Pending) bool {
		p, had = all[agentID]
		delete(all, agentID)
		return had
	})
	return p, had, err
}

// DeleteIf drops p only if it is still the agent's wish, so a wish made
// again while p was being applied is kept.
func (q *PendingQueue) DeleteIf(ctx context.Context, p Pending) error {
	return q.update(ctx, func(all map[string]Pending) bool {
		cur, ok := all[p.AgentID]
		if !ok || !cur.At.Equal(p.At) || cur.Target != p.Target {
			return false
		}
		delete(all, p.AgentID)
		return true
	})
}

func (q *PendingQueue) update(ctx context.Context, change func(map[string]Pending) bool) error {
	// Atomic in the store, so replicas sharing it lose no wish.
	all := map[string]Pending{}
	apply := func(bool) (bool, error) {
		if all == nil {
			all = map[string]Pending{}
		}
		return change(all), nil
	}
	err := q.store.Update(ctx, queueKey, &all, apply)
	if errors.Is(err, state.ErrCorrupt) {
		// Unreadable (All already treats it as empty): start it afresh
		// rather than refuse every wish from now on.
		if err = q.store.Save(ctx, queueKey, map[string]Pending{}); err == nil {
			all = map[string]Pending{}
			err = q.store.Update(ctx, queueKey, &all, apply)
		}
	}
	if err != nil {
		return fmt.Errorf("save the after-call queue: %w", err)
	}
	return nil
}
