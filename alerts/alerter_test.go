package alerts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/schedule"
	"github.com/presencebot/presence-bot/state"
)

// settings are the test defaults: the rule "all" at warning 5 (the floor
// has 5 available), repeat every 30m, unavailable after 3 failed polls.
func settings() Settings {
	return Settings{Channel: "C_ALERTS", Rules: []AvailabilityRule{allRule(5)}, UnavailableAfter: 3}
}

// allRule is the rule ALERT_THRESHOLD makes, repeating every 30m.
func allRule(warning int) AvailabilityRule {
	return AvailabilityRule{Name: AllRule, Warning: warning, Repeat: 30 * time.Minute}
}

// teamRule is the rule an ALERT_TEAM_THRESHOLDS entry makes.
func teamRule(id string, warning int) AvailabilityRule {
	return AvailabilityRule{Name: TeamKey(id), Teams: []string{id}, Warning: warning, Repeat: 30 * time.Minute}
}

func (f *fixture) alerter(t *testing.T, store state.Store, s Settings) *Alerter {
	t.Helper()
	if store == nil {
		store = state.NewMemoryStore()
	}
	return NewAlerter(f.client, f.poster, store, s, nil)
}

// poll runs one poll and fails the test on an error.
func poll(t *testing.T, a *Alerter, now time.Time) {
	t.Helper()
	if err := a.Poll(context.Background(), now); err != nil {
		t.Fatalf("Poll at %s: %v", now.Format("15:04"), err)
	}
}

// expect checks how many posts and updates the last polls made.
func (f *fixture) expect(t *testing.T, when string, posts, updates int) ([]sent, []sent) {
	t.Helper()
	p, u := f.poster.take()
	if len(p) != posts || len(u) != updates {
		var texts []string
		for _, s := range p {
			texts = append(texts, s.text())
		}
		t.Fatalf("%s: got %d posts and %d updates, want %d and %d; posts: %q", when, len(p), len(u), posts, updates, texts)
	}
	return p, u
}

func TestAlertFiresOnceRepeatsResolvesAndFiresAgain(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())

	poll(t, a, at(0))
	f.expect(t, "at the threshold", 0, 0)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(time.Minute))
	posts, _ := f.expect(t, "below the threshold", 1, 0)
	fired := posts[0]
	if fired.channel != "C_ALERTS" {
		t.Errorf("posted to %q, want C_ALERTS", fired.channel)
	}
	if got, want := fired.msg.Text, "Warning · Low availability across all teams: 4 agents available (warning below 5)"; got != want {
		t.Errorf("notification text: got %q, want %q", got, want)
	}
	mustContain(t, "alert", fired.text(), "Warning · Low availability: all teams", "*4 agents* available across all teams",
		"below the warning threshold of *5*", "rule `all`", "Available: Bilal Khan, Chen Wei, Eva Silva, Farid Nair.", "Below since 10:01")
	if btn, ok := fired.button(); !ok || btn.ActionID != AckActionID || btn.Value != ackValue(TotalKey, at(time.Minute)) || btn.Label != "Acknowledge" {
		t.Errorf("button: got %+v, %v; want Acknowledge %s for %s's episode", btn, ok, AckActionID, TotalKey)
	}

	for _, d := range []time.Duration{2 * time.Minute, 15 * time.Minute, 30*time.Minute + 59*time.Second} {
		poll(t, a, at(d))
	}
	f.expect(t, "inside the repeat period", 0, 0)

	poll(t, a, at(31*time.Minute))
	// The repeat takes the button off the copy it supersedes.
	posts, _ = f.expect(t, "after the repeat period", 1, 1)
	repeat := posts[0]
	mustContain(t, "repeat", repeat.text(), "Still low availability: all teams", "*4 agents* available", "Below since 10:01 (30m)")

	poll(t, a, at(32*time.Minute))
	f.expect(t, "just after the repeat", 0, 0)

	f.force(t, presence.Available, "s1", "s4")
	poll(t, a, at(40*time.Minute))
	posts, updates := f.expect(t, "recovered", 1, 1)
	mustContain(t, "recovery", posts[0].text(), "Availability recovered", "*6 agents* available across all teams", "(resolves at 5)", "after 39m below")
	if updates[0].ts != repeat.ts {
		t.Errorf("updated message %s, want the last alert %s", updates[0].ts, repeat.ts)
	}
	mustContain(t, "updated alert", updates[0].text(), "Recovered at 10:40")
	if _, ok := updates[0].button(); ok {
		t.Errorf("the resolved alert still has its Acknowledge button")
	}

	poll(t, a, at(41*time.Minute))
	f.expect(t, "after the recovery", 0, 0)

	f.force(t, presence.Busy, "s1", "s2")
	poll(t, a, at(50*time.Minute))
	posts, _ = f.expect(t, "below again", 1, 0)
	mustContain(t, "new alert", posts[0].text(), "Low availability: all teams", "*4 agents*", "Below since 10:50")
	mustNotContain(t, "new alert", posts[0].text(), "Still")
}

