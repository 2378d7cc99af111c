package diff

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/veripost/veripost/internal/textfile"
)

// Apply rebuilds side B's bytes of a file from side A's bytes and the
// file's diff (computed without ignore options, with hunks). It checks
// every context and deleted line against a, so a diff that does not
// belong to a is refused rather than applied wrongly.
func Apply(a []byte, fd *FileDiff) ([]byte, error) {
	if fd.B == nil {
		return nil, nil
	}
	if fd.A != nil && fd.A.SHA256 == fd.B.SHA256 {
		return bytes.Clone(a), nil
	}
	if fd.Binary || fd.TooLarge {
		return nil, errors.New("diff: no line diff for this file (binary or too large)")
	}
	var ta *text
	if fd.A != nil {
		ta = splitText(a, textfile.Inspect(a).Encoding, nil)
	} else {
		ta = &text{}
	}
	type outLine struct {
		text string
		cr   bool
		raw  []byte
	}
	out := make([]outLine, 0, fd.B.Lines)
	copyA := func(i int) {
		out = append(out, outLine{text: ta.lines[i], cr: ta.cr[i], raw: ta.raw[i]})
	}
	next := 0 // next line of a to copy (0-based)
	for hi, h := range fd.Hunks {
		first := h.AStart - 1
		if h.ALines == 0 {
			first = h.AStart
		}
		if first < next || first > len(ta.lines) {
			return nil, fmt.Errorf("diff: hunk %d starts at line %d, outside the file", hi+1, h.AStart)
		}
		for ; next < first; next++ {
			copyA(next)
		}
		for _, l := range h.Lines {
			switch l.Op {
			case OpContext, OpDelete:
				if next >= len(ta.lines) || ta.lines[next] != l.Text {
					return nil, fmt.Errorf("diff: hunk %d: line %d of side A does not match", hi+1, next+1)
				}
				if l.Op == OpContext {
					copyA(next)
				}
				next++
			case OpInsert:
				out = append(out, outLine{text: l.Text, cr: l.CR, raw: l.Raw})
			}
		}
	}
	for ; next < len(ta.lines); next++ {
		copyA(next)
	}
	eol := "\n"
	if fd.B.LineEnding == "CRLF" {
		eol = "\r\n"
	}
	var buf bytes.Buffer
	for i, l := range out {
		if l.raw != nil {
			buf.Write(l.raw)
		} else {
			b, err := textfile.Encode(l.text, fd.B.Encoding)
			if err != nil {
				return nil, fmt.Errorf("diff: line %d: %w", i+1, err)
			}
			buf.Write(b)
		}
		if i == len(out)-1 && !fd.B.NewlineAtEnd {
			break
		}
		switch {
		case !fd.PerLineEOL:
			buf.WriteString(eol)
		case l.cr:
			buf.WriteString("\r\n")
		default:
			buf.WriteString("\n")
		}
	}
	return buf.Bytes(), nil
}
