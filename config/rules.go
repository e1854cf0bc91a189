package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/presencebot/presence-bot/presence"
)

// defaultRulesFile is read when ALERT_RULES_FILE is unset and it exists.
const defaultRulesFile = "alerts.yml"

// maxRuleName bounds a rule's name, which supervisors type in
// /presence silence <rule>.
const maxRuleName = 40

// RuleKind is what a rule watches.
type RuleKind string

// The two kinds of rule, named as the file's keys.
const (
	// AvailableBelow fires while fewer agents than a threshold are available.
	AvailableBelow RuleKind = "available_below"
	// StatusLongerThan fires for each agent who has been in a status too long.
	StatusLongerThan RuleKind = "status_longer_than"
)

// AlertRule is one alert rule, from ALERT_RULES_FILE or from the ALERT_*
// variables, with every default filled in: plain data that the app maps
// onto the alert engines.
type AlertRule struct {
	// Name is unique (whatever its case) and short: silences name it.
	Name string
	// Teams are the team IDs watched; empty means all agents.
	Teams []string
	Kind  RuleKind

	// AvailableBelow: the rule is at warning while available < Warning, at
	// critical while available < Critical (when HasCritical), and resolves
	// only once available >= ResolveAt (>= Warning).
	Warning     int
	Critical    int
	HasCritical bool
	ResolveAt   int
	// For is how long availability stays below warning before the rule
	// fires; Repeat how often a firing rule is repeated (0: never).
	For    time.Duration
	Repeat time.Duration

	// StatusLongerThan: an agent in Status for After is nudged; still in it
	// EscalateAfter after the nudge, they are escalated to Channel.
	Status        presence.Status
	After         time.Duration
	EscalateAfter time.Duration

	// ActiveHours limits when the rule fires, in TIMEZONE.
	ActiveHours ActiveHours
	// Channel is the rule's channel, else ALERT_CHANNEL. With
	// AllowChannelNames it may hold a name (check resolves it).
	Channel string
	// Mention are user IDs (U…, W…) or one user group ID (S…): pinged
	// when an available_below rule is critical, and in the escalation
	// of a status_longer_than rule (the post that pages the supervisors;
	// the agent's DM pings nobody else).
	Mention []string

	// Source is the rules file's path, or the variable that made the rule
	// (ALERT_THRESHOLD, ALERT_TEAM_THRESHOLDS); Line is its line in the
	// file (0 for a variable's rule).
	Source string
	Line   int
}

// clone returns a copy that shares no slice with r.
func (r AlertRule) clone() AlertRule {
	r.Teams = slices.Clone(r.Teams)
	r.Mention = slices.Clone(r.Mention)
	return r
}

// RuleProblem is one problem of a rules file, where it is.
type RuleProblem struct {
	File         string
	Line, Column int
	Message      string
	// channel marks a channel name or link where an ID belongs, which
	// AllowChannelNames lets through for check to resolve.
	channel bool
}

