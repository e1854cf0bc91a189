package commands_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestStatusShowsCurrentAndNext(t *testing.T) {
	tests := []struct {
		name string
		from presence.Status // forced first; "" keeps the roster's
		want []string
	}{
		// The roster's own status, with its clock time and age.
		{"as listed", "", []string{"*Your status:* 🟢 *available* since 07:25 UTC (1h 35m)", "`/status busy` · `/status offline`"}},
		// Each status names exactly the moves the table allows.
		{"available", presence.Available, []string{"🟢 *available* since 09:00 UTC (0s)", "You can switch to: `/status busy` · `/status offline`"}},
		{"busy", presence.Busy, []string{"⛔ *busy*", "You can switch to: `/status available` · `/status offline`"}},
		{"after-call work", presence.AfterCallWork, []string{"📝 *after-call work*", "You can switch to: `/status available` · `/status offline`"}},
		{"offline", presence.Offline, []string{"⚪ *offline*", "You can switch to: `/status available`"}},
		// On a call nothing can be chosen: the contact center decides.
		{"on-call", presence.OnCall, []string{"📞 *on-call*", "the contact center manages your status until it ends"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			if tt.from != "" {
				if err := f.sim.Force("agent_001", tt.from); err != nil {
					t.Fatal(err)
				}
			}
			m := f.run(t, userJohn, "/status", "")
			wantText(t, m, tt.want...)
			if st := f.sim.Stats(); st.Gets != 1 || st.Puts != 0 || st.Lists != 0 {
				t.Errorf("API calls = %+v, want exactly one GET", st)
			}
			if got := f.auditLines(); len(got) != 0 {
				t.Errorf("audit lines = %q, want none for a read", got)
			}
		})
	}
}

// TestStatusEveryTransition runs /status X for X in available, busy,
// offline from each of the five statuses: the spec's table decides
// whether the PUT happens, and the answer says why not when it does not.
func TestStatusEveryTransition(t *testing.T) {
	tests := []struct {
		from, to presence.Status
		put      bool
		want     []string
	}{
		// offline → available is the only way out of offline.
		{presence.Offline, presence.Available, true, []string{"✅ You're now 🟢 *available* (was offline)"}},
		// offline → busy is not in the table: say what is allowed instead.
		{presence.Offline, presence.Busy, false, []string{"You can't go from ⚪ *offline* to ⛔ *busy*", "From offline you can switch to: `available`."}},
		// offline → offline changes nothing.
		{presence.Offline, presence.Offline, false, []string{"You're already ⚪ *offline*"}},
		// available → available changes nothing.
		{presence.Available, presence.Available, false, []string{"You're already 🟢 *available*"}},
		// available → busy is allowed.
		{presence.Available, presence.Busy, true, []string{"✅ You're now ⛔ *busy* (was available)"}},
		// available → offline is allowed.
		{presence.Available, presence.Offline, true, []string{"✅ You're now ⚪ *offline* (was available)"}},
		// busy → available is allowed.
		{presence.Busy, presence.Available, true, []string{"✅ You're now 🟢 *available* (was busy)"}},
		// busy → busy changes nothing.
		{presence.Busy, presence.Busy, false, []string{"You're already ⛔ *busy*"}},
		// busy → offline is allowed.
		{presence.Busy, presence.Offline, true, []string{"✅ You're now ⚪ *offline* (was busy)"}},
		// after-call work → available is allowed.
		{presence.AfterCallWork, presence.Available, true, []string{"✅ You're now 🟢 *available* (was after-call work)"}},
		// after-call work → busy is not in the table.
		{presence.AfterCallWork, presence.Busy, false, []string{"You can't go from 📝 *after-call work* to ⛔ *busy*", "you can switch to: `available` or `offline`."}},
		// after-call work → offline is allowed.
		{presence.AfterCallWork, presence.Offline, true, []string{"✅ You're now ⚪ *offline* (was after-call work)"}},
		// on-call → anything is the contact center's to decide.
		{presence.OnCall, presence.Available, false, []string{"You're on a call", "On-call is managed by the contact center"}},
		{presence.OnCall, presence.Busy, false, []string{"You're on a call", "On-call is managed by the contact center"}},
		{presence.OnCall, presence.Offline, false, []string{"You're on a call", "On-call is managed by the contact center"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"→"+string(tt.to), func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			if err := f.sim.Force("agent_001", tt.from); err != nil {
				t.Fatal(err)
			}
			m := f.run(t, userJohn, "/status", string(tt.to))
			wantText(t, m, tt.want...)

			wantPuts, wantStatus := 0, tt.from
			if tt.put {
				wantPuts, wantStatus = 1, tt.to
			}
			// A change costs exactly one GET (to check locally) and one PUT.
			if st := f.sim.Stats(); st.Gets != 1 || st.Puts != wantPuts || st.Lists != 0 {
				t.Errorf("API calls = %+v, want 1 GET and %d PUT", st, wantPuts)
			}
			if got := f.status(t, "agent_001"); got != wantStatus {
				t.Errorf("agent_001 is %s in the contact center, want %s", got, wantStatus)
			}
		})
	}
}

