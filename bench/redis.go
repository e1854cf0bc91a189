package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// redisStartTimeout bounds the wait for redis-server to answer PING.
const redisStartTimeout = 10 * time.Second

// redisServer is a redis-server the bot of a "redis-" scenario shares its
// state through (REDIS_URL): deduplication and the command journal, as
// replicas run. It listens on 127.0.0.1 only and persists nothing.
type redisServer struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

// startRedis runs redis-server from PATH with its files in dir and waits
// until it answers.
func startRedis(dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("the redis scenarios need redis-server on PATH (apt-get install -y redis-server): %w", err)
	}
	var errs []error
	// A port found free can be taken before redis-server binds it: try
	// another then.
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("free port %q: %w", addr, err)
		}
		s := &redisServer{addr: addr, exited: make(chan struct{})}
		s.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		setParentDeathSignal(s.cmd)
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		go func() { _ = s.cmd.Wait(); close(s.exited) }()
		if err := s.waitPing(); err != nil {
			s.stop()
			errs = append(errs, err)
			continue
		}
		return s, nil
	}
	return nil, fmt.Errorf("start redis-server: %w", errors.Join(errs...))
}

// waitPing polls until the server answers PING, or exits, or the start
// timeout passes.
func (s *redisServer) waitPing() error {
	deadline := time.Now().Add(redisStartTimeout)
	for {
		if err := s.ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer within %s: %w", s.addr, redisStartTimeout, err)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server on %s exited at start-up", s.addr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *redisServer) ping() error {
	conn, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// url is the server as a REDIS_URL.
func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }

// stop kills the server and waits for it.
func (s *redisServer) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}
