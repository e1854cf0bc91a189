package agentmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const validFile = `# Who is who in the contact center.
agents:            # Slack user ID: contact-center agent user_id
  U0AGENT01: agent_001
  U0AGENT02: "agent_002"
  W0ENTERPRISE1: agent_003
  U0NUMERIC: 1234
supervisors:       # Slack user IDs allowed supervisor actions
  - U0SUPER01
  - U0AGENT01
`

func TestParseValid(t *testing.T) {
	m, err := Parse([]byte(validFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := m.Len(); got != 4 {
		t.Errorf("Len: got %d, want 4", got)
	}
	if got := m.NumSupervisors(); got != 2 {
		t.Errorf("NumSupervisors: got %d, want 2", got)
	}
	lookups := []struct {
		slackUser string
		agent     string
		found     bool
	}{
		{"U0AGENT01", "agent_001", true},     // plain
		{"U0AGENT02", "agent_002", true},     // quoted
		{"W0ENTERPRISE1", "agent_003", true}, // enterprise grid users start with W
		{"U0NUMERIC", "1234", true},          // a number is read as its text
		{"U0SUPER01", "", false},             // supervisors need not be agents
		{"u0agent01", "", false},             // IDs are case-sensitive
	}
	for _, l := range lookups {
		agent, ok := m.AgentID(l.slackUser)
		if agent != l.agent || ok != l.found {
			t.Errorf("AgentID(%s): got %q, %v, want %q, %v", l.slackUser, agent, ok, l.agent, l.found)
		}
		if !l.found {
			continue
		}
		user, ok := m.SlackUser(l.agent)
		if user != l.slackUser || !ok {
			t.Errorf("SlackUser(%s): got %q, %v, want %q, true", l.agent, user, ok, l.slackUser)
		}
	}
	if user, ok := m.SlackUser("agent_999"); ok {
		t.Errorf("SlackUser(agent_999): got %q, true, want not found", user)
	}
	supervisors := []struct {
		slackUser string
		want      bool
	}{
		{"U0SUPER01", true},  // listed, not an agent
		{"U0AGENT01", true},  // listed and an agent
		{"U0AGENT02", false}, // an agent only
		{"", false},          // nobody
	}
	for _, s := range supervisors {
		if got := m.IsSupervisor(s.slackUser); got != s.want {
			t.Errorf("IsSupervisor(%q): got %v, want %v", s.slackUser, got, s.want)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{
		"",                            // nothing
		"\n\n",                        // blank lines
		"# only a comment\n",          // comments
		"---\n",                       // an empty document
		"~\n",                         // null
		"agents:\nsupervisors:\n",     // both keys, both empty
		"agents: {}\nsupervisors: []", // both keys, explicitly empty
	} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): got error %v, want an empty map", in, err)
			continue
		}
		if m.Len() != 0 || m.NumSupervisors() != 0 {
			t.Errorf("Parse(%q): got %d agents, %d supervisors, want none", in, m.Len(), m.NumSupervisors())
		}
	}
}

// A nil map is empty, for when no file is configured.
func TestNilMap(t *testing.T) {
	var m *Map
	if _, ok := m.AgentID("U0AGENT01"); ok {
		t.Errorf("AgentID on nil: got found, want not")
	}
	if _, ok := m.SlackUser("agent_001"); ok {
		t.Errorf("SlackUser on nil: got found, want not")
	}
	if m.IsSupervisor("U0SUPER01") || m.Len() != 0 || m.NumSupervisors() != 0 {
		t.Errorf("nil map: got supervisor %v, Len %d, NumSupervisors %d, want false, 0, 0",
			m.IsSupervisor("U0SUPER01"), m.Len(), m.NumSupervisors())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // the problems, in order, as Problem.String gives them
	}{
		{
			// The brief's example: a Slack user listed twice.
			name: "duplicate Slack user",
			in:   "agents:\n  U0AGENT01: agent_001\n  U0AGENT02: agent_002\n  U0AGENT01: agent_003\n",
			want: []string{"line 4: Slack user U0AGENT01 is listed twice (first on line 2)"},
		},
		{
			// Two Slack users claim one agent.
			name: "agent claimed twice",
			in:   "agents:\n  U0AGENT01: agent_001\n  U0AGENT02: agent_001\n",
			want: []string{`line 3: agent "agent_001" is claimed by Slack users U0AGENT01 (line 2) and U0AGENT02`},
		},
		{
			// An empty agent ID.
			name: "empty agent",
			in:   "agents:\n  U0AGENT01:\n  U0AGENT02: \"\"\n  U0AGENT03: ~\n",
			want: []string{
				"line 2: empty agent ID for Slack user U0AGENT01",
				"line 3: empty agent ID for Slack user U0AGENT02",
				"line 4: empty agent ID for Slack user U0AGENT03",
			},
		},
		{
			// Spaces hidden in quotes would never match the API's IDs.
			name: "agent with spaces",
			in:   "agents:\n  U0AGENT01: \" agent_001\"\n",
			want: []string{`line 2: agent ID " agent_001" for Slack user U0AGENT01 has surrounding spaces`},
		},
		{
			// Slack user IDs that do not look like one.
			name: "bad Slack IDs",
			in:   "agents:\n  u0agent01: agent_001\n  U1: agent_002\n  B0BOT0001: agent_003\n  U0-AGENT: agent_004\n  \"@alice\": agent_005\n",
			want: []string{
				`line 2: "u0agent01" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
				`line 3: "U1" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
				`line 4: "B0BOT0001" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
				`line 5: "U0-AGENT" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
				`line 6: "@alice" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
			},
		},
		{
			// A bad supervisor ID.
			name: "bad supervisor",
			in:   "supervisors:\n  - U0SUPER01\n  - alice\n",
			want: []string{`line 3: "alice" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`},
		},
		{
			// A supervisor listed twice is an error (see the package doc).
			name: "duplicate supervisor",
			in:   "supervisors:\n  - U0SUPER01\n  - U0SUPER02\n  - U0SUPER01\n",
			want: []string{"line 4: supervisor U0SUPER01 is listed twice (first on line 2)"},
		},
		{
			// An unknown top-level key, e.g. a typo.
			name: "unknown key",
			in:   "agents:\n  U0AGENT01: agent_001\nsupervisor:\n  - U0SUPER01\n",
			want: []string{`line 3: unknown key "supervisor": want agents or supervisors`},
		},
		{
			// A top-level key listed twice.
			name: "duplicate key",
			in:   "agents:\n  U0AGENT01: agent_001\nagents:\n  U0AGENT02: agent_002\n",
			want: []string{"line 3: agents is listed twice (first on line 1)"},
		},
		{
			// YAML syntax errors keep yaml.v3's line, which for a bad
			// indent is where the enclosing block starts.
			name: "syntax",
			in:   "agents:\n  U0AGENT01: agent_001\n U0AGENT02: agent_002\n",
			want: []string{"line 2: invalid YAML: did not find expected key"},
		},
		{
			// A tab indent is a syntax error too.
			name: "tab",
			in:   "agents:\n\tU0AGENT01: agent_001\n",
			want: []string{"line 2: invalid YAML: found character that cannot start any token"},
		},
		{
			// agents must be a mapping.
			name: "agents as list",
			in:   "agents:\n  - U0AGENT01\n",
			want: []string{"line 2: agents: want a mapping of Slack user ID to agent ID"},
		},
		{
			// supervisors must be a list.
			name: "supervisors as mapping",
			in:   "supervisors:\n  U0SUPER01: true\n",
			want: []string{"line 2: supervisors: want a list of Slack user IDs"},
		},
		{
			// An agent ID must be a string.
			name: "agent as list",
			in:   "agents:\n  U0AGENT01: [agent_001]\n",
			want: []string{"line 2: agent ID for U0AGENT01: want a string"},
		},
		{
			// The top level must be a mapping.
			name: "top-level list",
			in:   "- U0AGENT01\n",
			want: []string{"line 1: want a mapping with the keys agents and supervisors"},
		},
		{
			// Aliases are refused.
			name: "alias",
			in:   "supervisors: &s\n  - U0SUPER01\nagents:\n  U0AGENT01: *s\n",
			want: []string{"line 1: anchors and aliases are not supported", "line 4: anchors and aliases are not supported"},
		},
		{
			// One file, one document; the line is the second one's "---".
			name: "two documents",
			in:   "agents: {}\n---\nagents: {}\n",
			want: []string{"line 2: a second YAML document (---): the file holds one"},
		},
		{
			// Every problem is reported, in file order.
			name: "several",
			in:   "agents:\n  U0AGENT01: agent_001\n  U0AGENT01: agent_002\n  U0AGENT03: agent_001\nteams: {}\nsupervisors:\n  - nobody\n",
			want: []string{
				"line 3: Slack user U0AGENT01 is listed twice (first on line 2)",
				`line 4: agent "agent_001" is claimed by Slack users U0AGENT01 (line 2) and U0AGENT03`,
				`line 5: unknown key "teams": want agents or supervisors`,
				`line 7: "nobody" is not a Slack user ID (U or W, then capital letters and digits, such as U0AGENT01)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("got a map of %d agents, want an error", m.Len())
			}
			if m != nil {
				t.Errorf("got a map with the error, want nil")
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("got %T (%v), want *Error", err, err)
			}
			got := make([]string, len(perr.Problems))
			for i, p := range perr.Problems {
				got[i] = p.String()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\ngot  %q\nwant %q", got, tt.want)
			}
			if err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("Error(): got %q, want one problem per line", err.Error())
			}
		})
	}
}

