package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// TestAlertFiredUnderASilenceIsPostedWhenItEnds: an alert that fires
// while its rule is silenced has no message (nothing was posted). Still
// firing when the silence ends, it is posted at the next poll, once, at
// its level now, with [Acknowledge] and [Snooze 1h] and saying when it
// fired; whether the rule repeats or not, and its repeats count from
// that post. A button of that post acknowledges the episode.
func TestAlertFiredUnderASilenceIsPostedWhenItEnds(t *testing.T) {
	for _, tt := range []struct {
		name   string
		repeat time.Duration
		next   time.Duration // the next post after the one at 10:61, 0 none
	}{
		{"repeat 0", 0, 0},
		{"repeat 30m", 30 * time.Minute, 91 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, floor()...)
			silences := silence.New(state.NewMemoryStore(), nil)
			s := settings()
			r := salesRule()
			r.Repeat = tt.repeat
			s.Rules = []AvailabilityRule{r}
			s.Silences = silences
			a := f.alerter(t, state.NewMemoryStore(), s)
			ctx := context.Background()
			if _, err := silences.Add(ctx, "sales-floor", time.Hour, "U0BOSS", "", at(0)); err != nil {
				t.Fatal(err)
			}
			f.force(t, presence.Offline, "s1")
			poll(t, a, at(0))
			poll(t, a, at(30*time.Minute))
			poll(t, a, at(59*time.Minute))
			f.expect(t, "silenced", 0, 0)

			poll(t, a, at(61*time.Minute))
			posts, _ := f.expect(t, "silence over: the alert and the end note", 2, 0)
			var alert sent
			for _, p := range posts {
				if _, ok := buttons(p)["Acknowledge"]; ok {
					alert = p
				}
			}
			if alert.msg.Text == "" {
				t.Fatalf("no post with [Acknowledge] after the silence: %q, %q", posts[0].text(), posts[1].text())
			}
			if _, ok := buttons(alert)["Snooze 1h"]; !ok || alert.channel != "C_SALES" {
				t.Errorf("alert in %s with buttons %v, want C_SALES with [Snooze 1h]", alert.channel, buttons(alert))
			}
			mustContain(t, "alert", alert.text(), "Warning · Low availability: Sales", "*2 agents* available in *Sales*",
				"Fired at 10:00 during a silence")
			f.expectReplies(t, "no thread yet", 0)

			for _, d := range []time.Duration{62 * time.Minute, 90 * time.Minute} {
				poll(t, a, at(d))
				f.expect(t, "posted once", 0, 0)
			}
			if tt.next > 0 {
				poll(t, a, at(tt.next))
				posts, _ := f.expect(t, "the repeat, a period after the post", 1, 1)
				mustContain(t, "repeat", posts[0].text(), "Still low availability")
			}
			if _, err := a.Acknowledge(ctx, buttons(alert)["Acknowledge"].Value, "U0BOSS", at(92*time.Minute)); err != nil {
				t.Errorf("acknowledge from the post made after the silence: %v", err)
			}
		})
	}
}

// TestCriticalAlertFiredUnderASilencePingsWhenPosted: posted after its
// silence at critical, the alert pings the rule's mention in itself (its
// ping was held back too), and a later reply has its thread.
func TestCriticalAlertFiredUnderASilencePingsWhenPosted(t *testing.T) {
	f := newFixture(t, floor()...)
	silences := silence.New(state.NewMemoryStore(), nil)
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
	s.Silences = silences
	store := state.NewMemoryStore()
	a := f.alerter(t, store, s)
	if _, err := silences.Add(context.Background(), "sales_team", time.Hour, "U0BOSS", "", at(0)); err != nil {
		t.Fatal(err)
	}
	f.force(t, presence.Offline, "s1", "s2")
	poll(t, a, at(0))
	f.expect(t, "silenced", 0, 0)
	poll(t, a, at(61*time.Minute))
	posts, _ := f.expect(t, "the alert and the end note", 2, 0)
	var alert sent
	for _, p := range posts {
		if strings.Contains(p.text(), "Critical") {
			alert = p
		}
	}
	mustContain(t, "alert", alert.text(), "Critical · Low availability", "<@U0SUPER>", "<!subteam^S0LEADS>",
		"Fired at 10:00 during a silence")
	if st := storedState(t, store).Rules["sales-floor"]; st.Posted.TS != alert.ts || st.Posted.TS == "" {
		t.Errorf("stored message %q, want the post %q", st.Posted.TS, alert.ts)
	}
}

