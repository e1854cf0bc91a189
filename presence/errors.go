package presence

import (
	"errors"
	"fmt"
	"time"
)

// Error classes of the Agent Presence API. Callers tell them apart with
// errors.Is; *APIError carries the details.
var (
	// ErrInvalidTransition is the API's 400: the move is not in the table,
	// often because the agent's status changed in the meantime.
	ErrInvalidTransition = errors.New("invalid status transition")
	// ErrUnauthorized is a 401 only: the token itself was refused.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden is a 403: the token is good, but may not do this (this
	// account, or this agent). Kept apart from ErrUnauthorized so the
	// answer, the check and readiness can name the real cause.
	ErrForbidden   = errors.New("forbidden")
	ErrNotFound    = errors.New("agent not found")
	ErrRateLimited = errors.New("rate limited")
	ErrServer      = errors.New("contact-center server error")
	// ErrBadResponse is an answer that cannot be trusted as data:
	// malformed JSON, missing fields, unknown statuses, oversized bodies.
	ErrBadResponse = errors.New("bad response from the contact center")
	// ErrUnavailable covers timeouts, refused connections and the client
	// failing fast after repeated failures.
	ErrUnavailable = errors.New("contact center unavailable")
	// ErrBadRequest is any other 4xx.
	ErrBadRequest = errors.New("request refused by the contact center")
)

// Kinds returns every error class above, for tables that must cover them
// all (a test checks the list against this file).
func Kinds() []error {
	return []error{ErrInvalidTransition, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited,
		ErrServer, ErrBadResponse, ErrUnavailable, ErrBadRequest}
}

// APIError describes one failed API call. Its text never holds the access
// token: requests carry it only in a header, which no error repeats.
type APIError struct {
	Op         string // what was being done, e.g. "set agent_001 to busy"
	StatusCode int    // HTTP status, 0 when no answer arrived
	Message    string // the API's own message, when it gave one
	RetryAfter time.Duration
	Attempts   int   // HTTP attempts made; more than 1 when retried
	Kind       error // one of the Err* sentinels
	Cause      error // the transport or decoding error, if any
}

func (e *APIError) Error() string {
	msg := e.Op + ": " + e.Kind.Error()
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap lets errors.Is match both the class and the cause.
func (e *APIError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// kindForStatus maps an HTTP status to an error class. The spec gives 400
// one meaning, an invalid transition, which only an update can cause.
func kindForStatus(code int, update bool) error {
	switch {
	case code == 400 && update:
		return ErrInvalidTransition
	case code == 401:
		return ErrUnauthorized
	case code == 403:
		return ErrForbidden
	case code == 404:
		return ErrNotFound
	case code == 429:
		return ErrRateLimited
	case code >= 500:
		return ErrServer
	default:
		return ErrBadRequest
	}
}

// Temporary reports whether err is worth trying again later: the contact
// center was down, slow, overloaded or answered garbage.
func Temporary(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrServer) ||
		errors.Is(err, ErrRateLimited) || errors.Is(err, ErrBadResponse)
}
