package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/state"
)

// summaryStateKey is where the last summary's counts are kept.
const summaryStateKey = "summary"

// Caps that keep a summary of any roster inside Slack's limits.
const (
	maxSummaryNames = 10 // names listed per team
	maxTotalNames   = 20 // names listed for all teams
	// summaryFixedBlocks are the header, the total, the divider and the
	// closing context.
	summaryFixedBlocks = 4
)

// noTeam is how agents without a team are grouped.
const noTeam = "No team"

// RosterSource gives the whole roster; presence.Snapshots is one, shared
// with /presence (and, with REDIS_URL, with every replica).
type RosterSource interface {
	Get(ctx context.Context) (*presence.Snapshot, error)
}

// SummarySettings configure the summary (main converts config.Summary).
type SummarySettings struct {
	// Channel is where it is posted; "" turns the summary off.
	Channel string
	// Location is the zone of times in it; nil is UTC.
	Location *time.Location
}

// SummaryState is what a summary remembers of the previous one, so it can
// show the change since.
type SummaryState struct {
	At    time.Time                   `json:"at"`
	Total presence.Summary            `json:"total"`
	Teams map[string]presence.Summary `json:"teams,omitempty"`
}

// Summarizer posts the team summary.
type Summarizer struct {
	src   RosterSource
	post  Poster
	store state.Store
	set   SummarySettings
	log   *slog.Logger
}

// NewSummarizer returns a summarizer; log may be nil.
func NewSummarizer(src RosterSource, post Poster, store state.Store, s SummarySettings, log *slog.Logger) *Summarizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	return &Summarizer{src: src, post: post, store: store, set: s, log: log.With("component", "summary")}
}

// teamCount is one team's counts and who is available.
type teamCount struct {
	id, name  string
	sum       presence.Summary
	available []string
}

// Run posts one summary at now (the tick), then remembers its counts. A
// failed post remembers nothing, so the next summary's changes still count
// from the last one people saw.
func (s *Summarizer) Run(ctx context.Context, now time.Time) error {
	if s.set.Channel == "" {
		return nil
	}
	snap, err := s.src.Get(ctx)
	if err != nil {
		return fmt.Errorf("summary: read roster: %w", err)
	}
	total, teams := countRoster(snap)

	var prev SummaryState
	found, err := s.store.Load(ctx, summaryStateKey, &prev)
	if err != nil {
		// Only the changes are lost; the summary still goes out.
		s.log.Error("previous summary unreadable; showing no changes", "err", err)
		found = false
	}
	var prevp *SummaryState
	if found {
		prevp = &prev
	}
	var stale string
	if snap.Stale(now) {
		// Kept past the TTL while the API budget is busy: said so.
		stale = message.StaleNote(snap.Age(now))
	}
	if _, err := s.post.Post(ctx, s.set.Channel, s.message(total, teams, prevp, now, stale)); err != nil {
		return fmt.Errorf("summary: post: %w", err)
	}
	cur := SummaryState{At: now, Total: total.sum, Teams: make(map[string]presence.Summary, len(teams))}
	for _, t := range teams {
		cur.Teams[t.id] = t.sum
	}
	if err := s.store.Save(ctx, summaryStateKey, cur); err != nil {
		return fmt.Errorf("summary: remember counts: %w", err)
	}
	return nil
}

// countRoster counts the roster in all and per team, sorted by team name
// with agents without a team last.
func countRoster(snap *presence.Snapshot) (teamCount, []*teamCount) {
	total := teamCount{}
	byID := map[string]*teamCount{}
	for ag := range snap.All() {
		t := byID[ag.TeamID()]
		if t == nil {
			t = &teamCount{id: ag.TeamID(), name: cmp.Or(ag.TeamName(), noTeam)}
			byID[ag.TeamID()] = t
		}
		t.sum.Add(ag.Status)
		total.sum.Add(ag.Status)
		if ag.Status == presence.Available {
			name := cmp.Or(ag.Name, ag.ID)
			t.available = append(t.available, name)
			total.available = append(total.available, name)
		}
	}
	teams := make([]*teamCount, 0, len(byID))
	for _, t := range byID {
		slices.Sort(t.available)
		teams = append(teams, t)
	}
	slices.Sort(total.available)
	slices.SortFunc(teams, func(a, b *teamCount) int {
		if (a.id == "") != (b.id == "") {
			if a.id == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.id, b.id))
	})
	return total, teams
}

