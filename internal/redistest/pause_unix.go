//go:build unix

package redistest

import "syscall"

// Pause stops the process (SIGSTOP) without closing its socket: clients
// connect and write but get no answer, as with a Redis that hangs. This
// is the "Redis is slow" case. Resume undoes it; Stop also works.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }
