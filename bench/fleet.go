package bench

// The fleet scenario (fleet-20k) is issue 17's shift start on a
// 20,000-agent account: three replicas of the bot, run from the binary,
// share one API budget (EXOTEL_RATE_LIMIT at its default), one roster
// snapshot and their state through one redis-server, and one fake Slack,
// which spreads envelopes over their Socket Mode connections round-robin
// as Slack spreads them over an app's connections. The contact center's
// side is measured where it is felt: each request's arrival at the
// simulator.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// fleetName selects the fleet scenario. Like the redis- ones it runs only
// when asked for by name: it needs redis-server on PATH.
const fleetName = "fleet-20k"

// responseURLLife is how long Slack accepts posts to a response_url: no
// answer can come later.
const responseURLLife = 30 * time.Minute

// fleetSetup is the fleet scenario's scale; Options' zero value runs the
// full one.
type fleetSetup struct {
	agents    int // in the contact center
	statuses  int // /status busy, one from each of as many mapped agents
	presences int // /presence (the overview), from the supervisors
	replicas  int
	// rateLimit is the replicas' EXOTEL_RATE_LIMIT; "" leaves it unset,
	// so the bot's default applies.
	rateLimit string
	latency   time.Duration // the simulator's answer delay
}

// fullFleet is the scenario, against a contact center that answers
// after 100 ms, a realistic API's round trip.
var fullFleet = fleetSetup{agents: 20_000, statuses: 2_000, presences: 500, replicas: 3, latency: 100 * time.Millisecond}

// fleetSetup is the fleet scenario Run runs.
func (o Options) fleetSetup() fleetSetup {
	if o.fleet.agents == 0 {
		return fullFleet
	}
	return o.fleet
}

// pages is how many list requests one roster read takes.
func (s fleetSetup) pages() int { return (s.agents + presence.MaxPageSize - 1) / presence.MaxPageSize }

// fleetFigures are one run's results, or the medians of several. Latencies
// are in milliseconds, sizes in megabytes (10⁶ bytes).
type fleetFigures struct {
	Commands, Statuses, Presences float64
	// /status: changes made (✅), held back by the budget past its limit
	// and answered so, and asked-for agents busy at the simulator after.
	Changed, HeldBack, Applied float64
	// /presence: answered with counts the simulator had (Stale of them
	// marked with their age), or with the last known roster after a
	// failed read.
	Counted, Stale, LastKnown float64
	AsAsked                   float64 // changed + counted
	// No final answer within the wait, by command.
	StatusUnanswered, PresenceUnanswered float64
	Twice                                float64 // commands with more than one final answer
	Notices                              float64 // "queued" notices, each replaced by its answer
	// Rate and Burst are the budget as replica 1's /readyz shows it.
	Rate, Burst float64
	// Requests per second at the simulator from the first command: the
	// busiest 1-s bucket, the busiest after the first, any 1-s window;
	// the mean over BusyFor seconds from the first request to the last.
	Busiest, BusiestLater, BusiestWindow, MeanRate, BusyFor float64
	Requests, Gets, Puts, ListPages                         float64
	ListsPerMinute                                          float64 // over LastAnswer
	AckP99, StatusP50, StatusP99, PresenceP50, PresenceP99  float64
	ColdRoster                                              float64 // the first /presence, which reads the roster cold
	LastAnswer                                              float64 // seconds from the first command to the last answer
	IdleRSS, PeakRSS                                        []float64
	Warnings, OtherLoad                                     float64
	mode                                                    string // the budget's: shared, local or off
	// notes explain a run that did not go as asked: the first of each
	// kind of trouble, in the order met.
	notes []string
}

