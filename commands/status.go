package commands

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/presencebot/presence-bot/message"

	"github.com/presencebot/presence-bot/presence"
)

// mentionRE matches a user mention as Slack sends it with
// should_escape: <@U123> or <@U123|name>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)

// userIDRE is a Slack user ID: mention builds markup from nothing else.
var userIDRE = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

// mention is a Slack user, as Slack shows them (by name), built from the
// ID alone; anything that is no ID is shown escaped, as code.
func mention(userID string) string {
	if userIDRE.MatchString(userID) {
		return "<@" + userID + ">"
	}
	return "`" + message.Escape(strings.ReplaceAll(userID, "`", "'")) + "`"
}

// parseMention returns the Slack user ID of a mention token.
func parseMention(tok string) (string, bool) {
	m := mentionRE.FindStringSubmatch(tok)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// statusEmoji marks each status the same way everywhere.
var statusEmoji = map[presence.Status]string{
	presence.Available:     "🟢",
	presence.OnCall:        "📞",
	presence.AfterCallWork: "📝",
	presence.Busy:          "⛔",
	presence.Offline:       "⚪",
}

// statusMark is "🟢 *available*".
func statusMark(s presence.Status) string {
	return statusEmoji[s] + " *" + message.Escape(s.Label()) + "*"
}

func (h *Handler) status(ctx context.Context, req Request, args []string) message.Message {
	cmd, _ := h.lookup("/status")
	if len(args) == 0 {
		return h.showStatus(ctx, req.UserID)
	}
	// "help" and anything after it is help: people add words ("help me").
	if strings.EqualFold(args[0], "help") {
		return cmd.help()
	}
	// After the first word: an optional "after-call" and an optional
	// mention, in either order.
	var (
		other     string
		afterCall bool
		unknown   []string
	)
	for _, a := range args[1:] {
		switch u, isMention := parseMention(a); {
		case isMention && other == "":
			other = u
		case strings.EqualFold(a, "after-call") && !afterCall:
			afterCall = true
		default:
			unknown = append(unknown, a)
		}
	}
	switch {
	case len(args) > 3 || len(unknown) > 1 || (len(unknown) == 1 && len(args) > 2):
		return refused("That is more than I understand.\n" + cmd.shortUsage())
	case len(unknown) == 1:
		return refused(fmt.Sprintf("`%s` is not a person. To change someone else's status, mention them: `/status %s @name`.\n%s",
			message.Escape(message.Truncate(unknown[0], 40)), message.Escape(message.Truncate(args[0], 20)), cmd.shortUsage()))
	}
	if strings.EqualFold(args[0], "cancel") {
		if afterCall {
			return refused("`/status cancel` drops a queued status; it takes no `after-call`.\n" + cmd.shortUsage())
		}
		subj, refusal := h.subjectFor(ctx, req.UserID, other, "cancel")
		if refusal != nil {
			return *refusal
		}
		return h.cancelQueued(ctx, subj)
	}
	target, err := presence.Parse(args[0])
	if err != nil {
		return refused(fmt.Sprintf("I don't know the status `%s`. You can choose `available`, `busy` or `offline`.\n%s",
			message.Escape(message.Truncate(args[0], 40)), cmd.shortUsage()))
	}
	if !target.Manual() {
		return refused(notManualText(target, other == "" || other == req.UserID) + "\n" + cmd.shortUsage())
	}
	subj, refusal := h.subjectFor(ctx, req.UserID, other, target)
	if refusal != nil {
		return *refusal
	}
	if afterCall {
		return h.queueStatus(ctx, subj, target)
	}
	return h.changeStatus(ctx, subj, target, "", req.Notify)
}

// aliasList names the status aliases for the help, made from the one
// table: "acw = after-call-work, …".
func aliasList() string {
	all := presence.Aliases()
	parts := make([]string, 0, len(all))
	for _, w := range slices.Sorted(maps.Keys(all)) {
		parts = append(parts, w+" = "+string(all[w]))
	}
	return strings.Join(parts, ", ")
}

// notManualText explains why s can't be chosen, to the agent (self) or to
// a supervisor asking for someone else.
func notManualText(s presence.Status, self bool) string {
	choose := "You can choose `available`, `busy` or `offline`."
	if !self {
		choose = "You can choose `available`, `busy` or `offline` for them."
	}
	switch {
	case s == presence.OnCall && self:
		return "*on-call* is set by the contact center while you are on a call; you can't choose it. " + choose
	case s == presence.OnCall:
		return "*on-call* is set by the contact center while an agent is on a call; nobody can choose it. " + choose
	case s == presence.AfterCallWork && self:
		return "*after-call work* follows a call automatically; you can't choose it. " + choose
	case s == presence.AfterCallWork:
		return "*after-call work* follows a call automatically; nobody can choose it. " + choose
	}
	return choose
}

// unmappedText tells a person how to get mapped.
func unmappedText(userID string) string {
	return fmt.Sprintf("I don't know which contact-center agent you are, so I can't show or change a status. "+
		"Ask an admin to add your Slack ID `%s` to the agent mapping file, or make sure your Slack profile "+
		"email is the one the contact center has for you.", message.Escape(userID))
}

// resolve finds the caller's agent, answering for them when it cannot;
// the error says why, for the audit line.
func (h *Handler) resolve(ctx context.Context, userID string) (string, *message.Message, error) {
	id, err := h.dir.AgentFor(ctx, userID)
	if err == nil {
		return id, nil, nil
	}
	if errors.Is(err, ErrUnmapped) {
		r := refused(unmappedText(userID))
		return "", &r, err
	}
	h.log.Warn("user lookup failed", "user", userID, "err", err)
	r := failed("⚠️ I couldn't look you up just now (" + lookupTrouble(err) + "). Nothing was changed; try again in a minute.")
	return "", &r, err
}

// lookupResult is the audit result of a failed lookup of a Slack user.
func lookupResult(user string, err error) string {
	if errors.Is(err, ErrUnmapped) {
		return "refused: " + user + " is not mapped to an agent"
	}
	return "failed: " + err.Error()
}

// lookupTrouble names why looking a person up failed: the contact
// center's cause from the one table, or else Slack.
func lookupTrouble(err error) string {
	if t, ok := troubleFor(err); ok {
		return t.short
	}
	return "Slack did not answer"
}

func (h *Handler) showStatus(ctx context.Context, userID string) message.Message {
	agentID, refusal, _ := h.resolve(ctx, userID)
	if refusal != nil {
		return *refusal
	}
	a, err := h.api.Get(ctx, agentID)
	if err != nil {
		return h.getFailed(err, agentID, readOnly)
	}
	subj := subject{caller: userID, agentID: agentID, user: userID, self: true}
	text := fmt.Sprintf("*Your status:* %s since %s (%s)", statusMark(a.Status),
		h.clock(a.StatusSince), message.Duration(h.now().Sub(a.StatusSince)))
	return message.Message{
		Visibility: message.Ephemeral,
		Text:       "Your status: " + a.Status.Label(),
		Blocks:     h.statusView(ctx, subj, *a, text),
	}
}

// clock is a time of day in the configured zone, with the date when it is
// not today.
func (h *Handler) clock(t time.Time) string {
	t, now := t.In(h.loc), h.now().In(h.loc)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04 MST")
	}
	return t.Format("Mon 2 Jan 15:04 MST")
}

