//go:build unix && !linux

package app_test

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// hang stops the process (SIGSTOP) and waits until ps reports it stopped
// (state T): the signal is delivered asynchronously, and a process still
// running could acknowledge an envelope sent meanwhile. Without Linux's
// /proc, ps is how BSDs and macOS tell.
func (p *childReplica) hang() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("%s: SIGSTOP: %v", p.name, err)
	}
	pid := strconv.Itoa(p.cmd.Process.Pid)
	eventually(p.t, p.name+" stopped", func() bool {
		out, err := exec.Command("ps", "-o", "stat=", "-p", pid).Output()
		if err != nil {
			p.t.Fatalf("%s: cannot tell whether it stopped: ps: %v", p.name, err)
		}
		return strings.HasPrefix(strings.TrimSpace(string(out)), "T")
	})
}
