package presence

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SharedStore keeps one roster snapshot for every replica of the bot
// (redisstate.RosterStore with REDIS_URL), so the contact center sees one
// roster fetch per TTL whatever the number of replicas. It stores bytes;
// Snapshots encodes them (EncodeRoster).
//
// Ordering across replicas uses one logical clock, the store's sequence:
// each claim to refresh and each change the bot makes takes the next
// number. A snapshot's version is the sequence of the claim it was
// fetched under, so a change with a higher sequence came after that fetch
// began and must be laid over it; a lower one was seen by the fetch.
// Which changes a snapshot has seen is never decided by the replicas'
// clocks.
type SharedStore interface {
	// Stamp is a cheap read of what is stored: it says whether anything
	// changed since the last Load.
	Stamp(ctx context.Context) (SharedStamp, error)
	// Load reads the stamp, the bot's changes newer than the stored
	// snapshot and, when withData, the snapshot itself, all at one
	// moment.
	Load(ctx context.Context, withData bool) (SharedState, error)
	// Claim makes the caller the fleet's one refresher for lease and
	// returns the claim's sequence number, or 0 while another holds it or
	// when a snapshot newer than seen (the version the caller last read)
	// was stored meanwhile: the caller reads that one instead.
	Claim(ctx context.Context, token string, lease time.Duration, seen int64) (int64, error)
	// Renew extends the caller's claim by lease, reporting false when it
	// is no longer the caller's.
	Renew(ctx context.Context, token string, lease time.Duration) (bool, error)
	// Save stores data as the snapshot fetched under claim seq, unless a
	// later claim stored one first, and ends the claim.
	Save(ctx context.Context, token string, seq int64, data []byte) error
	// Fail records that the refresh under claim seq failed (failure
	// names how; see encodeFailure) and ends the claim.
	Fail(ctx context.Context, token string, seq int64, failure string) error
	// Change records one agent's new presence after the bot changed it;
	// data is EncodeAgent's.
	Change(ctx context.Context, agentID string, data []byte) error
}

// SharedStamp is what a SharedStore holds, in brief.
type SharedStamp struct {
	// Version is the sequence of the claim the stored snapshot was
	// fetched under; 0 when none is stored.
	Version int64
	// Gen changes with every save, failure and change.
	Gen int64
	// FailSeq is the claim sequence of the last failed refresh, and
	// Failure how it failed.
	FailSeq int64
	Failure string
}

// SharedState is a SharedStore's content at one moment.
type SharedState struct {
	SharedStamp
	// Data is the stored snapshot (EncodeRoster's); nil when none is
	// stored or it was not asked for.
	Data []byte
	// Changes are the bot's changes not older than the stored snapshot.
	Changes []SharedChange
}

// SharedChange is one change the bot made, as a SharedStore keeps it.
type SharedChange struct {
	Seq  int64
	Data []byte // EncodeAgent's
}

// failureNames name the error kinds of a failed refresh in the store, so
// the replicas that waited on it report the same trouble.
var failureNames = map[error]string{
	ErrInvalidTransition: "invalid_transition",
	ErrUnauthorized:      "unauthorized",
	ErrForbidden:         "forbidden",
	ErrNotFound:          "not_found",
	ErrRateLimited:       "rate_limited",
	ErrServer:            "server",
	ErrBadResponse:       "bad_response",
	ErrUnavailable:       "unavailable",
	ErrBadRequest:        "bad_request",
}

// encodeFailure describes a failed refresh at a time: "kind code
// retry-after-ms unix-ms", and "budget" when the fleet's own API budget
// refused it.
func encodeFailure(err error, at time.Time) string {
	kind, code, retry := ErrUnavailable, 0, time.Duration(0)
	if ae, ok := errors.AsType[*APIError](err); ok {
		kind, code, retry = ae.Kind, ae.StatusCode, ae.RetryAfter
	}
	name, ok := failureNames[kind]
	if !ok {
		name = failureNames[ErrUnavailable]
	}
	s := fmt.Sprintf("%s %d %d %d", name, code, retry.Milliseconds(), at.UnixMilli())
	if errors.Is(err, ErrBudgetExhausted) {
		s += " budget"
	}
	return s
}

// failure is a refresh's failure as read back from the store.
type failure struct {
	kind   error
	code   int
	retry  time.Duration
	at     time.Time
	budget bool
}

// parseFailure reads encodeFailure's form; anything else is an
// unavailable contact center at the zero time.
func parseFailure(s string) failure {
	f := failure{kind: ErrUnavailable}
	fields := strings.Fields(s)
	if len(fields) < 4 {
		return f
	}
	for k, name := range failureNames {
		if name == fields[0] {
			f.kind = k
		}
	}
	f.code, _ = strconv.Atoi(fields[1])
	ms, _ := strconv.ParseInt(fields[2], 10, 64)
	unix, _ := strconv.ParseInt(fields[3], 10, 64)
	f.retry, f.at = time.Duration(ms)*time.Millisecond, time.UnixMilli(unix)
	f.budget = len(fields) > 4 && fields[4] == "budget"
	return f
}

// err is the error a replica reports for another's failed refresh: of
// the same kind, so the answer names the same cause.
func (f failure) err() error {
	cause := errors.New("the refresh another replica made failed")
	if f.budget {
		cause = fmt.Errorf("the refresh another replica made failed: %w", ErrBudgetExhausted)
	}
	return &APIError{Op: "list presence", Kind: f.kind, StatusCode: f.code, RetryAfter: f.retry, Cause: cause}
}

// pressing reports whether a failed refresh says the API budget is under
// pressure (a 429, or the fleet's own budget spent): the TTL stretches
// rather than the snapshot being dropped.
func pressing(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrBudgetExhausted)
}
