package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/history"
	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

// renderQueries are the /presence answers the loads ask for: the ones
// that read the whole roster (the overview, one status, the table of
// each) and the trends, which read the history.
var renderQueries = []string{overviewAsks[0], overviewAsks[1], tableAsks[0], tableAsks[1], trendAsks[0], trendAsks[1]}

// renderFigure is the cost and size of one /presence answer on the
// 5,000-agent roster or its history.
type renderFigure struct {
	query  string
	perOp  time.Duration // the command's logic, Block Kit and JSON: all but the I/O
	allocs int64
	bytes  int64
	blocks int
	// longest is the longest text of any block, in characters; total is
	// every text of the message.
	longest, total int
	payload        int    // bytes of the response_url body
	rich           string // the size of its table or chart; "–" for none
	problem        string // which Slack limit it breaks; "" when it fits
}

// staticRoster serves one roster, so rendering is measured from a warm
// snapshot without HTTP.
type staticRoster struct{ r *presence.Roster }

func (s staticRoster) ListAll(context.Context, presence.ListOptions) (*presence.Roster, error) {
	return s.r, nil
}

// measureRender times the /presence answers of the loads on 5,000 agents:
// the handler, the Block Kit rendering and the JSON encoding of the
// answer, which is everything between the roster (or the history) and the
// socket. The trends read historyHours of history from a store in memory,
// as the trend scenarios' bot has it in its STATE_DIR.
func measureRender(ctx context.Context) ([]renderFigure, error) {
	now := time.Now()
	agents := ccmsim.GenerateRoster(rosterSize, nil, now, seed)
	var sum presence.Summary
	for _, a := range agents {
		sum.Add(a.Status)
	}
	snaps := presence.NewSnapshots(staticRoster{&presence.Roster{Agents: agents, Summary: sum}}, time.Hour, nil)
	if _, err := snaps.Get(ctx); err != nil {
		return nil, fmt.Errorf("render: warm the snapshot: %w", err)
	}
	store, err := recordHistory(ctx, agents, now)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	rec := history.New(store, history.Options{Resolution: time.Minute}, nil)
	// Each answer a second after the last: the handler draws an answer
	// once per roster, form and second, and what is measured here is the
	// drawing, not the copy of one already drawn.
	var ticks time.Duration
	later := func() time.Time { ticks += time.Second; return now.Add(ticks) }
	h := commands.New(commands.Config{Roster: snaps, OpenToAll: true, History: rec, Now: later})

	var out []renderFigure
	for _, q := range renderQueries {
		req := commands.Request{UserID: "USUPER01", ChannelID: "C0FLOOR", Command: cmdPresence, Text: q}
		m := h.Handle(ctx, req)
		body, err := answerJSON(m)
		if err != nil {
			return nil, fmt.Errorf("render %q: %w", q, err)
		}
		f := renderFigure{query: cmdPresence, blocks: len(m.Blocks), payload: len(body), rich: richSize(m), problem: slackLimits(m)}
		if q != "" {
			f.query += " " + q
		}
		f.longest, f.total = textSizes(m)
		perOp, allocs, bytes, err := timeRender(ctx, h, req)
		if err != nil {
			return nil, fmt.Errorf("render %q: %w", q, err)
		}
		f.perOp, f.allocs, f.bytes = perOp, allocs, bytes
		out = append(out, f)
	}
	return out, nil
}

// renderRounds is how many answers timeRender makes: enough to average
// out the clock, few enough to take well under a second.
const renderRounds = 200

// timeRender measures one answer, encoded as the bot sends it: time and
// allocations per answer, averaged over renderRounds after a warm-up. It
// is testing.Benchmark's arithmetic without the testing package, which
// has no place in the bot's binary.
func timeRender(ctx context.Context, h *commands.Handler, req commands.Request) (time.Duration, int64, int64, error) {
	if _, err := answerJSON(h.Handle(ctx, req)); err != nil {
		return 0, 0, 0, err
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range renderRounds {
		if _, err := answerJSON(h.Handle(ctx, req)); err != nil {
			return 0, 0, 0, err
		}
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return took / renderRounds,
		int64(after.Mallocs-before.Mallocs) / renderRounds,
		int64(after.TotalAlloc-before.TotalAlloc) / renderRounds, nil
}

// answerJSON is the answer as the bot posts it to a response_url.
func answerJSON(m message.Message) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"text": m.Text, "response_type": "ephemeral", "blocks": bot.Render(m)})
	if err != nil {
		return nil, fmt.Errorf("encode the answer: %w", err)
	}
	return b, nil
}

// slackLimits names the first of Slack's message limits m breaks, or "":
// the classic blocks' limits, the table's and the chart's (see
// message.ValidateRich), and the classic limits again for the message a
// workspace that refuses tables and charts gets instead (m.Classic()).
func slackLimits(m message.Message) string {
	if p := classicLimits(m); p != "" {
		return p
	}
	if err := message.ValidateRich(m); err != nil {
		return err.Error()
	}
	if m.HasRich() {
		if p := classicLimits(m.Classic()); p != "" {
			return "as classic blocks: " + p
		}
	}
	return ""
}

// richSize is the size of m's tables and charts against their limits, or
// "–" for none.
func richSize(m message.Message) string {
	var parts []string
	for _, b := range m.Blocks {
		switch {
		case b.Kind == message.Table && b.Table != nil:
			parts = append(parts, fmt.Sprintf("table %d rows × %d, %s/%s chars", len(b.Table.Rows), len(b.Table.Columns),
				message.Thousands(b.Table.Chars()), message.Thousands(message.MaxTableChars)))
		case b.Kind == message.Chart && b.Chart != nil:
			parts = append(parts, fmt.Sprintf("chart %d lines × %d points", len(b.Chart.Series), len(b.Chart.Categories)))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// classicLimits names the first of Slack's limits for classic blocks m
// breaks, or "". Blocks are counted before rendering, where a message that
// is too long would be cut.
func classicLimits(m message.Message) string {
	if len(m.Blocks) > message.MaxBlocks {
		return fmt.Sprintf("%d blocks, over %d", len(m.Blocks), message.MaxBlocks)
	}
	total := utf8.RuneCountInString(m.Text)
	for i, b := range m.Blocks {
		n := utf8.RuneCountInString(b.Text)
		total += n
		switch {
		case b.Kind == message.Header && n > message.MaxHeaderText:
			return fmt.Sprintf("block %d: header of %d characters, over %d", i, n, message.MaxHeaderText)
		case n > message.MaxSectionText:
			return fmt.Sprintf("block %d: text of %d characters, over %d", i, n, message.MaxSectionText)
		case len(b.Fields) > message.MaxFields:
			return fmt.Sprintf("block %d: %d fields, over %d", i, len(b.Fields), message.MaxFields)
		}
		for _, fl := range b.Fields {
			fn := utf8.RuneCountInString(fl)
			total += fn
			if fn > message.MaxFieldText {
				return fmt.Sprintf("block %d: field of %d characters, over %d", i, fn, message.MaxFieldText)
			}
		}
	}
	if total > message.MaxMessageText {
		return fmt.Sprintf("%d characters in all, over %d", total, message.MaxMessageText)
	}
	return ""
}

// textSizes are the longest block text and all text, in characters.
func textSizes(m message.Message) (longest, total int) {
	total = utf8.RuneCountInString(m.Text)
	for _, b := range m.Blocks {
		n := utf8.RuneCountInString(b.Text)
		longest = max(longest, n)
		total += n
		for _, f := range b.Fields {
			total += utf8.RuneCountInString(f)
		}
	}
	return longest, total
}
