package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// maxNameLen bounds a key's file name, leaving room under the usual
// 255-byte limit for the temp file's prefix and suffix.
const maxNameLen = 200

// FileStore keeps each key in its own JSON file in one directory. A Save
// writes a temp file in the same directory, syncs it, renames it over the
// old file and syncs the directory, so a crash leaves either the old value
// or the new one, never half of either. It is safe for concurrent use
// within a process; concurrent Saves of one key leave one of the values.
type FileStore struct {
	// mu makes Update atomic. A file store serves one process, so a
	// mutex is enough; replicas share a Redis store instead.
	mu sync.Mutex

	dir string
}

// NewFileStore returns a store in dir, creating it when missing.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("state directory: empty path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Dir is the directory the store writes to.
func (f *FileStore) Dir() string { return f.dir }

// Path is the file that holds key.
func (f *FileStore) Path(key string) (string, error) {
	name, err := fileName(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(f.dir, name), nil
}

// fileName maps a key to a safe file name, one-to-one: letters, digits,
// '-', '_' and inner '.' stay; every other byte becomes %XX. So no key can
// climb out of the directory ("../x"), hide itself (".x") or collide with
// a temp file, which always starts with '.'.
func fileName(key string) (string, error) {
	if key == "" {
		return "", ErrEmptyKey
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > maxNameLen {
		return "", fmt.Errorf("state key of %d bytes is too long for a file name", len(key))
	}
	return b.String() + ".json", nil
}

// Load implements Store. A file that is not valid JSON for v is reported
// as ErrCorrupt, naming the file.
func (f *FileStore) Load(ctx context.Context, key string, v any) (bool, error) {
	path, err := f.path(ctx, key)
	if err != nil {
		return false, fmt.Errorf("load state %q: %w", key, err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load state %q: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("load state %q: %s: %w: %w", key, path, ErrCorrupt, err)
	}
	return true, nil
}

// Save implements Store.
func (f *FileStore) Save(ctx context.Context, key string, v any) error {
	path, err := f.path(ctx, key)
	if err != nil {
		return fmt.Errorf("save state %q: %w", key, err)
	}
	// Encode first: a value that cannot be encoded must not touch the disk.
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save state %q: encode: %w", key, err)
	}
	if err := writeAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("save state %q: %w", key, err)
	}
	return nil
}

// Delete implements Store.
func (f *FileStore) Delete(ctx context.Context, key string) error {
	path, err := f.path(ctx, key)
	if err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	if err := syncDir(f.dir); err != nil {
		return fmt.Errorf("delete state %q: %w", key, err)
	}
	return nil
}

func (f *FileStore) path(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return f.Path(key)
}

// writeAtomic replaces path with data: temp file, fsync, rename, fsync of
// the directory so the rename itself survives a crash.
func writeAtomic(path string, data []byte) (err error) {
	dir, name := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Update implements Store, atomically within this process.
func (f *FileStore) Update(ctx context.Context, key string, v any, change func(found bool) (bool, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	found, err := f.Load(ctx, key, v)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	save, err := change(found)
	if err != nil || !save {
		return err
	}
	return f.Save(ctx, key, v)
}
