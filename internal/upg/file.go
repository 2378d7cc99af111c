package upg

import (
	"path"
	"sort"
	"strings"
	"sync"
)

// ParserVersion identifies the shape of everything Parse, Tokenize, the
// outline and the resolver produce. Bump it whenever their output changes
// for the same input: stored results are keyed by it.
const ParserVersion = 3

// FileKind is the kind of a file in a post package, from its extension.
type FileKind string

const (
	KindSRC     FileKind = "src"     // .SRC post source
	KindLIB     FileKind = "lib"     // .LIB library source
	KindATR     FileKind = "atr"     // MASTER.ATR / *.ATR master attribute file
	KindInclude FileKind = "include" // other source pulled in by :INCLUDE= (e.g. .T32)
	KindCNF     FileKind = "cnf"     // .CNF configuration (pick lists, header overrides)
	KindKIN     FileKind = "kin"     // .KIN kinematics
	KindPINF    FileKind = "pinf"    // .PINF post info
	KindLNG     FileKind = "lng"     // .LNG generated language file
	KindCTL     FileKind = "ctl"     // .CTL compiled post (binary)
	KindOther   FileKind = "other"   // anything else
)

// Extensions are the file extensions of a post package (upper-case, without
// the dot), in the order people know them. This list and KindOf are the
// one place that says which files belong to a package: uploads accept
// exactly these.
var Extensions = []string{"SRC", "LIB", "KIN", "PINF", "CNF", "LNG", "ATR", "CTL", "T32", "INC"}

var kindByExt = map[string]FileKind{
	"SRC": KindSRC, "LIB": KindLIB, "ATR": KindATR, "CNF": KindCNF, "KIN": KindKIN,
	"PINF": KindPINF, "LNG": KindLNG, "CTL": KindCTL, "T32": KindInclude, "INC": KindInclude,
}

// KindOf returns the file kind from a file name's extension
// (case-insensitive; Windows or slash separators).
func KindOf(name string) FileKind {
	ext := strings.ToUpper(strings.TrimPrefix(path.Ext(BaseName(name)), "."))
	if k, ok := kindByExt[ext]; ok {
		return k
	}
	return KindOther
}

// IsSource reports whether files of this kind are UPG source (parsed by Parse).
func (k FileKind) IsSource() bool {
	switch k {
	case KindSRC, KindLIB, KindATR, KindInclude:
		return true
	}
	return false
}

// BaseName returns the last element of a Windows or slash path:
// `..\..\MasterLibraryFiles\MILL.LIB` → `MILL.LIB`.
func BaseName(p string) string {
	p = strings.TrimSpace(p)
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	if len(p) >= 2 && p[1] == ':' { // "C:NAME.LIB"
		p = p[2:]
	}
	return p
}

// File is a parsed UPG source file (.SRC, .LIB, .ATR, :INCLUDE file).
//
// The file is lossless: its tokens (Tokens, TokenAt, LineTokens) cover Src
// completely, Lines cover it line by line, and Fprint writes it back byte
// for byte. The structural views (Sections, Attributes …) point into the
// same tree.
type File struct {
	Name string
	Kind FileKind
	Src  []byte

	Lines []Line // one entry per physical line, in order

	Items      []Node // top-level items in source order: *Command (headers), *Define, *Include, *Attribute, *Operation, *Section, *StrayText
	Headers    []*Command
	Defines    []*Define
	Includes   []*Include
	Attributes []*Attribute
	Operations []*Operation
	Sections   []*Section

	// ControlFamily is the first-line marker without '*' (e.g. "FANUCM",
	// "PathPilot"), "" when the file has none.
	ControlFamily string

	Diagnostics []Diagnostic

	toks tokenStore // the token stream

	bodyOnce   sync.Once  // builds the Section bodies on first use
	bodySizes  arenaSizes // the node counts Parse saw in the :C: code
	builtSizes arenaSizes // the node counts buildBodies made (tests compare them)
}

// NumTokens is the number of tokens of the file.
func (f *File) NumTokens() int { return len(f.toks.kinds) }

