package analysis

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
	"github.com/veripost/veripost/internal/zpack"
)

// Packed is a File's stored form. The scalar fields of File are stored
// beside it as they are.
//
// Since format 3 every part (the facts the write path resolves from, the
// outline and sections the pages show, the packed tokens) is in Facts, as
// one zstd frame around columnar layouts (see columns.go): the parts are
// read together, and they compress better together (names repeat between
// them). Rows stored before have three flate streams (facts in their row
// layout, display as JSON, tokens as they were): a Facts part that does
// not start with zstd's magic number is read that way, so stored rows
// need no conversion.
type Packed struct {
	Facts   []byte
	Display []byte // rows stored before format 3 only
	Tokens  []byte // rows stored before format 3 only
}

// Formats inside the zstd frame (the first varint of each layout).
const (
	fileFormat    = 1
	displayFormat = 2
	tokensFormat  = 2
)

// Pack compresses f for storage.
func Pack(f *File) (Packed, error) {
	facts := f.Facts
	if facts == nil {
		facts = &resolve.Facts{}
	}
	var raw []byte
	if f.Tokens != nil { // empty but not nil comes back so too
		raw = encodeTokens(f.Tokens)
	}
	out := binary.AppendUvarint(nil, fileFormat)
	out = binary.AppendUvarint(out, uint64(len(raw)))
	out = append(out, raw...)
	if f.Outline != nil || len(f.Sections) > 0 {
		raw, err := encodeDisplay(f)
		if err != nil {
			return Packed{}, fmt.Errorf("encoding the outline of %s: %w", f.SHA256, err)
		}
		out = binary.AppendUvarint(out, uint64(len(raw)))
		out = append(out, raw...)
	} else {
		out = binary.AppendUvarint(out, 0)
	}
	raw, err := encodeFacts(facts, lineStarts(f.Tokens))
	if err != nil {
		return Packed{}, err
	}
	out = append(out, raw...)
	return Packed{Facts: compress(out)}, nil
}

// Unpack fills f's facts, outline, sections and tokens from p.
func Unpack(f *File, p Packed) error {
	if !isZstd(p.Facts) {
		return unpackLegacy(f, p)
	}
	raw, err := decompress(p.Facts)
	if err != nil {
		return err
	}
	r := &factReader{buf: raw}
	if format := r.uint(); r.err != nil || format != fileFormat {
		return fmt.Errorf("%w: stored analysis format %d, this build reads %d (run veripost reindex)", errCorruptPart, format, fileFormat)
	}
	tokens := r.bytes(r.uint())
	display := r.bytes(r.uint())
	if r.err != nil {
		return errCorruptPart
	}
	f.Tokens, f.Outline, f.Sections = nil, nil, nil
	if len(tokens) > 0 {
		if f.Tokens, err = decodeTokens(tokens); err != nil {
			return err
		}
	}
	if len(display) > 0 {
		if err := decodeDisplay(f, display); err != nil {
			return err
		}
		fillMeanings(f)
	}
	f.Facts, err = decodeFacts(r.buf, lineStarts(f.Tokens))
	return err
}

// unpackLegacy reads the three flate parts stored before format 3.
func unpackLegacy(f *File, p Packed) error {
	raw, err := inflate(p.Facts)
	if err != nil {
		return err
	}
	if f.Facts, err = decodeFacts(raw, nil); err != nil {
		return err
	}
	f.Outline, f.Sections, f.Tokens = nil, nil, nil
	if len(p.Display) > 0 {
		raw, err := inflate(p.Display)
		if err != nil {
			return err
		}
		var d legacyDisplay
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("decoding a stored outline: %w", err)
		}
		f.Outline, f.Sections = d.Outline, d.Sections
		fillMeanings(f)
	}
	if len(p.Tokens) > 0 {
		if f.Tokens, err = inflate(p.Tokens); err != nil {
			return err
		}
	}
	return nil
}

// fillMeanings puts back the catalogue's meaning of each section, which is
// not stored per content.
func fillMeanings(f *File) {
	if f.Outline != nil {
		for i := range f.Outline.Sections {
			f.Outline.Sections[i].Meaning = upg.SectionMeaning(f.Outline.Sections[i].Name)
		}
	}
}

// PackJSON stores v as compressed JSON (the package-level results).
func PackJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return compress(raw), nil
}