func TestStatusUsage(t *testing.T) {
	tests := []struct {
		name, text string
		want       string
	}{
		// on-call is never chosen by hand.
		{"on-call", "on-call", "*on-call* is set by the contact center"},
		// Nor is after-call work, however it is spelled.
		{"after-call-work", "after-call-work", "*after-call work* follows a call automatically"},
		{"after_call_work", "After_Call_Work", "*after-call work* follows a call automatically"},
		// An unknown word is named back, escaped.
		{"unknown word", "lunch", "I don't know the status `lunch`"},
		// More words than the command takes.
		{"extra words", "busy right now", "That is more than I understand."},
		// A second word that is not a mention.
		{"not a mention", "busy jane", "`jane` is not a person"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/status", tt.text)
			wantText(t, m, tt.want, "`/status available|busy|offline`")
			if st := f.sim.Stats(); st.Total != 0 {
				t.Errorf("API calls = %+v, want none", st)
			}
			if got := f.status(t, "agent_001"); got != presence.Available {
				t.Errorf("agent_001 is %s, want available (unchanged)", got)
			}
		})
	}
}

func TestStatusUnmappedUser(t *testing.T) {
	for _, text := range []string{"", "busy"} {
		t.Run("/status "+text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userNobody, "/status", text)
			wantText(t, m, "I don't know which contact-center agent you are",
				"Ask an admin to add your Slack ID `U0NOBODY1` to the agent mapping file",
				"Slack profile email")
			if st := f.sim.Stats(); st.Puts != 0 || st.Gets != 0 {
				t.Errorf("API calls = %+v, want no GET or PUT", st)
			}
		})
	}
}

func TestStatusSupervisor(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		text      string
		agent     string          // whose status to check afterwards
		want      presence.Status // their status afterwards
		wantPuts  int
		wantWords []string
	}{
		// A supervisor sets another agent's status, mentioned as Slack sends it.
		{"supervisor, mention with name", userBoss, "offline <@U0AGENT02|jane>", "agent_002", presence.Offline, 1,
			[]string{"✅ *Jane Support* (`agent_002`) is now ⚪ *offline* (was busy)."}},
		// A bare mention works as well.
		{"supervisor, bare mention", userBoss, "available <@U0AGENT02>", "agent_002", presence.Available, 1,
			[]string{"*Jane Support* (`agent_002`) is now 🟢 *available*"}},
		// The supervisor's answer speaks of the agent, not of "you".
		{"supervisor, invalid for them", userBoss, "busy <@U0AGENT02>", "agent_002", presence.Busy, 0,
			[]string{"*Jane Support* (`agent_002`) is already ⛔ *busy*."}},
		// On a call, not even a supervisor can choose.
		{"supervisor, agent on a call", userBoss, "available <@U0AGENT03>", "agent_003", presence.OnCall, 0,
			[]string{"*Priya Sharma* (`agent_003`) is on a call"}},
		// A mentioned person who is no agent.
		{"supervisor, target unmapped", userBoss, "busy <@U0NOBODY1>", "agent_002", presence.Busy, 0,
			[]string{"<@U0NOBODY1> is not mapped to a contact-center agent"}},
		// An agent may not act for someone else.
		{"agent refused", userJohn, "offline <@U0AGENT02|jane>", "agent_002", presence.Busy, 0,
			[]string{"Only supervisors can change someone else's status", "`/status offline`"}},
		// Mentioning yourself is just your own change.
		{"agent mentions self", userJohn, "busy <@U0AGENT01>", "agent_001", presence.Busy, 1,
			[]string{"✅ You're now ⛔ *busy*"}},
		// A supervisor who is no agent has no status of their own.
		{"supervisor's own status", userBoss, "busy", "agent_002", presence.Busy, 0,
			[]string{"I don't know which contact-center agent you are"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, tt.user, "/status", tt.text)
			wantText(t, m, tt.wantWords...)
			if st := f.sim.Stats(); st.Puts != tt.wantPuts {
				t.Errorf("PUTs = %d, want %d", st.Puts, tt.wantPuts)
			}
			if got := f.status(t, tt.agent); got != tt.want {
				t.Errorf("%s is %s, want %s", tt.agent, got, tt.want)
			}
		})
	}
}

