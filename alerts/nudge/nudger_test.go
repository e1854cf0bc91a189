package nudge

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// The life of an episode: the agent is DMed once when they pass After,
// with the status buttons every other status message has and [5 more
// minutes]; the channel is told EscalateAfter later, naming them, with
// the same buttons; when they move on, both messages are edited, without
// buttons, and the state forgets the episode.
func TestPollNudgesEscalatesAndCloses(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)

	poll(t, n, t0)
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "dm" || calls[0].user != "U0ASHA" {
		t.Fatalf("got %+v, want one DM to U0ASHA", calls)
	}
	dm := calls[0]
	mustContain(t, "DM", dm.text(), "You've been in *after-call work* for *5m*", "since 09:55", "long-wrap-up",
		"If you're still in after-call work at 10:03")
	wantButtons := []string{
		"Available status_set agent=agent_001&from=after-call-work&to=available",
		"Offline status_set agent=agent_001&from=after-call-work&to=offline",
	}
	gotButtons := buttonSummary(dm.buttons())
	if len(gotButtons) != 3 || !slices.Equal(gotButtons[:2], wantButtons) ||
		!strings.HasPrefix(gotButtons[2], "5 more minutes nudge_more ") {
		t.Errorf("got DM buttons %q, want %q and 5 more minutes", gotButtons, wantButtons)
	}

	for _, d := range []time.Duration{time.Minute, 2 * time.Minute} {
		poll(t, n, t0.Add(d))
		if calls := f.msg.take(); len(calls) != 0 {
			t.Fatalf("at +%s: got %+v, want nothing (one DM per episode)", d, calls)
		}
	}

	poll(t, n, t0.Add(3*time.Minute))
	calls = f.msg.take()
	if len(calls) != 1 || calls[0].method != "post" || calls[0].channel != "C0FLOOR" {
		t.Fatalf("got %+v, want one escalation in C0FLOOR", calls)
	}
	esc := calls[0]
	mustContain(t, "escalation", esc.text(), "<@U0ASHA> (Asha Rao) has been in *after-call work* for *8m*",
		"Reminded by DM at 10:00", "long-wrap-up")
	if got := buttonSummary(esc.buttons()); len(got) != 3 || !slices.Equal(got[:2], wantButtons) {
		t.Errorf("got escalation buttons %q, want the DM's", got)
	}

	poll(t, n, t0.Add(10*time.Minute))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Fatalf("got %+v after the escalation, want nothing more", calls)
	}

	f.roster.move("agent_001", presence.Available, t0.Add(4*time.Minute))
	poll(t, n, t0.Add(11*time.Minute))
	calls = f.msg.take()
	if len(calls) != 2 || calls[0].method != "update" || calls[1].method != "update" {
		t.Fatalf("got %+v, want the DM and the escalation edited", calls)
	}
	for _, c := range calls {
		if len(c.buttons()) != 0 {
			t.Errorf("edit of %s kept its buttons", c.channel)
		}
	}
	if calls[0].channel != dm.channel || calls[0].ts != dm.ts {
		t.Errorf("edited %s %s, want the DM %s %s", calls[0].channel, calls[0].ts, dm.channel, dm.ts)
	}
	mustContain(t, "DM edit", calls[0].text(), "Thanks — you're now Available.")
	if calls[1].channel != "C0FLOOR" || calls[1].ts != esc.ts {
		t.Errorf("edited %s %s, want the escalation C0FLOOR %s", calls[1].channel, calls[1].ts, esc.ts)
	}
	mustContain(t, "escalation edit", calls[1].text(), "<@U0ASHA> left after-call work after 9m.")
	if st := f.state(t); len(st.Episodes) != 0 || len(st.Posting) != 0 {
		t.Errorf("state keeps %+v after the episode ended, want nothing", st)
	}
}

// An unmapped agent has nobody to nudge: the channel is told at once,
// naming them by their escaped name and ID.
func TestPollUnmappedAgentGoesStraightToEscalation(t *testing.T) {
	f := newFixture(t, agent("agent_009", "Zed <!channel> & co", "sales_team", presence.AfterCallWork, ago(6*time.Minute)))
	n := f.nudger(t, nil)
	poll(t, n, t0)
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "post" {
		t.Fatalf("got %+v, want one escalation and no DM", calls)
	}
	text := calls[0].text()
	mustContain(t, "escalation", text, "*Zed &lt;!channel&gt; &amp; co* (`agent_009`)", "Not mapped to a Slack user")
	mustNotContain(t, "escalation", text, "<!channel>", "<@")
	poll(t, n, t0.Add(time.Hour))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v, want one escalation per episode", calls)
	}
}

