package redisstate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/internal/redisurl"
)

// failoverWithin bounds how long a Client takes to follow Sentinel to a
// new master once the sentinels name it: a probe, and go-redis's re-dial
// (a second between attempts once every dial of the pool has failed).
const failoverWithin = 5 * time.Second

// Sentinel: the Client finds the master through the sentinels. When the
// master dies it is degraded (the store fails fast, dedupe answers from
// memory, the Locker refuses so the tick is skipped), and once the
// sentinels have promoted the replica it follows, by itself, to the new
// master, which has the data.
func TestSentinelClientFollowsFailover(t *testing.T) {
	s := redistest.StartSentinel(t)
	var h hooks
	o := Options{URL: s.URL(), Timeout: quickTimeout}
	h.install(&o)
	c := open(t, nil, o)
	if !c.Healthy() {
		t.Fatal("Healthy through Sentinel: got false, want true")
	}
	store := c.Store()
	if err := store.Save(bg(t), "k", "before"); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// The replica must have it before the master dies, as it would
	// within milliseconds in production.
	old, err := s.MasterAddr()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := redistest.Do(old, "WAIT", "1", "1000"); err != nil {
		t.Fatalf("WAIT: %v", err)
	}

	s.KillMaster()
	deadline := time.Now().Add(failoverWithin)
	for c.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("still Healthy %s after the master died", failoverWithin)
		}
		time.Sleep(2 * time.Millisecond)
	}
	within(t, 20*time.Millisecond, "Save while the master is down", func() {
		if err := store.Save(bg(t), "k", "during"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Save while the master is down: got %v, want ErrUnavailable", err)
		}
	})
	if d := c.Deduper(0, newMemDedupe(DefaultDedupeTTL, nil)); !d.FirstDelivery(bg(t), "env-1") {
		t.Error("first delivery while the master is down: got false, want true (from memory)")
	}
	tickOf := alignedTicks(map[string]time.Duration{"summary": time.Minute})
	locker := c.Locker(clockwork.NewFakeClockAt(base), tickOf)
	if _, err := locker.Lock(bg(t), "summary"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lock while the master is down: got %v, want ErrUnavailable (the tick is skipped)", err)
	}

	addr := s.WaitFailover(old)
	deadline = time.Now().Add(failoverWithin)
	for !c.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("still degraded %s after the sentinels promoted %s", failoverWithin, addr)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got, want := h.States(), []bool{true, false, true}; !slices.Equal(got, want) {
		t.Errorf("state hook calls %v, want %v", got, want)
	}
	var v string
	if found, err := store.Load(bg(t), "k", &v); err != nil || !found || v != "before" {
		t.Errorf("Load after failover: got %q, %v, %v; want the value saved before it", v, found, err)
	}
	if err := store.Save(bg(t), "k", "after"); err != nil {
		t.Errorf("Save after failover: %v", err)
	}
	if _, err := locker.Lock(bg(t), "summary"); err != nil {
		t.Errorf("Lock after failover: %v", err)
	}
	if got, err := redistest.Do(addr, "GET", "test:"+t.Name()+":state:k"); err != nil || got != `"after"` {
		t.Errorf("the new master %s holds %v, %v; want the value saved after failover", addr, got, err)
	}
}