func TestStatusAuditLine(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fixture)
		user  string
		text  string
		want  string // the audit line's tail; "" for no audit line
	}{
		// A change that went through.
		{"ok", nil, userJohn, "busy",
			"by=U0AGENT01 agent=agent_001 from=available to=busy result=ok"},
		// A change the table forbids.
		{"invalid", func(f *fixture) { f.sim.Force("agent_001", presence.Offline) }, userJohn, "busy",
			`by=U0AGENT01 agent=agent_001 from=offline to=busy result="refused: invalid transition"`},
		// A change while on a call.
		{"on a call", nil, userPriya, "busy",
			`by=U0AGENT03 agent=agent_003 from=on-call to=busy result="refused: on a call"`},
		// A change to the status one already has.
		{"already", nil, userJane, "busy",
			`by=U0AGENT02 agent=agent_002 from=busy to=busy result="no change: already in that status"`},
		// Someone the bot cannot map.
		{"unmapped", nil, userNobody, "busy",
			`by=U0NOBODY1 agent="" from="" to=busy result="refused: U0NOBODY1 is not mapped to an agent"`},
		// An agent acting for someone else.
		{"not a supervisor", nil, userJohn, "offline <@U0AGENT02>",
			`by=U0AGENT01 agent="" from="" to=offline result="refused: not a supervisor"`},
		// A supervisor acting for an agent.
		{"supervisor", nil, userBoss, "offline <@U0AGENT02|jane>",
			"by=U0SUPER01 agent=agent_002 from=busy to=offline result=ok"},
		// The contact center failing the read.
		{"API failure", func(f *fixture) { f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 500}) }, userJohn, "busy",
			`by=U0AGENT01 agent=agent_001 from="" to=busy result="failed: get agent agent_001: contact-center server error (HTTP 500)`},
		// A usage error is no attempt on any agent.
		{"usage", nil, userJohn, "lunch", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			if tt.setup != nil {
				tt.setup(f)
			}
			f.run(t, tt.user, "/status", tt.text)
			lines := f.auditLines()
			if tt.want == "" {
				if len(lines) != 0 {
					t.Fatalf("audit lines = %q, want none", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("got %d audit lines %q, want 1", len(lines), lines)
			}
			if !strings.Contains(lines[0], `msg="status change" audit=true `+tt.want) {
				t.Errorf("audit line = %q, want it to hold %q", lines[0], tt.want)
			}
		})
	}
}

func TestStatusContactCenterFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      *ccmsim.Fault
		latency    time.Duration
		gone       bool // agent_001 is not in the contact center
		wantPuts   int
		wantStatus presence.Status
		want       []string
	}{
		// A 500 on the read: nothing was sent, so nothing changed.
		{name: "read 500", fault: &ccmsim.Fault{Method: "GET", Code: 500}, wantStatus: presence.Available,
			want: []string{"The contact center had a server error.", "Nothing was changed"}},
		// A read that times out.
		{name: "read timeout", latency: time.Second, wantStatus: presence.Available,
			want: []string{"The bot could not reach the contact center", "Nothing was changed"}},
		// Bad credentials name the variable, never the value.
		{name: "read 401", fault: &ccmsim.Fault{Code: 401}, wantStatus: presence.Available,
			want: []string{"refused the bot's credentials", "`EXOTEL_ACCESS_TOKEN`", "Nothing was changed"}},
		// Rate limiting.
		{name: "read 429", fault: &ccmsim.Fault{Method: "GET", Code: 429}, wantStatus: presence.Available,
			want: []string{"rate-limiting the bot", "Nothing was changed"}},
		// An answer that is not JSON.
		{name: "read garbage", fault: &ccmsim.Fault{Method: "GET", Code: 200, Body: "{not json"}, wantStatus: presence.Available,
			want: []string{"could not read", "Nothing was changed"}},
		// The mapping names an agent the contact center does not have.
		{name: "agent gone", gone: true,
			want: []string{"The contact center does not know agent `agent_001`", "agent mapping file"}},
		// A 500 on the write that did not land: the answer must not claim
		// either outcome.
		{name: "write 500", fault: &ccmsim.Fault{Method: "PUT", Code: 500}, wantPuts: 1, wantStatus: presence.Available,
			want: []string{"The contact center had a server error.", "may not have been applied"}},
		// A 429 on the write: the API refused before acting.
		{name: "write 429", fault: &ccmsim.Fault{Method: "PUT", Code: 429}, wantPuts: 1, wantStatus: presence.Available,
			want: []string{"rate-limiting the bot", "Nothing was changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fixtureOptions{clientOpts: []presence.Option{presence.WithAttemptTimeout(50 * time.Millisecond)}}
			if tt.gone {
				o.agents = roster()[1:]
			}
			f := newFixture(t, o)
			if tt.fault != nil {
				f.sim.Inject(*tt.fault)
			}
			f.sim.SetLatency(tt.latency)
			m := f.run(t, userJohn, "/status", "busy")
			wantText(t, m, tt.want...)
			notText(t, m, "✅", secretToken)
			if st := f.sim.Stats(); st.Puts != tt.wantPuts {
				t.Errorf("PUTs = %d, want %d", st.Puts, tt.wantPuts)
			}
			if !tt.gone {
				if got := f.status(t, "agent_001"); got != tt.wantStatus {
					t.Errorf("agent_001 is %s, want %s", got, tt.wantStatus)
				}
			}
			if logs := f.logs.String(); strings.Contains(logs, secretToken) {
				t.Errorf("logs hold the access token:\n%s", logs)
			}
		})
	}
}

