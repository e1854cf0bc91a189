package state

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// MemoryStore keeps values in memory, JSON-encoded like the other stores
// so a test sees the same encoding errors. It is safe for concurrent use.
type MemoryStore struct {
	mu     sync.Mutex
	values map[string][]byte
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{values: make(map[string][]byte)}
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context, key string, v any) (bool, error) {
	if err := check(ctx, key); err != nil {
		return false, fmt.Errorf("load state %q: %w", key, err)
	}
	m.mu.Lock()
	data, ok := m.values[key]
	m.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("load state %q: %w: %w", key, ErrCorrupt, err)
	}
	return true, nil
}

// Save implements Store.
func (m *MemoryStore) Save(ctx context.Context, key string, v any) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("save state %q: %w", key, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save state %q: encode: %w", key, err)
	}
	m.mu.Lock()
	m.values[key] = data
	m.mu.Unlock()
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	m.mu.Lock()
	delete(m.values, key)
	m.mu.Unlock()
	return nil
}

// check refuses what no store accepts: a finished context or no key.
func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return ErrEmptyKey
	}
	return nil
}

// Update implements Store.
func (m *MemoryStore) Update(ctx context.Context, key string, v any, change func(found bool) (bool, error)) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("update state %q: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, found := m.values[key]
	if found {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("update state %q: %w: %w", key, ErrCorrupt, err)
		}
	}
	save, err := change(found)
	if err != nil || !save {
		return err
	}
	data, err = json.Marshal(v)
	if err != nil {
		return fmt.Errorf("update state %q: encode: %w", key, err)
	}
	m.values[key] = data
	return nil
}