// fields lists every figure, so medians are taken field by field.
func (f *fleetFigures) fields() []*float64 {
	out := []*float64{
		&f.Commands, &f.Statuses, &f.Presences, &f.Changed, &f.HeldBack, &f.Applied,
		&f.Counted, &f.Stale, &f.LastKnown, &f.AsAsked, &f.StatusUnanswered, &f.PresenceUnanswered, &f.Twice, &f.Notices,
		&f.Rate, &f.Burst, &f.Busiest, &f.BusiestLater, &f.BusiestWindow, &f.MeanRate, &f.BusyFor,
		&f.Requests, &f.Gets, &f.Puts, &f.ListPages, &f.ListsPerMinute,
		&f.AckP99, &f.StatusP50, &f.StatusP99, &f.PresenceP50, &f.PresenceP99,
		&f.ColdRoster, &f.LastAnswer, &f.Warnings, &f.OtherLoad,
	}
	for i := range f.IdleRSS {
		out = append(out, &f.IdleRSS[i])
	}
	for i := range f.PeakRSS {
		out = append(out, &f.PeakRSS[i])
	}
	return out
}

// medianFleet takes each figure's median over the runs; the notes of the
// first run that has any are kept.
func medianFleet(runs []fleetFigures) fleetFigures {
	out := fleetFigures{IdleRSS: make([]float64, len(runs[0].IdleRSS)), PeakRSS: make([]float64, len(runs[0].PeakRSS)), mode: runs[0].mode}
	dst := out.fields()
	for i := range dst {
		xs := make([]float64, len(runs))
		for r := range runs {
			xs[r] = *runs[r].fields()[i]
		}
		*dst[i] = median(xs)
	}
	for _, r := range runs {
		if len(r.notes) > 0 {
			out.notes = r.notes
			break
		}
	}
	return out
}

// oneLine is a run's headline figures, printed as the run ends.
func (f fleetFigures) oneLine() string {
	return fmt.Sprintf("%s/%s answered as asked, busiest second %s requests (budget %s/s + %s), /status p99 %s, /presence p99 %s, peak RSS %s MB",
		num(f.AsAsked), num(f.Commands), num(f.BusiestWindow), num(f.Rate), num(f.Burst),
		inTime(f.StatusP99), inTime(f.PresenceP99), joinNums(f.PeakRSS, " / "))
}