// message renders the summary, with the stale note (if any) before its
// closing one. It fits Slack's limits for any roster: names are capped per
// team, and past the block limit the smallest part of the list is folded
// into one line.
func (s *Summarizer) message(total teamCount, teams []*teamCount, prev *SummaryState, now time.Time, stale string) message.Message {
	var prevTotal *presence.Summary
	if prev != nil {
		prevTotal = &prev.Total
	}
	header := "Presence summary · " + now.In(s.set.Location).Format("Mon 15:04")
	totalText := fmt.Sprintf("*All teams* · %s\n%s", message.Plural(total.sum.Total, "agent"), countsLine(total.sum, prevTotal))
	if w := listNames(total.available, len(total.available), maxTotalNames); w != "" {
		totalText += "\n" + w
	}
	blocks := []message.Block{message.NewHeader(header), message.NewSection(totalText), message.NewDivider()}

	room := message.MaxBlocks - summaryFixedBlocks
	if stale != "" {
		room--
	}
	shown := teams
	if len(teams) > room {
		shown = teams[:room-1] // one block left for the fold
	}
	for _, t := range shown {
		var p *presence.Summary
		if prev != nil {
			if ps, ok := prev.Teams[t.id]; ok {
				p = &ps
			}
		}
		blocks = append(blocks, message.NewSection(teamText(t, p)))
	}
	if rest := teams[len(shown):]; len(rest) > 0 {
		var sum presence.Summary
		for _, t := range rest {
			sum.Total += t.sum.Total
			sum.Available += t.sum.Available
		}
		blocks = append(blocks, message.NewContext(fmt.Sprintf("…and %s not shown: %s available of %s.",
			message.Plural(len(rest), "team"), message.Thousands(sum.Available), message.Plural(sum.Total, "agent"))))
	}
	if stale != "" {
		blocks = append(blocks, message.NewContext(stale))
	}
	note := "First summary: changes since the previous one show from the next."
	if prev != nil {
		note = "Changes since the previous summary at " + prev.At.In(s.set.Location).Format("Mon 15:04") + "."
	}
	blocks = append(blocks, message.NewContext(note))

	text := fmt.Sprintf("Presence summary: %s of %s available%s, %s",
		message.Thousands(total.sum.Available), message.Plural(total.sum.Total, "agent"),
		delta(total.sum.Available, prevTotal, presence.Available), message.Plural(len(teams), "team"))
	return message.Message{Visibility: message.InChannel, Text: text, Blocks: blocks}
}

func teamText(t *teamCount, prev *presence.Summary) string {
	title := "*" + clean(t.name) + "*"
	if t.id != "" {
		title += " (`" + clean(t.id) + "`)"
	}
	text := fmt.Sprintf("%s · %s\n%s", title, message.Plural(t.sum.Total, "agent"), countsLine(t.sum, prev))
	if w := listNames(t.available, len(t.available), maxSummaryNames); w != "" {
		text += "\n" + w
	}
	return text
}

// countsLine is "*available 4* (+1) · on-call 3 (-2) · …" in the order
// of presence.Statuses; changes show when there is a previous count.
func countsLine(sum presence.Summary, prev *presence.Summary) string {
	parts := make([]string, 0, len(presence.Statuses))
	for _, st := range presence.Statuses {
		part := st.Label() + " " + message.Thousands(sum.Count(st))
		if st == presence.Available {
			part = "*" + part + "*"
		}
		parts = append(parts, part+delta(sum.Count(st), prev, st))
	}
	return strings.Join(parts, " · ")
}

// delta is " (+3)" or " (-2)" against the previous count, or "".
func delta(n int, prev *presence.Summary, st presence.Status) string {
	if prev == nil {
		return ""
	}
	switch d := n - prev.Count(st); {
	case d > 0:
		return " (+" + message.Thousands(d) + ")"
	case d < 0:
		return " (" + message.Thousands(d) + ")"
	}
	return ""
}

// listNames is "Available: A, B and 3 more." for count available agents
// of whom names are known, or "" when none is named.
func listNames(names []string, count, limit int) string {
	if len(names) == 0 {
		return ""
	}
	shown := names[:min(len(names), limit)]
	out := make([]string, len(shown))
	for i, n := range shown {
		out[i] = clean(n)
	}
	s := "Available: " + strings.Join(out, ", ")
	if more := count - len(shown); more > 0 {
		s += " and " + message.Thousands(more) + " more"
	}
	return s + "."
}