// A garbage file gives a bounded list of problems.
func TestParseManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("supervisors:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - bad%d\n", i)
	}
	_, err := Parse([]byte(b.String()))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("got %v, want *Error", err)
	}
	if len(perr.Problems) != maxProblems || perr.Omitted != 50-maxProblems {
		t.Errorf("got %d problems and %d omitted, want %d and %d", len(perr.Problems), perr.Omitted, maxProblems, 50-maxProblems)
	}
	if !strings.HasSuffix(err.Error(), fmt.Sprintf("(%d more problems not shown)", 50-maxProblems)) {
		t.Errorf("got %q, want it to end by counting the omitted problems", err.Error())
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return path
	}

	m, err := Load(write("agents.yml", []byte(validFile)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if m.Len() != 4 {
		t.Errorf("Len: got %d, want 4", m.Len())
	}

	// Errors name the file and keep the line.
	bad := write("bad.yml", []byte("agents:\n  U0AGENT01: a\n  U0AGENT01: b\n"))
	_, err = Load(bad)
	var perr *Error
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 3: ") {
		t.Errorf("got %v, want an *Error naming %s and line 3", err, bad)
	}

	// A missing file is an error that errors.Is recognises.
	if _, err := Load(filepath.Join(dir, "missing.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}

	// A file just over 10 MiB is refused before parsing.
	big := make([]byte, MaxFileSize+1)
	for i := range big {
		big[i] = '\n'
	}
	if _, err := Load(write("big.yml", big)); err == nil || !strings.Contains(err.Error(), "larger than 10 MiB") {
		t.Errorf("big file: got %v, want an error saying it is larger than 10 MiB", err)
	}
	// Exactly 10 MiB (of blank lines) is accepted.
	if _, err := Load(write("limit.yml", big[:MaxFileSize])); err != nil {
		t.Errorf("10 MiB file: got %v, want no error", err)
	}
}

// Lookups from many goroutines race with nothing (run with -race).
func TestConcurrentReads(t *testing.T) {
	m, err := Parse([]byte(validFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if id, ok := m.AgentID("U0AGENT01"); !ok || id != "agent_001" {
					errs <- fmt.Sprintf("AgentID: got %q, %v, want agent_001, true", id, ok)
					return
				}
				if u, ok := m.SlackUser("agent_003"); !ok || u != "W0ENTERPRISE1" {
					errs <- fmt.Sprintf("SlackUser: got %q, %v, want W0ENTERPRISE1, true", u, ok)
					return
				}
				if !m.IsSupervisor("U0SUPER01") || m.Len() != 4 {
					errs <- "IsSupervisor or Len changed under concurrent reads"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		validFile,
		"",
		"agents:\n  U0AGENT01: agent_001\n  U0AGENT01: agent_002\n",
		"agents:\n  U0AGENT01: agent_001\n  U0AGENT02: agent_001\n",
		"supervisors:\n  - U0SUPER01\n  - U0SUPER01\n",
		"agents: &a {U0AGENT01: x}\nsupervisors: *a\n",
		"a: &a [*a, *a]\n",
		"<<: {agents: {}}\n",
		"agents: {? [U1, U2] : x}\n",
		"--- \n---\n",
		"\x00\xff garbage ::: - [ {",
		"agents:\n\tU0AGENT01: x\n",
		"%YAML 1.1\n---\nagents: {}\n",
		"!!binary aGVsbG8=",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var perr *Error
			if m != nil || !errors.As(err, &perr) || len(perr.Problems) == 0 || len(perr.Problems) > maxProblems {
				t.Fatalf("Parse: got map %v, error %T %v, want nil and an *Error with 1 to %d problems", m, err, err, maxProblems)
			}
			return
		}
		// The two directions agree.
		for user, agent := range m.agents {
			if back, ok := m.SlackUser(agent); !ok || back != user {
				t.Fatalf("agent %q maps to %s, but SlackUser gives %q, %v", agent, user, back, ok)
			}
			if !validSlackUserID(user) || agent == "" {
				t.Fatalf("accepted Slack user %q with agent %q", user, agent)
			}
		}
		if len(m.agents) != len(m.slackUsers) {
			t.Fatalf("got %d agents but %d reverse entries", len(m.agents), len(m.slackUsers))
		}
	})
}
