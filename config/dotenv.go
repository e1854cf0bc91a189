package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
)

// maxDotEnvSize bounds what LoadDotEnv reads; a .env file is a few lines.
const maxDotEnvSize = 1 << 20

// LoadDotEnv loads path (usually ".env") into the process environment when
// it exists, never overriding a variable the real environment already sets
// (even to ""). A missing file is not an error. It warns, rather than fails,
// when the file is accessible by group or others, because it holds tokens.
// Syntax errors name the line but never quote the file, which holds secrets.
func LoadDotEnv(path string) (warnings []string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open env file: %w", err)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat env file: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("env file %s is a directory", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf(
			"%s is accessible by group or others (mode %04o) but holds tokens: run chmod 600 %s", path, perm, path))
	}

	data, err := io.ReadAll(io.LimitReader(f, maxDotEnvSize+1))
	if err != nil {
		return warnings, fmt.Errorf("read env file %s: %w", path, err)
	}
	if len(data) > maxDotEnvSize {
		return warnings, fmt.Errorf("env file %s is larger than %d bytes", path, maxDotEnvSize)
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return warnings, fmt.Errorf("env file %s: %s", path, dotEnvSyntaxError(err, data))
	}
	for key, value := range vars {
		if _, set := os.LookupEnv(key); set {
			continue
		}
		if err := os.Setenv(key, value); err != nil {
			return warnings, fmt.Errorf("env file %s: set %s: %w", path, key, err)
		}
	}
	return warnings, nil
}

// dotEnvSyntaxError rewrites a godotenv error without the file content that
// godotenv quotes in it (the rest of the file, or a whole value), since that
// may be a token. It keeps the line when it can be worked out.
func dotEnvSyntaxError(err error, data []byte) string {
	msg := err.Error()
	const unexpected = "unexpected character "
	if rest, ok := strings.CutPrefix(msg, unexpected); ok {
		char, near, found := strings.Cut(rest, " in variable name near ")
		if !found {
			return "syntax error in a variable name"
		}
		where := ""
		// near is the rest of the file from the bad statement, %q-quoted;
		// its length locates the line. godotenv parses with \r\n as \n.
		if tail, uerr := strconv.Unquote(near); uerr == nil {
			norm := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
			if off := len(norm) - len(tail); off >= 0 && bytes.HasSuffix(norm, []byte(tail)) {
				where = fmt.Sprintf("line %d: ", bytes.Count(norm[:off], []byte("\n"))+1)
			}
		}
		return where + "unexpected character " + char + " in a variable name (want letters, digits, _ or .)"
	}
	if strings.HasPrefix(msg, "unterminated quoted value") {
		return "a quoted value is not terminated"
	}
	return "syntax error"
}
