package app

import (
	"slices"
	"testing"
	"time"

	"github.com/presencebot/presence-bot/config"
	"github.com/presencebot/presence-bot/presence"
)

// engineRules hands each rule's mention to its engine: the alerter pings
// it at critical, the nudger in the escalation.
func TestEngineRulesPassMentions(t *testing.T) {
	rules := []config.AlertRule{
		{Name: "sales-floor", Kind: config.AvailableBelow, Warning: 4, Critical: 2, HasCritical: true, Channel: "C0SALES",
			Mention: []string{"U0SUPER"}},
		{Name: "long-wrap-up", Kind: config.StatusLongerThan, Status: presence.AfterCallWork, After: 5 * time.Minute,
			EscalateAfter: 3 * time.Minute, Channel: "C0FLOOR", Mention: []string{"S0LEADS"}},
	}
	avail, status, _ := engineRules(rules)
	if len(avail) != 1 || !slices.Equal(avail[0].Mention, []string{"U0SUPER"}) {
		t.Errorf("availability rules %+v, want sales-floor mentioning U0SUPER", avail)
	}
	if len(status) != 1 || !slices.Equal(status[0].Mention, []string{"S0LEADS"}) {
		t.Errorf("time-in-status rules %+v, want long-wrap-up mentioning S0LEADS", status)
	}
}
