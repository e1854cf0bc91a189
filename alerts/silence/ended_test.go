package silence_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/state"
)

// TestNoteAfterTheEndNoteIsTakenAgain: an engine may note a post held
// back after another replica took the silence's end (it read the
// silence as active before a supervisor ended it early). The late note
// re-opens the silence for one more end note, which tells only what the
// first did not; then it is reported again, and taken no more.
func TestNoteAfterTheEndNoteIsTakenAgain(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, state.NewMemoryStore())
	a := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", t0)
	if err := s.NoteSuppressed(ctx, a.ID, "warning: 2 available", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.End(ctx, a.ID, "U0SUPER02", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	first, err := s.TakeEnded(ctx, t0.Add(2*time.Minute))
	if err != nil || len(first) != 1 {
		t.Fatalf("TakeEnded = %v, %v; want the ended silence", first, err)
	}
	if n, notes := first[0].Untold(); first[0].EndNotes != 0 || n != 1 || fmt.Sprint(notes) != "[warning: 2 available]" {
		t.Errorf("first take: end notes before %d, untold %d %q; want 0, 1 [warning: 2 available]", first[0].EndNotes, n, notes)
	}

	// The late note, from a poll that read the silence before its end.
	if err := s.NoteSuppressed(ctx, a.ID, "critical: 1 available", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	again, err := s.TakeEnded(ctx, t0.Add(3*time.Minute))
	if err != nil || len(again) != 1 || again[0].ID != a.ID {
		t.Fatalf("after a late note: TakeEnded = %v, %v; want the silence again", again, err)
	}
	n, notes := again[0].Untold()
	if again[0].EndNotes != 1 || n != 1 || fmt.Sprint(notes) != "[critical: 1 available]" || again[0].Suppressed != 2 {
		t.Errorf("second take: end notes before %d, untold %d %q of %d; want 1, 1 [critical: 1 available] of 2",
			again[0].EndNotes, n, notes, again[0].Suppressed)
	}
	if got, _ := s.TakeEnded(ctx, t0.Add(4*time.Minute)); len(got) != 0 {
		t.Errorf("taken a third time: %v", idsOf(got))
	}
}

// TestEndedSilencesAreCapped: however many silences end within the
// week they are kept, the store keeps the newest MaxEnded ended ones
// (the list every poll reads stays bounded) and logs each one dropped;
// the active ones are all kept.
func TestEndedSilencesAreCapped(t *testing.T) {
	ctx := context.Background()
	mem := state.NewMemoryStore()
	s, logs := newStore(t, mem)
	extra := 30
	var added []silence.Silence
	for i := range silence.MaxEnded + extra {
		// One a minute, each for a minute: each has ended by the next.
		added = append(added, mustAdd(t, s, fmt.Sprintf("team_%d", i), time.Minute, "U0SUPER01", "", t0.Add(time.Duration(i)*time.Minute)))
	}
	now := t0.Add(time.Duration(silence.MaxEnded+extra) * time.Minute)
	active := mustAdd(t, s, "sales-floor", time.Hour, "U0SUPER01", "", now)

	var v struct {
		Silences []silence.Silence `json:"silences"`
	}
	if _, err := mem.Load(ctx, silence.Key, &v); err != nil {
		t.Fatal(err)
	}
	var ended []string
	for _, x := range v.Silences {
		if !x.Active(now) {
			ended = append(ended, x.ID)
		}
	}
	if len(ended) != silence.MaxEnded {
		t.Errorf("stored %d ended silences, want %d", len(ended), silence.MaxEnded)
	}
	if len(ended) > 0 && (ended[0] != added[extra].ID || ended[len(ended)-1] != added[len(added)-1].ID) {
		t.Errorf("kept %s … %s, want the newest: %s … %s", ended[0], ended[len(ended)-1], added[extra].ID, added[len(added)-1].ID)
	}
	if ids := activeIDs(t, s, now); fmt.Sprint(ids) != fmt.Sprint([]string{active.ID}) {
		t.Errorf("active %v, want [%s]", ids, active.ID)
	}
	var drops []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "ended silence dropped") {
			drops = append(drops, line)
		}
	}
	if len(drops) != extra {
		t.Fatalf("%d drops logged, want %d", len(drops), extra)
	}
	for i, x := range added[:extra] {
		if !strings.Contains(drops[i], "id="+x.ID) || !strings.Contains(drops[i], "target="+x.Target) {
			t.Errorf("drop %d logged as %q, want silence %s (%s)", i, drops[i], x.ID, x.Target)
		}
	}
}
