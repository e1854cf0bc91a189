package ccmsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// DefaultTeams are the demo's three teams, as the spec's examples name them.
func DefaultTeams() []presence.Team {
	return []presence.Team{
		{ID: "sales_team", Name: "Sales"},
		{ID: "support_team", Name: "Support"},
		{ID: "billing_team", Name: "Billing"},
	}
}

// GenerateRoster returns n agents with IDs agent_0001 … (wider when n needs
// it, so IDs sort in number order), realistic names and unique emails,
// spread over teams (DefaultTeams when empty), in a mix of statuses that
// began within a few hours before base. The same arguments give the same
// roster.
func GenerateRoster(n int, teams []presence.Team, base time.Time, seed int64) []presence.Agent {
	if len(teams) == 0 {
		teams = DefaultTeams()
	}
	firstNames := []string{
		"Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Meera", "Arjun", "Kavya",
		"Rahul", "Sneha", "Karan", "Divya", "Aditya", "Pooja", "Nikhil", "Isha",
		"Siddharth", "Neha", "Varun", "Riya", "Wei", "Mei", "Jun", "Siti",
		"Ahmad", "Nur", "Daniel", "Sarah", "James", "Emily", "Lucas", "Sofia",
		"Omar", "Fatima", "Kenji", "Yuki", "Marco", "Elena", "John", "Jane",
	}
	lastNames := []string{
		"Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Mehta",
		"Rao", "Menon", "Kumar", "Das", "Tan", "Lim", "Wong", "Ng",
		"Lee", "Chen", "Rahman", "Abdullah", "Smith", "Garcia", "Johnson", "Brown",
		"Rossi", "Silva", "Tanaka", "Sato", "Khan", "Fernandes",
	}
	rng := newRand(seed)
	width := max(4, len(strconv.Itoa(n)))
	n = max(n, 0)
	used := make(map[string]int, n)
	agents := make([]presence.Agent, 0, n)
	for i := range n {
		first := firstNames[rng.IntN(len(firstNames))]
		last := lastNames[rng.IntN(len(lastNames))]
		local := strings.ToLower(first + "." + last)
		used[local]++
		if k := used[local]; k > 1 {
			local += strconv.Itoa(k) // a second Priya Sharma gets priya.sharma2
		}
		team := teams[rng.IntN(len(teams))]
		a := presence.Agent{
			ID:    fmt.Sprintf("agent_%0*d", width, i+1),
			Name:  first + " " + last,
			Email: local + "@example.com",
			Team:  &team,
		}
		if rng.IntN(2) == 0 {
			a.Device = &presence.Device{Type: "softphone", ContactURI: "sip:" + a.Email}
		} else {
			a.Device = &presence.Device{Type: "phone", ContactURI: fmt.Sprintf("+9198%08d", rng.IntN(100_000_000))}
		}
		calls, aht := rng.IntN(41), 120+rng.IntN(301)
		a.Stats = &presence.Stats{CallsHandledToday: calls, AvgHandleTime: aht, TotalTalkTime: calls * aht}

		// Weights for a floor in mid-shift: most agents working, a few away.
		switch p := rng.IntN(100); {
		case p < 35:
			a.Status = presence.Available
		case p < 65:
			a.Status = presence.OnCall
		case p < 75:
			a.Status = presence.AfterCallWork
		case p < 85:
			a.Status = presence.Busy
		default:
			a.Status = presence.Offline
		}
		if a.Status == presence.OnCall {
			a.StatusSince = base.Add(-time.Duration(10+rng.IntN(900)) * time.Second)
			a.CurrentCall = &presence.Call{
				SID:            fmt.Sprintf("call_%016x", rng.Uint64()),
				Direction:      []string{"inbound", "outbound"}[rng.IntN(2)],
				CustomerNumber: fmt.Sprintf("+9199%08d", rng.IntN(100_000_000)),
			}
		} else {
			a.StatusSince = base.Add(-time.Duration(60+rng.IntN(4*3600)) * time.Second)
		}
		agents = append(agents, a)
	}
	return agents
}