// UnpackJSON reads what PackJSON wrote into v (zstd, or flate before).
func UnpackJSON(b []byte, v any) error {
	raw, err := decompress(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// isZstd tells the parts written since zstd from the flate streams of
// before. A flate stream cannot start with zstd's magic number: 0x28
// opens a stored block whose length (0x2FB5) and its complement (0x??FD)
// differ.
func isZstd(b []byte) bool { return zpack.IsZstd(b) }

func compress(raw []byte) []byte { return zpack.Compress(raw) }

var errCorruptPart = errors.New("a stored analysis part is corrupt")

func decompress(b []byte) ([]byte, error) {
	if isZstd(b) {
		raw, err := zpack.Decompress(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errCorruptPart, err)
		}
		return raw, nil
	}
	return inflate(b)
}

func inflate(b []byte) ([]byte, error) {
	zr := flate.NewReader(bytes.NewReader(b))
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, zpack.MaxUnpacked+1))
	if err == nil && len(raw) > zpack.MaxUnpacked {
		err = errors.New("too large")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorruptPart, err)
	}
	return raw, nil
}

// legacyDisplay is the Display part as JSON, as stored before format 2.
type legacyDisplay struct {
	Outline  *upg.Outline `json:"outline,omitempty"`
	Sections []Section    `json:"sections,omitempty"`
}

// Columns of the Display part (format 2): the outline as JSON without its
// sections, the outline's sections in columns, then the file's sections.
// Those repeat the outline's sections (name, kind, lines, bytes) and add a
// content hash: when they do, only the hashes are stored.
const (
	dHead = iota
	dOutline
	dSecName
	dSecParams
	dSecKind
	dSecLine
	dSecEnd
	dSecOffset
	dSecSize
	dSecTemplate
	dSecCalc
	dSections
	dHeader
	dDefine
	dLibrary
	dAttrName
	dAttrCanonical
	dAttrType
	dAttrValue
	dAttrLine
	dOperation
	dColumns
)

// How the file's sections are stored (dHead).
const (
	sectionsNone   = 0 // nil
	sectionsHashes = 1 // the outline's sections, plus 8 bytes of hash each
	sectionsJSON   = 2 // as JSON (they do not follow the outline)
)

func encodeDisplay(f *File) ([]byte, error) {
	w := newColWriter(dColumns)
	if f.Outline == nil {
		w.uint(dHead, 0)
	} else {
		encodeOutline(w, f.Outline)
		secs := f.Outline.Sections
		if secs == nil {
			w.uint(dHead, 1)
		} else {
			w.uint(dHead, uint64(len(secs))+2)
		}
		prevLine, prevEnd := 0, 0
		for _, s := range secs {
			w.str(dSecName, s.Name)
			w.strs(dSecParams, s.Params)
			w.str(dSecKind, s.Kind)
			w.int(dSecLine, s.Line-prevLine)
			w.int(dSecEnd, s.EndLine-s.Line)
			w.int(dSecOffset, s.Offset-prevEnd)
			w.int(dSecSize, s.End-s.Offset)
			w.int(dSecTemplate, s.TemplateLines)
			w.int(dSecCalc, s.CalcLines)
			prevLine, prevEnd = s.Line, s.End
		}
	}
	switch {
	case f.Sections == nil:
		w.uint(dHead, sectionsNone)
	case sectionsFollowOutline(f):
		w.uint(dHead, sectionsHashes)
		for _, s := range f.Sections {
			h, _ := hex.DecodeString(s.ContentHash)
			w.cols[dSections] = append(w.cols[dSections], h...)
		}
	default:
		w.uint(dHead, sectionsJSON)
		b, err := json.Marshal(f.Sections)
		if err != nil {
			return nil, err
		}
		w.raw(dSections, b)
	}
	return w.bytes(displayFormat), nil
}

// sectionsFollowOutline reports whether f's sections are its outline's
// with an 8-byte hash each (as AnalyzeFile makes them).
func sectionsFollowOutline(f *File) bool {
	if f.Outline == nil || len(f.Outline.Sections) != len(f.Sections) {
		return false
	}
	for i, s := range f.Sections {
		o := f.Outline.Sections[i]
		h, err := hex.DecodeString(s.ContentHash)
		if err != nil || len(h) != 8 || hex.EncodeToString(h) != s.ContentHash || s != sectionOf(o, s.ContentHash) {
			return false
		}
	}
	return true
}

func sectionOf(o upg.OutlineSection, hash string) Section {
	return Section{Name: o.Name, Kind: o.Kind, StartLine: o.Line, EndLine: o.EndLine, StartByte: o.Offset, EndByte: o.End, ContentHash: hash}
}