// TestStatusAmbiguousWrite: the PUT lands but its answer is a 500. The
// client checks, finds the change made, and the answer is a success.
func TestStatusAmbiguousWrite(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.sim.Inject(ccmsim.Fault{Method: "PUT", Code: 500, ApplyFirst: true, Times: 1})
	m := f.run(t, userJohn, "/status", "busy")
	wantText(t, m, "✅ You're now ⛔ *busy* (was available).")
	if got := f.status(t, "agent_001"); got != presence.Busy {
		t.Errorf("agent_001 is %s, want busy", got)
	}
	// One read to check, one write, one read to confirm.
	if st := f.sim.Stats(); st.Gets != 2 || st.Puts != 1 {
		t.Errorf("API calls = %+v, want 2 GETs and 1 PUT", st)
	}
	if lines := f.auditLines(); len(lines) != 1 || !strings.Contains(lines[0], "result=ok") {
		t.Errorf("audit lines = %q, want one with result=ok", lines)
	}
}

// TestStatusRace: the contact center refuses the PUT with its 400 because
// the status moved between the bot's read and its write. The answer
// explains from where the agent is now, and nothing is written.
func TestStatusRace(t *testing.T) {
	tests := []struct {
		name   string
		target presence.Status
		moveTo presence.Status // forced between the GET and the PUT, when set
		fault  bool            // the PUT gets a 400 whatever the table says
		want   []string
		never  string
	}{
		// A call started: the contact center manages the status now.
		{"call started", presence.Busy, presence.OnCall, false,
			[]string{"The status changed to 📞 *on-call* just now", "the contact center manages your status"}, "✅"},
		// Someone set offline, from where busy is not allowed.
		{"went offline", presence.Busy, presence.Offline, false,
			[]string{"The status changed to ⚪ *offline* just now", "You can't go from ⚪ *offline* to ⛔ *busy*", "`available`"}, "✅"},
		// Someone already made the very change: nothing to refuse.
		{"already there", presence.Busy, presence.Busy, false,
			[]string{"The status changed to ⛔ *busy* just now", "nothing more to do"}, "can't"},
		// The contact center refused, yet from the new status the change
		// is allowed: say it may be sent again.
		{"still allowed", presence.Offline, presence.Busy, true,
			[]string{"The status changed to ⛔ *busy* just now", "From there offline is allowed"}, "can't"},
		// A 400 with no visible change: refused, without contradicting
		// the list of allowed moves.
		{"bare 400", presence.Busy, "", true,
			[]string{"The contact center refused the change from 🟢 *available* to ⛔ *busy*", "Nothing was changed"}, "can't"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var moved atomic.Bool
			o := fixtureOptions{}
			if tt.moveTo != "" {
				o.wrap = func(sim *ccmsim.Sim) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.Method == http.MethodPut && moved.CompareAndSwap(false, true) {
							if err := sim.Force("agent_001", tt.moveTo); err != nil {
								t.Error(err)
							}
						}
						sim.ServeHTTP(w, r)
					})
				}
			}
			f := newFixture(t, o)
			if tt.fault {
				f.sim.Inject(ccmsim.Fault{Method: "PUT", Code: 400, Times: 1})
			}
			m := f.run(t, userJohn, "/status", string(tt.target))
			wantText(t, m, tt.want...)
			notText(t, m, tt.never)
			wantStatus := tt.moveTo
			if wantStatus == "" {
				wantStatus = presence.Available
			}
			if got := f.status(t, "agent_001"); got != wantStatus {
				t.Errorf("agent_001 is %s, want %s", got, wantStatus)
			}
			if st := f.sim.Stats(); st.Puts != 1 {
				t.Errorf("PUTs = %d, want 1", st.Puts)
			}
			if lines := f.auditLines(); len(lines) != 1 || !strings.Contains(lines[0], `result="refused by the contact center`) {
				t.Errorf("audit lines = %q, want one refused by the contact center", lines)
			}
		})
	}
}

