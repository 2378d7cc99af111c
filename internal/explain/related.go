package explain

import (
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// This file lists, for a reader that wants the lines themselves (the LLM
// copilot's context builder), what an explanation rests on: the section,
// who calls it, what it calls, where the names it uses are defined, and
// the catalogue's meanings — as line ranges, with no prose.

// Span is a stretch of lines of one file and what it holds.
type Span struct {
	Kind  string `json:"kind"` // "section", "attribute", "define", "header" or "lines"
	Name  string `json:"name"`
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Lines is the number of lines of the span.
func (s Span) Lines() int { return s.End - s.Start + 1 }

// Meaning is the language catalogue's short meaning of a name.
type Meaning struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // the catalogue's kind: system-section, system-variable …
	Text string `json:"text"`
}

// Related is what a section's explanation rests on.
type Related struct {
	Section Span
	// Callers are the sections (or attribute blocks) that call it or hand
	// it to a command, each once, in package order.
	Callers []Span
	// Calls are the sections it calls: the copies that run.
	Calls []Span
	// Names are the definitions of the attributes and constants it reads,
	// sets or prints, in the order of first use.
	Names []Span
	// Meanings are the catalogue's meanings of the section itself and of
	// the system names and commands it uses.
	Meanings []Meaning
}

// Metadata is what the package says about its machine.
type Metadata = resolve.Metadata

// Machine returns the package's machine metadata.
func (p *Package) Machine() Metadata { return p.res.Metadata }

// Related lists what a section rests on. file may be empty: then the copy
// of the section the package uses is meant (as Section does).
func (p *Package) Related(file, name string) (*Related, error) {
	f, s, err := p.findSection(file, name)
	if err != nil {
		return nil, err
	}
	rel := &Related{Section: Span{Kind: "section", Name: s.Name, File: f.Name, Start: s.StartLine, End: s.EndLine}}
	seen := map[defKey]bool{{f.Name, s.StartLine}: true}
	add := func(list *[]Span, sp Span) {
		k := defKey{sp.File, sp.Start}
		if sp.File == "" || seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, sp)
	}
	if mine := p.defAt(f.Name, s.StartLine, s.Name); mine != nil {
		for _, i := range p.callers[defKey{mine.File, mine.Line}] {
			add(&rel.Callers, p.blockAround(&p.res.References[i]))
		}
	}
	meanings := map[string]bool{}
	meaning := func(n string, kinds ...string) {
		k := upg.CanonicalName(n)
		if meanings[k] {
			return
		}
		for _, e := range upg.Lookup(n) {
			if len(kinds) == 0 || containsString(kinds, e.Kind) {
				meanings[k] = true
				rel.Meanings = append(rel.Meanings, Meaning{Name: e.Name, Kind: e.Kind, Text: e.Meaning})
				return
			}
		}
	}
	meaning(s.Name, upg.CatSystemSection, upg.CatCalcSection, upg.CatOther)
	for _, r := range p.refsIn(f.Name, s.Pos(), s.End()) {
		switch {
		case isSectionContext(r.Context):
			if r.Status == statusDefined {
				if _, sec := p.sectionNodeAt(r.DefFile, r.DefLine); sec != nil {
					add(&rel.Calls, Span{Kind: "section", Name: sec.Name, File: r.DefFile, Start: sec.StartLine, End: sec.EndLine})
				}
			}
			if r.Context == upg.RefSectionArg {
				meaning(p.commandOf(r), upg.CatSystemCommand)
			}
		case r.Status == statusDefined && r.Kind == symAttribute:
			if a := p.attrNodes[defKey{r.DefFile, r.DefLine}]; a != nil {
				add(&rel.Names, Span{Kind: "attribute", Name: a.Name, File: r.DefFile, Start: a.StartLine, End: a.EndLine})
			}
		case r.Status == statusDefined && r.Kind == symDefine:
			add(&rel.Names, Span{Kind: "define", Name: r.Name, File: r.DefFile, Start: r.DefLine, End: r.DefLine})
		case r.Kind == symSystem:
			meaning(r.Name, upg.CatSystemVariable, upg.CatSystemConstant, upg.CatSystemCommand, upg.CatQueryCommand)
		case r.Context == upg.RefCommand:
			meaning(r.Name)
		}
	}
	return rel, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// findSection finds a section the way Section does.
func (p *Package) findSection(file, name string) (*upg.File, *upg.Section, error) {
	e, err := p.Section(file, name)
	if err != nil {
		return nil, nil, err
	}
	f, s := p.sectionNodeAt(e.File, e.Start)
	if s == nil {
		return nil, nil, &NotFoundError{What: "section", Name: name, In: e.File}
	}
	return f, s, nil
}

// blockAround is the section or attribute block a reference is in, or
// the reference's own line.
func (p *Package) blockAround(r *reference) Span {
	if sec := p.sectionAtLine(r.File, r.Line); sec != nil {
		return Span{Kind: "section", Name: sec.Name, File: r.File, Start: sec.StartLine, End: sec.EndLine}
	}
	if f := p.files[r.File]; f != nil {
		for _, a := range f.Attributes {
			if a.StartLine <= r.Line && r.Line <= a.EndLine {
				return Span{Kind: "attribute", Name: a.Name, File: r.File, Start: a.StartLine, End: a.EndLine}
			}
		}
	}
	return Span{Kind: "lines", Name: r.Name, File: r.File, Start: r.Line, End: r.Line}
}

// SourceLines returns the text of lines from..to of a parsed file (clamped
// to the file), without line endings.
func (p *Package) SourceLines(file string, from, to int) []string {
	f := p.fileByName(file)
	if f == nil {
		return nil
	}
	from, to = max(from, 1), min(to, len(f.Lines))
	out := make([]string, 0, max(to-from+1, 0))
	for n := from; n <= to; n++ {
		out = append(out, string(f.LineText(n)))
	}
	return out
}

// FileName returns the package's name for a parsed file (exact, then
// ignoring case), or "".
func (p *Package) FileName(name string) string {
	if f := p.fileByName(name); f != nil {
		return f.Name
	}
	return ""
}

// Sections lists the section definitions that run (the winning copy of
// every name) in package order: main sources first, then what they
// include.
func (p *Package) Sections() []Span {
	var out []Span
	for _, name := range p.order {
		f := p.files[name]
		for _, s := range f.Sections {
			if d := p.defAt(name, s.StartLine, s.Name); d == nil || d.Overridden {
				continue
			}
			if first := f.Section(s.Name); first != s && first.Name == s.Name {
				continue // a second copy in the same file never runs
			}
			out = append(out, Span{Kind: "section", Name: s.Name, File: name, Start: s.StartLine, End: s.EndLine})
		}
	}
	return out
}

// Attributes lists the attribute blocks the package uses (the first copy
// of every name in override order).
func (p *Package) Attributes() []Span {
	var out []Span
	seen := map[string]bool{}
	for _, name := range p.order {
		for _, a := range p.files[name].Attributes {
			k := upg.CanonicalName(a.Name)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, Span{Kind: "attribute", Name: a.Name, File: name, Start: a.StartLine, End: a.EndLine})
		}
	}
	return out
}

