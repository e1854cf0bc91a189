package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// How much of a roster an answer lists. Beyond these, answers count and
// point to a narrower query: a 5,000-agent floor never hits Slack's limits.
const (
	overviewPerStatus = 15  // names per status in /presence and /presence team
	filteredMax       = 100 // names in /presence <status>
	matchesMax        = 10  // candidates listed for an ambiguous name
	sectionBudget     = message.MaxSectionText - 100
)

func (h *Handler) presence(ctx context.Context, req Request, args []string) message.Message {
	cmd, _ := h.lookup("/presence")
	// "help" and anything after it is help: people add words ("help me").
	if len(args) > 0 && strings.EqualFold(args[0], "help") {
		return cmd.help()
	}
	// Silences check who may use them themselves (silence.go).
	if len(args) > 0 && strings.EqualFold(args[0], "silence") {
		return h.silence(ctx, req, args[1:])
	}
	if len(args) > 0 && strings.EqualFold(args[0], "silences") {
		return h.listSilences(ctx, req, args[1:])
	}
	if refusal := h.mayQuery(ctx, req.UserID); refusal != nil {
		return *refusal
	}
	if len(args) > 0 && strings.EqualFold(args[0], "table") {
		return h.presenceTable(ctx, args[1:])
	}
	if len(args) > 0 && strings.EqualFold(args[0], "trend") {
		return h.presenceTrend(ctx, args[1:])
	}
	switch {
	case len(args) == 0:
		return h.withSnapshot(ctx, form{key: "overview"}, func(s *presence.Snapshot, note string) message.Message {
			return h.overview(s, note)
		})
	case strings.EqualFold(args[0], "team"):
		if len(args) != 2 {
			// Escaped like any text: Slack reads <…> as markup even in code.
			return refused("Name one team: `/presence team &lt;team_id&gt;`.\n" + cmd.shortUsage())
		}
		return h.withSnapshot(ctx, form{key: "team\x00" + args[1]}, func(s *presence.Snapshot, note string) message.Message {
			return h.team(s, args[1], note)
		})
	case len(args) == 1:
		if st, err := presence.Parse(args[0]); err == nil {
			return h.withSnapshot(ctx, form{key: "status\x00" + string(st)}, func(s *presence.Snapshot, note string) message.Message {
				return h.byStatus(s, st, note)
			})
		}
	}
	return h.oneAgent(ctx, strings.Join(args, " "))
}

// mayQuery allows /presence to mapped agents and supervisors, or to
// everyone when the workspace opened it.
func (h *Handler) mayQuery(ctx context.Context, userID string) *message.Message {
	if h.openToAll || h.dir.IsSupervisor(userID) {
		return nil
	}
	_, err := h.dir.AgentFor(ctx, userID)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnmapped) {
		r := refused(fmt.Sprintf("`/presence` is for contact-center agents and supervisors, and I don't know you as either. "+
			"Ask an admin to add your Slack ID `%s` to the agent mapping file.", message.Escape(userID)))
		return &r
	}
	r := failed("⚠️ I couldn't look you up just now (" + lookupTrouble(err) + "); try again in a minute.")
	return &r
}

// stalePatience is how long a roster read waits for a refresh while the
// API budget is under pressure and a last roster is at hand: the refresh
// may wait minutes behind a burst of status changes (they go first),
// and the last roster, marked with its age, answers now.
const stalePatience = 1500 * time.Millisecond

// errRosterBusy is a refresh that did not come within stalePatience.
var errRosterBusy = errors.New("the roster refresh waits for the API budget")

// getRoster is Roster.Get, waiting only stalePatience for a refresh under
// budget pressure when there is a last roster to show instead (the
// refresh goes on, for the next reader).
func (h *Handler) getRoster(ctx context.Context) (*presence.Snapshot, error) {
	if h.roster.LastKnown() == nil || !h.roster.Pressured() {
		return h.roster.Get(ctx)
	}
	pctx, cancel := context.WithTimeout(ctx, stalePatience)
	defer cancel()
	snap, err := h.roster.Get(pctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, errRosterBusy
	}
	return snap, err
}

