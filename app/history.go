package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// historyEvery is the history job's period when no alert poll records it.
const historyEvery = time.Minute

// historySampler records the floor's counts per team in the history once
// per tick, at O(teams) and never with a roster read of its own while
// alerts are on. With alerts, at every alert poll, from what the poll
// read: the snapshot it counted (OnSnapshot), else the shared snapshot
// when fresh (another reader paid for it), else what the poll's own lists
// told (OnCounts: the floor and the teams listed); a poll that read
// nothing records nothing. Without alerts, the history job every minute
// reads the shared snapshot (fresh, or a refresh of ceil(agents/100)
// requests that every other reader then shares for PRESENCE_CACHE_TTL):
// the only reader then. The scheduler runs each tick of a job on one
// replica, and a tick recorded twice is one sample.
type historySampler struct {
	rec    *history.Recorder
	roster presence.Reader
	log    *slog.Logger

	mu     sync.Mutex
	tick   time.Time          // the poll tick snap or counts were read for
	snap   *presence.Snapshot // what that poll counted, until recorded
	counts *history.Sample    // what that poll's lists told, until recorded
	// recorded is the slot (the tick, truncated to the resolution) this
	// replica last recorded: an alert interval under a minute records
	// the minute's first tick, and the others read nothing for it.
	recorded time.Time
}

// newHistory returns the Recorder over the app's store (Redis, else
// STATE_DIR), at the alert interval with alerts, else every minute, and
// its sampler.
func newHistory(cfg *config.Config, store state.Store, roster presence.Reader, log *slog.Logger) *historySampler {
	every := historyEvery
	if cfg.Alert.Enabled() {
		every = cfg.Alert.Interval
	}
	rec := history.New(store, history.Options{Retention: cfg.HistoryRetention, Resolution: every}, log)
	return &historySampler{rec: rec, roster: roster, log: log.With("component", "history")}
}

// took is the alert poll's OnSnapshot: the snapshot it counted at tick.
func (h *historySampler) took(tick time.Time, s *presence.Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tick, h.snap, h.counts = tick, s, nil
}

// counted is the alert poll's OnCounts: what its lists told at tick.
func (h *historySampler) counted(tick time.Time, s history.Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tick, h.snap, h.counts = tick, nil, &s
}

// taken returns what the poll of tick read, once; nil, nil when it read
// nothing (it failed, or has no availability rule to read for).
func (h *historySampler) taken(tick time.Time) (*presence.Snapshot, *history.Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	snap, counts := h.snap, h.counts
	h.snap, h.counts = nil, nil
	if !h.tick.Equal(tick) {
		return nil, nil
	}
	return snap, counts
}

// due reports whether tick's slot is still to record here.
func (h *historySampler) due(tick time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !tick.Truncate(h.rec.Options().Resolution).Equal(h.recorded)
}

// save records s as tick's sample.
func (h *historySampler) save(ctx context.Context, tick time.Time, s history.Sample) error {
	if err := h.rec.Record(ctx, tick, s); err != nil {
		return err
	}
	h.mu.Lock()
	h.recorded = tick.Truncate(h.rec.Options().Resolution)
	h.mu.Unlock()
	return nil
}

// record is the history job's tick, without alerts: the shared snapshot,
// fresh or read (nobody else reads the roster every minute then).
func (h *historySampler) record(ctx context.Context, tick time.Time) error {
	if !h.due(tick) {
		return nil
	}
	snap, fresh := h.roster.Fresh(ctx)
	if !fresh {
		var err error
		if snap, err = h.roster.Get(ctx); err != nil {
			return fmt.Errorf("history: read the roster: %w", err)
		}
	}
	return h.save(ctx, tick, history.SampleOf(snap))
}

// recordPolled records the alert poll's tick from what it read (see
// historySampler); it never reads the roster. pollErr is the poll's.
func (h *historySampler) recordPolled(ctx context.Context, tick time.Time, pollErr error) error {
	snap, counts := h.taken(tick)
	if !h.due(tick) {
		return nil
	}
	switch {
	case snap != nil:
		return h.save(ctx, tick, history.SampleOf(snap))
	case counts == nil && pollErr != nil:
		// The poll could not read: neither can this tick's sample.
		h.log.Debug("no history sample: the alert poll read nothing", "tick", tick)
		return nil
	}
	if fresh, ok := h.roster.Fresh(ctx); ok {
		return h.save(ctx, tick, history.SampleOf(fresh)) // free, and every team
	}
	if counts == nil || len(counts.Teams) == 0 {
		h.log.Debug("no history sample: the alert poll counted nothing", "tick", tick)
		return nil
	}
	return h.save(ctx, tick, *counts)
}

// afterPoll records the alert poll's tick; a failure is logged, not the
// poll's: the alerts went out all the same.
func (h *historySampler) afterPoll(ctx context.Context, tick time.Time, pollErr error) {
	if err := h.recordPolled(ctx, tick, pollErr); err != nil {
		h.log.Warn("no history sample for this tick", "tick", tick, "err", err)
	}
}

// alertEvent is the alerter's OnEvent: the event kept for the report.
func (h *historySampler) alertEvent(ctx context.Context, e alerts.Event) {
	err := h.rec.RecordAlert(ctx, history.AlertEvent{At: e.At, Rule: e.Rule, Teams: e.Teams, Kind: e.Kind, Level: e.Level})
	if err != nil {
		h.log.Warn("alert event not kept in the history", "rule", e.Rule, "kind", e.Kind, "err", err)
	}
}
