//go:build !unix

package app_test

// hang would freeze the replica with SIGSTOP, with its Slack connection
// open: no signal does that outside Unix, so the rest of the test, which
// needs a hung replica, is skipped.
func (p *childReplica) hang() {
	p.t.Helper()
	p.t.Skip("a hung replica needs SIGSTOP, which this OS does not have")
}
