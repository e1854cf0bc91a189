package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeEnvFile writes content to a file in a fresh directory with exactly
// mode perm (whatever the umask) and returns its path.
func writeEnvFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatalf("chmod %s: %v", path, err)
	}
	return path
}

// unsetForTest unsets name for the test and restores it afterwards.
func unsetForTest(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // records the old value for cleanup
	if err := os.Unsetenv(name); err != nil {
		t.Fatalf("unset %s: %v", name, err)
	}
}

func TestLoadDotEnvDoesNotOverride(t *testing.T) {
	unsetForTest(t, "PB_TEST_FROM_FILE")
	unsetForTest(t, "PB_TEST_QUOTED")
	t.Setenv("PB_TEST_REAL", "from-environment")
	t.Setenv("PB_TEST_EMPTY", "")
	path := writeEnvFile(t, strings.Join([]string{
		"# comment",
		"PB_TEST_FROM_FILE=from-file",
		"export PB_TEST_QUOTED=\"two words\"",
		"PB_TEST_REAL=from-file",
		"PB_TEST_EMPTY=from-file",
	}, "\n"), 0o600)

	warnings, err := LoadDotEnv(path)
	if err != nil {
		t.Fatalf("LoadDotEnv: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("got warnings %q for mode 0600, want none", warnings)
	}
	tests := []struct {
		name string
		want string
	}{
		{"PB_TEST_FROM_FILE", "from-file"},   // unset: the file sets it
		{"PB_TEST_QUOTED", "two words"},      // quotes and export are understood
		{"PB_TEST_REAL", "from-environment"}, // the real environment wins
		{"PB_TEST_EMPTY", ""},                // even when it sets a variable to ""
	}
	for _, tt := range tests {
		if got, ok := os.LookupEnv(tt.name); !ok || got != tt.want {
			t.Errorf("%s: got %q (set %v), want %q", tt.name, got, ok, tt.want)
		}
	}
}

func TestLoadDotEnvPermissions(t *testing.T) {
	tests := []struct {
		name     string
		perm     os.FileMode
		wantWarn bool
	}{
		{"owner only", 0o600, false},      // the recommended mode
		{"owner read only", 0o400, false}, // stricter still
		{"world readable", 0o644, true},   // the usual default: warn
		{"group readable", 0o640, true},   // group access warns too
		{"group writable", 0o620, true},   // as does any group or other bit
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetForTest(t, "PB_TEST_PERM")
			path := writeEnvFile(t, "PB_TEST_PERM=1\n", tt.perm)
			warnings, err := LoadDotEnv(path)
			if err != nil {
				t.Fatalf("LoadDotEnv: %v", err)
			}
			if got := len(warnings) > 0; got != tt.wantWarn {
				t.Fatalf("mode %04o: got warnings %q, want warning %v", tt.perm, warnings, tt.wantWarn)
			}
			if tt.wantWarn && !strings.Contains(warnings[0], path) {
				t.Errorf("got warning %q, want it to name %s", warnings[0], path)
			}
			// A warning does not stop the file from loading.
			if got := os.Getenv("PB_TEST_PERM"); got != "1" {
				t.Errorf("PB_TEST_PERM: got %q, want %q", got, "1")
			}
		})
	}
}

func TestLoadDotEnvMissing(t *testing.T) {
	warnings, err := LoadDotEnv(filepath.Join(t.TempDir(), ".env"))
	if err != nil || warnings != nil {
		t.Errorf("got %q, %v, want no warnings and no error for a missing file", warnings, err)
	}
	if _, err := LoadDotEnv(t.TempDir()); err == nil {
		t.Errorf("got no error for a directory, want one")
	}
}

// A syntax error names the line but never quotes the file, which holds
// tokens.
func TestLoadDotEnvSyntaxErrorHidesSecrets(t *testing.T) {
	const secret = "xoxb-SECRETDOTENV-31337"
	tests := []struct {
		name     string
		content  string
		wantLine string
	}{
		// A token pasted without a name: "-" is no name character.
		{"pasted token", "PB_TEST_A=1\n" + secret + "\nPB_TEST_B=2\n", "line 2:"},
		// Windows line endings count lines the same way.
		{"crlf", "PB_TEST_A=1\r\n# note\r\n" + secret + "\r\n", "line 3:"},
		// An unterminated quote would otherwise quote the value.
		{"unterminated", "PB_TEST_A=1\nSLACK_BOT_TOKEN=\"" + secret + "\n", "not terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetForTest(t, "PB_TEST_A")
			unsetForTest(t, "PB_TEST_B")
			path := writeEnvFile(t, tt.content, 0o600)
			_, err := LoadDotEnv(path)
			if err == nil {
				t.Fatalf("got no error, want a syntax error")
			}
			if strings.Contains(err.Error(), "SECRETDOTENV") {
				t.Errorf("error shows the secret: %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantLine) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantLine)
			}
		})
	}
}
