package state_test

import (
	"context"
	"errors"
	"testing"

	"github.com/presencebot/presence-bot/state"
)

type revised struct {
	Rev  int64  `json:"rev"`
	Note string `json:"note"`
}

func (r revised) Revision() int64 { return r.Rev }

// A write decided from the stored revision is saved; one decided from an
// older revision is refused with ErrConflict and changes nothing.
func TestSaveRevision(t *testing.T) {
	ctx := context.Background()
	s := state.NewMemoryStore()
	if err := state.SaveRevision(ctx, s, "k", 0, revised{Rev: 1, Note: "first"}); err != nil {
		t.Fatalf("first save, from nothing: %v", err)
	}
	if err := state.SaveRevision(ctx, s, "k", 1, revised{Rev: 2, Note: "second"}); err != nil {
		t.Fatalf("save from revision 1: %v", err)
	}
	err := state.SaveRevision(ctx, s, "k", 1, revised{Rev: 2, Note: "stale"})
	if !errors.Is(err, state.ErrConflict) {
		t.Fatalf("save from the old revision 1 = %v, want ErrConflict", err)
	}
	var got revised
	if _, err := s.Load(ctx, "k", &got); err != nil {
		t.Fatal(err)
	}
	if got != (revised{Rev: 2, Note: "second"}) {
		t.Errorf("stored %+v, want revision 2, second", got)
	}
}
