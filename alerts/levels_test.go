package alerts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts/silence"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
	"github.com/presencebot/presence-bot/state"
)

// salesRule watches the sales team (3 of 4 available on the test floor):
// warning below 3, critical below 2, resolved at 4, pinging a supervisor
// and a user group on critical, in its own channel.
func salesRule() AvailabilityRule {
	return AvailabilityRule{Name: "sales-floor", Teams: []string{"sales_team"}, Warning: 3, Critical: 2, ResolveAt: 4,
		Repeat: 30 * time.Minute, Channel: "C_SALES", Mention: []string{"U0SUPER", "S0LEADS"}}
}

// buttons returns a message's buttons by label.
func buttons(s sent) map[string]message.Button {
	out := map[string]message.Button{}
	for _, bl := range s.msg.Blocks {
		for _, b := range bl.Buttons {
			out[b.Label] = b
		}
	}
	return out
}

// wantAlertButtons checks that an alert carries [Acknowledge] and
// [Snooze 1h], both naming its rule key and episode.
func wantAlertButtons(t *testing.T, what string, s sent, key string, fired time.Time) {
	t.Helper()
	b := buttons(s)
	ack, snooze := b["Acknowledge"], b["Snooze 1h"]
	if ack.ActionID != AckActionID || snooze.ActionID != SnoozeActionID || ack.Value != ackValue(key, fired) || snooze.Value != ack.Value {
		t.Errorf("%s: buttons %+v; want Acknowledge and Snooze 1h carrying %q", what, b, ackValue(key, fired))
	}
}

func (f *fixture) expectReplies(t *testing.T, when string, n int) []sent {
	t.Helper()
	r := f.poster.takeReplies()
	if len(r) != n {
		var texts []string
		for _, s := range r {
			texts = append(texts, s.text())
		}
		t.Fatalf("%s: got %d replies, want %d: %q", when, len(r), n, texts)
	}
	return r
}

// TestLevelMovesEditInPlaceAndPingOnce: one message per episode, edited
// as the level moves warning → critical → warning → critical; each rise
// to critical pings once, in the alert's thread; between warning and
// resolve_at nothing says "recovered"; the recovery is one post.
func TestLevelMovesEditInPlaceAndPingOnce(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
	a := f.alerter(t, nil, s)

	poll(t, a, at(0))
	f.expect(t, "3 available, at warning", 0, 0)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(time.Minute))
	posts, _ := f.expect(t, "2 available", 1, 0)
	alert := posts[0]
	if alert.channel != "C_SALES" {
		t.Errorf("posted to %s, want the rule's channel C_SALES", alert.channel)
	}
	if got, want := alert.msg.Text, "Warning · Low availability in Sales: 2 agents available (warning below 3)"; got != want {
		t.Errorf("notification text: got %q, want %q", got, want)
	}
	mustContain(t, "warning", alert.text(), "Warning · Low availability: Sales", "below the warning threshold of *3*",
		"rule `sales-floor`", "critical below 2", "resolves at 4")
	mustNotContain(t, "warning", alert.text(), "<@U0SUPER>", "subteam")
	wantAlertButtons(t, "warning", alert, "sales-floor", at(time.Minute))
	f.expectReplies(t, "warning", 0)

	f.force(t, presence.Offline, "s2")
	poll(t, a, at(2*time.Minute))
	_, updates := f.expect(t, "1 available: critical", 0, 1)
	if updates[0].channel != "C_SALES" || updates[0].ts != alert.ts {
		t.Errorf("edited %s/%s, want the alert %s/%s", updates[0].channel, updates[0].ts, alert.channel, alert.ts)
	}
	mustContain(t, "edited to critical", updates[0].text(), "Critical · Low availability: Sales", "*1 agent* available",
		"below the critical threshold of *2*")
	mustNotContain(t, "edited to critical", updates[0].text(), "Warning")
	wantAlertButtons(t, "edited to critical", updates[0], "sales-floor", at(time.Minute))
	replies := f.expectReplies(t, "rise to critical", 1)
	if replies[0].channel != "C_SALES" || replies[0].ts != alert.ts {
		t.Errorf("replied in %s/%s, want the alert's thread %s/%s", replies[0].channel, replies[0].ts, alert.channel, alert.ts)
	}
	mustContain(t, "ping", replies[0].text(), "<@U0SUPER> <!subteam^S0LEADS>", "now *critical* in Sales", "Rule `sales-floor`")

	poll(t, a, at(3*time.Minute))
	poll(t, a, at(4*time.Minute))
	f.expect(t, "still critical", 0, 0)
	f.expectReplies(t, "still critical", 0)

	f.force(t, presence.Available, "s2")
	poll(t, a, at(5*time.Minute))
	_, updates = f.expect(t, "back to warning", 0, 1)
	mustContain(t, "edited to warning", updates[0].text(), "Warning · Low availability: Sales", "*2 agents*")
	f.expectReplies(t, "back to warning", 0)

	f.force(t, presence.Offline, "s2")
	poll(t, a, at(6*time.Minute))
	f.expect(t, "critical again", 0, 1)
	// A count flapping around the critical threshold is edited in, but
	// pings again only a Repeat period after the last ping.
	f.expectReplies(t, "a second rise within the repeat period", 0)

	// 3 available: at warning, below resolve_at 4. Firing, at warning.
	f.force(t, presence.Available, "s1", "s2")
	poll(t, a, at(7*time.Minute))
	_, updates = f.expect(t, "in the hysteresis band", 0, 1)
	mustContain(t, "band", updates[0].text(), "Warning", "*3 agents* available in *Sales*: not yet back to *4*")
	mustNotContain(t, "band", updates[0].text(), "ecovered", "resolved")
	poll(t, a, at(8*time.Minute))
	f.expect(t, "still in the band", 0, 0)

	f.force(t, presence.Available, "s4")
	poll(t, a, at(9*time.Minute))
	posts, updates = f.expect(t, "resolved at 4", 1, 1)
	if posts[0].channel != "C_SALES" {
		t.Errorf("recovery in %s, want C_SALES", posts[0].channel)
	}
	mustContain(t, "recovery", posts[0].text(), "Availability recovered", "*4 agents* available in *Sales* (resolves at 4)")
	mustContain(t, "closed alert", updates[0].text(), "Recovered at 10:09")
	if len(buttons(updates[0])) != 0 {
		t.Errorf("the resolved alert keeps buttons: %q", updates[0].text())
	}
}

