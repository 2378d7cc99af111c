package analysis

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// The stored parts are written column by column: each field of a record
// goes to its own stream of varints (positions as deltas from the previous
// record), and the streams follow one another. Alike values then sit side
// by side, which is what lets the compressor behind (zstd) shrink them
// several times more than the same records interleaved.

type colWriter struct {
	cols    [][]byte
	strings map[string]uint64
	table   []string
	firstBy map[int]int
}

func newColWriter(n int) *colWriter {
	return &colWriter{cols: make([][]byte, n), strings: map[string]uint64{}}
}

func (w *colWriter) uint(c int, v uint64) { w.cols[c] = binary.AppendUvarint(w.cols[c], v) }
func (w *colWriter) int(c int, v int)     { w.cols[c] = binary.AppendVarint(w.cols[c], int64(v)) }
func (w *colWriter) byte(c int, b byte)   { w.cols[c] = append(w.cols[c], b) }
func (w *colWriter) raw(c int, b []byte) {
	w.uint(c, uint64(len(b)))
	w.cols[c] = append(w.cols[c], b...)
}

// str writes a string-table index.
func (w *colWriter) str(c int, s string) {
	i, ok := w.strings[s]
	if !ok {
		i = uint64(len(w.table))
		w.strings[s] = i
		w.table = append(w.table, s)
		if w.firstBy != nil {
			w.firstBy[c] += len(s) + 1
		}
	}
	w.uint(c, i)
}

// strs writes a list that may be nil: 0 for nil, else its length + 1.
// strUnless writes s to column c, or only a 0 when s is derived, the value
// the reader works out by itself (strOr).
func (w *colWriter) strUnless(c int, s, derived string) {
	if s == derived {
		w.uint(c, 0)
		return
	}
	w.uint(c, 1)
	w.str(c, s)
}

func (w *colWriter) strs(c int, ss []string) {
	if ss == nil {
		w.uint(c, 0)
		return
	}
	w.uint(c, uint64(len(ss))+1)
	for _, s := range ss {
		w.str(c, s)
	}
}

// bytes lays the writer out: format, string table, column lengths, columns.
func (w *colWriter) bytes(format uint64) []byte {
	n := 16
	for _, c := range w.cols {
		n += len(c) + 3
	}
	for _, s := range w.table {
		n += len(s) + 2
	}
	out := make([]byte, 0, n)
	out = binary.AppendUvarint(out, format)
	out = binary.AppendUvarint(out, uint64(len(w.table)))
	for _, s := range w.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
	}
	for _, s := range w.table {
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(len(w.cols)))
	for _, c := range w.cols {
		out = binary.AppendUvarint(out, uint64(len(c)))
	}
	for _, c := range w.cols {
		out = append(out, c...)
	}
	return out
}

// colReader reads what colWriter wrote (after the format), each column
// with a factReader of its own sharing the string table. Errors stick.
type colReader struct {
	c []factReader
}

// strOr reads what colWriter.strUnless wrote: the string, or derived.
func (r *factReader) strOr(derived string) string {
	if r.uint() == 0 {
		return derived
	}
	return r.str()
}

func readColumns(data []byte, want int) (*colReader, error) {
	r := &factReader{buf: data}
	nstr := r.count()
	lens := make([]uint64, nstr)
	for i := range lens {
		lens[i] = r.uint()
	}
	table := make([]string, nstr)
	for i := range table {
		table[i] = string(r.bytes(lens[i]))
	}
	ncol := r.count()
	if r.err == nil && ncol != want {
		return nil, fmt.Errorf("%w: %d columns, want %d", errCorruptFacts, ncol, want)
	}
	clens := make([]uint64, ncol)
	for i := range clens {
		clens[i] = r.uint()
	}
	cr := &colReader{c: make([]factReader, ncol)}
	for i := range cr.c {
		cr.c[i] = factReader{buf: r.bytes(clens[i]), table: table}
	}
	if r.err != nil {
		return nil, r.err
	}
	return cr, nil
}

