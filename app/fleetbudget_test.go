package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/internal/redistest"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// The fleet's shift start. 20,000 agents make a roster read 200 list
// pages, so reads are what the budget must keep from multiplying with the
// replicas. The whole burst is 500 /presence and 2,000 /status: 4,000
// requests, a GET and a PUT each, at 400 a second, about 10 s of changes
// plus the roster reads; it runs with FLEET_FULL=1 (27 s under -race on 2
// idle cores). By default the burst is 2.5 times smaller (200 and 800), so
// the suite holds on a loaded machine too: under -race, three replicas
// drawing 20,000-agent answers and the simulator serving them share the
// cores, and a machine busy with other work made Redis calls outlast
// REDIS_TIMEOUT. The test measures the budget, not the machine.
const (
	fleetAgents = 20_000
	fleetRate   = 400
	fleetBurst  = 40
	fleetTTL    = 2 * time.Second
	// fleetJitter is the slack for the delay from a grant to the request's
	// arrival at the simulator (see the check).
	fleetJitter = 300 * time.Millisecond
	// fleetWait bounds the wait for the burst's answers: 10 s of budget
	// at most, the rest for -race on 2 cores.
	fleetWait = 60 * time.Second
)

// fleetStatuses and fleetPresence are the burst: the whole of it with
// FLEET_FULL set, else 2.5 times smaller.
var fleetStatuses, fleetPresence = fleetBurstSize()

func fleetBurstSize() (statuses, presence int) {
	if os.Getenv("FLEET_FULL") != "" {
		return 2_000, 500
	}
	return 800, 200
}

func fleetUser(i int) string { return fmt.Sprintf("U0F%05d", i) }

// stampedSim is the simulator with every request's arrival time taken,
// so the rate the contact center sees is measured where it is felt.
type stampedSim struct {
	sim *ccmsim.Sim
	mu  sync.Mutex
	at  []time.Time
}

func (s *stampedSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	s.sim.ServeHTTP(w, r)
}

func (s *stampedSim) reset() {
	s.mu.Lock()
	s.at = nil
	s.mu.Unlock()
	s.sim.ResetStats()
}

// busiestSecond is the most requests that arrived within any one second.
func (s *stampedSim) busiestSecond() int {
	s.mu.Lock()
	at := slices.Clone(s.at)
	s.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range at {
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// fleetRun is what one run of the shift start measured.
type fleetRun struct {
	lists   int // list requests at the simulator during the burst
	busiest int // requests in the busiest second
	took    time.Duration
}

// TestFleetBudgetShiftStart: one API budget for the whole fleet. The same
// shift-start burst against one replica and against three on one Redis:
// the contact center never gets more than the budget in any second, every
// change is made and answered once (a "queued" notice first is allowed,
// and is replaced), every /presence is answered with counts the simulator
// had, or marked stale, and the roster is read at most once per TTL for
// the fleet, with three replicas as with one.
func TestFleetBudgetShiftStart(t *testing.T) {
	runs := map[int]fleetRun{}
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) { runs[n] = fleetShiftStart(t, n) })
	}
	one, three := runs[1], runs[3]
	if t.Failed() {
		return
	}
	perMinute := func(r fleetRun) float64 { return float64(r.lists) / r.took.Minutes() }
	t.Logf("list requests: %d in %s with one replica (%.0f/min), %d in %s with three (%.0f/min)",
		one.lists, one.took.Round(time.Millisecond), perMinute(one), three.lists, three.took.Round(time.Millisecond), perMinute(three))
	// Whether a TTL runs out during the burst depends on the machine's
	// speed, so the counts of two runs need not be equal (the fake-clock
	// comparison is TestSharedRosterReadsDoNotGrowWithReplicas). What holds
	// whatever the speed: the fleet reads whole rosters only, at most one
	// per TTL, however many replicas read them.
	pages := fleetAgents / presence.MaxPageSize
	for n, r := range runs {
		if r.lists%pages != 0 {
			t.Errorf("%d replicas: %d list requests, not whole rosters of %d pages", n, r.lists, pages)
		}
		if most := (int(r.took/fleetTTL) + 1) * pages; r.lists > most {
			t.Errorf("%d replicas: %d list requests in %s, want at most one roster (%d pages) per %s TTL: %d",
				n, r.lists, r.took.Round(time.Millisecond), pages, fleetTTL, most)
		}
	}
}

