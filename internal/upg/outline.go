package upg

import (
	"strconv"
	"strings"
)

// Section kinds in an outline.
const (
	SectionSystem = "system" // called by the posting engine (names.tsv: system-section, or a template section)
	SectionCalc   = "calc"   // other CALC_ section, or any section holding :C: code
	SectionUser   = "user"   // template and other sections, reached through CALL/ATTRFUNC/…
)

// Outline is the JSON-friendly table of contents of one source file.
type Outline struct {
	File          string             `json:"file"`
	Kind          FileKind           `json:"kind"`
	ParserVersion int                `json:"parser_version"`
	ControlFamily string             `json:"control_family,omitempty"`
	System        string             `json:"system,omitempty"`
	Lines         int                `json:"lines"`
	Headers       []OutlineHeader    `json:"headers"`
	Defines       []OutlineDefine    `json:"defines"`
	Libraries     []OutlineLibrary   `json:"libraries"`
	Attributes    []OutlineAttribute `json:"attributes"`
	Operations    []OutlineOperation `json:"operations"`
	Sections      []OutlineSection   `json:"sections"`
	Errors        int                `json:"errors"`
	Warnings      int                `json:"warnings"`
}

// OutlineHeader is one header command.
type OutlineHeader struct {
	Name  string `json:"name"` // without ':' as written
	Value string `json:"value"`
	Line  int    `json:"line"`
	Known bool   `json:"known"`
}

// OutlineDefine is one :DEFINE.
type OutlineDefine struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Line  int    `json:"line"`
}

// OutlineLibrary is one :LIBRARY= or :INCLUDE= line.
type OutlineLibrary struct {
	Directive string `json:"directive"` // "library" or "include"
	Path      string `json:"path"`      // as declared
	FileName  string `json:"file_name"` // last path element
	Line      int    `json:"line"`
}

// OutlineAttribute is one attribute block.
type OutlineAttribute struct {
	Name       string `json:"name"`      // as written, blanks kept
	Canonical  string `json:"canonical"` // MACHINE_NAME form
	Type       string `json:"type,omitempty"`
	VType      string `json:"vtype,omitempty"`
	Default    string `json:"default,omitempty"`
	ID         int    `json:"id,omitempty"`
	CodeType   string `json:"codetype,omitempty"`
	Line       int    `json:"line"`
	EndLine    int    `json:"end_line"`
	Terminated bool   `json:"terminated"` // closed by :ATTREND
}

// OutlineOperation is one :OPERID= block.
type OutlineOperation struct {
	ID      string   `json:"id"`
	Sub     string   `json:"sub,omitempty"`
	List    []string `json:"list,omitempty"`
	Line    int      `json:"line"`
	EndLine int      `json:"end_line"`
}

// OutlineSection is one section.
type OutlineSection struct {
	Name          string   `json:"name"`
	Params        []string `json:"params,omitempty"`
	Kind          string   `json:"kind"` // SectionSystem, SectionCalc or SectionUser
	Line          int      `json:"line"`
	EndLine       int      `json:"end_line"`
	Offset        int      `json:"offset"` // byte range of the section (header to last line, terminators included)
	End           int      `json:"end"`
	TemplateLines int      `json:"template_lines"`
	CalcLines     int      `json:"calc_lines"`
	Meaning       string   `json:"meaning,omitempty"` // from the language catalogue, when it knows the section
}

// SectionKindOf classifies a section for outlines: system sections (called
// by the posting engine), calc sections, and user sections.
func SectionKindOf(s *Section) string {
	if IsSystemSection(s.Name) || IsTemplateSection(s.Name) {
		return SectionSystem
	}
	if s.Calc || s.CalcLines > 0 {
		return SectionCalc
	}
	return SectionUser
}

// SectionMeaning is what the language catalogue says a section of this
// name is for ("" when it does not know the section).
func SectionMeaning(name string) string {
	for _, e := range Lookup(name) {
		if e.Kind == CatSystemSection || e.Kind == CatCalcSection || e.Kind == CatOther && strings.Contains(e.Params, "section") {
			return e.Meaning
		}
	}
	return ""
}

// Outline builds the file's outline.
func (f *File) Outline() *Outline {
	o := &Outline{
		File: f.Name, Kind: f.Kind, ParserVersion: ParserVersion,
		ControlFamily: f.ControlFamily, Lines: len(f.Lines),
		Headers: []OutlineHeader{}, Defines: []OutlineDefine{}, Libraries: []OutlineLibrary{},
		Attributes: []OutlineAttribute{}, Operations: []OutlineOperation{}, Sections: []OutlineSection{},
	}
	o.System, _ = f.Header("SYSTEM")
	for _, h := range f.Headers {
		o.Headers = append(o.Headers, OutlineHeader{Name: h.Name(), Value: h.Value(), Line: int(h.Line), Known: h.Known})
	}
	for _, d := range f.Defines {
		o.Defines = append(o.Defines, OutlineDefine{Name: d.Name, Value: d.Value, Line: d.Line})
	}
	for _, inc := range f.Includes {
		dir := "include"
		if inc.Library {
			dir = "library"
		}
		o.Libraries = append(o.Libraries, OutlineLibrary{Directive: dir, Path: inc.Path, FileName: BaseName(inc.Path), Line: inc.Line})
	}
	for _, a := range f.Attributes {
		id, _ := strconv.Atoi(strings.TrimSpace(a.ID()))
		o.Attributes = append(o.Attributes, OutlineAttribute{
			Name: a.Name, Canonical: CanonicalName(a.Name), Type: a.Type(), VType: a.VType(),
			Default: a.Default(), ID: id, CodeType: a.CodeType(), Line: a.StartLine, EndLine: a.EndLine,
			Terminated: a.EndCmd != nil,
		})
	}
	for _, op := range f.Operations {
		o.Operations = append(o.Operations, OutlineOperation{ID: op.ID, Sub: op.Sub, List: op.List, Line: op.StartLine, EndLine: op.EndLine})
	}
	for _, s := range f.Sections {
		os := OutlineSection{
			Name: s.Name, Kind: SectionKindOf(s), Line: s.StartLine, EndLine: s.EndLine,
			Offset: s.Pos(), End: s.End(), TemplateLines: len(s.Templates), CalcLines: s.CalcLines,
		}
		for _, p := range s.Params {
			os.Params = append(os.Params, p.Name)
		}
		os.Meaning = SectionMeaning(s.Name)
		o.Sections = append(o.Sections, os)
	}
	for _, d := range f.Diagnostics {
		switch d.Severity {
		case SeverityError:
			o.Errors++
		case SeverityWarning:
			o.Warnings++
		}
	}
	return o
}
