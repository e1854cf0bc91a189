// Package redisurl reads REDIS_URL, for config (which validates it),
// redisstate (which connects) and check (which reports where it points).
// Three forms:
//
//	redis://[[user]:password@]host[:6379][/db]            one server (rediss:// for TLS)
//	redis-sentinel://[[user]:password@]host[:26379][,host…]/master[?db=N][&sentinel_password=…]
//	redis-cluster://[[user]:password@]host[:6379][,host…]  a Redis Cluster's seed nodes
//
// rediss-sentinel:// and rediss-cluster:// speak TLS. The userinfo is
// always the data servers' password (master, replicas, cluster nodes);
// sentinel_password is the sentinels' own, when they require one. No
// error of this package holds any part of the URL: where a password ends
// and a host begins is exactly what a malformed URL leaves in doubt.
package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Kind is what a REDIS_URL points at.
type Kind int

const (
	Single   Kind = iota // one server
	Sentinel             // a master found through Sentinel
	Cluster              // a Redis Cluster
)

func (k Kind) String() string {
	switch k {
	case Sentinel:
		return "Sentinel"
	case Cluster:
		return "cluster"
	}
	return "single server"
}

// Forms is the usage the errors end with.
const Forms = "redis://[:password@]host:6379/0, rediss:// for TLS, " +
	"redis-sentinel://[:password@]host:26379,host:26379/mastername?db=0, " +
	"or redis-cluster://[:password@]host:6379,host:6379"

// Target is a parsed REDIS_URL. It holds passwords: print String().
type Target struct {
	Kind Kind
	TLS  bool
	// Addrs are host:port: the server, the sentinels, or the cluster's
	// seed nodes.
	Addrs []string
	// Master is the name Sentinel knows the master by.
	Master string
	// DB is the database number (always 0 in a cluster).
	DB int
	// Username and Password authenticate with the data servers.
	Username, Password string
	// SentinelPassword authenticates with the sentinels.
	SentinelPassword string
}

var schemes = map[string]struct {
	kind Kind
	tls  bool
	port string
}{
	"redis":           {Single, false, "6379"},
	"rediss":          {Single, true, "6379"},
	"redis-sentinel":  {Sentinel, false, "26379"},
	"rediss-sentinel": {Sentinel, true, "26379"},
	"redis-cluster":   {Cluster, false, "6379"},
	"rediss-cluster":  {Cluster, true, "6379"},
}

// String is the target without userinfo or secret parameters:
// scheme://hosts[/master or /db][?db=N].
func (t Target) String() string {
	var b strings.Builder
	for scheme, s := range schemes {
		if s.kind == t.Kind && s.tls == t.TLS {
			b.WriteString(scheme)
		}
	}
	b.WriteString("://")
	b.WriteString(strings.Join(t.Addrs, ","))
	switch t.Kind {
	case Single:
		fmt.Fprintf(&b, "/%d", t.DB)
	case Sentinel:
		b.WriteString("/" + t.Master)
		if t.DB != 0 {
			fmt.Fprintf(&b, "?db=%d", t.DB)
		}
	}
	return b.String()
}

// parts are a URL split the way Parse and Redact read it.
type parts struct {
	scheme   string
	userinfo string // "" when none
	hasUser  bool
	hosts    []string // as written
	path     string
	query    string
	hasQuery bool
}

