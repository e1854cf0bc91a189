package redisstate

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of the HomeSet, as bot.DefaultHomeTTL and bot.DefaultMaxHomes.
const (
	DefaultHomeTTL  = 24 * time.Hour
	DefaultMaxHomes = 10_000
)

// OpHomes is reported to Options.OnFallback when who opened the App Home
// was recorded or read in local memory only.
const OpHomes = "homes"

// LocalHomeSet is the record of App Home openings of a single instance,
// such as bot.MemoryHomeSet; declared here so that this package does not
// depend on the Slack adapter.
type LocalHomeSet interface {
	Opened(ctx context.Context, user string)
	IsOpen(ctx context.Context, user string) bool
	Open(ctx context.Context) []string
}

// HomeSet is a bot.HomeSet shared by the replicas: one sorted set,
// Prefix+"homes:opened", of the users who opened the App Home scored by
// when (milliseconds on the replicas' clock). Entries older than the TTL
// are ignored and trimmed on each opening, the set keeps at most max
// users (the newest), and the key itself expires a TTL after the last
// opening. Every opening is also recorded in a local set, which answers
// while Redis is down or slow, and is added to what Redis says, so what
// this replica saw during an outage is not forgotten when Redis returns.
type HomeSet struct {
	c     *Client
	ttl   time.Duration
	max   int
	local LocalHomeSet
}

// HomeSet returns the shared set; ttl <= 0 and max <= 0 mean the
// defaults. local (normally bot.NewMemoryHomeSet with the same ttl and
// max) records every opening this HomeSet sees; nil leaves nothing to
// fall back on, so Homes go unrefreshed while Redis is unavailable.
func (c *Client) HomeSet(ttl time.Duration, max int, local LocalHomeSet) *HomeSet {
	if ttl <= 0 {
		ttl = DefaultHomeTTL
	}
	if max <= 0 {
		max = DefaultMaxHomes
	}
	return &HomeSet{c: c, ttl: ttl, max: max, local: local}
}

func (h *HomeSet) key() string { return h.c.key("homes", "opened") }

// expired is the score at and below which an opening is past the TTL.
func (h *HomeSet) expired(now time.Time) string {
	return strconv.FormatInt(now.Add(-h.ttl).UnixMilli(), 10)
}

// Opened implements bot.HomeSet: within the Client's timeout, and not at
// all while Redis is known to be down.
func (h *HomeSet) Opened(ctx context.Context, user string) {
	if h.local != nil {
		h.local.Opened(ctx, user)
	}
	now := h.c.now()
	err := h.c.do(ctx, func(ctx context.Context) error {
		key := h.key()
		_, err := h.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: user})
			p.ZRemRangeByScore(ctx, key, "-inf", h.expired(now))
			// Rank 0 is the oldest: keep the newest max.
			p.ZRemRangeByRank(ctx, key, 0, int64(-h.max-1))
			p.PExpire(ctx, key, h.ttl)
			return nil
		})
		return err
	})
	h.fellBack(err)
}

// IsOpen implements bot.HomeSet.
func (h *HomeSet) IsOpen(ctx context.Context, user string) bool {
	if h.local != nil && h.local.IsOpen(ctx, user) {
		return true // this replica saw it: no need to ask Redis
	}
	var score float64
	err := h.c.do(ctx, func(ctx context.Context) error {
		var err error
		score, err = h.c.rdb.ZScore(ctx, h.key(), user).Result()
		return err
	})
	if err != nil {
		h.fellBack(err)
		return false // redis.Nil: nobody recorded it
	}
	return h.c.now().Sub(time.UnixMilli(int64(score))) < h.ttl
}

// Open implements bot.HomeSet: Redis's users and the local ones, once
// each.
func (h *HomeSet) Open(ctx context.Context) []string {
	var users []string
	if h.local != nil {
		users = h.local.Open(ctx)
	}
	var shared []string
	err := h.c.do(ctx, func(ctx context.Context) error {
		var err error
		shared, err = h.c.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: h.key(), Start: "(" + h.expired(h.c.now()), Stop: "+inf", ByScore: true,
		}).Result()
		return err
	})
	h.fellBack(err)
	users = append(users, shared...)
	slices.Sort(users)
	return slices.Compact(users)
}

// fellBack counts a call that Redis could not answer.
func (h *HomeSet) fellBack(err error) {
	if errors.Is(err, ErrUnavailable) {
		h.c.fellBack(OpHomes)
	}
}
