package redisstate

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/presence"
)

// OpRoster is reported to Options.OnFallback when the shared roster could
// not be read or written: that replica fetched (or kept) its own.
const OpRoster = "roster"

// DefaultRosterKeep is how long a stored roster is kept after its last
// refresh: as the last known data for a replica that starts while the
// contact center fails, marked with its age.
const DefaultRosterKeep = 24 * time.Hour

// RosterStore is presence.SharedStore on Redis, in four keys:
//
//   - Prefix+"roster:meta", a small hash, never expiring: seq (the
//     sequence of claims and changes), v (the stored snapshot's claim),
//     gen (bumped by every save, failure and change: what readers poll),
//     fseq and failure (the last failed refresh);
//   - Prefix+"roster:data", the snapshot in presence.EncodeRoster's form
//     (under 30 bytes per agent), expiring after the keep time;
//   - Prefix+"roster:changes", a hash by agent ID of the bot's changes
//     newer than the snapshot, each "<seq> <EncodeAgent's form>";
//   - Prefix+"roster:refresh", the claim: a token set NX with a lease,
//     renewed while its fetch goes on.
//
// Every write is one Lua script over all the keys it touches, named in
// KEYS (so it runs in a cluster, where the prefix is a hash tag); a read
// is one MULTI. Calls are bounded by the Client's timeout and fail fast
// while Redis is down, and each such failure is counted as OpRoster.
type RosterStore struct {
	c    *Client
	keep time.Duration
}

var _ presence.SharedStore = (*RosterStore)(nil)

// RosterStore returns the shared roster store; keep <= 0 means
// DefaultRosterKeep.
func (c *Client) RosterStore(keep time.Duration) *RosterStore {
	if keep <= 0 {
		keep = DefaultRosterKeep
	}
	return &RosterStore{c: c, keep: keep}
}

func (s *RosterStore) meta() string    { return s.c.key("roster", "meta") }
func (s *RosterStore) data() string    { return s.c.key("roster", "data") }
func (s *RosterStore) changes() string { return s.c.key("roster", "changes") }
func (s *RosterStore) claim() string   { return s.c.key("roster", "refresh") }

var (
	// KEYS: claim, meta. ARGV: token, lease (ms), the version the caller
	// saw. Returns the claim's sequence, or 0 when another holds the
	// claim or a newer snapshot was stored since the caller looked.
	rosterClaimScript = redis.NewScript(`
if tonumber(redis.call('HGET', KEYS[2], 'v') or '0') > tonumber(ARGV[3]) then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('HINCRBY', KEYS[2], 'seq', 1)
end
return 0`)

	// KEYS: claim. ARGV: token, lease (ms). Returns 1 when renewed, 0
	// when the claim is no longer the caller's.
	rosterRenewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

	// KEYS: meta, data, changes, claim. ARGV: token, seq, data, keep
	// (ms). Saves unless a later claim saved first; drops the changes
	// the fetch saw (those before its claim); ends the claim if still
	// the caller's. Returns 1 when saved.
	rosterSaveScript = redis.NewScript(`
local seq = tonumber(ARGV[2])
local saved = 0
if seq > tonumber(redis.call('HGET', KEYS[1], 'v') or '0') then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  redis.call('HSET', KEYS[1], 'v', seq)
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
  local ch = redis.call('HGETALL', KEYS[3])
  for i = 1, #ch, 2 do
    local s = tonumber(string.match(ch[i + 1], '^(%d+) '))
    if s == nil or s < seq then redis.call('HDEL', KEYS[3], ch[i]) end
  end
  saved = 1
end
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return saved`)

	// KEYS: meta, claim. ARGV: token, seq, failure. Records the failure
	// unless a later one is recorded; ends the claim if the caller's.
	rosterFailScript = redis.NewScript(`
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'fseq') or '0') then
  redis.call('HSET', KEYS[1], 'fseq', ARGV[2], 'failure', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`)

	// KEYS: meta, changes. ARGV: agent ID, data, keep (ms). Returns the
	// change's sequence.
	rosterChangeScript = redis.NewScript(`
local s = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[2], ARGV[1], s .. ' ' .. ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return s`)
)

// stampFields are the meta fields a stamp reads, in order.
var stampFields = []string{"v", "gen", "fseq", "failure"}

// Stamp implements presence.SharedStore: one HMGET of a few bytes.
func (s *RosterStore) Stamp(ctx context.Context) (presence.SharedStamp, error) {
	var vals []any
	err := s.c.do(ctx, func(ctx context.Context) error {
		var err error
		vals, err = s.c.rdb.HMGet(ctx, s.meta(), stampFields...).Result()
		return err
	})
	if err != nil {
		return presence.SharedStamp{}, s.failed("read the roster stamp", err)
	}
	return parseStamp(vals)
}

