package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// The rules' replicas world: three replicas (one a child process, so it
// can be killed) on one redis-server, one fake Slack, one simulator and
// one rules file. Six Sales agents are watched by an availability rule;
// six Support agents, busy for an hour, by a time-in-status rule; the
// last of them is mapped to nobody.
const (
	rulesSales   = 6 // agent_r001…r006
	rulesSupport = 6 // agent_r007…r012; r012 unmapped
	rulesMention = "U0SUPER"
)

func rulesSupportAgent(i int) int { return rulesSales + i } // i from 1

// rulesReplicaFile is the rules file: warning below 4, critical below 2,
// resolved at 5 in Sales, pinging a supervisor on critical; busy longer
// than a minute in Support, escalated two minutes after the nudge.
const rulesReplicaFile = `rules:
  - name: floor
    teams: [sales_team]
    available_below: {warning: 4, critical: 2, resolve_at: 5}
    channel: ` + rulesFloorChannel + `
    mention: [` + rulesMention + `]
  - name: long-busy
    teams: [support_team]
    status_longer_than: {status: busy, after: 1m, escalate_after: 2m}
    channel: ` + rulesLeadsChannel + `
`

// rulesCluster is the cluster of replicas_test.go with the simulator on
// a fake clock kept at the true time, since the time-in-status rules
// read its status_since.
type rulesCluster struct {
	*cluster
	simClock *clockwork.FakeClock
}

