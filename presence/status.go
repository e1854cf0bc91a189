// Package presence holds the contact-center domain: agent statuses, the
// transition table the contact center enforces, and the Agent Presence API
// client.
package presence

import (
	"fmt"
	"maps"
	"strings"
)

// Status is an agent's presence status as the API spells it.
type Status string

// The five statuses of the Agent Presence API.
const (
	Available     Status = "available"
	Busy          Status = "busy"
	OnCall        Status = "on-call"
	AfterCallWork Status = "after-call-work"
	Offline       Status = "offline"
)

// Statuses lists every status in the order answers show them: ready first,
// gone last.
var Statuses = []Status{Available, OnCall, AfterCallWork, Busy, Offline}

// ManualStatuses are the statuses a person may choose by hand.
var ManualStatuses = []Status{Available, Busy, Offline}

// transitions is the spec's "Valid Status Transitions" table, row for row.
// on-call and the moves into and out of it are managed by the system, so
// on-call has no row and is in no row.
var transitions = map[Status][]Status{
	Offline:       {Available},
	Available:     {Busy, Offline},
	AfterCallWork: {Available, Offline},
	Busy:          {Available, Offline},
}

// ParseError reports text that names no status.
type ParseError struct {
	Input string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("unknown status %q (want one of %s)", e.Input, joinStatuses(Statuses, ", "))
}

// aliases are the other words people type for statuses, keyed as Parse
// normalises them. It is the one table: /status and /presence both read
// it through Parse, so a word means the same status to each.
var aliases = map[string]Status{
	"after-call": AfterCallWork,
	"acw":        AfterCallWork,
	"oncall":     OnCall,
}

// Aliases returns a copy of the alias table (word → status), for help
// texts.
func Aliases() map[string]Status { return maps.Clone(aliases) }

// Parse turns user or API text into a Status. It ignores case and
// surrounding space, accepts underscores for hyphens, as the API's
// summary keys spell them, and the aliases people type.
func Parse(s string) (Status, error) {
	norm := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	if st, ok := aliases[norm]; ok {
		return st, nil
	}
	st := Status(norm)
	if st.Valid() {
		return st, nil
	}
	return "", &ParseError{Input: s}
}

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	switch s {
	case Available, Busy, OnCall, AfterCallWork, Offline:
		return true
	}
	return false
}

// Manual reports whether a person may set s by hand.
func (s Status) Manual() bool {
	return s == Available || s == Busy || s == Offline
}

// SystemManaged reports whether only the contact center moves agents into
// and out of s.
func (s Status) SystemManaged() bool {
	return s == OnCall
}

// Label is the status as people read it ("after-call work").
func (s Status) Label() string {
	if s == AfterCallWork {
		return "after-call work"
	}
	return string(s)
}

// CanTransition reports whether the contact center allows from → to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Allowed returns the statuses an agent in from may move to by hand, in
// table order. It returns a copy, so callers may keep or change it.
func Allowed(from Status) []Status {
	return append([]Status(nil), transitions[from]...)
}

// JoinStatuses joins statuses with sep, for messages.
func joinStatuses(ss []Status, sep string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, sep)
}
