package upg

import "strings"

// CanonicalName is the form in which UPG names are compared: surrounding
// blanks removed, every run of blanks or tabs inside turned into one '_', and
// ASCII letters upper-cased. "MACHINE NAME", "machine_name" and
// "Machine  Name" all become "MACHINE_NAME". Attribute, section and define
// names, and catalogue names, are matched in this form; the source spelling
// is always kept next to it.
func CanonicalName(s string) string {
	// fast path: already canonical
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c == ' ' || c == '\t' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.Trim(s, " \t")
	var b strings.Builder
	b.Grow(len(s))
	blank := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			blank = true
			continue
		}
		if blank {
			b.WriteByte('_')
			blank = false
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// IsUserName reports whether a name is spelled in lower case, which in UPG
// marks a user-facing attribute (a setup or operation question defined in
// MASTER.ATR, e.g. "work coord" / work_coord).
func IsUserName(s string) bool {
	lower := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			return false
		}
		if c >= 'a' && c <= 'z' {
			lower = true
		}
	}
	return lower
}

func isIdentByte(c byte) bool { return identBytes[c] }

// identBytes marks the bytes of names: letters, digits and '_'.
var identBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' }

func upperByte(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// equalFoldASCII compares b with an upper-case ASCII word, ignoring case.
func equalFoldASCII[S ~string | ~[]byte](b S, upper string) bool {
	if len(b) != len(upper) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if upperByte(b[i]) != upper[i] {
			return false
		}
	}
	return true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