func decodeDisplay(f *File, raw []byte) error {
	r := &factReader{buf: raw}
	if format := r.uint(); r.err != nil || format != displayFormat {
		return fmt.Errorf("%w: display format %d", errCorruptPart, format)
	}
	c, err := readColumns(r.buf, dColumns)
	if err != nil {
		return err
	}
	f.Outline, f.Sections = nil, nil
	if n := c.c[dHead].uint(); n > 0 {
		f.Outline = decodeOutline(c)
		if n > uint64(len(c.c[dSecName].buf))+2 {
			return errCorruptPart
		}
		if n >= 2 {
			f.Outline.Sections = make([]upg.OutlineSection, n-2)
		}
		line, end := 0, 0
		for i := range f.Outline.Sections {
			s := &f.Outline.Sections[i]
			s.Name = c.c[dSecName].str()
			s.Params = c.strs(dSecParams)
			s.Kind = c.c[dSecKind].str()
			line += c.c[dSecLine].int()
			s.Line, s.EndLine = line, line+c.c[dSecEnd].int()
			s.Offset = end + c.c[dSecOffset].int()
			s.End = s.Offset + c.c[dSecSize].int()
			s.TemplateLines, s.CalcLines = c.c[dSecTemplate].int(), c.c[dSecCalc].int()
			end = s.End
		}
	}
	switch c.c[dHead].uint() {
	case sectionsNone:
	case sectionsHashes:
		if f.Outline == nil || len(c.c[dSections].buf) != 8*len(f.Outline.Sections) {
			return errCorruptPart
		}
		f.Sections = make([]Section, len(f.Outline.Sections))
		for i, o := range f.Outline.Sections {
			f.Sections[i] = sectionOf(o, hex.EncodeToString(c.c[dSections].buf[8*i:8*i+8]))
		}
	case sectionsJSON:
		if err := json.Unmarshal(c.raw(dSections), &f.Sections); err != nil {
			return fmt.Errorf("%w: sections: %v", errCorruptPart, err)
		}
	default:
		return errCorruptPart
	}
	return c.err()
}

// encodeTokens splits a packed token stream (kind byte, length varint per
// token) into a column of kinds and one of lengths. A stream that is not
// one (it never happens, but stored bytes must come back as they were) is
// kept whole.
func encodeTokens(packed []byte) []byte {
	out := binary.AppendUvarint(nil, tokensFormat)
	kinds := make([]byte, 0, len(packed)/2)
	lens := make([]byte, 0, len(packed)/2)
	for i := 0; i < len(packed); {
		n, w := binary.Uvarint(packed[i+1:])
		if w <= 0 || (w > 1 && packed[i+w] == 0) { // malformed or not minimal
			out = append(out, 0)
			return append(out, packed...)
		}
		kinds = append(kinds, packed[i])
		lens = binary.AppendUvarint(lens, n)
		i += 1 + w
	}
	out = append(out, 1)
	out = binary.AppendUvarint(out, uint64(len(kinds)))
	out = append(out, kinds...)
	return append(out, lens...)
}

func decodeTokens(raw []byte) ([]byte, error) {
	r := &factReader{buf: raw}
	if format := r.uint(); r.err != nil || format != tokensFormat || len(r.buf) == 0 {
		return nil, fmt.Errorf("%w: tokens format", errCorruptPart)
	}
	mode := r.buf[0]
	r.buf = r.buf[1:]
	if mode == 0 {
		return r.buf, nil
	}
	n := r.count()
	kinds := r.bytes(uint64(n))
	if r.err != nil || mode != 1 {
		return nil, errCorruptPart
	}
	out := make([]byte, 0, n+len(r.buf))
	lens := r.buf
	for _, k := range kinds {
		_, w := binary.Uvarint(lens)
		if w <= 0 {
			return nil, errCorruptPart
		}
		out = append(out, k)
		out = append(out, lens[:w]...)
		lens = lens[w:]
	}
	if len(lens) != 0 {
		return nil, errCorruptPart
	}
	return out, nil
}

