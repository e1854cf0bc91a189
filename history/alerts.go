package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// The kinds of AlertEvent.
const (
	KindFired    = "fired"    // the alert fired (posted, or held by a silence)
	KindLevel    = "level"    // a firing alert moved to another level
	KindAcked    = "acked"    // a supervisor acknowledged it
	KindResolved = "resolved" // it recovered, or closed outside active hours
)

// maxAlertsPerDay bounds a day's alert events: a flapping rule cannot
// grow the store without bound. Later events of the day are counted,
// not kept.
const maxAlertsPerDay = 500

// AlertEvent is an alert's fire, level change, acknowledgement or
// resolve, for the day's report.
type AlertEvent struct {
	At    time.Time
	Rule  string
	Teams []string // the rule's teams; none for the whole floor
	Kind  string   // KindFired, KindLevel, KindAcked or KindResolved
	Level string   // the level at the event ("warning", "critical")
}

// storedEvent is an AlertEvent as stored.
type storedEvent struct {
	At    time.Time `json:"at"`
	Rule  string    `json:"rule"`
	Teams []string  `json:"teams,omitempty"`
	Kind  string    `json:"kind"`
	Level string    `json:"level,omitempty"`
}

// alertDay is one UTC day's alert events, in time order.
type alertDay struct {
	Events []storedEvent `json:"events"`
	// Dropped counts the events past maxAlertsPerDay.
	Dropped int `json:"dropped,omitempty"`
}

func (e storedEvent) same(o storedEvent) bool {
	return e.At.Equal(o.At) && e.Rule == o.Rule && slices.Equal(e.Teams, o.Teams) && e.Kind == o.Kind && e.Level == o.Level
}

// RecordAlert keeps e with its day's events, once (the same event again
// changes nothing). Events are deleted with the samples, past the
// retention.
func (r *Recorder) RecordAlert(ctx context.Context, e AlertEvent) error {
	switch {
	case e.At.IsZero():
		return errors.New("record alert event: no time")
	case e.Rule == "":
		return errors.New("record alert event: no rule")
	case !slices.Contains([]string{KindFired, KindLevel, KindAcked, KindResolved}, e.Kind):
		return fmt.Errorf("record alert event: kind %q: want %s, %s, %s or %s", e.Kind, KindFired, KindLevel, KindAcked, KindResolved)
	}
	se := storedEvent{At: e.At.UTC(), Rule: e.Rule, Teams: slices.Clone(e.Teams), Kind: e.Kind, Level: e.Level}
	day := se.At.Truncate(daySpan)
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return fmt.Errorf("record alert event: %w", err)
	}
	if _, listed := slices.BinarySearch(idx.Alerts, day.Unix()); listed {
		// Listed already: the index is written only for a new day.
	} else if err := r.updateIndex(ctx, func(i *index) bool {
		var added bool
		i.Alerts, added = insertSorted(i.Alerts, day.Unix())
		return added
	}); err != nil {
		return fmt.Errorf("record alert event: %w", err)
	}
	var d alertDay
	dropped := false
	err = r.store.Update(ctx, alertKey(day), &d, func(bool) (bool, error) {
		dropped = false
		if slices.ContainsFunc(d.Events, se.same) {
			return false, nil
		}
		if len(d.Events) >= r.alertCap {
			d.Dropped++
			dropped = true
			return true, nil
		}
		i, _ := slices.BinarySearchFunc(d.Events, se.At, func(x storedEvent, t time.Time) int {
			if x.At.After(t) {
				return 1
			}
			return -1 // after events of the same time: in the order recorded
		})
		d.Events = slices.Insert(d.Events, i, se)
		return true, nil
	})
	if errors.Is(err, state.ErrCorrupt) {
		r.log.Error("history alert events are corrupt; starting the day afresh", "key", alertKey(day), "err", err)
		err = r.store.Save(ctx, alertKey(day), alertDay{Events: []storedEvent{se}})
	}
	if err != nil {
		return fmt.Errorf("record alert event: %w", err)
	}
	if dropped {
		r.log.Warn("too many alert events today; this one is counted, not kept", "max", r.alertCap, "rule", e.Rule, "kind", e.Kind)
	}
	return nil
}

// Alerts returns the alert events between from and to (inclusive), in
// time order.
func (r *Recorder) Alerts(ctx context.Context, from, to time.Time) ([]AlertEvent, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("history alerts: to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("history alerts: %w", err)
	}
	var out []AlertEvent
	for _, day := range overlapping(idx.Alerts, daySpan, from, to) {
		var d alertDay
		_, err := r.store.Load(ctx, alertKey(time.Unix(day, 0)), &d)
		if errors.Is(err, state.ErrCorrupt) {
			r.log.Error("history alert events are corrupt; skipping the day", "err", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history alerts: %w", err)
		}
		for _, e := range d.Events {
			if !e.At.Before(from) && !e.At.After(to) {
				out = append(out, AlertEvent{At: e.At, Rule: e.Rule, Teams: e.Teams, Kind: e.Kind, Level: e.Level})
			}
		}
	}
	return out, nil
}