// withSnapshot renders from the shared roster. When the contact center
// fails it says so, and shows the last known roster marked with its age.
func (h *Handler) withSnapshot(ctx context.Context, f form, render func(*presence.Snapshot, string) message.Message) message.Message {
	snap, err := h.getRoster(ctx)
	if err == nil {
		return h.renderedOnce(ctx, snap, f, h.staleNote(snap), render)
	}
	last := h.roster.LastKnown()
	if errors.Is(err, errRosterBusy) && last != nil {
		// Not a failure: the roster is refreshed behind status changes,
		// and the last one answers, marked with its age like any roster
		// older than the TTL.
		h.log.Info("roster refresh waits for the API budget; answered from the last roster", "age", last.Age(h.now()))
		return h.renderedOnce(ctx, last, f, message.StaleNote(last.Age(h.now())), render)
	}
	h.log.Warn("roster fetch failed", "err", err)
	if last == nil {
		return failed(troubleText(err, readOnly))
	}
	note := fmt.Sprintf("⚠️ %s This is the last known data, from %s ago.",
		troubleWhat(err), message.Duration(last.Age(h.now())))
	return failure(h.rendered(ctx, func() message.Message { return render(last, note) })) // the note says it failed
}

// form names an answer drawn from the roster: the command's form (the
// overview, a status, a team, a table with its filter) and whether its
// answer has charts or tables.
type form struct {
	key  string
	rich bool
}

// renderedOnce is rendered, drawn once per roster, form, note and second
// for a large roster or a rich answer: a shift start's hundreds of
// /presence on 20,000 agents cost one drawing a second, not one each
// (milliseconds of CPU apiece).
func (h *Handler) renderedOnce(ctx context.Context, snap *presence.Snapshot, f form, note string, render func(*presence.Snapshot, string) message.Message) message.Message {
	if snap.Len() < h.shareDrawingsFrom && !f.rich {
		// A small roster's classic answer is drawn for each answer: a
		// drawing costs well under a millisecond, and drawn one after
		// another (the rendering slots) a burst's answers leave a few at a
		// time, where shared they would all leave at once and hold the
		// cores the acks need. A rich answer (a 100-row table is 30 kB)
		// is shared at any size: the bot delivers answers with charts or
		// tables in turns (bot.WebAPI), so those sharing a drawing do not
		// leave at once, and one drawing is one encoding for them all.
		return h.rendered(ctx, func() message.Message { return render(snap, note) })
	}
	key := renderKey{form: f.key, note: note, at: h.now().Unix()}
	if m, ok := h.renders.get(snap, key); ok {
		return m
	}
	// The readers that miss together (the burst woken by one fetch, or
	// the first of each second) share one drawing rather than queue for
	// the rendering slots one after another.
	flight := fmt.Sprintf("%p\x00%s\x00%s\x00%d", snap, f.key, note, key.at)
	ch := h.renders.flights.DoChan(flight, func() (any, error) {
		m := h.rendered(context.WithoutCancel(ctx), func() message.Message { return render(snap, note) })
		if !m.Failed {
			m.Drawing = &message.Drawing{} // every copy is this one drawing: encoded once
			h.renders.put(snap, key, m)
		}
		return m, nil
	})
	select {
	case res := <-ch:
		m := res.Val.(message.Message)
		m.Blocks = slices.Clone(m.Blocks) // its own: a caller may add to its answer
		return m
	case <-ctx.Done():
		return failed("⚠️ I'm too busy to draw the floor right now. Try again in a moment.")
	}
}

// renderKey names a rendered answer for one roster.
type renderKey struct {
	form, note string
	at         int64 // the second it was drawn in: answers show durations
}

// renderCache keeps the answers drawn from the newest roster only.
type renderCache struct {
	flights singleflight.Group // drawings under way, by roster, form, note and second
	mu      sync.Mutex
	snap    *presence.Snapshot
	answers map[renderKey]message.Message
}

// maxRenders bounds the answers kept for one roster (a second's forms).
const maxRenders = 64

func (c *renderCache) get(snap *presence.Snapshot, k renderKey) (message.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.answers[k]
	if !ok || c.snap != snap {
		return message.Message{}, false
	}
	// Its own slice of blocks: a caller may add to its answer.
	m.Blocks = slices.Clone(m.Blocks)
	return m, true
}

func (c *renderCache) put(snap *presence.Snapshot, k renderKey, m message.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != snap || len(c.answers) >= maxRenders {
		c.snap, c.answers = snap, make(map[renderKey]message.Message)
	}
	m.Blocks = slices.Clone(m.Blocks)
	c.answers[k] = m
}