// count reads a record count from column c, refusing counts column per
// (where every record takes at least a byte) cannot hold.
func (r *colReader) count(c, per int) int {
	n := r.c[c].uint()
	if r.c[c].err == nil && n > uint64(len(r.c[per].buf)) {
		r.c[c].err = errCorruptFacts
	}
	if r.c[c].err != nil {
		return 0
	}
	return int(n)
}

func (r *colReader) strs(c int) []string {
	n := r.c[c].uint()
	if n == 0 || r.c[c].err != nil {
		return nil
	}
	n--
	if n > uint64(len(r.c[c].buf)) {
		r.c[c].err = errCorruptFacts
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.c[c].str()
	}
	return out
}

func (r *colReader) raw(c int) []byte { return r.c[c].bytes(r.c[c].uint()) }

func (r *colReader) err() error {
	for i := range r.c {
		if r.c[i].err != nil {
			return r.c[i].err
		}
	}
	return nil
}

// Columns of the facts (format 3).
const (
	fHead = iota
	fSide
	fInclude
	fDefName
	fDefCanonical
	fDefKind
	fDefFile
	fDefLine
	fDefCol
	fDefOffset
	fDefEnd
	fDefParams
	fDefType
	fDefFlags
	fRefName
	fRefTarget
	fRefContext
	fRefLine
	fRefCol
	fRefOffset
	fRefSection
	fRefFlags
	fRefArgs
	fRefAttribute
	fRefGuards
	fDiag
	fColumns
)

// Flags of a reference (fRefFlags).
const (
	refParam = 1 << iota
	refGuarded
)

// encodeFacts writes facts in the columnar layout. A definition's
// canonical name and a reference's enclosing section are stored only when
// they differ from what follows from the rest (the name, the sections'
// lines), which they almost never do.
// lines are where the file's lines start (from its tokens; nil when it
// has none): an offset is then stored as how far it is from where its line
// and column put it, mostly 0.
func encodeFacts(f *resolve.Facts, lines []int) ([]byte, error) {
	w := newColWriter(fColumns)
	if err := encodeFactsInto(w, f, lines); err != nil {
		return nil, err
	}
	return w.bytes(factsFormat), nil
}

