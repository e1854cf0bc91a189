package app

import (
	"time"

	"github.com/presencebot/presence-bot/alerts"
	"github.com/presencebot/presence-bot/alerts/nudge"
	"github.com/presencebot/presence-bot/commands"
	"github.com/presencebot/presence-bot/config"
)

// engineRules splits the configured alert rules (the rules file's, then
// the ALERT_* variables') between the two engines that run them: the
// alerter takes the availability rules, the nudger the time-in-status
// rules. The alerter also learns the nudger's rules by scope and channel,
// because it announces the end of every silence, whatever it covered.
func engineRules(rules []config.AlertRule) (avail []alerts.AvailabilityRule, status []nudge.Rule, watched []alerts.RuleScope) {
	for _, r := range rules {
		active := activeFunc(r.ActiveHours)
		switch r.Kind {
		case config.AvailableBelow:
			ar := alerts.AvailabilityRule{
				Name: r.Name, Teams: r.Teams, Warning: r.Warning, ResolveAt: r.ResolveAt,
				For: r.For, Repeat: r.Repeat, Active: active, Channel: r.Channel, Mention: r.Mention,
			}
			if r.HasCritical {
				ar.Critical = r.Critical
			}
			avail = append(avail, ar)
		case config.StatusLongerThan:
			status = append(status, nudge.Rule{
				Name: r.Name, Teams: r.Teams, Status: r.Status, After: r.After, EscalateAfter: r.EscalateAfter,
				Active: active, Channel: r.Channel, Mention: r.Mention,
			})
			watched = append(watched, alerts.RuleScope{Name: r.Name, Teams: r.Teams, Channel: r.Channel})
		}
	}
	return avail, status, watched
}

// activeFunc is nil (always) for hours that are always.
func activeFunc(h config.ActiveHours) func(time.Time) bool {
	if h.Always() {
		return nil
	}
	return h.Contains
}

// silenceTargets is what /presence silence may name: every rule, and
// every team a rule watches, each once, in the rules' order.
func silenceTargets(rules []config.AlertRule) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, r := range rules {
		add(r.Name)
	}
	for _, r := range rules {
		for _, t := range r.Teams {
			add(t)
		}
	}
	return out
}

// nudgeDirectory finds the Slack user of an agent for its nudge: the
// mapping file, else a user the bot has matched by profile email.
type nudgeDirectory struct{ dir *commands.Directory }

func (d nudgeDirectory) SlackUser(agentID string) (string, bool) { return d.dir.SlackUserFor(agentID) }