// A cluster: every key of the bot carries the prefix as a hash tag, so
// they all live in one slot, where WATCH, Lua scripts over several keys
// and the locks work as on one server.
func TestClusterKeysShareOneSlot(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	c := open(t, nil, Options{URL: cl.URL(), Prefix: "bot:"})
	if !c.Healthy() {
		t.Fatal("Healthy with a cluster: got false, want true")
	}
	if c.prefix != "{bot}:" {
		t.Errorf("prefix %q in cluster mode, want the hash tag {bot}:", c.prefix)
	}
	store := c.Store()
	if err := store.Save(bg(t), "a", 1); err != nil {
		t.Fatalf("Save: %v", err)
	}
	var n int
	if err := store.Update(bg(t), "b", &n, func(bool) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if !c.Deduper(0, nil).FirstDelivery(bg(t), "env-1") {
		t.Error("first delivery: got false, want true")
	}
	tickOf := alignedTicks(map[string]time.Duration{"summary": time.Minute})
	if _, err := c.Locker(clockwork.NewFakeClockAt(base), tickOf).Lock(bg(t), "summary"); err != nil {
		t.Errorf("Lock: %v", err)
	}
	// A script over two of the bot's keys: CROSSSLOT unless they share a
	// slot.
	script := redis.NewScript(`redis.call("SET", KEYS[1], "x"); return redis.call("GET", KEYS[2])`)
	if err := c.do(bg(t), func(ctx context.Context) error {
		return script.Run(ctx, c.rdb, []string{c.key("x", "1"), c.key("state", "a")}).Err()
	}); err != nil {
		t.Errorf("a script over two keys: %v", err)
	}

	// Every key is on one node, under the tag.
	holders := 0
	for _, node := range cl.Nodes {
		reply, err := redistest.Do(node.Addr, "KEYS", "*")
		if err != nil {
			t.Fatalf("KEYS on %s: %v", node.Addr, err)
		}
		keys, _ := reply.([]any)
		if len(keys) > 0 {
			holders++
		}
		for _, k := range keys {
			if s, _ := k.(string); !strings.HasPrefix(s, "{bot}:") {
				t.Errorf("key %q on %s is outside the {bot}: hash tag", s, node.Addr)
			}
		}
	}
	if holders != 1 {
		t.Errorf("the keys are on %d nodes, want 1 (one slot)", holders)
	}
}

// The prefix becomes a hash tag in cluster mode only, once.
func TestClusterPrefix(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"presence-bot:", "{presence-bot}:"},
		{"bot", "{bot}:"},
		{"{custom}:bot:", "{custom}:bot:"}, // already tagged: as given
	} {
		if got := ClusterPrefix(tt.in); got != tt.want {
			t.Errorf("ClusterPrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The URL forms become go-redis options: the userinfo's password for the
// data servers, sentinel_password for the sentinels; every wait bounded
// by the timeout, one dial per attempt.
func TestRedisURLOptions(t *testing.T) {
	target, err := redisurl.Parse("redis-sentinel://app:pw@s1:26379,s2/mymaster?db=2&sentinel_password=spw")
	if err != nil {
		t.Fatal(err)
	}
	o := universalOptions(target, 150*time.Millisecond)
	if o.MasterName != "mymaster" || !slices.Equal(o.Addrs, []string{"s1:26379", "s2:26379"}) || o.DB != 2 {
		t.Errorf("Sentinel options: master %q, addrs %v, db %d", o.MasterName, o.Addrs, o.DB)
	}
	if o.Username != "app" || o.Password != "pw" || o.SentinelPassword != "spw" || o.SentinelUsername != "" {
		t.Errorf("Sentinel credentials: user %q, password %q, sentinel user %q, sentinel password %q",
			o.Username, o.Password, o.SentinelUsername, o.SentinelPassword)
	}
	if o.DialTimeout != 150*time.Millisecond || o.ReadTimeout != 150*time.Millisecond || o.PoolTimeout != 150*time.Millisecond ||
		!o.ContextTimeoutEnabled || o.DialerRetries != 1 || o.TLSConfig != nil {
		t.Errorf("Sentinel timeouts: %+v", o)
	}

	target, err = redisurl.Parse("rediss-cluster://:pw@n1,n2:7000")
	if err != nil {
		t.Fatal(err)
	}
	o = universalOptions(target, time.Second)
	if !o.IsClusterMode || o.MasterName != "" || !slices.Equal(o.Addrs, []string{"n1:6379", "n2:7000"}) || o.Password != "pw" {
		t.Errorf("cluster options: cluster %v, master %q, addrs %v", o.IsClusterMode, o.MasterName, o.Addrs)
	}
	// No ServerName: each node's own host name is checked.
	if o.TLSConfig == nil || o.TLSConfig.ServerName != "" {
		t.Errorf("cluster TLS: %+v", o.TLSConfig)
	}
}

// A bad Sentinel or cluster URL is refused by Open, without its password.
func TestOpenRejectsBadSentinelAndClusterURLs(t *testing.T) {
	for _, raw := range []string{
		"redis-sentinel://:SECRETPW@s1:26379",
		"redis-sentinel://:SECRETPW@s1:26379/m?sentinel_password=SECRETPW&x=1",
		"redis-cluster://:SECRETPW@n1:6379/1",
	} {
		c, err := Open(context.Background(), Options{URL: raw})
		if err == nil {
			c.Close()
			t.Errorf("Open(%q): got nil error", raw)
			continue
		}
		if strings.Contains(err.Error(), "SECRETPW") || !strings.HasPrefix(err.Error(), "redis URL: ") {
			t.Errorf("Open(%q): error %q", raw, err)
		}
	}
}
