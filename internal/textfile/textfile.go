// Package textfile tells what kind of bytes a stored file holds — text or
// binary, which encoding, which line endings — and decodes text for
// display. Ingestion, the API and the web UI all use it, so they agree.
package textfile

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encodings reported by Inspect.
const (
	ASCII       = "ascii"
	UTF8        = "utf-8"
	Windows1252 = "windows-1252"
	Binary      = "binary"
)

// Facts are what can be said of a file without understanding it.
type Facts struct {
	Lines      int
	Kind       string // "text" or "binary"
	Encoding   string // ASCII, UTF8, Windows1252 or Binary
	LineEnding string // "CRLF", "LF", "mixed CRLF and LF", or "" (one line, or binary)
}

// Inspect looks at data. A NUL byte means binary (compiled .CTL files have
// them); otherwise valid UTF-8 is UTF-8 (ASCII when it has no byte above
// 0x7F) and anything else is taken as Windows-1252, the code page UPG
// editors on Windows write.
func Inspect(data []byte) Facts {
	f := Facts{Lines: bytes.Count(data, []byte{'\n'})}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		f.Lines++
	}
	switch {
	case bytes.IndexByte(data, 0) >= 0:
		f.Kind, f.Encoding = "binary", Binary
		return f
	case isASCII(data):
		f.Kind, f.Encoding = "text", ASCII
	case utf8.Valid(data):
		f.Kind, f.Encoding = "text", UTF8
	default:
		f.Kind, f.Encoding = "text", Windows1252
	}
	crlf := bytes.Count(data, []byte("\r\n"))
	switch lf := bytes.Count(data, []byte("\n")) - crlf; {
	case crlf > 0 && lf > 0:
		f.LineEnding = "mixed CRLF and LF"
	case crlf > 0:
		f.LineEnding = "CRLF"
	case lf > 0:
		f.LineEnding = "LF"
	}
	return f
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// Decode turns bytes of a file in the given encoding into a valid UTF-8
// string for display. Windows-1252 maps one byte to one character; invalid
// UTF-8 becomes U+FFFD.
func Decode(b []byte, encoding string) string {
	if encoding == Windows1252 {
		// A decoder keeps state, so each call takes its own.
		if dec, err := charmap.Windows1252.NewDecoder().Bytes(b); err == nil {
			return string(dec)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Encode turns text produced by Decode back into bytes of the encoding.
// It fails for a Windows-1252 text holding a character the code page
// lacks (such as the U+FFFD Decode writes for its five undefined bytes).
func Encode(s, encoding string) ([]byte, error) {
	if encoding == Windows1252 {
		return charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	}
	return []byte(s), nil
}
