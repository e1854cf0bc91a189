package state

import (
	"context"
	"fmt"
)

// Revised is a value saved with a revision that every write adds one to.
type Revised interface {
	Revision() int64
}

// SaveRevision saves next under key, a compare-and-set on the revision:
// only while the stored value's revision is still base, the one next was
// decided from. Otherwise it saves nothing and returns an error wrapping
// ErrConflict, and the caller reads again and decides again. next carries
// its own revision (base+1).
func SaveRevision[T Revised](ctx context.Context, s Store, key string, base int64, next T) error {
	var stored T
	return s.Update(ctx, key, &stored, func(bool) (bool, error) {
		if rev := stored.Revision(); rev != base {
			return false, fmt.Errorf("revision %d, decided from %d: %w", rev, base, ErrConflict)
		}
		stored = next
		return true, nil
	})
}
