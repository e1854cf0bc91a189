package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// WithEnviron gives Load the whole environment (os.Environ(), after .env
// is loaded), so that variables that look like the bot's but that it does
// not read are reported in Config.Unknown: a typo in a name otherwise
// switches a feature off without a word.
func WithEnviron(environ []string) Option {
	return func(o *options) { o.environ = environ }
}

// AllowChannelNames accepts a channel name (or a link) where a channel ID
// belongs, keeping the value as given, so that `presence-bot check` can
// load the configuration and resolve the name to its ID. It only applies
// when channel values are the sole problems: with others, Load reports
// them all, since check cannot run anyway.
func AllowChannelNames() Option {
	return func(o *options) { o.allowChannelNames = true }
}

// futureVars are in the runtime contract for issues not done yet. They are
// not read, but they are not typos either.
var futureVars []string

// botPrefixes start the names of the contract's Environment table; any
// variable with one of them is taken to be meant for the bot.
var botPrefixes = []string{"SLACK_", "EXOTEL_", "AGENT_", "PRESENCE_", "SUMMARY_", "ALERT_", "AFTER_CALL_",
	"HTTP_", "STATE_", "REDIS_", "REPORT_", "HISTORY_", "LOG_"}

// othersVars have the bot's prefixes but belong to someone else: Go's
// net/http reads HTTP_PROXY, systemd's StateDirectory= sets
// STATE_DIRECTORY.
var othersVars = map[string]bool{"HTTP_PROXY": true, "STATE_DIRECTORY": true}

// serviceLink matches the variables Kubernetes sets for every Service in
// the namespace (unless enableServiceLinks is false): a Service named
// redis gives REDIS_SERVICE_HOST, REDIS_PORT_6379_TCP_ADDR and so on.
var (
	serviceLink      = regexp.MustCompile(`_SERVICE_(HOST|PORT(_[A-Z0-9_]+)?)$|_PORT_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$`)
	serviceLinkValue = regexp.MustCompile(`^(tcp|udp|sctp)://`)
)

// instead says what to use for variables that other programs read, which
// an operator may well expect the bot to read too.
var instead = map[string]string{
	"REDIS_HOST":           "presence-bot reads REDIS_URL only: redis://[:password@]host:port/db",
	"REDIS_PORT":           "presence-bot reads REDIS_URL only: redis://[:password@]host:port/db",
	"REDIS_PASSWORD":       "presence-bot reads REDIS_URL only: redis://[:password@]host:port/db",
	"REDIS_DB":             "presence-bot reads REDIS_URL only: redis://[:password@]host:port/db",
	"REDIS_USERNAME":       "presence-bot reads REDIS_URL only: redis://[:password@]host:port/db",
	"HTTP_PORT":            "presence-bot reads HTTP_ADDR, such as :8080",
	"SLACK_SIGNING_SECRET": "not needed: presence-bot uses Socket Mode (SLACK_APP_TOKEN)",
}

// unknownVars returns the entries of environ that look like the bot's but
// that it does not read, each with a suggestion when one is close, sorted
// by name. Values are never shown (they may be secrets), and empty ones
// are skipped: empty counts as unset.
func unknownVars(environ []string, known map[string]bool) []Problem {
	seen := make(map[string]bool)
	var out []Problem
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || seen[name] || known[name] || strings.TrimSpace(value) == "" {
			continue
		}
		seen[name] = true
		if othersVars[name] || serviceLink.MatchString(name) {
			continue
		}
		// REDIS_PORT=tcp://10.0.0.7:6379 is a service link too.
		if strings.HasSuffix(name, "_PORT") && serviceLinkValue.MatchString(value) {
			continue
		}
		suggestion := closest(name, known)
		if suggestion == "" && !hasBotPrefix(name) {
			continue
		}
		var msg string
		switch {
		case instead[name] != "":
			msg = "unknown; " + instead[name]
		case suggestion != "":
			msg = "unknown; did you mean " + suggestion + "?"
		default:
			msg = "unknown: presence-bot does not read it"
		}
		out = append(out, Problem{Var: name, Message: msg})
	}
	slices.SortFunc(out, func(a, b Problem) int { return strings.Compare(a.Var, b.Var) })
	return out
}

