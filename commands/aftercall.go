package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/message"
	"github.com/presencebot/presence-bot/presence"
)

// busyQueueText explains why busy cannot wait for the end of a call.
const busyQueueText = "`busy` can't be queued for after the call: a call is always followed by after-call work, " +
	"and from there only `available` or `offline` are allowed."

// afterCallAllowed reports whether target may be queued: it must be
// reachable from after-call work, which follows every call.
func afterCallAllowed(target presence.Status) bool {
	return presence.CanTransition(presence.AfterCallWork, target)
}

// queued returns the agent's pending status, if the queue is on and has one.
func (h *Handler) queued(ctx context.Context, agentID string) (Pending, bool) {
	if h.queue == nil {
		return Pending{}, false
	}
	p, ok, err := h.queue.Get(ctx, agentID)
	if err != nil {
		h.log.Warn("after-call queue unreadable", "agent", agentID, "err", err)
		return Pending{}, false
	}
	return p, ok
}

// queuedText is the subject's queued status, a, as the caller sees it:
// whose it is, who queued it (unless it is the reader's own wish for
// themself), and how to drop it.
func queuedText(p Pending, subj subject, a presence.Agent, clock func(time.Time) string) string {
	whose := "You're"
	if !subj.self {
		whose = agentLabel(a) + " is"
	}
	text := fmt.Sprintf("⏳ %s set to go %s when this call ends (until %s)", whose, statusMark(p.Target), clock(p.Expires))
	switch {
	case p.By == "" || (subj.self && p.By == subj.caller):
	case p.By == subj.caller:
		text += ", queued by you"
	case !subj.self && p.By == subj.user:
		text += ", queued by them"
	default:
		text += ", queued by " + mention(p.By)
	}
	return text + ". " + subj.command("/status cancel", "The *Cancel queued status* button") + " drops it."
}

// queueStatus records a status to apply when the agent's call ends.
func (h *Handler) queueStatus(ctx context.Context, subj subject, target presence.Status) message.Message {
	if h.queue == nil {
		whose := "your"
		if !subj.self {
			whose = "their"
		}
		return refused("Queued statuses are not switched on for this bot. Change " + whose + " status when the call ends.")
	}
	if !afterCallAllowed(target) {
		h.audit(subj.caller, subj.agentID, "", target, "refused: cannot be queued")
		return refused(busyQueueText)
	}
	cur, err := h.api.Get(ctx, subj.agentID)
	if err != nil {
		return h.getFailed(err, subj.agentID, nothingDone)
	}
	if !cur.Status.SystemManaged() {
		who := "You're"
		if !subj.self {
			who = agentLabel(*cur) + " is"
		}
		lead := fmt.Sprintf("%s not on a call (%s), so there is nothing to wait for: change it now instead.", who, statusMark(cur.Status))
		return refusal(h.statusAnswer(ctx, subj, *cur, lead))
	}
	// The agent is told when it is applied; when the bot knows no Slack
	// user for them, the supervisor who asked is.
	notify := subj.user
	if notify == "" {
		notify = subj.caller
	}
	now := h.now()
	p := Pending{AgentID: subj.agentID, Target: target, Notify: notify, By: subj.caller, BySupervisor: !subj.self,
		At: now, Expires: now.Add(h.queue.expiry)}
	if err := h.queue.Put(ctx, p); err != nil {
		h.log.Error("after-call queue not saved", "agent", subj.agentID, "err", err)
		return failed("⚠️ I couldn't record that just now, so nothing is queued. Please try again.")
	}
	h.audit(subj.caller, subj.agentID, cur.Status, target, "queued for after the call")
	lead := fmt.Sprintf("⏳ Noted: %s when this call ends. I'll send a message when it's done.", statusMark(target))
	if !subj.self {
		told := "them"
		if notify == subj.caller {
			told = "you"
		}
		lead = fmt.Sprintf("✅ Queued %s to switch to %s when the call ends; I'll DM %s when it's done.",
			agentLabel(*cur), statusMark(target), told)
	}
	m := h.statusAnswer(ctx, subj, *cur, lead)
	m.Changed = h.slackUserOf(subj)
	return m
}

// cancelQueued drops the agent's pending status.
func (h *Handler) cancelQueued(ctx context.Context, subj subject) message.Message {
	if h.queue == nil {
		return refused("Queued statuses are not switched on for this bot, so there is nothing to cancel.")
	}
	p, had, err := h.queue.Delete(ctx, subj.agentID)
	if err != nil {
		h.log.Error("after-call queue not saved", "agent", subj.agentID, "err", err)
		return failed("⚠️ I couldn't change the queue just now. Please try again.")
	}
	if !had {
		if !subj.self {
			return refused(capitalize(subj.ref()) + " has no queued status to cancel.")
		}
		return refused("There is no queued status to cancel.")
	}
	h.audit(subj.caller, subj.agentID, "", "", "queued status cancelled")
	var text string
	if subj.self {
		by := ""
		if p.By != "" && p.By != subj.caller {
			by = ", queued by " + mention(p.By)
		}
		text = fmt.Sprintf("Dropped the queued status (%s%s). Your status will follow the call as usual.", statusMark(p.Target), by)
	} else {
		by := mention(p.By)
		switch {
		case p.By == subj.caller:
			by = "you"
		case p.By == subj.user && p.By != "":
			by = "them"
		}
		text = fmt.Sprintf("Dropped the status queued for %s: %s, queued by %s. Their status will follow the call as usual.",
			subj.ref(), statusMark(p.Target), by)
	}
	m := message.Reply(text)
	m.Changed = h.slackUserOf(subj)
	return m
}