func TestTeamThresholds(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Rules = []AvailabilityRule{allRule(0), teamRule("sales_team", 3), teamRule("support_team", 2)}
	a := f.alerter(t, nil, s)

	poll(t, a, at(0))
	f.expect(t, "every team at its threshold", 0, 0)

	f.force(t, presence.Busy, "s2")
	poll(t, a, at(time.Minute))
	posts, _ := f.expect(t, "sales below", 1, 0)
	if got, want := posts[0].msg.Text, "Warning · Low availability in Sales: 2 agents available (warning below 3)"; got != want {
		t.Errorf("notification text: got %q, want %q", got, want)
	}
	mustContain(t, "sales alert", posts[0].text(), "Low availability: Sales", "*2 agents* available in *Sales*",
		"warning threshold of *3*", "Available: Asha Rao, Chen Wei.", "rule `team:sales_team`", "alert_ack="+ackValue(TeamKey("sales_team"), at(time.Minute)))
	mustNotContain(t, "sales alert", posts[0].text(), "Eva Silva", "Support")

	f.force(t, presence.Offline, "p1", "p2")
	poll(t, a, at(2*time.Minute))
	posts, _ = f.expect(t, "support below too", 1, 0)
	mustContain(t, "support alert", posts[0].text(), "Low availability: Support", "*0 agents* available in *Support*", "Nobody is available.")

	f.force(t, presence.Available, "s2")
	poll(t, a, at(3*time.Minute))
	posts, updates := f.expect(t, "sales recovers, support still below", 1, 1)
	mustContain(t, "sales recovery", posts[0].text(), "Availability recovered", "in *Sales*")
	mustContain(t, "sales update", updates[0].text(), "Low availability: Sales", "Recovered at 10:03")
}

func TestRequestsPerPoll(t *testing.T) {
	big := ccmsim.GenerateRoster(1000, ccmsim.DefaultTeams(), monday10, 7) // about 350 available
	tests := []struct {
		name   string
		agents []presence.Agent
		teams  []AvailabilityRule
		want   int
	}{
		// Up to 100 available: one request gives every count.
		{"small floor, no teams", floor(), nil, 1},
		// Team counts come from the same page.
		{"small floor, two teams", floor(), []AvailabilityRule{teamRule("sales_team", 1), teamRule("support_team", 1)}, 1},
		// More than 100 available, no team rules: still one.
		{"1000 agents, no teams", big, nil, 1},
		// More than 100 available: one more per thresholded team.
		{"1000 agents, two teams", big, []AvailabilityRule{teamRule("sales_team", 1), teamRule("support_team", 1)}, 3},
		// Three teams, three more.
		{"1000 agents, three teams", big, []AvailabilityRule{teamRule("sales_team", 1), teamRule("support_team", 1), teamRule("billing_team", 1)}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.agents...)
			s := settings()
			s.Rules = append([]AvailabilityRule{allRule(0)}, tc.teams...)
			a := f.alerter(t, nil, s)
			f.sim.ResetStats()
			poll(t, a, at(0))
			if st := f.sim.Stats(); st.Total != tc.want || st.Lists != tc.want {
				t.Errorf("one poll made %d requests (%d lists), want %d", st.Total, st.Lists, tc.want)
			}
		})
	}
}

func TestTeamCountsAboveOnePage(t *testing.T) {
	f := newFixture(t, ccmsim.GenerateRoster(1000, ccmsim.DefaultTeams(), monday10, 7)...)
	want := 0
	for _, ag := range f.sim.Agents() {
		if ag.TeamID() == "billing_team" && ag.Status == presence.Available {
			want++
		}
	}
	s := settings()
	s.Rules = []AvailabilityRule{allRule(0), teamRule("billing_team", want+1)}
	a := f.alerter(t, nil, s)
	poll(t, a, at(0))
	posts, _ := f.expect(t, "billing one short", 1, 0)
	mustContain(t, "billing alert", posts[0].text(), "in *Billing*", message.Plural(want, "agent"), "more.")
}

