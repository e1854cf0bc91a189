package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// Defaults and bounds of Options, and the resolution of older data.
const (
	// DefaultRetention is HISTORY_RETENTION's default.
	DefaultRetention = 8 * 24 * time.Hour
	// MinResolution is the finest step kept: an alert interval under it
	// records the first tick of each step. A chart shows at most 20
	// points, and a minute is what the daily report counts in.
	MinResolution = time.Minute
	// MaxResolution is the coarsest step of the last day's samples.
	MaxResolution = time.Hour
	// FineFor is how long samples are kept at Options.Resolution; after
	// it, at CoarseStep.
	FineFor = 24 * time.Hour
	// CoarseStep is the resolution of samples older than FineFor: the
	// last sample of each 5 minutes.
	CoarseStep = 5 * time.Minute
	// MaxTeams bounds the teams a sample keeps (besides the floor): the
	// ones with most agents. It bounds the store whatever the roster, and
	// what a Record writes (see the package doc): 500 teams whose every
	// count moves every minute fill a 10-minute chunk to about 55 KB.
	MaxTeams = 500
)

const (
	// recentSpan is the span of the last day's chunks at a Resolution up
	// to it: a Record rewrites its chunk, so a short one keeps the write
	// small (TestRecordWriteIsBoundedAtMaxTeams). A coarser Resolution
	// keeps hour chunks, which hold as few samples.
	recentSpan = 10 * time.Minute
	hourSpan   = time.Hour
	daySpan    = 24 * time.Hour
)

// Counts is one team's agents per status at one sample.
type Counts struct{ Available, OnCall, AfterCallWork, Busy, Offline int }

// LoggedIn is every agent but the offline ones.
func (c Counts) LoggedIn() int { return c.Available + c.OnCall + c.AfterCallWork + c.Busy }

// Options configure a Recorder.
type Options struct {
	// Retention is how long samples and alert events are kept
	// (HISTORY_RETENTION); 0 is DefaultRetention.
	Retention time.Duration
	// Resolution is the finest step kept for the last day (the alert
	// interval, or 1m), within MinResolution and MaxResolution; 0 is
	// MinResolution. Older data is kept at CoarseStep.
	Resolution time.Duration
}

func (o Options) normalized() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	o.Resolution = min(max(o.Resolution, MinResolution), MaxResolution)
	return o
}

// Sample is one tick's reading: counts per team ID ("" = the whole floor)
// and the teams' display names.
type Sample struct {
	Teams map[string]Counts
	Names map[string]string
}

// Point is one team's counts at one sample: At is the start of the
// sample's slot (the tick, for ticks aligned to the resolution).
type Point struct {
	At     time.Time
	Counts Counts
}

// TeamName is a team ID with the display name last seen (the ID when the
// API gave none).
type TeamName struct{ ID, Name string }

// Recorder records samples and alert events in a state.Store shared by
// the replicas, and reads them back. It holds no state of its own: every
// replica's Recorder over one store sees and writes the same history.
type Recorder struct {
	store state.Store
	opt   Options
	log   *slog.Logger
	// fine is the kind of chunk Record writes: recentChunks, or
	// hourChunks at a Resolution over recentSpan.
	fine *fineKind
	// warnedTeams: the MaxTeams warning is logged once per Recorder.
	warnedTeams atomic.Bool
	// alertCap is maxAlertsPerDay (tests lower it).
	alertCap int
}

// New returns a Recorder over store; log may be nil.
func New(store state.Store, o Options, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{store: store, opt: o.normalized(), log: log.With("component", "history"), alertCap: maxAlertsPerDay}
	r.fine = &recentChunks
	if r.opt.Resolution > recentSpan {
		r.fine = &hourChunks
	}
	return r
}

// Options are the Recorder's options, defaults filled in.
func (r *Recorder) Options() Options { return r.opt }

// Keys. An index lists the chunks, since a state.Store cannot list keys;
// the times in the names are UTC.
const (
	indexKey     = "history-index"
	recentPrefix = "history-recent-" // + 20060102T1504: 10 minutes at Options.Resolution
	hourPrefix   = "history-hour-"   // + 20060102T15: an hour at Options.Resolution
	dayPrefix    = "history-day-"    // + 20060102: a day at CoarseStep
	alertPrefix  = "history-alerts-" // + 20060102: a day's alert events
)

