package alerts

import (
	"cmp"
	"slices"
	"strings"

	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/presence"
)

// tally counts one scope's agents in a poll.
type tally struct {
	available int
	// loggedIn counts the agents not offline; negative when not known.
	loggedIn int
	team     string   // display name; "" for all agents
	names    []string // available agents' names, unsorted (from a list: those it showed)
	// summary counts the scope per status, when a list of it told
	// (lists count their team, or the floor, whatever the status filter).
	summary *presence.Summary
}

// reading is one poll's data: the whole floor, and each team by ID.
type reading struct {
	all   tally
	teams map[string]*tally
	// snap is the snapshot counted, when the poll read one.
	snap *presence.Snapshot
}

// countSnapshot counts a whole roster once, in all and per team: one pass
// over the agents, whatever the number of rules.
func countSnapshot(s *presence.Snapshot) reading {
	rd := reading{teams: make(map[string]*tally)}
	for ag := range s.All() {
		id := ag.TeamID()
		t := rd.teams[id]
		if t == nil {
			t = &tally{team: cmp.Or(ag.TeamName(), id)}
			rd.teams[id] = t
		}
		if ag.Status == presence.Offline {
			continue
		}
		rd.all.loggedIn++
		t.loggedIn++
		if ag.Status != presence.Available {
			continue
		}
		name := cmp.Or(ag.Name, ag.ID)
		rd.all.available++
		rd.all.names = append(rd.all.names, name)
		t.available++
		t.names = append(t.names, name)
	}
	return rd
}

// sample is what a reading from lists tells the history: the floor's and
// each team's agents per status, for the teams with a list of their own
// (a team seen only among the floor's available agents has its other
// counts unknown, and is left out rather than recorded as if none).
func (rd reading) sample() history.Sample {
	s := history.Sample{Teams: make(map[string]history.Counts), Names: make(map[string]string)}
	counts := func(c *presence.Summary) history.Counts {
		return history.Counts{Available: c.Available, OnCall: c.OnCall, AfterCallWork: c.AfterCallWork, Busy: c.Busy, Offline: c.Offline}
	}
	if rd.all.summary != nil {
		s.Teams[""] = counts(rd.all.summary)
	}
	for id, t := range rd.teams {
		if t.summary != nil && id != "" {
			s.Teams[id] = counts(t.summary)
			if t.team != id { // the ID stands for a name not known
				s.Names[id] = t.team
			}
		}
	}
	return s
}

// scope is the rule's tally: all agents, one team, or several summed. A
// team the reading does not hold has nobody (a snapshot holds every
// team; a list reading every team a rule names).
func (rd reading) scope(r AvailabilityRule) tally {
	switch len(r.Teams) {
	case 0:
		return rd.all
	case 1:
		if t := rd.teams[r.Teams[0]]; t != nil {
			return *t
		}
		return tally{team: r.Teams[0]}
	}
	var sum tally
	var teams []string
	for _, id := range r.Teams {
		t := rd.teams[id]
		if t == nil {
			teams = append(teams, id)
			continue
		}
		teams = append(teams, cmp.Or(t.team, id))
		sum.available += t.available
		if t.loggedIn < 0 || sum.loggedIn < 0 {
			sum.loggedIn = -1
		} else {
			sum.loggedIn += t.loggedIn
		}
		sum.names = append(sum.names, t.names...)
	}
	sum.team = strings.Join(teams, " + ")
	return sum
}

// shownNames are the names a message lists: sorted, at most maxNames.
// Only the rules that post pay for the sort.
func shownNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	if len(out) > maxNames {
		out = out[:maxNames:maxNames]
	}
	return out
}