func startRulesCluster(t *testing.T) *rulesCluster {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	simClock := clockwork.NewFakeClockAt(replicaStart)
	sim := ccmsim.New(ccmsim.Options{Token: secretToken, Now: simClock.Now})
	since := replicaStart.Add(-time.Hour)
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := 1; i <= rulesSales+rulesSupport; i++ {
		a := presence.Agent{ID: replicaAgent(i), Name: fmt.Sprintf("Agent %03d", i), Status: presence.Available, StatusSince: since,
			Team: &presence.Team{ID: "sales_team", Name: "Sales"}}
		if i > rulesSales {
			a.Status, a.Team = presence.Busy, &presence.Team{ID: "support_team", Name: "Support"}
		}
		sim.Add(a)
		if i < rulesSales+rulesSupport {
			fmt.Fprintf(&mapping, "  %s: %s\n", replicaUser(i), replicaAgent(i))
		}
	}
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping.String(), map[string]string{
		"ALERT_RULES_FILE": rulesFileFor(t, rulesReplicaFile),
		"ALERT_INTERVAL":   replicaPeriod.String(),
		// The ticks come milliseconds apart: no API budget, whose
		// pressure would stretch the roster's TTL over several ticks.
		"EXOTEL_RATE_LIMIT": "0",
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}
	// Clocks in step: every tick is a race for its lock.
	c.replicas = []*replica{
		c.startChild("replica-a", 0),
		c.startInProcess("replica-b", 0),
		c.startInProcess("replica-c", 0),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	return &rulesCluster{cluster: c, simClock: simClock}
}

// tick moves the true time to tick k (the simulator's clock with it) and
// each live replica's clock, once every scheduler has set its timers,
// then waits until every live replica has finished the tick of both rule
// jobs, run or skipped. With first, that replica alone moves first and
// finishes the tick, so it is the one that runs it; without, the
// replicas race for it.
func (rc *rulesCluster) tick(k int, first *replica) {
	c := rc.cluster
	t := c.t
	t.Helper()
	at := c.tickTime(k)
	rc.simClock.Advance(at.Sub(rc.simClock.Now()))
	c.truth = at
	live := c.live()
	for _, r := range live {
		r.waitTimers(t)
	}
	type counts struct{ alerts, nudges int }
	handled := func(r *replica) counts {
		logs := r.logs()
		return counts{jobHandled(logs, "alerts"), jobHandled(logs, "nudges")}
	}
	before := make(map[*replica]counts, len(live))
	for _, r := range live {
		before[r] = handled(r)
	}
	move := func(rs ...*replica) {
		for _, r := range rs {
			r.advanceTo(t, at)
		}
		for _, r := range rs {
			eventually(t, fmt.Sprintf("%s finished tick %d (%s)", r.name, k, at.Format(time.TimeOnly)), func() bool {
				now := handled(r)
				return now.alerts > before[r].alerts && now.nudges > before[r].nudges
			})
		}
	}
	if first == nil {
		move(live...)
	} else {
		move(first)
		move(slices.DeleteFunc(slices.Clone(live), func(r *replica) bool { return r == first })...)
	}
	// Each job ran the tick on exactly one replica (none would mean a
	// lost tick, and the counts below would not say why).
	for _, job := range []string{"alerts", "nudges"} {
		var ran []string
		for _, r := range live {
			if ranTick(r.logs(), job, at) {
				ran = append(ran, r.name)
			}
		}
		if len(ran) != 1 {
			t.Fatalf("tick %d (%s) of %s ran on %v, want exactly one replica", k, at.Format(time.TimeOnly), job, ran)
		}
	}
	// The next tick finds no lease held: a run logs its end a moment
	// before it lets its lease go.
	c.waitJobsOver()
}

// force sets the agents' status in the simulator (since the true time).
func (rc *rulesCluster) force(st presence.Status, agents ...int) {
	rc.t.Helper()
	for _, i := range agents {
		if err := rc.sim.Force(replicaAgent(i), st); err != nil {
			rc.t.Fatalf("force %s: %v", replicaAgent(i), err)
		}
	}
}

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestRulesExactlyOnceOnThreeReplicas: three replicas on one Redis run
// the availability and time-in-status rules through six ticks, each tick
// raced for by every live replica. The first is run by the child
// replica, which DMs the five mapped Support agents and escalates the
// unmapped one at once, and is then killed (SIGKILL) before any
// escalation falls due. The survivors carry on from the state in Redis:
// the Sales alert fires at warning, is edited to critical with one ping
// in its thread, and recovers; the nudged agents are escalated once each,
// and when they move on each DM and each escalation is edited once. In
// Slack's record every post, ping, DM, escalation and edit is there
// exactly once, and nothing twice.
func TestRulesExactlyOnceOnThreeReplicas(t *testing.T) {
	rc := startRulesCluster(t)
	c := rc.cluster
	child := c.replicas[0]
	mapped := span(rulesSupportAgent(1), rulesSupportAgent(rulesSupport-1))
	unmapped := rulesSupportAgent(rulesSupport)
	isDM := func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && strings.HasPrefix(m.Channel, "D")
	}
	escalations := func() int { return countMessages(c.slack, isPost(rulesLeadsChannel)) }

	// 10:01: the child runs the tick: five DMs, and the unmapped agent
	// straight to the channel. Sales is at 6, above every threshold.
	rc.tick(1, child)
	if n := strings.Count(child.logs(), `msg="agent nudged"`); n != len(mapped) {
		t.Fatalf("the child replica nudged %d agents at the first tick, want %d; the takeover below would prove nothing\n%s",
			n, len(mapped), child.proc.diagnostics())
	}
	if n, esc := countMessages(c.slack, isDM), escalations(); n != len(mapped) || esc != 1 {
		t.Fatalf("after the first tick: %d DMs and %d escalations, want %d and 1", n, esc, len(mapped))
	}

	// The replica that sent the DMs dies before any escalation is due.
	child.kill()
	eventually(t, "Slack sees the dead replica's connection close", func() bool { return c.slack.Connections() == 2 })

	// 10:02: Sales at 3: the warning alert. No escalation yet.
	rc.force(presence.Offline, 1, 2, 3)
	rc.tick(2, nil)
	if n := countMessages(c.slack, isPost(rulesFloorChannel)); n != 1 {
		t.Fatalf("%d alerts posted at the first tick below warning, want 1", n)
	}
	if n := escalations(); n != 1 {
		t.Errorf("%d escalations before escalate_after, want only the unmapped agent's", n)
	}

	// 10:03: Sales at 1, critical: an edit and one ping. The nudged
	// agents are escalated by the survivors.
	rc.force(presence.Offline, 4, 5)
	rc.tick(3, nil)
	if n := escalations(); n != len(mapped)+1 {
		t.Errorf("%d escalations at escalate_after, want %d", n, len(mapped)+1)
	}

	// 10:04: everybody moves on, and Sales is back to 6 (resolve_at 5).
	rc.force(presence.Available, span(1, rulesSales+rulesSupport)...)
	rc.tick(4, nil)
	// 10:05, 10:06: nothing more to say.
	rc.tick(5, nil)
	rc.tick(6, nil)
	c.shutdown()

	msgs := c.slack.Messages()
	find := func(match func(fakeslack.Message) bool) []fakeslack.Message {
		var out []fakeslack.Message
		for _, m := range msgs {
			if match(m) {
				out = append(out, m)
			}
		}
		return out
	}
	once := func(what string, match func(fakeslack.Message) bool) fakeslack.Message {
		t.Helper()
		got := find(match)
		if len(got) != 1 {
			t.Errorf("%s: %d messages, want exactly 1", what, len(got))
			return fakeslack.Message{}
		}
		return got[0]
	}

	// The availability rule: one alert, edited once to critical and once
	// closed; one ping in its thread; one recovery.
	alert := once("the warning alert", func(m fakeslack.Message) bool {
		return isPost(rulesFloorChannel)(m) && strings.HasPrefix(m.Text, "Warning · Low availability")
	})
	once("the edit to critical", func(m fakeslack.Message) bool {
		// The closing edit keeps the last level's notification text; its
		// blocks say it recovered.
		return isEdit(rulesFloorChannel, alert.TS, "Critical · Low availability")(m) && !strings.Contains(string(m.Blocks), "Recovered at")
	})
	once("the ping", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == rulesFloorChannel && m.ThreadTS != "" &&
			m.ThreadTS == alert.TS && strings.Contains(m.Text, "<@"+rulesMention+">")
	})
	once("the recovery", func(m fakeslack.Message) bool {
		return isPost(rulesFloorChannel)(m) && strings.HasPrefix(m.Text, "Availability recovered")
	})
	once("the alert closed", isEdit(rulesFloorChannel, alert.TS, "Recovered at"))
	if n := len(find(func(m fakeslack.Message) bool { return m.Channel == rulesFloorChannel })); n != 5 {
		t.Errorf("%d messages in the alert channel, want 5 (alert, critical edit, ping, recovery, closing edit)", n)
	}

	// The time-in-status rule: per mapped agent one DM, one escalation,
	// each edited once when they moved on; the unmapped agent escalated
	// once, without a DM.
	for _, i := range mapped {
		user := replicaUser(i)
		dm := once("the DM to "+user, func(m fakeslack.Message) bool { return isDM(m) && m.Channel == "D"+user[1:] })
		esc := once("the escalation of "+user, func(m fakeslack.Message) bool {
			return isPost(rulesLeadsChannel)(m) && strings.Contains(blockText(t, m.Blocks), "⚠️ <@"+user+">")
		})
		once("the DM to "+user+" closed", isEdit(dm.Channel, dm.TS, "Thanks — you're now Available"))
		once("the escalation of "+user+" closed", isEdit(rulesLeadsChannel, esc.TS, "left busy after"))
	}
	agent := "`" + replicaAgent(unmapped) + "`"
	esc := once("the escalation of the unmapped agent", func(m fakeslack.Message) bool {
		return isPost(rulesLeadsChannel)(m) && strings.Contains(blockText(t, m.Blocks), agent+") has been in")
	})
	once("the unmapped agent's escalation closed", isEdit(rulesLeadsChannel, esc.TS, "left busy after"))
	if n := len(find(isDM)); n != len(mapped) {
		t.Errorf("%d DMs in all, want %d", n, len(mapped))
	}
	if n := len(find(func(m fakeslack.Message) bool { return m.Channel == rulesLeadsChannel })); n != 2*(len(mapped)+1) {
		t.Errorf("%d messages in the escalation channel, want %d (an escalation and its closing edit per agent)", n, 2*(len(mapped)+1))
	}

	// Nothing at all was sent twice: no post with the same content in
	// the same place (each has a new ts), no edit of one message to the
	// same content.
	seen := map[string]int{}
	for _, m := range msgs {
		where := m.ThreadTS // a post: each has a new ts
		if m.Method == "chat.update" {
			where = m.TS
		} else if m.Method != "chat.postMessage" {
			continue
		}
		key := strings.Join([]string{m.Method, m.Channel, where, m.Text, string(m.Blocks)}, "|")
		if seen[key]++; seen[key] == 2 {
			t.Errorf("sent twice or more: %s in %s %s: %q", m.Method, m.Channel, where, m.Text)
		}
	}

	// The survivors, not the dead replica, escalated the nudged agents.
	escalated := 0
	for _, r := range c.replicas[1:] {
		escalated += strings.Count(r.logs(), `msg="time in status escalated"`)
	}
	if escalated != len(mapped) {
		t.Errorf("the surviving replicas escalated %d agents, want the %d the dead one nudged", escalated, len(mapped))
	}
}

// countMessages counts the messages of Slack's record that match.
func countMessages(fs *fakeslack.Server, match func(fakeslack.Message) bool) int {
	n := 0
	for _, m := range fs.Messages() {
		if match(m) {
			n++
		}
	}
	return n
}
