package commands

import (
	"context"
	"errors"
	"fmt"
	"github.com/presencebot/presence-bot/message"
	"regexp"
	"strings"

	"github.com/presencebot/presence-bot/presence"
)

// mentionRE matches a user mention as Slack sends it with
// should_escape: <@U123> or <@U123|name>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)

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
	if len(args) == 1 && strings.EqualFold(args[0], "help") {
		return cmd.help()
	}
	if len(args) > 2 {
		return message.Reply("That is more than I understand.\n" + cmd.shortUsage())
	}
	target, err := presence.Parse(args[0])
	if err != nil {
		return message.Reply(fmt.Sprintf("I don't know the status `%s`. You can choose `available`, `busy` or `offline`.\n%s",
			message.Escape(message.Truncate(args[0], 40)), cmd.shortUsage()))
	}
	if !target.Manual() {
		return message.Reply(notManualText(target) + "\n" + cmd.shortUsage())
	}
	if len(args) == 1 {
		return h.changeStatus(ctx, req.UserID, "", target)
	}
	other, ok := parseMention(args[1])
	if !ok {
		return message.Reply(fmt.Sprintf("`%s` is not a person. To change someone else's status, mention them: `/status %s @name`.\n%s",
			message.Escape(message.Truncate(args[1], 40)), target, cmd.shortUsage()))
	}
	return h.changeStatus(ctx, req.UserID, other, target)
}

func notManualText(s presence.Status) string {
	switch s {
	case presence.OnCall:
		return "*on-call* is set by the contact center while you are on a call; you can't choose it. " +
			"You can choose `available`, `busy` or `offline`."
	case presence.AfterCallWork:
		return "*after-call work* follows a call automatically; you can't choose it. " +
			"You can choose `available`, `busy` or `offline`."
	}
	return "You can choose `available`, `busy` or `offline`."
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
		r := message.Reply(unmappedText(userID))
		return "", &r, err
	}
	h.log.Warn("user lookup failed", "user", userID, "err", err)
	r := message.Reply("⚠️ I couldn't look you up just now (" + lookupTrouble(err) + "). Nothing was changed; try again in a minute.")
	return "", &r, err
}

// lookupResult is the audit result of a failed lookup of a Slack user.
func lookupResult(user string, err error) string {
	if errors.Is(err, ErrUnmapped) {
		return "refused: " + user + " is not mapped to an agent"
	}
	return "failed: " + err.Error()
}

