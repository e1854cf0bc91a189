package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/presencebot/presence-bot/message"
)

// The performance targets (README, "Performance").
const (
	targetAckP99      = 10 * time.Millisecond // during the burst
	targetAnswerSlack = 20 * time.Millisecond // /status p99 ≤ 2×API latency + this
	targetAnswerAPI   = 100 * time.Millisecond
	targetFetches     = 2    // roster fetches for the burst's 200 /presence
	targetPeakRSSMB   = 60.0 // with the roster and the burst
	targetRender      = 5 * time.Millisecond
)

// busyMachine is how much other load (in cores) makes a run's latencies
// worth a warning.
const busyMachine = 0.2

// report gathers the medians and prints them.
type report struct {
	runs       int
	render     []renderFigure
	renderDone bool
	rows       []row
	fleet      *fleetRow // nil unless the fleet scenario ran
}

type row struct {
	sc  scenario
	med figures
}

func (r *report) add(sc scenario, runs []figures) {
	r.rows = append(r.rows, row{sc: sc, med: medianFigures(runs)})
}

func (r *report) write(out io.Writer) {
	if r.renderDone {
		fmt.Fprintf(out, "\nRendering /presence on 5,000 agents (handler + Block Kit + JSON, from a warm snapshot; the trends from %d hours of history in memory):\n", historyHours)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "answer\ttime/op\tallocs/op\tkB/op\tblocks\tlongest text\tall text\ttable or chart\tJSON bytes\tSlack limits\t")
		for _, f := range r.render {
			fits := "fits"
			if f.problem != "" {
				fits = "BREAKS: " + f.problem
			}
			fmt.Fprintf(tw, "%s\t%s ms\t%s\t%s\t%d/%d\t%s/%s\t%s/%s\t%s\t%s\t%s\t\n", f.query, num(ms(f.perOp)), num(float64(f.allocs)),
				num(float64(f.bytes)/1e3), f.blocks, message.MaxBlocks,
				message.Thousands(f.longest), message.Thousands(message.MaxSectionText),
				message.Thousands(f.total), message.Thousands(message.MaxMessageText), f.rich, message.Thousands(f.payload), fits)
		}
		_ = tw.Flush()
	}
	if len(r.rows) > 0 {
		fmt.Fprintf(out, "\nLatency in ms, medians of %d runs (from the envelope's write: to the ack; to the answer's arrival at response_url):\n", r.runs)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tAPI\tcommands\tanswered\tsent over\tack p50\tack p99\tack max\t/status p50\t/status p99\t/presence p50\t/presence p99\t")
		for _, rw := range r.rows {
			f := rw.med
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", rw.sc.name, rw.sc.latency, num(f.Commands), num(f.Answered),
				num(f.SentOver), num(f.AckP50), num(f.AckP99), num(f.AckMax),
				num(f.StatusP50), num(f.StatusP99), num(f.PresenceP50), num(f.PresenceP99))
		}
		_ = tw.Flush()

		fmt.Fprintf(out, "\nCost, medians of %d runs (contact-center requests from the simulator; allocations and CPU from the bot's /metrics, the fakes' CPU from this process's; RSS from /proc/<pid>/status):\n", r.runs)
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tAPI\tCC req/cmd\tGET+PUT per /status\troster fetches\t/presence\tallocs/cmd\tkB/cmd\tCPU ms/cmd\tfakes' CPU ms/cmd\tRSS after warm-up\tpeak RSS\tbot warnings\tother load\t")
		for _, rw := range r.rows {
			f := rw.med
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s × %d pages\t%s\t%s\t%s\t%s\t%s\t%s MB\t%s MB\t%s\t%s cores\t\n", rw.sc.name, rw.sc.latency,
				num(f.CCPerCommand), num(f.CCPerStatus), num(f.RosterFetches), pagesPerFetch, num(f.PresenceCommands),
				num(f.AllocsPerCommand), num(f.KBPerCommand), num(f.CPUPerCommand), num(f.FakesCPUPerCommand), num(f.IdleRSS), num(f.PeakRSS), num(f.Warnings),
				num(f.OtherLoad))
		}
		_ = tw.Flush()
		for _, rw := range r.rows {
			if rw.med.problem != "" {
				fmt.Fprintf(out, "note: %s: %s\n", rw.sc.name, rw.med.problem)
			}
			if rw.med.OtherLoad > busyMachine {
				fmt.Fprintf(out, "note: %s: other work kept %s cores busy meanwhile; its latencies are pessimistic, measure again on a quiet machine\n",
					rw.sc.name, num(rw.med.OtherLoad))
			}
		}
	}

	if r.fleet != nil {
		r.fleet.write(out, r.runs)
	}

	fmt.Fprintln(out, "\nPerformance targets:")
	for _, t := range r.targets() {
		fmt.Fprintf(out, "  %-9s %s: %s\n", t.verdict(), t.name, t.detail)
	}
}

