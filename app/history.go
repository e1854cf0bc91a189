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
// per tick: with alerts, at every alert poll, from the snapshot the poll
// counted (OnSnapshot); without, on the history job every minute. When
// the poll counted none (its own lists were cheaper, see the alerts
// package), it takes the shared snapshot when fresh, or reads it: a
// refresh of ceil(agents/100) requests that every other reader then
// shares for PRESENCE_CACHE_TTL. The scheduler runs each tick of a job on
// one replica, and a tick recorded twice is one sample.
type historySampler struct {
	rec    *history.Recorder
	roster presence.Reader
	log    *slog.Logger

	mu   sync.Mutex
	tick time.Time          // the poll tick snap was counted for
	snap *presence.Snapshot // what that poll counted, until recorded
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
	h.tick, h.snap = tick, s
}

// taken returns the snapshot the poll of tick counted, once; nil when it
// counted none.
func (h *historySampler) taken(tick time.Time) *presence.Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.snap
	h.snap = nil
	if !h.tick.Equal(tick) {
		return nil
	}
	return s
}

// record records tick's sample: from the poll's snapshot, else the shared
// one.
func (h *historySampler) record(ctx context.Context, tick time.Time) error {
	snap := h.taken(tick)
	slot := tick.Truncate(h.rec.Options().Resolution)
	h.mu.Lock()
	done := slot.Equal(h.recorded)
	h.mu.Unlock()
	if done {
		return nil
	}
	if snap == nil {
		var fresh bool
		if snap, fresh = h.roster.Fresh(ctx); !fresh {
			var err error
			if snap, err = h.roster.Get(ctx); err != nil {
				return fmt.Errorf("history: read the roster: %w", err)
			}
		}
	}
	if err := h.rec.Record(ctx, tick, history.SampleOf(snap)); err != nil {
		return err
	}
	h.mu.Lock()
	h.recorded = slot
	h.mu.Unlock()
	return nil
}

// afterPoll records the alert poll's tick; a failure is logged, not the
// poll's: the alerts went out all the same.
func (h *historySampler) afterPoll(ctx context.Context, tick time.Time) {
	if err := h.record(ctx, tick); err != nil {
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
