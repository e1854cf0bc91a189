package state_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presencebot/presence-bot/state"
	"github.com/presencebot/presence-bot/state/statetest"
)

func TestMemoryStoreContract(t *testing.T) {
	statetest.Run(t, func(*testing.T) state.Store { return state.NewMemoryStore() })
}

func TestFileStoreContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return newFileStore(t) })
}

func newFileStore(t *testing.T) *state.FileStore {
	t.Helper()
	fs, err := state.NewFileStore(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatalf("NewFileStore: %v", err)
	}
	return fs
}

// dirNames lists the directory, so tests see temp files a Save left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

func TestFileStoreWritesOneValidFile(t *testing.T) {
	fs := newFileStore(t)
	ctx := context.Background()
	for i := range 3 {
		if err := fs.Save(ctx, "alerts", map[string]int{"round": i}); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	if err := fs.Save(ctx, "alerts", make(chan int)); err == nil {
		t.Fatal("Save of a channel: got nil error, want one")
	}
	if got, want := dirNames(t, fs.Dir()), []string{"alerts.json"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("directory holds %q, want %q (no temp files left)", got, want)
	}
	data, err := os.ReadFile(filepath.Join(fs.Dir(), "alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(strings.Fields(string(data)), ""), `{"round":2}`; got != want {
		t.Errorf("file holds %s, want %s", got, want)
	}
	info, err := os.Stat(filepath.Join(fs.Dir(), "alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o, want 600", perm)
	}
}

func TestFileStoreFileNames(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"alerts", "alerts.json"},                     // plain names stay readable
		{"team:sales_team", "team%3Asales_team.json"}, // ':' is escaped
		{"../x", "%2E.%2Fx.json"},                     // no escape from the directory
		{".hidden", "%2Ehidden.json"},                 // never a dot file, like temp files
		{"a%b", "a%25b.json"},                         // '%' itself is escaped, so mapping is one-to-one
	}
	fs := newFileStore(t)
	for _, tc := range tests {
		got, err := fs.Path(tc.key)
		if err != nil {
			t.Fatalf("Path(%q): %v", tc.key, err)
		}
		if want := filepath.Join(fs.Dir(), tc.want); got != want {
			t.Errorf("Path(%q) = %q, want %q", tc.key, got, want)
		}
	}
	if _, err := fs.Path(strings.Repeat("x", 300)); err == nil {
		t.Errorf("Path of a 300-byte key: got nil error, want too long")
	}
}

func TestFileStoreCorruptFile(t *testing.T) {
	fs := newFileStore(t)
	path := filepath.Join(fs.Dir(), "alerts.json")
	if err := os.WriteFile(path, []byte(`{"phase": "firing", `), 0o600); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	found, err := fs.Load(context.Background(), "alerts", &v)
	if !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("Load of a truncated file: got %v, %v; want ErrCorrupt", found, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
	// Saving over a corrupt file repairs it.
	if err := fs.Save(context.Background(), "alerts", map[string]any{"phase": "inactive"}); err != nil {
		t.Fatalf("Save over a corrupt file: %v", err)
	}
	if found, err := fs.Load(context.Background(), "alerts", &v); !found || err != nil || v["phase"] != "inactive" {
		t.Errorf("after repair got %v, %v, %v; want the new value", v, found, err)
	}
}

func TestNewFileStoreRefusesAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := state.NewFileStore(file); err == nil {
		t.Errorf("NewFileStore(a file): got nil error, want one")
	}
	if _, err := state.NewFileStore(""); err == nil {
		t.Errorf("NewFileStore(\"\"): got nil error, want one")
	}
}
