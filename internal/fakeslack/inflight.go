package fakeslack

import "context"

// Hold keeps every request for method ("response_url" for response_url
// posts) waiting, once it has arrived and counts as in flight, until the
// returned release is called: a test sees so how many requests a client
// has in flight at once. Release may be called more than once. A request
// whose client gives up while it is held may still be answered and
// recorded, as Slack may carry out a request nobody waits for any more.
// Holds of a method already held share its hold: the first release ends it.
func (s *Server) Hold(method string) (release func()) {
	s.mu.Lock()
	ch, held := s.holds[method]
	if !held {
		ch = make(chan struct{})
		s.holds[method] = ch
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.holds[method] == ch {
			delete(s.holds, method)
			close(ch)
		}
	}
}

// InFlight is how many requests for method have arrived and are not
// answered yet, held ones included.
func (s *Server) InFlight(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[method]
}

// WaitInFlight waits until at least n requests for method are in flight.
func (s *Server) WaitInFlight(ctx context.Context, method string, n int) error {
	return s.wait(ctx, &s.flightSig, func() bool { return s.inFlight[method] >= n })
}

// arrive counts a request for method as in flight, holds it while Hold
// asks, and returns its end, to be deferred; ok is false when the server
// closed, or the request was cancelled, while it was held: nothing is
// answered then.
func (s *Server) arrive(ctx context.Context, method string) (leave func(), ok bool) {
	s.mu.Lock()
	s.inFlight[method]++
	s.flightSig.broadcast()
	hold := s.holds[method]
	s.mu.Unlock()
	leave = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.inFlight[method]--
		s.flightSig.broadcast()
	}
	if hold == nil {
		return leave, true
	}
	select {
	case <-hold:
		return leave, true
	case <-ctx.Done():
	case <-s.done:
	}
	return leave, false
}
