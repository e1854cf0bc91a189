package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/stat, fixed by the kernel's ABI.
const userHZ = 100

// machineBusy is the CPU time every core has spent on anything but idling
// since boot, from /proc/stat.
func machineBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine CPU: %w", err)
	}
	defer f.Close()
	return parseProcStat(f)
}

// parseProcStat sums the busy columns of the "cpu" line: user, nice,
// system, irq, softirq and steal (not idle and iowait; guest time is
// already in user).
func parseProcStat(r io.Reader) (time.Duration, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 9 || fields[0] != "cpu" {
			continue
		}
		var ticks int64
		for _, i := range []int{1, 2, 3, 6, 7, 8} {
			n, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("machine CPU: %w", err)
			}
			ticks += n
		}
		return time.Duration(ticks) * time.Second / userHZ, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("machine CPU: %w", err)
	}
	return 0, errors.New("machine CPU: no cpu line in /proc/stat")
}

// cpuClock is where the machine's and this process's CPU counters stand.
type cpuClock struct {
	at            time.Time
	machine, self time.Duration
}

func readCPU() (cpuClock, error) {
	m, err := machineBusy()
	if err != nil {
		return cpuClock{}, err
	}
	s, err := selfCPU()
	if err != nil {
		return cpuClock{}, err
	}
	return cpuClock{at: time.Now(), machine: m, self: s}, nil
}

// otherLoad is how many cores, on average between from and to, went to
// neither this process nor the bot (which used bot of CPU meanwhile):
// other work on the machine that the figures suffered from.
func otherLoad(from, to cpuClock, bot time.Duration) float64 {
	wall := to.at.Sub(from.at)
	if wall <= 0 {
		return 0
	}
	other := (to.machine - from.machine) - (to.self - from.self) - bot
	return max(0, other.Seconds()/wall.Seconds())
}

// processCPU is the CPU time the process pid has used (user and system),
// from /proc/<pid>/stat: for the redis-server the fleet scenario runs,
// whose work is the benchmark's, not other load.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process CPU: %w", err)
	}
	return parseProcPidStat(string(b))
}

// parseProcPidStat sums utime and stime, fields 14 and 15 of a
// /proc/<pid>/stat line; the command name (field 2, in parentheses) may
// hold spaces, so fields are counted from its closing parenthesis.
func parseProcPidStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, errors.New("process CPU: no command name in /proc/<pid>/stat")
	}
	fields := strings.Fields(line[i+1:]) // from field 3, the state
	if len(fields) < 13 {
		return 0, fmt.Errorf("process CPU: %d fields after the command name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process CPU: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
