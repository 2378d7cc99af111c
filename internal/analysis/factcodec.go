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
// times faster than parsing the source again. factsFormat changes with the
// layout: format 3 is columnar (see columns.go); formats 1 and 2 (one
// varint record after another, before and after references carried their
// SECTIONEXIST guards) are still read.
const factsFormat = 3

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

// decodeFacts reads facts in any stored layout: the columnar one
// (format 3) or the row one (formats 1 and 2, written before).
func decodeFacts(data []byte, lines []int) (*resolve.Facts, error) {
	r := &factReader{buf: data}
	format := r.uint()
	if r.err == nil && format == factsFormat {
		return decodeColumnFacts(r.buf, lines)
	}
	if r.err == nil && format != 2 && format != 1 {
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
