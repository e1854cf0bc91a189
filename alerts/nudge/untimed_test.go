package nudge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// An agent whose status_since the API leaves out (or sends null) decodes
// to the zero time: how long they have been in the status is unknown, so
// they are skipped, mapped or not: no DM and no escalation, on any poll,
// and one info line per agent says why (not one per poll). Once the API
// gives a status_since again, the agent is timed as anyone else.
func TestPollSkipsAgentsWithoutStatusSince(t *testing.T) {
	f := newFixture(t,
		agent("agent_001", "Asha Rao", "support_team", presence.AfterCallWork, time.Time{}),
		agent("agent_009", "Zed", "support_team", presence.AfterCallWork, time.Time{}))
	n := f.nudger(t, nil)
	for i := range 4 {
		poll(t, n, t0.Add(time.Duration(i)*time.Minute))
	}
	if calls := f.msg.take(); len(calls) != 0 {
		t.Fatalf("4 polls of agents with no status_since (one mapped, one not): got %d calls %+v, want none", len(calls), calls)
	}
	logs := f.log.String()
	for _, id := range []string{"agent_001", "agent_009"} {
		if got := strings.Count(logs, "agent="+id); got != 1 {
			t.Errorf("%s logged %d times in 4 polls, want once:\n%s", id, got, logs)
		}
	}
	mustContain(t, "log", logs, "level=INFO", "no status_since")
	if st := f.state(t); len(st.Episodes) != 0 {
		t.Errorf("state keeps %+v, want no episode", st.Episodes)
	}

	f.roster.move("agent_001", presence.AfterCallWork, t0.Add(-2*time.Minute))
	poll(t, n, t0.Add(4*time.Minute))
	if dms := only(f.msg.take(), "dm"); len(dms) != 1 {
		t.Errorf("status_since back, 6m in after-call work: got %d DMs, want 1", len(dms))
	}
}

// An episode open when the agent's status_since goes missing is kept as
// it is: neither closed (they have not moved on) nor escalated (the time
// is unknown); it goes on once status_since is back.
func TestPollKeepsAnEpisodeWhoseStatusSinceGoesMissing(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	poll(t, n, t0)
	f.msg.take()
	since := ago(5 * time.Minute)
	f.roster.move("agent_001", presence.AfterCallWork, time.Time{})
	poll(t, n, t0.Add(5*time.Minute))
	if calls := f.msg.take(); len(calls) != 0 {
		t.Fatalf("status_since missing: got %+v, want nothing (no close, no escalation)", calls)
	}
	if _, ok := f.state(t).Episodes["long-wrap-up"]["agent_001"]; !ok {
		t.Fatal("the episode was dropped while status_since was missing")
	}
	f.roster.move("agent_001", presence.AfterCallWork, since)
	poll(t, n, t0.Add(6*time.Minute))
	if posts := only(f.msg.take(), "post"); len(posts) != 1 {
		t.Errorf("status_since back, escalation overdue: got %d escalations, want 1", len(posts))
	}
}

// [5 more minutes] moves the escalation at most MaxMoreTime times per
// episode: an agent clicking it every five minutes is escalated once
// those are used, not never.
func TestMoreTimeCannotPostponeTheEscalationForever(t *testing.T) {
	ep := nudged(t0)
	r := wrapUp()
	for i := 1; i <= 24; i++ { // two hours of clicks, one every 5 minutes
		now := t0.Add(time.Duration(i) * 5 * time.Minute)
		ep, _ = GiveMoreTime(ep, "U0ASHA", now.Add(-time.Second))
		act, next := Decide(ep, in(ep.Since), r, now)
		if act.Has(Escalate) {
			if i != MaxMoreTime+1 {
				t.Errorf("escalated at click %d, want after the %d extensions, at the click after", i, MaxMoreTime)
			}
			return
		}
		ep = next
	}
	t.Errorf("2h in after-call work, clicking [5 more minutes] every 5m: never escalated")
}

// A click beyond MaxMoreTime is refused with when the supervisors will
// be told, and changes nothing: not the state, not a message.
func TestMoreTimeRefusedOnceUsedUp(t *testing.T) {
	f := newFixture(t)
	n := f.nudger(t, nil)
	ctx := context.Background()
	poll(t, n, t0)
	more := only(f.msg.take(), "dm")[0].buttons()[2]
	for i := range MaxMoreTime {
		if _, err := n.MoreTime(ctx, more.Value, "U0ASHA", t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatalf("click %d: %v", i+1, err)
		}
	}
	f.msg.take()
	before := f.state(t)
	_, err := n.MoreTime(ctx, more.Value, "U0ASHA", t0.Add(4*time.Minute))
	var used *NoMoreTimeError
	if !errors.As(err, &used) || !errors.Is(err, ErrNoMoreTime) {
		t.Fatalf("click %d: got %v, want a *NoMoreTimeError wrapping ErrNoMoreTime", MaxMoreTime+1, err)
	}
	if want := "You've had the extra time already; your supervisors will be told at 10:07."; used.Answer != want {
		t.Errorf("answer %q, want %q", used.Answer, want)
	}
	if after := f.state(t); after.Rev != before.Rev {
		t.Errorf("a refused click changed the state (rev %d → %d)", before.Rev, after.Rev)
	}
	if calls := f.msg.take(); len(calls) != 0 {
		t.Errorf("a refused click sent %+v", calls)
	}
	poll(t, n, t0.Add(7*time.Minute))
	if posts := only(f.msg.take(), "post"); len(posts) != 1 {
		t.Errorf("at 10:07: got %d escalations, want 1", len(posts))
	}
}

// mention on a time-in-status rule pings the supervisors in the
// escalation, the post that pages them (users as <@U…>, a user group as
// <!subteam^S…>), in its notification text and its blocks; the DM pings
// nobody but the agent's own IM.
func TestEscalationMentionsTheRulesMention(t *testing.T) {
	for _, tt := range []struct {
		mention []string
		want    string
	}{
		{[]string{"U0SUPER", "W0LEAD"}, "<@U0SUPER> <@W0LEAD>"},
		{[]string{"S0LEADS"}, "<!subteam^S0LEADS>"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			f := newFixture(t)
			n := f.nudger(t, func(s *Settings) { s.Rules[0].Mention = tt.mention })
			poll(t, n, t0)
			dm := only(f.msg.take(), "dm")[0]
			mustNotContain(t, "DM", dm.text(), tt.want)
			poll(t, n, t0.Add(3*time.Minute))
			posts := only(f.msg.take(), "post")
			if len(posts) != 1 {
				t.Fatalf("got %d escalations, want 1", len(posts))
			}
			mustContain(t, "escalation text", posts[0].m.Text, tt.want)
			mustContain(t, "escalation blocks", posts[0].m.Blocks[0].Text, tt.want)
		})
	}
}
