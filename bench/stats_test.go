package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
	"github.com/presencebot/presence-bot/message"
)

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * ms // 100 ms down to 1 ms
	}
	tests := []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		// No samples: nothing to report.
		{"empty", nil, 50, -1},
		// One sample is every percentile.
		{"one", []time.Duration{7 * ms}, 99, 7 * ms},
		// Nearest rank: the 50th of 1..100 is 50, whatever the order.
		{"p50 of 100", hundred, 50, 50 * ms},
		// The 99th of 100 is the second largest, not the largest.
		{"p99 of 100", hundred, 99, 99 * ms},
		// 100 is the maximum.
		{"max", hundred, 100, 100 * ms},
		// Rounding up: the 99th of 4 samples is the 4th.
		{"p99 of 4", []time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 99, 4 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := append([]time.Duration(nil), tt.ds...)
			if got := percentile(ds, tt.p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		// Odd count: the middle one.
		{"odd", []float64{3, 1, 2}, 2},
		// Even count: the mean of the two middles.
		{"even", []float64{4, 1, 3, 2}, 2.5},
		// A run that could not measure a figure does not drag it down.
		{"nan left out", []float64{nan, 5, 7, 6}, 6},
		// Nothing measured stays unmeasured.
		{"all nan", []float64{nan, nan}, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := median(tt.xs)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMedianFigures: every figure is the median of its own column, and the
// first run's problem is kept.
func TestMedianFigures(t *testing.T) {
	nan := math.NaN()
	runs := []figures{
		{AckP99: 3, PeakRSS: 40, StatusP99: nan, problem: ""},
		{AckP99: 9, PeakRSS: 30, StatusP99: nan, problem: "/status: no answer through response_url"},
		{AckP99: 5, PeakRSS: 50, StatusP99: nan, problem: "later"},
	}
	got := medianFigures(runs)
	if got.AckP99 != 5 || got.PeakRSS != 40 {
		t.Errorf("got ack p99 %v and peak RSS %v, want 5 and 40", got.AckP99, got.PeakRSS)
	}
	if got.problem != "/status: no answer through response_url" {
		t.Errorf("got problem %q, want the first run's", got.problem)
	}
	// A figure no run measured stays unmeasured; a measured zero stays zero.
	if !math.IsNaN(got.StatusP99) || got.Commands != 0 {
		t.Errorf("got /status p99 %v and commands %v, want NaN and 0", got.StatusP99, got.Commands)
	}
}

func TestMeasure(t *testing.T) {
	ms := time.Millisecond
	outs := []outcome{
		{command: cmdStatus, acked: true, ack: 1 * ms, answered: true, answer: 200 * ms, ok: true},
		{command: cmdStatus, acked: true, ack: 2 * ms, answered: true, answer: 210 * ms, ok: true},
		{command: cmdPresence, acked: true, ack: 3 * ms, answered: true, answer: 800 * ms, ok: true},
		{command: cmdPresence, acked: true, ack: 4 * ms, answered: true, answer: 20 * ms, text: "⚠️ The contact center is not answering."},
	}
	f := measure(outs, 50, 2, 2, 54, runtimeCounters{mallocs: 4000, allocBytes: 400_000, cpuSeconds: 0.004})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"commands", f.Commands, 4},
		{"answered as asked", f.Answered, 3},
		{"ack p50", f.AckP50, 2},
		{"ack max", f.AckMax, 4},
		{"/status p99", f.StatusP99, 210},
		{"/presence p50", f.PresenceP50, 20},
		{"CC requests per command", f.CCPerCommand, 13.5},
		{"GET+PUT per /status", f.CCPerStatus, 2},
		{"roster fetches", f.RosterFetches, 1},
		{"allocs per command", f.AllocsPerCommand, 1000},
		{"kB per command", f.KBPerCommand, 100},
		{"CPU ms per command", f.CPUPerCommand, 1},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if want := "/presence answered: ⚠️ The contact center is not answering."; f.problem != want {
		t.Errorf("got problem %q, want %q", f.problem, want)
	}
}

func TestAnsweredAsAsked(t *testing.T) {
	// Blocks as the fake Slack records them: the JSON the bot sent.
	const (
		table   = `[{"type":"header","text":{"type":"plain_text","text":"Agents"}},{"type":"data_table","caption":"Agents (5,000)"},{"type":"context","elements":[]}]`
		chart   = `[{"type":"header","text":{"type":"plain_text","text":"Trend"}},{"type":"data_visualization","title":"Available agents"}]`
		classic = `[{"type":"header","text":{"type":"plain_text","text":"Agents"}},{"type":"section","text":{"type":"mrkdwn","text":"🟢 1,750 available"}}]`
	)
	msg := func(text, blocks string) fakeslack.Message {
		return fakeslack.Message{Text: text, Blocks: json.RawMessage(blocks)}
	}
	tests := []struct {
		command, ask string
		m            fakeslack.Message
		want         bool
	}{
		// A status change confirms itself.
		{cmdStatus, "busy", msg("✅ You're now ⛔ busy (was available).", ""), true},
		// A refusal is an answer, not the one asked for.
		{cmdStatus, "busy", msg("You can't go from on-call to busy.", ""), false},
		// The overview counts the whole roster.
		{cmdPresence, "", msg("Agent presence — 5,000 agents: 🟢 1,750 available", classic), true},
		// So does one status.
		{cmdPresence, "available", msg("🟢 Available — 1,750 of 5,000 agents", classic), true},
		// An apology does not.
		{cmdPresence, "", msg("⚠️ The contact center is not answering. Try again in a minute.", ""), false},
		// The table: the roster counted, in a data_table block.
		{cmdPresence, "table", msg("Agent presence — 5,000 agents: 🟢 1,750 available", table), true},
		{cmdPresence, "table available", msg("🟢 Available — 1,750 of 5,000 agents", table), true},
		// The classic listing where a table was asked for is not the answer.
		{cmdPresence, "table", msg("Agent presence — 5,000 agents: 🟢 1,750 available", classic), false},
		// Nor is a table of something else than the roster.
		{cmdPresence, "table", msg("⚠️ The contact center is not answering.", table), false},
		// The trend: a data_visualization block.
		{cmdPresence, "trend", msg("📈 Available agents, last 4h", chart), true},
		{cmdPresence, "trend sales_team", msg("📈 Sales: agents, last 4h", chart), true},
		// "No history yet" draws no chart.
		{cmdPresence, "trend", msg("📈 No history yet for the last 4h: the bot records the floor every minute.", ""), false},
		// A chart's figures without the chart (a refusing workspace) are not it either.
		{cmdPresence, "trend", msg("📈 Available agents, last 4h", classic), false},
		// Blocks that are not JSON are no block.
		{cmdPresence, "trend", msg("📈 Available agents, last 4h", `{"type":"data_visualization"`), false},
		// A command the benchmark never sends.
		{"/lunch", "", msg("✅", ""), false},
	}
	for _, tt := range tests {
		if got := answeredAsAsked(tt.command, tt.ask, tt.m); got != tt.want {
			t.Errorf("answeredAsAsked(%s %s, %q, %s) = %v, want %v", tt.command, tt.ask, tt.m.Text, tt.m.Blocks, got, tt.want)
		}
	}
}

// TestAnswerProblem: a failed answer says what was asked and what was
// missing, so a bad run explains itself.
func TestAnswerProblem(t *testing.T) {
	tests := []struct {
		o    outcome
		want string
	}{
		// The overview, as before: the command and the answer.
		{outcome{command: cmdPresence, acked: true, answered: true, text: "⚠️ Try again."}, "/presence answered: ⚠️ Try again."},
		// A table answered without its table names the ask and the block.
		{outcome{command: cmdPresence, ask: "table available", acked: true, answered: true, text: "🟢 Available — 1,750 of 5,000 agents", missing: "data_table"},
			"/presence table available answered without a data_table block: 🟢 Available — 1,750 of 5,000 agents"},
		// No answer at all.
		{outcome{command: cmdPresence, ask: "trend", acked: true}, "/presence trend: no answer through response_url"},
		{outcome{command: cmdStatus, ask: "busy"}, "/status busy: no ack"},
	}
	for _, tt := range tests {
		if got := tt.o.problem(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name, status string
		want         int64
		wantErr      string
	}{
		// The line among the others, in kB.
		{"found", "Name:\tpresence-bot\nVmPeak:\t 1263468 kB\nVmHWM:\t   41236 kB\nVmRSS:\t   30000 kB\n", 41236 * 1024, ""},
		// A kernel without the line (or not Linux).
		{"missing", "Name:\tpresence-bot\n", 0, "no VmHWM line"},
		// A unit the benchmark does not know.
		{"odd unit", "VmHWM:\t 40 MB\n", 0, "unexpected VmHWM line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM(strings.NewReader(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v, want %d", got, err, tt.want)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	const text = `# HELP go_memstats_mallocs_total Total number of heap objects allocated.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.234567e+06
go_memstats_alloc_bytes_total 9.87e+08
presence_bot_commands_total{command="/status",outcome="ok"} 500
process_cpu_seconds_total 1.25
`
	got, err := parseMetrics(strings.NewReader(text), "process_cpu_seconds_total", "go_memstats_mallocs_total")
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1.25 || got[1] != 1234567 {
		t.Errorf("got %v, want [1.25 1234567] in the order asked", got)
	}
	// A missing metric is named, not read as zero.
	if _, err := parseMetrics(strings.NewReader(text), "go_memstats_mallocs_total", "go_goroutines"); err == nil || !strings.Contains(err.Error(), "go_goroutines") {
		t.Errorf("got %v, want an error naming go_goroutines", err)
	}
}

func TestParseProcStat(t *testing.T) {
	// user nice system idle iowait irq softirq steal: busy is all but idle
	// and iowait, in 1/100 s.
	const stat = "cpu  100 20 30 5000 70 4 6 10 0 0\ncpu0 50 10 15 2500 35 2 3 5 0 0\n"
	got, err := parseProcStat(strings.NewReader(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 1700 * time.Millisecond; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseProcStat(strings.NewReader("intr 1 2 3\n")); err == nil {
		t.Errorf("got no error for a file without a cpu line")
	}
}

func TestOtherLoad(t *testing.T) {
	from := cpuClock{at: time.Unix(100, 0), machine: 10 * time.Second, self: 2 * time.Second}
	tests := []struct {
		name string
		to   cpuClock
		bot  time.Duration
		want float64
	}{
		// Over 2 s the machine did 3 s of work: 1 s ours, 1 s the bot's,
		// so others kept half a core busy.
		{"others", cpuClock{at: time.Unix(102, 0), machine: 13 * time.Second, self: 3 * time.Second}, time.Second, 0.5},
		// Tick rounding can make ours exceed the machine's: never negative.
		{"quiet", cpuClock{at: time.Unix(102, 0), machine: 11 * time.Second, self: 3 * time.Second}, 100 * time.Millisecond, 0},
		// No time passed: nothing to say.
		{"no time", from, 0, 0},
	}
	for _, tt := range tests {
		if got := otherLoad(from, tt.to, tt.bot); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{math.NaN(), "–"}, // not measured
		{700, "700"},      // whole numbers stay whole
		{5000, "5,000"},   // with thousands separators
		{1374.6, "1,375"}, // large ones lose their fraction
		{208.4, "208"},    // three digits are enough
		{41.37, "41.4"},   // two digits and one decimal
		{3.214, "3.21"},   // small ones keep two decimals
		{0.004, "0.00"},   // and round
	}
	for _, tt := range tests {
		if got := num(tt.x); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
}

func TestSlackLimits(t *testing.T) {
	section := func(n int) message.Block { return message.Block{Kind: message.Section, Text: strings.Repeat("a", n)} }
	many := make([]message.Block, message.MaxBlocks+1)
	for i := range many {
		many[i] = section(1)
	}
	table := func(rows int) message.TableData {
		td := message.TableData{Caption: "Agents", Columns: []message.Column{{Name: "Agent"}}, PageSize: 20}
		for range rows {
			td.Rows = append(td.Rows, []message.Cell{{Text: "Priya Sharma"}})
		}
		return td
	}
	long := make([]message.Block, 15)
	for i := range long {
		long[i] = section(2900)
	}
	tests := []struct {
		name string
		m    message.Message
		want string
	}{
		// A message Slack takes whole.
		{"fits", message.Message{Text: "t", Blocks: []message.Block{section(3000)}}, ""},
		// One block too many.
		{"blocks", message.Message{Text: "t", Blocks: many}, "51 blocks, over 50"},
		// One section too long.
		{"section", message.Message{Text: "t", Blocks: []message.Block{section(3001)}}, "text of 3001 characters, over 3000"},
		// A header longer than Slack's plain-text limit.
		{"header", message.Message{Text: "t", Blocks: []message.Block{{Kind: message.Header, Text: strings.Repeat("h", 151)}}}, "header of 151 characters"},
		// Each part fits, the whole does not.
		{"total", message.Message{Text: "t", Blocks: long}, "characters in all, over 40000"},
		// A table within its limits, with a classic fallback that fits.
		{"table fits", message.Message{Text: "t", Blocks: []message.Block{message.NewTable(table(100), section(10))}}, ""},
		// A table past Slack's 100 rows.
		{"table rows", message.Message{Text: "t", Blocks: []message.Block{message.NewTable(table(101), section(10))}}, "table has 101 rows"},
		// The rich message fits, the classic one a refusing workspace
		// gets does not.
		{"fallback", message.Message{Text: "t", Blocks: []message.Block{message.NewTable(table(5), many...)}}, "as classic blocks: 51 blocks, over 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slackLimits(tt.m)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