func fleetShiftStart(t *testing.T, n int) fleetRun {
	rs := redistest.Start(t)
	quietRedis()
	sim := ccmsim.New(ccmsim.Options{Token: secretToken})
	roster := ccmsim.GenerateRoster(fleetAgents, nil, time.Now(), 8)
	sim.Add(roster...)
	var mapping strings.Builder
	mapping.WriteString("agents:\n")
	for i := range fleetStatuses {
		// Available, so that busy is a move the contact center allows.
		if err := sim.Force(roster[i].ID, presence.Available); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&mapping, "  %s: %s\n", fleetUser(i), roster[i].ID)
	}
	stamped := &stampedSim{sim: sim}
	ccm := httptest.NewServer(stamped)
	t.Cleanup(ccm.Close)
	fs, env := newClusterWorld(t, sim, ccm.URL, rs.URL(), mapping.String(), map[string]string{
		"PRESENCE_CACHE_TTL":   fleetTTL.String(),
		"PRESENCE_OPEN_TO_ALL": "true",
		"EXOTEL_RATE_LIMIT":    fmt.Sprintf("%d/%d", fleetRate, fleetBurst),
		// Drawing 20,000-agent answers under -race on a loaded machine
		// can outlast the usual 5 s: the budget is under test here, not
		// the renderer's speed (the benchmark measures that).
		commandTimeoutVar: "30s",
	})
	c := &cluster{t: t, slack: fs, sim: sim, redis: rs, truth: replicaStart, env: env}
	for i := range n {
		c.replicas = append(c.replicas, c.startInProcess(fmt.Sprintf("replica-%c", 'a'+i), 0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := fs.WaitConnections(ctx, n); err != nil {
		t.Fatalf("replicas did not all connect: %v (%d connected)", err, fs.Connections())
	}
	for _, r := range c.replicas {
		eventually(t, r.name+"'s start probe answered", func() bool {
			return strings.Contains(r.logs(), "component=health part=contact_center state=ok")
		})
	}
	// The bot has been up before the shift starts: one /presence has read
	// the roster. (From cold, the burst's /presence would wait behind the
	// 4,000 writes the budget puts first, and be answered that the budget
	// is exhausted: there is no roster to show yet.)
	warm, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/presence", UserID: "U0SUPWARM", ChannelID: "C0FLOOR"})
	if err != nil {
		t.Fatal(err)
	}
	c.waitAnswers([]string{warm}, "Agent presence — 20,000 agents")
	before := simSummary(sim)
	stamped.reset()

	// The shift start: every command at once, the two kinds shuffled.
	type cmd struct{ command, text, user string }
	var cmds []cmd
	for i := range fleetStatuses {
		cmds = append(cmds, cmd{"/status", "busy", fleetUser(i)})
	}
	for i := range fleetPresence {
		cmds = append(cmds, cmd{"/presence", "", fmt.Sprintf("U0SUP%03d", i)})
	}
	rand.New(rand.NewPCG(8, 8)).Shuffle(len(cmds), func(i, j int) { cmds[i], cmds[j] = cmds[j], cmds[i] })
	began := time.Now()
	ids := make([]string, len(cmds))
	for i, cm := range cmds {
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: cm.command, Text: cm.text, UserID: cm.user, ChannelID: "C0FLOOR"})
		if err != nil {
			t.Fatalf("send %s: %v", cm.command, err)
		}
		ids[i] = id
	}
	wctx, wcancel := context.WithTimeout(context.Background(), fleetWait)
	defer wcancel()
	for i, id := range ids {
		if _, err := fs.WaitMessage(wctx, func(m fakeslack.Message) bool {
			return m.Method == "response_url" && m.EnvelopeID == id && !strings.Contains(m.Text, "queued")
		}); err != nil {
			t.Fatalf("no answer to %s %s (%s) within %s: %v", cmds[i].command, cmds[i].user, id, fleetWait, err)
		}
	}
	took := time.Since(began)
	time.Sleep(20 * time.Millisecond) // a second answer would come now

	// The contact center's view: never over the budget in any second.
	busiest := stamped.busiestSecond()
	// The budget grants at most rate×1s + burst in any second; a request
	// reaches the simulator a little after its grant, and under -race on
	// 2 cores that delay varies by up to ~150 ms (seen: 454–542 in the
	// busiest second, with no replica off the shared bucket and no list
	// request), which packs up to rate×jitter more into a second measured
	// here.
	if limit := fleetRate + fleetBurst + int(fleetRate*fleetJitter/time.Second); busiest > limit {
		t.Errorf("%d requests reached the contact center within one second, want at most %d (rate %d/s + burst %d + %s of transport jitter)",
			busiest, limit, fleetRate, fleetBurst, fleetJitter)
	}
	st := sim.Stats()
	if st.Gets != fleetStatuses || st.Puts != fleetStatuses {
		t.Errorf("%d GETs and %d PUTs for %d changes, want one each", st.Gets, st.Puts, fleetStatuses)
	}
	for _, r := range c.replicas {
		if strings.Contains(r.logs(), "the shared bucket answers again") {
			t.Logf("%s fell back to its local share of the budget during the burst", r.name)
		}
	}
	after := simSummary(sim)
	if after.Busy != before.Busy+fleetStatuses {
		t.Errorf("busy %d after the burst, want %d + %d", after.Busy, before.Busy, fleetStatuses)
	}
	for i := range fleetStatuses {
		if a, _ := sim.Agent(roster[i].ID); a.Status != presence.Busy {
			t.Errorf("%s is %s, want busy", a.ID, a.Status)
		}
	}

	// Every envelope: one final answer; a notice before it is replaced.
	posts := map[string][]fakeslack.Message{}
	for _, m := range fs.Messages() {
		if m.Method == "response_url" {
			posts[m.EnvelopeID] = append(posts[m.EnvelopeID], m)
		}
	}
	notices, stale := 0, 0
	for i, id := range ids {
		ps := posts[id]
		var finals []fakeslack.Message
		for k, p := range ps {
			if strings.Contains(p.Text, "queued") {
				notices++
				if cmds[i].command != "/status" || k != 0 {
					t.Errorf("%s %s: a queued notice as post %d of %d; only a change's first post may be one", cmds[i].command, cmds[i].user, k+1, len(ps))
				}
				continue
			}
			finals = append(finals, p)
		}
		if len(finals) != 1 {
			t.Errorf("%s %s answered %d times, want once", cmds[i].command, cmds[i].user, len(finals))
			continue
		}
		final := finals[0]
		if len(ps) == 2 && !final.ReplaceOriginal {
			t.Errorf("%s: the answer does not replace the queued notice", cmds[i].user)
		}
		switch cmds[i].command {
		case "/status":
			mustContain(t, blockText(t, final.Blocks), "now", "busy")
		case "/presence":
			if b := blockText(t, final.Blocks); strings.Contains(b, "Data from") || strings.Contains(b, "last known data, from") {
				stale++
			}
			checkFleetCounts(t, final.Text, before, after)
		}
	}
	t.Logf("%d replicas: %d commands answered in %s; busiest second %d requests (budget %d/s + %d); %d list requests (%d rosters); %d queued notices; %d /presence marked stale",
		n, len(ids), took.Round(time.Millisecond), busiest, fleetRate, fleetBurst, st.Lists, st.Lists/(fleetAgents/presence.MaxPageSize), notices, stale)
	return fleetRun{lists: st.Lists, busiest: busiest, took: took}
}

