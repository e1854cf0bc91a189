package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// answerTimeout bounds the wait for the last answers after the last send;
// the bot answers every command within 10 s or says why not.
const answerTimeout = 30 * time.Second

// pagesPerFetch is how many list requests one whole-roster fetch takes.
const pagesPerFetch = (rosterSize + presence.MaxPageSize - 1) / presence.MaxPageSize

// runScenario runs one load against a fresh bot and fresh fakes, and
// measures it.
func runScenario(ctx context.Context, binary string, sc scenario, steadyFor time.Duration) (figures, error) {
	w, err := newWorld(sc.latency, rosterSize, mappedAgents)
	if err != nil {
		return figures{}, err
	}
	defer w.close()
	if sc.history {
		// Up to the bot's start: the bot's history job records the
		// minutes after it, as a bot running since the morning does.
		if err := seedHistory(ctx, w.stateDir(), w.roster, time.Now()); err != nil {
			return figures{}, err
		}
	}
	if sc.redis {
		if w.redis, err = startRedis(w.dir); err != nil {
			return figures{}, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return figures{}, err
	}
	bot, err := startChild(ctx, binary, w.dir, w.env(addr), addr, w.slack, 1)
	if err != nil {
		return figures{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			bot.kill()
		}
	}()

	if err := warmUp(ctx, w, sc); err != nil {
		return figures{}, fmt.Errorf("warm-up: %w%s", err, bot.logs.tail())
	}
	// The load starts from here: nothing before it counts.
	w.sim.ResetStats()
	idle, err := bot.peakRSS()
	if err != nil {
		return figures{}, err
	}
	before, err := bot.scrape(ctx)
	if err != nil {
		return figures{}, err
	}
	cpuBefore, err := readCPU()
	if err != nil {
		return figures{}, err
	}

	var plan []planned
	switch sc.kind {
	case burstLoad:
		plan = burstPlan(w, sc.asks)
	case steadyLoad:
		plan = steadyPlan(w, steadyFor, sc.asks)
	}
	cmds, sentOver, err := send(ctx, w.slack, plan)
	if err != nil {
		return figures{}, err
	}
	outcomes, err := collect(ctx, w.slack, cmds)
	if err != nil {
		return figures{}, err
	}

	cpuAfter, err := readCPU()
	if err != nil {
		return figures{}, err
	}
	after, err := bot.scrape(ctx)
	if err != nil {
		return figures{}, err
	}
	cc := w.sim.Stats()
	peak, err := bot.peakRSS()
	if err != nil {
		return figures{}, err
	}
	// Counted before the stop: the socket's going down at shutdown is
	// logged as a warning, and is no trouble of the load's.
	warnings, firstWarning := bot.logs.warnings()
	stopped = true
	if err := bot.stop(); err != nil {
		return figures{}, err
	}
	logs := bot.logs.String()
	for _, s := range w.secrets() {
		if strings.Contains(logs, s) {
			return figures{}, fmt.Errorf("a secret appears in the bot's logs")
		}
	}

	used := after.sub(before)
	f := measure(outcomes, cc.Lists, cc.Gets, cc.Puts, cc.Total, used)
	f.OtherLoad = otherLoad(cpuBefore, cpuAfter, time.Duration(used.cpuSeconds*float64(time.Second)))
	// The fakes share the machine with the bot: what Slack and the
	// contact center do elsewhere in production is CPU the bot lacks here.
	f.FakesCPUPerCommand = ratio(ms(cpuAfter.self-cpuBefore.self), f.Commands)
	f.SentOver = sentOver.Seconds()
	f.IdleRSS, f.PeakRSS = megabytes(idle), megabytes(peak)
	f.Warnings = float64(warnings)
	if f.problem == "" {
		f.problem = firstWarning
	}
	return f, nil
}

func megabytes(b int64) float64 { return float64(b) / 1e6 }

// warmUp answers one command of each kind that needs no contact center,
// so the first measured commands do not pay for the bot's first
// connections to Slack; the roster stays cold, as at a shift start. A bot
// with history draws one trend first: the load starts only once the
// bot's history answers with a chart.
func warmUp(ctx context.Context, w *world, sc scenario) error {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	cmds := []fakeslack.SlashCommand{
		{Command: cmdStatus, Text: "help", UserID: w.agents[0]},
		{Command: cmdPresence, Text: "help", UserID: w.supervisors[0]},
	}
	if sc.history {
		cmds = append(cmds, fakeslack.SlashCommand{Command: cmdPresence, Text: trendAsks[0], UserID: w.supervisors[0]})
	}
	for _, c := range cmds {
		id, err := w.slack.SendSlashCommand(c)
		if err != nil {
			return fmt.Errorf("send %s %s: %w", c.Command, c.Text, err)
		}
		m, err := waitAnswer(ctx, w.slack, id)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.Command, c.Text, err)
		}
		if c.Text == trendAsks[0] && !answeredAsAsked(c.Command, c.Text, m) {
			return fmt.Errorf("%s %s drew no chart from the seeded history: %q", c.Command, c.Text, m.Text)
		}
	}
	return nil
}

