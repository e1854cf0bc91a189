package ccmsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/presencebot/presence-bot/presence"
)

// defaultLimit is the list endpoint's page size when none is asked for.
const defaultLimit = 20

// list serves GET /agents/presence. One pass over the sorted roster builds
// the page, the total and the summary: the summary counts the team filter
// only, the total counts every filter, as the spec's example does (summary
// of 25 agents, total of the 12 available).
func (s *Sim) list(r *http.Request) reply {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return failure(http.StatusBadRequest, "malformed query string")
	}
	var status presence.Status
	if v := q.Get("status"); v != "" {
		status = presence.Status(v)
		if !status.Valid() {
			return failure(http.StatusBadRequest, (&presence.ParseError{Input: v}).Error())
		}
	}
	team := q.Get("team_id")
	limit := defaultLimit
	if !s.ignoreLimit {
		limit, err = intParam(q, "limit", defaultLimit)
		if err != nil {
			return failure(http.StatusBadRequest, err.Error())
		}
		if limit < 1 || limit > presence.MaxPageSize {
			return failuref(http.StatusBadRequest, "limit must be between 1 and %d, got %d", presence.MaxPageSize, limit)
		}
	}
	asked := limit
	if s.pageCap > 0 {
		limit = min(limit, s.pageCap)
	}
	reported := limit // a real API reports the size it used
	if s.reportAskedLimit {
		reported = asked
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil {
		return failure(http.StatusBadRequest, err.Error())
	}
	if offset < 0 {
		return failuref(http.StatusBadRequest, "offset must not be negative, got %d", offset)
	}

	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var sum presence.Summary
	page := make([]wireAgent, 0, min(limit, len(s.agents)))
	total := 0
	for _, a := range s.agents {
		if team != "" && a.TeamID() != team {
			continue
		}
		sum.Add(a.Status)
		if status != "" && a.Status != status {
			continue
		}
		if total >= offset && len(page) < limit {
			page = append(page, toWire(a, now, false))
		}
		total++
	}
	return success(
		wireList{Agents: page, Summary: toWireSummary(sum)},
		&wireMetadata{Total: total, Limit: reported, Offset: offset},
	)
}

// intParam reads an optional integer query parameter.
func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s must be an integer, got %q", name, v)
	}
	return n, nil
}

// get serves GET /agents/{user_id}/presence, with the current call while
// the agent is on one.
func (s *Sim) get(id string) reply {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byID[id]
	if !ok {
		return failuref(http.StatusNotFound, "agent %q not found", id)
	}
	return success(toWire(a, now, true), nil)
}

// put serves PUT /agents/{user_id}/presence: a manual status change that
// must follow the spec's transition table. ServeHTTP has read the body.
func (s *Sim) put(id string, body []byte, bodyErr error) reply {
	if bodyErr != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](bodyErr); ok {
			return failuref(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxBody)
		}
		return failure(http.StatusBadRequest, "could not read request body")
	}
	var in wirePut
	if err := json.Unmarshal(body, &in); err != nil {
		return failure(http.StatusBadRequest, `malformed body: want {"status":"..."}`)
	}
	if in.Status == nil {
		return failure(http.StatusBadRequest, `missing status: want {"status":"..."}`)
	}
	to := presence.Status(*in.Status)
	if !to.Valid() {
		return failure(http.StatusBadRequest, (&presence.ParseError{Input: *in.Status}).Error())
	}

	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return failuref(http.StatusNotFound, "agent %q not found", id)
	}
	if !presence.CanTransition(a.Status, to) {
		msg := fmt.Sprintf("invalid status transition from %s to %s", a.Status, to)
		if a.Status == presence.OnCall || to == presence.OnCall {
			msg += ": on-call is managed by the system during calls"
		}
		return failure(http.StatusBadRequest, msg)
	}
	a.Status = to
	a.StatusSince = now
	return s.putSuccess(a, now)
}

// putSuccess answers a change that was made, in the configured shape.
func (s *Sim) putSuccess(a *presence.Agent, now time.Time) reply {
	switch s.putAnswer {
	case PutEnvelope:
		return success(toWire(a, now, true), nil)
	case PutEmpty:
		return bare(http.StatusOK, "")
	case PutEmptyObject:
		return bare(http.StatusOK, "{}")
	case PutStatusOK:
		return bare(http.StatusOK, `{"status":"ok"}`)
	}
	return bare(http.StatusNoContent, "")
}