// Tokens returns the whole token stream (the same as Tokenize(f.Src)). It
// builds the slice on each call; LineTokens and TokenAt give parts of it.
func (f *File) Tokens() []Token { return f.toks.expand(f.Lines, 0, len(f.Lines)) }

// TokenAt returns token i (0 ≤ i < NumTokens).
func (f *File) TokenAt(i int) Token {
	li := sort.Search(len(f.Lines), func(l int) bool { return int(lastTok(f.Lines, l, f.NumTokens())) > i })
	ln := &f.Lines[li]
	off := ln.Offset
	for t := ln.FirstTok; t < int32(i); t++ {
		off += f.toks.lenOf(t)
	}
	return Token{Kind: f.toks.kinds[i], Offset: off, End: off + f.toks.lenOf(int32(i)), Line: int32(li + 1), Col: off - ln.Offset + 1}
}

// Position is a resolved source position. Line and Col are 1-based; Col
// counts bytes.
type Position struct {
	Offset int `json:"offset"`
	Line   int `json:"line"`
	Col    int `json:"col"`
}

// Position converts a byte offset into line and column.
func (f *File) Position(offset int) Position {
	i := sort.Search(len(f.Lines), func(i int) bool { return int(f.Lines[i].EOLEnd()) > offset })
	if i >= len(f.Lines) {
		if len(f.Lines) == 0 {
			return Position{Offset: offset, Line: 1, Col: offset + 1}
		}
		i = len(f.Lines) - 1
	}
	return Position{Offset: offset, Line: i + 1, Col: offset - int(f.Lines[i].Offset) + 1}
}

// LineAt returns the 1-based line's entry, or nil when out of range.
func (f *File) LineAt(line int) *Line {
	if line < 1 || line > len(f.Lines) {
		return nil
	}
	return &f.Lines[line-1]
}

// LineText returns the content of a 1-based line without its terminator.
func (f *File) LineText(line int) []byte {
	l := f.LineAt(line)
	if l == nil {
		return nil
	}
	return f.Src[l.Offset:l.End]
}

// LineTokens returns the tokens of a 1-based line.
func (f *File) LineTokens(line int) []Token {
	if f.LineAt(line) == nil {
		return nil
	}
	return f.toks.expand(f.Lines, line-1, line)
}

// TokenText returns the bytes of a token.
func (f *File) TokenText(t Token) []byte { return f.Src[t.Offset:t.End] }

// Section returns the section with the given name. Section names are
// compared exactly (case-sensitive, as the compiler does: real posts hold
// both PROGRAM_STOP and program_stop); when no exact match exists, a
// case-insensitive match is returned. The first definition wins.
func (f *File) Section(name string) *Section {
	name = strings.TrimSpace(name)
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	key := CanonicalName(name)
	for _, s := range f.Sections {
		if CanonicalName(s.Name) == key {
			return s
		}
	}
	return nil
}

// Attribute returns the attribute with the given name (canonical compare).
func (f *File) Attribute(name string) *Attribute {
	key := CanonicalName(name)
	for _, a := range f.Attributes {
		if CanonicalName(a.Name) == key {
			return a
		}
	}
	return nil
}

// Header returns the value of the last header command with this name
// (without ':', case-insensitive) and whether it was present.
func (f *File) Header(name string) (string, bool) {
	key := strings.ToUpper(strings.TrimPrefix(name, ":"))
	for i := len(f.Headers) - 1; i >= 0; i-- {
		if f.Headers[i].Key() == key {
			return f.Headers[i].Value(), true
		}
	}
	return "", false
}

// HasErrors reports whether the file has error diagnostics.
func (f *File) HasErrors() bool { return HasErrors(f.Diagnostics) }

// SectionAt returns the section containing the byte offset, or nil.
func (f *File) SectionAt(offset int) *Section {
	i := sort.Search(len(f.Sections), func(i int) bool { return f.Sections[i].EndOffset > offset })
	if i < len(f.Sections) && f.Sections[i].Pos() <= offset {
		return f.Sections[i]
	}
	return nil
}