func recentKey(t time.Time) string { return recentPrefix + t.UTC().Format("20060102T1504") }
func hourKey(t time.Time) string   { return hourPrefix + t.UTC().Format("20060102T15") }
func dayKey(t time.Time) string    { return dayPrefix + t.UTC().Format("20060102") }
func alertKey(t time.Time) string  { return alertPrefix + t.UTC().Format("20060102") }

// index lists the stored chunks by their start (Unix seconds), sorted.
// It changes when a chunk is created, compacted or deleted: a chunk's
// first Record, and the maintenance step.
type index struct {
	// Recent are the last day's 10-minute chunks; Hours its hour chunks
	// (at a Resolution over 10 minutes, and those of a version that kept
	// only hours: read and compacted as before).
	Recent []int64 `json:"recent,omitempty"`
	Hours  []int64 `json:"hours,omitempty"`
	Days   []int64 `json:"days,omitempty"`
	Alerts []int64 `json:"alerts,omitempty"` // days with alert events
}

// fineKind is a kind of chunk of the last day's samples.
type fineKind struct {
	span time.Duration
	key  func(time.Time) string
	list func(*index) *[]int64
}

var (
	recentChunks = fineKind{span: recentSpan, key: recentKey, list: func(i *index) *[]int64 { return &i.Recent }}
	hourChunks   = fineKind{span: hourSpan, key: hourKey, list: func(i *index) *[]int64 { return &i.Hours }}
)

// chunkRef is one stored chunk of samples: its key and the time it spans.
type chunkRef struct {
	start time.Time
	span  time.Duration
	keyOf func(time.Time) string
}

func (c chunkRef) key() string { return c.keyOf(c.start) }

func refs(starts []int64, span time.Duration, key func(time.Time) string) []chunkRef {
	out := make([]chunkRef, len(starts))
	for i, s := range starts {
		out[i] = chunkRef{start: time.Unix(s, 0).UTC(), span: span, keyOf: key}
	}
	return out
}

// fineChunks are the last day's chunks, of both kinds, by start.
func (idx index) fineChunks() []chunkRef {
	out := append(refs(idx.Recent, recentSpan, recentKey), refs(idx.Hours, hourSpan, hourKey)...)
	slices.SortStableFunc(out, func(a, b chunkRef) int { return a.start.Compare(b.start) })
	return out
}

// dayChunks are the older days' chunks, by start.
func (idx index) dayChunks() []chunkRef { return refs(idx.Days, daySpan, dayKey) }

// insertSorted adds v to the sorted list s, once.
func insertSorted(s []int64, v int64) ([]int64, bool) {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s, false
	}
	return slices.Insert(s, i, v), true
}

func (r *Recorder) loadIndex(ctx context.Context) (index, error) {
	var idx index
	_, err := r.store.Load(ctx, indexKey, &idx)
	if errors.Is(err, state.ErrCorrupt) {
		// Start afresh rather than stop recording. The chunks it listed
		// are no longer deleted by the retention: a few MB at most, which
		// an operator can clear (the history-* keys).
		r.log.Error("history index is corrupt; starting a new one", "err", err)
		return index{}, nil
	}
	if err != nil {
		return index{}, fmt.Errorf("load history index: %w", err)
	}
	return idx, nil
}

// updateIndex applies change to the stored index atomically.
func (r *Recorder) updateIndex(ctx context.Context, change func(*index) bool) error {
	var idx index
	err := r.store.Update(ctx, indexKey, &idx, func(bool) (bool, error) { return change(&idx), nil })
	if errors.Is(err, state.ErrCorrupt) {
		r.log.Error("history index is corrupt; starting a new one", "err", err)
		idx = index{}
		change(&idx)
		err = r.store.Save(ctx, indexKey, idx)
	}
	if err != nil {
		return fmt.Errorf("update history index: %w", err)
	}
	return nil
}

// validate refuses a sample that no chunk can hold.
func validate(at time.Time, s Sample) error {
	if at.IsZero() {
		return errors.New("record history: no time")
	}
	for id, c := range s.Teams {
		for f, v := range c.array() {
			if v < 0 {
				return fmt.Errorf("record history: team %q: count %d of field %d is negative", id, v, f)
			}
		}
	}
	return nil
}