// A changed status_since is a new stretch: the old episode's DM is
// edited, and the new one gets its own DM once past After.
func TestPollNewStatusSinceIsANewEpisode(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	first := only(f.msg.take(), "dm")[0]

	f.roster.move("agent_001", presence.AfterCallWork, t0.Add(time.Minute)) // a call between
	poll(t, n, t0.Add(2*time.Minute))
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "update" || calls[0].ts != first.ts {
		t.Fatalf("got %+v, want the first DM edited only", calls)
	}
	poll(t, n, t0.Add(6*time.Minute))
	calls = f.msg.take()
	if len(calls) != 1 || calls[0].method != "dm" {
		t.Fatalf("got %+v, want a DM for the new episode", calls)
	}
}

// A DM that fails is undone in the state and sent at the next poll, once;
// the escalation then counts from the DM that went out.
func TestPollRetriesAFailedDMOnce(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	f.msg.setFailDM(1)
	if err := n.Poll(context.Background(), t0); err == nil {
		t.Error("a failed DM: got no error from the poll")
	}
	if st := f.state(t); len(st.Posting) != 0 || !st.Episodes["long-wrap-up"]["agent_001"].NudgedAt.IsZero() {
		t.Fatalf("after a failed DM the state is %+v, want the nudge undone and no marker", st)
	}
	poll(t, n, t0.Add(time.Minute))
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Fatalf("got %d DMs at the retry, want 1", len(dms))
	}
	for _, d := range []time.Duration{2 * time.Minute, 3 * time.Minute} {
		poll(t, n, t0.Add(d))
		if calls := f.msg.take(); len(calls) != 0 {
			t.Fatalf("at +%s got %+v, want nothing: escalation is due 3m after the DM that went out", d, calls)
		}
	}
	poll(t, n, t0.Add(4*time.Minute))
	calls := f.msg.take()
	if len(only(calls, "dm")) != 0 || len(only(calls, "post")) != 1 {
		t.Errorf("got %+v, want the escalation and no second DM", calls)
	}
}

// A poll that read the state before another replica's poll saved its
// decision has its own write refused (the revision moved), reads again,
// finds the tick decided, and sends nothing: one DM.
func TestPollDecidedFromAnOldReadIsRefused(t *testing.T) {
	f := newFixture(t)
	a, b := f.nudger(t, nil), f.nudger(t, nil)
	f.roster.during = func() { poll(t, a, t0) } // between b's read of the state and its decision
	poll(t, b, t0)
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("got %d DMs, want 1", len(dms))
	}
}

// A second poll of the same tick (a replica that lost the race) while the
// first is still posting leaves the tick, and the first poll's markers, to
// it: so the first poll's failed DM is undone, and sent at the next tick.
func TestPollOfADecidedTickLeavesItsMarkers(t *testing.T) {
	f := newFixture(t)
	a, b := f.nudger(t, nil), f.nudger(t, nil)
	f.msg.setFailDM(1)
	f.msg.beforeDM = func() {
		if err := b.Poll(context.Background(), t0); err != nil {
			t.Errorf("second poll of the tick: %v", err)
		}
	}
	if err := a.Poll(context.Background(), t0); err == nil {
		t.Error("a failed DM: got no error from the poll")
	}
	poll(t, b, t0.Add(time.Minute))
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("got %d DMs after the failed one, want it sent once at the next tick", len(dms))
	}
}

// When the outcome of a failed DM cannot be saved (the store fails after
// the post), the replica remembers it, and its next poll undoes the nudge
// and sends the DM: not assumed made.
func TestPollRemembersAnOutcomeItCouldNotSave(t *testing.T) {
	f := newFixture(t)
	fs := &flakyStore{MemoryStore: f.store}
	n := f.nudger(t, nil)
	n.store = fs
	f.msg.setFailDM(1)
	f.msg.beforeDM = func() { fs.setFailing(true) }
	if err := n.Poll(context.Background(), t0); err == nil {
		t.Error("got no error from a poll whose DM and save failed")
	}
	if st := f.state(t); len(st.Posting) != 1 {
		t.Fatalf("state %+v: want the marker left by the failed save", st)
	}
	fs.setFailing(false)
	poll(t, n, t0.Add(time.Minute))
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("got %d DMs, want the failed one sent again", len(dms))
	}
	if strings.Contains(f.log.String(), "assuming it was made") {
		t.Error("the replica assumed its own failed DM made")
	}
}

