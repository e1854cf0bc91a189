package commands_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestPresenceOverview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	m := f.run(t, userJohn, "/presence", "")
	wantText(t, m,
		"Agent presence — 5 agents",
		"🟢 1 available · 📞 1 on-call · 📝 1 after-call work · ⛔ 1 busy · ⚪ 1 offline",
		"🟢 *Available (1)*\n• John Agent (`agent_001`) · Sales · 1h 35m",
		"📞 *On-call (1)*\n• Priya Sharma (`agent_003`) · Sales · 2m",
		"📝 *After-call work (1)*\n• Rohan Mehta (`agent_004`) · Support · 1m",
		"⛔ *Busy (1)*\n• Jane Support (`agent_002`) · Support · 20m",
		"⚪ *Offline (1)*\n• Jane Doe (`agent_005`) · Sales · 5h",
		"As of 09:00:00 UTC",
	)
	if m.Blocks[0].Kind != message.Header {
		t.Errorf("first block is kind %d, want a header", m.Blocks[0].Kind)
	}
	if !strings.HasPrefix(m.Text, "Agent presence — 5 agents: ") {
		t.Errorf("notification text = %q, want it to start with the title", m.Text)
	}
	if m.Visibility != message.Ephemeral {
		t.Errorf("visibility = %d, want ephemeral", m.Visibility)
	}
	if st := f.sim.Stats(); st.Lists != 1 || st.Gets != 0 {
		t.Errorf("API calls = %+v, want one roster fetch", st)
	}
}

// TestPresenceLongestFirst: within a status, who has been in it longest
// comes first.
func TestPresenceLongestFirst(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if err := f.sim.Force("agent_002", presence.Available); err != nil {
		t.Fatal(err)
	}
	got := allText(f.run(t, userJohn, "/presence", "available"))
	john, jane := strings.Index(got, "John Agent"), strings.Index(got, "Jane Support")
	if john < 0 || jane < 0 || john > jane {
		t.Errorf("got John at %d and Jane at %d, want John (95m) before Jane (0s):\n%s", john, jane, got)
	}
}

func TestPresenceByStatus(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		// Each status, as the API spells it.
		{"available", []string{"🟢 Available — 1 of 5 agents", "• John Agent (`agent_001`) · Sales · 1h 35m"}},
		{"on-call", []string{"📞 On-call — 1 of 5 agents", "• Priya Sharma (`agent_003`)"}},
		{"after-call-work", []string{"📝 After-call work — 1 of 5 agents", "• Rohan Mehta (`agent_004`)"}},
		{"busy", []string{"⛔ Busy — 1 of 5 agents", "• Jane Support (`agent_002`)"}},
		{"offline", []string{"⚪ Offline — 1 of 5 agents", "• Jane Doe (`agent_005`)"}},
		// Case and the summary's underscores do not matter.
		{"ON_CALL", []string{"📞 On-call — 1 of 5 agents"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/presence", tt.text)
			wantText(t, m, tt.want...)
			// Only the one agent in that status is listed.
			if n := strings.Count(allText(m), "• "); n != 1 {
				t.Errorf("listed %d agents, want 1", n)
			}
		})
	}

	t.Run("nobody", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		if err := f.sim.Force("agent_001", presence.Busy); err != nil {
			t.Fatal(err)
		}
		wantText(t, f.run(t, userJohn, "/presence", "available"), "🟢 Available — 0 of 5 agents", "Nobody is available right now.")
	})
}

func TestPresenceTeam(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
		never      []string
	}{
		// A team by its ID, grouped by status like the overview.
		{"by id", "team sales_team",
			[]string{"Team Sales (sales_team) — 3 agents", "🟢 1 available · 📞 1 on-call · 📝 0 after-call work · ⛔ 0 busy · ⚪ 1 offline",
				"John Agent", "Priya Sharma", "Jane Doe"},
			[]string{"Jane Support", "Rohan Mehta"}},
		// A team by its name, in any case.
		{"by name", "team SUPPORT",
			[]string{"Team Support (support_team) — 2 agents", "Jane Support", "Rohan Mehta"},
			[]string{"John Agent"}},
		// An unknown team lists the teams there are.
		{"unknown", "team nope",
			[]string{"There is no team `nope`. Teams: `sales_team` (Sales), `support_team` (Support)."}, nil},
		// No team named.
		{"missing id", "team", []string{"Name one team: `/presence team &lt;team_id&gt;`"}, nil},
		// Too many words.
		{"two ids", "team sales_team support_team", []string{"Name one team"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/presence", tt.text)
			wantText(t, m, tt.want...)
			notText(t, m, tt.never...)
		})
	}
}

