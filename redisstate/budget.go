package redisstate

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/presence"
)

// OpBudget is reported to Options.OnFallback for every API request that
// kept to this replica's share of the budget because Redis did not answer.
const OpBudget = "budget"

// Budget defaults.
const (
	// DefaultBudgetHeartbeat is how often an idle replica says it is
	// there, so the others know what share to keep to should Redis go.
	DefaultBudgetHeartbeat = 5 * time.Second
)

// BudgetOptions configure the shared API budget.
type BudgetOptions struct {
	// Now is the clock of the bucket. Default nil: Redis's own (TIME),
	// the one clock every replica shares, so replicas whose clocks differ
	// still share one rate. Tests inject a fake one.
	Now func() time.Time
	// Replica names this replica among those counted. Default: random.
	Replica string
	// Heartbeat is how often the replica is counted while idle (at
	// every request as well). Default DefaultBudgetHeartbeat.
	Heartbeat time.Duration
	// Window is how long a replica not heard from still counts. Default
	// three heartbeats.
	Window time.Duration
}

// Budget is the contact-center API budget shared by every replica
// (presence.SharedBucket): one GCRA bucket (generic cell rate algorithm:
// the bucket is one "theoretical arrival time"), a pause after a 429, and
// the replicas heard from lately, each changed by one Lua script:
//
//	Prefix+"budget:tat"      the bucket: when it would be full again (µs)
//	Prefix+"budget:paused"   a 429's pause: until when (µs), with a TTL
//	Prefix+"budget:replicas" sorted set, replica → last heard (µs)
//
// Every key is in KEYS, so the scripts run in a cluster too (the prefix
// is then a hash tag).
type Budget struct {
	c         *Client
	now       func() time.Time
	replica   string
	heartbeat time.Duration
	window    time.Duration
	keys      []string // tat, paused, replicas

	replicas atomic.Int64
	lastBeat atomic.Int64 // Unix ns of the last heartbeat sent
}

// Budget returns the shared API budget. While the Client runs, an idle
// replica is counted every heartbeat.
func (c *Client) Budget(o BudgetOptions) *Budget {
	if o.Replica == "" {
		o.Replica = rand.Text()
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultBudgetHeartbeat
	}
	if o.Window <= 0 {
		o.Window = 3 * o.Heartbeat
	}
	b := &Budget{
		c: c, now: o.Now, replica: o.Replica, heartbeat: o.Heartbeat, window: o.Window,
		keys: []string{c.key("budget", "tat"), c.key("budget", "paused"), c.key("budget", "replicas")},
	}
	c.budget.Store(b)
	return b
}

// clockArgs is the Lua prologue that reads the time: ARGV[1], or Redis's
// own when it is empty. Scripts that read TIME and then write need
// effects replication, the default since Redis 5; older servers are asked
// for it.
const clockArgs = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
`

// countReplicas counts this replica (ARGV[2]) as heard from now, forgets
// those not heard from within ARGV[3] µs, and leaves their number in
// replicas. KEYS[3] is the set.
const countReplicas = `
local window = tonumber(ARGV[3])
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[3], math.ceil(window / 1000))
local replicas = redis.call('ZCARD', KEYS[3])
`

var (
	// ARGV: now, replica, window, emission interval T (µs), burst,
	// reserve. Returns {ok, wait µs, tokens, paused µs, replicas}. The
	// bucket holds burst − (tat − now)/T tokens; a take moves tat on by
	// T, allowed while what is left stays at or above the reserve.
	takeScript = redis.NewScript(clockArgs + countReplicas + `
local T = tonumber(ARGV[4])
local burst = tonumber(ARGV[5])
local reserve = tonumber(ARGV[6])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local tokens = burst - (tat - now) / T
local paused = tonumber(redis.call('GET', KEYS[2]) or '0') - now
if paused > 0 then
  return {0, string.format('%.0f', paused), tostring(tokens), string.format('%.0f', paused), replicas}
end
local new = tat + T
local limit = (burst - reserve) * T
if new - now > limit then
  return {0, string.format('%.0f', new - now - limit), tostring(tokens), '0', replicas}