func encodeFactsInto(w *colWriter, f *resolve.Facts, lines []int) error {
	w.str(fHead, string(f.Kind))
	w.int(fHead, f.Size)
	flags := uint64(0)
	for i, b := range []bool{f.Binary, f.Source, f.MachineName != nil, f.ControllerType != nil, f.Side != nil} {
		if b {
			flags |= 1 << i
		}
	}
	w.uint(fHead, flags)
	w.int(fHead, f.Lines)
	w.str(fHead, f.ControlFamily)
	w.str(fHead, f.System)
	if f.MachineName != nil {
		w.str(fHead, *f.MachineName)
	}
	if f.ControllerType != nil {
		w.str(fHead, *f.ControllerType)
	}
	if f.Side != nil {
		side, err := json.Marshal(f.Side)
		if err != nil {
			return err
		}
		w.raw(fSide, side)
	}
	w.uint(fHead, uint64(len(f.Includes)))
	for _, in := range f.Includes {
		w.str(fInclude, in.Path)
		lib := 0
		if in.Library {
			lib = 1
		}
		w.uint(fInclude, uint64(lib))
		w.int(fInclude, in.Line)
		w.int(fInclude, in.Col)
		w.int(fInclude, in.Offset)
		w.int(fInclude, in.End-in.Offset)
	}
	w.uint(fHead, uint64(len(f.Definitions)))
	prevLine, prevOff := 0, 0
	for _, d := range f.Definitions {
		w.str(fDefName, d.Name)
		w.strUnless(fDefCanonical, d.Canonical, upg.CanonicalName(d.Name))
		w.str(fDefKind, d.Kind)
		w.str(fDefFile, d.File)
		w.int(fDefLine, d.Line-prevLine)
		w.int(fDefCol, d.Col)
		if at, ok := offsetAt(lines, d.Line, d.Col); ok {
			w.int(fDefOffset, d.Offset-at)
		} else {
			w.int(fDefOffset, d.Offset-prevOff)
		}
		w.int(fDefEnd, d.EndLine-d.Line)
		w.strs(fDefParams, d.Params)
		w.str(fDefType, d.Type)
		if d.Overridden {
			w.byte(fDefFlags, 1)
		} else {
			w.byte(fDefFlags, 0)
		}
		prevLine, prevOff = d.Line, d.Offset
	}
	sections := sectionRangesOf(f.Definitions)
	w.uint(fHead, uint64(len(f.References)))
	prevLine, prevOff, prevCol := 0, 0, 0
	for _, r := range f.References {
		w.str(fRefName, r.Name)
		w.str(fRefTarget, r.Target)
		w.str(fRefContext, r.Context)
		// On the line of the previous reference, the column moves as far
		// as the offset does: store the column's move and what the
		// offset's differs from it (mostly 0).
		w.int(fRefLine, r.Line-prevLine)
		if r.Line == prevLine {
			w.int(fRefCol, r.Col-prevCol)
		} else {
			w.int(fRefCol, r.Col)
		}
		if at, ok := offsetAt(lines, r.Line, r.Col); ok {
			w.int(fRefOffset, r.Offset-at)
		} else if r.Line == prevLine {
			w.int(fRefOffset, (r.Offset-prevOff)-(r.Col-prevCol))
		} else {
			w.int(fRefOffset, r.Offset-prevOff)
		}
		prevLine, prevOff, prevCol = r.Line, r.Offset, r.Col
		w.strUnless(fRefSection, r.Section, sections.At(r.Line))
		var fl byte
		if r.Param {
			fl |= refParam
		}
		if r.Guarded {
			fl |= refGuarded
		}
		w.byte(fRefFlags, fl)
		w.int(fRefArgs, r.Args)
		w.str(fRefAttribute, r.Attribute)
		w.uint(fRefGuards, uint64(len(r.Guards)))
		for _, g := range r.Guards {
			w.str(fRefGuards, g.Section)
			ex := uint64(0)
			if g.Exists {
				ex = 1
			}
			w.uint(fRefGuards, ex)
		}
	}
	w.uint(fHead, uint64(len(f.Diagnostics)))
	for _, d := range f.Diagnostics {
		w.str(fDiag, d.Code)
		w.uint(fDiag, uint64(d.Severity))
		w.str(fDiag, d.File)
		w.int(fDiag, d.Line)
		w.int(fDiag, d.Col)
		w.int(fDiag, d.Offset)
		w.int(fDiag, d.End-d.Offset)
		w.str(fDiag, d.Message)
		w.str(fDiag, d.Subject)
	}
	return nil
}

