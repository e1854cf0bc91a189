// Package redistest runs a real redis-server for tests: on a free port of
// 127.0.0.1, without persistence, in the test's temporary directory. It
// needs no container runtime, only redis-server on PATH (Debian's
// redis-server package; .ci/run installs it when missing).
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is host:port, always on 127.0.0.1.
	Addr string

	t    testing.TB
	dir  string
	conf string // a config file to start from, "" for none
	args []string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// Start runs redis-server from PATH on a free 127.0.0.1 port with no
// persistence, in t.TempDir(), waits until it answers PING, and stops it
// at t.Cleanup. Without redis-server on PATH the test is skipped, unless
// the CI variable is set: then it fails, so CI cannot pass by skipping.
// args are added to redis-server's command line, such as
// "--requirepass", "secret".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return launch(t, &Server{t: t, dir: t.TempDir(), args: args})
}

// launch runs s on a free port (s.t, s.dir, s.conf and s.args are set),
// as Start does.
func launch(t testing.TB, s *Server) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(s.Stop)
	// A free port found by listening on :0 can be taken again before
	// redis-server binds it; another port is tried then.
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := s.start(); err != nil {
			errs = append(errs, err)
			continue
		}
		return s
	}
	t.Fatalf("redistest: start redis-server: %v", errors.Join(errs...))
	return nil
}

// skipOrFail skips a test that needs redis-server, or fails it under CI.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	const msg = "redis-server not on PATH (apt-get install -y redis-server, or run .ci/run)"
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v", msg, err)
	}
	t.Skip(msg)
}

// URL is the server's address as a REDIS_URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Stop kills the server and waits for it to exit, so the port is free and
// clients see the connection refused: "Redis is down". Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	// SIGKILL works on a paused process too.
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts the server again on the same port, empty (there is no
// persistence), and waits until it answers PING. A running server is
// stopped first.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

func (s *Server) signal(sig os.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: signal %v: redis-server is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// start runs redis-server on s.port and waits for PONG; on failure the
// process is gone and the error carries the end of its log.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()

	logPath := filepath.Join(s.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	var argv []string
	if s.conf != "" {
		argv = append(argv, s.conf) // it must come first
	}
	cmd := exec.Command("redis-server", append(append(argv,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
	), s.args...)...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(startTimeout)
	for {
		if err := ping(s.Addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("no PONG on %s within %s: %w; log: %s", s.Addr, startTimeout, err, tail(logPath))
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited at start on %s: %s", s.Addr, tail(logPath))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ping sends an inline PING and expects +PONG (or NOAUTH from a server
// started with --requirepass: it is up too), without a client library.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of the server's log, for failure messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