// TestRulesPostToTheirOwnChannels: each rule posts in its channel (the
// default when it names none); a rule on several teams counts their sum;
// the data notices go once to each distinct channel.
func TestRulesPostToTheirOwnChannels(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	s.Rules = []AvailabilityRule{
		allRule(6), // 5 available: in the default channel
		{Name: "sales", Teams: []string{"sales_team"}, Warning: 4, Channel: "C_SALES"},
		{Name: "support", Teams: []string{"support_team"}, Warning: 3, Channel: "C_SUPPORT"},
		{Name: "both", Teams: []string{"sales_team", "support_team"}, Warning: 6, Channel: "C_SALES"},
	}
	a := f.alerter(t, nil, s)
	poll(t, a, at(0))
	posts, _ := f.expect(t, "every rule below", 4, 0)
	got := map[string]string{}
	for _, p := range posts {
		got[p.channel] += p.msg.Text + "\n"
	}
	mustContain(t, "C_ALERTS", got["C_ALERTS"], "across all teams: 5 agents available (warning below 6)")
	mustContain(t, "C_SALES", got["C_SALES"], "in Sales: 3 agents available (warning below 4)",
		"in Sales + Support: 5 agents available (warning below 6)")
	mustContain(t, "C_SUPPORT", got["C_SUPPORT"], "in Support: 2 agents available (warning below 3)")
	if len(got) != 3 {
		t.Errorf("posted in %d channels, want 3: %v", len(got), got)
	}

	f.sim.Inject(ccmsim.Fault{Code: 503})
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute} {
		_ = a.Poll(context.Background(), at(d))
	}
	posts, _ = f.expect(t, "data unavailable", 3, 0)
	wantChannels(t, "unavailable notice", posts, "C_ALERTS", "C_SALES", "C_SUPPORT")
	for _, p := range posts {
		mustContain(t, "notice", p.text(), "Presence data unavailable")
	}
	f.sim.ClearFaults()
	poll(t, a, at(5*time.Minute))
	posts, _ = f.expect(t, "data back", 3, 0)
	wantChannels(t, "back notice", posts, "C_ALERTS", "C_SALES", "C_SUPPORT")
}

func wantChannels(t *testing.T, what string, posts []sent, want ...string) {
	t.Helper()
	var got []string
	for _, p := range posts {
		got = append(got, p.channel)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: posted in %v, want once in each of %v", what, got, want)
	}
}

