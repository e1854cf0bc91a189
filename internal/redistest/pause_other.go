//go:build !unix

package redistest

// Pause would freeze the server with SIGSTOP, which only Unix has: there
// is no way to make a process hang with its socket open elsewhere, so the
// test that needs it is skipped.
func (s *Server) Pause() {
	s.t.Helper()
	s.t.Skip("redistest: Pause needs SIGSTOP, which this OS does not have")
}

// Resume continues a paused server; see Pause.
func (s *Server) Resume() {
	s.t.Helper()
	s.t.Skip("redistest: Resume needs SIGCONT, which this OS does not have")
}