// Notifier sends direct messages.
type Notifier interface {
	DirectMessage(ctx context.Context, slackUser string, m message.Message) error
}

// Lister pages through agents with a status filter.
type Lister interface {
	ListAll(ctx context.Context, opts presence.ListOptions) (*presence.Roster, error)
}

// getWorkers bounds the after-call poll's GETs in flight: enough that a
// few dozen queued statuses take a few round trips, few enough not to
// crowd out the commands sharing the API budget.
const getWorkers = 8

// AfterCall applies queued statuses when calls end. Each poll asks only
// about the agents it waits on, whichever way costs fewer requests: one
// GET per waiting agent, or, when more wait than that, a list of who is
// on a call (one request per hundred on calls) and, when someone left
// theirs, one of who is in after-call work. The counts come from the
// shared roster the other readers fetched; the poll never fetches it.
type AfterCall struct {
	h      *Handler
	list   Lister
	notify Notifier
	log    *slog.Logger
}

// AfterCall returns the job that applies the handler's queued statuses.
func (h *Handler) AfterCall(list Lister, notify Notifier) *AfterCall {
	return &AfterCall{h: h, list: list, notify: notify, log: h.log.With("job", "after_call")}
}

// Poll checks once which agents with a queued status left their call.
func (a *AfterCall) Poll(ctx context.Context, now time.Time) error {
	q := a.h.queue
	if q == nil {
		return nil
	}
	all, err := q.All(ctx)
	if err != nil || len(all) == 0 {
		return err
	}
	var waiting []Pending
	for _, p := range all {
		if !now.Before(p.Expires) {
			a.expire(ctx, p)
			continue
		}
		waiting = append(waiting, p)
	}
	if len(waiting) == 0 {
		return nil
	}
	if len(waiting) <= a.listCost() {
		return a.pollEach(ctx, waiting)
	}
	return a.pollLists(ctx, waiting)
}

// listCost is what the lists would cost, from the last roster's counts:
// a page per hundred on calls and per hundred in after-call work (two
// pages when no roster is known yet).
func (a *AfterCall) listCost() int {
	pages := func(n int) int { return max(1, (n+presence.MaxPageSize-1)/presence.MaxPageSize) }
	s := a.h.roster.LastKnown()
	if s == nil {
		return 2
	}
	return pages(s.Summary.OnCall) + pages(s.Summary.AfterCallWork)
}

// pollEach reads each waiting agent with one GET, a few at a time.
func (a *AfterCall) pollEach(ctx context.Context, waiting []Pending) error {
	got := make([]*presence.Agent, len(waiting))
	errs := make([]error, len(waiting))
	sem := make(chan struct{}, getWorkers)
	var wg sync.WaitGroup
	for i, p := range waiting {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// The GET that checks a queued change goes with the changes in
			// the API budget, ahead of roster reads.
			got[i], errs[i] = a.h.api.Get(presence.WithPriority(ctx, presence.Write), p.AgentID)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("read %s for its queued status: %w", p.AgentID, errs[i])
			}
		})
	}
	wg.Wait()
	for i, p := range waiting {
		if errs[i] != nil || got[i].Status == presence.OnCall {
			continue // kept for the next poll
		}
		errs[i] = a.apply(ctx, p, *got[i])
	}
	return errors.Join(errs...)
}

