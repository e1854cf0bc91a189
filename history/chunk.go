package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// chunkVersion is the encoding of storedChunk.Data; a chunk of another
// version is skipped (read as corrupt) rather than misread.
const chunkVersion = 1

// fields is the number of counts per team in a sample (Counts' fields).
const fields = 5

// storedChunk is one chunk as the store holds it: JSON, its samples
// packed in Data. The tail (Last, Set, Prev) is what appending a sample
// needs, so a Record never decodes the samples already there.
type storedChunk struct {
	V     int      `json:"v"`
	Start int64    `json:"start"` // Unix seconds
	Step  int64    `json:"step"`  // seconds between slots
	Teams []string `json:"teams"` // team IDs; samples name a team by its index here
	Names []string `json:"names"` // the display name last seen, by the same index
	Data  []byte   `json:"data"`  // the samples, oldest first (see chunk.add); base64 in JSON
	Last  int      `json:"last"`  // the newest sample's slot; -1 for none
	// Tail is the newest sample's team indexes and each team's newest
	// counts, as uvarints: len(set), set..., then fields per team.
	Tail []byte `json:"tail"`
}

// chunk is a storedChunk decoded for use: the samples of one span of
// time (10 minutes or an hour, or a day once compacted), one per slot of step.
type chunk struct {
	start time.Time
	step  time.Duration
	teams []string
	names []string
	index map[string]int // team ID → index in teams; built by indexTeams, for add
	data  []byte
	last  int
	set   []int
	prev  []Counts
}

func newChunk(start time.Time, step time.Duration) *chunk {
	return &chunk{start: start, step: step, index: make(map[string]int), last: -1}
}

// slotOf is the slot of t in c; negative before its start.
func (c *chunk) slotOf(t time.Time) int {
	d := t.Sub(c.start)
	if d < 0 {
		return -1
	}
	return int(d / c.step)
}

// timeOf is when slot begins.
func (c *chunk) timeOf(slot int) time.Time { return c.start.Add(time.Duration(slot) * c.step) }

// add appends s at slot and reports whether it did: a slot at or before
// the newest is taken already (samples only append, so the same tick
// recorded twice is one sample). Its cost is O(teams in s).
//
// A sample is encoded as: the slot, as uvarint(slot - last - 1); the
// teams, as uvarint(0) when they are the newest sample's, else
// uvarint(n+1) and each team index as uvarint(index - previous index -
// 1); then per team, ascending, a byte whose bit i says field i changed
// since the team's newest counts in this chunk, and each changed field's
// zigzag varint delta. A floor whose counts hold costs a byte per team.
func (c *chunk) add(slot int, s Sample) bool {
	if slot <= c.last || len(s.Teams) == 0 {
		return false
	}
	ids := make([]string, 0, len(s.Teams))
	for id := range s.Teams {
		ids = append(ids, id)
	}
	slices.Sort(ids) // new teams get indexes in a stable order
	set := make([]int, 0, len(ids))
	for _, id := range ids {
		i, ok := c.index[id]
		if !ok {
			i = len(c.teams)
			c.index[id] = i
			c.teams = append(c.teams, id)
			c.names = append(c.names, "")
			c.prev = append(c.prev, Counts{})
		}
		if name := s.Names[id]; name != "" {
			c.names[i] = name
		}
		set = append(set, i)
	}
	slices.Sort(set)

	b := binary.AppendUvarint(c.data, uint64(slot-c.last-1))
	if slices.Equal(set, c.set) {
		b = binary.AppendUvarint(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(set)+1))
		p := -1
		for _, i := range set {
			b = binary.AppendUvarint(b, uint64(i-p-1))
			p = i
		}
	}
	for _, i := range set {
		now, was := s.Teams[c.teams[i]].array(), c.prev[i].array()
		var mask byte
		for f := range fields {
			if now[f] != was[f] {
				mask |= 1 << f
			}
		}
		b = append(b, mask)
		for f := range fields {
			if now[f] != was[f] {
				b = binary.AppendVarint(b, int64(now[f]-was[f]))
			}
		}
		c.prev[i] = s.Teams[c.teams[i]]
	}
	c.data, c.last, c.set = b, slot, set
	return true
}

func (n Counts) array() [fields]int {
	return [fields]int{n.Available, n.OnCall, n.AfterCallWork, n.Busy, n.Offline}
}

func countsOf(a [fields]int) Counts { return Counts{a[0], a[1], a[2], a[3], a[4]} }

func (c *chunk) encode() storedChunk {
	tail := make([]byte, 0, 1+len(c.set)+fields*len(c.prev)*2)
	tail = binary.AppendUvarint(tail, uint64(len(c.set)))
	for _, i := range c.set {
		tail = binary.AppendUvarint(tail, uint64(i))
	}
	for _, p := range c.prev {
		for _, v := range p.array() {
			tail = binary.AppendUvarint(tail, uint64(v))
		}
	}
	return storedChunk{
		V: chunkVersion, Start: c.start.Unix(), Step: int64(c.step / time.Second),
		Teams: c.teams, Names: c.names, Data: c.data, Last: c.last, Tail: tail,
	}
}