// statusView is an agent's status answer: the lead line, any queued
// status, what may follow, and a button for each move allowed now.
func (h *Handler) statusView(ctx context.Context, subj subject, a presence.Agent, lead string) []message.Block {
	blocks := []message.Block{message.NewSection(lead)}
	p, queued := h.queued(ctx, a.ID)
	if queued {
		blocks = append(blocks, message.NewSection(queuedText(p, subj, a, h.clock)))
	}
	blocks = append(blocks, message.NewContext(nextText(a.Status, subj)))
	if buttons := h.statusButtons(a, queued); len(buttons) > 0 {
		blocks = append(blocks, message.NewActions(buttons...))
	}
	return blocks
}

// nextText says what the subject's agent, in s, may switch to, with the
// commands the caller would type.
func nextText(s presence.Status, subj subject) string {
	if s.SystemManaged() {
		if subj.self {
			return "You're on a call: the contact center manages your status until it ends, then you move to after-call work."
		}
		return "On a call: the contact center manages their status until it ends, then they move to after-call work."
	}
	who := "You"
	if !subj.self {
		who = "They"
	}
	allowed := presence.Allowed(s)
	if len(allowed) == 0 {
		return "There is nothing " + strings.ToLower(who) + " can switch to from here."
	}
	parts := make([]string, len(allowed))
	for i, st := range allowed {
		parts[i] = subj.command("/status "+string(st), "`"+string(st)+"`")
	}
	return who + " can switch to: " + strings.Join(parts, " · ")
}