// split cuts raw into its parts, checking that each host is host[:port].
func split(raw string) (parts, error) {
	var p parts
	for _, c := range raw {
		if c < 0x20 || c == 0x7f {
			return p, errors.New("a control character")
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return p, errors.New("not a URL: want " + Forms)
	}
	p.scheme = strings.ToLower(scheme)
	if strings.Contains(rest, "#") {
		return p, errors.New("a # (percent-encode it as %23 in a password)")
	}
	rest, p.query, p.hasQuery = strings.Cut(rest, "?")
	authority, path, hasPath := strings.Cut(rest, "/")
	if hasPath {
		p.path = "/" + path
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		p.userinfo, p.hasUser, authority = authority[:at], true, authority[at+1:]
	}
	if authority == "" {
		return p, errors.New("no host")
	}
	p.hosts = strings.Split(authority, ",")
	for _, h := range p.hosts {
		if _, _, err := hostPort(h, "1"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// hostPort checks one host[:port], [ipv6][:port] included, and returns
// it with port defaulted.
func hostPort(h, defaultPort string) (host, port string, err error) {
	switch {
	case h == "":
		return "", "", errors.New("an empty address between commas")
	case strings.HasPrefix(h, "["):
		end := strings.Index(h, "]")
		if end < 0 {
			return "", "", errors.New("an IPv6 address without its closing ]")
		}
		host, port = h[1:end], defaultPort
		if tail := h[end+1:]; tail != "" {
			p, ok := strings.CutPrefix(tail, ":")
			if !ok {
				return "", "", errors.New("an IPv6 address followed by something other than :port")
			}
			port = p
		}
	case strings.Count(h, ":") > 1:
		return "", "", errors.New("an IPv6 address needs brackets: [::1]:6379")
	default:
		var hasPort bool
		host, port, hasPort = strings.Cut(h, ":")
		if !hasPort {
			port = defaultPort
		}
	}
	if host == "" {
		return "", "", errors.New("no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", errors.New("a port that is not a number from 1 to 65535")
	}
	return host, port, nil
}

// Parse reads REDIS_URL. For one server it checks what it reads and
// leaves the query, go-redis's own options, to go-redis.
func Parse(raw string) (Target, error) {
	var t Target
	if raw == "" {
		return t, errors.New("empty")
	}
	p, err := split(raw)
	if err != nil {
		return t, err
	}
	s, ok := schemes[p.scheme]
	if !ok {
		return t, fmt.Errorf("scheme %q: want %s", p.scheme, Forms)
	}
	t.Kind, t.TLS = s.kind, s.tls
	if p.hasUser {
		user, pass, _ := strings.Cut(p.userinfo, ":")
		if t.Username, err = url.PathUnescape(user); err == nil {
			t.Password, err = url.PathUnescape(pass)
		}
		if err != nil {
			return Target{}, errors.New("the user name or password is not valid percent-encoding")
		}
	}
	for _, h := range p.hosts {
		host, port, _ := hostPort(h, s.port) // split checked it
		t.Addrs = append(t.Addrs, net.JoinHostPort(host, port))
	}
	query, err := url.ParseQuery(p.query)
	if err != nil {
		return Target{}, errors.New("the parameters after ? are not valid percent-encoding")
	}

	switch t.Kind {
	case Single:
		if len(t.Addrs) > 1 {
			return Target{}, errors.New("several hosts: for a cluster write redis-cluster://host:6379,host:6379, for Sentinel redis-sentinel://…")
		}
		if db := strings.Trim(p.path, "/"); db != "" {
			if t.DB, err = strconv.Atoi(db); err != nil || t.DB < 0 {
				return Target{}, errors.New("the database (the path) is not a number")
			}
		}
	case Sentinel:
		master := strings.TrimPrefix(p.path, "/")
		switch {
		case master == "":
			return Target{}, errors.New("no master name: write it as the path, redis-sentinel://host:26379/mymaster")
		case strings.Contains(master, "/"):
			return Target{}, errors.New("the path is one master name; give the database as ?db=N")
		}
		if t.Master, err = url.PathUnescape(master); err != nil {
			return Target{}, errors.New("the master name is not valid percent-encoding")
		}
		for key, vals := range query {
			v := vals[len(vals)-1]
			switch key {
			case "db":
				if t.DB, err = strconv.Atoi(v); err != nil || t.DB < 0 {
					return Target{}, errors.New("db is not a database number")
				}
			case "sentinel_password":
				t.SentinelPassword = v
			default:
				return Target{}, fmt.Errorf("unknown option %q: a Sentinel URL takes db and sentinel_password", key)
			}
		}
	case Cluster:
		if strings.Trim(p.path, "/") != "" {
			return Target{}, errors.New("a path: a cluster has only database 0, so its URL has no database")
		}
		for key := range query {
			return Target{}, fmt.Errorf("unknown option %q: a cluster URL takes none", key)
		}
	}
	return t, nil
}

// Redact returns raw with its userinfo's password masked (a lone user
// name too: some clients read it as the password) and every parameter's
// value but db's. It returns "" when raw does not split cleanly into
// userinfo, hosts and the rest: part of a password may then sit where a
// host or a port should.
func Redact(raw string) string {
	p, err := split(raw)
	if err != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(raw[:strings.Index(raw, "://")+3])
	if p.hasUser {
		if user, _, hasPass := strings.Cut(p.userinfo, ":"); hasPass {
			b.WriteString(user + ":xxxxx@")
		} else {
			b.WriteString("xxxxx@")
		}
	}
	b.WriteString(strings.Join(p.hosts, ","))
	b.WriteString(p.path)
	if p.hasQuery {
		params := strings.Split(p.query, "&")
		for i, kv := range params {
			if k, _, hasValue := strings.Cut(kv, "="); hasValue && k != "db" {
				params[i] = k + "=xxxxx"
			}
		}
		b.WriteString("?" + strings.Join(params, "&"))
	}
	return b.String()
}