// pollLists finds who left their call from the lists of agents on calls
// and in after-call work.
func (a *AfterCall) pollLists(ctx context.Context, waiting []Pending) error {
	onCall, err := a.list.ListAll(ctx, presence.ListOptions{Status: presence.OnCall})
	if err != nil {
		return fmt.Errorf("list agents on calls: %w", err)
	}
	still := make(map[string]bool, len(onCall.Agents))
	for _, ag := range onCall.Agents {
		still[ag.ID] = true
	}
	var left []Pending
	for _, p := range waiting {
		if !still[p.AgentID] {
			left = append(left, p)
		}
	}
	if len(left) == 0 {
		return nil
	}
	acw, err := a.list.ListAll(ctx, presence.ListOptions{Status: presence.AfterCallWork})
	if err != nil {
		return fmt.Errorf("list agents in after-call work: %w", err)
	}
	inACW := make(map[string]presence.Agent, len(acw.Agents))
	for _, ag := range acw.Agents {
		inACW[ag.ID] = ag
	}
	var errs []error
	for _, p := range left {
		cur, ok := inACW[p.AgentID]
		if !ok {
			// Not in after-call work either: someone or something moved
			// them on already. A rare path, so one GET for this agent.
			got, err := a.h.api.Get(ctx, p.AgentID)
			if err != nil {
				errs = append(errs, fmt.Errorf("read %s for its queued status: %w", p.AgentID, err))
				continue
			}
			cur = *got
		}
		if err := a.apply(ctx, p, cur); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply carries out one wish whose call has ended, cur being the agent
// as read just now. A failure that may pass keeps the wish for the next
// poll: nothing accepted is dropped silently.
func (a *AfterCall) apply(ctx context.Context, p Pending, cur presence.Agent) error {
	h := a.h
	var note string
	w := noteWordsFor(p, agentLabel(cur))
	switch {
	case cur.Status.SystemManaged():
		return nil // a new call already: keep waiting
	case cur.Status == p.Target:
		note = fmt.Sprintf("%s and %s already %s, %s.", w.ended, w.youre, statusMark(p.Target), w.asked)
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: no change, already in that status")
	case !presence.CanTransition(cur.Status, p.Target):
		note = fmt.Sprintf("%s, but %s %s now, and from there %s can't go to %s, so %s.",
			w.ended, w.youre, statusMark(cur.Status), w.you, statusMark(p.Target), w.dropped)
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: refused, invalid transition")
	default:
		if err := h.api.SetStatus(presence.WithPriority(ctx, presence.Write), p.AgentID, p.Target); err != nil {
			if presence.Temporary(err) {
				return fmt.Errorf("apply the queued %s to %s: %w", p.Target, p.AgentID, err)
			}
			note = fmt.Sprintf("%s, but the contact center refused %s, so %s.%s", w.ended, statusMark(p.Target), w.dropped, w.setIt)
			h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: failed: "+err.Error())
			break
		}
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: ok")
		updated := cur
		updated.Status, updated.StatusSince, updated.CurrentCall = p.Target, h.now(), nil
		h.roster.Changed(updated)
		note = fmt.Sprintf("✅ %s: %s now %s, %s.", w.ended, w.youre, statusMark(p.Target), w.asked)
	}
	if err := h.queue.DeleteIf(ctx, p); err != nil {
		return err
	}
	a.tell(ctx, p, note)
	return nil
}

func (a *AfterCall) expire(ctx context.Context, p Pending) {
	if err := a.h.queue.DeleteIf(ctx, p); err != nil {
		a.log.Error("expired queued status not dropped", "agent", p.AgentID, "err", err)
		return
	}
	a.h.audit(p.By, p.AgentID, "", p.Target, "queued: expired")
	var note string
	switch p.reader() {
	case readerAgent:
		note = fmt.Sprintf("⌛ The %s %s queued for you expired before your call ended, so I dropped it. Use `/status` when you're ready.",
			statusMark(p.Target), mention(p.By))
	case readerAsker:
		note = fmt.Sprintf("⌛ The %s you queued for agent `%s` expired before their call ended, so I dropped it.",
			statusMark(p.Target), message.Escape(p.AgentID))
	default:
		note = fmt.Sprintf("⌛ Your queued %s expired before the call ended, so I dropped it. Use `/status` when you're ready.",
			statusMark(p.Target))
	}
	a.tell(ctx, p, note)
}

// reader is who a note about a queued status is for.
type reader int

const (
	readerSelf  reader = iota // the agent, who queued it
	readerAgent               // the agent, for whom a supervisor queued it
	readerAsker               // the supervisor who queued it, when the agent has no known Slack user
)

func (p Pending) reader() reader {
	switch {
	case !p.BySupervisor:
		return readerSelf
	case p.Notify != p.By:
		return readerAgent
	}
	return readerAsker
}

// noteWords are the parts of a note about a queued status that depend on
// its reader, so the agent always learns who queued it.
type noteWords struct {
	ended   string // "Your call ended"
	youre   string // "you're"
	you     string // "you"
	asked   string // "as you asked"
	dropped string // "I dropped the queued status"
	setIt   string // what the reader can do instead, if anything
}

// noteWordsFor words notes about p; label names the agent.
func noteWordsFor(p Pending, label string) noteWords {
	switch p.reader() {
	case readerAgent:
		by := mention(p.By)
		return noteWords{ended: "Your call ended", youre: "you're", you: "you", asked: "as " + by + " queued it for you",
			dropped: "I dropped the status " + by + " queued for you", setIt: " Use `/status` to set it."}
	case readerAsker:
		return noteWords{ended: "The call of " + label + " ended", youre: "they're", you: "they", asked: "as you asked",
			dropped: "I dropped the queued status"}
	}
	return noteWords{ended: "Your call ended", youre: "you're", you: "you", asked: "as you asked",
		dropped: "I dropped the queued status", setIt: " Use `/status` to set it."}
}

// tell sends the agent a direct message; a failure is logged, since the
// status itself is already settled.
func (a *AfterCall) tell(ctx context.Context, p Pending, text string) {
	if a.notify == nil || p.Notify == "" {
		return
	}
	if err := a.notify.DirectMessage(ctx, p.Notify, message.Reply(text)); err != nil {
		a.log.Warn("could not tell the agent about their queued status", "agent", p.AgentID, "user", p.Notify, "err", err)
	}
}
