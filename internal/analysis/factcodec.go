package analysis

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// The facts of a file are what the write path reads back most (every
// upload of a package that shares a library resolves against the library's
// stored facts), so they have a compact binary form that decodes several
// times faster than parsing the source again: a string table followed by
// varint-encoded records. factsFormat changes with the layout; format 1
// (before references carried their SECTIONEXIST guards) is still read.
const factsFormat = 2

type factWriter struct {
	buf     []byte
	strings map[string]uint64
	table   []string
}

func (w *factWriter) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *factWriter) int(v int)     { w.buf = binary.AppendVarint(w.buf, int64(v)) }
func (w *factWriter) bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *factWriter) str(s string) {
	i, ok := w.strings[s]
	if !ok {
		i = uint64(len(w.table))
		w.strings[s] = i
		w.table = append(w.table, s)
	}
	w.uint(i)
}

func (w *factWriter) optStr(s *string) {
	w.bool(s != nil)
	if s != nil {
		w.str(*s)
	}
}

func (w *factWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// encodeFacts writes facts in the compact form.
func encodeFacts(f *resolve.Facts) ([]byte, error) {
	w := &factWriter{strings: map[string]uint64{}}
	w.str(string(f.Kind))
	w.int(f.Size)
	w.bool(f.Binary)
	w.bool(f.Source)
	w.int(f.Lines)
	w.str(f.ControlFamily)
	w.str(f.System)
	w.optStr(f.MachineName)
	w.optStr(f.ControllerType)
	w.uint(uint64(len(f.Includes)))
	for _, in := range f.Includes {
		w.str(in.Path)
		w.bool(in.Library)
		w.int(in.Line)
		w.int(in.Col)
		w.int(in.Offset)
		w.int(in.End)
	}
	w.uint(uint64(len(f.Definitions)))
	for _, d := range f.Definitions {
		w.str(d.Name)
		w.str(d.Canonical)
		w.str(d.Kind)
		w.str(d.File)
		w.int(d.Line)
		w.int(d.Col)
		w.int(d.Offset)
		w.int(d.EndLine)
		w.bool(d.Params != nil)
		w.strs(d.Params)
		w.str(d.Type)
		w.bool(d.Overridden)
	}
	w.uint(uint64(len(f.References)))
	for _, r := range f.References {
		w.str(r.Name)
		w.str(r.Target)
		w.str(r.Context)
		w.int(r.Offset)
		w.int(r.Line)
		w.int(r.Col)
		w.str(r.Section)
		w.bool(r.Param)
		w.bool(r.Guarded)
		w.int(r.Args)
		w.str(r.Attribute)
		w.uint(uint64(len(r.Guards)))
		for _, g := range r.Guards {
			w.str(g.Section)
			w.bool(g.Exists)
		}
	}
	w.uint(uint64(len(f.Diagnostics)))
	for _, d := range f.Diagnostics {
		w.str(d.Code)
		w.uint(uint64(d.Severity))
		w.str(d.File)
		w.int(d.Line)
		w.int(d.Col)
		w.int(d.Offset)
		w.int(d.End)
		w.str(d.Message)
	}
	side := []byte{}
	if f.Side != nil {
		var err error
		if side, err = json.Marshal(f.Side); err != nil {
			return nil, err
		}
	}
	// Layout: format, string table, side-file JSON, records.
	out := binary.AppendUvarint(nil, factsFormat)
	out = binary.AppendUvarint(out, uint64(len(w.table)))
	for _, s := range w.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(len(side)))
	out = append(out, side...)
	return append(out, w.buf...), nil
}

var errCorruptFacts = errors.New("stored facts are corrupt")

type factReader struct {
	buf   []byte
	table []string
	err   error
}

func (r *factReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = errCorruptFacts
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *factReader) int() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.err = errCorruptFacts
		return 0
	}
	r.buf = r.buf[n:]
	return int(v)
}

