package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/presencebot/presence-bot/state"
)

// Mapping is the agent mapping file.
type Mapping interface {
	AgentID(slackUserID string) (string, bool)
	SlackUser(agentID string) (string, bool)
	IsSupervisor(slackUserID string) bool
}

// EmailLookup finds a Slack user's profile email (users.info).
type EmailLookup interface {
	UserEmail(ctx context.Context, slackUserID string) (string, error)
}

// ErrUnmapped means a Slack user is not a known agent, by the mapping
// file or by email.
var ErrUnmapped = errors.New("not mapped to an agent")

// Directory maps Slack users to contact-center agents: the mapping file
// first, then the Slack profile email matched against the agents' emails.
// Email matches are remembered; misses are remembered briefly so a
// stranger typing commands does not cost a Slack call each time.
type Directory struct {
	mapping Mapping
	emails  EmailLookup // nil: no fallback
	roster  Roster
	now     func() time.Time

	// shared keeps learned matches where every replica sees them; nil
	// keeps them in this process only.
	shared state.Store

	mu      sync.Mutex
	learned map[string]string    // Slack user → agent, by email
	misses  map[string]time.Time // Slack user → when the miss expires
}

// missTTL is how long a failed email match is remembered: long enough to
// spare Slack, short enough that a fixed profile works soon.
const missTTL = 5 * time.Minute

// NewDirectory returns a directory. emails may be nil.
func NewDirectory(m Mapping, emails EmailLookup, roster Roster, now func() time.Time) *Directory {
	if now == nil {
		now = time.Now
	}
	return &Directory{
		mapping: m, emails: emails, roster: roster, now: now,
		learned: map[string]string{}, misses: map[string]time.Time{},
	}
}

// Share keeps email matches in store, so replicas learn them once.
func (d *Directory) Share(store state.Store) { d.shared = store }

// learnedKey is where a Slack user's email match is shared.
func learnedKey(slackUserID string) string { return "learned_agent:" + slackUserID }

// IsSupervisor reports whether the Slack user may act for others.
func (d *Directory) IsSupervisor(slackUserID string) bool {
	return d.mapping != nil && d.mapping.IsSupervisor(slackUserID)
}

// AgentFor returns the agent a Slack user is. It returns ErrUnmapped when
// there is none, or another error when the lookup itself failed.
func (d *Directory) AgentFor(ctx context.Context, slackUserID string) (string, error) {
	if d.mapping != nil {
		if id, ok := d.mapping.AgentID(slackUserID); ok {
			return id, nil
		}
	}
	d.mu.Lock()
	id, ok := d.learned[slackUserID]
	missUntil, missed := d.misses[slackUserID]
	d.mu.Unlock()
	if ok {
		return id, nil
	}
	if d.shared != nil {
		// Another replica may have learned it; a store failure only costs
		// a Slack lookup.
		if found, err := d.shared.Load(ctx, learnedKey(slackUserID), &id); err == nil && found && id != "" {
			d.mu.Lock()
			d.learned[slackUserID] = id
			d.mu.Unlock()
			return id, nil
		}
	}
	if d.emails == nil || (missed && d.now().Before(missUntil)) {
		return "", ErrUnmapped
	}

	email, err := d.emails.UserEmail(ctx, slackUserID)
	if err != nil {
		return "", fmt.Errorf("look up the Slack profile of %s: %w", slackUserID, err)
	}
	id, err = d.matchEmail(ctx, email)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	if id == "" {
		d.misses[slackUserID] = d.now().Add(missTTL)
		d.mu.Unlock()
		return "", ErrUnmapped
	}
	delete(d.misses, slackUserID)
	d.learned[slackUserID] = id
	d.mu.Unlock()
	if d.shared != nil {
		_ = d.shared.Save(ctx, learnedKey(slackUserID), id) // best effort: memory has it
	}
	return id, nil
}

// matchEmail finds the agent with this email, case-insensitively. An agent
// the mapping file gives to someone else is never matched: the file wins.
func (d *Directory) matchEmail(ctx context.Context, email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", nil
	}
	snap, err := d.roster.Get(ctx)
	if err != nil {
		return "", fmt.Errorf("read the roster to match an email: %w", err)
	}
	for a := range snap.All() {
		if !strings.EqualFold(a.Email, email) {
			continue
		}
		if d.mapping != nil {
			if _, claimed := d.mapping.SlackUser(a.ID); claimed {
				return "", nil
			}
		}
		return a.ID, nil
	}
	return "", nil
}

// knownAgent is the agent a Slack user is known to be, without asking
// anyone: "" when it would take a lookup.
func (d *Directory) knownAgent(slackUserID string) string {
	if d.mapping != nil {
		if id, ok := d.mapping.AgentID(slackUserID); ok {
			return id
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.learned[slackUserID]
}

// SlackUserFor returns the Slack user known to be this agent, if any.
func (d *Directory) SlackUserFor(agentID string) (string, bool) {
	if d.mapping != nil {
		if u, ok := d.mapping.SlackUser(agentID); ok {
			return u, true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, id := range d.learned {
		if id == agentID {
			return u, true
		}
	}
	return "", false
}