// target is one of the performance targets, judged on the medians.
type target struct {
	name     string
	measured bool
	met      bool
	detail   string
}

func (t target) verdict() string {
	switch {
	case !t.measured:
		return "[skipped]"
	case t.met:
		return "[met]"
	}
	return "[NOT met]"
}

// judge builds a target from the rows it applies to: each row's value and
// whether it passes.
func (r *report) judge(name string, applies func(scenario) bool, value func(figures) float64, pass func(scenario, float64) bool, show func(scenario, float64) string) target {
	t := target{name: name, met: true}
	var parts []string
	for _, rw := range r.rows {
		if !applies(rw.sc) {
			continue
		}
		t.measured = true
		v := value(rw.med)
		if math.IsNaN(v) || !pass(rw.sc, v) {
			t.met = false
		}
		parts = append(parts, show(rw.sc, v)+" ("+rw.sc.name+")")
	}
	t.detail = strings.Join(parts, "; ")
	if !t.measured {
		t.detail = "no scenario that shows it was run"
	}
	return t
}

func (r *report) targets() []target {
	isBurst := func(sc scenario) bool { return sc.kind == burstLoad }
	inMS := func(_ scenario, v float64) string { return num(v) + " ms" }
	answerLimit := func(sc scenario) float64 { return ms(2*sc.latency + targetAnswerSlack) }

	out := []target{
		r.judge(fmt.Sprintf("ack p99 under %s during the shift-start burst", targetAckP99), isBurst,
			func(f figures) float64 { return f.AckP99 },
			func(_ scenario, v float64) bool { return v < ms(targetAckP99) }, inMS),
		r.judge(fmt.Sprintf("/status answer p99 within 2×API latency + %s at %s API latency", targetAnswerSlack, targetAnswerAPI),
			func(sc scenario) bool { return sc.latency == targetAnswerAPI },
			func(f figures) float64 { return f.StatusP99 },
			func(sc scenario, v float64) bool { return v <= answerLimit(sc) },
			func(sc scenario, v float64) string { return num(v) + " ms of " + num(answerLimit(sc)) + " ms" }),
		r.judge(fmt.Sprintf("at most %d roster fetches for %d /presence within one second", targetFetches, burstPresence), isBurst,
			func(f figures) float64 { return f.RosterFetches },
			func(_ scenario, v float64) bool { return v <= targetFetches },
			func(_ scenario, v float64) string { return num(v) + " × " + strconv.Itoa(pagesPerFetch) + " pages" }),
		r.judge(fmt.Sprintf("peak RSS under %s MB with %s agents and the burst", num(targetPeakRSSMB), message.Thousands(rosterSize)), isBurst,
			func(f figures) float64 { return f.PeakRSS },
			func(_ scenario, v float64) bool { return v < targetPeakRSSMB },
			func(_ scenario, v float64) string { return num(v) + " MB" }),
	}

	rt := target{name: fmt.Sprintf("rendering /presence, its table and its trend for %s agents under %s and within Slack's limits", message.Thousands(rosterSize), targetRender)}
	if r.renderDone {
		rt.measured, rt.met = true, true
		var parts []string
		for _, f := range r.render {
			if f.perOp >= targetRender || f.problem != "" {
				rt.met = false
			}
			fits := "fits"
			if f.problem != "" {
				fits = f.problem
			}
			parts = append(parts, fmt.Sprintf("%s ms, %d blocks, %s (%s)", num(ms(f.perOp)), f.blocks, fits, f.query))
		}
		rt.detail = strings.Join(parts, "; ")
	} else {
		rt.detail = "not run"
	}
	out = append(out, rt)

	// Not a performance target, but the figures mean nothing without it.
	answered := map[string]figures{}
	for _, rw := range r.rows {
		answered[rw.sc.name] = rw.med
	}
	out = append(out, r.judge("every command answered as asked", func(scenario) bool { return true },
		func(f figures) float64 { return f.Commands - f.Answered },
		func(_ scenario, v float64) bool { return v == 0 },
		func(sc scenario, _ float64) string {
			f := answered[sc.name]
			return num(f.Answered) + " of " + num(f.Commands)
		}))
	if r.fleet != nil {
		out = append(out, r.fleet.targets()...)
	}
	return out
}

// num formats a figure for the tables: whole numbers with thousands
// separators, others with three significant digits or so; "–" for a
// figure the run could not measure.
func num(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case x == math.Trunc(x) && math.Abs(x) < 1e12:
		return message.Thousands(int(x))
	case math.Abs(x) >= 100:
		return message.Thousands(int(math.Round(x)))
	case math.Abs(x) >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