end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {1, '0', tostring(tokens - 1), '0', replicas}`)

	// ARGV: now, replica, window, pause (µs). Moves the pause's end
	// later, never earlier. Returns the pause left (µs).
	pauseScript = redis.NewScript(clockArgs + countReplicas + `
local untilT = now + tonumber(ARGV[4])
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if untilT > cur then
  redis.call('SET', KEYS[2], string.format('%.0f', untilT), 'PX', math.ceil((untilT - now) / 1000) + 1000)
  cur = untilT
end
return string.format('%.0f', cur - now)`)

	// ARGV: now, replica, window. Returns the replicas counted.
	heartbeatScript = redis.NewScript(clockArgs + countReplicas + `
return replicas`)
)

// args are the scripts' first three arguments.
func (b *Budget) args(extra ...any) []any {
	now := ""
	if b.now != nil {
		now = strconv.FormatInt(b.now().UnixMicro(), 10)
	}
	return append([]any{now, b.replica, b.window.Microseconds()}, extra...)
}

// Take takes one token of the fleet's bucket, leaving at least l.Reserve
// in it, or says how long to wait.
func (b *Budget) Take(ctx context.Context, l presence.BucketLimit) (presence.SharedTake, error) {
	if l.Rate <= 0 || l.Burst < 1 {
		return presence.SharedTake{}, fmt.Errorf("shared budget: rate %v, burst %d", l.Rate, l.Burst)
	}
	// Whole microseconds keep the script's arithmetic exact.
	t := max(1, int64(math.Round(1e6/l.Rate)))
	var res []any
	err := b.c.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = takeScript.Run(ctx, b.c.rdb, b.keys, b.args(t, l.Burst, l.Reserve)...).Slice()
		return err
	})
	if err != nil {
		b.c.fellBack(OpBudget)
		return presence.SharedTake{}, fmt.Errorf("shared budget: %w", err)
	}
	if len(res) != 5 {
		return presence.SharedTake{}, fmt.Errorf("shared budget: %d values from the script, want 5", len(res))
	}
	ok, _ := res[0].(int64)
	replicas, _ := res[4].(int64)
	b.replicas.Store(replicas)
	return presence.SharedTake{
		OK:       ok == 1,
		Wait:     micros(res[1]),
		Tokens:   number(res[2]),
		Paused:   micros(res[3]),
		Replicas: int(replicas),
	}, nil
}

// Pause holds every replica's requests for d.
func (b *Budget) Pause(ctx context.Context, d time.Duration) error {
	err := b.c.do(ctx, func(ctx context.Context) error {
		return pauseScript.Run(ctx, b.c.rdb, b.keys, b.args(d.Microseconds())...).Err()
	})
	if err != nil {
		b.c.fellBack(OpBudget)
		return fmt.Errorf("shared budget: pause: %w", err)
	}
	return nil
}

// Heartbeat counts this replica as there, and the others heard from.
func (b *Budget) Heartbeat(ctx context.Context) error {
	var n int64
	err := b.c.do(ctx, func(ctx context.Context) error {
		var err error
		n, err = heartbeatScript.Run(ctx, b.c.rdb, b.keys, b.args()...).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("shared budget: heartbeat: %w", err)
	}
	b.replicas.Store(n)
	return nil
}

// Replicas is the number of replicas last counted (this one included),
// 0 before the first count.
func (b *Budget) Replicas() int { return int(b.replicas.Load()) }

// beat sends a heartbeat when one is due; the Client's probe calls it.
func (b *Budget) beat(ctx context.Context) {
	now := time.Now().UnixNano()
	if last := b.lastBeat.Load(); now-last < int64(b.heartbeat) || !b.lastBeat.CompareAndSwap(last, now) {
		return
	}
	_ = b.Heartbeat(ctx) // Redis trouble shows through the probe itself
}

// micros reads a µs count the script returned as a string.
func micros(v any) time.Duration {
	return time.Duration(number(v) * float64(time.Microsecond))
}

func number(v any) float64 {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case int64:
		return float64(x)
	}
	return math.NaN()
}
