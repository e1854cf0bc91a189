// Package redisstate shares the bot's state between replicas through
// Redis: the duplicate-delivery check (SET NX with a TTL), the scheduled
// jobs' lock (one replica per job and tick) and the state.Store of alert
// state, queued after-call statuses and learned email mappings.
//
// Redis is one server, a master found through Sentinel, or a Redis
// Cluster (see package redisurl for REDIS_URL's forms). Through Sentinel
// the client follows a failover to the new master by itself; in a
// cluster every key carries the prefix as a hash tag (ClusterPrefix), so
// all of them live in one slot, where WATCH, Lua scripts over several
// keys and the locks work as on one server.
//
// Redis is never allowed to stop a command. Every call is bounded by
// Options.Timeout, and while Redis is down or slow the Client is
// "degraded": deduplication falls back to local memory, Lock fails so
// gocron skips the run rather than risk a duplicate, and the Store fails
// fast with ErrUnavailable. A background probe notices when Redis is back
// and everything resumes by itself.
package redisstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/presencebot/presence-bot/internal/redisurl"
)

// Defaults for the zero Options.
const (
	DefaultTimeout       = 200 * time.Millisecond
	DefaultPrefix        = "presence-bot:"
	DefaultProbeInterval = time.Second
)

// Operations reported to Options.OnFallback.
const (
	OpDedupe = "dedupe" // a delivery was checked in local memory only
	OpLock   = "lock"   // a job's tick was skipped for want of the lock
	OpStore  = "store"  // a state read or write failed
)

// ErrUnavailable is wrapped by every error that comes from Redis being
// down, slow or refusing us, as opposed to the caller's own cancellation.
var ErrUnavailable = errors.New("redis unavailable")

// Options configure a Client.
type Options struct {
	// URL is REDIS_URL: redis://[user:password@]host:port/db (rediss://
	// for TLS), redis-sentinel://[user:password@]host:26379,…/master?db=N
	// or redis-cluster://[user:password@]host:6379,…; see package
	// redisurl. The password never appears in errors or logs.
	URL string
	// Timeout bounds every call to Redis (REDIS_TIMEOUT). Default 200ms.
	Timeout time.Duration
	// Prefix starts every key, so several bots can share one Redis.
	// Default "presence-bot:". In a cluster it becomes a hash tag
	// (ClusterPrefix: "{presence-bot}:").
	Prefix string
	// Logger receives state changes (Redis lost, Redis back). Default:
	// discard.
	Logger *slog.Logger
	// Now is the clock of the outage durations logged. Default time.Now.
	Now func() time.Time
	// ProbeInterval is how often Redis is pinged, so an outage shows in
	// Healthy even when idle, and recovery is noticed while operations
	// are failing fast. Default 1s.
	ProbeInterval time.Duration
	// OnStateChange, if set, is called from Open with the initial state
	// and then on every change: up is false while degraded. Calls are
	// serialised and must return quickly. It feeds /readyz and a gauge.
	OnStateChange func(up bool)
	// OnFallback, if set, is called for every operation that was degraded
	// because of Redis, with OpDedupe, OpLock or OpStore. It feeds a
	// counter. It must return quickly.
	OnFallback func(op string)
}

// Client is a connection to Redis shared by the Store, the Deduper and
// the Locker it hands out. It is safe for concurrent use.
type Client struct {
	// rdb is a *redis.Client for one server or through Sentinel (go-redis'
	// failover client), a *redis.ClusterClient for a cluster.
	rdb        redis.UniversalClient
	rs         *redsync.Redsync
	timeout    time.Duration
	prefix     string
	log        *slog.Logger
	now        func() time.Time
	onChange   func(up bool)
	onFallback func(op string)

	up        atomic.Bool
	changeMu  sync.Mutex // serialises state changes and their hook calls
	downSince time.Time  // guarded by changeMu

	// budget is the shared API budget, once asked for: the probe counts
	// this replica in it while idle.
	budget atomic.Pointer[Budget]

	stop      chan struct{}
	probeDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open connects to Redis and pings it once. Only a bad URL is an error:
// when Redis is unreachable at start the Client starts degraded (logged,
// Healthy false) and recovers by itself once Redis answers, so a Redis
// outage never keeps the bot from starting or serving commands.
func Open(ctx context.Context, o Options) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	rdb, target, err := newRedis(o.URL, o.Timeout)
	if err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if target.Kind == redisurl.Cluster {
		o.Prefix = ClusterPrefix(o.Prefix)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}

	c := &Client{
		rdb:        rdb,
		rs:         redsync.New(goredis.NewPool(rdb)),
		timeout:    o.Timeout,
		prefix:     o.Prefix,
		log:        o.Logger.With("redis", target.String()), // never the password
		now:        o.Now,
		onChange:   o.OnStateChange,
		onFallback: o.OnFallback,
		stop:       make(chan struct{}),
		probeDone:  make(chan struct{}),
	}

	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err = rdb.Ping(pctx).Err()
	cancel()
	c.up.Store(err == nil)
	if err != nil {
		c.downSince = c.now()
		c.log.Warn("redis unreachable at start; running degraded until it answers: commands deduplicate in memory, scheduled jobs are skipped",
			"err", err)
	}
	if c.onChange != nil {
		c.onChange(err == nil)
	}
	go c.probe(o.ProbeInterval)
	return c, nil
}

