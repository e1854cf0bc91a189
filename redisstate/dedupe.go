package redisstate

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultDedupeTTL is how long a delivery is remembered when Deduper is
// given no TTL; Slack redelivers within minutes.
const DefaultDedupeTTL = 10 * time.Minute

// LocalDeduper is the duplicate check of a single instance, such as
// bot.MemoryDeduper. It is declared here, rather than taken from package
// bot, so that this package does not depend on the Slack adapter.
type LocalDeduper interface {
	// FirstDelivery reports whether key is new, and records it.
	FirstDelivery(ctx context.Context, key string) bool
}

// Deduper is a bot.Deduper shared by the replicas: the first to SET NX
// the key Prefix+"dedupe:"+key (with a TTL) runs the command. It also
// records every key in a local deduper, which answers alone while Redis is
// down or slow, so a delivery is never dropped for want of Redis and a
// redelivery to the same replica is still caught.
type Deduper struct {
	c     *Client
	ttl   time.Duration
	local LocalDeduper
}

// Deduper returns the shared deduper; ttl <= 0 means DefaultDedupeTTL.
// local (normally bot.NewMemoryDeduper with the same ttl) answers while
// Redis is unavailable; it records every key this Deduper sees, so nobody
// else may ask it about the same keys. A nil local treats every delivery
// as first while Redis is unavailable: a duplicate is better than a
// command dropped.
func (c *Client) Deduper(ttl time.Duration, local LocalDeduper) *Deduper {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	return &Deduper{c: c, ttl: ttl, local: local}
}

// FirstDelivery implements bot.Deduper. It waits on Redis at most the
// Client's timeout, and not at all while Redis is known to be down.
func (d *Deduper) FirstDelivery(ctx context.Context, key string) bool {
	// The local record comes first and always: it is the answer when Redis
	// fails, and it remembers what this replica ran during an outage, which
	// Redis (perhaps restarted empty) does not know.
	localFirst := true
	if d.local != nil {
		localFirst = d.local.FirstDelivery(ctx, key)
	}
	var shared bool
	err := d.c.do(ctx, func(ctx context.Context) error {
		var err error
		shared, err = d.c.rdb.SetNX(ctx, d.c.key("dedupe", key), "1", d.ttl).Result()
		if errors.Is(err, redis.Nil) {
			return nil // SET NX answers nil when the key exists
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			d.c.fellBack(OpDedupe)
		}
		return localFirst
	}
	return shared && localFirst
}
