package console

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Sanitize makes s safe to print on a terminal. Names and texts come from
// the contact center and from whoever types: an escape sequence in them
// could clear the screen, retitle the window, write the clipboard, plant
// a link or hide text. It removes escape sequences whole (CSI, OSC, DCS,
// SOS, PM, APC and two-character escapes, whether introduced by ESC or by
// their C1 control), every other C0 and C1 control but newline and tab,
// and DEL; invalid UTF-8 (a raw 8-bit CSI among it) becomes U+FFFD.
func Sanitize(s string) string {
	if safe(s) {
		return s // the usual case: nothing to copy
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		switch {
		case r == '\x1b':
			i += escapeLen(s[i+1:]) + 1
		case r == 0x9b: // CSI
			i += size + csiLen(s[i+size:])
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS, SOS, OSC, PM, APC
			i += size + stringLen(s[i+size:])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
			i += size
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			i += size
		default:
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return b.String()
}

// safe reports whether s needs no change: valid UTF-8 without controls.
func safe(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}

// escapeLen is the length of an escape sequence after its ESC.
func escapeLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '[':
		return 1 + csiLen(s[1:])
	case ']', 'P', 'X', '^', '_':
		return 1 + stringLen(s[1:])
	}
	// nF escapes: intermediates (0x20-0x2F), then a final byte
	// (0x30-0x7E), as in ESC ( B; with no intermediate, ESC c, ESC 7.
	n := 0
	for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f {
		n++
	}
	if n < len(s) && s[n] >= 0x30 && s[n] <= 0x7e {
		n++
	}
	return n
}

// csiLen is the length of a control sequence after its CSI: parameters
// (0x30-0x3F), intermediates (0x20-0x2F), a final byte (0x40-0x7E). A
// sequence broken off by anything else ends there.
func csiLen(s string) int {
	n := 0
	for n < len(s) && s[n] >= 0x30 && s[n] <= 0x3f {
		n++
	}
	for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f {
		n++
	}
	if n < len(s) && s[n] >= 0x40 && s[n] <= 0x7e {
		n++
	}
	return n
}

// stringLen is the length of a control string (OSC, DCS, …) after its
// introducer, terminator included: ST (ESC \ or its C1 form) or, as
// xterm also takes for OSC, BEL. An unterminated string runs to the end,
// as a terminal would swallow it.
func stringLen(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\a':
			return i + 1
		case s[i] == '\x1b' && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
	}
	return len(s)
}

// cleanWriter sanitizes everything written through it. The console makes
// one Write per whole text (a line, a rendered message), so no sequence
// is split between writes.
type cleanWriter struct{ w io.Writer }

func (c cleanWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, Sanitize(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