// checkFleetCounts checks a /presence answer's counts against the
// simulator's. The changes only move agents from available to busy, so
// every count the simulator had during the burst has the other statuses
// as before, available + busy as before, and busy between before and
// after: an answer counts the roster of some moment, or is wrong.
func checkFleetCounts(t *testing.T, text string, before, after presence.Summary) {
	t.Helper()
	got, ok := parseCounts(text)
	if !ok {
		t.Errorf("/presence answer without counts: %q", text)
		return
	}
	if got.Total != fleetAgents || got.OnCall != before.OnCall || got.AfterCallWork != before.AfterCallWork ||
		got.Offline != before.Offline || got.Available+got.Busy != before.Available+before.Busy ||
		got.Busy < before.Busy || got.Busy > after.Busy {
		t.Errorf("/presence counts %+v: the simulator never had them (from %+v to %+v)", got, before, after)
	}
}

// parseCounts reads "Agent presence — 20,000 agents: 🟢 7,000 available ·
// …" back into a Summary.
func parseCounts(text string) (presence.Summary, bool) {
	var s presence.Summary
	title, counts, ok := strings.Cut(text, ": ")
	if !ok {
		return s, false
	}
	total, ok := strings.CutPrefix(title, "Agent presence — ")
	if !ok {
		return s, false
	}
	s.Total = atoiCommas(strings.TrimSuffix(total, " agents"))
	for part := range strings.SplitSeq(counts, " · ") {
		f := strings.Fields(part)
		if len(f) < 3 {
			return s, false
		}
		n := atoiCommas(f[1])
		switch strings.Join(f[2:], " ") {
		case presence.Available.Label():
			s.Available = n
		case presence.OnCall.Label():
			s.OnCall = n
		case presence.Busy.Label():
			s.Busy = n
		case presence.AfterCallWork.Label():
			s.AfterCallWork = n
		case presence.Offline.Label():
			s.Offline = n
		default:
			return s, false
		}
	}
	return s, true
}

func atoiCommas(s string) int {
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		return -1
	}
	return n
}

// simSummary counts the simulator's agents by status.
func simSummary(sim *ccmsim.Sim) presence.Summary {
	var s presence.Summary
	for _, a := range sim.Agents() {
		s.Total++
		switch a.Status {
		case presence.Available:
			s.Available++
		case presence.OnCall:
			s.OnCall++
		case presence.Busy:
			s.Busy++
		case presence.AfterCallWork:
			s.AfterCallWork++
		case presence.Offline:
			s.Offline++
		}
	}
	return s
}