// String is "alerts.yml:7: message", as editors and compilers write it.
func (p RuleProblem) String() string {
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// RuleDefaults are what a rule takes from the ALERT_* variables when the
// file leaves a setting out.
type RuleDefaults struct {
	Channel     string        // ALERT_CHANNEL
	For         time.Duration // ALERT_FOR
	Repeat      time.Duration // ALERT_REPEAT
	ActiveHours ActiveHours   // ALERT_ACTIVE_HOURS, already in Location
	// Location is TIMEZONE, in which a rule's active_hours are read; nil
	// is UTC.
	Location *time.Location
}

// The keys a rules file may hold, at each level, in the contract's order.
var (
	topKeys      = []string{"rules"}
	ruleKeys     = []string{"name", "teams", "available_below", "status_longer_than", "for", "repeat", "active_hours", "channel", "mention"}
	belowKeys    = []string{"warning", "critical", "resolve_at"}
	longerKeys   = []string{"status", "after", "escalate_after"}
	keyHints     = map[string]string{"threshold": "a threshold is written available_below: {warning: N}"}
	ruleNameForm = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9_:-]{1,%d}$`, maxRuleName))
	// Slack IDs: users U… or W… (Enterprise Grid), user groups S….
	userID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	// <@U123>, <@U123|name> or <!subteam^S123>, as Slack writes mentions.
	mentionForm = regexp.MustCompile(`^<(?:@|!subteam\^)([A-Z0-9]+)(?:\|[^>]*)?>$`)
)

// reservedNames are the names no file rule may take, whatever their case,
// and why: the rule ALERT_THRESHOLD makes is "all", and it keeps its
// state under "total", the key it had before rules had names (see
// alerts.AllRule), so a rule by either name would share its state.
var reservedNames = map[string]string{
	"all":   "for the rule ALERT_THRESHOLD makes",
	"total": "(the rule all, which ALERT_THRESHOLD makes, keeps its state under it)",
}

// ParseRules reads a rules file (see the runtime contract's "Alert rules
// file"): its rules in file order, defaults filled in from d, and every
// problem found, in line order, each naming file and its line. Unknown
// and repeated keys are problems, not ignored. Rules come back even when
// there are problems (as far as they could be read), so that check can
// look up their channels; a caller must not run them.
func ParseRules(file string, data []byte, d RuleDefaults) ([]AlertRule, []RuleProblem) {
	p := &ruleParser{file: file, d: d, names: map[string]int{}}
	rules := p.document(data)
	slices.SortStableFunc(p.problems, func(a, b RuleProblem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return rules, p.problems
}

// ruleParser walks the YAML nodes, so that each problem has a line.
type ruleParser struct {
	file     string
	d        RuleDefaults
	problems []RuleProblem
	names    map[string]int // lower-case name → line
}

func (p *ruleParser) addf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, RuleProblem{File: p.file, Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...)})
}

// yamlLine finds the line in yaml.v3's error texts ("yaml: line 3: …").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *ruleParser) document(data []byte) []AlertRule {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: no rules
		}
		p.syntax(err)
		return nil
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		p.addf(&second, "a second YAML document; want one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil // comments only
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		if root.ShortTag() != "!!null" {
			p.addf(root, "want a mapping with a rules list (rules: [...]), got %s", describeNode(root))
		}
		return nil
	}
	var list *yaml.Node
	p.fields(root, "", topKeys, func(key string, _, v *yaml.Node) { list = v })
	if list == nil || list.ShortTag() == "!!null" {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		p.addf(list, "rules: want a list of rules, got %s", describeNode(list))
		return nil
	}
	rules := make([]AlertRule, 0, len(list.Content))
	for i, n := range list.Content {
		if r, ok := p.rule(i+1, resolve(n)); ok {
			rules = append(rules, r)
		}
	}
	return rules
}

// syntax reports a YAML error at its line, when it names one.
func (p *ruleParser) syntax(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.problems = append(p.problems, RuleProblem{File: p.file, Line: line, Message: msg})
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describeNode says what a node is, for "got …" in messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.ShortTag() == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// fields walks a mapping's keys in order, reporting unknown keys (with a
// suggestion) and repeated ones, and calls visit once for each known key
// with its key and value nodes. where prefixes the messages ("rule
// \"sales\": ").
func (p *ruleParser) fields(m *yaml.Node, where string, known []string, visit func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.addf(k, "%swant a plain key, got %s", where, describeNode(k))
			continue
		}
		key := k.Value
		if line, dup := seen[key]; dup {
			p.addf(k, "%s%q given twice (first at line %d)", where, key, line)
			continue
		}
		seen[key] = k.Line
		if !slices.Contains(known, key) {
			p.addf(k, "%sunknown key %q%s", where, key, suggestKey(key, known))
			continue
		}
		visit(key, k, v)
	}
}

// suggestKey says what an unknown key was likely meant to be: a known
// key a typo or two away, or that it starts; where a key at the rule's
// level belongs; or how a threshold is written.
func suggestKey(key string, known []string) string {
	lower := strings.ToLower(key)
	best, bestDist := "", maxTypo+1
	for _, k := range append(slices.Clone(known), "threshold") {
		d := editDistance(lower, k)
		if len(lower) >= 3 && strings.HasPrefix(k, lower) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if hint, ok := keyHints[best]; ok && !slices.Contains(known, best) {
		return " (" + hint + ")"
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if slices.Equal(known, ruleKeys) {
		for _, kind := range []struct {
			name string
			keys []string
		}{{"available_below", belowKeys}, {"status_longer_than", longerKeys}} {
			if slices.Contains(kind.keys, lower) {
				return " (it belongs under " + kind.name + ")"
			}
		}
	}
	return ""
}

// rule reads the i-th rule (from 1). It returns false only when the item
// is no mapping at all.
func (p *ruleParser) rule(i int, n *yaml.Node) (AlertRule, bool) {
	where := fmt.Sprintf("rule %d: ", i)
	if n.Kind != yaml.MappingNode {
		p.addf(n, "%swant a mapping with name, a kind and its settings, got %s", where, describeNode(n))
		return AlertRule{}, false
	}
	r := AlertRule{Source: p.file, Line: n.Line, For: p.d.For, Repeat: p.d.Repeat, ActiveHours: p.d.ActiveHours}

	// The name first: every other message names the rule by it.
	nameNode := lookupKey(n, "name")
	switch {
	case nameNode == nil:
		p.addf(n, "%sno name", where)
	default:
		name, ok := p.str(nameNode, where+"name")
		switch {
		case !ok:
		case !ruleNameForm.MatchString(name):
			p.addf(nameNode, "%sname %q: want 1 to %d letters, digits, -, _ or :", where, name, maxRuleName)
		default:
			r.Name = name
			where = fmt.Sprintf("rule %q: ", name)
			if why := reservedNames[strings.ToLower(name)]; why != "" {
				p.addf(nameNode, "%sthe name %s is reserved %s; rename this rule", where, strings.ToLower(name), why)
			}
			if line, dup := p.names[strings.ToLower(name)]; dup {
				p.addf(nameNode, "%sname used by the rule at line %d (names must be unique, whatever their case: silences name them)", where, line)
			} else {
				p.names[strings.ToLower(name)] = n.Line
			}
		}
	}

	var kindKeys []*yaml.Node
	var forNode, repeatNode, mentionNode *yaml.Node
	p.fields(n, where, ruleKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "teams":
			r.Teams = p.teams(v, where)
		case "available_below":
			kindKeys = append(kindKeys, k)
			r.Kind = AvailableBelow
			p.availableBelow(&r, v, where)
		case "status_longer_than":
			kindKeys = append(kindKeys, k)
			r.Kind = StatusLongerThan
			p.statusLongerThan(&r, v, where)
		case "for":
			forNode = v
			if d, ok := p.duration(v, where+"for", false); ok {
				r.For = d
			}
		case "repeat":
			repeatNode = v
			if d, ok := p.duration(v, where+"repeat", false); ok {
				r.Repeat = d
			}
		case "active_hours":
			if s, ok := p.str(v, where+"active_hours"); ok {
				ah, err := ParseActiveHours(s)
				if err != nil {
					p.addf(v, "%sactive_hours: %q: %v", where, s, err)
				} else {
					r.ActiveHours = ah.In(p.d.Location)
				}
			}
		case "channel":
			if s, ok := p.str(v, where+"channel"); ok {
				r.Channel = s
				p.channel(v, s, where)
			}
		case "mention":
			mentionNode = v
			r.Mention = p.mention(v, where)
		}
	})

	switch len(kindKeys) {
	case 0:
		p.addf(n, "%swant available_below or status_longer_than", where)
	case 2:
		p.addf(kindKeys[1], "%shas both available_below and status_longer_than (a rule watches one: split it into two rules)", where)
	}
	if len(kindKeys) == 1 && r.Kind == StatusLongerThan {
		// A time-in-status rule nudges once and escalates once.
		if forNode != nil {
			p.addf(forNode, "%sfor: applies to available_below only (status_longer_than waits its after)", where)
		}
		if repeatNode != nil {
			p.addf(repeatNode, "%srepeat: applies to available_below only (status_longer_than nudges and escalates once per episode)", where)
		}
		r.For, r.Repeat = 0, 0
	}
	if len(kindKeys) == 1 && r.Kind == AvailableBelow && mentionNode != nil && len(r.Mention) > 0 && !r.HasCritical && r.Warning > 0 {
		p.addf(mentionNode, "%smention: sent on critical only, and the rule has no critical level (add available_below.critical, or drop mention)", where)
	}
	if r.Channel == "" {
		r.Channel = p.d.Channel
		if r.Channel == "" {
			p.addf(n, "%sno channel (set channel, or ALERT_CHANNEL for the rules without one)", where)
		}
	}
	return r, true
}

// lookupKey returns the value of a mapping's first key named key.
func lookupKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

func (p *ruleParser) availableBelow(r *AlertRule, v *yaml.Node, where string) {
	if v.Kind != yaml.MappingNode {
		p.addf(v, "%savailable_below: want a mapping such as {warning: 4, critical: 2}, got %s", where, describeNode(v))
		return
	}
	var warn, crit, resolveAt *yaml.Node
	p.fields(v, where+"available_below: ", belowKeys, func(key string, _, n *yaml.Node) {
		switch key {
		case "warning":
			warn = n
		case "critical":
			crit = n
		case "resolve_at":
			resolveAt = n
		}
	})
	const never = "never fires (available is never below 0)"
	warnOK := false
	if warn == nil {
		p.addf(v, "%savailable_below: no warning", where)
	} else if w, ok := p.count(warn, where+"available_below.warning"); ok {
		if w == 0 {
			p.addf(warn, "%savailable_below.warning: 0 %s", where, never)
		} else {
			r.Warning, warnOK = w, true
		}
	}
	r.ResolveAt = r.Warning
	if crit != nil {
		if c, ok := p.count(crit, where+"available_below.critical"); ok {
			switch {
			case c == 0:
				p.addf(crit, "%savailable_below.critical: 0 %s; leave critical out for no critical level", where, never)
			case warnOK && c > r.Warning:
				p.addf(crit, "%savailable_below.critical: %d is above warning %d (critical is the lower count: fewer available is worse)", where, c, r.Warning)
			default:
				r.Critical, r.HasCritical = c, true
			}
		}
	}
	if resolveAt != nil {
		if n, ok := p.count(resolveAt, where+"available_below.resolve_at"); ok {
			if warnOK && n < r.Warning {
				p.addf(resolveAt, "%savailable_below.resolve_at: %d is below warning %d (the alert would resolve while still below warning)", where, n, r.Warning)
			} else {
				r.ResolveAt = n
			}
		}
	}
}

func (p *ruleParser) statusLongerThan(r *AlertRule, v *yaml.Node, where string) {
	if v.Kind != yaml.MappingNode {
		p.addf(v, "%sstatus_longer_than: want a mapping such as {status: after-call-work, after: 5m}, got %s", where, describeNode(v))
		return
	}
	var status, after, escalate *yaml.Node
	p.fields(v, where+"status_longer_than: ", longerKeys, func(key string, _, n *yaml.Node) {
		switch key {
		case "status":
			status = n
		case "after":
			after = n
		case "escalate_after":
			escalate = n
		}
	})
	if status == nil {
		p.addf(v, "%sstatus_longer_than: no status", where)
	} else if s, ok := p.str(status, where+"status_longer_than.status"); ok {
		r.Status = p.status(status, s, where)
	}
	if after == nil {
		p.addf(v, "%sstatus_longer_than: no after", where)
	} else if d, ok := p.duration(after, where+"status_longer_than.after", true); ok {
		r.After = d
	}
	// Left out, the agent gets as long again before anyone is paged.
	r.EscalateAfter = r.After
	if escalate != nil {
		if d, ok := p.duration(escalate, where+"status_longer_than.escalate_after", false); ok {
			r.EscalateAfter = d
		}
	}
}

// status reads a status word as /status and /presence do. Offline and
// available are refused: neither is a problem an agent can be nudged out
// of.
func (p *ruleParser) status(n *yaml.Node, s, where string) presence.Status {
	const what = "status_longer_than.status"
	st, err := presence.Parse(s)
	switch {
	case err != nil:
		p.addf(n, "%s%s: %v", where, what, err)
	case st == presence.Offline:
		p.addf(n, "%s%s: offline is not watched: an offline agent is logged out and takes no calls (watch the floor with available_below)", where, what)
	case st == presence.Available:
		p.addf(n, "%s%s: available is not watched: it is where agents should be (watch the floor with available_below)", where, what)
	default:
		return st
	}
	return ""
}

// str reads a scalar as a string; numbers are taken as written (a team ID
// may be all digits).
func (p *ruleParser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		p.addf(n, "%s: no value", what)
		return "", false
	}
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int") {
		p.addf(n, "%s: want text, got %s", what, describeNode(n))
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// count reads a non-negative whole number.
func (p *ruleParser) count(n *yaml.Node, what string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		p.addf(n, "%s: no value", what)
		return 0, false
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.addf(n, "%s: want a whole number, got %s", what, describeNode(n))
		return 0, false
	}
	if v < 0 {
		p.addf(n, "%s: %d must not be negative", what, v)
		return 0, false
	}
	return v, true
}

// duration reads a Go duration, not negative, and above 0 when positive.
func (p *ruleParser) duration(n *yaml.Node, what string, positive bool) (time.Duration, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.addf(n, "%s: %q: want a Go duration such as 30s, 5m or 1h", what, s)
	case d < 0:
		p.addf(n, "%s: %q must not be negative", what, s)
	case d == 0 && positive:
		p.addf(n, "%s: %q must be greater than 0", what, s)
	default:
		return d, true
	}
	return 0, false
}

// list reads a sequence of strings; want is an example for the message.
func (p *ruleParser) list(n *yaml.Node, what, want string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			p.addf(n, "%s: no value", what)
		} else {
			p.addf(n, "%s: want %s, got %s", what, want, describeNode(n))
		}
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if s, ok := p.str(resolve(item), what); ok {
			out = append(out, s)
		}
	}
	return out, true
}

func (p *ruleParser) teams(n *yaml.Node, where string) []string {
	what := where + "teams"
	ids, ok := p.list(n, what, "a list of team IDs, such as [sales_team]")
	if !ok {
		return nil
	}
	if len(ids) == 0 {
		p.addf(n, "%s: an empty list (leave teams out to watch all agents)", what)
		return nil
	}
	var teams []string
	for i, id := range ids {
		switch {
		case id == "":
			p.addf(n, "%s: item %d is empty", what, i+1)
		case strings.ContainsFunc(id, unicode.IsSpace):
			p.addf(n, "%s: %q contains spaces", what, id)
		case slices.Contains(teams, id):
			p.addf(n, "%s: %q is listed twice", what, id)
		default:
			teams = append(teams, id)
		}
	}
	return teams
}

// channel checks a rule's channel as ALERT_CHANNEL is checked.
func (p *ruleParser) channel(n *yaml.Node, v, where string) {
	ref := ParseChannel(v)
	switch {
	case ref.IsID():
		return
	case ref.Link:
		p.addf(n, "%schannel: %q is a link to a channel; use its ID: %s", where, v, ref.ID)
	default:
		p.addf(n, "%schannel: %q is a channel name; use the channel's ID (C…); presence-bot check finds it for you", where, v)
	}
	p.problems[len(p.problems)-1].channel = true
}

// mention reads user IDs, or one user group ID.
func (p *ruleParser) mention(n *yaml.Node, where string) []string {
	what := where + "mention"
	ids, ok := p.list(n, what, "a list of IDs, such as [U0123SUPER]")
	if !ok {
		return nil
	}
	var out []string
	users, groups := 0, 0
	for _, id := range ids {
		switch {
		case userID.MatchString(id):
			users++
			out = append(out, id)
		case groupID.MatchString(id):
			groups++
			out = append(out, id)
		case mentionForm.MatchString(id):
			p.addf(n, "%s: %q: write the ID alone: %s", what, id, mentionForm.FindStringSubmatch(id)[1])
		default:
			p.addf(n, "%s: %q is not a user ID (U… or W…) or a user group ID (S…)", what, id)
		}
	}
	if groups > 1 || groups == 1 && users > 0 {
		p.addf(n, "%s: a user group (S…) goes alone, without users", what)
	}
	return out
}

// rulesFile returns the rules file to read: ALERT_RULES_FILE, or
// alerts.yml when it exists; "" for none.
func (l *loader) rulesFile(stat func(string) (fs.FileInfo, error)) string {
	v := l.str("ALERT_RULES_FILE")
	if v != "" {
		return v
	}
	if fi, err := stat(defaultRulesFile); err == nil && fi.Mode().IsRegular() {
		return defaultRulesFile
	}
	return ""
}

// alertRules reads the rules file (when there is one) and adds the
// variables' rules after the file's: ALERT_THRESHOLD is the rule "all"
// and each ALERT_TEAM_THRESHOLDS entry the rule "team:<id>". Without a
// file they exist whenever ALERT_CHANNEL is set (as before the file);
// with one, ALERT_CHANNEL is only the default channel, and
// ALERT_THRESHOLD=0 is no rule.
func (l *loader) alertRules(a *Alert, file string, loc *time.Location, o options) {
	const name = "ALERT_RULES_FILE"
	d := RuleDefaults{Channel: a.Channel, For: a.For, Repeat: a.Repeat, ActiveHours: a.ActiveHours, Location: loc}
	var problems []RuleProblem
	if file != "" {
		data, err := o.readFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.addf(name, "%q: no such file", file)
			return
		case err != nil && isDirErr(err, file, o.stat):
			l.addf(name, "%q: is a directory, want a YAML file", file)
			return
		case err != nil:
			l.addf(name, "%q: %v", file, err)
			return
		}
		a.RulesFile = file
		a.Rules, problems = ParseRules(file, data, d)
	}

	vars := variableRules(*a, file != "", d)
	for _, r := range vars {
		if r.Channel == "" {
			l.addf(r.Source, "makes the rule %q, which has no channel: set ALERT_CHANNEL", r.Name)
		}
	}
	var clashes []RuleProblem
	a.Rules, clashes = JoinRules(a.Rules, vars)
	problems = append(problems, clashes...)

	slices.SortStableFunc(problems, func(x, y RuleProblem) int { return x.Line - y.Line })
	for _, p := range problems {
		l.addf(name, "%s", p)
		switch {
		case p.channel:
			l.channelProblems++
		case o.keepRuleProblems:
			l.ruleProblems++
			a.RuleProblems = append(a.RuleProblems, p)
		}
	}

	switch {
	case file == "":
	case len(a.Rules) == 0:
		l.ignoredIf(true, fmt.Sprintf("alerts are off (%s has no rules)", file), alertVars...)
	case a.Channel != "" && !slices.ContainsFunc(a.Rules, func(r AlertRule) bool { return r.Channel == a.Channel }):
		l.ignoredIf(true, "every rule names its own channel", "ALERT_CHANNEL")
	}
}

// isDirErr reports whether reading file failed because it is a directory.
func isDirErr(err error, file string, stat func(string) (fs.FileInfo, error)) bool {
	if fi, serr := stat(file); serr == nil && fi.IsDir() {
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "is a directory")
}

// alertVars are the ALERT_* variables that mean nothing while alerts are
// off; ALERT_CHANNEL first, since without a rules file it is the switch.
var alertVars = []string{"ALERT_CHANNEL", "ALERT_THRESHOLD", "ALERT_TEAM_THRESHOLDS", "ALERT_INTERVAL", "ALERT_FOR", "ALERT_REPEAT",
	"ALERT_UNAVAILABLE_AFTER", "ALERT_ACTIVE_HOURS"}

// KeepRuleProblems keeps the rules file's problems in Alert.RuleProblems
// instead of failing, when they are the only problems (with
// AllowChannelNames, along with channel names), so that `presence-bot
// check` can report each on its own line. The run never uses it.
func KeepRuleProblems() Option {
	return func(o *options) { o.keepRuleProblems = true }
}

// WithReadFile replaces os.ReadFile, which Load uses to read the rules
// file.
func WithReadFile(read func(name string) ([]byte, error)) Option {
	return func(o *options) { o.readFile = read }
}

// variableRules are the rules the ALERT_* variables in a make, after the
// file's: ALERT_THRESHOLD is the rule "all" and each ALERT_TEAM_THRESHOLDS
// entry the rule "team:<id>", each with d's settings. Without a rules
// file they exist whenever ALERT_CHANNEL is set (as before the file);
// with one, ALERT_THRESHOLD=0 is no rule.
func variableRules(a Alert, withFile bool, d RuleDefaults) []AlertRule {
	var rules []AlertRule
	variable := func(source, rule string, teams []string, warning int) {
		rules = append(rules, AlertRule{Name: rule, Teams: teams, Kind: AvailableBelow, Warning: warning, ResolveAt: warning,
			For: d.For, Repeat: d.Repeat, ActiveHours: d.ActiveHours, Channel: d.Channel, Source: source})
	}
	if !withFile && a.Channel != "" || withFile && a.Threshold > 0 {
		variable("ALERT_THRESHOLD", "all", nil, a.Threshold)
	}
	if withFile || a.Channel != "" {
		for _, t := range a.TeamThresholds {
			variable("ALERT_TEAM_THRESHOLDS", "team:"+t.TeamID, []string{t.TeamID}, t.Min)
		}
	}
	return rules
}

// VariableRules returns the rules the ALERT_* variables make, read
// through lookup as Load reads them, for `presence-bot rules test`, which
// must run what the bot runs without its Slack and contact-center
// settings: ALERT_THRESHOLD is the rule "all" and each
// ALERT_TEAM_THRESHOLDS entry the rule "team:<id>", with d's channel,
// for, repeat and active hours. withFile says whether a rules file is in
// use: without one, the rules exist only while ALERT_CHANNEL is set (and
// it requires ALERT_THRESHOLD); with one, ALERT_THRESHOLD unset or 0 is
// no rule. Each problem names its variable. JoinRules puts them after a
// file's rules.
func VariableRules(lookup func(string) (string, bool), withFile bool, d RuleDefaults) ([]AlertRule, []Problem) {
	l := &loader{lookup: lookup, read: make(map[string]bool)}
	// As loader.alert reads them; ALERT_CHANNEL only says whether it is
	// set (the switch without a file): d.Channel is the rules' channel.
	a := Alert{Channel: l.str("ALERT_CHANNEL"), Threshold: l.integer("ALERT_THRESHOLD", 0, 0)}
	if a.Channel != "" && !withFile && l.str("ALERT_THRESHOLD") == "" {
		l.addf("ALERT_THRESHOLD", "required when ALERT_CHANNEL is set")
	}
	if v := l.str("ALERT_TEAM_THRESHOLDS"); v != "" {
		teams, errs := parseTeamThresholds(v)
		for _, err := range errs {
			l.addf("ALERT_TEAM_THRESHOLDS", "%v", err)
		}
		a.TeamThresholds = teams
	}
	rules := variableRules(a, withFile, d)
	for _, r := range rules {
		if r.Channel == "" {
			l.addf(r.Source, "makes the rule %q, which has no channel: set ALERT_CHANNEL", r.Name)
		}
	}
	return rules, l.problems
}

// JoinRules returns a rules file's rules followed by the variables' (see
// VariableRules), as the bot runs them, and a problem for each file rule
// whose name a variable's rule takes, whatever its case (names must be
// unique: silences name them). A file rule named all is not counted
// again: ParseRules reports that name as reserved already.
func JoinRules(file, vars []AlertRule) ([]AlertRule, []RuleProblem) {
	var problems []RuleProblem
	for _, v := range vars {
		for _, fr := range file {
			if strings.EqualFold(fr.Name, v.Name) && reservedNames[strings.ToLower(fr.Name)] == "" {
				problems = append(problems, RuleProblem{File: fr.Source, Line: fr.Line,
					Message: fmt.Sprintf("rule %q: name used by the rule %s makes (rename this one)", fr.Name, v.Source)})
			}
		}
	}
	return append(slices.Clone(file), vars...), problems
}