// subject is whom a status command is about, and who asked.
type subject struct {
	caller  string // the Slack user asking
	agentID string
	// user is the agent's Slack user, when known (the caller, for self).
	user string
	self bool // the caller is the agent
}

// command is what the caller types to run cmd on the subject: for someone
// else the mention follows the code span, since Slack shows no mention
// inside one. Without a Slack user for the agent nothing can be typed,
// and orElse stands instead.
func (s subject) command(cmd, orElse string) string {
	switch {
	case s.self:
		return "`" + cmd + "`"
	case s.user != "":
		return "`" + cmd + "` " + mention(s.user)
	}
	return orElse
}

// ref names someone else's agent without a read of it: the mention, which
// Slack shows as their name, and the agent ID.
func (s subject) ref() string {
	if s.user != "" {
		return mention(s.user) + " (`" + message.Escape(s.agentID) + "`)"
	}
	return "agent `" + message.Escape(s.agentID) + "`"
}

// subjectFor resolves the agent a status command is about: the caller's
// own, or for a supervisor the mentioned person's. what is the status (or
// "cancel") for the audit line.
func (h *Handler) subjectFor(ctx context.Context, caller, other string, what presence.Status) (subject, *message.Message) {
	if other == "" || other == caller {
		id, refusal, err := h.resolve(ctx, caller)
		if refusal != nil {
			h.audit(caller, "", "", what, lookupResult(caller, err))
			return subject{}, refusal
		}
		return subject{caller: caller, agentID: id, user: caller, self: true}, nil
	}
	if !h.dir.IsSupervisor(caller) {
		h.audit(caller, "", "", what, "refused: not a supervisor")
		r := refused("Only supervisors can change someone else's status. You can change your own with `/status " + message.Escape(string(what)) + "`.")
		if what == "cancel" {
			r = refused("Only supervisors can drop someone else's queued status. You can drop your own with `/status cancel`.")
		}
		return subject{}, &r
	}
	id, err := h.dir.AgentFor(ctx, other)
	if err != nil {
		h.audit(caller, "", "", what, lookupResult(other, err))
		var r message.Message
		switch {
		case errors.Is(err, ErrUnmapped) && what == "cancel":
			r = refused(fmt.Sprintf("%s is not mapped to a contact-center agent, so nothing is queued for them.", mention(other)))
		case errors.Is(err, ErrUnmapped):
			r = refused(fmt.Sprintf("%s is not mapped to a contact-center agent, so I can't change their status.", mention(other)))
		default:
			r = failed("⚠️ I couldn't look that person up just now (" + lookupTrouble(err) + "). Nothing was changed.")
		}
		return subject{}, &r
	}
	return subject{caller: caller, agentID: id, user: other, self: false}, nil
}

