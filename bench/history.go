package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// historyHours is the history the trend scenarios' bot starts with: a
// morning's, more than /presence trend's default 4 hours, as a bot up
// since the shift began has. Recording it live would take those hours,
// or an alert poll every second fetching the roster under the load.
const historyHours = 8

// trendTeam is the team /presence trend <team> asks for: one of the
// simulator's teams (ccmsim.DefaultTeams).
const trendTeam = "sales_team"

// recordHistory records a minute-by-minute history of agents' floor for
// historyHours up to now, in memory, through the bot's own Recorder, so
// the chunks are the ones the bot writes. The counts move as a floor's
// do: in each team some agents go from available to a call and back, in
// a wave of the team's own period; the last sample is the roster as it is.
func recordHistory(ctx context.Context, agents []presence.Agent, now time.Time) (*keptStore, error) {
	var sum presence.Summary
	for _, a := range agents {
		sum.Add(a.Status)
	}
	snaps := presence.NewSnapshots(staticRoster{&presence.Roster{Agents: agents, Summary: sum}}, time.Hour, nil)
	snap, err := snaps.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("history: count the roster: %w", err)
	}
	base := history.SampleOf(snap)
	store := &keptStore{Store: state.NewMemoryStore(), keys: map[string]bool{}}
	rec := history.New(store, history.Options{Resolution: time.Minute}, nil)
	end := now.Truncate(time.Minute)
	for ago := historyHours * 60; ago >= 0; ago-- {
		at := end.Add(-time.Duration(ago) * time.Minute)
		if err := rec.Record(ctx, at, sampleAgo(base, ago)); err != nil {
			return nil, fmt.Errorf("history: record %s: %w", at.Format(time.RFC3339), err)
		}
	}
	return store, nil
}

// sampleAgo is base as it was ago minutes before: each team's wave moves
// up to a quarter of its available agents onto calls or back (none now),
// and the floor moves with them. Teams go in a fixed order, so the same
// roster gives the same history.
func sampleAgo(base history.Sample, ago int) history.Sample {
	out := history.Sample{Teams: make(map[string]history.Counts, len(base.Teams)), Names: base.Names}
	moved := 0
	for i, id := range slices.Sorted(maps.Keys(base.Teams)) {
		c := base.Teams[id]
		if id != "" {
			period := float64(50 + 20*i) // minutes: the teams do not move in step
			shift := int(math.Round(float64(c.Available) / 4 * math.Sin(2*math.Pi*float64(ago)/period)))
			shift = min(max(shift, -c.Available), c.OnCall) // agents moved, never made up
			c.Available += shift
			c.OnCall -= shift
			moved += shift
		}
		out.Teams[id] = c
	}
	floor := out.Teams[""]
	floor.Available += moved
	floor.OnCall -= moved
	out.Teams[""] = floor
	return out
}

// seedHistory writes the history of agents up to now into dir, the bot's
// STATE_DIR, as the file store the bot opens there. It is made in memory
// and copied key by key: a file store syncs every write, and a morning is
// 481 samples.
func seedHistory(ctx context.Context, dir string, agents []presence.Agent, now time.Time) error {
	mem, err := recordHistory(ctx, agents, now)
	if err != nil {
		return err
	}
	files, err := state.NewFileStore(dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, key := range mem.written() {
		var raw json.RawMessage
		found, err := mem.Load(ctx, key, &raw)
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		if !found { // written, then deleted
			continue
		}
		if err := files.Save(ctx, key, raw); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	return nil
}

// keptStore is a store that remembers the keys written to it, since a
// state.Store cannot list them.
type keptStore struct {
	state.Store
	mu   sync.Mutex
	keys map[string]bool
}

func (s *keptStore) keep(key string) {
	s.mu.Lock()
	s.keys[key] = true
	s.mu.Unlock()
}

func (s *keptStore) Save(ctx context.Context, key string, v any) error {
	s.keep(key)
	return s.Store.Save(ctx, key, v)
}

func (s *keptStore) Update(ctx context.Context, key string, v any, change func(bool) (bool, error)) error {
	s.keep(key)
	return s.Store.Update(ctx, key, v, change)
}

// written lists the keys written, sorted.
func (s *keptStore) written() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.keys))
}