func hasBotPrefix(name string) bool {
	for _, p := range botPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// maxTypo is the largest edit distance taken for a typo. Known names are
// 8 characters or more, so two edits rarely turn another program's
// variable into one of them.
const maxTypo = 2

// closest returns the known name name was most likely meant to be: the
// nearest within maxTypo edits (ties: alphabetical), else the longest
// known name it extends with a suffix (SUMMARY_CHANNEL_ID), else "".
func closest(name string, known map[string]bool) string {
	best, bestDist := "", maxTypo+1
	for k := range known {
		d := editDistance(name, k)
		if d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return best
	}
	for k := range known {
		if strings.HasPrefix(name, k+"_") && len(k) > len(best) {
			best = k
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance (Damerau–
// Levenshtein without repeated edits of a substring): insertions,
// deletions, substitutions and transpositions of neighbours cost one.
func editDistance(a, b string) int {
	// Two rows back are needed for transpositions.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// ChannelSetting is a variable that names a Slack channel, and its value.
type ChannelSetting struct{ Var, Value string }

// Channels lists the channel variables that are set, in a fixed order,
// then the channels the rules file names that no earlier setting holds
// (Var is "alerts.yml:7: rule \"sales\" channel"), so that check can look
// at every one of them once.
func (c *Config) Channels() []ChannelSetting {
	var out []ChannelSetting
	for _, s := range []ChannelSetting{{"SUMMARY_CHANNEL", c.Summary.Channel}, {"ALERT_CHANNEL", c.Alert.Channel},
		{"REPORT_CHANNEL", c.Report.Channel}} {
		if s.Value != "" {
			out = append(out, s)
		}
	}
	for _, r := range c.Alert.Rules {
		if r.Line == 0 || r.Channel == "" || slices.ContainsFunc(out, func(s ChannelSetting) bool { return s.Value == r.Channel }) {
			continue
		}
		out = append(out, ChannelSetting{fmt.Sprintf("%s:%d: rule %q channel", r.Source, r.Line, r.Name), r.Channel})
	}
	return out
}

// ChannelRef is what a channel variable holds, read generously.
type ChannelRef struct {
	// ID is the channel's ID: the value itself, or the one inside a link.
	ID string
	// Name is a channel name without '#': given instead of an ID, or the
	// one in a <#C…|name> mention.
	Name string
	// Link reports a link to the channel or a mention of it, which holds
	// ID.
	Link bool
}

// IsID reports whether the value was plainly an ID, as posting needs.
func (r ChannelRef) IsID() bool { return r.ID != "" && !r.Link }

var (
	// <#C0123ABCD|ops>, as Slack writes a channel mention.
	channelMention = regexp.MustCompile(`^<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>$`)
	// Links copied from Slack: …/archives/C0123ABCD[/p…] or
	// app.slack.com/client/T…/C0123ABCD.
	channelLink = regexp.MustCompile(`^https?://[^/\s]+/(?:archives|client/[A-Z0-9]+)/([CGD][A-Z0-9]+)(?:[/?#]\S*)?$`)
)

// ParseChannel reads a channel variable's value. Slack channel IDs are
// upper-case letters and digits (C…, G…, D…) while channel names are
// lower case, so a value with a '#' in front or a lower-case letter is
// taken for a name; anything else is taken for an ID (check verifies it).
func ParseChannel(v string) ChannelRef {
	v = strings.TrimSpace(v)
	if m := channelMention.FindStringSubmatch(v); m != nil {
		return ChannelRef{ID: m[1], Name: m[2], Link: true}
	}
	if m := channelLink.FindStringSubmatch(v); m != nil {
		return ChannelRef{ID: m[1], Link: true}
	}
	if strings.HasPrefix(v, "#") || strings.ContainsFunc(v, unicode.IsLower) {
		return ChannelRef{Name: strings.TrimPrefix(v, "#")}
	}
	return ChannelRef{ID: v}
}

// channel reads a variable that names a Slack channel. Posting needs the
// ID: a name only fails at the first post, hours later, so it is a
// problem here, marked so that AllowChannelNames can let it through.
func (l *loader) channel(name string) string {
	v := l.str(name)
	if v == "" {
		return ""
	}
	ref := ParseChannel(v)
	switch {
	case ref.IsID():
		return v
	case ref.Link:
		l.addf(name, "%q is a link to a channel; use its ID: %s", v, ref.ID)
	default:
		l.addf(name, "%q is a channel name; use the channel's ID (C…); `presence-bot check` finds it for you", v)
	}
	l.channelProblems++
	return v
}

// ignoredIf records that the variables set among names have no effect
// because of why (such as "alerts are off (ALERT_CHANNEL is not set)").
// They are not errors: deploy/k8s.yaml, for one, switches a feature off
// by emptying its channel and keeps its other settings.
func (l *loader) ignoredIf(cond bool, why string, names ...string) {
	if !cond {
		return
	}
	for _, name := range names {
		if l.str(name) != "" {
			l.ignored = append(l.ignored, Problem{Var: name, Message: fmt.Sprintf("set, but %s: it has no effect", why)})
		}
	}
}