func TestAPIDownNeverReportsZero(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())
	poll(t, a, at(0))

	f.sim.Inject(ccmsim.Fault{Code: 503})
	for i, d := range []time.Duration{time.Minute, 2 * time.Minute} {
		if err := a.Poll(context.Background(), at(d)); !errors.Is(err, presence.ErrServer) {
			t.Errorf("failed poll %d: got %v, want a server error for the job log", i+1, err)
		}
	}
	f.expect(t, "two failed polls", 0, 0)

	_ = a.Poll(context.Background(), at(3*time.Minute))
	posts, _ := f.expect(t, "third failed poll", 1, 0)
	notice := posts[0].text()
	mustContain(t, "notice", notice, "Presence data unavailable", "the last 3 polls failed", "since 10:01", "contact-center server error")
	mustNotContain(t, "notice", notice, "0 agents", "Nobody", "Low availability", "Bearer", f.sim.Token())

	for d := 4 * time.Minute; d <= 90*time.Minute; d += 7 * time.Minute {
		_ = a.Poll(context.Background(), at(d))
	}
	f.expect(t, "an hour and a half down", 0, 0)

	f.sim.ClearFaults()
	poll(t, a, at(91*time.Minute))
	posts, _ = f.expect(t, "data back", 1, 0)
	mustContain(t, "back", posts[0].text(), "Presence data is back", "after 1h 30m")

	poll(t, a, at(92*time.Minute))
	f.expect(t, "after the back notice", 0, 0)
}

func TestFiringAlertThroughAnOutage(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())
	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "fired", 1, 0)

	f.sim.Inject(ccmsim.Fault{Code: 500})
	for d := time.Minute; d <= 45*time.Minute; d += time.Minute {
		_ = a.Poll(context.Background(), at(d))
	}
	// One notice; no repeat and no recovery while nothing is known.
	posts, _ := f.expect(t, "45 minutes down while firing", 1, 0)
	mustContain(t, "notice", posts[0].text(), "Presence data unavailable")

	f.sim.ClearFaults()
	poll(t, a, at(46*time.Minute))
	posts, _ = f.expect(t, "back, still below", 2, 1) // the repeat supersedes the first copy
	mustContain(t, "back", posts[0].text(), "Presence data is back")
	mustContain(t, "repeat", posts[1].text(), "Still low availability", "Below since 10:00 (46m)")
}

func TestRestartWhileFiringDoesNotRepost(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, floor()...)
	newStore := func() state.Store {
		fs, err := state.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	first := f.alerter(t, newStore(), settings())
	f.force(t, presence.Offline, "s1")
	poll(t, first, at(0))
	posts, _ := f.expect(t, "fired before the restart", 1, 0)

	restarted := f.alerter(t, newStore(), settings())
	poll(t, restarted, at(time.Minute))
	poll(t, restarted, at(29*time.Minute))
	f.expect(t, "after the restart", 0, 0)

	poll(t, restarted, at(30*time.Minute))
	_, updates := f.expect(t, "the repeat period counts from before the restart", 1, 1)
	if updates[0].ts != posts[0].ts {
		t.Errorf("the repeat updated %s, want the copy posted before the restart %s", updates[0].ts, posts[0].ts)
	}

	f.force(t, presence.Available, "s1")
	again := f.alerter(t, newStore(), settings())
	poll(t, again, at(31*time.Minute))
	_, updates = f.expect(t, "recovery after another restart", 1, 1)
	if updates[0].ts == posts[0].ts {
		t.Errorf("updated the first alert %s, want the repeat posted after the restart", updates[0].ts)
	}
}

