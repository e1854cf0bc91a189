// Package agentmap reads the file (AGENT_MAP_FILE) that maps Slack users to
// contact-center agents and names the supervisors. Other tools read the same
// file, so its form is fixed:
//
//	agents:            # Slack user ID: contact-center agent user_id
//	  U0AGENT01: agent_001
//	supervisors:       # Slack user IDs allowed supervisor actions
//	  - U0SUPER01
//
// Every mistake is a start-up error naming its line: YAML syntax, an unknown
// top-level key, a Slack user listed twice, an agent claimed by two Slack
// users, an empty agent ID, a malformed Slack user ID, and a supervisor
// listed twice. The last is harmless in itself, but it is an error rather
// than a warning because it usually means a copy-paste slip, and failing
// keeps the file honest without a logger here. Anchors and aliases are
// refused: the file is short and plain, and refusing them rules out
// alias-expansion tricks. An empty file (or only comments) is a valid,
// empty map.
package agentmap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest mapping file Load reads.
const MaxFileSize = 10 << 20

// maxProblems bounds how many problems one error lists, so that a garbage
// file yields a readable error.
const maxProblems = 20

// Map is a parsed mapping file. It is immutable after Load or Parse and safe
// for concurrent use. A nil *Map is an empty map, for when no file is
// configured.
type Map struct {
	agents      map[string]string   // Slack user ID → agent ID
	slackUsers  map[string]string   // agent ID → Slack user ID
	supervisors map[string]struct{} // Slack user IDs
}

// AgentID returns the agent mapped to a Slack user.
func (m *Map) AgentID(slackUserID string) (string, bool) {
	if m == nil {
		return "", false
	}
	id, ok := m.agents[slackUserID]
	return id, ok
}

// SlackUser returns the Slack user mapped to an agent.
func (m *Map) SlackUser(agentID string) (string, bool) {
	if m == nil {
		return "", false
	}
	u, ok := m.slackUsers[agentID]
	return u, ok
}

// IsSupervisor reports whether a Slack user may take supervisor actions.
func (m *Map) IsSupervisor(slackUserID string) bool {
	if m == nil {
		return false
	}
	_, ok := m.supervisors[slackUserID]
	return ok
}

// Len returns the number of mapped agents.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.agents)
}

// NumSupervisors returns the number of supervisors.
func (m *Map) NumSupervisors() int {
	if m == nil {
		return 0
	}
	return len(m.supervisors)
}

// Problem is one mistake in a mapping file.
type Problem struct {
	Line    int // 1-based; 0 when unknown
	Message string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// Error lists every problem found in a mapping file, in file order.
type Error struct {
	Problems []Problem
	// Omitted counts problems left out to keep the list short.
	Omitted int
}

// Error puts one problem per line.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("(%d more problems not shown)", e.Omitted))
	}
	return strings.Join(lines, "\n")
}

// Load reads and parses the mapping file at path, refusing files larger
// than MaxFileSize.
func Load(path string) (*Map, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("agent map: %w", err)
	}
	defer f.Close()
	// Read one byte past the limit rather than trusting Stat, which says
	// nothing useful for pipes and device files.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("agent map: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("agent map %s: larger than %d MiB", path, MaxFileSize>>20)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("agent map %s: %w", path, err)
	}
	return m, nil
}

// Parse parses a mapping file. Its error is an *Error listing every problem
// with its line.
func Parse(data []byte) (*Map, error) {
	p := &parser{m: &Map{
		agents:      map[string]string{},
		slackUsers:  map[string]string{},
		supervisors: map[string]struct{}{},
	}}
	root, ok := p.decode(data)
	if ok && root != nil {
		p.top(root)
	}
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems, Omitted: p.omitted}
	}
	return p.m, nil
}

type parser struct {
	m        *Map
	problems []Problem
	omitted  int
}

func (p *parser) addf(line int, format string, args ...any) {
	if len(p.problems) == maxProblems {
		p.omitted++
		return
	}
	p.problems = append(p.problems, Problem{Line: line, Message: fmt.Sprintf(format, args...)})
}