// TestStatusChangeSeenByPresence: after a change, /presence shows it from
// the cached roster without fetching it again.
func TestStatusChangeSeenByPresence(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	before := f.run(t, userJohn, "/presence", "")
	wantText(t, before, "🟢 *Available (1)*\n• John Agent (`agent_001`) · Sales · 1h 35m")
	f.run(t, userJohn, "/status", "busy")
	after := f.run(t, userJohn, "/presence", "")
	wantText(t, after, "🟢 0 available", "⛔ 2 busy", "⛔ *Busy (2)*", "• John Agent (`agent_001`) · Sales · 0s")
	if st := f.sim.Stats(); st.Lists != 1 {
		t.Errorf("roster fetches = %d, want 1 (the cache follows the bot's own change)", st.Lists)
	}
}

// TestStatusRefusalsNameTheCause: each way the contact center can refuse
// or fail a change gets an answer naming that cause, never "not
// answering"; an unknown agent or a forbidden change is one PUT, without
// a confirming read.
func TestStatusRefusalsNameTheCause(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		text     string
		fault    ccmsim.Fault
		wantGets int
		want     []string
	}{
		// The mapping names an agent the contact center does not know.
		{"404 on the change", userJohn, "busy", ccmsim.Fault{Method: "PUT", Code: 404}, 1,
			[]string{"The contact center does not know agent `agent_001`", "An admin should check the agent mapping file", "Nothing was changed"}},
		// The token may not change this agent.
		{"403 on the change", userJohn, "busy", ccmsim.Fault{Method: "PUT", Code: 403}, 1,
			[]string{"The contact center does not allow the bot to change the status of agent `agent_001`", "Nothing was changed"}},
		// The same for a supervisor acting for someone else.
		{"403 for a supervisor", userBoss, "offline <@U0AGENT02|jane>", ccmsim.Fault{Method: "PUT", Code: 403}, 1,
			[]string{"does not allow the bot to change the status of agent `agent_002`"}},
		// A refused token is not an unknown agent.
		{"401 on the change", userJohn, "busy", ccmsim.Fault{Method: "PUT", Code: 401}, 1,
			[]string{"refused the bot's credentials", "`EXOTEL_ACCESS_TOKEN`", "Nothing was changed"}},
		// A server error, which may have landed: checked, then said so.
		{"500 on the change", userJohn, "busy", ccmsim.Fault{Method: "PUT", Code: 500}, 2,
			[]string{"The contact center had a server error.", "may not have been applied"}},
		// Rate limiting.
		{"429 on the change", userJohn, "busy", ccmsim.Fault{Method: "PUT", Code: 429}, 1,
			[]string{"rate-limiting the bot", "Nothing was changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			f.sim.Inject(tt.fault)
			m := f.run(t, tt.user, "/status", tt.text)
			wantText(t, m, tt.want...)
			notText(t, m, "✅", "not answering", secretToken)
			if st := f.sim.Stats(); st.Puts != 1 || st.Gets != tt.wantGets {
				t.Errorf("API calls = %+v, want 1 PUT and %d GET(s)", st, tt.wantGets)
			}
		})
	}

	// The agent's home tab says the same of a read.
	t.Run("home, 404 on the read", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 404})
		var text strings.Builder
		for _, b := range f.h.Home(context.Background(), userJohn) {
			text.WriteString(b.Text + "\n")
		}
		if got := text.String(); !strings.Contains(got, "The contact center does not know agent `agent_001`") {
			t.Errorf("home = %q, want it to name the unknown agent", got)
		}
	})
}
