// Package state keeps the bot's small pieces of durable state (alert
// phases, the counts of the last summary) behind a key-value Store, so the
// scheduled jobs remember what they said across restarts. Values are
// JSON-encoded. FileStore keeps one file per key; MemoryStore is for tests
// and the demo; a shared store for replicas implements the same interface
// and runs the same contract tests (package statetest).
package state

import (
	"context"
	"errors"
	"reflect"
)

// Store is a small key-value store of JSON values.
type Store interface {
	// Load decodes the value saved under key into v. It reports false,
	// and leaves v alone, when nothing is saved there. An undecodable
	// value is an error wrapping ErrCorrupt.
	Load(ctx context.Context, key string, v any) (found bool, err error)
	// Save replaces the value under key with v, all or nothing.
	Save(ctx context.Context, key string, v any) error
	// Delete removes key; removing a missing key is no error.
	Delete(ctx context.Context, key string) error
	// Update changes the value under key atomically: it decodes the value
	// into v (left as the caller zeroed it when missing), calls change,
	// and saves v when change says so. No other Update of key by any user
	// of the store (any replica, for a shared store) comes in between; it
	// may call change more than once, so change must compute from v alone.
	Update(ctx context.Context, key string, v any, change func(found bool) (save bool, err error)) error
}

// Reset sets what v points to back to its zero value, for an Update that
// tries again.
func Reset(v any) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
}

// ErrCorrupt is wrapped by Load when the stored value cannot be decoded,
// so callers can start afresh rather than stop.
var ErrCorrupt = errors.New("corrupt state")

// ErrEmptyKey is returned for the empty key, which names nothing.
var ErrEmptyKey = errors.New("empty state key")

// ErrConflict is what an Update's change function returns (wrapped) to
// refuse a compare-and-set: the stored value is not the one its caller
// decided from (another writer came first). Update passes it on and saves
// nothing; the caller reads again and decides again.
var ErrConflict = errors.New("state changed since it was read")
