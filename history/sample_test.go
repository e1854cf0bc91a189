package history

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

type rosterSource struct{ r *presence.Roster }

func (s rosterSource) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	return s.r, nil
}

func snapshotOf(t *testing.T, agents ...presence.Agent) *presence.Snapshot {
	t.Helper()
	snaps := presence.NewSnapshots(rosterSource{&presence.Roster{Agents: agents}}, time.Minute, nil)
	s, err := snaps.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SampleOf counts each team per status, and the whole floor under "";
// agents without a team count on the floor only.
func TestSampleOf(t *testing.T) {
	sales := &presence.Team{ID: "sales", Name: "Sales"}
	support := &presence.Team{ID: "support"}
	s := SampleOf(snapshotOf(t,
		presence.Agent{ID: "a1", Team: sales, Status: presence.Available},
		presence.Agent{ID: "a2", Team: sales, Status: presence.Available},
		presence.Agent{ID: "a3", Team: sales, Status: presence.OnCall},
		presence.Agent{ID: "a4", Team: sales, Status: presence.Offline},
		presence.Agent{ID: "a5", Team: support, Status: presence.AfterCallWork},
		presence.Agent{ID: "a6", Team: support, Status: presence.Busy},
		presence.Agent{ID: "a7", Status: presence.Available},
	))
	want := map[string]Counts{
		"":        {Available: 3, OnCall: 1, AfterCallWork: 1, Busy: 1, Offline: 1},
		"sales":   {Available: 2, OnCall: 1, Offline: 1},
		"support": {AfterCallWork: 1, Busy: 1},
	}
	if !maps.Equal(s.Teams, want) {
		t.Errorf("Teams = %v, want %v", s.Teams, want)
	}
	if names := map[string]string{"sales": "Sales", "support": "support"}; !maps.Equal(s.Names, names) {
		t.Errorf("Names = %v, want %v", s.Names, names)
	}
	if got := s.Teams[""].LoggedIn(); got != 6 {
		t.Errorf("floor LoggedIn = %d, want 6", got)
	}
}

// An empty roster is still a sample: the floor, at zero.
func TestSampleOfEmptyRoster(t *testing.T) {
	s := SampleOf(snapshotOf(t))
	if !maps.Equal(s.Teams, map[string]Counts{"": {}}) {
		t.Errorf("Teams = %v, want the floor at zero", s.Teams)
	}
}
