package app_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// hang stops the process (SIGSTOP) and waits until the kernel has
// stopped every thread: kill returns before they all are, and a thread
// still running could acknowledge an envelope sent meanwhile. Linux's
// /proc tells each thread's state.
func (p *childReplica) hang() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("%s: SIGSTOP: %v", p.name, err)
	}
	tasks := fmt.Sprintf("/proc/%d/task", p.cmd.Process.Pid)
	eventually(p.t, p.name+" stopped", func() bool {
		entries, err := os.ReadDir(tasks)
		if err != nil {
			p.t.Fatalf("%s: cannot tell whether it stopped: %v", p.name, err)
		}
		for _, e := range entries {
			stat, err := os.ReadFile(filepath.Join(tasks, e.Name(), "stat"))
			if err != nil {
				return false // a thread that just ended: look again
			}
			// "pid (comm) S …": the state follows the command name,
			// which may hold spaces and parentheses.
			i := bytes.LastIndexByte(stat, ')')
			if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
				return false
			}
		}
		return true
	})
}
