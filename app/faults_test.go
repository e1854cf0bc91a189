package app_test

import (
	"testing"
	"time"

	"github.com/presencebot/presence-bot/app"
	"github.com/presencebot/presence-bot/bot"
	"github.com/presencebot/presence-bot/presence"
	"github.com/presencebot/presence-bot/presence/ccmsim"
)

func TestContactCenterFaultsGetClearAnswersThenRecover(t *testing.T) {
	tests := []struct {
		name  string
		fault ccmsim.Fault
		want  string
	}{
		{"server error", ccmsim.Fault{Code: 500}, "server error"},
		{"unavailable", ccmsim.Fault{Code: 503}, "server error"},
		// A second: the bot then holds every request for that long (the
		// API budget's pause), so "recovered" comes no sooner.
		{"rate limited", ccmsim.Fault{Code: 429, RetryAfter: time.Second}, "rate-limiting"},
		{"malformed body", ccmsim.Fault{Code: 200, Body: `{"response": {"data": {"user_id": `}, "could not read"},
		{"timeout", ccmsim.Fault{}, "could not reach"}, // latency below, no fault
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := start(t, func(_ map[string]string, opts *[]app.Option) {
				*opts = append(*opts, app.WithPresenceOptions(presence.WithAttemptTimeout(200*time.Millisecond)))
				if tt.fault.RetryAfter > 0 {
					// The real deadline: a read during the pause waits
					// it out, then its own Retry-After, before it fails.
					*opts = append(*opts, app.WithBotConfig(func(c *bot.Config) { c.CommandTimeout = bot.DefaultCommandTimeout }))
				}
			})
			if tt.name == "timeout" {
				w.sim.SetLatency(5 * time.Second)
			} else {
				w.sim.Inject(tt.fault)
			}
			began := time.Now()
			got := w.ask(userAlice, "/status", "busy")
			mustContain(t, got, tt.want, "Nothing was changed")
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("answered after %v, want within 10s", took)
			}
			if a, _ := w.sim.Agent("agent_001"); a.Status != presence.Available {
				t.Errorf("agent_001 is %s, want unchanged", a.Status)
			}
			mustContain(t, w.ask(userSuper, "/presence", ""), tt.want)

			// The contact center recovers: everything works, no restart.
			w.sim.ClearFaults()
			w.sim.SetLatency(0)
			time.Sleep(5 * time.Millisecond)
			deadline := time.Now().Add(8 * time.Second)
			for {
				got = w.ask(userAlice, "/status", "busy")
				if !containsAny(got, "server error", "could not reach", "rate-limiting", "could not read") || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond) // failing fast for a moment after the outage
			}
			mustContain(t, got, "now", "busy")
		})
	}
}

func TestSustainedOutageFailsFastThenProbes(t *testing.T) {
	w := start(t, func(_ map[string]string, opts *[]app.Option) {
		*opts = append(*opts, app.WithPresenceOptions(
			presence.WithBreaker(3, 300*time.Millisecond, nil), presence.WithRetry(1, time.Millisecond, time.Millisecond)))
	})
	w.sim.Inject(ccmsim.Fault{Code: 503})
	for range 3 {
		mustContain(t, w.ask(userAlice, "/status", ""), "server error")
	}
	before := w.sim.Stats().Total
	for range 5 {
		mustContain(t, w.ask(userAlice, "/status", ""), "could not reach")
	}
	if sent := w.sim.Stats().Total - before; sent != 0 {
		t.Errorf("%d requests during the outage after 3 failures, want 0 (failing fast)", sent)
	}
	w.sim.ClearFaults()
	time.Sleep(350 * time.Millisecond) // the cooldown, then one probe
	mustContain(t, w.ask(userAlice, "/status", ""), "available")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if len(sub) > 0 && len(s) >= len(sub) && indexOf(s, sub) >= 0 {
			return true
		}
	}
	return false
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
