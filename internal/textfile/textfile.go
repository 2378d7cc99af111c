// Package textfile tells what kind of bytes a stored file holds — text or
// binary, which encoding, which line endings — splits text into lines and
// decodes it for display. The UPG parser, package resolution, ingestion, the
// API and the web UI all use it, so they agree on what is binary and where a
// line ends.
package textfile

import (
	"bytes"
	"encoding/binary"
	"math/bits"
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
	LineEnding string // "CRLF", "LF", "CR", "mixed CRLF and LF" (or another mix), or "" (one line, or binary)
}

// Inspect looks at data. Binary content is decided by IsBinary; text that
// is valid UTF-8 is UTF-8 (ASCII when it has no byte above 0x7F) and
// anything else is taken as Windows-1252, the code page UPG editors on
// Windows write. Lines are counted as SplitLines splits them.
func Inspect(data []byte) Facts {
	var f Facts
	if IsBinary(data) {
		f.Kind, f.Encoding = "binary", Binary
		f.Lines = bytes.Count(data, []byte{'\n'})
		if len(data) > 0 && data[len(data)-1] != '\n' {
			f.Lines++
		}
		return f
	}
	switch {
	case isASCII(data):
		f.Kind, f.Encoding = "text", ASCII
	case utf8.Valid(data):
		f.Kind, f.Encoding = "text", UTF8
	default:
		f.Kind, f.Encoding = "text", Windows1252
	}
	var crlf, lf, cr int
	r := NewLineReader(data)
	for {
		_, end, next, ok := r.Next()
		if !ok {
			break
		}
		f.Lines++
		switch next - end {
		case 2:
			crlf++
		case 1:
			if data[end] == '\n' {
				lf++
			} else {
				cr++
			}
		}
	}
	var kinds []string
	for _, k := range []struct {
		n    int
		name string
	}{{crlf, "CRLF"}, {lf, "LF"}, {cr, "CR"}} {
		if k.n > 0 {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
	case 1:
		f.LineEnding = kinds[0]
	case 2:
		f.LineEnding = "mixed " + kinds[0] + " and " + kinds[1]
	default:
		f.LineEnding = "mixed CRLF, LF and CR"
	}
	return f
}

// IsBinary reports whether data is binary content (a compiled .CTL post, an
// image …) rather than text: more than 10 % of its bytes are control bytes
// other than tab, LF, CR, form feed and the DOS end-of-file byte 0x1A.
// A NUL byte or a few other control bytes in an otherwise normal text file
// do not make it binary; the UPG parser reports them where they are.
// This is the one decision every part of VeriPost uses.
func IsBinary(data []byte) bool {
	ctl := 0
	for _, c := range data {
		if c < 0x20 && binaryControl[c] {
			ctl++
		}
	}
	return ctl > 0 && ctl*10 > len(data)
}

// binaryControl marks the bytes below 0x20 that count as binary content.
var binaryControl = func() (t [0x20]bool) {
	for c := range t {
		switch c {
		case '\t', '\n', '\r', '\f', 0x1A:
		default:
			t[c] = true
		}
	}
	return t
}()

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// LineReader splits text into lines the way every reader in VeriPost does:
// "\r\n", "\n" and a lone "\r" each end a line, and the last line may have
// no terminator. It runs in linear time whatever the mix of line endings.
type LineReader struct {
	src    []byte
	pos    int
	lf, cr int // offset of the next '\n' / '\r' at or after pos (len(src) when none), -1 before the first search
}

// NewLineReader returns a reader positioned at the start of src.
func NewLineReader(src []byte) LineReader {
	return LineReader{src: src, lf: -1, cr: -1}
}

// Next returns the next line: its content is src[start:end] and its
// terminator src[end:next] ("", "\n", "\r\n" or "\r"). ok is false when
// there are no more lines (an empty input has none).
func (r *LineReader) Next() (start, end, next int, ok bool) {
	src := r.src
	n := len(src)
	start = r.pos
	if start >= n {
		return start, start, start, false
	}
	end = lineEnd(src, start)
	if end < 0 {
		// a long line: search for each terminator, remembering the next of each
		if r.lf < start {
			r.lf = indexFrom(src, start, '\n')
		}
		if r.cr < start {
			r.cr = indexFrom(src, start, '\r')
		}
		end = min(r.lf, r.cr)
	}
	switch {
	case end == n:
		next = n
	case src[end] == '\r' && end+1 < n && src[end+1] == '\n':
		next = end + 2
	default:
		next = end + 1
	}
	r.pos = next
	return start, end, next, true
}

// lineEnd is the offset of the first '\n' or '\r' at or after from when it
// is among the next 64 bytes (or the end of src is), -1 otherwise. Most
// lines are short: it tests eight bytes at a time for both bytes, cheaper
// than a search for each.
func lineEnd(src []byte, from int) int {
	const ones, hi = 0x0101010101010101, 0x8080808080808080
	i := from
	for stop := min(len(src), from+64); i+8 <= stop; i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])
		lf, cr := x^('\n'*ones), x^('\r'*ones)
		// a byte of lf or cr is zero where x has the terminator; the lowest
		// flagged byte is exact (a borrow only flags bytes above a zero one)
		if m := ((lf-ones)&^lf | (cr-ones)&^cr) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i+8 <= len(src) {
		return -1
	}
	for ; i < len(src); i++ {
		if c := src[i]; c == '\n' || c == '\r' {
			return i
		}
	}
	return len(src)
}

// indexFrom is the offset of the first c at or after from, or len(b).
func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return len(b)
}

// CountLines returns the number of lines LineReader finds in data.
func CountLines(data []byte) int {
	n := 0
	r := NewLineReader(data)
	for {
		if _, _, _, ok := r.Next(); !ok {
			return n
		}
		n++
	}
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
