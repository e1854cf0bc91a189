package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// rosterAgents is the floor of the shared-roster tests: three pages.
const rosterAgents = 300

// startRosterCluster runs n replicas in this process on one Redis, open
// to all for /presence, with the roster snapshot's TTL on now, and resets
// the simulator's counts once each has made its start probe.
func startRosterCluster(t *testing.T, n int, ttl string, now func() time.Time) *cluster {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	since := time.Now().Add(-time.Hour)
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := 1; i <= rosterAgents; i++ {
		sim.Add(presence.Agent{ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i), Status: presence.Available,
			StatusSince: since, Team: &presence.Team{ID: "sales_team", Name: "Sales"}})
		fmt.Fprintf(&mapping, "  %s: %s\n", replicaUser(i), replicaAgent(i))
	}
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping.String(), map[string]string{
		"PRESENCE_CACHE_TTL":   ttl,
		"PRESENCE_OPEN_TO_ALL": "true",
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env, extra: []app.Option{app.WithSnapshotClock(now)}}
	for i := range n {
		c.replicas = append(c.replicas, c.startInProcess(fmt.Sprintf("replica-%c", 'a'+i), 0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, n); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	for _, r := range c.replicas {
		eventually(t, r.name+"'s start probe answered", func() bool {
			return strings.Contains(r.logs(), "component=health part=contact_center state=ok")
		})
	}
	sim.ResetStats()
	return c
}

// presenceBurst sends /presence as n users at once, spread by Slack over
// the replicas' connections, and waits for every answer.
func (c *cluster) presenceBurst(n int, text string, wants ...string) []string {
	c.t.Helper()
	var ids []string
	for i := 1; i <= n; i++ {
		id, err := c.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", Text: text, UserID: replicaUser(i), ChannelID: "C0FLOOR"})
		if err != nil {
			c.t.Fatalf("send /presence: %v", err)
		}
		ids = append(ids, id)
	}
	c.waitAnswers(ids, wants...)
	return ids
}

// The same /presence load (five bursts of 30, each a TTL after the last)
// costs the contact center the same roster reads with one replica as with
// three: one fetch per TTL for the fleet, which the other replicas read
// from Redis.
func TestSharedRosterReadsDoNotGrowWithReplicas(t *testing.T) {
	const bursts = 5
	lists := map[int]int{}
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			c := startRosterCluster(t, n, "2s", clock.Now)
			for range bursts {
				c.presenceBurst(30, "", "Agent presence — 300 agents")
				clock.Advance(2 * time.Second) // the TTL is over
			}
			if conns := c.ackConnections(); len(conns) != n {
				t.Errorf("commands reached %d connections, want all %d replicas'", len(conns), n)
			}
			lists[n] = c.sim.Stats().Lists
			if got := c.metricSum("presence_bot_roster_refreshes_total", map[string]string{"source": "api"}); got != bursts {
				t.Errorf("roster fetches counted by the replicas = %v, want %d (one per TTL)", got, bursts)
			}
			if n > 1 {
				if got := c.metricSum("presence_bot_roster_refreshes_total", map[string]string{"source": "redis"}); got == 0 {
					t.Error("no replica read the roster from Redis")
				}
			}
		})
	}
	if want := bursts * rosterAgents / presence.MaxPageSize; lists[1] != want || lists[3] != want {
		t.Errorf("list requests at the contact center: %d with one replica, %d with three; want %d both (one fetch of 3 pages per TTL)",
			lists[1], lists[3], want)
	}
}

// A status changed through one replica shows in /presence on another at
// once, though that one read the roster moments before and its TTL is a
// minute: the change travels through Redis, not through a new fetch.
func TestSharedRosterChangeShowsOnAnotherReplicaAtOnce(t *testing.T) {
	clock := clockwork.NewFakeClock()
	c := startRosterCluster(t, 2, "1m", clock.Now)
	c.presenceBurst(2, "busy", "Nobody is busy right now.") // one on each replica
	lists := c.sim.Stats().Lists

	id, err := c.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: replicaUser(7), ChannelID: "C0FLOOR"})
	if err != nil {
		t.Fatal(err)
	}
	c.waitAnswers([]string{id}, "now", "busy")
	changedOn := c.ackConn(id)
	for try := 0; ; try++ {
		ids := c.presenceBurst(1, "busy")
		if c.ackConn(ids[0]) == changedOn {
			if try == 3 {
				t.Fatal("every /presence went to the replica that made the change")
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		m, err := c.slack.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.Method == "response_url" && m.EnvelopeID == ids[0] })
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, blockText(t, m.Blocks), "Busy — 1 of 300 agents", "Agent 007 (`agent_r007`)")
		break
	}
	if got := c.sim.Stats().Lists; got != lists {
		t.Errorf("list requests = %d after the change, want %d: no replica fetched again", got, lists)
	}
}