// staleNote says how old the snapshot is when it is older than the TTL
// (served so while the API budget is under pressure), or "".
func (h *Handler) staleNote(s *presence.Snapshot) string {
	now := h.now()
	if !s.Stale(now) {
		return ""
	}
	return message.StaleNote(s.Age(now))
}

// rendered runs a render of the whole roster once a rendering slot is
// free; see Handler.rendering.
func (h *Handler) rendered(ctx context.Context, render func() message.Message) message.Message {
	select {
	case h.rendering <- struct{}{}:
	case <-ctx.Done():
		return failed("⚠️ I'm too busy to draw the floor right now. Try again in a moment.")
	}
	defer func() { <-h.rendering }()
	return render()
}

// entry is what a list line needs of an agent.
type entry struct {
	id, name, team string
	since          time.Time
}

// longestFirst orders agents by how long they have been in their status.
func longestFirst(a, b entry) int {
	if c := a.since.Compare(b.since); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// topK keeps the k entries that sort first, without sorting everything:
// a 5,000-agent roster is read once, in O(n·k) at worst with tiny k.
type topK struct {
	k     int
	n     int
	items []entry
}

func (t *topK) add(a presence.Agent) {
	t.n++
	e := entry{id: a.ID, name: a.Name, team: a.TeamName(), since: a.StatusSince}
	if len(t.items) == t.k && longestFirst(e, t.items[t.k-1]) >= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(t.items, e, longestFirst)
	if len(t.items) < t.k {
		t.items = append(t.items, entry{})
	}
	copy(t.items[i+1:], t.items[i:len(t.items)-1])
	t.items[i] = e
}

// groups collects agents per status, keeping the first k of each.
type groups struct {
	by    map[presence.Status]*topK
	count presence.Summary
	teams map[string]string // team ID → name, of the agents seen
}

func newGroups(k int) *groups {
	g := &groups{by: make(map[presence.Status]*topK, len(presence.Statuses)), teams: map[string]string{}}
	for _, s := range presence.Statuses {
		g.by[s] = &topK{k: k}
	}
	return g
}

func (g *groups) add(a presence.Agent) {
	g.count.Add(a.Status)
	if t, ok := g.by[a.Status]; ok {
		t.add(a)
	}
}

// line is one agent in a list.
func (h *Handler) line(e entry, now time.Time) string {
	name := e.name
	if name == "" {
		name = e.id
	}
	s := fmt.Sprintf("• %s (`%s`)", message.Escape(message.Truncate(name, 40)), message.Escape(message.Truncate(e.id, 40)))
	if e.team != "" {
		s += " · " + message.Escape(message.Truncate(e.team, 30))
	}
	return s + " · " + message.Duration(now.Sub(e.since))
}

// listSections writes a titled list into as few sections as Slack allows,
// ending with how many were left out and how to see them.
func (h *Handler) listSections(title string, t *topK, maxSections int, more string) []message.Block {
	now := h.now()
	var (
		blocks []message.Block
		b      strings.Builder
		shown  int
		n      = utf8.RuneCountInString(title) // Slack's limit is in characters, not bytes
	)
	b.WriteString(title)
	for _, e := range t.items {
		l := h.line(e, now)
		ln := utf8.RuneCountInString(l)
		if n+1+ln > sectionBudget {
			if len(blocks)+1 >= maxSections {
				break
			}
			blocks = append(blocks, message.NewSection(b.String()))
			b.Reset()
			n = 0
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
			n++
		}
		b.WriteString(l)
		n += ln
		shown++
	}
	if rest := t.n - shown; rest > 0 {
		b.WriteString(fmt.Sprintf("\n_…and %s more%s_", message.Thousands(rest), more))
	}
	return append(blocks, message.NewSection(b.String()))
}

// countsText is "🟢 12 available · 📞 8 on a call · …".
func countsText(s presence.Summary) string {
	parts := make([]string, 0, len(presence.Statuses))
	for _, st := range presence.Statuses {
		parts = append(parts, fmt.Sprintf("%s %s %s", statusEmoji[st], message.Thousands(s.Count(st)), st.Label()))
	}
	return strings.Join(parts, " · ")
}

func (h *Handler) asOf(snapTime time.Time, note string) message.Block {
	text := "As of " + snapTime.In(h.loc).Format("15:04:05 MST") + " · `/presence help` for more"
	if note != "" {
		text = note + "\n" + text
	}
	return message.NewContext(text)
}

// overview is /presence: the API's counts, then who is in each status.
func (h *Handler) overview(s *presence.Snapshot, note string) message.Message {
	g := newGroups(overviewPerStatus)
	for a := range s.All() {
		g.add(a)
	}
	title := "Agent presence — " + message.Plural(s.Summary.Total, "agent")
	return h.groupedResponse(title, s.Summary, g, s.FetchedAt, note)
}

func (h *Handler) groupedResponse(title string, counts presence.Summary, g *groups, at time.Time, note string) message.Message {
	blocks := []message.Block{message.NewHeader(title), message.NewSection(countsText(counts))}
	for _, st := range presence.Statuses {
		t := g.by[st]
		if t.n == 0 {
			continue
		}
		heading := fmt.Sprintf("%s *%s (%s)*", statusEmoji[st], capitalize(st.Label()), message.Thousands(t.n))
		blocks = append(blocks, h.listSections(heading, t, 1, fmt.Sprintf(": `/presence %s`", st))...)
	}
	blocks = append(blocks, h.asOf(at, note))
	return message.Message{Visibility: message.Ephemeral, Text: title + ": " + message.Summary(countsText(counts)), Blocks: blocks}
}

// byStatus is /presence <status>.
func (h *Handler) byStatus(s *presence.Snapshot, st presence.Status, note string) message.Message {
	t := &topK{k: filteredMax}
	for a := range s.All() {
		if a.Status == st {
			t.add(a)
		}
	}
	title := fmt.Sprintf("%s %s — %s of %s", statusEmoji[st], capitalize(st.Label()), message.Thousands(t.n), message.Plural(s.Len(), "agent"))
	blocks := []message.Block{message.NewHeader(title)}
	if t.n == 0 {
		blocks = append(blocks, message.NewSection("Nobody is "+message.Escape(st.Label())+" right now."))
	} else {
		blocks = append(blocks, h.listSections("", t, 8, "; narrow it with `/presence team &lt;team_id&gt;`")...)
	}
	blocks = append(blocks, h.asOf(s.FetchedAt, note))
	return message.Message{Visibility: message.Ephemeral, Text: title, Blocks: blocks}
}

// team is /presence team <team_id>; the team's name works too.
func (h *Handler) team(s *presence.Snapshot, query, note string) message.Message {
	g := newGroups(overviewPerStatus)
	var teamName string
	for a := range s.All() {
		if a.Team != nil {
			g.teams[a.Team.ID] = a.TeamName()
		}
		if a.Team == nil || !(strings.EqualFold(a.Team.ID, query) || strings.EqualFold(a.Team.Name, query)) {
			continue
		}
		teamName = message.Escape(fmt.Sprintf("%s (%s)", a.TeamName(), a.Team.ID))
		g.add(a)
	}
	if g.count.Total == 0 {
		return refused(fmt.Sprintf("There is no team `%s`. %s", message.Escape(message.Truncate(query, 60)), teamsText(g.teams)))
	}
	title := "Team " + teamName + " — " + message.Plural(g.count.Total, "agent")
	return h.groupedResponse(title, g.count, g, s.FetchedAt, note)
}

// teamsText lists the teams there are, to pick from.
func teamsText(teams map[string]string) string {
	if len(teams) == 0 {
		return "No agent has a team."
	}
	ids := make([]string, 0, len(teams))
	for id := range teams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const maxTeams = 30
	parts := make([]string, 0, min(len(ids), maxTeams))
	for _, id := range ids[:min(len(ids), maxTeams)] {
		parts = append(parts, fmt.Sprintf("`%s` (%s)", message.Escape(message.Truncate(id, 40)), message.Escape(message.Truncate(teams[id], 40))))
	}
	text := "Teams: " + strings.Join(parts, ", ")
	if len(ids) > maxTeams {
		text += fmt.Sprintf(" and %d more", len(ids)-maxTeams)
	}
	return text + "."
}

// oneAgent is /presence <agent id, name or @mention>: one agent, fetched
// fresh for the current call.
func (h *Handler) oneAgent(ctx context.Context, query string) message.Message {
	agentID, resp := h.findAgent(ctx, query)
	if resp != nil {
		return *resp
	}
	a, err := h.api.Get(ctx, agentID)
	if err != nil {
		return h.getFailed(err, agentID, readOnly)
	}
	return h.agentDetail(*a)
}

// findAgent turns a query into one agent ID, or answers why it cannot.
func (h *Handler) findAgent(ctx context.Context, query string) (string, *message.Message) {
	if user, ok := parseMention(query); ok {
		id, err := h.dir.AgentFor(ctx, user)
		switch {
		case errors.Is(err, ErrUnmapped):
			r := refused(fmt.Sprintf("<@%s> is not mapped to a contact-center agent.", user))
			return "", &r
		case err != nil:
			r := failed("⚠️ I couldn't look that person up just now (" + lookupTrouble(err) + ").")
			return "", &r
		}
		return id, nil
	}
	snap, err := h.roster.Get(ctx)
	if err != nil {
		// Names are found in the last known roster; without one, only an
		// exact ID can be looked up.
		if snap = h.roster.LastKnown(); snap == nil {
			return query, nil
		}
	}
	if a, ok := snap.Agent(query); ok {
		return a.ID, nil
	}
	q := strings.ToLower(query)
	var matches []presence.Agent
	total := 0
	for a := range snap.All() {
		if strings.EqualFold(a.ID, query) {
			return a.ID, nil
		}
		if strings.Contains(strings.ToLower(a.Name), q) {
			total++
			if len(matches) < matchesMax {
				matches = append(matches, a)
			}
		}
	}
	switch total {
	case 0:
		r := refused(fmt.Sprintf("No agent matches `%s`. Try an agent ID, part of a name, or an @mention.",
			message.Escape(message.Truncate(query, 60))))
		return "", &r
	case 1:
		return matches[0].ID, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s match `%s`:", message.Plural(total, "agent"), message.Escape(message.Truncate(query, 60)))
	shown, n := 0, utf8.RuneCountInString(b.String()) // in characters, as Slack counts
	for _, a := range matches {
		l := "\n• " + agentLabel(a) + " " + statusMark(a.Status)
		ln := utf8.RuneCountInString(l)
		if n+ln > sectionBudget {
			break // long names: keep room for the count, rather than be cut
		}
		b.WriteString(l)
		n += ln
		shown++
	}
	if total > shown {
		fmt.Fprintf(&b, "\n_…and %s more; add more of the name._", message.Thousands(total-shown))
	}
	b.WriteString("\nAsk again with the agent ID to see one.")
	r := message.Reply(b.String())
	return "", &r
}

func (h *Handler) agentDetail(a presence.Agent) message.Message {
	now := h.now()
	name := a.Name
	if name == "" {
		name = a.ID
	}
	blocks := []message.Block{message.NewHeader(message.Escape(name))}
	text := fmt.Sprintf("%s for %s (since %s)", statusMark(a.Status), message.Duration(now.Sub(a.StatusSince)),
		a.StatusSince.In(h.loc).Format("15:04 MST"))
	if c := a.CurrentCall; c != nil && a.Status == presence.OnCall {
		dir := c.Direction
		if dir == "" {
			dir = "unknown direction"
		}
		text += fmt.Sprintf("\n📞 On a call: %s, %s so far, customer %s",
			message.Escape(message.Truncate(dir, 20)), message.Duration(time.Duration(c.Duration)*time.Second), MaskNumber(c.CustomerNumber))
	}
	blocks = append(blocks, message.NewSection(text))
	fields := []string{"*Agent ID*\n`" + message.Escape(a.ID) + "`"}
	if a.Team != nil {
		fields = append(fields, "*Team*\n"+message.Escape(message.Truncate(a.TeamName(), 60)))
	}
	if a.Device != nil && a.Device.Type != "" {
		fields = append(fields, "*Device*\n"+message.Escape(message.Truncate(a.Device.Type, 40)))
	}
	if st := a.Stats; st != nil {
		fields = append(fields,
			fmt.Sprintf("*Calls today*\n%d", st.CallsHandledToday),
			"*Average handle time*\n"+message.Duration(time.Duration(st.AvgHandleTime)*time.Second),
			"*Talk time today*\n"+message.Duration(time.Duration(st.TotalTalkTime)*time.Second))
	}
	blocks = append(blocks, message.NewFields(fields...), h.asOf(now, ""))
	return message.Message{Visibility: message.Ephemeral, Text: message.Escape(name) + ": " + a.Status.Label(), Blocks: blocks}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