func waitAnswer(ctx context.Context, fs *fakeslack.Server, envelope string) (fakeslack.Message, error) {
	return fs.WaitMessage(ctx, func(m fakeslack.Message) bool {
		return m.Method == "response_url" && m.EnvelopeID == envelope
	})
}

// outcome is what became of one command.
type outcome struct {
	command string
	ask     string // the command's words
	acked   bool
	ack     time.Duration // from the envelope's write to the ack's arrival
	// answered is set when an answer came through the response_url;
	// answer runs from the envelope's write to the answer's arrival.
	answered bool
	answer   time.Duration
	ok       bool   // the answer says the command did what it asked
	text     string // the answer's notification text
	// missing is the rich block the answer should have carried and did
	// not ("data_table"), or "".
	missing string
}

// problem says what went wrong with a command not answered as asked.
func (o outcome) problem() string {
	what := o.command
	if o.ask != "" {
		what += " " + o.ask
	}
	switch {
	case !o.acked:
		return what + ": no ack"
	case !o.answered:
		return what + ": no answer through response_url"
	case o.missing != "":
		return what + " answered without a " + o.missing + " block: " + o.text
	}
	return what + " answered: " + o.text
}

// collect waits for every ack and answer. Both are timed on the fake's
// clock, from the moment the envelope was written to the socket.
func collect(ctx context.Context, fs *fakeslack.Server, cmds []sent) ([]outcome, error) {
	wctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	out := make([]outcome, len(cmds))
	for i, c := range cmds {
		// Past the deadline the waits still find what has arrived, so
		// every command is looked at; the missing count as unanswered.
		o := outcome{command: c.command, ask: c.text}
		if ack, err := fs.WaitAck(wctx, c.envelope); err == nil {
			o.acked, o.ack = true, ack.Latency
			sentAt := ack.At.Add(-ack.Latency)
			if m, err := waitAnswer(wctx, fs, c.envelope); err == nil {
				o.answered, o.answer, o.text = true, m.At.Sub(sentAt), m.Text
				o.ok = answeredAsAsked(c.command, c.text, m)
				if want := wantBlock(c.command, c.text); want != "" && !hasBlock(m.Blocks, want) {
					o.missing = want
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("wait for answers: %w", err)
		}
		out[i] = o
	}
	return out, nil
}

// answeredAsAsked tells a real answer from a refusal, an apology or a
// lesser answer: a /status change confirms with ✅; a /presence answer
// counts the roster, and a table one carries the table; a trend carries
// its chart (drawn from the history, it counts no roster). An answer in
// classic blocks where a table or a chart was asked for is what a
// workspace refusing them gets, not what the benchmark measures.
func answeredAsAsked(command, ask string, m fakeslack.Message) bool {
	want := wantBlock(command, ask)
	switch {
	case command == cmdStatus:
		return strings.HasPrefix(m.Text, "✅")
	case command != cmdPresence:
		return false
	case want != "" && !hasBlock(m.Blocks, want):
		return false
	case want == "data_visualization":
		return true
	}
	return strings.Contains(m.Text, message.Thousands(rosterSize)+" agents")
}

// wantBlock is the rich block the answer to command ask must carry, or "".
func wantBlock(command, ask string) string {
	if command != cmdPresence {
		return ""
	}
	switch word, _, _ := strings.Cut(ask, " "); word {
	case "table":
		return "data_table"
	case "trend":
		return "data_visualization"
	}
	return ""
}

// hasBlock reports whether blocks, a message's "blocks" as sent, hold one
// of type typ.
func hasBlock(blocks json.RawMessage, typ string) bool {
	var bs []struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(blocks, &bs) != nil {
		return false
	}
	for _, b := range bs {
		if b.Type == typ {
			return true
		}
	}
	return false
}

// figures are one run's results, or the medians of several. Latencies are
// in milliseconds, sizes in megabytes (10⁶ bytes).
type figures struct {
	Commands, Answered     float64 // sent; answered as asked
	SentOver               float64 // seconds from the first send to the last
	AckP50, AckP99, AckMax float64
	StatusP50, StatusP99   float64 // NaN when the load had no such command
	PresenceP50            float64
	PresenceP99            float64
	CCPerCommand           float64 // contact-center requests per command
	CCPerStatus            float64 // GETs and PUTs per /status
	RosterFetches          float64 // list requests / pages per fetch
	PresenceCommands       float64
	AllocsPerCommand       float64
	KBPerCommand           float64 // bytes allocated, in kB
	CPUPerCommand          float64 // ms of the bot's CPU
	FakesCPUPerCommand     float64 // ms of this process's CPU: the fakes, on the bot's cores
	IdleRSS, PeakRSS       float64 // after warm-up; the high-water mark at the end
	Warnings               float64 // the bot's log lines at warn or above
	OtherLoad              float64 // cores busy with neither the bot nor the benchmark
	problem                string  // the first failed answer or warning, to explain a bad run
}

// fields lists every figure, so medians are taken field by field.
func (f *figures) fields() []*float64 {
	return []*float64{
		&f.Commands, &f.Answered, &f.SentOver, &f.AckP50, &f.AckP99, &f.AckMax,
		&f.StatusP50, &f.StatusP99, &f.PresenceP50, &f.PresenceP99,
		&f.CCPerCommand, &f.CCPerStatus, &f.RosterFetches, &f.PresenceCommands,
		&f.AllocsPerCommand, &f.KBPerCommand, &f.CPUPerCommand, &f.FakesCPUPerCommand,
		&f.IdleRSS, &f.PeakRSS, &f.Warnings, &f.OtherLoad,
	}
}

// measure turns a run's outcomes and counters into figures.
func measure(outs []outcome, lists, gets, puts, total int, rt runtimeCounters) figures {
	var acks []time.Duration
	answers := map[string][]time.Duration{}
	f := figures{Commands: float64(len(outs))}
	statuses := 0
	for _, o := range outs {
		switch o.command {
		case cmdStatus:
			statuses++
		case cmdPresence:
			f.PresenceCommands++
		}
		if o.acked {
			acks = append(acks, o.ack)
		}
		if o.answered {
			answers[o.command] = append(answers[o.command], o.answer)
		}
		switch {
		case o.ok:
			f.Answered++
		case f.problem == "":
			f.problem = o.problem()
		}
	}
	f.AckP50, f.AckP99, f.AckMax = ms(percentile(acks, 50)), ms(percentile(acks, 99)), ms(percentile(acks, 100))
	f.StatusP50, f.StatusP99 = ms(percentile(answers[cmdStatus], 50)), ms(percentile(answers[cmdStatus], 99))
	f.PresenceP50, f.PresenceP99 = ms(percentile(answers[cmdPresence], 50)), ms(percentile(answers[cmdPresence], 99))
	n := max(f.Commands, 1)
	f.CCPerCommand = float64(total) / n
	f.CCPerStatus = ratio(float64(gets+puts), float64(statuses))
	f.RosterFetches = float64(lists) / pagesPerFetch
	f.AllocsPerCommand = rt.mallocs / n
	f.KBPerCommand = rt.allocBytes / n / 1e3
	f.CPUPerCommand = rt.cpuSeconds * 1e3 / n
	return f
}

// ms is d in milliseconds; NaN (no sample) stays NaN.
func ms(d time.Duration) float64 {
	if d < 0 {
		return math.NaN()
	}
	return float64(d) / float64(time.Millisecond)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of ds: the
// smallest sample that p% of the samples do not exceed. It returns -1 for
// no samples. ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	slices.Sort(ds)
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[min(max(rank, 1), len(ds))-1]
}

// median is the middle of xs, or the mean of the two middles; NaNs (a
// figure a run could not measure) are left out.
func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	mid := len(v) / 2
	if len(v)%2 == 1 {
		return v[mid]
	}
	return (v[mid-1] + v[mid]) / 2
}

// medianFigures takes each figure's median over the runs; the first
// problem any run met is kept.
func medianFigures(runs []figures) figures {
	var out figures
	dst := out.fields()
	for i := range dst {
		xs := make([]float64, len(runs))
		for r := range runs {
			xs[r] = *runs[r].fields()[i]
		}
		*dst[i] = median(xs)
	}
	for _, r := range runs {
		if r.problem != "" {
			out.problem = r.problem
			break
		}
	}
	return out
}

// oneLine is a run's headline figures, printed as the run ends.
func (f figures) oneLine() string {
	return fmt.Sprintf("%s/%s answered, ack p99 %s ms, answer p99 /status %s ms /presence %s ms, roster fetches %s, %s allocs/cmd, peak RSS %s MB",
		num(f.Answered), num(f.Commands), num(f.AckP99), num(f.StatusP99), num(f.PresenceP99),
		num(f.RosterFetches), num(f.AllocsPerCommand), num(f.PeakRSS))
}