// NewUniversalClient builds the go-redis client REDIS_URL names, as Open
// does, for those who speak to Redis without a Client (check): a
// *redis.Client for one server or through Sentinel, a
// *redis.ClusterClient for a cluster. See newRedis.
func NewUniversalClient(raw string, timeout time.Duration) (redis.UniversalClient, redisurl.Target, error) {
	return newRedis(raw, timeout)
}

// newRedis builds the go-redis client REDIS_URL names, every wait inside
// it bounded by timeout (and by the context deadline each call sets), one
// attempt per dial: the probe is what retries. Its errors never hold the
// password.
func newRedis(raw string, timeout time.Duration) (redis.UniversalClient, redisurl.Target, error) {
	target, err := redisurl.Parse(raw)
	if err != nil {
		return nil, target, fmt.Errorf("redis URL: %w", err)
	}
	if target.Kind != redisurl.Single {
		return redis.NewUniversalClient(universalOptions(target, timeout)), target, nil
	}
	// One server: go-redis reads the URL itself, with the options it
	// takes as parameters, as it always has.
	ropts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, target, fmt.Errorf("redis URL: %s", redact(err.Error(), raw))
	}
	ropts.DialTimeout = timeout
	ropts.ReadTimeout = timeout
	ropts.WriteTimeout = timeout
	ropts.PoolTimeout = timeout
	ropts.ContextTimeoutEnabled = true
	ropts.DialerRetries = 1
	ropts.MaxRetries = 1 // one retry replaces a pooled connection Redis closed
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(ropts), target, nil
}

// universalOptions are the go-redis options of a Sentinel or cluster
// target, bounded as newRedis bounds one server's. Through Sentinel the
// client asks the sentinels for the master on every dial and drops its
// connections to a master they replace, so a failover needs nothing of
// ours beyond failing fast meanwhile.
func universalOptions(t redisurl.Target, timeout time.Duration) *redis.UniversalOptions {
	o := &redis.UniversalOptions{
		Addrs:            t.Addrs,
		MasterName:       t.Master,
		IsClusterMode:    t.Kind == redisurl.Cluster, // even with one seed
		DB:               t.DB,
		Username:         t.Username,
		Password:         t.Password,
		SentinelPassword: t.SentinelPassword,

		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
		MaxRetries:            1,

		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if t.TLS {
		// No ServerName: each node is checked against its own host name
		// (a master named by Sentinel, a cluster node), as tls.Dial does.
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

// ClusterPrefix makes a key prefix a hash tag, "presence-bot:" becoming
// "{presence-bot}:", so that in a cluster every key of the bot hashes to
// one slot: WATCH and Lua scripts over several keys, and MULTI, need
// their keys in one slot. The bot's data is small, so one slot (one
// shard) holds it all. A prefix that already has a tag is kept.
func ClusterPrefix(prefix string) string {
	if open := strings.Index(prefix, "{"); open >= 0 && strings.Index(prefix[open:], "}") > 1 {
		return prefix
	}
	return "{" + strings.TrimSuffix(prefix, ":") + "}:"
}

// redact removes the URL's user information (and with it the password)
// from msg, however much of it msg quotes.
func redact(msg, raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return msg
	}
	userinfo := rest[:at]
	msg = strings.ReplaceAll(msg, userinfo, "xxxxx")
	if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// Close stops the probe and closes the connections. Store, Deduper and
// Locker must not be used afterwards. Closing twice is no error.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.probeDone
		if err := c.rdb.Close(); err != nil {
			c.closeErr = fmt.Errorf("close redis client: %w", err)
		}
	})
	return c.closeErr
}

// Healthy reports whether Redis answered the last call or probe. While it
// is false the bot is degraded: see the package documentation.
func (c *Client) Healthy() bool { return c.up.Load() }

// probe pings Redis every interval until Close.
func (c *Client) probe(interval time.Duration) {
	defer close(c.probeDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := c.rdb.Ping(ctx).Err()
		cancel()
		c.setUp(err)
		if b := c.budget.Load(); b != nil && err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			b.beat(ctx)
			cancel()
		}
	}
}

// setUp records the outcome of a call to Redis: nil means it answered.
func (c *Client) setUp(err error) {
	up := err == nil
	if c.up.Load() == up {
		return
	}
	c.changeMu.Lock()
	defer c.changeMu.Unlock()
	if c.up.Load() == up {
		return // another goroutine made the same change first
	}
	c.up.Store(up)
	if up {
		c.log.Info("redis available again; shared deduplication and scheduled jobs resume",
			"down_for", c.now().Sub(c.downSince).Round(time.Millisecond))
	} else {
		c.downSince = c.now()
		c.log.Warn("redis unavailable; commands deduplicate in memory, scheduled jobs are skipped, state calls fail until it answers",
			"err", err)
	}
	if c.onChange != nil {
		c.onChange(up)
	}
}

// fellBack reports an operation degraded for want of Redis.
func (c *Client) fellBack(op string) {
	if c.onFallback != nil {
		c.onFallback(op)
	}
}

// do runs fn against Redis within the timeout. While degraded it fails
// fast without touching Redis. Errors from Redis wrap ErrUnavailable and
// mark the Client degraded; redis.Nil ("no such key") is an answer and is
// returned as is; the caller's own cancellation is returned as is and
// says nothing about Redis.
func (c *Client) do(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.up.Load() {
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := fn(cctx)
	switch {
	case err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr):
		// A missing key or a transaction that lost a race is Redis working.
		c.setUp(nil)
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		c.setUp(err)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

// key builds a key in our namespace: Prefix + kind + ":" + name.
func (c *Client) key(kind, name string) string {
	return c.prefix + kind + ":" + name
}
