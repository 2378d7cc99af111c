package analysis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// Roles of a symbol occurrence.
const (
	RoleDefinition = "definition"
	RoleReference  = "reference"
)

// Occurrence is one definition of, or reference to, a name in a file.
type Occurrence struct {
	Name    string `json:"name"`    // as written
	Kind    string `json:"kind"`    // attribute, section, define, operation
	Role    string `json:"role"`    // RoleDefinition or RoleReference
	Context string `json:"context"` // for references: token, expr, call, var … (upg.Ref*)
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Section string `json:"section,omitempty"` // enclosing section
}

// SymbolGroup is every occurrence of one name (by canonical form) in a
// file: the unit of the symbol index.
type SymbolGroup struct {
	Canonical   string
	Definitions int
	Uses        int
	Occurrences []Occurrence // definitions first, then uses, each in source order
}

// Symbols groups the file's definitions and references by canonical name,
// sorted by name.
func (f *File) Symbols() []SymbolGroup {
	if f.Facts == nil {
		return nil
	}
	groups := map[string]*SymbolGroup{}
	get := func(canonical string) *SymbolGroup {
		g := groups[canonical]
		if g == nil {
			g = &SymbolGroup{Canonical: canonical}
			groups[canonical] = g
		}
		return g
	}
	sections := f.SectionRanges()
	for _, d := range f.Facts.Definitions {
		g := get(upg.CanonicalName(d.Name))
		g.Definitions++
		g.Occurrences = append(g.Occurrences, Occurrence{Name: d.Name, Kind: d.Kind, Role: RoleDefinition, Line: d.Line, Col: d.Col, Section: sections.of(d.Kind, RoleDefinition, d.Line)})
	}
	for _, r := range f.Facts.References {
		kind := resolve.KindAttribute
		if r.Target == upg.TargetSection {
			kind = resolve.KindSection
		}
		g := get(upg.CanonicalName(r.Name))
		g.Uses++
		g.Occurrences = append(g.Occurrences, Occurrence{Name: r.Name, Kind: kind, Role: RoleReference, Context: r.Context, Line: r.Line, Col: r.Col, Section: sections.of(kind, RoleReference, r.Line)})
	}
	out := make([]SymbolGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Canonical < out[j].Canonical })
	return out
}

// SectionRange is where a section's lines are.
type SectionRange struct {
	Name     string
	From, To int // first and last line
}

// SectionRanges lists where the file's sections are, in order. Stored
// beside the symbol index, it says which section an occurrence sits in, so
// the index need not repeat section names per occurrence.
type SectionRanges []SectionRange

// SectionRanges returns the file's section ranges.
func (f *File) SectionRanges() SectionRanges {
	if f.Facts == nil {
		return nil
	}
	return sectionRangesOf(f.Facts.Definitions)
}

// sectionRangesOf returns where the sections among these definitions are.
func sectionRangesOf(defs []resolve.Definition) SectionRanges {
	var out SectionRanges
	for _, d := range defs {
		if d.Kind == resolve.KindSection {
			out = append(out, SectionRange{Name: d.Name, From: d.Line, To: max(d.EndLine, d.Line)})
		}
	}
	return out
}

// At returns the section whose lines include line, "" outside sections.
func (r SectionRanges) At(line int) string {
	i := sort.Search(len(r), func(i int) bool { return r[i].To >= line })
	if i < len(r) && r[i].From <= line {
		return r[i].Name
	}
	return ""
}

// of is the enclosing section of an occurrence (a section's own definition
// has none).
func (r SectionRanges) of(kind, role string, line int) string {
	if kind == resolve.KindSection && role == RoleDefinition {
		return ""
	}
	return r.At(line)
}

// PackSectionRanges encodes ranges for storage: varints in a zstd frame
// (before, without one; UnpackSectionRanges reads both).
func PackSectionRanges(r SectionRanges) []byte {
	if len(r) == 0 {
		return nil
	}
	var out []byte
	prev := 0
	for _, s := range r {
		out = binary.AppendUvarint(out, uint64(len(s.Name)))
		out = append(out, s.Name...)
		out = binary.AppendVarint(out, int64(s.From-prev))
		out = binary.AppendUvarint(out, uint64(s.To-s.From))
		prev = s.To
	}
	return compress(out)
}

