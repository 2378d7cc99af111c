package web

import (
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/textfile"
)

// lineTextMax is how much of a line is shown beside an occurrence.
const lineTextMax = 160

// lineTexts holds the text of some lines of stored contents, by SHA-256
// and line number, for showing each occurrence of a name with its line.
type lineTexts map[string]map[int]string

// Of is the text of an occurrence's line ("" when it could not be read).
func (lt lineTexts) Of(o index.SymbolOccurrence) string { return lt[o.SHA256][o.Line] }

// readLines reads the lines the occurrences are on: each content once (a
// blob's key is its SHA-256), line by line as the parser splits them. A
// content that cannot be read, or is not text, leaves its lines out: the
// page still lists the occurrences.
func (u *UI) readLines(r *http.Request, occ []index.SymbolOccurrence) lineTexts {
	want := map[string]map[int]bool{}
	for _, o := range occ {
		if o.SHA256 == "" || o.Line <= 0 {
			continue
		}
		if want[o.SHA256] == nil {
			want[o.SHA256] = map[int]bool{}
		}
		want[o.SHA256][o.Line] = true
	}
	out := lineTexts{}
	for sha, lines := range want {
		src, err := u.readContent(r, sha)
		if err != nil {
			if r.Context().Err() == nil {
				u.Log.WarnContext(r.Context(), "reading lines for the occurrences failed; they are listed without their text", "sha256", sha, "err", err)
			}
			continue
		}
		if textfile.IsBinary(src) {
			continue
		}
		win1252 := textfile.Inspect(src).Encoding == textfile.Windows1252
		got := map[int]string{}
		lr := textfile.NewLineReader(src)
		for n := 1; len(got) < len(lines); n++ {
			start, end, _, ok := lr.Next()
			if !ok {
				break
			}
			if lines[n] {
				got[n] = lineText(src[start:end], win1252)
			}
		}
		out[sha] = got
	}
	return out
}

func (u *UI) readContent(r *http.Request, sha string) ([]byte, error) {
	obj, err := u.Blobs.Open(r.Context(), sha)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(io.LimitReader(obj, maxDisplayBytes+1))
}

// lineText is a line as shown beside an occurrence: decoded, control
// bytes and runs of blanks as one space, at most lineTextMax characters.
func lineText(b []byte, win1252 bool) string {
	s := string(b)
	if win1252 {
		s = textfile.Decode(b, textfile.Windows1252)
	}
	var sb strings.Builder
	blank := false
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError {
			c = ' '
		}
		if c == ' ' {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		if n == lineTextMax {
			sb.WriteString("…")
			break
		}
		sb.WriteRune(c)
		n++
	}
	return sb.String()
}
