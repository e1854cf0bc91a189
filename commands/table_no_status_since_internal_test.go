package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// The contact center may leave status_since out (the alert rules skip such
// agents). "Longest in their status first" must not put them on top with
// a nonsense time: they go last, shown "–" with the value 0.
func TestTableAgentWithoutStatusSinceGoesLast(t *testing.T) {
	now := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	top := agentTop{k: 2}
	top.add(presence.Agent{ID: "a3", Name: "NoSince", Status: presence.Offline})
	top.add(presence.Agent{ID: "a1", Name: "Asha", Status: presence.Available, StatusSince: now.Add(-3 * time.Hour)})
	top.add(presence.Agent{ID: "a2", Name: "Ben", Status: presence.Busy, StatusSince: now.Add(-2 * time.Hour)})
	td := agentTable("t", top.items, now)
	var names []string
	for _, r := range td.Rows {
		names = append(names, r[0].Text)
	}
	if got := strings.Join(names, ","); got != "Asha,Ben" {
		t.Errorf("rows %s, want Asha,Ben: the agent without status_since pushed out one with it", got)
	}
	if top.noSince != 1 {
		t.Errorf("counted %d agents without a status time, want 1", top.noSince)
	}

	// With room for everyone, the agent without a time is last, "–".
	all := agentTop{k: 5}
	for _, a := range []presence.Agent{
		{ID: "a3", Name: "NoSince", Status: presence.Offline},
		{ID: "a1", Name: "Asha", Status: presence.Available, StatusSince: now.Add(-3 * time.Hour)},
		{ID: "a4", Name: "Alsonone", Status: presence.Busy},
	} {
		all.add(a)
	}
	td = agentTable("t", all.items, now)
	if len(td.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(td.Rows))
	}
	if td.Rows[0][0].Text != "Asha" {
		t.Errorf("first row %q, want Asha", td.Rows[0][0].Text)
	}
	for _, r := range td.Rows[1:] {
		if c := r[3]; c.Text != noFigure || c.Number != 0 {
			t.Errorf("%s: in status %+v, want %q with value 0", r[0].Text, c, noFigure)
		}
	}
	if all.noSince != 2 {
		t.Errorf("counted %d agents without a status time, want 2", all.noSince)
	}
}

// The table's note counts the agents without a status time.
func TestTableNoteCountsAgentsWithoutStatusSince(t *testing.T) {
	if got, want := noSinceNote(2), "2 agents without a status time are listed last."; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
	if got, want := noSinceNote(1), "1 agent without a status time is listed last."; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
	if got := noSinceNote(0); got != "" {
		t.Errorf("note for none %q, want none", got)
	}
}