// Load implements presence.SharedStore: the stamp, the changes and (when
// asked) the data in one MULTI, so they belong together.
func (s *RosterStore) Load(ctx context.Context, withData bool) (presence.SharedState, error) {
	var (
		meta    *redis.SliceCmd
		data    *redis.StringCmd
		changes *redis.MapStringStringCmd
	)
	err := s.c.do(ctx, func(ctx context.Context) error {
		_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			meta = p.HMGet(ctx, s.meta(), stampFields...)
			if withData {
				data = p.Get(ctx, s.data())
			}
			changes = p.HGetAll(ctx, s.changes())
			return nil
		})
		return err
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return presence.SharedState{}, s.failed("read the roster", err)
	}
	stamp, err := parseStamp(meta.Val())
	if err != nil {
		return presence.SharedState{}, err
	}
	st := presence.SharedState{SharedStamp: stamp}
	if data != nil {
		if b, err := data.Bytes(); err == nil {
			st.Data = b
		}
	}
	for _, raw := range changes.Val() {
		n, rest, ok := bytes.Cut([]byte(raw), []byte(" "))
		seq, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil {
			continue // not ours: the next save drops it
		}
		if seq > stamp.Version {
			st.Changes = append(st.Changes, presence.SharedChange{Seq: seq, Data: rest})
		}
	}
	slices.SortFunc(st.Changes, func(a, b presence.SharedChange) int { return cmp.Compare(a.Seq, b.Seq) })
	return st, nil
}

// Claim implements presence.SharedStore.
func (s *RosterStore) Claim(ctx context.Context, token string, lease time.Duration, seen int64) (int64, error) {
	var seq int64
	err := s.c.do(ctx, func(ctx context.Context) error {
		var err error
		seq, err = rosterClaimScript.Run(ctx, s.c.rdb, []string{s.claim(), s.meta()}, token, lease.Milliseconds(), seen).Int64()
		return err
	})
	if err != nil {
		return 0, s.failed("claim the roster refresh", err)
	}
	return seq, nil
}

// Save implements presence.SharedStore.
func (s *RosterStore) Save(ctx context.Context, token string, seq int64, data []byte) error {
	err := s.c.do(ctx, func(ctx context.Context) error {
		return rosterSaveScript.Run(ctx, s.c.rdb, []string{s.meta(), s.data(), s.changes(), s.claim()},
			token, seq, data, s.keep.Milliseconds()).Err()
	})
	return s.failed("save the roster", err)
}

// Fail implements presence.SharedStore.
func (s *RosterStore) Fail(ctx context.Context, token string, seq int64, failure string) error {
	err := s.c.do(ctx, func(ctx context.Context) error {
		return rosterFailScript.Run(ctx, s.c.rdb, []string{s.meta(), s.claim()}, token, seq, failure).Err()
	})
	return s.failed("record the failed roster refresh", err)
}

// Change implements presence.SharedStore.
func (s *RosterStore) Change(ctx context.Context, agentID string, data []byte) error {
	err := s.c.do(ctx, func(ctx context.Context) error {
		return rosterChangeScript.Run(ctx, s.c.rdb, []string{s.meta(), s.changes()}, agentID, data, s.keep.Milliseconds()).Err()
	})
	return s.failed("share a status change", err)
}

// failed wraps err with what was being done, counting Redis's failures.
func (s *RosterStore) failed(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnavailable) {
		s.c.fellBack(OpRoster)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parseStamp reads HMGET's answer for stampFields.
func parseStamp(vals []any) (presence.SharedStamp, error) {
	var st presence.SharedStamp
	if len(vals) != len(stampFields) {
		return st, fmt.Errorf("read the roster stamp: %d fields, want %d", len(vals), len(stampFields))
	}
	ints := []*int64{&st.Version, &st.Gen, &st.FailSeq}
	for i, p := range ints {
		v, ok := vals[i].(string)
		if !ok {
			continue // missing: 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return st, fmt.Errorf("read the roster stamp: %s is %q", stampFields[i], v)
		}
		*p = n
	}
	st.Failure, _ = vals[3].(string)
	return st, nil
}

// Renew implements presence.SharedStore.
func (s *RosterStore) Renew(ctx context.Context, token string, lease time.Duration) (bool, error) {
	var n int64
	err := s.c.do(ctx, func(ctx context.Context) error {
		var err error
		n, err = rosterRenewScript.Run(ctx, s.c.rdb, []string{s.claim()}, token, lease.Milliseconds()).Int64()
		return err
	})
	if err != nil {
		return false, s.failed("renew the roster refresh claim", err)
	}
	return n == 1, nil
}
