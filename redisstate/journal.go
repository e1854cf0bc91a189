package redisstate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Journal defaults.
const (
	// DefaultJournalLease is how long an entry stays its replica's without
	// a renewal. The bot renews every third of it, so a replica must stall
	// for two thirds of a lease before another takes its commands over.
	DefaultJournalLease = 10 * time.Second
	// ResponseURLLife is how long Slack accepts answers through a
	// response_url: an entry older than this cannot be answered and is
	// dropped.
	ResponseURLLife = 30 * time.Minute
)

// OpJournal is reported to Options.OnFallback when a command could not be
// journaled, or its entry removed, for want of Redis.
const OpJournal = "journal"

// errCancelled is wrapped by Put when the entry was cancelled after an
// earlier Put of it failed (see Journal.unsure): it is not journaled.
var errCancelled = errors.New("journal entry cancelled after a failed put")

// ErrLeaseLost is wrapped by Remove when another replica has claimed the
// entry since (this one stalled past its lease): the entry is that
// replica's now and is left alone.
var ErrLeaseLost = errors.New("journal entry claimed by another replica")

// JournalOptions configure a Journal.
type JournalOptions struct {
	// Lease is how long an entry is its owner's without a renewal.
	// Default DefaultJournalLease.
	Lease time.Duration
	// MaxAge is the age past which an entry is dropped rather than
	// claimed. Default ResponseURLLife.
	MaxAge time.Duration
	// Now is the clock of leases and ages. Default time.Now: leases are
	// compared across replicas, so this is the wall clock, not a
	// scheduler's fake one. Replicas' clocks may differ by a second; a
	// lease of several seconds absorbs that.
	Now func() time.Time
	// Owner names this replica in its entries. Default: random.
	Owner string
	// OnDropped, if set, is called for each entry dropped unanswered. It
	// feeds a counter and must return quickly.
	OnDropped func()
}

// Journal keeps the commands a replica has acknowledged until they are
// answered, so that another replica finishes them should this one die
// (bot.Journal). Each entry is the bot's payload (opaque here), with its
// owner, its received time and a lease the owner renews while it runs:
//
//	Prefix+"journal:lease"    sorted set, entry → lease deadline (Unix ms)
//	Prefix+"journal:owner"    hash, entry → owning replica
//	Prefix+"journal:entry"    hash, entry → payload
//	Prefix+"journal:received" sorted set, entry → received (Unix ms)
//	Prefix+"journal:cancelled:"+entry  a mark, for MaxAge: never journal it
//
// Every change is one Lua script, so a claim is atomic: of the replicas
// that find an expired lease at once, exactly one takes the entry.
//
// A Put that fails may still run: Redis, slow rather than down, runs what
// it was sent after the client gave up. The bot runs that command
// unjournaled, so such an entry must not stay, or another replica would
// claim it once its lease ran out and answer the command a second time.
// The Journal cancels it at its next Claim (before it) or Renew (after
// it): the entry is removed if it is there, and marked so that a Put still
// on its way is ignored.
type Journal struct {
	c         *Client
	lease     time.Duration
	maxAge    time.Duration
	now       func() time.Time
	owner     string
	onDropped func()
	keys      []string // lease, owner, entry, received

	mu sync.Mutex
	// unsure are the entries whose Put failed after it was sent: each is
	// cancelled (cancelUnsure) at this replica's next claim or renewal.
	unsure map[string]bool
}

