package redistest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// slots is how many hash slots a Redis Cluster has.
const slots = 16384

// Cluster is a Redis Cluster of masters only on 127.0.0.1, its slots
// shared out evenly. Every node is stopped at the test's cleanup.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n cluster-enabled servers, gives each an even share
// of the slots, introduces them to each other and returns once every node
// reports the cluster ok. Skipped, or failed under CI, without
// redis-server, as Start is.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{}
	busPorts := make([]int, n)
	for i := range n {
		// The bus port is its own free port: the default, port+10000, may
		// be taken or out of range.
		bus, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		busPorts[i] = bus
		c.Nodes = append(c.Nodes, Start(t,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // in the node's own directory
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", "2000",
		))
	}
	for i, node := range c.Nodes {
		first, last := i*slots/n, (i+1)*slots/n-1
		if _, err := Do(node.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)); err != nil {
			t.Fatalf("redistest: CLUSTER ADDSLOTSRANGE on %s: %v", node.Addr, err)
		}
		if i > 0 {
			if _, err := Do(c.Nodes[0].Addr, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(node.port), strconv.Itoa(busPorts[i])); err != nil {
				t.Fatalf("redistest: CLUSTER MEET %s: %v", node.Addr, err)
			}
		}
	}
	for _, node := range c.Nodes {
		waitFor(t, "cluster node "+node.Addr+" to be ok", func() error {
			reply, err := Do(node.Addr, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			info, _ := reply.(string)
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)) {
				return fmt.Errorf("not ready: %s", info)
			}
			return nil
		})
	}
	return c
}

// URL is the cluster as a REDIS_URL: every node, as seeds.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, node := range c.Nodes {
		addrs[i] = node.Addr
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}
