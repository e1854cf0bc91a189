package history

import (
	"cmp"
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
//
// It thins while it reads: a team holds at most a point per step (and
// one more per chunk read), never a point per sample, and the slices
// returned are the caller's own.
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
	acc := make(map[string]*[]Point)
	var cur *chunk
	var lines []*[]Point // by team index in cur; nil for a team not asked
	err := r.scan(ctx, from, to, func(c *chunk, slot int, set []int, counts []Counts) {
		if c != cur {
			cur, lines = c, make([]*[]Point, len(c.teams))
			for i, id := range c.teams {
				if want != nil && !want[id] {
					continue
				}
				if acc[id] == nil {
					acc[id] = new([]Point)
				}
				lines[i] = acc[id]
			}
		}
		at := c.timeOf(slot)
		for _, i := range set {
			ps := lines[i]
			if ps == nil {
				continue
			}
			p := Point{At: at, Counts: counts[i]}
			if n := len(*ps); n > 0 && sameStep((*ps)[n-1].At, at, step) {
				if !at.Before((*ps)[n-1].At) {
					(*ps)[n-1] = p
				}
				continue
			}
			*ps = append(*ps, p)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("history range: %w", err)
	}
	out := make(map[string][]Point, len(acc))
	for id, ps := range acc {
		if len(*ps) > 0 {
			out[id] = thin(*ps, step)
		}
	}
	return out, nil
}

// sameStep reports whether a and b fall in the same step (the same
// instant for step 0).
func sameStep(a, b time.Time, step time.Duration) bool {
	if step <= 0 {
		return a.Equal(b)
	}
	return a.Truncate(step).Equal(b.Truncate(step))
}

// thin sorts ps by time (chunks are read hours before days), drops
// duplicates (a sample in both its hour and its day while being
// compacted), keeps the last point of each step, and returns them in a
// slice of their own, so the points read and dropped are not held.
func thin(ps []Point, step time.Duration) []Point {
	byTime := func(a, b Point) int { return a.At.Compare(b.At) }
	if !slices.IsSortedFunc(ps, byTime) {
		slices.SortStableFunc(ps, byTime)
	}
	n := 0
	for _, p := range ps {
		if n > 0 && sameStep(ps[n-1].At, p.At, step) {
			ps[n-1] = p
			continue
		}
		ps[n] = p
		n++
	}
	out := make([]Point, n)
	copy(out, ps)
	return out
}

// Latest returns each team's counts ("" = the whole floor) at the newest
// sample between from and to: the teams that sample holds, all at its
// time. It reads the newest chunk that has one (an older one only when
// the newest has no sample in the range), and usually decodes no sample:
// a chunk keeps its newest counts. Empty when the range has no sample.
func (r *Recorder) Latest(ctx context.Context, from, to time.Time) (map[string]Point, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("history latest: to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	for try := 0; ; try++ {
		idx, err := r.loadIndex(ctx)
		if err != nil {
			return nil, fmt.Errorf("history latest: %w", err)
		}
		chunks := append(overlappingRefs(idx.dayChunks(), from, to), overlappingRefs(idx.fineChunks(), from, to)...)
		slices.SortStableFunc(chunks, func(a, b chunkRef) int { return a.start.Compare(b.start) })
		missing := false
		for _, ref := range slices.Backward(chunks) {
			c, found, err := r.loadChunk(ctx, ref.key(), true)
			if err != nil {
				return nil, fmt.Errorf("history latest: %w", err)
			}
			if !found && try == 0 {
				// Compacted meanwhile: its day is listed in a newer index.
				missing = true
				break
			}
			if c == nil {
				continue
			}
			if out, ok := c.latest(from, to); ok {
				return out, nil
			}
		}
		if !missing {
			return map[string]Point{}, nil
		}
	}
}

// latest is the chunk's newest sample between from and to, by team ID;
// false when it has none.
func (c *chunk) latest(from, to time.Time) (map[string]Point, bool) {
	if c.last < 0 || c.timeOf(c.last).Before(from) {
		return nil, false
	}
	if at := c.timeOf(c.last); !at.After(to) {
		out := make(map[string]Point, len(c.set))
		for _, i := range c.set {
			out[c.teams[i]] = Point{At: at, Counts: c.prev[i]}
		}
		return out, true
	}
	// The newest sample is after to: decode up to it.
	var out map[string]Point
	_ = c.each(func(slot int, set []int, counts []Counts) {
		at := c.timeOf(slot)
		if at.Before(from) || at.After(to) {
			return
		}
		out = make(map[string]Point, len(set))
		for _, i := range set {
			out[c.teams[i]] = Point{At: at, Counts: counts[i]}
		}
	})
	return out, out != nil
}

// chunkHeader is a storedChunk without its samples: what Teams reads.
// Decoding into it skips the samples' bytes.
type chunkHeader struct {
	V     int      `json:"v"`
	Start int64    `json:"start"`
	Step  int64    `json:"step"`
	Teams []string `json:"teams"`
	Names []string `json:"names"`
	Last  int      `json:"last"`
}

// Teams lists the team IDs with a sample in a chunk (10 minutes, an hour
// or a day) that holds samples between from and to, sorted by ID, each
// with the display name last seen (its ID when none was given). It reads
// the chunks' headers, never their samples. The floor ("") is not a team.
func (r *Recorder) Teams(ctx context.Context, from, to time.Time) ([]TeamName, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("history teams: to %s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	type seen struct {
		name string
		at   time.Time
	}
	teams := make(map[string]seen)
	err := r.eachChunk(ctx, from, to, func(ref chunkRef) (bool, error) {
		var h chunkHeader
		found, err := r.store.Load(ctx, ref.key(), &h)
		switch {
		case errors.Is(err, state.ErrCorrupt):
			r.log.Error("history chunk is corrupt; skipping it", "key", ref.key(), "err", err)
			return true, nil
		case err != nil:
			return false, fmt.Errorf("read %s: %w", ref.key(), err)
		case !found:
			return false, nil
		case h.V != chunkVersion || h.Step <= 0 || len(h.Names) != len(h.Teams) || h.Last < 0:
			return true, nil // corrupt (logged by the readers of samples), or empty
		}
		last := time.Unix(h.Start, 0).Add(time.Duration(h.Last) * time.Duration(h.Step) * time.Second)
		if last.Before(from) {
			return true, nil // every sample is before the range
		}
		for i, id := range h.Teams {
			if id == "" {
				continue
			}
			if s, ok := teams[id]; !ok || !last.Before(s.at) {
				// A chunk's name is the last it saw: the newest chunk's wins.
				teams[id] = seen{name: h.Names[i], at: last}
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history teams: %w", err)
	}
	var out []TeamName
	for id, s := range teams {
		out = append(out, TeamName{ID: id, Name: cmp.Or(s.name, id)})
	}
	slices.SortFunc(out, func(a, b TeamName) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// scan calls f with every sample between from and to, chunk by chunk
// (not in time order across chunks: see eachChunk).
func (r *Recorder) scan(ctx context.Context, from, to time.Time, f func(c *chunk, slot int, set []int, counts []Counts)) error {
	return r.eachChunk(ctx, from, to, func(ref chunkRef) (bool, error) {
		c, found, err := r.loadChunk(ctx, ref.key(), false)
		if c == nil || err != nil {
			return found, err
		}
		err = c.each(func(slot int, set []int, counts []Counts) {
			if at := c.timeOf(slot); !at.Before(from) && !at.After(to) {
				f(c, slot, set, counts)
			}
		})
		if err != nil {
			r.log.Error("history chunk is corrupt; keeping what could be read", "key", ref.key(), "err", err)
		}
		return true, nil
	})
}

// eachChunk calls visit with every chunk that overlaps from and to: the
// last day's before the days. A compaction adds an hour to its day
// before deleting the hour's chunks, so a sample being compacted is found
// in one or the other (or both: Range drops the copy). When a listed
// chunk is gone (visit reports it not found), the index is read again for
// the day that took it.
func (r *Recorder) eachChunk(ctx context.Context, from, to time.Time, visit func(chunkRef) (found bool, err error)) error {
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return err
	}
	missing := false
	for _, ref := range overlappingRefs(idx.fineChunks(), from, to) {
		found, err := visit(ref)
		if err != nil {
			return err
		}
		missing = missing || !found
	}
	if missing {
		if idx, err = r.loadIndex(ctx); err != nil {
			return err
		}
	}
	for _, ref := range overlappingRefs(idx.dayChunks(), from, to) {
		if _, err := visit(ref); err != nil {
			return err
		}
	}
	return nil
}

// overlappingRefs are the chunks that overlap [from, to].
func overlappingRefs(chunks []chunkRef, from, to time.Time) []chunkRef {
	var out []chunkRef
	for _, c := range chunks {
		if !c.start.After(to) && c.start.Add(c.span).After(from) {
			out = append(out, c)
		}
	}
	return out
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