func TestFailedPostIsRetriedNotDuplicated(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	a := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")

	f.poster.setFail(true)
	if err := a.Poll(context.Background(), at(0)); !errors.Is(err, errPostFailed) {
		t.Fatalf("poll with a failing post: got %v, want the post error", err)
	}
	var st State
	if found, _ := store.Load(context.Background(), alertsStateKey, &st); found && st.Rules[TotalKey].Phase == PhaseFiring {
		t.Errorf("state saved as firing although the post failed: %+v", st)
	}

	f.poster.setFail(false)
	poll(t, a, at(time.Minute))
	posts, _ := f.expect(t, "next poll", 1, 0)
	mustContain(t, "retried alert", posts[0].text(), "Low availability", "Below since 10:01")
	poll(t, a, at(2*time.Minute))
	f.expect(t, "after the retried post", 0, 0)

	// The recovery, too, is retried until it is posted.
	f.force(t, presence.Available, "s1")
	f.poster.setFail(true)
	_ = a.Poll(context.Background(), at(3*time.Minute))
	f.poster.setFail(false)
	poll(t, a, at(4*time.Minute))
	f.expect(t, "retried recovery", 1, 1)
	poll(t, a, at(5*time.Minute))
	f.expect(t, "after the retried recovery", 0, 0)
}

func TestPendingForPeriod(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Rules[0].For = 5 * time.Minute
	a := f.alerter(t, nil, s)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	poll(t, a, at(4*time.Minute))
	f.expect(t, "below for 4m of 5m", 0, 0)

	f.force(t, presence.Available, "s1")
	poll(t, a, at(4*time.Minute+30*time.Second))
	f.expect(t, "recovered while pending", 0, 0)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(5*time.Minute))
	poll(t, a, at(9*time.Minute))
	f.expect(t, "below again: the For period starts over", 0, 0)

	poll(t, a, at(10*time.Minute))
	posts, _ := f.expect(t, "below for the whole For period", 1, 0)
	mustContain(t, "alert", posts[0].text(), "Below since 10:05 (5m)")
}

func TestActiveHours(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Rules[0].Active = officeHours
	a := f.alerter(t, nil, s)
	day := func(d, h, m int) time.Time { return time.Date(2025, 3, d, h, m, 0, 0, time.UTC) }

	f.force(t, presence.Offline, "s1", "s2", "s3", "p1", "p2")
	poll(t, a, day(3, 3, 0))
	poll(t, a, day(3, 7, 59))
	f.expect(t, "everyone offline before opening", 0, 0)

	poll(t, a, day(3, 8, 0))
	posts, _ := f.expect(t, "opening", 1, 0)
	mustContain(t, "alert", posts[0].text(), "*0 agents* available", "Below since 08:00")
	poll(t, a, day(3, 8, 30))
	posts, _ = f.expect(t, "repeat inside hours", 1, 1)

	poll(t, a, day(3, 20, 0))
	_, updates := f.expect(t, "closing", 0, 1)
	if updates[0].ts != posts[0].ts {
		t.Errorf("closed message %s, want the last alert %s", updates[0].ts, posts[0].ts)
	}
	mustContain(t, "closed alert", updates[0].text(), "Closed at 20:00: outside active hours")
	if _, ok := updates[0].button(); ok {
		t.Errorf("the closed alert still has its Acknowledge button")
	}

	for _, tm := range []time.Time{day(3, 20, 30), day(3, 23, 0), day(4, 3, 0), day(4, 7, 59)} {
		poll(t, a, tm)
	}
	f.expect(t, "overnight", 0, 0)

	poll(t, a, day(4, 8, 0))
	posts, _ = f.expect(t, "next opening", 1, 0)
	mustContain(t, "new alert", posts[0].text(), "Low availability", "Below since 08:00")
	mustNotContain(t, "new alert", posts[0].text(), "Still")
}