// decodeTail reads storedChunk.Tail into c.set and c.prev.
func (c *chunk) decodeTail(tail []byte) error {
	next := func() (int, error) {
		v, n := binary.Uvarint(tail)
		if n <= 0 || v > 1<<40 {
			return 0, fmt.Errorf("%w: bad tail", errCorruptChunk)
		}
		tail = tail[n:]
		return int(v), nil
	}
	n, err := next()
	if err != nil {
		return err
	}
	if n > len(c.teams) {
		return fmt.Errorf("%w: %d teams in the newest sample of %d", errCorruptChunk, n, len(c.teams))
	}
	c.set = make([]int, n)
	for k := range c.set {
		if c.set[k], err = next(); err != nil {
			return err
		}
		if c.set[k] >= len(c.teams) {
			return fmt.Errorf("%w: team index %d of %d", errCorruptChunk, c.set[k], len(c.teams))
		}
	}
	for i := range c.prev {
		var a [fields]int
		for f := range a {
			if a[f], err = next(); err != nil {
				return err
			}
		}
		c.prev[i] = countsOf(a)
	}
	if len(tail) != 0 {
		return fmt.Errorf("%w: %d bytes after the tail", errCorruptChunk, len(tail))
	}
	return nil
}

// errCorruptChunk is wrapped by what cannot be decoded.
var errCorruptChunk = errors.New("corrupt history chunk")

// decodeChunk decodes st for appending to, or reading its newest counts.
func decodeChunk(st storedChunk) (*chunk, error) {
	c, err := decodeSamples(st)
	if err != nil {
		return nil, err
	}
	c.prev = make([]Counts, len(st.Teams))
	if err := c.decodeTail(st.Tail); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeSamples decodes st for reading its samples (each) only: without
// its tail, which readers do not need.
func decodeSamples(st storedChunk) (*chunk, error) {
	switch {
	case st.V != chunkVersion:
		return nil, fmt.Errorf("%w: version %d", errCorruptChunk, st.V)
	case st.Step <= 0:
		return nil, fmt.Errorf("%w: step %d", errCorruptChunk, st.Step)
	case len(st.Names) != len(st.Teams):
		return nil, fmt.Errorf("%w: %d teams, %d names", errCorruptChunk, len(st.Teams), len(st.Names))
	}
	c := &chunk{
		start: time.Unix(st.Start, 0).UTC(), step: time.Duration(st.Step) * time.Second,
		teams: st.Teams, names: st.Names,
		data: st.Data, last: st.Last,
	}
	return c, nil
}

// indexTeams builds c.index, which add needs and readers do not (so they
// skip the map): a team listed twice is corrupt.
func (c *chunk) indexTeams() error {
	c.index = make(map[string]int, len(c.teams))
	for i, id := range c.teams {
		if _, dup := c.index[id]; dup {
			return fmt.Errorf("%w: team %q twice", errCorruptChunk, id)
		}
		c.index[id] = i
	}
	return nil
}

// decodedSample is one sample read back: its slot and counts by team ID.
type decodedSample struct {
	slot  int
	teams map[string]Counts
}

// each calls f with every sample, oldest first, its teams' counts by
// index (valid until f returns). It stops at the first undecodable byte.
func (c *chunk) each(f func(slot int, set []int, counts []Counts)) error {
	b := c.data
	uvarint := func() (int, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<40 {
			return 0, fmt.Errorf("%w: bad number at byte %d", errCorruptChunk, len(c.data)-len(b))
		}
		b = b[n:]
		return int(v), nil
	}
	prev := make([]Counts, len(c.teams))
	var set []int
	last := -1
	for len(b) > 0 {
		gap, err := uvarint()
		if err != nil {
			return err
		}
		slot := last + 1 + gap
		n, err := uvarint()
		if err != nil {
			return err
		}
		if n > 0 {
			if n-1 > len(c.teams) {
				return fmt.Errorf("%w: %d teams in a sample of %d", errCorruptChunk, n-1, len(c.teams))
			}
			set = set[:0]
			p := -1
			for range n - 1 {
				d, err := uvarint()
				if err != nil {
					return err
				}
				i := p + 1 + d
				if i >= len(c.teams) {
					return fmt.Errorf("%w: team index %d of %d", errCorruptChunk, i, len(c.teams))
				}
				set = append(set, i)
				p = i
			}
		} else if last < 0 {
			return fmt.Errorf("%w: the first sample names no teams", errCorruptChunk)
		}
		for _, i := range set {
			if len(b) == 0 {
				return fmt.Errorf("%w: sample cut short", errCorruptChunk)
			}
			mask := b[0]
			b = b[1:]
			if mask >= 1<<fields {
				return fmt.Errorf("%w: field mask %#x", errCorruptChunk, mask)
			}
			a := prev[i].array()
			for f := range fields {
				if mask&(1<<f) == 0 {
					continue
				}
				d, n := binary.Varint(b)
				if n <= 0 {
					return fmt.Errorf("%w: bad delta", errCorruptChunk)
				}
				b = b[n:]
				a[f] += int(d)
				if a[f] < 0 {
					return fmt.Errorf("%w: negative count", errCorruptChunk)
				}
			}
			prev[i] = countsOf(a)
		}
		f(slot, set, prev)
		last = slot
	}
	return nil
}

// samples decodes every sample (tests, compaction).
func (c *chunk) samples() ([]decodedSample, error) {
	var out []decodedSample
	err := c.each(func(slot int, set []int, counts []Counts) {
		s := decodedSample{slot: slot, teams: make(map[string]Counts, len(set))}
		for _, i := range set {
			s.teams[c.teams[i]] = counts[i]
		}
		out = append(out, s)
	})
	return out, err
}
