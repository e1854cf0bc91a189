package redisurl

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAcceptsEachForm(t *testing.T) {
	tests := []struct {
		name, url string
		want      Target
		shown     string
	}{
		// One server, as before: default port 6379, database from the path.
		{"single", "redis://127.0.0.1:6379/0",
			Target{Kind: Single, Addrs: []string{"127.0.0.1:6379"}}, "redis://127.0.0.1:6379/0"},
		// TLS, a password, the default port, another database.
		{"single TLS", "rediss://:pw@cache/2",
			Target{Kind: Single, TLS: true, Addrs: []string{"cache:6379"}, DB: 2, Password: "pw"}, "rediss://cache:6379/2"},
		// Go-redis's own options for one server pass through to go-redis.
		{"single options", "redis://cache:6379/0?dial_timeout=3s",
			Target{Kind: Single, Addrs: []string{"cache:6379"}}, "redis://cache:6379/0"},
		// The contract's Sentinel form: sentinels (default port 26379),
		// the master's name, the database as a parameter.
		{"sentinel", "redis-sentinel://h1:26379,h2:26380,h3/mymaster?db=3",
			Target{Kind: Sentinel, Addrs: []string{"h1:26379", "h2:26380", "h3:26379"}, Master: "mymaster", DB: 3},
			"redis-sentinel://h1:26379,h2:26380,h3:26379/mymaster?db=3"},
		// The userinfo is the data servers' password; the sentinels' own,
		// if they have one, is a parameter.
		{"sentinel passwords", "redis-sentinel://:pw@h1/mymaster?db=0&sentinel_password=spw",
			Target{Kind: Sentinel, Addrs: []string{"h1:26379"}, Master: "mymaster", Password: "pw", SentinelPassword: "spw"},
			"redis-sentinel://h1:26379/mymaster"},
		// An ACL user, and a percent-encoded password.
		{"sentinel user", "redis-sentinel://app:p%40ss%2F1@h1:26379/mymaster",
			Target{Kind: Sentinel, Addrs: []string{"h1:26379"}, Master: "mymaster", Username: "app", Password: "p@ss/1"},
			"redis-sentinel://h1:26379/mymaster"},
		// Sentinel over TLS.
		{"sentinel TLS", "rediss-sentinel://h1/m",
			Target{Kind: Sentinel, TLS: true, Addrs: []string{"h1:26379"}, Master: "m"}, "rediss-sentinel://h1:26379/m"},
		// A cluster: seed nodes, default port 6379.
		{"cluster", "redis-cluster://h1:6379,h2:6380",
			Target{Kind: Cluster, Addrs: []string{"h1:6379", "h2:6380"}}, "redis-cluster://h1:6379,h2:6380"},
		// IPv6 seeds in brackets, a password, a trailing slash.
		{"cluster IPv6", "rediss-cluster://:pw@[::1]:7000,[fe80::1]/",
			Target{Kind: Cluster, TLS: true, Addrs: []string{"[::1]:7000", "[fe80::1]:6379"}, Password: "pw"},
			"rediss-cluster://[::1]:7000,[fe80::1]:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.url)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.url, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
			if s := got.String(); s != tt.shown {
				t.Errorf("String() = %q, want %q", s, tt.shown)
			}
		})
	}
}

func TestParseRejectsWithoutThePassword(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "empty"},
		{"no scheme", "SECRETPW@cache:6379", "redis://"},
		{"wrong scheme", "http://u:SECRETPW@cache", `scheme "http"`},
		{"control character", "redis-sentinel://:SECRETPW@h1\x7f/m", "control character"},
		{"fragment", "redis-sentinel://:SECRET#PW@h1/m", "#"},
		{"bad escape", "redis-sentinel://:SECRET%zzPW@h1/m", "percent-encoding"},
		{"no host", "redis-sentinel://:SECRETPW@/mymaster", "no host"},
		{"empty host", "redis-sentinel://:SECRETPW@h1,,h2/mymaster", "empty address"},
		{"bad port", "redis-sentinel://:SECRETPW@h1:port/m", "port"},
		{"port range", "redis-cluster://:SECRETPW@h1:99999", "port"},
		{"bare IPv6", "redis-cluster://:SECRETPW@::1:7000", "brackets"},
		{"no master", "redis-sentinel://:SECRETPW@h1:26379", "master name"},
		{"empty master", "redis-sentinel://:SECRETPW@h1:26379/", "master name"},
		{"master and more", "redis-sentinel://:SECRETPW@h1/m/0", "one master name"},
		{"bad db", "redis-sentinel://:SECRETPW@h1/m?db=zero", "db"},
		{"negative db", "redis-sentinel://:SECRETPW@h1/m?db=-1", "db"},
		{"unknown option", "redis-sentinel://:SECRETPW@h1/m?sentinel_pasword=SECRET2", `"sentinel_pasword"`},
		{"cluster database", "redis-cluster://:SECRETPW@h1/1", "database"},
		{"cluster option", "redis-cluster://:SECRETPW@h1?db=1", `"db"`},
		{"one server, two hosts", "redis://:SECRETPW@h1,h2/0", "redis-cluster://"},
		{"single no host", "rediss://:SECRETPW@/0", "no host"},
		{"single bad port", "redis://:SECRETPW@cache:port/0", "port"},
		{"single bad database", "redis://:SECRETPW@cache:6379/zero", "database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.url)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.url, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			for _, secret := range []string{"SECRET", "PW"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds part of the password", err)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		// The user name stays when there is a password: it is masked.
		{"redis://app:SECRETPW@cache:6379/0", "redis://app:xxxxx@cache:6379/0"},
		// A lone user name may be read as a password: masked too.
		{"redis://SECRETPW@cache", "redis://xxxxx@cache"},
		// The sentinels' password, and any value but db's, is masked.
		{"redis-sentinel://:SECRETPW@h1:26379,h2/m?db=0&sentinel_password=SECRET2",
			"redis-sentinel://:xxxxx@h1:26379,h2/m?db=0&sentinel_password=xxxxx"},
		// A wrong scheme is shown, masked, so the operator sees it.
		{"http://user:SECRETPW@cache:6379", "http://user:xxxxx@cache:6379"},
		// What does not split cleanly into userinfo and hosts is not shown:
		// part of a password may sit where a host or port should.
		{"redis://:pa/SECRETPW@cache", ""},
		{"redis://:SECRETPW@cache\x7f:6379", ""},
		{"SECRETPW", ""},
	} {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