// Record keeps one sample per tick: at is the tick, the same on every
// replica. A second Record of the same tick (another replica, a retried
// job), or of a later tick within the same Resolution step, changes
// nothing; neither does one older than the newest sample of its chunk.
//
// It costs O(teams): a read of the small index, one atomic update of
// its 10-minute chunk (the index too on the chunk's first sample), and
// at most one step of maintenance (see maintain).
func (r *Recorder) Record(ctx context.Context, at time.Time, s Sample) error {
	if err := validate(at, s); err != nil {
		return err
	}
	if len(s.Teams) == 0 {
		return nil
	}
	at = at.UTC()
	s = r.bounded(s)
	start := at.Truncate(r.fine.span)
	idx, err := r.loadIndex(ctx)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	// Listed before it exists, so no chunk is ever left unlisted (and so
	// never deleted); a listed chunk that is missing reads as empty.
	if _, listed := slices.BinarySearch(*r.fine.list(&idx), start.Unix()); !listed {
		if err := r.updateIndex(ctx, func(i *index) bool {
			var added bool
			*r.fine.list(i), added = insertSorted(*r.fine.list(i), start.Unix())
			return added
		}); err != nil {
			return fmt.Errorf("record history: %w", err)
		}
		*r.fine.list(&idx), _ = insertSorted(*r.fine.list(&idx), start.Unix())
	}
	if err := r.addSamples(ctx, r.fine.key(start), start, r.opt.Resolution, []timedSample{{at, s}}); err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	if err := r.maintain(ctx, at, idx); err != nil {
		// The sample is kept; maintenance is tried again next tick.
		r.log.Warn("history maintenance failed; trying again next tick", "err", err)
	}
	return nil
}

// bounded keeps the floor and the MaxTeams teams with most agents.
func (r *Recorder) bounded(s Sample) Sample {
	if len(s.Teams) <= MaxTeams+1 {
		return s
	}
	if !r.warnedTeams.Swap(true) {
		r.log.Warn("more teams than history keeps; the smallest are left out", "teams", len(s.Teams), "kept", MaxTeams)
	}
	ids := make([]string, 0, len(s.Teams))
	for id := range s.Teams {
		if id != "" {
			ids = append(ids, id)
		}
	}
	total := func(id string) int { c := s.Teams[id]; return c.LoggedIn() + c.Offline }
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(total(b), total(a)), cmp.Compare(a, b)) })
	out := Sample{Teams: make(map[string]Counts, MaxTeams+1), Names: s.Names}
	for _, id := range ids[:MaxTeams] {
		out.Teams[id] = s.Teams[id]
	}
	if c, ok := s.Teams[""]; ok {
		out.Teams[""] = c
	}
	return out
}

type timedSample struct {
	at time.Time
	s  Sample
}

