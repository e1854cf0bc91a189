package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// countingRoster is a presence.Reader that counts what the sampler asks.
type countingRoster struct {
	fresh   *presence.Snapshot // what Fresh returns; nil: nothing fresh
	get     *presence.Snapshot
	fresher int // Fresh calls
	gets    int // Get calls: each may cost requests
}

func (r *countingRoster) Get(context.Context) (*presence.Snapshot, error) {
	r.gets++
	return r.get, nil
}

func (r *countingRoster) Fresh(context.Context) (*presence.Snapshot, bool) {
	r.fresher++
	return r.fresh, r.fresh != nil
}

func (r *countingRoster) LastKnown() *presence.Snapshot { return r.get }

type listed []presence.Agent

func (l listed) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	return &presence.Roster{Agents: l}, nil
}

// snapshotWith is a roster of n available agents in team "t".
func snapshotWith(t *testing.T, n int) *presence.Snapshot {
	t.Helper()
	agents := make(listed, n)
	for i := range agents {
		agents[i] = presence.Agent{ID: string(rune('a' + i)), Status: presence.Available, Team: &presence.Team{ID: "t", Name: "T"}}
	}
	s, err := presence.NewSnapshots(agents, time.Minute, nil).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// With alerts on, the sampler records what the alert poll read and never
// reads the roster itself: the poll's snapshot, else the shared one when
// fresh (free), else what the poll's lists told; a poll that read nothing
// (failed, or no availability rule) records nothing; a tick whose minute
// is recorded already reads nothing at all.
func TestHistorySamplerNeverReadsTheRosterWithAlerts(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	roster := &countingRoster{get: snapshotWith(t, 7)}
	cfg := &config.Config{HistoryRetention: 8 * 24 * time.Hour}
	cfg.Alert.Channel, cfg.Alert.Interval = "C0ALERTS", time.Second
	h := newHistory(cfg, store, roster, slog.New(slog.DiscardHandler))
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	recorded := func(at time.Time) map[string]history.Counts {
		t.Helper()
		got, err := h.rec.Range(ctx, nil, at, at, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]history.Counts{}
		for id, ps := range got {
			out[id] = ps[0].Counts
		}
		return out
	}
	reads := func(when string, fresh int) {
		t.Helper()
		if roster.fresher != fresh || roster.gets != 0 {
			t.Errorf("%s: %d Fresh and %d Get, want %d and no Get", when, roster.fresher, roster.gets, fresh)
		}
		roster.fresher, roster.gets = 0, 0
	}

	// The poll counted a snapshot: that one is recorded, nothing read.
	h.took(t0, snapshotWith(t, 3))
	h.afterPoll(ctx, t0, nil)
	reads("the poll's snapshot", 0)
	if got := recorded(t0)["t"]; got.Available != 3 {
		t.Errorf("recorded %+v, want the poll's 3 available", got)
	}

	// The same minute again (a 1s alert interval): nothing read.
	h.took(t0.Add(time.Second), snapshotWith(t, 9))
	h.afterPoll(ctx, t0.Add(time.Second), nil)
	h.afterPoll(ctx, t0.Add(2*time.Second), nil)
	reads("the same minute", 0)

	// A poll that listed: the shared snapshot while fresh…
	listed := history.Sample{Teams: map[string]history.Counts{"": {Available: 2, Busy: 5}, "t": {Available: 2, Busy: 1}}}
	t1 := t0.Add(time.Minute)
	h.counted(t1, listed)
	roster.fresh = snapshotWith(t, 4)
	h.afterPoll(ctx, t1, nil)
	reads("a fresh shared snapshot", 1)
	if got := recorded(t1)["t"]; got.Available != 4 {
		t.Errorf("recorded %+v, want the fresh snapshot's 4 available", got)
	}

	// …else what its lists told, and no read.
	t2 := t1.Add(time.Minute)
	h.counted(t2, listed)
	roster.fresh = nil
	h.afterPoll(ctx, t2, nil)
	reads("nothing fresh", 1)
	if got := recorded(t2); got[""] != listed.Teams[""] || got["t"] != listed.Teams["t"] {
		t.Errorf("recorded %+v, want the lists' %+v", got, listed.Teams)
	}

	// A poll that counted nothing (no availability rule), nothing fresh:
	// no sample, no read; an older poll's counts are not this tick's.
	t3 := t2.Add(time.Minute)
	h.counted(t2, listed)
	h.afterPoll(ctx, t3, nil)
	reads("a poll that counted nothing", 1)
	if got := recorded(t3); len(got) != 0 {
		t.Errorf("recorded %+v for a tick nobody read", got)
	}

	// A failed poll: skipped, even with a fresh snapshot about.
	t4 := t3.Add(time.Minute)
	roster.fresh = snapshotWith(t, 6)
	h.afterPoll(ctx, t4, errors.New("read availability: 503"))
	reads("a failed poll", 0)
	if got := recorded(t4); len(got) != 0 {
		t.Errorf("recorded %+v after a failed poll", got)
	}
}

// Without alerts, the history job is the roster's only reader: the
// shared snapshot when fresh, else a read.
func TestHistoryJobReadsTheRosterWithoutAlerts(t *testing.T) {
	ctx := context.Background()
	roster := &countingRoster{fresh: snapshotWith(t, 4)}
	h := newHistory(&config.Config{}, state.NewMemoryStore(), roster, slog.New(slog.DiscardHandler))
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	if err := h.record(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if roster.fresher != 1 || roster.gets != 0 {
		t.Errorf("fresh: %d Fresh and %d Get, want 1 and 0", roster.fresher, roster.gets)
	}
	roster.fresh, roster.get = nil, snapshotWith(t, 5)
	if err := h.record(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if roster.gets != 1 {
		t.Errorf("nothing fresh: %d Get, want 1", roster.gets)
	}
	got, err := h.rec.Range(ctx, []string{"t"}, t0, t0.Add(time.Minute), 0)
	if err != nil || availables(got["t"]) != "4 5" {
		t.Errorf("recorded %v, %v; want 4 then 5 available", got, err)
	}
}

func availables(ps []history.Point) string {
	var out []string
	for _, p := range ps {
		out = append(out, strconv.Itoa(p.Counts.Available))
	}
	return strings.Join(out, " ")
}

// countingCC is the contact center's list endpoint over a fixed roster:
// it filters and pages as the API does, the summary counting the team
// whatever the status filter, and counts the requests.
type countingCC struct {
	mu       sync.Mutex
	agents   []presence.Agent
	fail     error
	lists    int // the alert poll's own lists
	listAlls int // roster reads (presence.Snapshots)
}

func (c *countingCC) List(_ context.Context, o presence.ListOptions) (*presence.Page, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists++
	if c.fail != nil {
		return nil, c.fail
	}
	var sum presence.Summary
	var match []presence.Agent
	for _, a := range c.agents {
		if o.TeamID != "" && a.TeamID() != o.TeamID {
			continue
		}
		sum.Total++
		switch a.Status {
		case presence.Available:
			sum.Available++
		case presence.OnCall:
			sum.OnCall++
		case presence.Busy:
			sum.Busy++
		case presence.AfterCallWork:
			sum.AfterCallWork++
		case presence.Offline:
			sum.Offline++
		}
		if o.Status == "" || a.Status == o.Status {
			match = append(match, a)
		}
	}
	limit := cmp.Or(o.Limit, 20)
	return &presence.Page{Agents: match[:min(limit, len(match))], Summary: sum, Total: len(match), Limit: limit}, nil
}

func (c *countingCC) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listAlls++
	return &presence.Roster{Agents: c.agents}, nil
}

type quietPoster struct{}

func (quietPoster) Post(context.Context, string, message.Message) (string, error) { return "1.0", nil }
func (quietPoster) Update(context.Context, string, string, message.Message) error { return nil }

// On a floor of more than 100 agents the alert poll makes its own lists
// (cheaper than the roster): the history then records what they told
// (the floor, and the team a rule names) without one roster request, and
// after a failed poll records nothing, still without one.
func TestAlertPollOfALargeFloorRecordsWithoutARosterRead(t *testing.T) {
	ctx := context.Background()
	cc := &countingCC{}
	for i := range 300 {
		team := &presence.Team{ID: "a", Name: "Team A"}
		if i%3 == 0 {
			team = &presence.Team{ID: "b", Name: "Team B"}
		}
		st := []presence.Status{presence.Available, presence.Available, presence.OnCall, presence.Offline}[i%4]
		cc.agents = append(cc.agents, presence.Agent{ID: fmt.Sprintf("ag%03d", i), Name: fmt.Sprintf("Agent %d", i), Status: st, Team: team})
	}
	roster := presence.NewSnapshots(cc, 2*time.Second, nil)
	cfg := &config.Config{HistoryRetention: 8 * 24 * time.Hour}
	cfg.Alert.Channel, cfg.Alert.Interval = "C0ALERTS", time.Minute
	h := newHistory(cfg, state.NewMemoryStore(), roster, slog.New(slog.DiscardHandler))
	alerter := alerts.NewAlerter(cc, quietPoster{}, state.NewMemoryStore(), alerts.Settings{
		Channel: "C0ALERTS",
		Rules:   []alerts.AvailabilityRule{{Name: "all", Warning: 1}, {Name: "team:a", Teams: []string{"a"}, Warning: 1}},
		Roster:  roster, OnSnapshot: h.took, OnCounts: h.counted,
	}, slog.New(slog.DiscardHandler))
	poll := func(tick time.Time) {
		t.Helper()
		err := alerter.Poll(ctx, tick)
		h.afterPoll(ctx, tick, err)
	}

	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	poll(t0)
	if cc.listAlls != 0 || cc.lists == 0 {
		t.Errorf("%d roster reads and %d lists, want the poll's lists only", cc.listAlls, cc.lists)
	}
	got, err := h.rec.Range(ctx, nil, t0, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]history.Counts{
		"":  {Available: 150, OnCall: 75, Offline: 75},
		"a": {Available: 100, OnCall: 50, Offline: 50},
	}
	if len(got) != len(want) {
		t.Errorf("recorded teams %v, want the floor and team a (b's other counts are not known)", got)
	}
	for id, c := range want {
		if ps := got[id]; len(ps) != 1 || ps[0].Counts != c {
			t.Errorf("team %q: %+v, want %+v", id, ps, c)
		}
	}
	if teams, err := h.rec.Teams(ctx, t0, t0); err != nil || len(teams) != 1 || teams[0].Name != "Team A" {
		t.Errorf("Teams = %v, %v; want Team A by its name", teams, err)
	}

	cc.fail = errors.New("503")
	t1 := t0.Add(time.Minute)
	poll(t1)
	if cc.listAlls != 0 {
		t.Errorf("%d roster reads after a failed poll, want none", cc.listAlls)
	}
	if got, err := h.rec.Range(ctx, nil, t1, t1, 0); err != nil || len(got) != 0 {
		t.Errorf("recorded %v, %v after a failed poll; want nothing", got, err)
	}
}

// The alerter's events and the history's are the same words.
func TestAlertEventKindsMatchTheHistory(t *testing.T) {
	for _, k := range [][2]string{
		{alertsEventFired, history.KindFired}, {alertsEventLevel, history.KindLevel},
		{alertsEventAcked, history.KindAcked}, {alertsEventResolved, history.KindResolved},
	} {
		if k[0] != k[1] {
			t.Errorf("alerts says %q where history says %q", k[0], k[1])
		}
	}
}

const (
	alertsEventFired    = alerts.EventFired
	alertsEventLevel    = alerts.EventLevel
	alertsEventAcked    = alerts.EventAcked
	alertsEventResolved = alerts.EventResolved
)
