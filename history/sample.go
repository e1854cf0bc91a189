package history

import "github.com/presencebot/presence-bot/presence"

// SampleOf tallies a roster snapshot per team and for the floor (""): the
// one pass over the agents. Agents without a team count on the floor
// only; a status the bot does not know counts nowhere.
func SampleOf(s *presence.Snapshot) Sample {
	out := Sample{Teams: map[string]Counts{"": {}}, Names: make(map[string]string)}
	for a := range s.All() {
		id := a.TeamID()
		if id != "" {
			if _, ok := out.Names[id]; !ok {
				out.Names[id] = a.TeamName()
			}
			out.Teams[id] = tallied(out.Teams[id], a.Status)
		}
		out.Teams[""] = tallied(out.Teams[""], a.Status)
	}
	return out
}

func tallied(c Counts, st presence.Status) Counts {
	switch st {
	case presence.Available:
		c.Available++
	case presence.OnCall:
		c.OnCall++
	case presence.AfterCallWork:
		c.AfterCallWork++
	case presence.Busy:
		c.Busy++
	case presence.Offline:
		c.Offline++
	}
	return c
}