// runFleet runs the fleet scenario once against fresh bots and fakes.
func runFleet(ctx context.Context, binary string, setup fleetSetup) (fleetFigures, error) {
	w, err := newWorld(setup.latency, setup.agents, setup.statuses)
	if err != nil {
		return fleetFigures{}, err
	}
	defer w.close()
	w.rateLimit = setup.rateLimit
	if w.redis, err = startRedis(w.dir); err != nil {
		return fleetFigures{}, err
	}
	var bots []*child
	stopped := 0 // bots[:stopped] have been stopped
	defer func() {
		for _, b := range bots[stopped:] {
			b.kill()
		}
	}()
	for i := range setup.replicas {
		addr, err := freeAddr()
		if err != nil {
			return fleetFigures{}, err
		}
		b, err := startChild(ctx, binary, w.dir, w.env(addr), addr, w.slack, i+1)
		if err != nil {
			return fleetFigures{}, fmt.Errorf("replica %d: %w", i+1, err)
		}
		bots = append(bots, b)
	}
	var budget readiness
	for i, b := range bots {
		rd, err := b.waitContactCenter(ctx)
		if err != nil {
			return fleetFigures{}, fmt.Errorf("replica %d: %w", i+1, err)
		}
		if i == 0 {
			budget = rd
		}
	}
	if budget.Budget == nil {
		return fleetFigures{}, fmt.Errorf("replica 1's /readyz shows no API budget")
	}
	rate, burst := budget.Budget.Rate, budget.Budget.Burst

	// Round-robin gives each replica one of each help command.
	for range bots {
		if err := warmUp(ctx, w, scenario{}); err != nil {
			return fleetFigures{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	// The bot has been up before the shift starts: one /presence has read
	// the roster, as in the app's fleet test. Then the bucket refills.
	cold, coldText, err := firstPresence(ctx, w, answerWait(0, setup.pages(), rate))
	if err != nil {
		return fleetFigures{}, err
	}
	if rate > 0 {
		if err := sleepCtx(ctx, time.Duration(float64(burst)/rate*float64(time.Second))); err != nil {
			return fleetFigures{}, err
		}
	}

	before := simSummary(w.sim)
	w.sim.ResetStats()
	w.arrivals.reset()
	idle := make([]float64, len(bots))
	var usedBefore float64
	for i, b := range bots {
		rss, err := b.peakRSS()
		if err != nil {
			return fleetFigures{}, err
		}
		idle[i] = megabytes(rss)
		rt, err := b.scrape(ctx)
		if err != nil {
			return fleetFigures{}, err
		}
		usedBefore += rt.cpuSeconds
	}
	redisBefore, err := processCPU(w.redis.cmd.Process.Pid)
	if err != nil {
		return fleetFigures{}, err
	}
	cpuBefore, err := readCPU()
	if err != nil {
		return fleetFigures{}, err
	}

	start := time.Now()
	cmds, _, err := send(ctx, w.slack, fleetPlan(w, setup.presences))
	if err != nil {
		return fleetFigures{}, err
	}
	outs, err := collectFleet(ctx, w.slack, cmds, answerWait(setup.statuses, setup.pages(), rate))
	if err != nil {
		return fleetFigures{}, err
	}

	cpuAfter, err := readCPU()
	if err != nil {
		return fleetFigures{}, err
	}
	redisAfter, err := processCPU(w.redis.cmd.Process.Pid)
	if err != nil {
		return fleetFigures{}, err
	}
	f := fleetFigures{Rate: rate, Burst: float64(burst), mode: budget.Budget.Mode, IdleRSS: idle, ColdRoster: ms(cold)}
	var usedAfter float64
	for _, b := range bots {
		rt, err := b.scrape(ctx)
		if err != nil {
			return fleetFigures{}, err
		}
		usedAfter += rt.cpuSeconds
		peak, err := b.peakRSS()
		if err != nil {
			return fleetFigures{}, err
		}
		f.PeakRSS = append(f.PeakRSS, megabytes(peak))
	}
	cc, at := w.sim.Stats(), w.arrivals.times()
	after := simSummary(w.sim)
	for _, id := range w.agentIDs {
		if a, ok := w.sim.Agent(id); ok && a.Status == presence.Busy {
			f.Applied++
		}
	}
	for i, b := range bots {
		// Counted before the stop: the socket's going down at shutdown is
		// logged as a warning, and is no trouble of the load's.
		n, first := b.logs.warnings()
		f.Warnings += float64(n)
		if first != "" {
			f.note(fmt.Sprintf("replica %d's first of %d warnings: %s", i+1, n, first))
		}
		stopped = i + 1
		if err := b.stop(); err != nil {
			return fleetFigures{}, fmt.Errorf("replica %d: %w", i+1, err)
		}
		logs := b.logs.String()
		for _, s := range w.secrets() {
			if strings.Contains(logs, s) {
				return fleetFigures{}, fmt.Errorf("a secret appears in replica %d's logs", i+1)
			}
		}
	}

	f.measure(outs, before, after, start)
	if _, ok := parseCounts(coldText); !ok {
		f.note("the first /presence, before the burst, answered: " + coldText)
	}
	rates := ratesOf(start, at)
	f.Busiest, f.BusiestLater, f.BusiestWindow = float64(slices.Max(append(rates.buckets, 0))), float64(rates.busiestAfterFirst()), float64(rates.busiestWindow)
	f.MeanRate, f.BusyFor = rates.mean, rates.busy.Seconds()
	f.Requests, f.Gets, f.Puts, f.ListPages = float64(cc.Total), float64(cc.Gets), float64(cc.Puts), float64(cc.Lists)
	f.ListsPerMinute = ratio(f.ListPages, f.LastAnswer/60)
	botCPU := time.Duration((usedAfter - usedBefore) * float64(time.Second))
	f.OtherLoad = otherLoad(cpuBefore, cpuAfter, botCPU+(redisAfter-redisBefore))
	return f, nil
}

// firstPresence sends /presence until one is answered with the roster's
// counts: the roster read from cold, as by a bot that was up before the
// shift started. A read of 200 pages at the budget's rate outlasts one
// command's deadline (that /presence says so); the fetch goes on, and a
// later /presence finds it. It returns how long that took from the first
// send, and the answer's text.
func firstPresence(ctx context.Context, w *world, wait time.Duration) (time.Duration, string, error) {
	sent := time.Now()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		id, err := w.slack.SendSlashCommand(fakeslack.SlashCommand{Command: cmdPresence, UserID: w.supervisors[0], ChannelID: "C0FLOOR"})
		if err != nil {
			return 0, "", fmt.Errorf("send the first /presence: %w", err)
		}
		m, err := waitFinal(wctx, w.slack, id)
		if err != nil {
			return 0, "", fmt.Errorf("the first /presence, before the burst: no answer with counts within %s: %w", wait, err)
		}
		if _, ok := parseCounts(m.Text); ok {
			return m.At.Sub(sent), m.Text, nil
		}
		if err := sleepCtx(wctx, time.Second); err != nil {
			return 0, "", fmt.Errorf("the first /presence, before the burst: no answer with counts within %s (last: %q)", wait, m.Text)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// answerWait bounds the wait for the answers to statuses changes and the
// /presence among them: the budget's time for every change (a GET and a
// PUT each) and two roster reads, plus a minute; never past the life of a
// response_url. Without a budget the usual wait does.
func answerWait(statuses, pages int, rate float64) time.Duration {
	if rate <= 0 {
		return answerTimeout
	}
	d := time.Duration(float64(2*statuses+2*pages)*float64(time.Second)/rate) + time.Minute
	return min(d, responseURLLife)
}

// fleetPlan is the fleet's shift start: one /status busy from each mapped
// agent and presences /presence (the overview, whose counts can be
// checked) from the supervisors, shuffled and spread evenly over one
// second.
func fleetPlan(w *world, presences int) []planned {
	return shiftStart(w, presences, func(int) string { return "" })
}

// fleetOutcome is what became of one command of the fleet's burst.
type fleetOutcome struct {
	command  string
	acked    bool
	ack      time.Duration
	answered bool
	answer   time.Duration // from the envelope's write to the final answer
	at       time.Time     // the final answer's arrival
	text     string
	blocks   []byte
	finals   int  // final answers: one, unless the bot answered twice
	notice   bool // a "queued" notice came first
}

// queuedNotice tells the notice a change held by the budget sends first
// (commands.queuedNotice) from its answer, which replaces it.
func queuedNotice(text string) bool {
	return strings.HasPrefix(text, "⏳") && strings.Contains(text, " is queued: ")
}

func waitFinal(ctx context.Context, fs *fakeslack.Server, envelope string) (fakeslack.Message, error) {
	return fs.WaitMessage(ctx, func(m fakeslack.Message) bool {
		return m.Method == "response_url" && m.EnvelopeID == envelope && !queuedNotice(m.Text)
	})
}

// collectFleet waits, within wait, for every ack and final answer, then
// counts each command's posts.
func collectFleet(ctx context.Context, fs *fakeslack.Server, cmds []sent, wait time.Duration) ([]fleetOutcome, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out := make([]fleetOutcome, len(cmds))
	index := make(map[string]int, len(cmds))
	for i, c := range cmds {
		index[c.envelope] = i
		// Past the deadline the waits still find what has arrived.
		o := fleetOutcome{command: c.command}
		if ack, err := fs.WaitAck(wctx, c.envelope); err == nil {
			o.acked, o.ack = true, ack.Latency
			sentAt := ack.At.Add(-ack.Latency)
			if m, err := waitFinal(wctx, fs, c.envelope); err == nil {
				o.answered, o.answer, o.at, o.text, o.blocks = true, m.At.Sub(sentAt), m.At, m.Text, m.Blocks
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("wait for answers: %w", err)
		}
		out[i] = o
	}
	for _, m := range fs.Messages() {
		i, ok := index[m.EnvelopeID]
		if !ok || m.Method != "response_url" {
			continue
		}
		if queuedNotice(m.Text) {
			out[i].notice = true
		} else {
			out[i].finals++
		}
	}
	return out, nil
}

// measure counts the outcomes: what each answer says, against the
// simulator's counts before and after the burst, and how long it took.
func (f *fleetFigures) measure(outs []fleetOutcome, before, after presence.Summary, start time.Time) {
	var acks []time.Duration
	answers := map[string][]time.Duration{}
	var last time.Time
	f.Commands = float64(len(outs))
	for _, o := range outs {
		if o.command == cmdStatus {
			f.Statuses++
		} else {
			f.Presences++
		}
		if o.acked {
			acks = append(acks, o.ack)
		}
		if o.notice {
			f.Notices++
		}
		if o.finals > 1 {
			f.Twice++
		}
		if !o.answered {
			if o.command == cmdStatus {
				f.StatusUnanswered++
			} else {
				f.PresenceUnanswered++
			}
			f.note(o.command + ": no answer through response_url")
			continue
		}
		answers[o.command] = append(answers[o.command], o.answer)
		if o.at.After(last) {
			last = o.at
		}
		switch classifyFleetAnswer(o.command, o.text, o.blocks, before, after) {
		case changed:
			f.Changed++
		case exhausted:
			f.HeldBack++
		case countedStale:
			f.Stale++
			f.Counted++
		case counted:
			f.Counted++
		case lastKnownData:
			f.LastKnown++
		default:
			f.note(o.command + " answered: " + o.text)
		}
	}
	f.AsAsked = f.Changed + f.Counted
	f.AckP99 = ms(percentile(acks, 99))
	f.StatusP50, f.StatusP99 = ms(percentile(answers[cmdStatus], 50)), ms(percentile(answers[cmdStatus], 99))
	f.PresenceP50, f.PresenceP99 = ms(percentile(answers[cmdPresence], 50)), ms(percentile(answers[cmdPresence], 99))
	f.LastAnswer = math.NaN()
	if !last.IsZero() {
		f.LastAnswer = last.Sub(start).Seconds()
	}
}

// maxNotes bounds the notes of a run: a few kinds of trouble explain it.
const maxNotes = 6

// note keeps n unless the same is kept or there are enough.
func (f *fleetFigures) note(n string) {
	if len(f.notes) < maxNotes && !slices.Contains(f.notes, n) {
		f.notes = append(f.notes, n)
	}
}

// answerKind is what an answer of the fleet's burst says.
type answerKind int

const (
	unanswered    answerKind = iota
	changed                  // /status: ✅, the change was made
	exhausted                // /status: held back by the budget past its limit; nothing changed
	counted                  // /presence: counts the simulator had
	countedStale             // the same, marked with its age
	lastKnownData            // /presence: a read failed; the last known roster, marked
	otherAnswer              // anything else: a failure, or counts nobody had
)

func (k answerKind) String() string {
	return [...]string{"unanswered", "changed", "exhausted", "counted", "counted stale", "last known data", "other answer"}[k]
}

// classifyFleetAnswer reads an answer. The burst only moves agents from
// available to busy, so a /presence answer is right when it has the
// counts of some moment between before and after: the other statuses as
// before, available + busy as before, busy between before's and after's.
func classifyFleetAnswer(command, text string, blocks []byte, before, after presence.Summary) answerKind {
	if command == cmdStatus {
		switch {
		case strings.HasPrefix(text, "✅"):
			return changed
		case strings.Contains(text, "API budget is exhausted"):
			return exhausted
		}
		return otherAnswer
	}
	got, ok := parseCounts(text)
	if !ok || got.Total != before.Total || got.OnCall != before.OnCall || got.AfterCallWork != before.AfterCallWork ||
		got.Offline != before.Offline || got.Available+got.Busy != before.Available+before.Busy ||
		got.Busy < before.Busy || got.Busy > after.Busy {
		return otherAnswer
	}
	switch {
	case bytes.Contains(blocks, []byte("last known data")):
		return lastKnownData
	case bytes.Contains(blocks, []byte("Data from ")):
		return countedStale
	}
	return counted
}

// parseCounts reads the overview's text, "Agent presence — 20,000
// agents: 🟢 7,000 available · 🔴 3,000 busy · …", back into a Summary.
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
	if s.Total, ok = atoiCommas(strings.TrimSuffix(total, " agents")); !ok {
		return s, false
	}
	for part := range strings.SplitSeq(counts, " · ") {
		f := strings.Fields(part)
		if len(f) < 3 {
			return s, false
		}
		n, ok := atoiCommas(f[1])
		if !ok {
			return s, false
		}
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

func atoiCommas(s string) (int, bool) {
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	return n, err == nil
}

// simSummary counts the simulator's agents by status.
func simSummary(sim *ccmsim.Sim) presence.Summary {
	var s presence.Summary
	for _, a := range sim.Agents() {
		s.Add(a.Status)
	}
	return s
}

// requestRates are the requests per second the contact center got.
type requestRates struct {
	// buckets counts the requests of each second from the load's start.
	buckets []int
	// busiestWindow is the most within any one second.
	busiestWindow int
	// mean is the rate between the first request and the last, over busy.
	mean float64
	busy time.Duration
}

// ratesOf measures arrivals (sorted in place) from the load's start.
func ratesOf(from time.Time, at []time.Time) requestRates {
	var r requestRates
	if len(at) == 0 {
		return r
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range at {
		i := max(0, int(t.Sub(from)/time.Second))
		for len(r.buckets) <= i {
			r.buckets = append(r.buckets, 0)
		}
		r.buckets[i]++
	}
	j := 0
	for i := range at {
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		r.busiestWindow = max(r.busiestWindow, j-i)
	}
	r.busy = at[len(at)-1].Sub(at[0])
	if r.busy > 0 {
		r.mean = float64(len(at)-1) / r.busy.Seconds()
	}
	return r
}

// busiestAfterFirst is the busiest second once the bucket's burst, spent
// in the first, is gone: the rate alone.
func (r requestRates) busiestAfterFirst() int {
	if len(r.buckets) < 2 {
		return 0
	}
	return slices.Max(r.buckets[1:])
}

// fleetRow is the fleet scenario's medians in the report.
type fleetRow struct {
	setup fleetSetup
	med   fleetFigures
}

// write prints the fleet's figures.
func (fr *fleetRow) write(out io.Writer, runs int) {
	s, f := fr.setup, fr.med
	limit := "EXOTEL_RATE_LIMIT unset, the default"
	if s.rateLimit != "" {
		limit = "EXOTEL_RATE_LIMIT=" + s.rateLimit
	}
	fmt.Fprintf(out, "\nFleet (%s), medians of %d runs: %s agents, %d replicas sharing one redis-server and one fake Slack (envelopes round-robin over their Socket Mode connections); %s (%s/s, burst %s, %s); API latency %s; %s /presence and %s /status within %s, after a first /presence (the roster read from cold):\n",
		fleetName, runs, message.Thousands(s.agents), s.replicas, limit, num(f.Rate), num(f.Burst), f.mode, s.latency,
		message.Thousands(s.presences), message.Thousands(s.statuses), burstWindow)
	lines := [][2]string{
		{"requests per second at the simulator", fmt.Sprintf("busiest 1-s bucket %s, busiest after the first second %s, busiest in any 1-s window %s; mean %s over the %s s from the first request to the last (budget %s/s, burst %s)",
			num(f.Busiest), num(f.BusiestLater), num(f.BusiestWindow), num(f.MeanRate), num(f.BusyFor), num(f.Rate), num(f.Burst))},
		{"requests", fmt.Sprintf("%s: %s GET + %s PUT + %s list pages", num(f.Requests), num(f.Gets), num(f.Puts), num(f.ListPages))},
		{"roster reads", fmt.Sprintf("%s × %d pages; %s list pages per minute over the %s s to the last answer",
			num(f.ListPages/float64(s.pages())), s.pages(), num(f.ListsPerMinute), num(f.LastAnswer))},
		{"/status answers", fmt.Sprintf("%s changed, %s held back by the budget past its limit (nothing changed), %s other, %s unanswered; %s applied at the simulator; %s queued notices first",
			num(f.Changed), num(f.HeldBack), num(f.Statuses-f.Changed-f.HeldBack-f.StatusUnanswered), num(f.StatusUnanswered), num(f.Applied), num(f.Notices))},
		{"/presence answers", fmt.Sprintf("%s with the simulator's counts (%s marked stale), %s with the last known data after a failed read, %s other, %s unanswered",
			num(f.Counted), num(f.Stale), num(f.LastKnown), num(f.Presences-f.Counted-f.LastKnown-f.PresenceUnanswered), num(f.PresenceUnanswered))},
		{"commands", fmt.Sprintf("%s of %s answered as asked, %s answered twice", num(f.AsAsked), num(f.Commands), num(f.Twice))},
		{"reply p50 / p99", fmt.Sprintf("/status %s / %s, /presence %s / %s (from the envelope's write to the final answer); ack p99 %s",
			inTime(f.StatusP50), inTime(f.StatusP99), inTime(f.PresenceP50), inTime(f.PresenceP99), inTime(f.AckP99))},
		{"first /presence (cold roster)", inTime(f.ColdRoster)},
		{"peak RSS per replica", rssLine(f.PeakRSS) + " (after warm-up " + joinNums(f.IdleRSS, " / ") + " MB)"},
		{"bot warnings", fmt.Sprintf("%s (all replicas); other load %s cores", num(f.Warnings), num(f.OtherLoad))},
	}
	for _, l := range lines {
		fmt.Fprintf(out, "  %-36s %s\n", l[0], l[1])
	}
	for _, n := range f.notes {
		fmt.Fprintf(out, "note: %s: %s\n", fleetName, n)
	}
	if f.OtherLoad > busyMachine {
		fmt.Fprintf(out, "note: %s: other work kept %s cores busy meanwhile; its latencies are pessimistic, measure again on a quiet machine\n",
			fleetName, num(f.OtherLoad))
	}
}

// targets are the fleet's targets, judged on the medians.
func (fr *fleetRow) targets() []target {
	s, f := fr.setup, fr.med
	where := " (" + fleetName + ")"
	budget := target{name: "fleet: at most rate + burst requests in any second at the simulator", measured: f.Rate > 0,
		met:    f.BusiestWindow <= f.Rate+f.Burst,
		detail: fmt.Sprintf("%s of %s (%s/s + %s); mean %s/s%s", num(f.BusiestWindow), num(f.Rate+f.Burst), num(f.Rate), num(f.Burst), num(f.MeanRate), where)}
	if !budget.measured {
		budget.detail = "the bots kept no budget" + where
	}
	answered := target{name: "fleet: every command answered as asked, once", measured: true,
		met:    f.AsAsked == f.Commands && f.Twice == 0 && f.Applied == f.Changed,
		detail: num(f.AsAsked) + " of " + num(f.Commands) + where}
	if !answered.met {
		answered.detail += fmt.Sprintf(": %s /status held back by the budget, %s /presence with the last known data, %s unanswered, %s answered twice, %s changes applied for %s confirmed",
			num(f.HeldBack), num(f.LastKnown), num(f.StatusUnanswered+f.PresenceUnanswered), num(f.Twice), num(f.Applied), num(f.Changed))
	}
	peak := slices.Max(f.PeakRSS)
	rss := target{name: fmt.Sprintf("fleet: peak RSS per replica under %s MB with %s agents", num(targetPeakRSSMB), message.Thousands(s.agents)),
		measured: true, met: peak < targetPeakRSSMB, detail: joinNums(f.PeakRSS, " / ") + " MB" + where}
	return []target{budget, answered, rss}
}

// inTime shows milliseconds as ms below a second, as seconds above.
func inTime(msec float64) string {
	if math.IsNaN(msec) || msec < 1000 {
		return num(msec) + " ms"
	}
	return num(msec/1000) + " s"
}

func joinNums(xs []float64, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = num(x)
	}
	return strings.Join(parts, sep)
}

func rssLine(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("replica %d %s MB", i+1, num(x))
	}
	return strings.Join(parts, ", ")
}
