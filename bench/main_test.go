package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    Options
		wantErr string
	}{
		// The full benchmark: three runs of everything, this executable.
		{"defaults", nil, Options{Runs: 3}, ""},
		// CI's mode runs each scenario once.
		{"short", []string{"-short"}, Options{Short: true, Runs: 1}, ""},
		// Runs asked for are runs done, short or not.
		{"short runs", []string{"-short", "-runs", "5"}, Options{Short: true, Runs: 5}, ""},
		// Scenarios by name or prefix, spaces ignored.
		{"scenarios", []string{"-scenarios", "burst, render", "-binary", "/tmp/pb", "-steady", "10s"},
			Options{Runs: 3, Scenarios: []string{"burst", "render"}, Binary: "/tmp/pb", SteadyFor: 10 * time.Second}, ""},
		// A stray argument is a usage error.
		{"argument", []string{"now"}, Options{}, `unexpected argument "now"`},
		// So are negative counts.
		{"negative", []string{"-runs", "-1"}, Options{}, "must not be negative"},
		// And unknown flags.
		{"unknown flag", []string{"-fast"}, Options{}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.wantErr) {
					t.Errorf("got %v (stderr %q), want an error containing %q", err, stderr.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if got.Runs != tt.want.Runs || got.Short != tt.want.Short || got.Binary != tt.want.Binary ||
				got.SteadyFor != tt.want.SteadyFor || !slices.Equal(got.Scenarios, tt.want.Scenarios) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMainExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		// Help is not an error, and names every scenario.
		{"help", []string{"-h"}, exitOK, "burst-0ms, burst-100ms, steady-0ms, steady-100ms, table-0ms, table-100ms, trend-0ms, trend-100ms, redis-burst-0ms"},
		// A usage error exits 2, as presence-bot's own do.
		{"usage", []string{"-runs", "x"}, exitUsage, "invalid value"},
		// A benchmark that cannot run exits 1 and says why.
		{"cannot run", []string{"-binary", "/nonexistent/presence-bot"}, exitFailed, "presence-bot bench: bench: presence-bot binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := Main(context.Background(), tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("got exit %d, want %d (stderr %q)", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
		})
	}
}