// addSamples appends samples, oldest first, to the chunk under key
// (created at start with step when missing), in one atomic update that
// writes nothing when every slot is taken already.
func (r *Recorder) addSamples(ctx context.Context, key string, start time.Time, step time.Duration, samples []timedSample) error {
	var st storedChunk
	err := r.store.Update(ctx, key, &st, func(found bool) (bool, error) {
		c := newChunk(start, step)
		if found {
			var err error
			if c, err = decodeChunk(st); err == nil {
				err = c.indexTeams()
			}
			if err != nil {
				return false, fmt.Errorf("chunk %s: %w", key, err)
			}
		}
		added := false
		for _, ts := range samples {
			if slot := c.slotOf(ts.at); slot >= 0 && c.add(slot, ts.s) {
				added = true
			}
		}
		if added {
			st = c.encode()
		}
		return added, nil
	})
	if errors.Is(err, errCorruptChunk) || errors.Is(err, state.ErrCorrupt) {
		// Better a lost hour than no history from now on.
		r.log.Error("history chunk is corrupt; starting it afresh", "key", key, "err", err)
		c := newChunk(start, step)
		for _, ts := range samples {
			if slot := c.slotOf(ts.at); slot >= 0 {
				c.add(slot, ts.s)
			}
		}
		err = r.store.Save(ctx, key, c.encode())
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

// maintain runs after a Record at now: it deletes what is past the
// retention, and compacts at most one hour older than FineFor (its
// chunks) into its day, so no tick's cost grows with the history (after
// a downtime the hours are compacted one per tick).
func (r *Recorder) maintain(ctx context.Context, now time.Time, idx index) error {
	cutoff := now.Add(-r.opt.Retention)
	gone := make(map[string]bool)
	var keys []string // gone, in order
	drop := func(key string) {
		if !gone[key] {
			gone[key] = true
			keys = append(keys, key)
		}
	}
	fine := idx.fineChunks()
	for _, c := range append(slices.Clone(fine), idx.dayChunks()...) {
		if !c.start.Add(c.span).After(cutoff) {
			drop(c.key())
		}
	}
	for _, c := range refs(idx.Alerts, daySpan, alertKey) {
		if !c.start.Add(c.span).After(cutoff) {
			drop(c.key())
		}
	}
	fineCut := now.Add(-FineFor)
	for _, c := range fine {
		if gone[c.key()] {
			continue
		}
		hour := c.start.Truncate(hourSpan)
		if hour.Add(hourSpan).After(fineCut) {
			break
		}
		var in []chunkRef // the hour's chunks, by start
		for _, d := range fine {
			if !gone[d.key()] && d.start.Truncate(hourSpan).Equal(hour) {
				in = append(in, d)
			}
		}
		if err := r.compact(ctx, hour, in); err != nil {
			return err
		}
		for _, d := range in {
			drop(d.key())
		}
		break
	}
	if len(keys) == 0 {
		return nil
	}
	for _, key := range keys {
		if err := r.store.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	// Unlisted only once deleted: a failure midway leaves them listed,
	// to be deleted next time.
	return r.updateIndex(ctx, func(i *index) bool {
		unlist := func(starts []int64, key func(time.Time) string) []int64 {
			return slices.DeleteFunc(starts, func(v int64) bool { return gone[key(time.Unix(v, 0))] })
		}
		n := len(i.Recent) + len(i.Hours) + len(i.Days) + len(i.Alerts)
		i.Recent = unlist(i.Recent, recentKey)
		i.Hours = unlist(i.Hours, hourKey)
		i.Days = unlist(i.Days, dayKey)
		i.Alerts = unlist(i.Alerts, alertKey)
		return len(i.Recent)+len(i.Hours)+len(i.Days)+len(i.Alerts) != n
	})
}

// compact adds the samples of the hour's chunks (by start) to its day at
// CoarseStep: the last sample of each step, in one update of the day. It
// is idempotent (a slot taken stays), so two replicas compacting the
// same hour agree; the caller deletes the hour's chunks.
func (r *Recorder) compact(ctx context.Context, hour time.Time, chunks []chunkRef) error {
	day := hour.Truncate(daySpan)
	if err := r.updateIndex(ctx, func(i *index) bool {
		var added bool
		i.Days, added = insertSorted(i.Days, day.Unix())
		return added
	}); err != nil {
		return err
	}
	var samples []timedSample
	for _, ref := range chunks {
		c, _, err := r.loadChunk(ctx, ref.key(), false)
		if err != nil {
			return fmt.Errorf("compact %s: %w", ref.key(), err)
		}
		if c == nil {
			continue // missing or corrupt: nothing to keep
		}
		err = c.each(func(slot int, set []int, counts []Counts) {
			at := c.timeOf(slot)
			if n := len(samples); n > 0 && samples[n-1].at.Truncate(CoarseStep).Equal(at.Truncate(CoarseStep)) {
				samples = samples[:n-1] // the last of each step
			}
			s := Sample{Teams: make(map[string]Counts, len(set)), Names: make(map[string]string, len(set))}
			for _, i := range set {
				s.Teams[c.teams[i]] = counts[i]
				s.Names[c.teams[i]] = c.names[i]
			}
			samples = append(samples, timedSample{at, s})
		})
		if err != nil {
			r.log.Error("history chunk is corrupt; keeping what could be read", "key", ref.key(), "err", err)
		}
	}
	if len(samples) == 0 {
		return nil
	}
	// A day's slots are minutes, sparse: each sample keeps its own time
	// (a gap costs a byte).
	return r.addSamples(ctx, dayKey(day), day, MinResolution, samples)
}

// loadChunk reads and decodes the chunk under key, its tail (newest
// counts) too when tail: nil when it is missing (found false) or corrupt
// (found true; logged: the rest of the history is good).
func (r *Recorder) loadChunk(ctx context.Context, key string, tail bool) (c *chunk, found bool, err error) {
	var st storedChunk
	found, err = r.store.Load(ctx, key, &st)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		r.log.Error("history chunk is corrupt; skipping it", "key", key, "err", err)
		return nil, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("read %s: %w", key, err)
	case !found:
		return nil, false, nil
	}
	decode := decodeSamples
	if tail {
		decode = decodeChunk
	}
	if c, err = decode(st); err != nil {
		r.log.Error("history chunk is corrupt; skipping it", "key", key, "err", err)
		return nil, true, nil
	}
	return c, true, nil
}
