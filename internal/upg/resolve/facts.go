package resolve

import (
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/sidefile"
)

// Facts is everything resolution needs from one file. It is a pure function
// of the file's bytes (and the parser version), so it can be stored once per
// content and a package can be resolved again without parsing its files:
// ResolveFacts on stored facts gives what Resolve gives on the bytes.
type Facts struct {
	Kind   upg.FileKind `json:"kind"`
	Size   int          `json:"size"`
	Binary bool         `json:"binary"`
	// Source is set when the file was parsed as UPG source; the fields
	// below it are filled only then.
	Source         bool          `json:"source"`
	Lines          int           `json:"lines"`
	ControlFamily  string        `json:"control_family,omitempty"`
	System         string        `json:"system,omitempty"` // the last :SYSTEM= header
	MachineName    *string       `json:"machine_name,omitempty"`
	ControllerType *string       `json:"controller_type,omitempty"`
	Includes       []IncludeFact `json:"includes,omitempty"`
	Definitions    []Definition  `json:"definitions,omitempty"` // File is empty: it is the file these facts belong to
	References     []upg.Ref     `json:"references,omitempty"`
	// Diagnostics are the file's own findings (parser or side-file reader).
	Diagnostics []upg.Diagnostic `json:"diagnostics,omitempty"`
	// Side is the parsed side file (.CNF, .KIN, .PINF, .LNG, .CTL).
	Side *SideFile `json:"side,omitempty"`
}

// IncludeFact is one :LIBRARY= or :INCLUDE= line and where its path is.
type IncludeFact struct {
	Path    string `json:"path"`
	Library bool   `json:"library"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Offset  int    `json:"offset"`
	End     int    `json:"end"`
}

// FileFacts names the facts of one file of a package.
type FileFacts struct {
	Name  string
	Facts *Facts
	// Registry is set on a stock library the package does not ship, taken
	// from VeriPost's library registry: its label ("CAMWorks 2024 SP2").
	// Such a file only answers a :LIBRARY=/:INCLUDE= no package file matches.
	Registry string
}

// Extract reads one file: UPG sources are parsed (the parsed file is
// returned too, nil for other files), side files are read, and the facts
// resolution needs are kept.
func Extract(name string, src []byte) (*Facts, *upg.File) {
	kind := upg.KindOf(name)
	facts := &Facts{Kind: kind, Size: len(src), Binary: textfile.IsBinary(src)}
	switch kind {
	case upg.KindSRC, upg.KindLIB, upg.KindATR, upg.KindInclude:
		if facts.Binary {
			return facts, nil
		}
		f := upg.Parse(name, src)
		sourceFacts(facts, f)
		return facts, f
	case upg.KindCNF:
		c := sidefile.ParseCNF(name, src)
		facts.Side, facts.Diagnostics = &SideFile{Name: name, CNF: c}, c.Diagnostics
	case upg.KindKIN:
		k := sidefile.ParseKIN(name, src)
		facts.Side, facts.Diagnostics = &SideFile{Name: name, KIN: k}, k.Diagnostics
	case upg.KindPINF:
		p := sidefile.ParsePINF(name, src)
		facts.Side, facts.Diagnostics = &SideFile{Name: name, PINF: p}, p.Diagnostics
	case upg.KindLNG:
		g := sidefile.ParseLNG(name, src)
		facts.Side, facts.Diagnostics = &SideFile{Name: name, LNG: g}, g.Diagnostics
	case upg.KindCTL:
		facts.Side = &SideFile{Name: name, CTL: sidefile.DetectCTL(name, src)}
	}
	if len(facts.Diagnostics) == 0 {
		facts.Diagnostics = nil // one form for "none", stored or fresh
	}
	return facts, nil
}

func sourceFacts(facts *Facts, f *upg.File) {
	facts.Source = true
	facts.Lines = len(f.Lines)
	facts.ControlFamily = f.ControlFamily
	facts.System, _ = f.Header("SYSTEM")
	if a := f.Attribute("MACHINE NAME"); a != nil {
		v := a.Default()
		facts.MachineName = &v
	}
	if a := f.Attribute("CONTROLLER TYPE"); a != nil {
		v := a.Default()
		facts.ControllerType = &v
	}
	for _, inc := range f.Includes {
		pos := f.Position(int(inc.Command.ValuePos))
		facts.Includes = append(facts.Includes, IncludeFact{Path: inc.Path, Library: inc.Library, Line: inc.Line,
			Col: pos.Col, Offset: int(inc.Command.ValuePos), End: int(inc.Command.ValueEnd)})
	}
	facts.Definitions = definitionsOf(f)
	facts.References = f.References()
	facts.Diagnostics = f.Diagnostics
}

// definitionsOf lists the attributes, sections, :DEFINEs and operation ids
// a parsed file defines, in source order.
func definitionsOf(f *upg.File) []Definition {
	var defs []Definition
	for _, it := range f.Items {
		var d Definition
		switch it := it.(type) {
		case *upg.Attribute:
			if it.Name == "" {
				continue
			}
			pos := f.Position(int(it.Start.ValuePos))
			d = Definition{Name: it.Name, Canonical: upg.CanonicalName(it.Name), Kind: KindAttribute, Line: pos.Line, Col: pos.Col, Offset: pos.Offset, EndLine: it.EndLine, Type: it.Type()}
		case *upg.Section:
			if it.Name == "" {
				continue
			}
			pos := f.Position(int(it.Header.ValuePos))
			d = Definition{Name: it.Name, Canonical: it.Name, Kind: KindSection, Line: pos.Line, Col: pos.Col, Offset: pos.Offset, EndLine: it.EndLine, Type: upg.SectionKindOf(it)}
			for _, p := range it.Params {
				d.Params = append(d.Params, p.Name)
			}
		case *upg.Define:
			if it.Name == "" {
				continue
			}
			pos := f.Position(it.NamePos)
			d = Definition{Name: it.Name, Canonical: upg.CanonicalName(it.Name), Kind: KindDefine, Line: pos.Line, Col: pos.Col, Offset: pos.Offset, Type: it.Value}
		case *upg.Operation:
			if it.ID == "" {
				continue
			}
			pos := f.Position(int(it.Start.ValuePos))
			d = Definition{Name: it.ID, Canonical: upg.CanonicalName(it.ID), Kind: KindOperation, Line: pos.Line, Col: pos.Col, Offset: pos.Offset, EndLine: it.EndLine, Type: it.Sub}
		default:
			continue
		}
		defs = append(defs, d)
	}
	return defs
}
