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
}

// ErrCorrupt is wrapped by Load when the stored value cannot be decoded,
// so callers can start afresh rather than stop.
var ErrCorrupt = errors.New("corrupt state")

// ErrEmptyKey is returned for the empty key, which names nothing.
var ErrEmptyKey = errors.New("empty state key")
