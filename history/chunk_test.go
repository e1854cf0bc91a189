package history

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// A chunk's samples survive encoding, however sparse (slots skipped,
// teams coming and going) and whatever the counts (large, back to 0).
func TestChunkEncodingRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := newChunk(at(7*time.Hour), time.Minute)
	var want []decodedSample
	for slot := 0; slot < 60; slot += 1 + rng.IntN(3) {
		s := Sample{Teams: map[string]Counts{}, Names: map[string]string{}}
		for _, id := range []string{"", "a", "b", "c"} {
			if rng.IntN(3) == 0 && id != "" {
				continue
			}
			big := rng.IntN(2) == 0
			n := func() int {
				if big {
					return rng.IntN(1 << 20)
				}
				return rng.IntN(4)
			}
			s.Teams[id] = Counts{n(), n(), n(), n(), n()}
		}
		if !c.add(slot, s) {
			t.Fatalf("slot %d not added", slot)
		}
		want = append(want, decodedSample{slot: slot, teams: s.Teams})
	}
	if c.add(want[len(want)-1].slot, sampleOf(map[string]int{"a": 1})) {
		t.Error("a slot added twice")
	}
	round, err := decodeChunk(c.encode())
	if err != nil {
		t.Fatal(err)
	}
	got, err := round.samples()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %d samples, want %d; first %+v vs %+v", len(got), len(want), got[0], want[0])
	}
}

// A corrupt chunk is an error, never a panic or wrong counts.
func TestChunkCorrupt(t *testing.T) {
	c := newChunk(at(0), time.Minute)
	c.add(0, sampleOf(map[string]int{"a": 1, "b": 2}))
	st := c.encode()
	st.Data = st.Data[:len(st.Data)-3]
	if d, err := decodeChunk(st); err == nil {
		if _, err := d.samples(); err == nil {
			t.Error("a truncated chunk decoded without error")
		}
	}
}
