package upg

import (
	"bytes"
	"io"
)

// Fprint writes the file back from its tree: line by line, token by token.
// For every file produced by Parse the output equals the input byte for byte.
func Fprint(w io.Writer, f *File) error {
	var buf bytes.Buffer
	buf.Grow(len(f.Src))
	for i := range f.Lines {
		ln := &f.Lines[i]
		off := ln.Offset
		for t, last := ln.FirstTok, lastTok(f.Lines, i, f.NumTokens()); t < last; t++ {
			end := off + f.toks.lenOf(t)
			buf.Write(f.Src[off:end])
			off = end
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Bytes returns the printed file (see Fprint).
func (f *File) Bytes() []byte {
	var buf bytes.Buffer
	_ = Fprint(&buf, f)
	return buf.Bytes()
}
