package redact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://ccm-api.exotel.com", "https://ccm-api.exotel.com"},
		{"https://user:secret@ccm.example.com/v2?token=abc#frag", "https://ccm.example.com/v2"},
		{"http://onlyuser@127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"http://[::1", "(unparseable URL)"},
	} {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A real transport error carries the URL it failed on; after Error or
// ResponseURLError, no part of the secret is left in its text.
func TestErrorsDropTheSecretButKeepTheCause(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://alice:hunter2@127.0.0.1:1/hooks/T1/B2/s3cr3t?x=tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("a cancelled request succeeded")
	}
	if !strings.Contains(err.Error(), "hunter2") && !strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("precondition: net/http's error no longer shows the URL: %v", err)
	}
	for _, tt := range []struct {
		name    string
		got     error
		secrets []string
	}{
		{"Error", Error(err), []string{"hunter2", "alice", "tok"}},
		{"Error wrapped", Error(fmt.Errorf("list: %w", err)), []string{"hunter2", "alice", "tok"}},
		{"ResponseURLError", ResponseURLError(err), []string{"hunter2", "alice", "s3cr3t", "tok", "hooks"}},
		{"ResponseURLError wrapped", ResponseURLError(fmt.Errorf("answer: %w", err)), []string{"hunter2", "s3cr3t"}},
	} {
		name, got := tt.name, tt.got
		for _, secret := range tt.secrets {
			if strings.Contains(got.Error(), secret) {
				t.Errorf("%s kept %q: %v", name, secret, got)
			}
		}
		if !strings.Contains(got.Error(), "context canceled") || !errors.Is(got, context.Canceled) {
			t.Errorf("%s lost the cause: %v", name, got)
		}
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}