func TestPresenceOneAgent(t *testing.T) {
	tests := []struct {
		name, text string
		wantGets   int
		want       []string
		never      []string
	}{
		// By ID, with the current call: direction, duration, masked number.
		{"id, on a call", "agent_003", 1,
			[]string{"Priya Sharma", "📞 *on-call* for 2m (since 08:58 UTC)", "📞 On a call: outbound, 2m so far, customer ••••3210",
				"*Agent ID*\n`agent_003`", "*Team*\nSales"},
			[]string{"+919876543210", "9876543210", "call_active_123"}},
		// The ID in another case.
		{"id, any case", "AGENT_003", 1, []string{"📞 *on-call*"}, nil},
		// By mention, as Slack sends it with should_escape.
		{"mention", "<@U0AGENT03|priya>", 1, []string{"Priya Sharma", "customer ••••3210"}, []string{"9876543210"}},
		// A mention of someone who is no agent.
		{"mention, unmapped", "<@U0NOBODY1>", 0, []string{"<@U0NOBODY1> is not mapped to a contact-center agent."}, nil},
		// By the only name that matches: the device and the day's figures.
		{"one name", "john", 1,
			[]string{"John Agent", "🟢 *available* for 1h 35m (since 07:25 UTC)", "*Device*\nsoftphone",
				"*Calls today*\n15", "*Average handle time*\n4m", "*Talk time today*\n1h"},
			[]string{"On a call"}},
		// Several words of one name.
		{"full name", "rohan mehta", 1, []string{"Rohan Mehta", "📝 *after-call work*"}, nil},
		// Several matches are listed for the person to pick.
		{"several names", "jane", 0,
			[]string{"2 agents match `jane`:", "• *Jane Support* (`agent_002`) ⛔ *busy*", "• *Jane Doe* (`agent_005`) ⚪ *offline*",
				"Ask again with the agent ID"}, nil},
		// Nothing matches.
		{"no match", "zzz", 0, []string{"No agent matches `zzz`. Try an agent ID, part of a name, or an @mention."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			m := f.run(t, userJohn, "/presence", tt.text)
			wantText(t, m, tt.want...)
			notText(t, m, tt.never...)
			if st := f.sim.Stats(); st.Gets != tt.wantGets || st.Puts != 0 {
				t.Errorf("API calls = %+v, want %d GETs and no PUT", st, tt.wantGets)
			}
		})
	}
}

// TestPresenceNameMatchesCapped: a name many agents share lists ten and
// counts the rest.
func TestPresenceNameMatchesCapped(t *testing.T) {
	agents := make([]presence.Agent, 15)
	for i := range agents {
		agents[i] = presence.Agent{ID: fmt.Sprintf("agent_%03d", i+1), Name: fmt.Sprintf("Sam Smith %d", i+1),
			Status: presence.Available, StatusSince: t0.Add(-time.Minute)}
	}
	f := newFixture(t, fixtureOptions{agents: agents})
	m := f.run(t, userJohn, "/presence", "smith")
	wantText(t, m, "15 agents match `smith`:", "_…and 5 more; add more of the name._")
	if n := strings.Count(allText(m), "\n• "); n != 10 {
		t.Errorf("listed %d agents, want 10", n)
	}
}