// A marker a dead replica left (decided and saved, never confirmed) is
// assumed sent: never a second DM.
func TestPollAssumesAnUnconfirmedDMSent(t *testing.T) {
	f := newFixture(t)
	ep := nudged(ago(time.Minute))
	ep.Since = ago(5 * time.Minute)
	st := State{Rev: 7, Tick: ago(time.Minute),
		Episodes: map[string]map[string]Episode{"long-wrap-up": {"agent_001": ep}},
		Posting:  []Posting{{ID: "dead", Rule: "long-wrap-up", Agent: "agent_001", Kind: kindDM, Since: ep.Since}}}
	if err := f.store.Save(context.Background(), StateKey, st); err != nil {
		t.Fatal(err)
	}
	n := f.nudger(t, nil)
	poll(t, n, t0)
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v, want no second DM", calls)
	}
	if got := f.state(t); len(got.Posting) != 0 || got.Episodes["long-wrap-up"]["agent_001"].NudgedAt.IsZero() {
		t.Errorf("state %+v: want the marker settled as sent", got)
	}
	if !strings.Contains(f.log.String(), "assuming it was made") {
		t.Errorf("log %q does not say the post was assumed made", f.log.String())
	}
}

// Three replicas over one store, polling the same ticks at once, send
// each DM and each escalation exactly once.
func TestThreeNudgersSendEachMessageOnce(t *testing.T) {
	var agents []presence.Agent
	dir := directory{}
	for i := range 30 {
		id := "agent_" + string(rune('a'+i/10)) + string(rune('0'+i%10))
		agents = append(agents, agent(id, "Agent "+id, "support_team", presence.AfterCallWork, ago(5*time.Minute)))
		if i%3 != 0 {
			dir[id] = "U0" + strings.ToUpper(id)
		}
	}
	f := newFixture(t, agents...)
	f.dir = dir
	replicas := []*Nudger{f.nudger(t, nil), f.nudger(t, nil), f.nudger(t, nil)}
	for tick := range 5 {
		at := t0.Add(time.Duration(tick) * time.Minute)
		var wg sync.WaitGroup
		for _, n := range replicas {
			wg.Go(func() {
				if err := n.Poll(context.Background(), at); err != nil {
					t.Errorf("poll at %s: %v", at.Format("15:04"), err)
				}
			})
		}
		wg.Wait()
	}
	calls := f.msg.take()
	dms, posts := map[string]int{}, map[string]int{}
	for _, c := range calls {
		switch c.method {
		case "dm":
			dms[c.user]++
		case "post":
			posts[c.m.Text]++
		}
	}
	if len(dms) != 20 || len(posts) != 30 {
		t.Errorf("got DMs to %d agents and escalations of %d, want 20 and 30", len(dms), len(posts))
	}
	for who, k := range dms {
		if k != 1 {
			t.Errorf("%s got %d DMs, want 1", who, k)
		}
	}
	for text, k := range posts {
		if k != 1 {
			t.Errorf("escalation %q posted %d times, want 1", text, k)
		}
	}
}

// [5 more minutes] on the DM moves the escalation to at least five
// minutes from the click and says until when; on the escalation, after
// it, it only says so, and edits the DM to match.
func TestMoreTime(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	ctx := context.Background()
	poll(t, n, t0)
	dm := only(f.msg.take(), "dm")[0]
	more := dm.buttons()[2]

	m, err := n.MoreTime(ctx, more.Value, "U0ASHA", t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !m.ReplaceOriginal {
		t.Error("the answer does not replace the DM")
	}
	mustContain(t, "DM after the click", strings.Join([]string{m.Text, m.Blocks[0].Text, m.Blocks[2].Text}, "\n"),
		"5 more minutes, until 10:07 (asked by <@U0ASHA>)")
	for _, d := range []time.Duration{3 * time.Minute, 6 * time.Minute} {
		poll(t, n, t0.Add(d))
		if calls := f.msg.take(); len(calls) != 0 {
			t.Fatalf("at +%s got %+v, want the escalation held until 10:07", d, calls)
		}
	}
	poll(t, n, t0.Add(7*time.Minute))
	posts := only(f.msg.take(), "post")
	if len(posts) != 1 {
		t.Fatalf("got %d escalations at 10:07, want 1", len(posts))
	}
	escMore := posts[0].buttons()[2]

	m, err = n.MoreTime(ctx, escMore.Value, "U0BOSS", t0.Add(8*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "escalation after the click", m.Blocks[len(m.Blocks)-1].Text, "until 10:13 (asked by <@U0BOSS>)")
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "update" || calls[0].ts != dm.ts {
		t.Fatalf("got %+v, want the DM edited to match", calls)
	}
	poll(t, n, t0.Add(20*time.Minute))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v, want no second escalation", calls)
	}

	f.roster.move("agent_001", presence.Available, t0.Add(21*time.Minute))
	poll(t, n, t0.Add(22*time.Minute))
	f.msg.take()
	if _, err := n.MoreTime(ctx, more.Value, "U0ASHA", t0.Add(23*time.Minute)); !errors.Is(err, ErrEpisodeOver) {
		t.Errorf("a click after the episode: got %v, want ErrEpisodeOver", err)
	}
	if _, err := n.MoreTime(ctx, "agent=agent_001&rule=long-wrap-up", "U0ASHA", t0); !errors.Is(err, ErrNotUnderstood) {
		t.Errorf("a value without its episode: got %v, want ErrNotUnderstood", err)
	}
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("refused clicks sent %+v", calls)
	}
}

