package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// Range returns, per team asked ("" = the whole floor; nil teams = every
// team recorded, the floor included), the samples between from and to
// (inclusive), oldest first, at most one per step (the last in each
// step; steps are aligned to the Unix epoch, so to UTC hours and days;
// step 0 keeps every sample). A team with no sample in the range has no
// entry. The last day is at Options.Resolution, older data at CoarseStep.
func (r *Recorder) Range(ctx context.Context, teams []string, from, to time.Time, step time.Duration) (map[string][]Point, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("history range: to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	var want map[string]bool
	if teams != nil {
		want = make(map[string]bool, len(teams))
		for _, id := range teams {
			want[id] = true
		}
	}
	out := make(map[string][]Point)
	err := r.scan(ctx, from, to, func(c *chunk, slot int, set []int, counts []Counts) {
		at := c.timeOf(slot)
		for _, i := range set {
			id := c.teams[i]
			if want != nil && !want[id] {
				continue
			}
			out[id] = append(out[id], Point{At: at, Counts: counts[i]})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("history range: %w", err)
	}
	for id, ps := range out {
		out[id] = thin(ps, step)
	}
	return out, nil
}

// thin sorts ps by time, drops duplicates (a sample in both its hour and
// its day while being compacted) and keeps the last point of each step.
func thin(ps []Point, step time.Duration) []Point {
	slices.SortStableFunc(ps, func(a, b Point) int { return a.At.Compare(b.At) })
	ps = slices.CompactFunc(ps, func(a, b Point) bool { return a.At.Equal(b.At) })
	if step <= 0 {
		return ps
	}
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].At.Truncate(step).Equal(p.At.Truncate(step)) {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// Teams lists the team IDs with a sample between from and to
// (inclusive), sorted by ID, each with the display name last seen in
// that range (its ID when none was given). The floor ("") is not a team.
func (r *Recorder) Teams(ctx context.Context, from, to time.Time) ([]TeamName, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("history teams: to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	type seen struct {
		name string
		at   time.Time
	}
	teams := make(map[string]seen)
	err := r.scan(ctx, from, to, func(c *chunk, slot int, set []int, _ []Counts) {
		at := c.timeOf(slot)
		for _, i := range set {
			id := c.teams[i]
			if id == "" {
				continue
			}
			if s, ok := teams[id]; !ok || !at.Before(s.at) {
				// A chunk's name is the last it saw: the newest chunk's wins.
				teams[id] = seen{name: c.names[i], at: at}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("history teams: %w", err)
	}
	var out []TeamName
	for id, s := range teams {
		name := s.name
		if name == "" {
			name = id
		}
		out = append(out, TeamName{ID: id, Name: name})
	}
	slices.SortFunc(out, func(a, b TeamName) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// scan calls f with every sample between from and to, chunk by chunk
// (not in time order across chunks). It reads the hours before the days:
// a compaction adds an hour to its day before deleting the hour, so a
// sample being compacted is found in one or the other (or both: thin
// drops the copy). When a listed hour is gone, the index is read again
// for the day that took it.
func (r *Recorder) scan(ctx context.Context, from, to time.Time, f func(c *chunk, slot int, set []int, counts []Counts)) error {
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return err
	}
	readDays := make(map[int64]bool)
	missing := false
	for _, h := range overlapping(idx.Hours, hourSpan, from, to) {
		found, err := r.scanChunk(ctx, hourKey(time.Unix(h, 0)), from, to, f)
		if err != nil {
			return err
		}
		missing = missing || !found
	}
	days := overlapping(idx.Days, daySpan, from, to)
	if missing {
		if idx, err = r.loadIndex(ctx); err != nil {
			return err
		}
		days = overlapping(idx.Days, daySpan, from, to)
	}
	for _, d := range days {
		if readDays[d] {
			continue
		}
		readDays[d] = true
		if _, err := r.scanChunk(ctx, dayKey(time.Unix(d, 0)), from, to, f); err != nil {
			return err
		}
	}
	return nil
}

// overlapping are the starts of the spans in starts that overlap [from, to].
func overlapping(starts []int64, span time.Duration, from, to time.Time) []int64 {
	var out []int64
	for _, s := range starts {
		begin := time.Unix(s, 0)
		if !begin.After(to) && begin.Add(span).After(from) {
			out = append(out, s)
		}
	}
	return out
}

// scanChunk calls f with the chunk's samples between from and to. A
// corrupt chunk is logged and skipped: the rest of the history is good.
func (r *Recorder) scanChunk(ctx context.Context, key string, from, to time.Time, f func(c *chunk, slot int, set []int, counts []Counts)) (bool, error) {
	var st storedChunk
	found, err := r.store.Load(ctx, key, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		r.log.Error("history chunk is corrupt; skipping it", "key", key, "err", err)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read %s: %w", key, err)
	case !found:
		return false, nil
	}
	c, err := decodeChunk(st)
	if err != nil {
		r.log.Error("history chunk is corrupt; skipping it", "key", key, "err", err)
		return true, nil
	}
	err = c.each(func(slot int, set []int, counts []Counts) {
		if at := c.timeOf(slot); !at.Before(from) && !at.After(to) {
			f(c, slot, set, counts)
		}
	})
	if err != nil {
		r.log.Error("history chunk is corrupt; keeping what could be read", "key", key, "err", err)
	}
	return true, nil
}