func TestPresenceAccess(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		openToAll bool
		text      string
		want      string
	}{
		// A mapped agent sees the floor.
		{"agent", userJohn, false, "", "Agent presence — 5 agents"},
		// A supervisor who is no agent does too.
		{"supervisor", userBoss, false, "", "Agent presence — 5 agents"},
		// A stranger is told why not and how to get in.
		{"stranger", userNobody, false, "", "`/presence` is for contact-center agents and supervisors"},
		// ...whatever they ask for.
		{"stranger, one agent", userNobody, false, "agent_001", "Ask an admin to add your Slack ID `U0NOBODY1`"},
		// Help is for everyone.
		{"stranger, help", userNobody, false, "help", "*/presence* — See who is where on the floor."},
		// With PRESENCE_OPEN_TO_ALL anyone may look.
		{"open to all", userNobody, true, "", "Agent presence — 5 agents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{openToAll: tt.openToAll})
			m := f.run(t, tt.user, "/presence", tt.text)
			wantText(t, m, tt.want)
			if m.Visibility != message.Ephemeral {
				t.Errorf("visibility = %d, want ephemeral", m.Visibility)
			}
		})
	}
}

func TestPresenceContactCenterDown(t *testing.T) {
	t.Run("last known roster, with its age", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		f.run(t, userJohn, "/presence", "")
		f.clock.Advance(90 * time.Second)
		f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 503})
		for text, who := range map[string]string{"": "John Agent", "busy": "Jane Support", "team sales_team": "Priya Sharma"} {
			m := f.run(t, userJohn, "/presence", text)
			wantText(t, m, "The contact center had a server error. This is the last known data, from 1m ago.", who)
		}
		if st := f.sim.Stats(); st.Lists != 4 {
			t.Errorf("roster fetches = %d, want 4 (each answer tried a fresh one)", st.Lists)
		}

		// Once it answers again, the note goes.
		f.sim.ClearFaults()
		m := f.run(t, userJohn, "/presence", "")
		notText(t, m, "last known")
		wantText(t, m, "As of 09:01:30 UTC")
	})

	t.Run("nothing known", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 500})
		m := f.run(t, userJohn, "/presence", "")
		wantText(t, m, "The contact center had a server error.")
		notText(t, m, "John Agent")
	})

	t.Run("timeout", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{clientOpts: []presence.Option{presence.WithAttemptTimeout(50 * time.Millisecond)}})
		f.sim.SetLatency(time.Second)
		wantText(t, f.run(t, userJohn, "/presence", ""), "The bot could not reach the contact center")
	})

	t.Run("one agent", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 500})
		wantText(t, f.run(t, userJohn, "/presence", "agent_003"), "The contact center had a server error.")
	})
}

// bigRoster is 5,000 agents; hostile, it has names and teams made of the
// characters escaping makes longest, to push every list to its limit.
func bigRoster(hostile bool) []presence.Agent {
	agents := ccmsim.GenerateRoster(5000, nil, t0, 7)
	if hostile {
		for i := range agents {
			agents[i].Name = strings.Repeat("&<", 60) + agents[i].Name
			agents[i].Team = &presence.Team{ID: agents[i].Team.ID, Name: strings.Repeat(">", 200)}
		}
	}
	return agents
}

// TestPresenceLimits: every form of /presence on a 5,000-agent floor fits
// one Slack message (checked in run) and summarises what it leaves out.
func TestPresenceLimits(t *testing.T) {
	for _, hostile := range []bool{false, true} {
		f := newFixture(t, fixtureOptions{agents: bigRoster(hostile)})
		tests := []struct {
			text string
			want string
		}{
			// The overview caps each status and points to its own list.
			{"", ": `/presence available`_"},
			// A status lists at most 100 and points to the team filter.
			{"available", "; narrow it with `/presence team &lt;team_id&gt;`_"},
			{"on-call", "more"},
			{"after-call-work", "more"},
			{"busy", "more"},
			{"offline", "more"},
			// A team is still over a thousand agents.
			{"team sales_team", ": `/presence on-call`_"},
			// An unknown team lists the teams.
			{"team nope", "Teams: `billing_team`"},
			// A name half the floor shares.
			{"a", "add more of the name"},
			// One agent.
			{"agent_0042", "*Agent ID*\n`agent_0042`"},
			// A mention of an agent this roster lacks.
			{"<@U0AGENT01>", "The contact center does not know agent `agent_001`."},
			// Help.
			{"help", "/presence help"},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("hostile=%v/%q", hostile, tt.text), func(t *testing.T) {
				m := f.run(t, userJohn, "/presence", tt.text)
				wantText(t, m, tt.want)
			})
		}
	}
}