// changeStatus moves the subject's agent to target: one GET to check the
// transition here, one PUT. expected, when set, is the status a button
// was made for: if the agent has moved since, the click is stale and
// nothing is written. Both requests go before roster reads in the API
// budget; held there long, the change tells the person through notify
// (when set) that it is queued.
func (h *Handler) changeStatus(ctx context.Context, subj subject, target, expected presence.Status,
	notify func(context.Context, message.Message)) message.Message {
	caller, agentID, self := subj.caller, subj.agentID, subj.self
	ctx = presence.WithPriority(ctx, presence.Write)
	if notify != nil {
		ctx = presence.WithQueueNotice(ctx, func(position int) { notify(ctx, queuedNotice(subj, target, position)) })
	}
	cur, err := h.api.Get(ctx, agentID)
	if err != nil {
		h.audit(caller, agentID, "", target, "failed: "+err.Error())
		return h.getFailed(err, agentID, nothingDone)
	}
	who := "You're"
	if !self {
		who = agentLabel(*cur) + " is"
	}
	// Already there comes first: a click whose change landed before its
	// replica died, finished late by another, is not a stale click.
	if cur.Status == target {
		h.audit(caller, agentID, cur.Status, target, "no change: already in that status")
		return h.statusAnswer(ctx, subj, *cur, fmt.Sprintf("%s already %s.", who, statusMark(target)))
	}
	if expected != "" && cur.Status != expected {
		h.audit(caller, agentID, cur.Status, target, "refused: stale button (made for "+string(expected)+")")
		lead := fmt.Sprintf("That button was for %s, but %s now %s, so I changed nothing. Here is where things stand:",
			statusMark(expected), strings.ToLower(who[:1])+who[1:], statusMark(cur.Status))
		if !self {
			lead = fmt.Sprintf("That button was for %s, but %s now %s, so I changed nothing.", statusMark(expected), who, statusMark(cur.Status))
		}
		return refusal(h.statusAnswer(ctx, subj, *cur, lead))
	}
	if cur.Status.SystemManaged() {
		h.audit(caller, agentID, cur.Status, target, "refused: on a call")
		return refusal(h.onCallAnswer(ctx, subj, *cur, target, who))
	}
	if !presence.CanTransition(cur.Status, target) {
		h.audit(caller, agentID, cur.Status, target, "refused: invalid transition")
		return refusal(h.statusAnswer(ctx, subj, *cur, invalidText(cur.Status, target, self)))
	}

	if err := h.api.SetStatus(ctx, agentID, target); err != nil {
		if errors.Is(err, presence.ErrInvalidTransition) {
			// Someone or something moved the agent between our read and
			// our write; explain from where they are now.
			h.audit(caller, agentID, cur.Status, target, "refused by the contact center: "+err.Error())
			if now, gerr := h.api.Get(ctx, agentID); gerr == nil && now.Status != cur.Status {
				return refusal(h.statusAnswer(ctx, subj, *now, fmt.Sprintf("The status changed to %s just now, before your change arrived.\n%s",
					statusMark(now.Status), invalidOrNext(now.Status, target, self))))
			}
			// The table allows the move (it was checked above), so saying
			// "you can't" would contradict the list of allowed moves.
			return refused(fmt.Sprintf("The contact center refused the change from %s to %s; "+
				"the status may have changed and changed back. Nothing was changed: check with `/status` and try again.",
				statusMark(cur.Status), statusMark(target)))
		}
		if aboutAgent(err) {
			// A 404 or 403 on the change: the mapping or the token's
			// rights are wrong, and trying again will not help.
			h.audit(caller, agentID, cur.Status, target, "refused by the contact center: "+err.Error())
			return refused(agentTroubleText(err, agentID, "change the status of", nothingDone))
		}
		h.audit(caller, agentID, cur.Status, target, "failed: "+err.Error())
		return failed(troubleText(err, writeEffect(err)))
	}
	h.audit(caller, agentID, cur.Status, target, "ok")
	updated := *cur
	updated.Status, updated.StatusSince, updated.CurrentCall = target, h.now(), nil
	h.roster.Changed(updated)

	var text string
	if self {
		text = fmt.Sprintf("✅ You're now %s (was %s).", statusMark(target), cur.Status.Label())
	} else {
		text = fmt.Sprintf("✅ %s is now %s (was %s).", agentLabel(*cur), statusMark(target), cur.Status.Label())
	}
	m := h.statusAnswer(ctx, subj, updated, text)
	m.Changed = h.slackUserOf(subj)
	return m
}

// queuedNotice tells the person that their change waits for the contact
// center's API budget, and where it stands; the answer replaces it.
func queuedNotice(subj subject, target presence.Status, position int) message.Message {
	what := "Your change to " + statusMark(target)
	if !subj.self {
		what = "The change of " + subj.ref() + " to " + statusMark(target)
	}
	where := "it is next"
	switch {
	case position == 2:
		where = "1 change is ahead of it"
	case position > 2:
		where = fmt.Sprintf("%s changes are ahead of it", message.Thousands(position-1))
	}
	text := fmt.Sprintf("⏳ %s is queued: the bot keeps to the contact center's API budget, and %s. "+
		"This message will be replaced by the result.", what, where)
	return message.Message{Visibility: message.Ephemeral, Text: message.Summary(text), Blocks: []message.Block{message.NewSection(text)}}
}