// decodeColumnFacts reads what encodeFacts wrote (after the format).
func decodeColumnFacts(data []byte, lines []int) (*resolve.Facts, error) {
	r, err := readColumns(data, fColumns)
	if err != nil {
		return nil, err
	}
	h := &r.c[fHead]
	f := &resolve.Facts{}
	f.Kind = upg.FileKind(h.str())
	f.Size = h.int()
	flags := h.uint()
	f.Binary, f.Source = flags&1 != 0, flags&2 != 0
	f.Lines = h.int()
	f.ControlFamily = h.str()
	f.System = h.str()
	if flags&4 != 0 {
		s := h.str()
		f.MachineName = &s
	}
	if flags&8 != 0 {
		s := h.str()
		f.ControllerType = &s
	}
	var side []byte
	if flags&16 != 0 {
		side = r.raw(fSide)
	}
	if n := r.count(fHead, fInclude); n > 0 {
		c := &r.c[fInclude]
		f.Includes = make([]resolve.IncludeFact, n)
		for i := range f.Includes {
			in := &f.Includes[i]
			in.Path, in.Library = c.str(), c.uint() == 1
			in.Line, in.Col, in.Offset = c.int(), c.int(), c.int()
			in.End = in.Offset + c.int()
		}
	}
	if n := r.count(fHead, fDefName); n > 0 {
		f.Definitions = make([]resolve.Definition, n)
		line, off := 0, 0
		for i := range f.Definitions {
			d := &f.Definitions[i]
			d.Name = r.c[fDefName].str()
			d.Canonical = r.c[fDefCanonical].strOr(upg.CanonicalName(d.Name))
			d.Kind, d.File = r.c[fDefKind].str(), r.c[fDefFile].str()
			line += r.c[fDefLine].int()
			d.Line, d.Col = line, r.c[fDefCol].int()
			if at, ok := offsetAt(lines, d.Line, d.Col); ok {
				off = at + r.c[fDefOffset].int()
			} else {
				off += r.c[fDefOffset].int()
			}
			d.Offset = off
			d.EndLine = line + r.c[fDefEnd].int()
			d.Params = r.strs(fDefParams)
			d.Type = r.c[fDefType].str()
			d.Overridden = r.c[fDefFlags].uint() == 1
		}
	}
	if n := r.count(fHead, fRefName); n > 0 {
		sections := sectionRangesOf(f.Definitions)
		f.References = make([]upg.Ref, n)
		line, off, col := 0, 0, 0
		for i := range f.References {
			x := &f.References[i]
			x.Name, x.Target, x.Context = r.c[fRefName].str(), r.c[fRefTarget].str(), r.c[fRefContext].str()
			dl, dc := r.c[fRefLine].int(), 0
			if line += dl; dl == 0 {
				dc = r.c[fRefCol].int()
				col += dc
			} else {
				col = r.c[fRefCol].int()
			}
			if at, ok := offsetAt(lines, line, col); ok {
				off = at + r.c[fRefOffset].int()
			} else if dl == 0 {
				off += dc + r.c[fRefOffset].int()
			} else {
				off += r.c[fRefOffset].int()
			}
			x.Line, x.Col, x.Offset = line, col, off
			x.Section = r.c[fRefSection].strOr(sections.At(line))
			fl := r.c[fRefFlags].uint()
			x.Param, x.Guarded = fl&refParam != 0, fl&refGuarded != 0
			x.Args, x.Attribute = r.c[fRefArgs].int(), r.c[fRefAttribute].str()
			if ng := r.count(fRefGuards, fRefGuards); ng > 0 {
				x.Guards = make([]upg.Guard, ng)
				for j := range x.Guards {
					x.Guards[j] = upg.Guard{Section: r.c[fRefGuards].str(), Exists: r.c[fRefGuards].uint() == 1}
				}
			}
			if r.c[fRefName].err != nil {
				break
			}
		}
	}
	if n := r.count(fHead, fDiag); n > 0 {
		c := &r.c[fDiag]
		f.Diagnostics = make([]upg.Diagnostic, n)
		for i := range f.Diagnostics {
			d := &f.Diagnostics[i]
			d.Code, d.Severity, d.File = c.str(), upg.Severity(c.uint()), c.str()
			d.Line, d.Col, d.Offset = c.int(), c.int(), c.int()
			d.End = d.Offset + c.int()
			d.Message, d.Subject = c.str(), c.str()
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	if len(side) > 0 {
		f.Side = &resolve.SideFile{}
		if err := json.Unmarshal(side, f.Side); err != nil {
			return nil, fmt.Errorf("%w: side file: %v", errCorruptFacts, err)
		}
	}
	return f, nil
}

// lineStarts lists the offset of each line (the first at 0) of a packed
// token stream, nil when there are no tokens.
func lineStarts(tokens []byte) []int {
	if len(tokens) == 0 {
		return nil
	}
	out := []int{0}
	for _, t := range Tokens(tokens) {
		if t.Kind == upg.TokEOL {
			out = append(out, t.End)
		}
	}
	return out
}

// offsetAt is the offset of a (1-based) line and byte column, when lines
// knows the line.
func offsetAt(lines []int, line, col int) (int, bool) {
	if line < 1 || line > len(lines) {
		return 0, false
	}
	return lines[line-1] + col - 1, true
}
