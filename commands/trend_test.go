package commands_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
)

// trendNow is 7 minutes into a quarter hour, so the last point is a step
// under way.
var trendNow = t0.Add(7 * time.Minute)

// trendHandler is a handler on a history only: /presence trend reads no
// roster. Open to all, so no mapping is needed.
func trendHandler(h commands.History, loc *time.Location, retention time.Duration) *commands.Handler {
	return commands.New(commands.Config{
		OpenToAll: true, History: h, HistoryRetention: retention, Location: loc,
		Now: func() time.Time { return trendNow },
	})
}

func trend(t testing.TB, h *commands.Handler, text string) message.Message {
	t.Helper()
	m := h.Handle(context.Background(), commands.Request{UserID: userBoss, ChannelID: "C0FLOOR", Command: "/presence", Text: strings.TrimSpace("trend " + text)})
	checkMessage(t, m)
	checkRich(t, m)
	return m
}

// The floor's trend: the whole floor and the 5 teams with the fewest
// available now, at 15-minute points over 4 hours, the others named.
func TestTrendFloor(t *testing.T) {
	fh := &fakeHistory{}
	teams := teamsOf(8)
	floorDay(fh, teams, 20, 8, trendNow)
	h := trendHandler(fh, nil, 0)
	m := trend(t, h, "")
	c := chartOf(t, m)
	wantCats := []string{"05:00", "05:15", "05:30", "05:45", "06:00", "06:15", "06:30", "06:45", "07:00",
		"07:15", "07:30", "07:45", "08:00", "08:15", "08:30", "08:45", "09:00"}
	if !slices.Equal(c.Categories, wantCats) {
		t.Errorf("categories = %v, want %v", c.Categories, wantCats)
	}
	// The lowest teams now, from the history's last sample.
	last := map[string]history.Counts{}
	for _, tm := range teams {
		ps := fh.samples[tm.ID]
		last[tm.Name] = ps[len(ps)-1].Counts
	}
	names := make([]string, 0, len(teams))
	for _, tm := range teams {
		names = append(names, tm.Name)
	}
	slices.SortStableFunc(names, func(a, b string) int { return last[a].Available - last[b].Available })
	var got []string
	for _, s := range c.Series {
		got = append(got, s.Name)
	}
	if want := append([]string{"Whole floor"}, names[:5]...); !slices.Equal(got, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	// Each point is the last sample of its step: 09:00's is 09:07's.
	floor := fh.samples[""]
	if got, want := c.Series[0].Values[16], float64(floor[len(floor)-1].Counts.Available); got != want {
		t.Errorf("last floor point = %v, want %v (the newest sample)", got, want)
	}
	at0845 := floor[len(floor)-1-8].Counts.Available // 08:59
	if got := c.Series[0].Values[15]; got != float64(at0845) {
		t.Errorf("08:45 point = %v, want %v (the 08:59 sample)", got, at0845)
	}
	// The figures as text beside the chart, and the teams left out.
	wantText(t, m, "*Every 15m from 05:00 to 09:00*", fmt.Sprintf("• *Whole floor*: "), fmt.Sprintf("last %d", floor[len(floor)-1].Counts.Available),
		"Not drawn (3 teams, more available): "+strings.Join(names[5:], ", "),
		"`/presence trend &lt;team_id&gt;` draws one team.", "Last sample 09:07 UTC")
	notText(t, m, "No sample since")
	if m.Outcome() != message.OutcomeOK {
		t.Errorf("outcome %s, want ok", m.Outcome())
	}
}

// A team's trend: its available, on-call, after-call-work and busy lines;
// the team by ID or name, hours with or without an h.
func TestTrendTeam(t *testing.T) {
	fh := &fakeHistory{}
	floorDay(fh, teamsOf(6), 20, 8, trendNow)
	h := trendHandler(fh, nil, 0)
	for _, text := range []string{"team_03 2", "TEAM_03 2h"} {
		m := trend(t, h, text)
		c := chartOf(t, m)
		var names []string
		for _, s := range c.Series {
			names = append(names, s.Name)
		}
		if want := []string{"Available", "On a call", "After-call work", "Busy"}; !slices.Equal(names, want) {
			t.Errorf("%s: series %v, want %v", text, names, want)
		}
		// 2 hours at 10-minute points: 07:00 … 09:00.
		if len(c.Categories) != 13 || c.Categories[0] != "07:00" || c.Categories[12] != "09:00" {
			t.Errorf("%s: categories %v, want 07:00 … 09:00 every 10m", text, c.Categories)
		}
		wantText(t, m, "Team 03: agents, last 2h", "*Every 10m from 07:00 to 09:00*")
		notText(t, m, "Not drawn")
	}
}

// Every span from 1 hour to the retention draws at most 20 points at
// even, distinct clock times.
func TestTrendEveryHours(t *testing.T) {
	fh := &fakeHistory{}
	floorDay(fh, teamsOf(2), 10, 8*24, trendNow)
	for _, loc := range []string{"UTC", "Asia/Kolkata", "Asia/Kathmandu"} {
		tz, err := time.LoadLocation(loc)
		if err != nil {
			t.Skipf("no zone data: %v", err)
		}
		h := trendHandler(fh, tz, 0)
		for hours := 1; hours <= 192; hours++ {
			m := trend(t, h, fmt.Sprint(hours))
			c := chartOf(t, m)
			if n := len(c.Categories); n < 2 || n > message.MaxChartPoints {
				t.Errorf("%s, %dh: %d points", loc, hours, n)
			}
			// The points reach back over the whole span asked.
			if loc == "UTC" && !strings.Contains(c.Categories[0], " ") {
				first, err := time.Parse("15:04", c.Categories[0])
				if err != nil {
					t.Fatal(err)
				}
				since := (trendNow.Hour()*60 + trendNow.Minute() - first.Hour()*60 - first.Minute() + 24*60) % (24 * 60)
				if since < hours*60 {
					t.Errorf("%dh: the chart starts at %s, %dm ago", hours, c.Categories[0], since)
				}
			}
			// Even clock times: whole minutes of the step, in local time.
			for _, cat := range c.Categories {
				if hours > 24 && !strings.HasSuffix(cat, "00") {
					t.Errorf("%s, %dh: category %q is not on the hour", loc, hours, cat)
					break
				}
			}
		}
	}
}

// In India an hourly chart reads 10:00, not 10:30.
func TestTrendLocalClock(t *testing.T) {
	tz, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	fh := &fakeHistory{}
	floorDay(fh, teamsOf(2), 10, 24, trendNow)
	c := chartOf(t, trend(t, trendHandler(fh, tz, 0), "12"))
	for _, cat := range c.Categories {
		if !strings.HasSuffix(cat, ":00") {
			t.Errorf("category %q in IST, want whole hours", cat)
		}
	}
	if got := c.Categories[len(c.Categories)-1]; got != "14:00" { // 09:07 UTC = 14:37 IST
		t.Errorf("last category %q, want 14:00", got)
	}
}

// In the first minutes of history the chart has one point; with no sample
// at all the answer says so.
func TestTrendFirstMinutes(t *testing.T) {
	fh := &fakeHistory{}
	h := trendHandler(fh, nil, 0)
	m := trend(t, h, "")
	wantText(t, m, "No history yet for the last 4h")
	if m.HasRich() {
		t.Errorf("a chart with no sample")
	}

	fh.record(trendNow.Add(-30*time.Second), map[string]history.Counts{"sales_team": {Available: 3, OnCall: 2}})
	fh.names["sales_team"] = "Sales"
	m = trend(t, h, "")
	c := chartOf(t, m)
	if len(c.Categories) != 1 || c.Categories[0] != "09:00" || len(c.Series) != 2 || c.Series[1].Values[0] != 3 {
		t.Errorf("one sample: %+v, want one point of 3 for Sales at 09:00", c)
	}
	wantText(t, m, "• *Sales*: 3 — low 3 at 09:00, high 3 at 09:00, last 3")
}

// Steps without a sample (the bot was down) are gaps in the figures; the
// chart, which takes no gaps, repeats the value before.
func TestTrendGaps(t *testing.T) {
	fh := &fakeHistory{}
	for _, m := range []int{200, 100, 0} { // 05:47, 07:27, 09:07
		fh.record(trendNow.Add(-time.Duration(m)*time.Minute), map[string]history.Counts{"sales_team": {Available: m / 10}})
	}
	fh.names["sales_team"] = "Sales"
	m := trend(t, trendHandler(fh, nil, 0), "sales_team")
	c := chartOf(t, m)
	if c.Categories[0] != "05:45" {
		t.Errorf("first point %s, want 05:45 (the first with a sample)", c.Categories[0])
	}
	want := []float64{20, 20, 20, 20, 20, 20, 10, 10, 10, 10, 10, 10, 10, 0} // 07:27 is in 07:15's step
	if !slices.Equal(c.Series[0].Values, want) {
		t.Errorf("available = %v, want %v", c.Series[0].Values, want)
	}
	wantText(t, m, "• *Available*: 20 · – · – · – · – · – · 10 · – · – · – · – · – · – · 0 — low 0 at 09:00, high 20 at 05:45, last 0")
}

// An old last sample is said, with its time.
func TestTrendStale(t *testing.T) {
	fh := &fakeHistory{}
	floorDay(fh, teamsOf(2), 10, 2, trendNow.Add(-20*time.Minute))
	m := trend(t, trendHandler(fh, nil, 0), "")
	wantText(t, m, "⏳ No sample since 08:47 UTC (20m ago): the history is behind.")
}

// History off, history failing, and bad words: clear answers, never a
// chart, never the error's text.
func TestTrendRefusals(t *testing.T) {
	m := trend(t, trendHandler(nil, nil, 0), "")
	wantText(t, m, "The bot keeps no history here (it is off), so there is no trend to show.")
	if m.Outcome() != message.OutcomeRefused {
		t.Errorf("history off: outcome %s, want refused", m.Outcome())
	}

	fh := &fakeHistory{}
	floorDay(fh, teamsOf(3), 10, 2, trendNow)
	h := trendHandler(fh, nil, 24*time.Hour)
	for _, tt := range []struct {
		text string
		want string
	}{
		{"0", "0 hours is out of range: the history goes back 1d, so give 1 to 24."},
		{"25", "25 hours is out of range"},
		{"-3", "-3 hours is out of range"},
		{"4.5", "`4.5` is not a whole number of hours"},
		{"team_01 soon", "`soon` is not a whole number of hours"},
		{"team_01 4 more", "takes a team and a number of hours, both optional"},
		{"nope", "There is no team `nope` in the history of the last 4h. Teams: `team_01` (Team 01), `team_02` (Team 02), `team_03` (Team 03)."},
		{"<!here> 2", "There is no team `&lt;!here&gt;`"},
	} {
		m := trend(t, h, tt.text)
		if m.Outcome() != message.OutcomeRefused || m.HasRich() {
			t.Errorf("%q: outcome %s, rich %v; want a refusal", tt.text, m.Outcome(), m.HasRich())
		}
		wantText(t, m, tt.want)
		if tt.text != "nope" && tt.text != "<!here> 2" {
			wantText(t, m, "Usage: `/presence")
		}
	}

	fh.err = errors.New("redis: connection refused at 10.0.0.5:6379")
	m = trend(t, h, "")
	if m.Outcome() != message.OutcomeError {
		t.Errorf("history failing: outcome %s, want error", m.Outcome())
	}
	wantText(t, m, "I couldn't read the history just now")
	notText(t, m, "redis", "10.0.0.5")
}

// Team names are cut to Slack's 20 characters and kept distinct.
func TestTrendSeriesNames(t *testing.T) {
	fh := &fakeHistory{}
	counts := map[string]history.Counts{}
	for i := range 4 {
		counts[fmt.Sprintf("t%d", i)] = history.Counts{Available: i, OnCall: 1}
	}
	fh.record(trendNow, counts)
	fh.names["t0"] = "Customer Support & Billing North"
	fh.names["t1"] = "Customer Support & Billing South"
	fh.names["t2"] = "Customer Support & Billing South"
	fh.names["t3"] = "<b>"
	c := chartOf(t, trend(t, trendHandler(fh, nil, 0), ""))
	var got []string
	for _, s := range c.Series {
		got = append(got, s.Name)
	}
	want := []string{"Whole floor", "Customer Support …", "t1", "t2", "&lt;b&gt;"}
	if !slices.Equal(got, want) {
		t.Errorf("series names %q, want %q", got, want)
	}
}
