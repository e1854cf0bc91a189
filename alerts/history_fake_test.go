package alerts

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/history"
)

// fakeHistory is a History in memory, with Range's contract: per team
// asked (nil: all), the points between from and to inclusive, at most one
// per step, the last in each.
type fakeHistory struct {
	mu     sync.Mutex
	points map[string][]history.Point
	names  map[string]string
	events []history.AlertEvent
	err    error // every read fails with it
	ranges int   // Range calls
}

func newFakeHistory() *fakeHistory {
	return &fakeHistory{points: map[string][]history.Point{}, names: map[string]string{}}
}

// record adds one sample: counts per team ID ("" the floor, summed here
// when not given).
func (h *fakeHistory) record(at time.Time, teams map[string]history.Counts) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var floor history.Counts
	for id, c := range teams {
		h.points[id] = append(h.points[id], history.Point{At: at, Counts: c})
		floor.Available += c.Available
		floor.OnCall += c.OnCall
		floor.AfterCallWork += c.AfterCallWork
		floor.Busy += c.Busy
		floor.Offline += c.Offline
	}
	if _, ok := teams[""]; !ok {
		h.points[""] = append(h.points[""], history.Point{At: at, Counts: floor})
	}
}

func (h *fakeHistory) Range(_ context.Context, teams []string, from, to time.Time, step time.Duration) (map[string][]history.Point, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ranges++
	if h.err != nil {
		return nil, h.err
	}
	out := map[string][]history.Point{}
	for id, pts := range h.points {
		if teams != nil && !slices.Contains(teams, id) {
			continue
		}
		var kept []history.Point
		for _, p := range pts {
			if p.At.Before(from) || p.At.After(to) {
				continue
			}
			if n := len(kept); n > 0 && step > 0 && kept[n-1].At.Truncate(step).Equal(p.At.Truncate(step)) {
				kept[n-1] = p // the last in its step
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) > 0 {
			out[id] = kept
		}
	}
	return out, nil
}

func (h *fakeHistory) Teams(_ context.Context, from, to time.Time) ([]history.TeamName, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	var out []history.TeamName
	for id, pts := range h.points {
		if id == "" || !slices.ContainsFunc(pts, func(p history.Point) bool { return !p.At.Before(from) && !p.At.After(to) }) {
			continue
		}
		out = append(out, history.TeamName{ID: id, Name: h.names[id]})
	}
	return out, nil
}

func (h *fakeHistory) Alerts(_ context.Context, from, to time.Time) ([]history.AlertEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	var out []history.AlertEvent
	for _, e := range h.events {
		if !e.At.Before(from) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	return out, nil
}