// Journal returns the command journal.
func (c *Client) Journal(o JournalOptions) *Journal {
	if o.Lease <= 0 {
		o.Lease = DefaultJournalLease
	}
	if o.MaxAge <= 0 {
		o.MaxAge = ResponseURLLife
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Owner == "" {
		o.Owner = rand.Text()
	}
	return &Journal{
		c: c, lease: o.Lease, maxAge: o.MaxAge, now: o.Now, owner: o.Owner, onDropped: o.OnDropped,
		keys:   []string{c.key("journal", "lease"), c.key("journal", "owner"), c.key("journal", "entry"), c.key("journal", "received")},
		unsure: map[string]bool{},
	}
}

// withCancelled is the scripts' keys with id's cancellation mark last.
func (j *Journal) withCancelled(id string) []string {
	return append(slices.Clip(j.keys), j.c.key("journal", "cancelled:"+id))
}

// Lease is how long an entry stays this replica's without a renewal.
func (j *Journal) Lease() time.Duration { return j.lease }

// The scripts. KEYS are always lease, owner, entry, received, and for put
// and cancel the entry's cancellation mark.
var (
	// ARGV: id, deadline, owner, payload, received; returns 0 when the
	// entry was cancelled.
	putScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
return 1`)

	// ARGV: owner, deadline, ids…; returns the ids no longer the owner's.
	renewScript = redis.NewScript(`
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost`)

	// ARGV: id, owner; returns 0 when another owner has the entry.
	removeScript = redis.NewScript(`
local o = redis.call('HGET', KEYS[2], ARGV[1])
if o and o ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`)

	// KEYS[4+i]: the cancellation mark of ARGV[2+i]. ARGV: owner, mark's
	// life (ms), ids…. Marks each entry cancelled, and removes it unless
	// another owner has claimed it; returns those.
	cancelScript = redis.NewScript(`
local taken = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  redis.call('SET', KEYS[i + 2], '1', 'PX', ARGV[2])
  local o = redis.call('HGET', KEYS[2], id)
  if o and o ~= ARGV[1] then
    taken[#taken + 1] = id
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
  end
end
return taken`)

	// ARGV: now, new deadline, new owner, oldest received kept, limit.
	// Returns triples: "c", id, payload for each entry claimed; "d", id,
	// received (or "") for each dropped as too old or incomplete.
	claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[3], id)
  local received = redis.call('ZSCORE', KEYS[4], id)
  if payload and received and tonumber(received) >= tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[2], id, ARGV[3])
    out[#out + 1] = 'c'; out[#out + 1] = id; out[#out + 1] = payload
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
    out[#out + 1] = 'd'; out[#out + 1] = id; out[#out + 1] = received or ''
  end
end
return out`)
)

func unixMs(t time.Time) int64 { return t.UnixMilli() }

// Put records an accepted command under id (its delivery's dedupe key),
// owned by this replica with a fresh lease. An error means the command is
// not journaled, even when Redis runs the Put late (see Journal). Errors
// never show payload, which holds the response_url.
func (j *Journal) Put(ctx context.Context, id string, received time.Time, payload []byte) error {
	deadline := unixMs(j.now().Add(j.lease))
	var (
		sent bool
		put  int64
	)
	err := j.c.do(ctx, func(ctx context.Context) error {
		sent = true
		var err error
		put, err = putScript.Run(ctx, j.c.rdb, j.withCancelled(id), id, deadline, j.owner, payload, unixMs(received)).Int64()
		return err
	})
	if err != nil {
		if sent {
			j.mu.Lock()
			j.unsure[id] = true
			j.mu.Unlock()
		}
		j.fellBack(err)
		return fmt.Errorf("journal %s: %w", id, err)
	}
	if put == 0 {
		return fmt.Errorf("journal %s: %w", id, errCancelled)
	}
	return nil
}

// cancelUnsure cancels, in one round trip, the entries whose Put failed
// after it was sent; when Redis fails again they are tried next time.
// It follows a renewal, so that it never holds one up, and comes before a
// claim.
func (j *Journal) cancelUnsure(ctx context.Context) {
	j.mu.Lock()
	ids := slices.Collect(maps.Keys(j.unsure))
	j.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	keys := slices.Clip(j.keys)
	args := []any{j.owner, j.maxAge.Milliseconds()}
	for _, id := range ids {
		keys = append(keys, j.c.key("journal", "cancelled:"+id))
		args = append(args, id)
	}
	var taken []string
	err := j.c.do(ctx, func(ctx context.Context) error {
		var err error
		taken, err = cancelScript.Run(ctx, j.c.rdb, keys, args...).StringSlice()
		return err
	})
	if err != nil {
		return
	}
	for _, id := range taken {
		j.c.log.Warn("journal: another replica claimed a command whose journaling failed here, and which ran here; it may be answered twice",
			"entry", id)
	}
	j.mu.Lock()
	for _, id := range ids {
		delete(j.unsure, id)
	}
	j.mu.Unlock()
}

// Renew extends the lease of the entries this replica runs, in one round
// trip, and returns those it no longer owns (claimed by another replica
// after this one stalled, or never journaled).
func (j *Journal) Renew(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+2)
	args = append(args, j.owner, unixMs(j.now().Add(j.lease)))
	for _, id := range ids {
		args = append(args, id)
	}
	var lost []string
	err := j.c.do(ctx, func(ctx context.Context) error {
		var err error
		lost, err = renewScript.Run(ctx, j.c.rdb, j.keys, args...).StringSlice()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew %d journal entries: %w", len(ids), err)
	}
	j.cancelUnsure(ctx)
	return lost, nil
}

// Remove forgets an answered entry. Removing one already gone is no
// error; one another replica has claimed meanwhile is left to it
// (ErrLeaseLost).
func (j *Journal) Remove(ctx context.Context, id string) error {
	var removed int64
	err := j.c.do(ctx, func(ctx context.Context) error {
		var err error
		removed, err = removeScript.Run(ctx, j.c.rdb, j.keys, id, j.owner).Int64()
		return err
	})
	if err != nil {
		j.fellBack(err)
		return fmt.Errorf("remove journal entry %s: %w", id, err)
	}
	if removed == 0 {
		return fmt.Errorf("remove journal entry %s: %w", id, ErrLeaseLost)
	}
	return nil
}

// Claim takes over at most max entries whose lease ran out (their
// replica died or stalled), each with a fresh lease of this replica's,
// and returns their payloads by id. Entries older than MaxAge are dropped
// instead: logged and reported to OnDropped.
func (j *Journal) Claim(ctx context.Context, max int) (map[string][]byte, error) {
	if max <= 0 {
		return nil, nil
	}
	// First, so that this replica never claims back what it ran.
	j.cancelUnsure(ctx)
	now := j.now()
	var reply []any
	err := j.c.do(ctx, func(ctx context.Context) error {
		var err error
		reply, err = claimScript.Run(ctx, j.c.rdb, j.keys,
			unixMs(now), unixMs(now.Add(j.lease)), j.owner, unixMs(now.Add(-j.maxAge)), max).Slice()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim journal entries: %w", err)
	}
	claimed := map[string][]byte{}
	for i := 0; i+2 < len(reply); i += 3 {
		kind, _ := reply[i].(string)
		id, _ := reply[i+1].(string)
		val, _ := reply[i+2].(string)
		if kind == "c" {
			claimed[id] = []byte(val)
			continue
		}
		msg := "journal: dropped a command its replica never answered: too old to answer through its response_url"
		attrs := []any{"entry", id, "max_age", j.maxAge}
		if ms, err := strconv.ParseInt(val, 10, 64); err == nil {
			attrs = append(attrs, "age", now.Sub(time.UnixMilli(ms)).Round(time.Second))
		} else {
			msg = "journal: dropped an incomplete entry of a command its replica never answered"
		}
		j.c.log.Warn(msg, attrs...)
		if j.onDropped != nil {
			j.onDropped()
		}
	}
	return claimed, nil
}

// fellBack counts a journal write that failed because of Redis.
func (j *Journal) fellBack(err error) {
	if errors.Is(err, ErrUnavailable) {
		j.c.fellBack(OpJournal)
	}
}
