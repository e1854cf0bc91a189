//go:build !linux

package bench

import (
	"errors"
	"os/exec"
	"time"
)

// errNotLinux: the benchmark measures the bot and the machine the way
// Linux lets it.
var errNotLinux = errors.New("the benchmark needs Linux")

// setParentDeathSignal has no portable equivalent outside Linux.
func setParentDeathSignal(*exec.Cmd) {}

func selfCPU() (time.Duration, error) { return 0, errNotLinux }