// TestPresenceListCounts: on a big floor the overview still counts every
// agent, from the API's summary, and says how many it left out.
func TestPresenceListCounts(t *testing.T) {
	agents := bigRoster(false)
	var sum presence.Summary
	for _, a := range agents {
		sum.Add(a.Status)
	}
	f := newFixture(t, fixtureOptions{agents: agents})
	m := f.run(t, userJohn, "/presence", "")
	wantText(t, m, "Agent presence — 5,000 agents",
		fmt.Sprintf("🟢 %s available", message.Thousands(sum.Available)),
		fmt.Sprintf("🟢 *Available (%s)*", message.Thousands(sum.Available)),
		fmt.Sprintf("_…and %s more: `/presence available`_", message.Thousands(sum.Available-15)))

	m = f.run(t, userJohn, "/presence", "busy")
	wantText(t, m, fmt.Sprintf("⛔ Busy — %s of 5,000 agents", message.Thousands(sum.Busy)),
		fmt.Sprintf("_…and %s more;", message.Thousands(sum.Busy-100)))
	if n := strings.Count(allText(m), "• "); n != 100 {
		t.Errorf("listed %d agents, want 100", n)
	}
}

// TestEscaping: text from the API and from users reaches Slack escaped,
// so an agent named like a mention mentions no one.
func TestEscaping(t *testing.T) {
	const (
		evil        = "<!channel> & <@U123>"
		evilEscaped = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
	)
	agents := roster()
	agents[0].Name = evil
	for i := range agents {
		if agents[i].Team.ID == "sales_team" {
			agents[i].Team = &presence.Team{ID: "sales_team", Name: "<!here> Sales"}
		}
	}
	agents[0].Device = &presence.Device{Type: "<b>phone</b>"}
	agents[2].Name = "Priya <@U999> channel"
	agents[2].CurrentCall.Direction = "<!everyone>"

	tests := []struct {
		user, command, text string
		want                []string
	}{
		// The API's names, teams and device types in every /presence form.
		{userJohn, "/presence", "", []string{evilEscaped, "&lt;!here&gt; Sales"}},
		{userJohn, "/presence", "available", []string{evilEscaped}},
		{userJohn, "/presence", "team sales_team", []string{"Team &lt;!here&gt; Sales (sales_team)", evilEscaped}},
		{userJohn, "/presence", "agent_001", []string{evilEscaped, "&lt;b&gt;phone&lt;/b&gt;", "&lt;!here&gt; Sales"}},
		{userJohn, "/presence", "agent_003", []string{"&lt;!everyone&gt;"}},
		{userJohn, "/presence", "channel", []string{"match `channel`", evilEscaped, "Priya &lt;@U999&gt; channel"}},
		{userJohn, "/presence", "team nope", []string{"`sales_team` (&lt;!here&gt; Sales)"}},
		// A supervisor's answer names the agent.
		{userBoss, "/status", "busy <@U0AGENT01>", []string{"*" + evilEscaped + "* (`agent_001`) is now"}},
		// What users type comes back escaped.
		{userJohn, "/status", "<!channel>", []string{"`&lt;!channel&gt;`"}},
		{userJohn, "/status", "busy <!channel>", []string{"`&lt;!channel&gt;` is not a person"}},
		{userJohn, "/presence", "<!everyone> & co", []string{"No agent matches `&lt;!everyone&gt; &amp; co`"}},
		{userJohn, "/presence", "team <!here>", []string{"There is no team `&lt;!here&gt;`"}},
		{userJohn, "<!channel>", "", []string{"I don't know the command `&lt;!channel&gt;`"}},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+tt.text, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{agents: agents})
			m := f.run(t, tt.user, tt.command, tt.text) // run checks every text is escaped
			wantText(t, m, tt.want...)
			notText(t, m, "<!channel>", "<!here>", "<!everyone>", "<@U123>", "<@U999>")
		})
	}
}