// UnpackSectionRanges decodes what PackSectionRanges wrote. A section
// name is an identifier, so the ranges stored before (which start with the
// first name's length and bytes) never start with zstd's magic number.
func UnpackSectionRanges(b []byte) (SectionRanges, error) {
	if isZstd(b) {
		var err error
		if b, err = decompress(b); err != nil {
			return nil, errCorruptOccurrences
		}
	}
	r := &factReader{buf: b}
	var out SectionRanges
	prev := 0
	for r.err == nil && len(r.buf) > 0 {
		name := string(r.bytes(r.uint()))
		from := prev + r.int()
		to := from + int(r.uint())
		out = append(out, SectionRange{Name: name, From: from, To: to})
		prev = to
	}
	if r.err != nil {
		return nil, errCorruptOccurrences
	}
	return out, nil
}

// Occurrences are stored packed, per (name, content) row of the symbol
// index: a head byte (role, a differently written name, kind, context),
// then varints for the line (as a delta) and column. Enclosing sections are
// not stored: they follow from the line and the content's SectionRanges. A
// kind or context outside the small enumerations, and names written
// differently from their canonical form, go into a string table in front.
// Format 1 (before migration 00120) spent a second byte per occurrence on
// the context; the migration converts between the two.
var (
	occKinds    = []string{resolve.KindAttribute, resolve.KindSection, resolve.KindDefine, resolve.KindOperation}
	occContexts = []string{"", upg.RefToken, upg.RefExpr, upg.RefAssign, upg.RefCall, upg.RefSectionArg, upg.RefSectionExist,
		upg.RefVar, upg.RefVarB, upg.RefAttrList, upg.RefOperList, upg.RefAttrCFunc, upg.RefAttrCFuncArg, upg.RefAttrFunc, upg.RefCommand}
)

// Occurrence formats (see PackOccurrencesFormat).
const (
	OccurrencesFormat1 = 1 // head and context bytes
	OccurrencesFormat2 = 2 // one head byte: the current format
)

const (
	occOther  = 0x3F // format 1, kind or context: the value follows as a string-table index
	occEscape = 0x0F // format 2, context bits: kind and context follow as string-table indexes
)

func indexOf(list []string, s string, other int) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return other
}

// PackOccurrences encodes a group's occurrences for the symbol index.
func PackOccurrences(canonical string, occ []Occurrence) []byte {
	return PackOccurrencesFormat(OccurrencesFormat2, canonical, occ)
}

// PackOccurrencesFormat encodes occurrences in one of the formats (the
// older one only for migrating stored rows back).
func PackOccurrencesFormat(format int, canonical string, occ []Occurrence) []byte {
	var table []string
	idx := map[string]uint64{}
	str := func(s string) uint64 {
		i, ok := idx[s]
		if !ok {
			i = uint64(len(table))
			idx[s] = i
			table = append(table, s)
		}
		return i
	}
	var body []byte
	prevLine := 0
	for _, o := range occ {
		var head byte
		if o.Role == RoleDefinition {
			head |= 1
		}
		if o.Name != canonical {
			head |= 2
		}
		if format == OccurrencesFormat1 {
			k, c := indexOf(occKinds, o.Kind, occOther), indexOf(occContexts, o.Context, occOther)
			head |= byte(k) << 2 // bits 2–7: kind
			body = append(body, head, byte(c))
			if k == occOther {
				body = binary.AppendUvarint(body, str(o.Kind))
			}
			if c == occOther {
				body = binary.AppendUvarint(body, str(o.Context))
			}
		} else {
			k, c := indexOf(occKinds, o.Kind, -1), indexOf(occContexts, o.Context, -1)
			if k < 0 || c < 0 || c >= occEscape {
				body = append(body, head|occEscape<<4)
				body = binary.AppendUvarint(body, str(o.Kind))
				body = binary.AppendUvarint(body, str(o.Context))
			} else {
				body = append(body, head|byte(k)<<2|byte(c)<<4) // bits 2–3: kind, 4–7: context
			}
		}
		if head&2 != 0 {
			body = binary.AppendUvarint(body, str(o.Name))
		}
		body = binary.AppendVarint(body, int64(o.Line-prevLine))
		body = binary.AppendUvarint(body, uint64(o.Col))
		prevLine = o.Line
	}
	out := binary.AppendUvarint(nil, uint64(len(table)))
	for _, s := range table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, body...)
}