// TestSnoozeStopsRepeatsAndPingsForAnHour: the [Snooze 1h] click returns
// the alert as it now reads; while snoozed, a rise to critical is edited
// but pings nobody and nothing repeats; when the snooze ends the repeat
// comes, with the ping owed in it.
func TestSnoozeStopsRepeatsAndPingsForAnHour(t *testing.T) {
	f := newFixture(t, floor()...)
	store := &failingStore{Store: state.NewMemoryStore()}
	s := settings()
	s.Rules[0].Critical, s.Rules[0].Mention = 4, []string{"U0SUPER"}
	a := f.alerter(t, store, s)
	ctx := context.Background()

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	posts, _ := f.expect(t, "warning", 1, 0)
	value := buttons(posts[0])["Snooze 1h"].Value

	m, err := a.Snooze(ctx, value, "U123", at(5*time.Minute))
	if err != nil {
		t.Fatalf("Snooze: %v", err)
	}
	snoozed := sent{msg: m}
	if !m.ReplaceOriginal {
		t.Errorf("the snoozed alert does not replace the clicked message")
	}
	mustContain(t, "snoozed", snoozed.text(), "Warning · Low availability: all teams", "Snoozed until 11:05 by <@U123>")
	wantAlertButtons(t, "snoozed", snoozed, TotalKey, at(0))
	if st := storedState(t, store).Rules[TotalKey]; !st.SnoozedUntil.Equal(at(65*time.Minute)) || st.SnoozedBy != "U123" {
		t.Errorf("stored %+v, want snoozed until 11:05 by U123", st)
	}

	f.force(t, presence.Offline, "s2")
	poll(t, a, at(10*time.Minute))
	_, updates := f.expect(t, "critical while snoozed: edited", 0, 1)
	mustContain(t, "edited", updates[0].text(), "Critical", "Snoozed until 11:05")
	f.expectReplies(t, "critical while snoozed: no ping", 0)
	poll(t, a, at(31*time.Minute))
	poll(t, a, at(64*time.Minute))
	f.expect(t, "past the repeat period, snoozed", 0, 0)

	poll(t, a, at(65*time.Minute))
	posts, _ = f.expect(t, "the snooze is over: the repeat", 1, 1)
	mustContain(t, "repeat", posts[0].text(), "Critical · Still low availability: all teams", "<@U0SUPER>")
	f.expectReplies(t, "the ping is in the repeat", 0)
	poll(t, a, at(66*time.Minute))
	f.expect(t, "after the repeat", 0, 0)

	// A button from another episode, and store trouble, change nothing.
	var over *EpisodeOverError
	if _, err := a.Snooze(ctx, ackValue(TotalKey, at(-time.Hour)), "U1", at(67*time.Minute)); !errors.As(err, &over) || over.Op != "snooze" {
		t.Errorf("snooze from another episode: got %v, want an EpisodeOverError for a snooze", err)
	}
	store.setFailSave(true)
	_, err = a.Snooze(ctx, value, "U1", at(68*time.Minute))
	store.setFailSave(false)
	if !errors.Is(err, ErrStateUnavailable) {
		t.Errorf("snooze during store trouble: got %v, want ErrStateUnavailable", err)
	}
	if st := storedState(t, store).Rules[TotalKey]; !st.SnoozedUntil.Equal(at(65 * time.Minute)) {
		t.Errorf("snoozed until %s after refused clicks, want 11:05", st.SnoozedUntil)
	}
}

// TestSilenceHoldsBackAndTheEndNoteSaysWhat: a silence on a team holds
// back every post of the rule on it (the state moves as if posted) while
// another rule posts as usual; when it runs out, one note in the rule's
// channel lists what it held back, once.
func TestSilenceHoldsBackAndTheEndNoteSaysWhat(t *testing.T) {
	f := newFixture(t, floor()...)
	mem := state.NewMemoryStore()
	silences := silence.New(mem, nil)
	store := state.NewMemoryStore()
	s := settings()
	s.Rules = []AvailabilityRule{salesRule(), allRule(4)}
	s.Silences = silences
	a := f.alerter(t, store, s)
	ctx := context.Background()
	if _, err := silences.Add(ctx, "sales_team", time.Hour, "U0BOSS", "training", at(0)); err != nil {
		t.Fatal(err)
	}

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "sales below, silenced", 0, 0)
	if st := storedState(t, store).Rules["sales-floor"]; st.Phase != PhaseFiring || !st.FiredAt.Equal(at(0)) {
		t.Errorf("stored %+v, want firing since 10:00 as if posted", st)
	}

	f.force(t, presence.Offline, "s2")
	poll(t, a, at(5*time.Minute))
	posts, _ := f.expect(t, "critical, silenced; the all-agents rule is not", 1, 0)
	mustContain(t, "all-agents alert", posts[0].text(), "across all teams")
	f.expectReplies(t, "ping held back", 0)

	poll(t, a, at(30*time.Minute))
	f.expect(t, "sales repeat held back", 0, 0)

	f.force(t, presence.Available, "s1", "s2", "s4")
	poll(t, a, at(40*time.Minute))
	posts, _ = f.expect(t, "sales recovery held back; all-agents recovery posted", 1, 1)
	if posts[0].channel != "C_ALERTS" {
		t.Errorf("posted in %s during the silence, want only C_ALERTS", posts[0].channel)
	}

	poll(t, a, at(59*time.Minute))
	f.expect(t, "still silenced", 0, 0)
	poll(t, a, at(61*time.Minute))
	posts, _ = f.expect(t, "the silence ran out", 1, 0)
	note := posts[0]
	if note.channel != "C_SALES" {
		t.Errorf("end note in %s, want the rule's channel C_SALES", note.channel)
	}
	mustContain(t, "end note", note.text(), "Silence on `sales_team` ended (ran out)", "it held back 4 messages:",
		"• warning: 2 available in Sales (below 3) at 10:00",
		"• critical (ping held back): 1 available in Sales (below 2) at 10:05",
		"• critical (repeat): 1 available in Sales (below 2) at 10:30",
		"• recovered: 4 available in Sales at 10:40")
	poll(t, a, at(62*time.Minute))
	f.expect(t, "the end is announced once", 0, 0)
}

