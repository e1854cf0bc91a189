package ccmsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Fault makes the simulator answer requests with an error instead of (or,
// with ApplyFirst, after) doing what they ask.
type Fault struct {
	Method     string        // "" for any method, else "GET" or "PUT"
	Code       int           // HTTP status to answer, e.g. 429, 500, 503; <= 0 means 500
	RetryAfter time.Duration // sets Retry-After, in whole seconds rounded up, when > 0
	Body       string        // raw body to send instead of the JSON envelope (e.g. malformed JSON)
	Times      int           // how many requests it hits; <= 0 means until ClearFaults
	// ApplyFirst carries out the request (a PUT changes the status) and
	// then answers with the fault: the ambiguous failure a client must
	// not take for "nothing happened".
	ApplyFirst bool
}

// Inject queues a fault. Faults are tried in the order injected; the first
// one whose Method fits a request answers it, before auth and routing, as
// a gateway in front of the API would.
func (s *Sim) Inject(f Fault) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every queued fault.
func (s *Sim) ClearFaults() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.faults = nil
}

// SetLatency makes every answer wait d first. A request whose context ends
// while waiting gets no answer and changes nothing.
func (s *Sim) SetLatency(d time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.latency = d
}

// takeFault returns the fault that answers a request with this method, if
// any, and counts it down.
func (s *Sim) takeFault(method string) (Fault, bool) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		hit := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return hit, true
	}
	return Fault{}, false
}

// writeFault answers with f.
func (s *Sim) writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	s.stats.faulted.Add(1)
	code := f.Code
	if code <= 0 {
		code = http.StatusInternalServerError
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if f.Body != "" {
		writeBody(w, code, []byte(f.Body))
		return
	}
	msg := http.StatusText(code)
	if msg == "" {
		msg = "injected fault"
	}
	s.write(w, r, failure(code, msg))
}

// wait holds the request for the configured latency. It reports false when
// the request's context ended first.
func (s *Sim) wait(r *http.Request) bool {
	s.ctl.Lock()
	d := s.latency
	s.ctl.Unlock()
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// Stats counts the requests the simulator has seen since New or the last
// ResetStats.
type Stats struct {
	Lists   int // GET agents/presence, whatever the answer
	Gets    int // GET agents/{id}/presence
	Puts    int // PUT agents/{id}/presence
	Faulted int // requests answered by an injected fault
	Total   int // every request, including ones that named no endpoint
}

// counters are the live Stats, updated without the roster lock.
type counters struct {
	lists, gets, puts, faulted, total atomic.Int64
}

func (c *counters) count(e endpoint) {
	c.total.Add(1)
	switch e {
	case endpointList:
		c.lists.Add(1)
	case endpointGet:
		c.gets.Add(1)
	case endpointPut:
		c.puts.Add(1)
	}
}

// Stats returns the request counts so far.
func (s *Sim) Stats() Stats {
	c := &s.stats
	return Stats{
		Lists:   int(c.lists.Load()),
		Gets:    int(c.gets.Load()),
		Puts:    int(c.puts.Load()),
		Faulted: int(c.faulted.Load()),
		Total:   int(c.total.Load()),
	}
}

// ResetStats sets every count back to zero.
func (s *Sim) ResetStats() {
	c := &s.stats
	for _, v := range []*atomic.Int64{&c.lists, &c.gets, &c.puts, &c.faulted, &c.total} {
		v.Store(0)
	}
}