var errCorruptOccurrences = errors.New("stored symbol occurrences are corrupt")

// UnpackOccurrences decodes what PackOccurrences wrote; sections are the
// content's section ranges (for each occurrence's enclosing section).
func UnpackOccurrences(canonical string, data []byte, sections SectionRanges) ([]Occurrence, error) {
	return UnpackOccurrencesFormat(OccurrencesFormat2, canonical, data, sections)
}

// UnpackOccurrencesFormat decodes what PackOccurrencesFormat wrote.
func UnpackOccurrencesFormat(format int, canonical string, data []byte, sections SectionRanges) ([]Occurrence, error) {
	r := &factReader{buf: data}
	n := r.count()
	table := make([]string, n)
	for i := range table {
		table[i] = string(r.bytes(r.uint()))
	}
	r.table = table
	var out []Occurrence
	line := 0
	for r.err == nil && len(r.buf) > 0 {
		head := r.buf[0]
		r.buf = r.buf[1:]
		o := Occurrence{Name: canonical, Role: RoleReference}
		if head&1 != 0 {
			o.Role = RoleDefinition
		}
		if format == OccurrencesFormat1 {
			if len(r.buf) < 1 {
				return nil, errCorruptOccurrences
			}
			k, c := int(head>>2), int(r.buf[0])
			r.buf = r.buf[1:]
			if k == occOther {
				o.Kind = r.str()
			} else if k < len(occKinds) {
				o.Kind = occKinds[k]
			}
			if c == occOther {
				o.Context = r.str()
			} else if c < len(occContexts) {
				o.Context = occContexts[c]
			}
		} else if c := int(head >> 4); c == occEscape {
			o.Kind, o.Context = r.str(), r.str()
		} else {
			o.Kind, o.Context = occKinds[head>>2&3], occContexts[c]
		}
		if head&2 != 0 {
			o.Name = r.str()
		}
		line += r.int()
		o.Line, o.Col = line, int(r.uint())
		o.Section = sections.of(o.Kind, o.Role, o.Line)
		out = append(out, o)
	}
	if r.err != nil {
		return nil, errCorruptOccurrences
	}
	return out, nil
}

// NameKey is how file names are compared (case-insensitively, as Windows
// does): the key of the libraries views.
func NameKey(filename string) string { return strings.ToUpper(upg.BaseName(filename)) }

// StoredSymbols returns the symbol groups of a stored analysis and its
// section ranges, decoding only what they follow from: the definitions and
// references of its facts, not its tokens or outline. The symbol index
// keeps counts only; the pages that list occurrences derive them here.
func StoredSymbols(p Packed) ([]SymbolGroup, SectionRanges, error) {
	if !isZstd(p.Facts) {
		var f File
		if err := unpackLegacy(&f, p); err != nil {
			return nil, nil, err
		}
		return f.Symbols(), f.SectionRanges(), nil
	}
	raw, err := decompress(p.Facts)
	if err != nil {
		return nil, nil, err
	}
	r := &factReader{buf: raw}
	if format := r.uint(); r.err != nil || format != fileFormat {
		return nil, nil, fmt.Errorf("%w: stored analysis format %d, this build reads %d (run veripost reindex)", errCorruptPart, format, fileFormat)
	}
	r.bytes(r.uint()) // tokens: only offsets need them, and occurrences have none
	r.bytes(r.uint()) // display
	if r.err != nil {
		return nil, nil, errCorruptPart
	}
	facts, err := decodeFacts(r.buf, nil)
	if err != nil {
		return nil, nil, err
	}
	f := File{Facts: facts}
	return f.Symbols(), f.SectionRanges(), nil
}
