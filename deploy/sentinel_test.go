package deploy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/presencebot/presence-bot/internal/redisurl"
)

// sentinelValues are the fields of redis-sentinel.values.yaml (values of
// the Bitnami Redis chart) these tests read.
type sentinelValues struct {
	Architecture string `yaml:"architecture"`
	Auth         struct {
		Enabled                   bool   `yaml:"enabled"`
		Sentinel                  bool   `yaml:"sentinel"`
		ExistingSecret            string `yaml:"existingSecret"`
		ExistingSecretPasswordKey string `yaml:"existingSecretPasswordKey"`
	} `yaml:"auth"`
	CommonConfiguration string `yaml:"commonConfiguration"`
	Replica             struct {
		ReplicaCount int `yaml:"replicaCount"`
		Persistence  struct {
			Enabled *bool `yaml:"enabled"`
		} `yaml:"persistence"`
	} `yaml:"replica"`
	Sentinel struct {
		Enabled   bool   `yaml:"enabled"`
		MasterSet string `yaml:"masterSet"`
		Quorum    int    `yaml:"quorum"`
	} `yaml:"sentinel"`
}

// TestDeployRedisSentinelFailsOver: the Sentinel route of deploy/README.md
// (the Bitnami Redis chart with redis-sentinel.values.yaml) runs three
// Redis pods with a Sentinel each and a majority quorum, keeps Redis's
// two settings (appendonly, noeviction) on every node, takes the password
// from the Secret the README creates, and the REDIS_URL the README gives
// is one the bot accepts, naming the chart's Service, the sentinels' port
// and the master set, with the sentinels' password when they have one.
func TestDeployRedisSentinelFailsOver(t *testing.T) {
	data, err := os.ReadFile("redis-sentinel.values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v sentinelValues
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("redis-sentinel.values.yaml: %v", err)
	}
	if v.Architecture != "replication" || !v.Sentinel.Enabled {
		t.Errorf("architecture %q, sentinel.enabled %v: want replication with Sentinel", v.Architecture, v.Sentinel.Enabled)
	}
	// An odd number of nodes, each with a Sentinel: a majority survives
	// the loss of one, and a quorum of that majority can fail over.
	if n := v.Replica.ReplicaCount; n < 3 || n%2 == 0 || v.Sentinel.Quorum != n/2+1 {
		t.Errorf("replica.replicaCount %d, sentinel.quorum %d: want an odd count of 3 or more and a majority quorum", n, v.Sentinel.Quorum)
	}
	if p := v.Replica.Persistence.Enabled; p != nil && !*p {
		t.Error("replica.persistence.enabled is false: a restarted node would come back empty")
	}
	for _, want := range []string{"appendonly yes", "maxmemory-policy noeviction"} {
		if !regexp.MustCompile(`(?m)^\s*` + want + `\s*$`).MatchString(v.CommonConfiguration) {
			t.Errorf("commonConfiguration lacks %q:\n%s", want, v.CommonConfiguration)
		}
	}
	if !v.Auth.Enabled || v.Auth.ExistingSecret != "presence-bot-redis" || v.Auth.ExistingSecretPasswordKey != "password" {
		t.Errorf("auth %+v: want the password from Secret presence-bot-redis, key password (the README creates it)", v.Auth)
	}

	doc, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	install := regexp.MustCompile(`helm -n presence-bot install (\S+) oci://registry-1\.docker\.io/bitnamicharts/redis\s[^\n]*-f deploy/redis-sentinel\.values\.yaml`).FindStringSubmatch(string(doc))
	if install == nil {
		t.Fatal("deploy/README.md has no helm install of the Bitnami Redis chart with -f deploy/redis-sentinel.values.yaml")
	}
	release := install[1]
	m := regexp.MustCompile(`REDIS_URL="(redis-sentinel://[^"]+)"`).FindStringSubmatch(string(doc))
	if m == nil {
		t.Fatal(`deploy/README.md gives no REDIS_URL="redis-sentinel://…"`)
	}
	raw := m[1]
	target, err := redisurl.Parse(raw)
	if err != nil {
		t.Fatalf("the README's REDIS_URL %s: %v", raw, err)
	}
	if target.Master != v.Sentinel.MasterSet {
		t.Errorf("REDIS_URL names master %q, the chart's sentinels watch %q", target.Master, v.Sentinel.MasterSet)
	}
	// The chart names its Service after a release whose name holds "redis".
	if !strings.Contains(release, "redis") || len(target.Addrs) != 1 || target.Addrs[0] != release+":26379" {
		t.Errorf("REDIS_URL's sentinels %v, want the release's Service %s:26379", target.Addrs, release)
	}
	if target.Password == "" || (v.Auth.Sentinel && target.SentinelPassword != target.Password) {
		t.Errorf("REDIS_URL's passwords (data %q, sentinels %q) do not match the chart's auth (sentinels too: %v)",
			target.Password, target.SentinelPassword, v.Auth.Sentinel)
	}
}