// A click saved while a poll is deciding (from the state before it) is not
// undone: the poll's write is refused, and it decides again with it.
func TestMoreTimeDuringAPollIsNotUndone(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	more := only(f.msg.take(), "dm")[0].buttons()[2]
	f.roster.during = func() {
		if _, err := n.MoreTime(context.Background(), more.Value, "U0ASHA", t0.Add(2*time.Minute)); err != nil {
			t.Error(err)
		}
	}
	poll(t, n, t0.Add(3*time.Minute))
	if posts := only(f.msg.take(), "post"); len(posts) != 0 {
		t.Errorf("got %d escalations, want none until 10:07", len(posts))
	}
	if ep := f.state(t).Episodes["long-wrap-up"]["agent_001"]; !ep.EscalateAt.Equal(t0.Add(7 * time.Minute)) {
		t.Errorf("escalation due %s, want 10:07", ep.EscalateAt)
	}
}

// A click while the store is down changes nothing and says the state is
// unavailable.
func TestMoreTimeStoreDown(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	more := only(f.msg.take(), "dm")[0].buttons()[2]
	n.store = downStore{}
	if _, err := n.MoreTime(context.Background(), more.Value, "U0ASHA", t0); !errors.Is(err, ErrStateUnavailable) {
		t.Errorf("got %v, want ErrStateUnavailable", err)
	}
}

type downStore struct{ state.Store }

func (downStore) Update(context.Context, string, any, func(bool) (bool, error)) error {
	return errors.New("redis: connection refused")
}

// A silence on the rule holds back the DM and the escalation: the state
// records them as sent, nothing is posted, and the silence notes each.
// A team silence covers the agents of the team.
func TestPollSilenced(t *testing.T) {
	for _, target := range []string{"long-wrap-up", "support_team"} {
		t.Run(target, func(t *testing.T) {
			f := newFixture(t)
			sil := silence.New(f.store, nil)
			if _, err := sil.Add(context.Background(), target, time.Hour, "U0BOSS", "training", ago(time.Minute)); err != nil {
				t.Fatal(err)
			}
			n := f.nudger(t, func(s *Settings) { s.Silences = sil })
			poll(t, n, t0)
			poll(t, n, t0.Add(3*time.Minute))
			if calls := f.msg.take(); len(calls) != 0 {
				t.Fatalf("got %+v under a silence, want nothing", calls)
			}
			ep := f.state(t).Episodes["long-wrap-up"]["agent_001"]
			if ep.NudgedAt.IsZero() || ep.EscalatedAt.IsZero() || !ep.DM.Held || !ep.Escalation.Held {
				t.Errorf("episode %+v: want the DM and escalation recorded as sent, held", ep)
			}
			list, err := sil.Active(context.Background(), t0.Add(3*time.Minute))
			if err != nil || len(list) != 1 {
				t.Fatalf("silences %+v, %v", list, err)
			}
			if list[0].Suppressed != 2 || len(list[0].Notes) != 2 {
				t.Errorf("silence noted %d (%q), want the DM and the escalation", list[0].Suppressed, list[0].Notes)
			}
			for _, note := range list[0].Notes {
				mustContain(t, "note", note, "Asha Rao", "after-call work", "long-wrap-up")
			}
			// Nothing was posted, so nothing is edited when it ends.
			f.roster.move("agent_001", presence.Available, t0.Add(4*time.Minute))
			poll(t, n, t0.Add(5*time.Minute))
			if calls := f.msg.take(); len(calls) != 0 {
				t.Errorf("got %+v at the end of a silenced episode, want nothing", calls)
			}
		})
	}
}

