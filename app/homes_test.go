package app_test

import (
	"context"
	"encoding/json"
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

// A person opens their App Home through one replica's connection and
// changes their status through another's: the replica that made the
// change refreshes the Home, because who opened it is shared in Redis.
func TestHomeRefreshedByAnotherReplica(t *testing.T) {
	c := startHomeCluster(t)

	opened, openConn := c.openHome(userAlice)
	mustContain(t, blockText(t, opened.Blocks), "Your status", "*available* since")

	id, err := c.slack.SendSlashCommand(fakeslack.SlashCommand{Command: "/status", Text: "busy", UserID: userAlice, ChannelID: "C0FLOOR"})
	if err != nil {
		t.Fatal(err)
	}
	c.waitAnswers([]string{id}, "now", "busy")
	if conn := c.ackConn(id); conn == openConn {
		t.Fatalf("the Home was opened and the status changed through the same connection (%d): this proves nothing", conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m, err := c.slack.WaitMessage(ctx, func(m fakeslack.Message) bool {
		return m.Method == "views.publish" && m.User == userAlice && strings.Contains(string(m.Blocks), "*busy* since")
	})
	if err != nil {
		t.Fatalf("the Home opened through connection %d was not refreshed after the change on another: %v", openConn, err)
	}
	if !m.At.After(opened.At) {
		t.Errorf("the refreshed Home (%s) is not newer than the opened one (%s)", m.At, opened.At)
	}
}

// An alert that fires, then resolves, refreshes the Home of the
// supervisors who opened it, and no one else's.
func TestAlertRefreshesSupervisorsHome(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Minute).Add(30 * time.Second))
	// Two of four agents are available; the threshold is three.
	w := start(t, withEnv("ALERT_CHANNEL", "C0ALERTS", "ALERT_THRESHOLD", "3", "ALERT_INTERVAL", "1m", "AFTER_CALL_POLL", "1h"),
		func(_ map[string]string, opts *[]app.Option) { *opts = append(*opts, app.WithClock(clock)) })
	mustContain(t, blockText(t, w.homeView(userSuper)), "The floor", "No alerts firing")
	w.homeView(userAlice)
	isHome := func(user string) func(fakeslack.Message) bool {
		return func(m fakeslack.Message) bool { return m.Method == "views.publish" && m.User == user }
	}
	aliceHomes := w.count(isHome(userAlice))

	// The alert fires on the next tick.
	w.tickAlerts(clock)
	w.waitFor("the alert", func(m fakeslack.Message) bool { return m.Method == "chat.postMessage" && m.Channel == "C0ALERTS" })
	w.waitFor("the supervisor's Home with the alert", func(m fakeslack.Message) bool {
		return isHome(userSuper)(m) && strings.Contains(string(m.Blocks), "Alerts firing")
	})

	isClear := func(m fakeslack.Message) bool {
		return isHome(userSuper)(m) && strings.Contains(string(m.Blocks), "No alerts firing")
	}
	cleared := w.count(isClear)

	// It resolves on the one after: a third agent is available.
	if err := w.sim.Force("agent_003", presence.Available); err != nil {
		t.Fatal(err)
	}
	w.tickAlerts(clock)
	w.waitFor("the recovery", func(m fakeslack.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C0ALERTS" && strings.Contains(strings.ToLower(m.Text+string(m.Blocks)), "recover")
	})
	eventually(t, "the supervisor's Home without the alert", func() bool { return w.count(isClear) > cleared })
	if n := w.count(isHome(userAlice)) - aliceHomes; n != 0 {
		t.Errorf("an agent's Home was published %d times for alerts, want never", n)
	}
}

// tickAlerts moves the fake clock to the alert poll's next tick, once the
// previous tick's poll is done (the clock moving under a running poll
// would end it at its deadline, on that clock) and the scheduler has set
// its timers (alerts and after_call).
func (w *world) tickAlerts(clock *clockwork.FakeClock) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for strings.Count(w.logs.String(), `msg="job done" component=scheduler job=alerts `) < w.alertTicks {
		select {
		case <-ctx.Done():
			w.t.Fatalf("the alert poll of the previous tick did not finish:\n%s", w.logs.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	w.alertTicks++
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		w.t.Fatalf("the scheduler did not set its timers: %v", err)
	}
	now := clock.Now()
	clock.Advance(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
}

// startHomeCluster runs two replicas in this process on one Redis, one
// fake Slack and the small roster of the other end-to-end tests.
func startHomeCluster(t *testing.T) *cluster {
	t.Helper()
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	sim.Add(roster()...)
	ccm := httptest.NewServer(sim)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping, nil)
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}
	c.replicas = []*replica{c.startInProcess("replica-a", 0), c.startInProcess("replica-b", 0)}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, len(c.replicas)); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	return c
}

// openHome opens user's App Home and returns the view published and the
// connection the event was acknowledged on.
func (c *cluster) openHome(user string) (fakeslack.Message, int) {
	c.t.Helper()
	id, err := c.slack.SendEvent(map[string]any{"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0X"})
	if err != nil {
		c.t.Fatal(err)
	}
	conn := c.ackConn(id)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m, err := c.slack.WaitMessage(ctx, func(m fakeslack.Message) bool { return m.Method == "views.publish" && m.User == user })
	if err != nil {
		c.t.Fatalf("no Home published for %s: %v", user, err)
	}
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(m.Blocks, &view); err != nil {
		c.t.Fatal(err)
	}
	m.Blocks = view.Blocks
	return m, conn
}

// ackConn waits for an envelope's ack and returns its connection.
func (c *cluster) ackConn(id string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	a, err := c.slack.WaitAck(ctx, id)
	if err != nil {
		c.t.Fatal(err)
	}
	return a.Conn
}