func TestAcknowledge(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())
	ctx := context.Background()

	if _, err := a.Acknowledge(ctx, ackValue(TotalKey, at(0)), "U1", at(0)); !errors.Is(err, ErrNotFiring) {
		t.Errorf("acknowledge before firing: got %v, want ErrNotFiring", err)
	}
	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)
	value := ackButton(t, posts[0])

	m, err := a.Acknowledge(ctx, value, "U123", at(2*time.Minute))
	if err != nil {
		t.Fatalf("Acknowledge: %v", err)
	}
	acked := sent{msg: m}
	if !m.ReplaceOriginal {
		t.Errorf("acknowledged message does not replace the original")
	}
	if _, ok := acked.button(); ok {
		t.Errorf("acknowledged message still has its button")
	}
	mustContain(t, "acknowledged", acked.text(), "Low availability: all teams", "Acknowledged by <@U123> at 10:02", "no repeats until it recovers")

	m, err = a.Acknowledge(ctx, value, "U999", at(3*time.Minute))
	if err != nil {
		t.Fatalf("second Acknowledge: %v", err)
	}
	mustContain(t, "acknowledged twice", sent{msg: m}.text(), "Acknowledged by <@U123> at 10:02")

	poll(t, a, at(30*time.Minute))
	poll(t, a, at(2*time.Hour))
	f.expect(t, "acknowledged, past the repeat period", 0, 0)

	f.force(t, presence.Available, "s1")
	poll(t, a, at(2*time.Hour+time.Minute))
	f.expect(t, "recovered after acknowledgement", 1, 1)

	if _, err := a.Acknowledge(ctx, value, "U1", at(3*time.Hour)); !errors.Is(err, ErrNotFiring) {
		t.Errorf("acknowledge after recovery: got %v, want ErrNotFiring", err)
	}
	if _, err := a.Acknowledge(ctx, ackValue("team:nope", at(0)), "U1", at(3*time.Hour)); !errors.Is(err, ErrNotFiring) {
		t.Errorf("acknowledge of an unknown key: got %v, want ErrNotFiring", err)
	}

	// A new episode is not acknowledged.
	f.force(t, presence.Offline, "s1")
	poll(t, a, at(4*time.Hour))
	posts, _ = f.expect(t, "new episode", 1, 0)
	if _, ok := posts[0].button(); !ok {
		t.Errorf("a new alert after an acknowledged one has no button")
	}
}

func TestCorruptStateStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alerts.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, floor()...)
	log, buf := newLogger()
	a := NewAlerter(f.client, f.poster, store, settings(), log)
	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "fired from empty state", 1, 0)
	mustContain(t, "log", buf.String(), "alert state is corrupt", "alerts.json")

	var st State
	if found, err := store.Load(context.Background(), alertsStateKey, &st); !found || err != nil {
		t.Errorf("state after the poll: found %v, err %v; want it repaired", found, err)
	}
}

func TestAlertEscapesAPIText(t *testing.T) {
	evil := presence.Team{ID: "t<1>", Name: "R&D <!channel>"}
	f := newFixture(t, agent("x1", "Bob <@U999> & Co", evil, presence.Available))
	s := settings()
	s.Rules = []AvailabilityRule{allRule(0), teamRule("t<1>", 2)}
	a := f.alerter(t, nil, s)
	poll(t, a, at(0))
	posts, _ := f.expect(t, "team alert", 1, 0)
	text := posts[0].text()
	mustContain(t, "alert", text, "Bob &lt;@U999&gt; &amp; Co", "R&amp;D &lt;!channel&gt;", "team:t&lt;1&gt;")
	mustNotContain(t, "alert", text, "<@U999>", "<!channel>")
	if btn, _ := posts[0].button(); btn.Value != ackValue("team:t<1>", at(0)) {
		t.Errorf("button value %q, want the raw key team:t<1> (a value is not shown)", btn.Value)
	}
}

func TestAlertMessageFitsWithManyAvailable(t *testing.T) {
	f := newFixture(t, ccmsim.GenerateRoster(5000, ccmsim.DefaultTeams(), monday10, 3)...)
	s := settings()
	s.Rules[0].Warning = 5000
	a := f.alerter(t, nil, s)
	poll(t, a, at(0))
	posts, _ := f.expect(t, "threshold above the roster", 1, 0)
	checkLimits(t, posts[0].msg)
	mustContain(t, "alert", posts[0].text(), "more.")
}

// checkLimits fails when m would not fit Slack's limits.
func checkLimits(t *testing.T, m message.Message) {
	t.Helper()
	if len(m.Blocks) > message.MaxBlocks {
		t.Errorf("%d blocks, want at most %d", len(m.Blocks), message.MaxBlocks)
	}
	if n := len([]rune(m.Text)); n > message.MaxMessageText {
		t.Errorf("text of %d characters, want at most %d", n, message.MaxMessageText)
	}
	for i, b := range m.Blocks {
		if n := len([]rune(b.Text)); n > message.MaxSectionText {
			t.Errorf("block %d has %d characters, want at most %d", i, n, message.MaxSectionText)
		}
		if b.Kind == message.Header && len([]rune(b.Text)) > message.MaxHeaderText {
			t.Errorf("header %q is longer than %d", b.Text, message.MaxHeaderText)
		}
	}
}