// encodeOutline writes the outline but its sections: a header of scalars
// and list lengths (0 for nil, else the length + 1), then each list's
// records in columns of their own, lines as deltas.
func encodeOutline(w *colWriter, o *upg.Outline) {
	h := dOutline
	w.str(h, o.File)
	w.str(h, string(o.Kind))
	w.int(h, o.ParserVersion)
	w.str(h, o.ControlFamily)
	w.str(h, o.System)
	w.int(h, o.Lines)
	w.int(h, o.Errors)
	w.int(h, o.Warnings)
	length := func(n int, isNil bool) {
		if isNil {
			w.uint(h, 0)
		} else {
			w.uint(h, uint64(n)+1)
		}
	}
	length(len(o.Headers), o.Headers == nil)
	length(len(o.Defines), o.Defines == nil)
	length(len(o.Libraries), o.Libraries == nil)
	length(len(o.Attributes), o.Attributes == nil)
	length(len(o.Operations), o.Operations == nil)
	line := 0
	for _, x := range o.Headers {
		w.str(dHeader, x.Name)
		w.str(dHeader, x.Value)
		w.int(dHeader, x.Line-line)
		w.uint(dHeader, boolBit(x.Known))
		line = x.Line
	}
	line = 0
	for _, x := range o.Defines {
		w.str(dDefine, x.Name)
		w.str(dDefine, x.Value)
		w.int(dDefine, x.Line-line)
		line = x.Line
	}
	line = 0
	for _, x := range o.Libraries {
		w.str(dLibrary, x.Directive)
		w.str(dLibrary, x.Path)
		w.strUnless(dLibrary, x.FileName, upg.BaseName(x.Path))
		w.int(dLibrary, x.Line-line)
		line = x.Line
	}
	line = 0
	for _, x := range o.Attributes {
		w.str(dAttrName, x.Name)
		w.strUnless(dAttrCanonical, x.Canonical, upg.CanonicalName(x.Name))
		w.str(dAttrType, x.Type)
		w.str(dAttrType, x.VType)
		w.str(dAttrType, x.CodeType)
		w.str(dAttrValue, x.Default)
		w.int(dAttrValue, x.ID)
		w.int(dAttrLine, x.Line-line)
		w.int(dAttrLine, x.EndLine-x.Line)
		w.uint(dAttrLine, boolBit(x.Terminated))
		line = x.Line
	}
	line = 0
	for _, x := range o.Operations {
		w.str(dOperation, x.ID)
		w.str(dOperation, x.Sub)
		w.strs(dOperation, x.List)
		w.int(dOperation, x.Line-line)
		w.int(dOperation, x.EndLine-x.Line)
		line = x.Line
	}
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// decodeOutline reads what encodeOutline wrote.
func decodeOutline(c *colReader) *upg.Outline {
	h := &c.c[dOutline]
	o := &upg.Outline{}
	o.File = h.str()
	o.Kind = upg.FileKind(h.str())
	o.ParserVersion = h.int()
	o.ControlFamily, o.System = h.str(), h.str()
	o.Lines, o.Errors, o.Warnings = h.int(), h.int(), h.int()
	// length reads a list length, nil or not, refusing lengths the list's
	// column cannot hold.
	length := func(col int) (int, bool) {
		n := h.uint()
		if n == 0 || h.err != nil {
			return 0, false
		}
		if n-1 > uint64(len(c.c[col].buf)) {
			h.err = errCorruptPart
			return 0, false
		}
		return int(n - 1), true
	}
	nh, okh := length(dHeader)
	nd, okd := length(dDefine)
	nl, okl := length(dLibrary)
	na, oka := length(dAttrName)
	no, oko := length(dOperation)
	if okh {
		o.Headers = make([]upg.OutlineHeader, nh)
	}
	if okd {
		o.Defines = make([]upg.OutlineDefine, nd)
	}
	if okl {
		o.Libraries = make([]upg.OutlineLibrary, nl)
	}
	if oka {
		o.Attributes = make([]upg.OutlineAttribute, na)
	}
	if oko {
		o.Operations = make([]upg.OutlineOperation, no)
	}
	line := 0
	for i := range o.Headers {
		r := &c.c[dHeader]
		x := &o.Headers[i]
		x.Name, x.Value = r.str(), r.str()
		line += r.int()
		x.Line, x.Known = line, r.uint() == 1
	}
	line = 0
	for i := range o.Defines {
		r := &c.c[dDefine]
		x := &o.Defines[i]
		x.Name, x.Value = r.str(), r.str()
		line += r.int()
		x.Line = line
	}
	line = 0
	for i := range o.Libraries {
		r := &c.c[dLibrary]
		x := &o.Libraries[i]
		x.Directive, x.Path = r.str(), r.str()
		x.FileName = r.strOr(upg.BaseName(x.Path))
		line += r.int()
		x.Line = line
	}
	line = 0
	for i := range o.Attributes {
		x := &o.Attributes[i]
		x.Name = c.c[dAttrName].str()
		x.Canonical = c.c[dAttrCanonical].strOr(upg.CanonicalName(x.Name))
		t := &c.c[dAttrType]
		x.Type, x.VType, x.CodeType = t.str(), t.str(), t.str()
		x.Default, x.ID = c.c[dAttrValue].str(), c.c[dAttrValue].int()
		l := &c.c[dAttrLine]
		line += l.int()
		x.Line = line
		x.EndLine = line + l.int()
		x.Terminated = l.uint() == 1
	}
	line = 0
	for i := range o.Operations {
		r := &c.c[dOperation]
		x := &o.Operations[i]
		x.ID, x.Sub = r.str(), r.str()
		x.List = c.strs(dOperation)
		line += r.int()
		x.Line = line
		x.EndLine = line + r.int()
	}
	return o
}
