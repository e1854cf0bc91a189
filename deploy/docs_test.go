package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDeployDocsTestCommandNeedsOnlyGo: the README's test command is
// go test ./..., which needs only Go; -race needs a C compiler (cgo), so
// the README says that CI (.ci/run) adds it rather than make it the
// command.
func TestDeployDocsTestCommandNeedsOnlyGo(t *testing.T) {
	text := rawSection(t, filepath.Join("..", "README.md"), "## Two commands")
	if !regexp.MustCompile("(?m)^go test \\./\\.\\.\\.\\s").MatchString(text) {
		t.Errorf("the Two commands section has no line starting with go test ./...:\n%s", text)
	}
	if regexp.MustCompile("(?m)^go test [^\n#]*-race").MatchString(text) {
		t.Errorf("the Two commands section's test command uses -race, which needs a C compiler:\n%s", text)
	}
	prose := regexp.MustCompile(`\s+`).ReplaceAllString(text, " ")
	for _, want := range []string{"C compiler", ".ci/run", "-race"} {
		if !strings.Contains(prose, want) {
			t.Errorf("the Two commands section does not mention %q (the race detector needs a C compiler; .ci/run adds -race)", want)
		}
	}
}

// TestDeployDocsProductionRunsTheBuiltBinary: production runs the binary,
// because go run does not pass a SIGTERM on to the program: the bot would
// be killed without its graceful stop.
func TestDeployDocsProductionRunsTheBuiltBinary(t *testing.T) {
	text := section(t, filepath.Join("..", "README.md"), "## Running in production")
	for _, want := range []string{"go build", "-o presence-bot .", "./presence-bot", "`go run`", "signal"} {
		if !strings.Contains(text, want) {
			t.Errorf("Running in production does not mention %q", want)
		}
	}
}

// issueRE finds references to the project's own issue tracker, which mean
// nothing to the people who read the output and the docs.
var issueRE = regexp.MustCompile(`(?i)\bissues?\b|(^|[\s(])#\d+\b`)

// TestDeployDocsSpeakToUsers: the README, docs/, deploy/ and every string
// a program prints (string literals of non-test Go files) speak to users,
// not of issue numbers.
func TestDeployDocsSpeakToUsers(t *testing.T) {
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if name := d.Name(); name != "." && name != ".." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(path, "_test.go"):
		case strings.HasSuffix(path, ".go"):
			checkGoStrings(t, path, rel)
		case strings.HasSuffix(path, ".md"), strings.HasPrefix(filepath.ToSlash(rel), "deploy/"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(data), "\n") {
				if m := issueRE.FindString(line); m != "" {
					t.Errorf("%s:%d: %q speaks of our issues, not to users: %s", filepath.ToSlash(rel), i+1, strings.TrimSpace(m), line)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkGoStrings reports string literals of a Go file that name issues.
func checkGoStrings(t *testing.T, path, rel string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if m := issueRE.FindString(s); m != "" {
			pos := fset.Position(lit.Pos())
			t.Errorf("%s:%d: the output %q speaks of our issues, not to users", filepath.ToSlash(rel), pos.Line, s)
		}
		return true
	})
}

// rawSection is a Markdown section of a file as written, line breaks
// kept: from its heading to the next heading of the same or a higher
// level.
func rawSection(t *testing.T, name, heading string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", name, heading)
	}
	body := text[start+len(heading)+2:]
	level := len(strings.Fields(heading)[0])
	inCode := false
	offset := 0
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if !inCode {
			if hashes, _, ok := strings.Cut(line, " "); ok && hashes != "" && strings.Trim(hashes, "#") == "" && len(hashes) <= level {
				return body[:offset]
			}
		}
		offset += len(line)
	}
	return body
}