// DemoRoster returns the local demo's 25 agents in the three DefaultTeams,
// in every status, with status times shortly before now.
func DemoRoster(now time.Time) []presence.Agent {
	teams := DefaultTeams()
	rows := []struct {
		name   string
		team   int // index into teams
		status presence.Status
		ago    time.Duration
	}{
		{"John Agent", 0, presence.Available, 95 * time.Minute},
		{"Jane Support", 1, presence.Available, 64 * time.Minute},
		{"Priya Sharma", 0, presence.OnCall, 4 * time.Minute},
		{"Rohan Mehta", 0, presence.Busy, 22 * time.Minute},
		{"Ananya Iyer", 1, presence.OnCall, 11 * time.Minute},
		{"Vikram Reddy", 1, presence.AfterCallWork, 2 * time.Minute},
		{"Meera Nair", 2, presence.Available, 37 * time.Minute},
		{"Arjun Gupta", 2, presence.Offline, 5 * time.Hour},
		{"Kavya Rao", 1, presence.Available, 8 * time.Minute},
		{"Rahul Singh", 0, presence.OnCall, 90 * time.Second},
		{"Sneha Menon", 1, presence.Busy, 15 * time.Minute},
		{"Karan Kumar", 0, presence.Available, 51 * time.Minute},
		{"Divya Das", 2, presence.OnCall, 7 * time.Minute},
		{"Wei Tan", 1, presence.Available, 3 * time.Minute},
		{"Siti Rahman", 1, presence.OnCall, 13 * time.Minute},
		{"Daniel Lim", 0, presence.Offline, 26 * time.Hour},
		{"Sarah Wong", 2, presence.Available, 44 * time.Minute},
		{"Omar Khan", 1, presence.AfterCallWork, 1 * time.Minute},
		{"Fatima Abdullah", 0, presence.Available, 19 * time.Minute},
		{"Kenji Tanaka", 1, presence.OnCall, 2 * time.Minute},
		{"Elena Rossi", 2, presence.Busy, 9 * time.Minute},
		{"Marco Silva", 0, presence.Available, 71 * time.Minute},
		{"Isha Patel", 1, presence.Offline, 3 * time.Hour},
		{"Lucas Garcia", 1, presence.OnCall, 6 * time.Minute},
		{"Nur Ng", 0, presence.Offline, 40 * time.Minute},
	}
	agents := make([]presence.Agent, len(rows))
	for i, r := range rows {
		n := i + 1
		team := teams[r.team]
		local := strings.ToLower(strings.ReplaceAll(r.name, " ", "."))
		a := presence.Agent{
			ID:          fmt.Sprintf("agent_%03d", n),
			Name:        r.name,
			Email:       local + "@example.com",
			Status:      r.status,
			StatusSince: now.Add(-r.ago),
			Team:        &team,
			Device:      &presence.Device{Type: "softphone", ContactURI: "sip:" + local + "@example.com"},
			// Varied but fixed figures, so demo screens look the same each run.
			Stats: &presence.Stats{CallsHandledToday: 3 + n*7%29, AvgHandleTime: 150 + n*37%200},
		}
		a.Stats.TotalTalkTime = a.Stats.CallsHandledToday * a.Stats.AvgHandleTime
		if n%3 == 0 {
			a.Device = &presence.Device{Type: "phone", ContactURI: fmt.Sprintf("+91987654%04d", n)}
		}
		if r.status == presence.OnCall {
			a.CurrentCall = &presence.Call{
				SID:            fmt.Sprintf("call_demo_%03d", n),
				Direction:      []string{"inbound", "outbound"}[n%2],
				CustomerNumber: fmt.Sprintf("+91991234%04d", n),
			}
		}
		agents[i] = a
	}
	return agents
}