// A silence elsewhere holds nothing back here.
func TestPollSilenceOfAnotherTeam(t *testing.T) {
	f := newFixture(t)
	sil := silence.New(f.store, nil)
	if _, err := sil.Add(context.Background(), "sales_team", time.Hour, "U0BOSS", "", ago(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n := f.nudger(t, func(s *Settings) { s.Silences = sil })
	poll(t, n, t0)
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("got %d DMs, want 1", len(dms))
	}
}

// Silences that cannot be read fail open: the DM goes out, and the log
// says why.
func TestPollSilencesUnreadableFailOpen(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, func(s *Settings) { s.Silences = brokenSilences{} })
	poll(t, n, t0)
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("got %d DMs, want 1", len(dms))
	}
	mustContain(t, "log", f.log.String(), "silences unreadable")
}

type brokenSilences struct{}

func (brokenSilences) Active(context.Context, time.Time) ([]silence.Silence, error) {
	return nil, errors.New("redis: timeout")
}

func (brokenSilences) NoteSuppressed(context.Context, string, string, time.Time) error { return nil }

// Outside active hours nothing starts, and an open episode ends quietly:
// its DM loses its buttons, nothing is posted, and the same stretch is
// not nudged again when hours begin.
func TestPollOutsideActiveHours(t *testing.T) {
	f := newFixture(t)
	open := true
	n := f.nudger(t, func(s *Settings) { s.Rules[0].Active = func(time.Time) bool { return open } })
	poll(t, n, t0)
	dm := only(f.msg.take(), "dm")[0]

	open = false
	poll(t, n, t0.Add(time.Minute))
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "update" || calls[0].ts != dm.ts || len(calls[0].buttons()) != 0 {
		t.Fatalf("got %+v, want the DM edited without buttons only", calls)
	}
	mustContain(t, "closed DM", calls[0].text(), "outside active hours")
	poll(t, n, t0.Add(10*time.Minute))
	open = true
	poll(t, n, t0.Add(11*time.Minute))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v, want nothing: no escalation outside hours, no second DM after", calls)
	}

	// Nobody new starts outside hours either.
	g := newFixture(t)
	m := g.nudger(t, func(s *Settings) { s.Rules[0].Active = func(time.Time) bool { return false } })
	poll(t, m, t0)
	if calls := g.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v outside hours, want nothing", calls)
	}
}

// A roster that cannot be read decides nothing: an open episode is not
// taken for an agent who moved on.
func TestPollRosterUnavailable(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	f.msg.take()
	before := f.state(t)
	f.roster.setFail(errors.New("contact center: 503"))
	if err := n.Poll(context.Background(), t0.Add(time.Minute)); err == nil {
		t.Error("got no error without a roster")
	}
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v without a roster, want nothing", calls)
	}
	if after := f.state(t); after.Rev != before.Rev {
		t.Errorf("state went from rev %d to %d without a roster", before.Rev, after.Rev)
	}
}

// The poll reads the shared snapshot and never lists the roster more than
// the snapshot does.
func TestPollReadsTheSnapshotOnce(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	if f.roster.lists != 1 {
		t.Errorf("one poll read the roster %d times, want 1", f.roster.lists)
	}
}

// Agents of teams the rule does not watch are none of its business.
func TestPollTeamsScope(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, func(s *Settings) { s.Rules[0].Teams = []string{"sales_team"} })
	poll(t, n, t0.Add(time.Hour))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("got %+v for a support agent under a sales rule, want nothing", calls)
	}
}

var _ Messenger = (*messenger)(nil)
var _ = message.ActionNudgeMore

// A silence that ends between the held DM and the escalation lets the
// escalation through, saying the reminder was held back.
func TestPollSilenceEndsBeforeEscalation(t *testing.T) {
	f := newFixture(t)
	sil := silence.New(f.store, nil)
	if _, err := sil.Add(context.Background(), "long-wrap-up", 2*time.Minute, "U0BOSS", "", ago(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n := f.nudger(t, func(s *Settings) { s.Silences = sil })
	poll(t, n, t0)
	poll(t, n, t0.Add(3*time.Minute))
	calls := f.msg.take()
	if len(calls) != 1 || calls[0].method != "post" {
		t.Fatalf("got %+v, want the escalation alone", calls)
	}
	mustContain(t, "escalation", calls[0].text(), "Their reminder at 10:00 was held back by a silence.")
}