// KeySections lists the sections of the package's own files (not stock
// libraries) that run: the ones the posting system calls first, then the
// others, each group in package order.
func (p *Package) KeySections() []Span {
	own := map[string]bool{}
	for _, n := range p.ownFiles() {
		own[n] = true
	}
	var sys, rest []Span
	for _, s := range p.Sections() {
		if !own[s.File] {
			continue
		}
		if upg.IsSystemSection(s.Name) || upg.IsTemplateSection(s.Name) {
			sys = append(sys, s)
		} else {
			rest = append(rest, s)
		}
	}
	return append(sys, rest...)
}

// Header is the start of the package's main source up to its first
// section, attribute or operation block: the header settings and library
// lines that say what machine it is for.
func (p *Package) Header() (Span, bool) {
	f := p.mainFile()
	if f == nil || len(f.Lines) == 0 {
		return Span{}, false
	}
	end := len(f.Lines)
	for _, it := range f.Items {
		switch it.(type) {
		case *upg.Section, *upg.Attribute, *upg.Operation:
			w := &writer{p: p, f: f}
			a, _ := w.span(it)
			end = max(a-1, 1)
		default:
			continue
		}
		break
	}
	return Span{Kind: "header", Name: "header", File: f.Name, Start: 1, End: end}, true
}

// CitedSpans lists the line ranges an explanation cites (outside a
// change), merged per file, in the order first cited.
func CitedSpans(e *Explanation) []Span {
	var cites []Cite
	for _, s := range e.Sentences() {
		for _, c := range s.Cites {
			if c.Side == "" {
				cites = append(cites, c)
			}
		}
	}
	var out []Span
	for _, c := range mergeCites(cites) {
		out = append(out, Span{Kind: "lines", File: c.File, Start: c.Start, End: c.End})
	}
	return out
}
