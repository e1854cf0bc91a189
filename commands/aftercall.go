package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

func queuedText(p Pending, self bool, clock func(time.Time) string) string {
	whose := "You're"
	if !self {
		whose = "This agent is"
	}
	return fmt.Sprintf("⏳ %s set to go %s when this call ends (until %s). `/status cancel` drops it.",
		whose, statusMark(p.Target), clock(p.Expires))
}

// queueStatus records a status to apply when the agent's call ends.
func (h *Handler) queueStatus(ctx context.Context, subj subject, target presence.Status) message.Message {
	if h.queue == nil {
		return message.Reply("Queued statuses are not switched on for this bot. Change your status when the call ends.")
	}
	if !afterCallAllowed(target) {
		h.audit(subj.caller, subj.agentID, "", target, "refused: cannot be queued")
		return message.Reply(busyQueueText)
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
		return h.statusAnswer(ctx, subj, *cur, lead)
	}
	notify := subj.caller
	if !subj.self {
		if u, ok := h.dir.SlackUserFor(subj.agentID); ok {
			notify = u
		}
	}
	now := h.now()
	p := Pending{AgentID: subj.agentID, Target: target, Notify: notify, By: subj.caller, At: now, Expires: now.Add(h.queue.expiry)}
	if err := h.queue.Put(ctx, p); err != nil {
		h.log.Error("after-call queue not saved", "agent", subj.agentID, "err", err)
		return message.Reply("⚠️ I couldn't record that just now, so nothing is queued. Please try again.")
	}
	h.audit(subj.caller, subj.agentID, cur.Status, target, "queued for after the call")
	lead := fmt.Sprintf("⏳ Noted: %s when this call ends. I'll send a message when it's done.", statusMark(target))
	m := h.statusAnswer(ctx, subj, *cur, lead)
	m.Changed = h.slackUserOf(subj)
	return m
}

// cancelQueued drops the agent's pending status.
func (h *Handler) cancelQueued(ctx context.Context, subj subject) message.Message {
	if h.queue == nil {
		return message.Reply("Queued statuses are not switched on for this bot, so there is nothing to cancel.")
	}
	had, err := h.queue.Delete(ctx, subj.agentID)
	if err != nil {
		h.log.Error("after-call queue not saved", "agent", subj.agentID, "err", err)
		return message.Reply("⚠️ I couldn't change the queue just now. Please try again.")
	}
	if !had {
		return message.Reply("There is no queued status to cancel.")
	}
	h.audit(subj.caller, subj.agentID, "", "", "queued status cancelled")
	m := message.Reply("Dropped the queued status. Your status will follow the call as usual.")
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

// AfterCall applies queued statuses when calls end. Each poll costs one
// roster request per hundred agents on a call, plus one per hundred in
// after-call work when someone left a call: never one per waiting agent.
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
		if err := a.apply(ctx, p, inACW); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply carries out one wish whose call has ended. A failure that may
// pass keeps the wish for the next poll: nothing accepted is dropped
// silently.
func (a *AfterCall) apply(ctx context.Context, p Pending, inACW map[string]presence.Agent) error {
	h := a.h
	cur, ok := inACW[p.AgentID]
	if !ok {
		// Not in after-call work either: someone or something moved them
		// on already. A rare path, so one GET for this agent.
		got, err := h.api.Get(ctx, p.AgentID)
		if err != nil {
			return fmt.Errorf("read %s for its queued status: %w", p.AgentID, err)
		}
		cur = *got
	}
	var note string
	switch {
	case cur.Status.SystemManaged():
		return nil // a new call already: keep waiting
	case cur.Status == p.Target:
		note = fmt.Sprintf("Your call ended and you're already %s, as you asked.", statusMark(p.Target))
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: no change, already in that status")
	case !presence.CanTransition(cur.Status, p.Target):
		note = fmt.Sprintf("Your call ended, but you're %s now, and from there you can't go to %s, so I dropped the queued status.",
			statusMark(cur.Status), statusMark(p.Target))
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: refused, invalid transition")
	default:
		if err := h.api.SetStatus(ctx, p.AgentID, p.Target); err != nil {
			if presence.Temporary(err) {
				return fmt.Errorf("apply the queued %s to %s: %w", p.Target, p.AgentID, err)
			}
			note = fmt.Sprintf("Your call ended, but the contact center refused %s, so I dropped the queued status. Use `/status` to set it.",
				statusMark(p.Target))
			h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: failed: "+err.Error())
			break
		}
		h.audit(p.By, p.AgentID, cur.Status, p.Target, "queued: ok")
		updated := cur
		updated.Status, updated.StatusSince, updated.CurrentCall = p.Target, h.now(), nil
		h.roster.Changed(updated)
		note = fmt.Sprintf("✅ Your call ended: you're now %s, as you asked.", statusMark(p.Target))
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
	a.tell(ctx, p, fmt.Sprintf("⌛ Your queued %s expired before the call ended, so I dropped it. Use `/status` when you're ready.",
		statusMark(p.Target)))
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
