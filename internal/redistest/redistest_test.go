package redistest

import (
	"testing"
	"time"
)

func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	if want := "redis://" + s.Addr + "/0"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if err := ping(s.Addr); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}

	s.Pause()
	start := time.Now()
	if err := ping(s.Addr); err == nil {
		t.Error("PING while paused: got PONG, want a timeout")
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("PING while paused failed after %s, want it to hang until its deadline", took)
	}
	s.Resume()
	if err := ping(s.Addr); err != nil {
		t.Errorf("PING after Resume: %v", err)
	}

	s.Stop()
	if err := ping(s.Addr); err == nil {
		t.Error("PING after Stop: got PONG, want connection refused")
	}
	s.Stop() // stopping twice is harmless

	addr := s.Addr
	s.Restart()
	if s.Addr != addr {
		t.Errorf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := ping(s.Addr); err != nil {
		t.Errorf("PING after Restart: %v", err)
	}
}
