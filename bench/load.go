package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// Command names, as the report groups answers.
const (
	cmdStatus   = "/status"
	cmdPresence = "/presence"
)

// planned is one command of a load and when to send it, from the start.
type planned struct {
	at      time.Duration
	user    string
	command string
	text    string
}

// presenceAsks are the words of a load's /presence: the first three
// times in four, the second once, as supervisors at a shift start ask for
// the floor and then for one part of it.
type presenceAsks [2]string

// The /presence of each load: the overview and one status, the table of
// each, or the floor's trend and one team's.
var (
	overviewAsks = presenceAsks{"", "available"}
	tableAsks    = presenceAsks{"table", "table available"}
	trendAsks    = presenceAsks{"trend", "trend " + trendTeam}
)

// text is the i-th /presence's words.
func (a presenceAsks) text(i int) string {
	if i%4 == 3 {
		return a[1]
	}
	return a[0]
}

// burstPlan is the shift-start burst: 200 /presence from the supervisors
// and one /status busy from each mapped agent, shuffled and spread evenly
// over one second.
func burstPlan(w *world, asks presenceAsks) []planned {
	return shiftStart(w, burstPresence, asks.text)
}

// shiftStart is presences /presence from the supervisors (the i-th asking
// text(i)) and one /status busy from each mapped agent, shuffled and
// spread evenly over one second.
func shiftStart(w *world, presences int, text func(i int) string) []planned {
	cmds := make([]planned, 0, presences+len(w.agents))
	for i := range presences {
		cmds = append(cmds, planned{user: w.supervisors[i%len(w.supervisors)], command: cmdPresence, text: text(i)})
	}
	for _, u := range w.agents {
		cmds = append(cmds, planned{user: u, command: cmdStatus, text: "busy"})
	}
	rng := rand.New(rand.NewPCG(seed, uint64(len(cmds))))
	rng.Shuffle(len(cmds), func(i, j int) { cmds[i], cmds[j] = cmds[j], cmds[i] })
	for i := range cmds {
		cmds[i].at = burstWindow * time.Duration(i) / time.Duration(len(cmds))
	}
	return cmds
}

// steadyPlan is 50 commands a second for d, in the burst's mix (2 of every
// 7 are /presence). The agents take turns; each one's /status alternates
// busy and available, so every change is allowed from where the last left
// it (the same agent comes round again only after 500 others).
func steadyPlan(w *world, d time.Duration, asks presenceAsks) []planned {
	n := int(d * steadyRate / time.Second)
	interval := time.Second / steadyRate
	cmds := make([]planned, 0, n)
	statuses, presences := 0, 0
	for i := range n {
		p := planned{at: interval * time.Duration(i)}
		if k := i % 7; k == 2 || k == 5 {
			p.user, p.command, p.text = w.supervisors[presences%len(w.supervisors)], cmdPresence, asks.text(presences)
			presences++
		} else {
			p.user, p.command, p.text = w.agents[statuses%len(w.agents)], cmdStatus, "busy"
			if (statuses/len(w.agents))%2 == 1 {
				p.text = "available"
			}
			statuses++
		}
		cmds = append(cmds, p)
	}
	return cmds
}

// sent is a command on its way: its envelope, to find its ack and answer.
type sent struct {
	planned
	envelope string
}

// send types the commands into the fake Slack on schedule. A send that
// runs late is followed at once by the next, so the load is never thinner
// than planned. It returns how long the sending took.
func send(ctx context.Context, fs *fakeslack.Server, plan []planned) ([]sent, time.Duration, error) {
	out := make([]sent, 0, len(plan))
	start := time.Now()
	timer := time.NewTimer(time.Hour) // reset before each wait
	defer timer.Stop()
	for _, p := range plan {
		if wait := time.Until(start.Add(p.at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, 0, fmt.Errorf("send: %w", ctx.Err())
			}
		}
		id, err := fs.SendSlashCommand(fakeslack.SlashCommand{Command: p.command, Text: p.text, UserID: p.user, ChannelID: "C0FLOOR"})
		if err != nil {
			return nil, 0, fmt.Errorf("send %s %s as %s: %w", p.command, p.text, p.user, err)
		}
		out = append(out, sent{planned: p, envelope: id})
	}
	return out, time.Since(start), nil
}
