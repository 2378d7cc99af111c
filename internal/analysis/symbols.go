package analysis

import (
	"encoding/binary"
	"errors"
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
	sectionAt := sectionFinder(f.Facts.Definitions)
	for _, d := range f.Facts.Definitions {
		g := get(upg.CanonicalName(d.Name))
		g.Definitions++
		g.Occurrences = append(g.Occurrences, Occurrence{Name: d.Name, Kind: d.Kind, Role: RoleDefinition, Line: d.Line, Col: d.Col, Section: sectionAt(d.Line, d.Kind)})
	}
	for _, r := range f.Facts.References {
		kind := resolve.KindAttribute
		if r.Target == upg.TargetSection {
			kind = resolve.KindSection
		}
		g := get(upg.CanonicalName(r.Name))
		g.Uses++
		g.Occurrences = append(g.Occurrences, Occurrence{Name: r.Name, Kind: kind, Role: RoleReference, Context: r.Context, Line: r.Line, Col: r.Col, Section: r.Section})
	}
	out := make([]SymbolGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Canonical < out[j].Canonical })
	return out
}

// sectionFinder returns the section a definition at a line sits in
// (definitions of sections themselves belong to no enclosing section).
func sectionFinder(defs []resolve.Definition) func(line int, kind string) string {
	type span struct {
		name     string
		from, to int
	}
	var spans []span
	for _, d := range defs {
		if d.Kind == resolve.KindSection {
			spans = append(spans, span{d.Name, d.Line, d.EndLine})
		}
	}
	return func(line int, kind string) string {
		if kind == resolve.KindSection {
			return ""
		}
		for _, s := range spans {
			if line >= s.from && line <= s.to {
				return s.name
			}
		}
		return ""
	}
}

// Occurrences are stored packed, per (name, content) row of the symbol
// index: one byte of flags and enumerated kind/role/context, then varints.
// Strings outside the small enumerations (a name written differently from
// its canonical form, section names) go into a table at the front.
var (
	occKinds    = []string{resolve.KindAttribute, resolve.KindSection, resolve.KindDefine, resolve.KindOperation}
	occContexts = []string{"", upg.RefToken, upg.RefExpr, upg.RefAssign, upg.RefCall, upg.RefSectionArg, upg.RefSectionExist,
		upg.RefVar, upg.RefVarB, upg.RefAttrList, upg.RefOperList, upg.RefAttrCFunc, upg.RefAttrCFuncArg, upg.RefAttrFunc, upg.RefCommand}
)

const occOther = 0xFF // the value follows as a string-table index

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return occOther
}

// PackOccurrences encodes a group's occurrences for the symbol index.
func PackOccurrences(canonical string, occ []Occurrence) []byte {
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
		k, c := indexOf(occKinds, o.Kind), indexOf(occContexts, o.Context)
		var flags byte
		if o.Role == RoleDefinition {
			flags |= 1
		}
		if o.Name != canonical {
			flags |= 2
		}
		if o.Section != "" {
			flags |= 4
		}
		body = append(body, flags, byte(k), byte(c))
		if k == occOther {
			body = binary.AppendUvarint(body, str(o.Kind))
		}
		if c == occOther {
			body = binary.AppendUvarint(body, str(o.Context))
		}
		if flags&2 != 0 {
			body = binary.AppendUvarint(body, str(o.Name))
		}
		if flags&4 != 0 {
			body = binary.AppendUvarint(body, str(o.Section))
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

// UnpackOccurrences decodes what PackOccurrences wrote.
func UnpackOccurrences(canonical string, data []byte) ([]Occurrence, error) {
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
		if len(r.buf) < 3 {
			return nil, errCorruptOccurrences
		}
		flags, k, c := r.buf[0], int(r.buf[1]), int(r.buf[2])
		r.buf = r.buf[3:]
		o := Occurrence{Name: canonical, Role: RoleReference}
		if flags&1 != 0 {
			o.Role = RoleDefinition
		}
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
		if flags&2 != 0 {
			o.Name = r.str()
		}
		if flags&4 != 0 {
			o.Section = r.str()
		}
		line += r.int()
		o.Line, o.Col = line, int(r.uint())
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