// decode parses the YAML into nodes (a map would hide duplicate keys and
// lose line numbers) and returns the top-level node, nil for an empty file.
func (p *parser) decode(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		p.yamlError(err)
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(err)
		return nil, false
	default:
		p.addf(extra.Line, "a second YAML document (---): the file holds one")
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	return doc.Content[0], true
}

// yamlError turns yaml.v3's "yaml: line 7: did not find expected key" into
// a Problem on line 7.
func (p *parser) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				p.addf(line, "invalid YAML: %s", text)
				return
			}
		}
	}
	p.addf(0, "invalid YAML: %s", msg)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// plain reports whether n may be read as a value; it records a problem for
// aliases and anchors.
func (p *parser) plain(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		p.addf(n.Line, "anchors and aliases are not supported")
		return false
	}
	return true
}

func (p *parser) top(root *yaml.Node) {
	if !p.plain(root) || isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.addf(root.Line, "want a mapping with the keys agents and supervisors")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			p.addf(key.Line, "want the key agents or supervisors")
			continue
		}
		if first, dup := seen[key.Value]; dup {
			p.addf(key.Line, "%s is listed twice (first on line %d)", key.Value, first)
			continue
		}
		seen[key.Value] = key.Line
		switch key.Value {
		case "agents":
			p.agents(value)
		case "supervisors":
			p.supervisors(value)
		default:
			p.addf(key.Line, "unknown key %q: want agents or supervisors", key.Value)
		}
	}
}

func (p *parser) agents(n *yaml.Node) {
	if !p.plain(n) || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "agents: want a mapping of Slack user ID to agent ID")
		return
	}
	userLine := map[string]int{}  // Slack user → line of its entry
	agentLine := map[string]int{} // agent → line of its entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if !p.plain(key) || !p.plain(value) {
			continue
		}
		user, ok := p.slackUserID(key)
		if !ok {
			continue
		}
		if first, dup := userLine[user]; dup {
			p.addf(key.Line, "Slack user %s is listed twice (first on line %d)", user, first)
			continue
		}
		userLine[user] = key.Line

		if value.Kind != yaml.ScalarNode {
			p.addf(value.Line, "agent ID for %s: want a string", user)
			continue
		}
		agent := value.Value
		switch {
		case isNull(value) || strings.TrimSpace(agent) == "":
			p.addf(value.Line, "empty agent ID for Slack user %s", user)
			continue
		case strings.TrimSpace(agent) != agent:
			p.addf(value.Line, "agent ID %q for Slack user %s has surrounding spaces", agent, user)
			continue
		}
		if first, dup := agentLine[agent]; dup {
			p.addf(value.Line, "agent %q is claimed by Slack users %s (line %d) and %s",
				agent, p.m.slackUsers[agent], first, user)
			continue
		}
		agentLine[agent] = value.Line
		p.m.agents[user] = agent
		p.m.slackUsers[agent] = user
	}
}

func (p *parser) supervisors(n *yaml.Node) {
	if !p.plain(n) || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.addf(n.Line, "supervisors: want a list of Slack user IDs")
		return
	}
	line := map[string]int{}
	for _, item := range n.Content {
		if !p.plain(item) {
			continue
		}
		user, ok := p.slackUserID(item)
		if !ok {
			continue
		}
		if first, dup := line[user]; dup {
			p.addf(item.Line, "supervisor %s is listed twice (first on line %d)", user, first)
			continue
		}
		line[user] = item.Line
		p.m.supervisors[user] = struct{}{}
	}
}

// slackUserID reads a Slack user ID: U or W, then two or more capital
// letters or digits (^[UW][A-Z0-9]{2,}$).
func (p *parser) slackUserID(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.addf(n.Line, "want a Slack user ID such as U0AGENT01")
		return "", false
	}
	if !validSlackUserID(n.Value) {
		p.addf(n.Line, "%q is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)", n.Value)
		return "", false
	}
	return n.Value, true
}

func validSlackUserID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