// TestSilenceEndAnnouncedWithOnlyTimeInStatusRules: with no availability
// rule (only status_longer_than rules, run by the nudger), the alerter
// still announces the end of every silence, once.
func TestSilenceEndAnnouncedWithOnlyTimeInStatusRules(t *testing.T) {
	f := newFixture(t, floor()...)
	silences := silence.New(state.NewMemoryStore(), nil)
	s := settings()
	s.Rules = nil
	s.Watched = []RuleScope{{Name: "long-wrap-up", Teams: []string{"support_team"}, Channel: "C_SUPPORT"}}
	s.Silences = silences
	a := f.alerter(t, state.NewMemoryStore(), s)
	ctx := context.Background()
	sil, err := silences.Add(ctx, "long-wrap-up", time.Hour, "U0BOSS", "", at(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := silences.NoteSuppressed(ctx, sil.ID, "DM for Asha Rao: after-call work for 5m", at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	poll(t, a, at(0))
	f.expect(t, "silenced", 0, 0)
	poll(t, a, at(61*time.Minute))
	posts, _ := f.expect(t, "the silence ran out: its end note", 1, 0)
	if posts[0].channel != "C_SUPPORT" {
		t.Errorf("end note in %s, want C_SUPPORT", posts[0].channel)
	}
	mustContain(t, "end note", posts[0].text(), "Silence on `long-wrap-up` ended (ran out)", "DM for Asha Rao")
	poll(t, a, at(62*time.Minute))
	f.expect(t, "announced once", 0, 0)
}

// TestPostHeldBackAfterTheEndNoteGetsOneMore: a post noted on a silence
// after its end note was posted (a poll that read the silence before a
// supervisor ended it, on another replica or the nudger) is not lost: the
// next poll posts one more note with it alone; then nothing more.
func TestPostHeldBackAfterTheEndNoteGetsOneMore(t *testing.T) {
	f := newFixture(t, floor()...)
	silences := silence.New(state.NewMemoryStore(), nil)
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
	s.Silences = silences
	a := f.alerter(t, state.NewMemoryStore(), s)
	ctx := context.Background()
	sil, err := silences.Add(ctx, "sales-floor", time.Hour, "U0BOSS", "", at(0))
	if err != nil {
		t.Fatal(err)
	}
	poll(t, a, at(0))
	if _, err := silences.End(ctx, sil.ID, "U0LEAD", at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	poll(t, a, at(3*time.Minute))
	posts, _ := f.expect(t, "ended early", 1, 0)
	mustContain(t, "end note", posts[0].text(), "it held back nothing")

	if err := silences.NoteSuppressed(ctx, sil.ID, "escalation for Asha Rao: after-call work for 8m", at(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	poll(t, a, at(4*time.Minute))
	posts, _ = f.expect(t, "the late note", 1, 0)
	if posts[0].channel != "C_SALES" {
		t.Errorf("late note in %s, want C_SALES", posts[0].channel)
	}
	mustContain(t, "late note", posts[0].text(), "Silence on `sales-floor` (ended by <@U0LEAD> at 10:02) also held back 1 more message:",
		"• escalation for Asha Rao: after-call work for 8m")
	poll(t, a, at(5*time.Minute))
	f.expect(t, "nothing more", 0, 0)
}

// TestRulesSharingAStateKeyAreNotBothRun: a rule named "total" would
// share its state (and its buttons) with the rule "all", whose state key
// is "total". The configuration refuses the name; should two such rules
// reach the alerter anyway, the second is left out, with an error in the
// log, rather than have them overwrite each other's state.
func TestRulesSharingAStateKeyAreNotBothRun(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	total := AvailabilityRule{Name: "total", Teams: []string{"sales_team"}, Warning: 3, Repeat: 30 * time.Minute}
	s.Rules = []AvailabilityRule{total, allRule(4)}
	log, logs := newLogger()
	a := NewAlerter(f.client, f.poster, state.NewMemoryStore(), s, log)
	f.force(t, presence.Offline, "s1") // sales below 3; all agents still at 4
	for _, d := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		poll(t, a, at(d))
	}
	posts, _ := f.expect(t, "3 polls with the sales rule below", 1, 0)
	mustContain(t, "alert", posts[0].text(), "rule `total`")
	mustContain(t, "log", logs.String(), "level=ERROR", "rule=all", "key=total")
}
