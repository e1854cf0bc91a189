package redisstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/state"
)

// Store is a state.Store on Redis: each key's JSON value is one Redis
// string under Prefix+"state:"+key, without expiry. A SET replaces the
// value whole, so readers on any replica see the old value or the new
// one. While Redis is down every call fails fast with an error wrapping
// ErrUnavailable; otherwise calls wait at most the Client's timeout.
type Store struct {
	c *Client
}

var _ state.Store = (*Store)(nil)

// Store returns the shared state.Store.
func (c *Client) Store() *Store { return &Store{c: c} }

// Load implements state.Store.
func (s *Store) Load(ctx context.Context, key string, v any) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("load state: %w", state.ErrEmptyKey)
	}
	var data []byte
	err := s.c.do(ctx, func(ctx context.Context) error {
		var err error
		data, err = s.c.rdb.Get(ctx, s.c.key("state", key)).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		s.fellBack(err)
		return false, fmt.Errorf("load state %q: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("load state %q: %w: %w", key, state.ErrCorrupt, err)
	}
	return true, nil
}

// Save implements state.Store.
func (s *Store) Save(ctx context.Context, key string, v any) error {
	if key == "" {
		return fmt.Errorf("save state: %w", state.ErrEmptyKey)
	}
	// Encode first: a value that cannot be encoded must not touch Redis.
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save state %q: encode: %w", key, err)
	}
	err = s.c.do(ctx, func(ctx context.Context) error {
		return s.c.rdb.Set(ctx, s.c.key("state", key), data, 0).Err()
	})
	if err != nil {
		s.fellBack(err)
		return fmt.Errorf("save state %q: %w", key, err)
	}
	return nil
}

// Delete implements state.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("delete state: %w", state.ErrEmptyKey)
	}
	err := s.c.do(ctx, func(ctx context.Context) error {
		return s.c.rdb.Del(ctx, s.c.key("state", key)).Err()
	})
	if err != nil {
		s.fellBack(err)
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	return nil
}

// fellBack counts a call that failed because of Redis, not the caller.
func (s *Store) fellBack(err error) {
	if errors.Is(err, ErrUnavailable) {
		s.c.fellBack(OpStore)
	}
}

// updateTries bounds Update's optimistic retries when other writers keep
// changing the key; with the jittered pause between tries, dozens of
// simultaneous writers all get through.
const updateTries = 100

// Update implements state.Store with WATCH/MULTI: the value is read and
// rewritten in one transaction that fails, and is tried again, if another
// client changed the key in between.
func (s *Store) Update(ctx context.Context, key string, v any, change func(found bool) (bool, error)) error {
	if key == "" {
		return fmt.Errorf("update state: %w", state.ErrEmptyKey)
	}
	k := s.c.key("state", key)
	for range updateTries {
		// Errors of the value or of change are the caller's, not Redis's:
		// they travel outside do, so they never mark Redis down.
		var appErr error
		err := s.c.do(ctx, func(ctx context.Context) error {
			return s.c.rdb.Watch(ctx, func(tx *redis.Tx) error {
				state.Reset(v)
				data, err := tx.Get(ctx, k).Bytes()
				found := err == nil
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				if found {
					if err := json.Unmarshal(data, v); err != nil {
						appErr = fmt.Errorf("update state %q: %w: %w", key, state.ErrCorrupt, err)
						return nil
					}
				}
				save, err := change(found)
				if err != nil || !save {
					appErr = err
					return nil
				}
				enc, err := json.Marshal(v)
				if err != nil {
					appErr = fmt.Errorf("update state %q: encode: %w", key, err)
					return nil
				}
				_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, k, enc, 0)
					return nil
				})
				return err
			}, k)
		})
		if errors.Is(err, redis.TxFailedErr) {
			// Someone else changed it first: read again, after a pause so
			// the writers do not keep colliding in step.
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(2 * time.Millisecond)))):
			case <-ctx.Done():
				return fmt.Errorf("update state %q: %w", key, ctx.Err())
			}
			continue
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			s.fellBack(err)
			return fmt.Errorf("update state %q: %w", key, err)
		}
		return appErr
	}
	return fmt.Errorf("update state %q: the key kept changing under %d tries", key, updateTries)
}