func TestCancelledPollIsNotAFailure(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.UnavailableAfter = 1
	a := f.alerter(t, nil, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Poll(ctx, at(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled poll: got %v, want context.Canceled", err)
	}
	f.expect(t, "cancelled poll", 0, 0)
	poll(t, a, at(time.Minute))
	f.expect(t, "next poll", 0, 0)
}

func TestFailedNoticeIsRetriedNotDuplicated(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, nil, settings())
	f.sim.Inject(ccmsim.Fault{Code: 503})
	_ = a.Poll(context.Background(), at(0))
	_ = a.Poll(context.Background(), at(time.Minute))
	f.poster.setFail(true)
	_ = a.Poll(context.Background(), at(2*time.Minute))
	f.poster.setFail(false)
	f.expect(t, "notice post failed", 0, 0)

	_ = a.Poll(context.Background(), at(3*time.Minute))
	posts, _ := f.expect(t, "notice retried", 1, 0)
	mustContain(t, "notice", posts[0].text(), "Presence data unavailable", "since 10:00")
	_ = a.Poll(context.Background(), at(4*time.Minute))
	f.expect(t, "after the notice", 0, 0)

	f.sim.ClearFaults()
	f.poster.setFail(true)
	_ = a.Poll(context.Background(), at(5*time.Minute))
	f.poster.setFail(false)
	poll(t, a, at(6*time.Minute))
	posts, _ = f.expect(t, "back notice retried", 1, 0)
	mustContain(t, "back", posts[0].text(), "Presence data is back")
	poll(t, a, at(7*time.Minute))
	f.expect(t, "after the back notice", 0, 0)
}

func TestAlertsOffWithoutChannel(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Channel = ""
	a := f.alerter(t, nil, s)
	f.force(t, presence.Offline, "s1", "s2", "s3")
	poll(t, a, at(0))
	f.expect(t, "without a channel", 0, 0)
	if n := f.sim.Stats().Total; n != 0 {
		t.Errorf("made %d requests without a channel, want none", n)
	}
}

// TestAcknowledgeOnAnotherReplicaSurvivesAPoll: replicas share the store;
// a poll that decided from a state read before the acknowledgement must
// not undo it.
func TestAcknowledgeOnAnotherReplicaSurvivesAPoll(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	polling := f.alerter(t, store, settings())
	clicked := f.alerter(t, store, settings())
	f.force(t, presence.Offline, "s1")
	poll(t, polling, at(0))
	posts, _ := f.expect(t, "fired", 1, 0)

	if _, err := clicked.Acknowledge(context.Background(), ackButton(t, posts[0]), "U123", at(time.Minute)); err != nil {
		t.Fatalf("Acknowledge on the other replica: %v", err)
	}
	// Past the repeat period: acknowledged, so no repeat, and still acked.
	poll(t, polling, at(31*time.Minute))
	f.expect(t, "acknowledged elsewhere", 0, 0)
	var st State
	if _, err := store.Load(context.Background(), alertsStateKey, &st); err != nil || !st.Rules[TotalKey].Acked {
		t.Errorf("state after the poll: %+v, %v; want the acknowledgement kept", st.Rules[TotalKey], err)
	}
	if lines := clicked.Firing(context.Background()); len(lines) != 1 || !strings.Contains(lines[0], "acknowledged by <@U123>") {
		t.Errorf("Firing = %q, want one line naming the acknowledgement", lines)
	}
}

// unreadableStore fails every read, as a Redis timeout would.
type unreadableStore struct{ state.Store }

func (unreadableStore) Load(context.Context, string, any) (bool, error) {
	return false, errors.New("i/o timeout")
}

func TestUnreadableStateSkipsThePoll(t *testing.T) {
	f := newFixture(t, floor()...)
	a := f.alerter(t, unreadableStore{state.NewMemoryStore()}, settings())
	f.force(t, presence.Offline, "s1")
	err := a.Poll(context.Background(), at(0))
	if err == nil || !strings.Contains(err.Error(), "i/o timeout") {
		t.Fatalf("Poll = %v, want the read error", err)
	}
	// A skipped tick, with its reason, for the scheduler's warning and metric.
	var skipped *schedule.SkippedError
	if !errors.As(err, &skipped) || skipped.Reason != schedule.SkipStoreUnavailable {
		t.Errorf("Poll = %#v, want a tick skipped for %s", err, schedule.SkipStoreUnavailable)
	}
	// Deciding from nothing could repeat what another replica posted.
	f.expect(t, "skipped", 0, 0)
}