// slackUserOf is the Slack user who is the subject's agent, if known.
func (h *Handler) slackUserOf(subj subject) string {
	if subj.self {
		return subj.caller
	}
	u, _ := h.dir.SlackUserFor(subj.agentID)
	return u
}

// statusAnswer is an ephemeral status view led by text.
func (h *Handler) statusAnswer(ctx context.Context, subj subject, a presence.Agent, lead string) message.Message {
	return message.Message{
		Visibility: message.Ephemeral,
		Text:       message.Summary(lead),
		Blocks:     h.statusView(ctx, subj, a, lead),
	}
}

// onCallAnswer explains that a call is the contact center's to manage,
// and offers to apply the status when the call ends.
func (h *Handler) onCallAnswer(ctx context.Context, subj subject, a presence.Agent, target presence.Status, who string) message.Message {
	lead := fmt.Sprintf("📞 %s on a call. On-call is managed by the contact center: when the call ends "+
		"the status moves to after-call work, and from there to `available` or `offline`.", who)
	if h.queue != nil && afterCallAllowed(target) {
		orType := ""
		if c := subj.command("/status "+string(target)+" after-call", ""); c != "" {
			orType = ", or type " + c
		}
		lead += fmt.Sprintf("\nI can set it to %s when this call ends: press the button below%s.", statusMark(target), orType)
	} else if h.queue != nil && target == presence.Busy {
		lead += "\n" + busyQueueText
	}
	return h.statusAnswer(ctx, subj, a, lead)
}

// writeEffect says whether an update's failure leaves the change unknown.
func writeEffect(err error) effect {
	var ae *presence.APIError
	if errors.As(err, &ae) && ae.Attempts == 0 {
		return nothingDone // failed fast, or never through the budget: nothing was sent
	}
	if errors.Is(err, presence.ErrServer) || errors.Is(err, presence.ErrUnavailable) ||
		errors.Is(err, presence.ErrBadResponse) || errors.Is(err, presence.ErrBudgetExhausted) {
		// A retry that never got through the budget follows an attempt
		// that was sent.
		return maybeChanged
	}
	return nothingDone
}

func invalidText(from, to presence.Status, self bool) string {
	subject := "You can't"
	if !self {
		subject = "They can't"
	}
	return fmt.Sprintf("%s go from %s to %s.\n%s", subject, statusMark(from), statusMark(to), allowedText(from, self))
}

func invalidOrNext(from, to presence.Status, self bool) string {
	if from == to {
		return "That is the status you asked for, so there is nothing more to do."
	}
	if presence.CanTransition(from, to) {
		return "From there " + string(to) + " is allowed: send the command again if you still want it."
	}
	if from.SystemManaged() {
		return nextText(from, subject{self: self})
	}
	return invalidText(from, to, self)
}

func allowedText(from presence.Status, self bool) string {
	allowed := presence.Allowed(from)
	if len(allowed) == 0 {
		return "From " + from.Label() + " nothing can be chosen by hand."
	}
	parts := make([]string, len(allowed))
	for i, s := range allowed {
		parts[i] = "`" + string(s) + "`"
	}
	who := "you"
	if !self {
		who = "they"
	}
	return "From " + from.Label() + " " + who + " can switch to: " + strings.Join(parts, " or ") + "."
}

// agentLabel is "*Jane Support* (agent_002)", escaped.
func agentLabel(a presence.Agent) string {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	return fmt.Sprintf("*%s* (`%s`)", message.Escape(message.Truncate(name, 60)), message.Escape(a.ID))
}

// getFailed answers a failed read of one agent. An unknown or forbidden
// agent is a refusal to explain, not an outage.
func (h *Handler) getFailed(err error, agentID string, e effect) message.Message {
	text := agentTroubleText(err, agentID, "see", e)
	if aboutAgent(err) {
		return refused(text)
	}
	return failed(text)
}

// audit leaves one line per status change attempt: who asked, for which
// agent, from, to, and how it ended.
func (h *Handler) audit(caller, agentID string, from, to presence.Status, result string) {
	h.log.Info("status change", "audit", true, "by", caller, "agent", agentID,
		"from", string(from), "to", string(to), "result", result)
}
