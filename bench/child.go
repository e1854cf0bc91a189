package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/presencebot/presence-bot/internal/fakeslack"
)

// Bounds of the child's life.
const (
	startTimeout = 20 * time.Second // until its Socket Mode connection is up
	stopTimeout  = 15 * time.Second // from SIGTERM to exit; the bot drains within 4 s
	maxLogBytes  = 1 << 20          // of the child's stderr kept for the report
)

// child is the bot under test, running from its binary.
type child struct {
	cmd      *exec.Cmd
	logs     *logBuffer
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error         // set before exited is closed
	httpAddr string
	client   *http.Client
}

// startChild runs the binary with env in dir (where no .env lies) and waits
// until it holds a Socket Mode connection to fs: until fs has conns, this
// one's and those of the replicas started before it.
func startChild(ctx context.Context, binary, dir string, env []string, httpAddr string, fs *fakeslack.Server, conns int) (*child, error) {
	c := &child{
		logs:     &logBuffer{max: maxLogBytes},
		exited:   make(chan struct{}),
		httpAddr: httpAddr,
		// Its own transport, so closing it leaves no idle connection behind.
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
	}
	c.cmd = exec.Command(binary)
	c.cmd.Env = env
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	setParentDeathSignal(c.cmd)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()

	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	connected := make(chan error, 1)
	go func() { connected <- fs.WaitConnections(wctx, conns) }()
	select {
	case err := <-connected:
		if err == nil {
			return c, nil
		}
		c.kill()
		return nil, fmt.Errorf("the bot did not connect to Socket Mode within %s: %w%s", startTimeout, err, c.logs.tail())
	case <-c.exited:
		cancel()
		<-connected
		return nil, fmt.Errorf("the bot exited at start-up (%v)%s", c.waitErr, c.logs.tail())
	}
}

// pid is the child's process ID.
func (c *child) pid() int { return c.cmd.Process.Pid }

// peakRSS is the child's resident-set high-water mark, in bytes.
func (c *child) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

// parseVmHWM reads the VmHWM line of a /proc/<pid>/status file.
func parseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("peak RSS: unexpected VmHWM line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak RSS: %w", err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM line (not Linux?)")
}

// runtimeCounters are the child's cumulative counters from /metrics.
type runtimeCounters struct {
	mallocs    float64 // go_memstats_mallocs_total
	allocBytes float64 // go_memstats_alloc_bytes_total
	cpuSeconds float64 // process_cpu_seconds_total
}

func (a runtimeCounters) sub(b runtimeCounters) runtimeCounters {
	return runtimeCounters{mallocs: a.mallocs - b.mallocs, allocBytes: a.allocBytes - b.allocBytes, cpuSeconds: a.cpuSeconds - b.cpuSeconds}
}

// scrape reads the child's runtime counters from its /metrics.
func (c *child) scrape(ctx context.Context) (runtimeCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.httpAddr+"/metrics", nil)
	if err != nil {
		return runtimeCounters{}, fmt.Errorf("scrape: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return runtimeCounters{}, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return runtimeCounters{}, fmt.Errorf("scrape: HTTP %d", resp.StatusCode)
	}
	v, err := parseMetrics(resp.Body, "go_memstats_mallocs_total", "go_memstats_alloc_bytes_total", "process_cpu_seconds_total")
	if err != nil {
		return runtimeCounters{}, fmt.Errorf("scrape: %w", err)
	}
	return runtimeCounters{mallocs: v[0], allocBytes: v[1], cpuSeconds: v[2]}, nil
}

// parseMetrics finds unlabelled samples in Prometheus text format, in the
// order named; every one must be there.
func parseMetrics(r io.Reader, names ...string) ([]float64, error) {
	want := make(map[string]int, len(names))
	for i, n := range names {
		want[n] = i
	}
	out := make([]float64, len(names))
	found := make([]bool, len(names))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		i, ok := want[fields[0]]
		if !ok || len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", fields[0], err)
		}
		out[i], found[i] = v, true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	var missing []string
	for i, ok := range found {
		if !ok {
			missing = append(missing, names[i])
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("metrics lack %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// stop ends the child as an operator would, with SIGTERM, and checks it
// shuts down cleanly: exit status 0 within stopTimeout.
func (c *child) stop() error {
	defer c.client.CloseIdleConnections()
	select {
	case <-c.exited:
		return fmt.Errorf("the bot exited before it was stopped (%v)%s", c.waitErr, c.logs.tail())
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.kill()
		return fmt.Errorf("SIGTERM: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-timer.C:
		c.kill()
		return fmt.Errorf("the bot was still running %s after SIGTERM%s", stopTimeout, c.logs.tail())
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("the bot exited with status %d after SIGTERM, want 0%s", code, c.logs.tail())
	}
	return nil
}

// kill ends the child at once and waits for it; for failures only.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
	c.client.CloseIdleConnections()
}

// freeAddr finds a free port on 127.0.0.1 for the child's HTTP_ADDR.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// logBuffer keeps the first max bytes the child writes.
type logBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the end of the log, to explain a failure.
func (l *logBuffer) tail() string {
	s := strings.TrimSpace(l.String())
	if s == "" {
		return ""
	}
	const n = 2000
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return "\nbot log:\n" + s
}

// warnings counts the log lines at warn level or above and returns the
// first, so a run that looked fast but logged trouble says so.
func (l *logBuffer) warnings() (int, string) {
	n, first := 0, ""
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			if n == 0 {
				first = strings.TrimSpace(line)
			}
			n++
		}
	}
	return n, first
}

// readiness is what the child's /readyz says of the parts the fleet
// scenario waits on, and its API budget.
type readiness struct {
	Parts map[string]struct {
		State string `json:"state"`
	} `json:"parts"`
	Budget *struct {
		Mode  string  `json:"mode"`
		Rate  float64 `json:"rate"`
		Burst int     `json:"burst"`
	} `json:"budget"`
}

// waitContactCenter polls /readyz until the child's start probe has
// reached the contact center, and returns that answer.
func (c *child) waitContactCenter(ctx context.Context) (readiness, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		rd, err := c.readyz(ctx)
		if err == nil && rd.Parts["contact_center"].State == "ok" {
			return rd, nil
		}
		select {
		case <-ctx.Done():
			return readiness{}, fmt.Errorf("the bot's start probe did not reach the contact center within %s (last: %v %+v)%s",
				startTimeout, err, rd.Parts, c.logs.tail())
		case <-c.exited:
			return readiness{}, fmt.Errorf("the bot exited at start-up (%v)%s", c.waitErr, c.logs.tail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readyz reads the child's /readyz body, whatever its status code (503
// while not ready).
func (c *child) readyz(ctx context.Context) (readiness, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.httpAddr+"/readyz", nil)
	if err != nil {
		return readiness{}, fmt.Errorf("readyz: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return readiness{}, fmt.Errorf("readyz: %w", err)
	}
	defer resp.Body.Close()
	var rd readiness
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		return readiness{}, fmt.Errorf("readyz: HTTP %d: %w", resp.StatusCode, err)
	}
	return rd, nil
}
