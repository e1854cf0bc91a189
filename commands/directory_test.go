package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/agentmap"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// Slack users known only by their profile email.
const (
	userRohan    = "U0EMAIL01" // profile email matches agent_004's, in another case
	userStranger = "U0EMAIL02" // profile email matches no agent
	userImpostor = "U0EMAIL03" // profile email is agent_001's, whom the file gives to U0AGENT01
)

func emailFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, fixtureOptions{})
	f.emails.byID = map[string]string{
		userRohan:    " ROHAN.MEHTA@company.COM ",
		userStranger: "stranger@elsewhere.com",
		userImpostor: "john@company.com",
	}
	return f
}

func TestEmailFallback(t *testing.T) {
	t.Run("match, remembered", func(t *testing.T) {
		f := emailFixture(t)
		wantText(t, f.run(t, userRohan, "/status", ""), "*Your status:* 📝 *after-call work*")
		wantText(t, f.run(t, userRohan, "/status", "available"), "✅ You're now 🟢 *available*")
		if got := f.emails.Calls(); got != 1 {
			t.Errorf("profile lookups = %d, want 1 for two commands", got)
		}
		if got := f.status(t, "agent_004"); got != presence.Available {
			t.Errorf("agent_004 is %s, want available", got)
		}
		// A mention of them finds them too, without asking Slack again.
		wantText(t, f.run(t, userJohn, "/presence", "<@U0EMAIL01>"), "Rohan Mehta")
		if got := f.emails.Calls(); got != 1 {
			t.Errorf("profile lookups = %d, want still 1", got)
		}
	})

	t.Run("miss, remembered for a while", func(t *testing.T) {
		f := emailFixture(t)
		for range 2 {
			wantText(t, f.run(t, userStranger, "/status", "busy"), "I don't know which contact-center agent you are")
		}
		if got := f.emails.Calls(); got != 1 {
			t.Errorf("profile lookups = %d, want 1 for two commands", got)
		}
		// A fixed profile works again after a while.
		f.clock.Advance(6 * time.Minute)
		f.run(t, userStranger, "/status", "busy")
		if got := f.emails.Calls(); got != 2 {
			t.Errorf("profile lookups = %d, want 2 once the miss expired", got)
		}
		if st := f.sim.Stats(); st.Puts != 0 || st.Gets != 0 {
			t.Errorf("API calls = %+v, want no GET or PUT", st)
		}
	})

	t.Run("agent claimed in the file", func(t *testing.T) {
		f := emailFixture(t)
		wantText(t, f.run(t, userImpostor, "/status", "busy"), "I don't know which contact-center agent you are")
		if got := f.status(t, "agent_001"); got != presence.Available {
			t.Errorf("agent_001 is %s, want available (untouched)", got)
		}
	})

	t.Run("Slack failing", func(t *testing.T) {
		f := emailFixture(t)
		f.emails.err = errSlackDown
		for range 2 {
			wantText(t, f.run(t, userRohan, "/status", "busy"), "I couldn't look you up just now (Slack did not answer). Nothing was changed")
		}
		// A failure is not a miss: the next command asks again.
		if got := f.emails.Calls(); got != 2 {
			t.Errorf("profile lookups = %d, want 2", got)
		}
		if st := f.sim.Stats(); st.Puts != 0 {
			t.Errorf("PUTs = %d, want 0", st.Puts)
		}
	})

	t.Run("contact center failing", func(t *testing.T) {
		f := emailFixture(t)
		f.sim.Inject(ccmsim.Fault{Method: "GET", Code: 503})
		wantText(t, f.run(t, userRohan, "/status", "busy"), "I couldn't look you up just now (the contact center had a server error)")
	})

	t.Run("presence allowed", func(t *testing.T) {
		f := emailFixture(t)
		wantText(t, f.run(t, userRohan, "/presence", ""), "Agent presence — 5 agents")
		wantText(t, f.run(t, userStranger, "/presence", ""), "`/presence` is for contact-center agents and supervisors")
	})
}

func TestDirectory(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	mapping, err := agentmap.Parse([]byte(mappingYAML))
	if err != nil {
		t.Fatal(err)
	}
	em := &emails{byID: map[string]string{userRohan: "rohan.mehta@company.com"}}
	d := commands.NewDirectory(mapping, em, f.roster, f.clock.Now)
	ctx := context.Background()

	tests := []struct {
		name    string
		user    string
		want    string
		wantErr error
	}{
		// The file first.
		{"file", userJohn, "agent_001", nil},
		// Then the profile email.
		{"email", userRohan, "agent_004", nil},
		// Neither.
		{"unmapped", userNobody, "", commands.ErrUnmapped},
		// A supervisor who is not an agent.
		{"supervisor", userBoss, "", commands.ErrUnmapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.AgentFor(ctx, tt.user)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("AgentFor(%s) = %q, %v; want %q, %v", tt.user, got, err, tt.want, tt.wantErr)
			}
		})
	}

	// The way back, from agent to Slack user, knows what email taught.
	for agent, want := range map[string]string{"agent_001": userJohn, "agent_004": userRohan, "agent_005": ""} {
		if got, _ := d.SlackUserFor(agent); got != want {
			t.Errorf("SlackUserFor(%s) = %q, want %q", agent, got, want)
		}
	}
	if !d.IsSupervisor(userBoss) || d.IsSupervisor(userJohn) {
		t.Errorf("IsSupervisor: got %v for the supervisor and %v for an agent, want true and false",
			d.IsSupervisor(userBoss), d.IsSupervisor(userJohn))
	}

	// Without a file and without email, nobody is anyone.
	empty := commands.NewDirectory(nil, nil, f.roster, f.clock.Now)
	if _, err := empty.AgentFor(ctx, userJohn); !errors.Is(err, commands.ErrUnmapped) {
		t.Errorf("AgentFor with no sources: err = %v, want ErrUnmapped", err)
	}
}