func (r *factReader) bool() bool {
	if r.err != nil || len(r.buf) == 0 {
		r.err = errCorruptFacts
		return false
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b == 1
}

func (r *factReader) str() string {
	i := r.uint()
	if r.err == nil && i >= uint64(len(r.table)) {
		r.err = errCorruptFacts
	}
	if r.err != nil {
		return ""
	}
	return r.table[i]
}

func (r *factReader) optStr() *string {
	if !r.bool() {
		return nil
	}
	s := r.str()
	return &s
}

// count reads a record count, refusing counts the remaining bytes cannot hold.
func (r *factReader) count() int {
	n := r.uint()
	if r.err == nil && n > uint64(len(r.buf)) {
		r.err = errCorruptFacts
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *factReader) bytes(n uint64) []byte {
	if r.err == nil && n > uint64(len(r.buf)) {
		r.err = errCorruptFacts
	}
	if r.err != nil {
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

// decodeFacts reads facts written by encodeFacts.
func decodeFacts(data []byte) (*resolve.Facts, error) {
	r := &factReader{buf: data}
	format := r.uint()
	if r.err == nil && format != factsFormat && format != 1 {
		return nil, fmt.Errorf("stored facts have format %d, this build reads %d (run veripost reindex)", format, factsFormat)
	}
	nstr := r.count()
	r.table = make([]string, nstr)
	for i := range r.table {
		r.table[i] = string(r.bytes(r.uint()))
	}
	side := r.bytes(r.uint())
	f := &resolve.Facts{}
	f.Kind = upg.FileKind(r.str())
	f.Size = r.int()
	f.Binary = r.bool()
	f.Source = r.bool()
	f.Lines = r.int()
	f.ControlFamily = r.str()
	f.System = r.str()
	f.MachineName = r.optStr()
	f.ControllerType = r.optStr()
	if n := r.count(); n > 0 {
		f.Includes = make([]resolve.IncludeFact, n)
		for i := range f.Includes {
			in := &f.Includes[i]
			in.Path, in.Library = r.str(), r.bool()
			in.Line, in.Col, in.Offset, in.End = r.int(), r.int(), r.int(), r.int()
		}
	}
	if n := r.count(); n > 0 {
		f.Definitions = make([]resolve.Definition, n)
		for i := range f.Definitions {
			d := &f.Definitions[i]
			d.Name, d.Canonical, d.Kind, d.File = r.str(), r.str(), r.str(), r.str()
			d.Line, d.Col, d.Offset, d.EndLine = r.int(), r.int(), r.int(), r.int()
			hasParams := r.bool()
			if np := r.count(); hasParams {
				d.Params = make([]string, np)
				for j := range d.Params {
					d.Params[j] = r.str()
				}
			}
			d.Type, d.Overridden = r.str(), r.bool()
		}
	}
	if n := r.count(); n > 0 {
		f.References = make([]upg.Ref, n)
		for i := range f.References {
			x := &f.References[i]
			x.Name, x.Target, x.Context = r.str(), r.str(), r.str()
			x.Offset, x.Line, x.Col = r.int(), r.int(), r.int()
			x.Section, x.Param, x.Guarded = r.str(), r.bool(), r.bool()
			x.Args, x.Attribute = r.int(), r.str()
			if format >= 2 {
				if ng := r.count(); ng > 0 {
					x.Guards = make([]upg.Guard, ng)
					for j := range x.Guards {
						x.Guards[j] = upg.Guard{Section: r.str(), Exists: r.bool()}
					}
				}
			}
		}
	}
	if n := r.count(); n > 0 {
		f.Diagnostics = make([]upg.Diagnostic, n)
		for i := range f.Diagnostics {
			d := &f.Diagnostics[i]
			d.Code, d.Severity, d.File = r.str(), upg.Severity(r.uint()), r.str()
			d.Line, d.Col, d.Offset, d.End = r.int(), r.int(), r.int(), r.int()
			d.Message = r.str()
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(side) > 0 {
		f.Side = &resolve.SideFile{}
		if err := json.Unmarshal(side, f.Side); err != nil {
			return nil, fmt.Errorf("%w: side file: %v", errCorruptFacts, err)
		}
	}
	return f, nil
}