// TestSilenceEndedEarlyAndUnreadableSilences: a silence ended by a
// supervisor says by whom; silences that cannot be read are ignored (the
// alert posts) with a warning.
func TestSilenceEndedEarlyAndUnreadableSilences(t *testing.T) {
	f := newFixture(t, floor()...)
	silences := silence.New(state.NewMemoryStore(), nil)
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
	s.Silences = silences
	log, logs := newLogger()
	a := NewAlerter(f.client, f.poster, state.NewMemoryStore(), s, log)
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
	mustContain(t, "end note", posts[0].text(), "Silence on `sales-floor` ended (ended by <@U0LEAD>)", "it held back nothing")

	broken := s
	broken.Silences = brokenSilences{silences}
	b := NewAlerter(f.client, f.poster, state.NewMemoryStore(), broken, log)
	if _, err := silences.Add(ctx, "sales-floor", time.Hour, "U0BOSS", "", at(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.force(t, presence.Offline, "s1")
	poll(t, b, at(5*time.Minute))
	f.expect(t, "silences unreadable: fail open", 1, 0)
	mustContain(t, "log", logs.String(), "could not read the silences; alerting as if nothing were silenced")
}

// brokenSilences cannot be read.
type brokenSilences struct{ Silences }

func (brokenSilences) Active(context.Context, time.Time) ([]silence.Silence, error) {
	return nil, errors.New("i/o timeout")
}

// TestRestartMidEpisodeChangesNothing: a new alerter over the stored
// state of a critical, pinged episode posts, edits and pings nothing;
// the repeat comes at its time, without a second ping.
func TestRestartMidEpisodeChangesNothing(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, floor()...)
	newStore := func() state.Store {
		fs, err := state.NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
	first := f.alerter(t, newStore(), s)
	f.force(t, presence.Offline, "s1")
	poll(t, first, at(0))
	f.force(t, presence.Offline, "s2")
	poll(t, first, at(time.Minute))
	posts, _ := f.expect(t, "before the restart", 1, 1)
	f.expectReplies(t, "before the restart", 1)

	restarted := f.alerter(t, newStore(), s)
	for _, d := range []time.Duration{2 * time.Minute, 10 * time.Minute, 29 * time.Minute} {
		poll(t, restarted, at(d))
	}
	f.expect(t, "after the restart", 0, 0)
	f.expectReplies(t, "after the restart", 0)
	if lines := restarted.Firing(context.Background()); len(lines) != 1 || !strings.Contains(lines[0], "Critical") {
		t.Errorf("Firing = %q, want the critical alert", lines)
	}

	poll(t, restarted, at(30*time.Minute))
	repost, updates := f.expect(t, "the repeat", 1, 1)
	if updates[0].ts != posts[0].ts {
		t.Errorf("the repeat superseded %s, want the alert posted before the restart %s", updates[0].ts, posts[0].ts)
	}
	mustContain(t, "repeat", repost[0].text(), "Critical · Still low availability: Sales")
	mustNotContain(t, "repeat", repost[0].text(), "<@U0SUPER>")
}

// TestNobodyLoggedIn: a team with everyone offline is "no agents logged
// in" (asked of the contact center with one more request), at critical
// inside active hours with the ping in the alert; at closing it ends
// quietly, and overnight nothing is said.
func TestNobodyLoggedIn(t *testing.T) {
	f := newFixture(t, floor()...)
	s := settings()
	r := salesRule()
	r.Active = officeHours
	s.Rules = []AvailabilityRule{r}
	a := f.alerter(t, nil, s)
	day := func(h, m int) time.Time { return time.Date(2025, 3, 3, h, m, 0, 0, time.UTC) }

	f.force(t, presence.Offline, "s1", "s2", "s3")
	f.sim.ResetStats()
	poll(t, a, day(10, 0))
	if st := f.sim.Stats(); st.Lists != 2 {
		t.Errorf("%d lists, want 2: the available agents, then the team's summary", st.Lists)
	}
	posts, _ := f.expect(t, "nobody logged in", 1, 0)
	if got, want := posts[0].msg.Text, "Critical · No agents logged in: Sales (critical below 2 available) <@U0SUPER> <!subteam^S0LEADS>"; got != want {
		t.Errorf("notification text: got %q, want %q", got, want)
	}
	mustContain(t, "alert", posts[0].text(), "Critical · No agents logged in: Sales", "*No agents logged in* for *Sales* (critical below 2 available).")
	mustNotContain(t, "alert", posts[0].text(), "0 agents", "Nobody is available")
	f.expectReplies(t, "the ping is in the alert", 0)

	// Someone logs in, busy: 0 available is now what the message says.
	f.force(t, presence.Busy, "s1")
	poll(t, a, day(10, 1))
	_, updates := f.expect(t, "logged in, none available", 0, 1)
	mustContain(t, "edited", updates[0].text(), "Critical · Low availability: Sales", "*0 agents* available")
	f.expectReplies(t, "still critical: no second ping", 0)

	f.force(t, presence.Offline, "s1")
	poll(t, a, day(20, 0))
	_, updates = f.expect(t, "closing", 0, 1)
	mustContain(t, "closed", updates[0].text(), "Closed at 20:00: outside active hours")
	for _, tm := range []time.Time{day(20, 30), day(23, 0)} {
		poll(t, a, tm)
	}
	f.expect(t, "overnight", 0, 0)
}

// TestSilenceEndNoteReachesWatchedRules: a silence on a rule the alerter
// does not evaluate (a time-in-status rule, run by the nudger) ends with
// its note in that rule's channel, once.
func TestSilenceEndNoteReachesWatchedRules(t *testing.T) {
	f := newFixture(t, floor()...)
	silences := silence.New(state.NewMemoryStore(), nil)
	s := settings()
	s.Rules = []AvailabilityRule{salesRule()}
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
	f.expect(t, "silenced, nothing due", 0, 0)
	poll(t, a, at(61*time.Minute))
	posts, _ := f.expect(t, "the silence ran out", 1, 0)
	if posts[0].channel != "C_SUPPORT" {
		t.Errorf("end note in %s, want the watched rule's channel C_SUPPORT", posts[0].channel)
	}
	mustContain(t, "end note", posts[0].text(), "Silence on `long-wrap-up` ended", "DM for Asha Rao")
}

// TestEditSavedWithTheDecisionAndUndoneWhenItFails: the message's new
// level is saved with the decision (a click answered before the edit
// lands shows the new level, not the old), and put back when the edit
// fails, so the next poll makes the edit again.
func TestEditSavedWithTheDecisionAndUndoneWhenItFails(t *testing.T) {
	f := newFixture(t, floor()...)
	store := state.NewMemoryStore()
	s := settings()
	r := salesRule()
	r.Mention = nil
	s.Rules = []AvailabilityRule{r}
	a := f.alerter(t, store, s)

	f.force(t, presence.Offline, "s1")
	poll(t, a, at(0))
	f.expect(t, "warning", 1, 0)

	// The click lands while the edit to critical is on its way: it reads
	// what was saved with the decision.
	f.force(t, presence.Offline, "s2")
	f.poster.setFail(true)
	poll(t, a, at(time.Minute))
	f.poster.setFail(false)
	f.expect(t, "the edit failed", 0, 0)
	if st := storedState(t, store).Rules["sales-floor"]; st.Level != LevelCritical || st.Posted.level() != LevelWarning {
		t.Fatalf("after a failed edit: level %q, message %q; want critical, the message still warning", st.Level, st.Posted.level())
	}
	poll(t, a, at(2*time.Minute))
	_, updates := f.expect(t, "the edit made again", 0, 1)
	mustContain(t, "edited to critical", updates[0].text(), "Critical · Low availability: Sales")
	if st := storedState(t, store).Rules["sales-floor"]; st.Posted.level() != LevelCritical {
		t.Errorf("after the edit: message %q, want critical", st.Posted.level())
	}
}