func lookupTrouble(err error) string {
	if presence.Temporary(err) || errors.Is(err, presence.ErrUnauthorized) {
		return "the contact center is not answering"
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
	return message.Message{Visibility: message.Ephemeral, Text: "Your status: " + a.Status.Label(), Blocks: h.statusBlocks("Your status", *a)}
}

// statusBlocks shows one agent's status, since when, and what may follow.
func (h *Handler) statusBlocks(title string, a presence.Agent) []message.Block {
	now := h.now()
	text := fmt.Sprintf("*%s:* %s since %s (%s)", title, statusMark(a.Status),
		a.StatusSince.In(h.loc).Format("15:04 MST"), message.Duration(now.Sub(a.StatusSince)))
	return []message.Block{message.NewSection(text), message.NewContext(nextText(a.Status))}
}

// nextText says what an agent in s may switch to.
func nextText(s presence.Status) string {
	if s.SystemManaged() {
		return "You're on a call: the contact center manages your status until it ends, then you move to after-call work."
	}
	allowed := presence.Allowed(s)
	if len(allowed) == 0 {
		return "There is nothing you can switch to from here."
	}
	parts := make([]string, len(allowed))
	for i, st := range allowed {
		parts[i] = "`/status " + string(st) + "`"
	}
	return "You can switch to: " + strings.Join(parts, " · ")
}

// changeStatus moves the caller (or, for supervisors, the mentioned
// person) to target: one GET to check the transition here, one PUT.
func (h *Handler) changeStatus(ctx context.Context, caller, other string, target presence.Status) message.Message {
	if other == caller {
		other = ""
	}
	var agentID string
	self := other == ""
	if self {
		id, refusal, err := h.resolve(ctx, caller)
		if refusal != nil {
			h.audit(caller, "", "", target, lookupResult(caller, err))
			return *refusal
		}
		agentID = id
	} else {
		if !h.dir.IsSupervisor(caller) {
			h.audit(caller, "", "", target, "refused: not a supervisor")
			return message.Reply("Only supervisors can change someone else's status. You can change your own with `/status " + string(target) + "`.")
		}
		id, err := h.dir.AgentFor(ctx, other)
		if err != nil {
			h.audit(caller, "", "", target, lookupResult(other, err))
		}
		switch {
		case errors.Is(err, ErrUnmapped):
			return message.Reply(fmt.Sprintf("<@%s> is not mapped to a contact-center agent, so I can't change their status.", other))
		case err != nil:
			return message.Reply("⚠️ I couldn't look that person up just now (" + lookupTrouble(err) + "). Nothing was changed.")
		}
		agentID = id
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
	if cur.Status == target {
		h.audit(caller, agentID, cur.Status, target, "no change: already in that status")
		return message.Reply(fmt.Sprintf("%s already %s.", who, statusMark(target)))
	}
	if cur.Status.SystemManaged() {
		h.audit(caller, agentID, cur.Status, target, "refused: on a call")
		return message.Reply(fmt.Sprintf("📞 %s on a call. On-call is managed by the contact center: when the call ends "+
			"the status moves to after-call work, and from there to `available` or `offline`.", who))
	}
	if !presence.CanTransition(cur.Status, target) {
		h.audit(caller, agentID, cur.Status, target, "refused: invalid transition")
		return message.Reply(invalidText(cur.Status, target, self))
	}

	if err := h.api.SetStatus(ctx, agentID, target); err != nil {
		if errors.Is(err, presence.ErrInvalidTransition) {
			// Someone or something moved the agent between our read and
			// our write; explain from where they are now.
			h.audit(caller, agentID, cur.Status, target, "refused by the contact center: "+err.Error())
			if now, gerr := h.api.Get(ctx, agentID); gerr == nil && now.Status != cur.Status {
				return message.Reply(fmt.Sprintf("The status changed to %s just now, before your change arrived.\n%s",
					statusMark(now.Status), invalidOrNext(now.Status, target, self)))
			}
			// The table allows the move (it was checked above), so saying
			// "you can't" would contradict the list of allowed moves.
			return message.Reply(fmt.Sprintf("The contact center refused the change from %s to %s; "+
				"the status may have changed and changed back. Nothing was changed: check with `/status` and try again.",
				statusMark(cur.Status), statusMark(target)))
		}
		h.audit(caller, agentID, cur.Status, target, "failed: "+err.Error())
		return message.Reply(troubleText(err, writeEffect(err)))
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
	return message.Message{
		Visibility: message.Ephemeral,
		Text:       message.Summary(text),
		Blocks:     []message.Block{message.NewSection(text), message.NewContext(nextText(target))},
	}
}

// writeEffect says whether an update's failure leaves the change unknown.
func writeEffect(err error) effect {
	var ae *presence.APIError
	if errors.As(err, &ae) && ae.Attempts == 0 {
		return nothingDone // failed fast: nothing was sent
	}
	if errors.Is(err, presence.ErrServer) || errors.Is(err, presence.ErrUnavailable) ||
		errors.Is(err, presence.ErrBadResponse) {
		return maybeChanged
	}
	return nothingDone
}

func invalidText(from, to presence.Status, self bool) string {
	subject := "You can't"
	if !self {
		subject = "They can't"
	}
	return fmt.Sprintf("%s go from %s to %s.\n%s", subject, statusMark(from), statusMark(to), allowedText(from))
}

func invalidOrNext(from, to presence.Status, self bool) string {
	if from == to {
		return "That is the status you asked for, so there is nothing more to do."
	}
	if presence.CanTransition(from, to) {
		return "From there " + string(to) + " is allowed: send the command again if you still want it."
	}
	if from.SystemManaged() {
		return nextText(from)
	}
	return invalidText(from, to, self)
}

func allowedText(from presence.Status) string {
	allowed := presence.Allowed(from)
	if len(allowed) == 0 {
		return "From " + from.Label() + " nothing can be chosen by hand."
	}
	parts := make([]string, len(allowed))
	for i, s := range allowed {
		parts[i] = "`" + string(s) + "`"
	}
	return "From " + from.Label() + " you can switch to: " + strings.Join(parts, " or ") + "."
}

// agentLabel is "*Jane Support* (agent_002)", escaped.
func agentLabel(a presence.Agent) string {
	name := a.Name
	if name == "" {
		name = a.ID
	}
	return fmt.Sprintf("*%s* (`%s`)", message.Escape(message.Truncate(name, 60)), message.Escape(a.ID))
}

func (h *Handler) getFailed(err error, agentID string, e effect) message.Message {
	if errors.Is(err, presence.ErrNotFound) {
		return message.Reply(fmt.Sprintf("The contact center has no agent `%s`. An admin should check the agent mapping file.", message.Escape(agentID)))
	}
	return message.Reply(troubleText(err, e))
}

// audit leaves one line per status change attempt: who asked, for which
// agent, from, to, and how it ended.
func (h *Handler) audit(caller, agentID string, from, to presence.Status, result string) {
	h.log.Info("status change", "audit", true, "by", caller, "agent", agentID,
		"from", string(from), "to", string(to), "result", result)
}
