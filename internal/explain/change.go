package explain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/upg"
)

// maxChangeItems bounds the items one part of a change explanation lists;
// the rest are counted in the notes.
const maxChangeItems = 60

// maxStatementChanges bounds the statements described under one section.
const maxStatementChanges = 12

// maxWhen bounds the "when it runs" sentences repeated under a changed
// section.
const maxWhen = 3

// ChangeOf compares side a with side b and explains what changed: the one
// entry point for callers that hold the files of both sides (the API, the
// web UI and the command line).
func ChangeOf(a, b diff.Side, opt diff.Options) (*diff.Result, *Explanation) {
	r := diff.Compare(a, b, opt)
	return r, Change(r, AnalyzeSide(a), AnalyzeSide(b))
}

// AnalyzeSide analyses the files of one side of a comparison.
func AnalyzeSide(s diff.Side) *Package {
	in := make([]Input, 0, len(s.Files))
	for _, f := range s.Files {
		in = append(in, Input{Name: f.Name, Data: f.Data})
	}
	return Analyze(in)
}

// Change explains a comparison in plain words: what the new side (B)
// changes relative to the old one (A), and why it may matter on the
// machine — when a changed section runs, what an output line prints
// before and after, what a changed setting controls, which names are left
// undefined. Every sentence cites lines of A, of B or of both (Cite.Side).
//
// a and b are the analysed sides; either may be nil, and then the
// explanation falls back to the diff's own text for that side.
func Change(r *diff.Result, a, b *Package) *Explanation {
	c := &changer{r: r, a: a, b: b}
	e := &Explanation{Kind: KindChange, Subject: r.A.Label + " → " + r.B.Label,
		Title: "What changed from " + orWord(r.A.Label, "A") + " to " + orWord(r.B.Label, "B")}
	e.addPart(Part{Key: PartChanged, Title: "What changed", Sentences: c.summary()})
	e.addPart(Part{Key: PartSectionChanges, Title: "Sections: what runs and what it outputs", Sentences: c.sections()})
	e.addPart(Part{Key: PartSettingChanges, Title: "Settings, attributes and questions", Sentences: c.settings()})
	e.addPart(Part{Key: PartLibraryChanges, Title: "Libraries", Sentences: c.libraries()})
	c.undefined()
	e.addPart(Part{Key: PartRisks, Title: "Worth checking on the machine", Sentences: c.risks})
	e.addPart(Part{Key: PartFileChanges, Title: "Other files", Sentences: c.files()})
	e.addPart(Part{Key: PartNotes, Title: "Left out", Sentences: c.notes})
	return e
}

func orWord(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

type changer struct {
	r     *diff.Result
	a, b  *Package
	risks []Sentence
	notes []Sentence
}

// at cites a location of one side.
func (s *sentence) at(side string, l *diff.Loc) *sentence {
	if l == nil || l.File == "" || l.Line <= 0 {
		return s
	}
	s.cites = append(s.cites, Cite{File: l.File, Start: l.Line, End: max(l.EndLine, l.Line), Side: side})
	return s
}

// atLine cites the first line of a location (a section's or block's
// header) rather than all of it.
func (s *sentence) atLine(side string, l *diff.Loc) *sentence {
	if l == nil {
		return s
	}
	return s.at(side, &diff.Loc{File: l.File, Line: l.Line, EndLine: l.Line})
}

// onSide returns sentences of one side's own explanation, their citations
// and links marked with the side, nested at depth.
func onSide(in []Sentence, side string, depth int) []Sentence {
	out := make([]Sentence, 0, len(in))
	for _, s := range in {
		s.Depth = depth
		cs := make([]Cite, len(s.Cites))
		for i, c := range s.Cites {
			c.Side = side
			cs[i] = c
		}
		s.Cites = cs
		ls := make([]Link, len(s.Links))
		for i, l := range s.Links {
			l.Side = side
			ls[i] = l
		}
		s.Links = ls
		out = append(out, s)
	}
	return out
}

// cutNote counts items left out of a part.
func (c *changer) cutNote(n int, what string, side string, l *diff.Loc) {
	if n <= 0 {
		return
	}
	c.notes = append(c.notes, newSentence(0).text(plural(n, "more "+what, "more "+what+"s")+" changed; the comparison lists them all").atLine(side, l).done())
}

// ---------------------------------------------------------------- summary

func (c *changer) summary() []Sentence {
	r := c.r
	if r.Identical {
		st := newSentence(0).text(orWord(r.A.Label, "A") + " and " + orWord(r.B.Label, "B") + " are the same")
		for _, f := range r.Files {
			if f.A != nil && f.B != nil && f.A.Lines > 0 && f.B.Lines > 0 {
				st.at(SideA, &diff.Loc{File: f.A.Name, Line: 1}).at(SideB, &diff.Loc{File: f.B.Name, Line: 1})
				break
			}
		}
		return []Sentence{st.done()}
	}
	n := r.Counts
	st := newSentence(0)
	var changed []string
	for _, f := range r.Files {
		if f.Status == diff.StatusIdentical || f.Equivalent {
			continue
		}
		name := fileName(f)
		if f.Added+f.Removed > 0 {
			name += " (+" + itoa(f.Added) + " −" + itoa(f.Removed) + ")"
		}
		changed = append(changed, name)
		if h := firstHunk(f); h != nil {
			if h.BLines > 0 && f.B != nil {
				st.at(SideB, &diff.Loc{File: f.B.Name, Line: h.BStart, EndLine: h.BStart + h.BLines - 1})
			} else if h.ALines > 0 && f.A != nil {
				st.at(SideA, &diff.Loc{File: f.A.Name, Line: h.AStart, EndLine: h.AStart + h.ALines - 1})
			}
		} else if f.B != nil && f.B.Lines > 0 && !f.Binary {
			st.at(SideB, &diff.Loc{File: f.B.Name, Line: 1})
		} else if f.A != nil && f.A.Lines > 0 && !f.Binary {
			st.at(SideA, &diff.Loc{File: f.A.Name, Line: 1})
		}
	}
	files := plural(len(changed), "file differs", "files differ")
	if len(changed) > 8 {
		st.text(files + ", among them " + joinWords(changed[:8], "and"))
	} else {
		st.text(files + ": " + joinWords(changed, "and"))
	}
	if n.LinesAdded+n.LinesRemoved > 0 {
		st.text("; " + plural(n.LinesAdded, "line", "lines") + " added and " + itoa(n.LinesRemoved) + " removed in all")
	}
	out := []Sentence{st.done()}

	var what []string
	if k := n.SectionsAdded + n.SectionsRemoved + n.SectionsChanged + n.SectionsRenamed + n.SectionsMoved; k > 0 {
		what = append(what, plural(k, "section", "sections"))
	}
	if k := n.AttributesAdded + n.AttributesRemoved + n.AttributesChanged; k > 0 {
		what = append(what, plural(k, "attribute", "attributes"))
	}
	if k := n.OperationsAdded + n.OperationsRemoved + n.OperationsChanged; k > 0 {
		what = append(what, plural(k, "operation question block", "operation question blocks"))
	}
	if n.HeadersChanged > 0 {
		what = append(what, plural(n.HeadersChanged, "header setting", "header settings"))
	}
	if n.DefinesChanged > 0 {
		what = append(what, plural(n.DefinesChanged, "constant", "constants"))
	}
	if n.LibrariesChanged > 0 {
		what = append(what, plural(n.LibrariesChanged, "library", "libraries"))
	}
	if len(what) > 0 {
		st := newSentence(0).text("in the language's terms the change touches " + joinWords(what, "and"))
		s := &r.Semantic
		for _, x := range s.Sections {
			st.atLine(SideB, x.B)
			if x.B == nil {
				st.atLine(SideA, x.A)
			}
		}
		for _, list := range [][]diff.BlockChange{s.Attributes, s.Operations} {
			for _, x := range list {
				if x.B != nil {
					st.atLine(SideB, x.B)
				} else {
					st.atLine(SideA, x.A)
				}
			}
		}
		for _, list := range [][]diff.ValueChange{s.Headers, s.Defines} {
			for _, x := range list {
				if x.B != nil {
					st.at(SideB, x.B)
				} else {
					st.at(SideA, x.A)
				}
			}
		}
		for _, x := range s.Libraries {
			if x.B != nil {
				st.at(SideB, x.B)
			} else {
				st.at(SideA, x.A)
			}
		}
		if len(st.cites) > 0 {
			out = append(out, st.done())
		}
	}
	return out
}

func fileName(f diff.FileDiff) string {
	switch {
	case f.A == nil:
		return f.B.Name
	case f.B == nil:
		return f.A.Name
	case f.A.Name != f.B.Name:
		return f.A.Name + " → " + f.B.Name
	}
	return f.B.Name
}

func firstHunk(f diff.FileDiff) *diff.Hunk {
	if len(f.Hunks) == 0 {
		return nil
	}
	return &f.Hunks[0]
}

// ---------------------------------------------------------------- sections

// sectionNodeAt returns the section of p whose header is on line of file.
func (p *Package) sectionNodeAt(file string, line int) (*upg.File, *upg.Section) {
	if p == nil {
		return nil, nil
	}
	f := p.files[file]
	if f == nil {
		return nil, nil
	}
	for _, s := range f.Sections {
		if s.StartLine == line {
			return f, s
		}
	}
	return f, nil
}

// templateWords explains the :T: line at line of file in words.
func (p *Package) templateWords(file string, line int) (Sentence, bool) {
	if p == nil {
		return Sentence{}, false
	}
	sec := p.sectionAtLine(file, line)
	if sec == nil {
		return Sentence{}, false
	}
	for _, tl := range sec.Templates {
		if tl.Line == line {
			w := &writer{p: p, f: p.files[file], sec: sec}
			return w.templateLine(tl, 0), true
		}
	}
	return Sentence{}, false
}

// whenRuns is the "when it runs" of the section at a location.
func (p *Package) whenRuns(l *diff.Loc) []Sentence {
	if l == nil {
		return nil
	}
	f, s := p.sectionNodeAt(l.File, l.Line)
	if s == nil {
		return nil
	}
	w := &writer{p: p, f: f, sec: s}
	out := w.whenItRuns()
	if len(out) > maxWhen {
		out = out[:maxWhen]
	}
	return out
}

func (c *changer) sections() []Sentence {
	var out []Sentence
	list := c.r.Semantic.Sections
	for i, x := range list {
		if i == maxChangeItems {
			l := list[i].B
			side := SideB
			if l == nil {
				l, side = list[i].A, SideA
			}
			c.cutNote(len(list)-i, "section", side, l)
			break
		}
		out = append(out, c.section(x)...)
	}
	return out
}

func (c *changer) section(x diff.SectionChange) []Sentence {
	var out []Sentence
	kind := func(p *Package, l *diff.Loc) string {
		if _, s := p.sectionNodeAt(l.File, l.Line); s != nil && s.Calc {
			return "calculation section"
		} else if s != nil {
			return "output section"
		}
		return "section"
	}
	switch x.Status {
	case diff.Added:
		st := newSentence(0).text("new "+kind(c.b, x.B)+" ").code(x.Name).text(" in "+x.B.File).atLine(SideB, x.B)
		out = append(out, st.done())
		out = append(out, c.override(x)...)
		out = append(out, onSide(c.b.whenRuns(x.B), SideB, 1)...)
		out = append(out, c.outputsOf(x.B)...)
	case diff.Removed:
		st := newSentence(0).text("the "+kind(c.a, x.A)+" ").code(x.Name).text(" of "+x.A.File+" is gone").atLine(SideA, x.A)
		out = append(out, st.done())
		out = append(out, c.gone(x.Name, x.A)...)
	default:
		head := newSentence(0)
		switch {
		case x.Renamed:
			head.code(x.OldName).text(" is renamed ").code(x.Name)
		default:
			head.code(x.Name)
		}
		if x.Moved && x.A != nil && x.B != nil {
			head.text(" moves from " + x.A.File + " to " + x.B.File)
		}
		if x.BodyChanged {
			var parts []string
			if x.Added > 0 {
				parts = append(parts, plural(x.Added, "line", "lines")+" added")
			}
			if x.Removed > 0 {
				parts = append(parts, plural(x.Removed, "line", "lines")+" removed")
			}
			if x.Changed > 0 {
				parts = append(parts, plural(x.Changed, "line", "lines")+" changed")
			}
			if x.Renamed || (x.Moved && x.A != nil && x.B != nil) {
				head.text(", and its lines changed")
			} else {
				head.text(" changed")
			}
			if len(parts) > 0 {
				head.text(": " + joinWords(parts, "and"))
			}
		}
		if x.ParamsA != x.ParamsB {
			head.text("; its parameters were ").code(orWord(x.ParamsA, "none")).text(" and are ").code(orWord(x.ParamsB, "none"))
		}
		head.atLine(SideA, x.A).atLine(SideB, x.B)
		out = append(out, head.done())
		if x.Renamed {
			out = append(out, c.stillCalled(x.OldName, x.B)...)
		}
		out = append(out, onSide(c.b.whenRuns(x.B), SideB, 1)...)
		out = append(out, c.statements(x)...)
	}
	return out
}

// override says what an added section replaces in B (a library's copy),
// or that B's own copy elsewhere wins over it.
func (c *changer) override(x diff.SectionChange) []Sentence {
	if c.b == nil || x.B == nil {
		return nil
	}
	mine := c.b.defAt(x.B.File, x.B.Line, x.Name)
	if mine == nil {
		return nil
	}
	var out []Sentence
	if mine.Overridden {
		if win := c.b.sectionDef(x.Name); win != nil && win != mine {
			st := newSentence(1).text("it never runs: the copy in "+win.File+" line "+itoa(win.Line)+" wins over it").
				atLine(SideB, x.B).at(SideB, &diff.Loc{File: win.File, Line: win.Line})
			c.risks = append(c.risks, newSentence(0).text("the new section ").code(x.Name).text(" in "+x.B.File+" never runs, because the copy in "+win.File+" wins").
				atLine(SideB, x.B).at(SideB, &diff.Loc{File: win.File, Line: win.Line}).done())
			out = append(out, st.done())
		}
		return out
	}
	for _, d := range c.b.sectionDefs(x.Name) {
		if d == mine || !d.Overridden {
			continue
		}
		out = append(out, newSentence(1).text("it replaces the copy of ").code(x.Name).text(" in "+d.File+" (line "+itoa(d.Line)+"), which ran before").
			atLine(SideB, x.B).at(SideB, &diff.Loc{File: d.File, Line: d.Line}).done())
	}
	return out
}

// gone says what happens in B where a removed section was: another copy
// runs instead, or its callers find nothing.
func (c *changer) gone(name string, a *diff.Loc) []Sentence {
	if c.b == nil {
		return nil
	}
	var out []Sentence
	if win := c.b.sectionDef(name); win != nil {
		st := newSentence(1).text("the copy of ").code(win.Name).text(" in "+win.File+" (line "+itoa(win.Line)+") runs in its place now").
			atLine(SideA, a).at(SideB, &diff.Loc{File: win.File, Line: win.Line})
		out = append(out, st.done())
		c.risks = append(c.risks, newSentence(0).text("with ").code(name).text(" gone from "+a.File+", the copy in "+win.File+" runs instead; check that it outputs what the machine expects").
			atLine(SideA, a).at(SideB, &diff.Loc{File: win.File, Line: win.Line}).done())
		return out
	}
	if e, ok := upg.LookupKind(name, upg.CatSystemSection); ok {
		out = append(out, newSentence(1).text("the posting system called it itself ("+shorten(e.Meaning, 90)+"); now nothing runs then").atLine(SideA, a).done())
	}
	return append(out, c.stillCalled(name, nil)...)
}

// stillCalled lists places in B that still name a section that B no
// longer defines under that name.
func (c *changer) stillCalled(name string, _ *diff.Loc) []Sentence {
	if c.b == nil || c.b.sectionDef(name) != nil {
		return nil
	}
	refs := c.b.secNameRefs[name]
	if len(refs) == 0 {
		return nil
	}
	st := newSentence(1)
	guarded := true
	for i, ri := range refs {
		r := &c.b.res.References[ri]
		if i < 10 {
			st.at(SideB, &diff.Loc{File: r.File, Line: r.Line})
		}
		if r.Status != statusGuarded && r.Context != upg.RefSectionExist {
			guarded = false
		}
	}
	st.text("B still names ").code(name).text(" at " + plural(len(refs), "place", "places"))
	if guarded {
		st.text(", each guarded by a SECTIONEXIST check, so nothing is output there")
		return []Sentence{st.done()}
	}
	st.text(", where the call now finds nothing")
	// A call left without its section is listed among the risks by
	// undefined (the diff reports the name as now undefined).
	return []Sentence{st.done()}
}

// outputsOf says what an added section prints.
func (c *changer) outputsOf(l *diff.Loc) []Sentence {
	if c.b == nil || l == nil {
		return nil
	}
	_, s := c.b.sectionNodeAt(l.File, l.Line)
	if s == nil {
		return nil
	}
	var out []Sentence
	for i, tl := range s.Templates {
		if i == maxStatementChanges {
			out = append(out, newSentence(1).text("and "+plural(len(s.Templates)-i, "more output line", "more output lines")).
				at(SideB, &diff.Loc{File: l.File, Line: tl.Line}).done())
			break
		}
		if ws, ok := c.b.templateWords(l.File, tl.Line); ok {
			out = append(out, onSide([]Sentence{ws}, SideB, 1)...)
		}
	}
	return out
}

// statements describes the changed lines of a section.
func (c *changer) statements(x diff.SectionChange) []Sentence {
	var out []Sentence
	comments := newSentence(1)
	nComments := 0
	shown := 0
	for _, st := range x.Statements {
		if st.Kind == "comment" {
			nComments++
			comments.at(SideA, st.A).at(SideB, st.B)
			continue
		}
		if shown == maxStatementChanges {
			l, side := st.B, SideB
			if l == nil {
				l, side = st.A, SideA
			}
			out = append(out, newSentence(1).text("and "+plural(len(x.Statements)-nComments-shown, "more changed line", "more changed lines")+"; the line diff shows them").
				atLine(side, l).done())
			break
		}
		shown++
		out = append(out, c.statement(st))
	}
	if nComments > 0 {
		out = append(out, comments.text(plural(nComments, "comment line", "comment lines")+" changed too; comments do not change the output").done())
	}
	return out
}

func (c *changer) statement(st diff.StatementChange) Sentence {
	s := newSentence(1)
	if st.Kind == "template" {
		var before, after Sentence
		var okA, okB bool
		if st.A != nil {
			before, okA = c.a.templateWords(st.A.File, st.A.Line)
		}
		if st.B != nil {
			after, okB = c.b.templateWords(st.B.File, st.B.Line)
		}
		switch {
		case st.Op == diff.Added && okB:
			return join(s, "new output line: ", "", after, SideB)
		case st.Op == diff.Removed && okA:
			return join(s, "output line removed — it ", "", before, SideA)
		case st.Op == diff.Changed && okA && okB:
			join(s, "output line changed — before, it ", "", before, SideA)
			return join(s, "; now it ", "", after, SideB)
		}
	}
	what := "line"
	switch st.Kind {
	case "template":
		what = "output line"
	case "calc":
		what = "calculation"
	}
	switch st.Op {
	case diff.Added:
		s.text("new "+what+" ").code(stmtText(st.New)).at(SideB, st.B)
	case diff.Removed:
		s.text(what+" removed: ").code(stmtText(st.Old)).at(SideA, st.A)
	default:
		s.text(what+" changed from ").code(stmtText(st.Old)).text(" to ").code(stmtText(st.New)).at(SideA, st.A).at(SideB, st.B)
	}
	return s.done()
}

// join appends a side's sentence (lower-cased, without its full stop) and
// its citations to s.
func join(s *sentence, lead, tail string, from Sentence, side string) Sentence {
	t := strings.TrimRight(from.Text, ".")
	if r, n := utf8.DecodeRuneInString(t); n > 0 && !strings.HasPrefix(t, "`") {
		t = string(unicode.ToLower(r)) + t[n:]
	}
	s.text(lead + t + tail)
	for _, cc := range from.Cites {
		cc.Side = side
		s.cites = append(s.cites, cc)
	}
	for _, l := range from.Links {
		l.Side = side
		s.links = append(s.links, l)
	}
	return s.done()
}

// stmtText is a statement line without its :C: or :T: marker.
func stmtText(line string) string {
	t := strings.TrimSpace(line)
	for _, p := range []string{":C:", ":T:", ":c:", ":t:"} {
		if rest, ok := strings.CutPrefix(t, p); ok {
			return strings.TrimSpace(rest)
		}
	}
	return t
}

// ---------------------------------------------------------------- settings

// valueWords names the block sub-commands people know by another name.
var valueWords = map[string]string{
	"ATTRDEFAULT": "default value", "ATTRSELSTR": "choices", "ATTRTYPE": "kind", "ATTRVTYPE": "value type",
	"ATTRREMARK": "remark", "ATTREMARK": "remark", "ATTRTITLE": "dialog title", "ATTRSHORT": "dialog label",
	"WORD_ADDRESS_BEF": "letters printed before the value", "WORD_ADDRESS_AFT": "letters printed after the value",
	"MODAL": "modal setting", "FORMAT": "number format", "OPERLIST": "questions",
}

func (c *changer) settings() []Sentence {
	var out []Sentence
	s := &c.r.Semantic
	n := 0
	more := func(what string, side string, l *diff.Loc) bool {
		n++
		if n == maxChangeItems+1 {
			c.cutNote(1, what, side, l) // counted once; the comparison has the rest
		}
		return n <= maxChangeItems
	}
	for _, x := range s.Attributes {
		if !more("attribute", SideB, x.B) {
			continue
		}
		out = append(out, c.block(x, "attribute")...)
	}
	for _, x := range s.Operations {
		if !more("operation block", SideB, x.B) {
			continue
		}
		out = append(out, c.block(x, "operation")...)
	}
	for _, v := range s.Headers {
		if !more("header setting", SideB, v.B) {
			continue
		}
		st := c.value(newSentence(0), v, "the header setting ", ":"+v.Name)
		if m := catalogMeaning(v.Name, upg.CatHeaderCommand); m != "" {
			st.text(" (" + shorten(m, 100) + ")")
		}
		out = append(out, st.done())
	}
	for _, v := range s.Defines {
		if !more("constant", SideB, v.B) {
			continue
		}
		st := c.value(newSentence(0), v, "the constant ", v.Name)
		if c.b != nil && v.Status != diff.Removed {
			if uses := len(c.b.nameRefs[upg.CanonicalName(v.Name)]); uses > 0 {
				st.text("; B uses it " + plural(uses, "time", "times"))
			}
		}
		out = append(out, st.done())
	}
	return out
}

// value writes "the X changed from `a` to `b`" (or added, removed).
func (c *changer) value(st *sentence, v diff.ValueChange, lead, name string) *sentence {
	st.text(lead)
	// The diff names a sub-command by its group and numbers repeated ones
	// ("SELECT=YES WORD_ADDRESS_BEF", "OPERLIST #2"); only the command
	// itself is on the cited line.
	name, n, numbered := strings.Cut(name, " #")
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		st.code(name[i+1:]).text(" (in the " + name[:i] + " group)")
	} else {
		st.code(name)
	}
	if numbered {
		st.text(" (number " + n + ")")
	}
	val := func(v string) {
		switch strings.TrimSpace(v) {
		case "(set)":
			st.text("set")
		case "":
			st.text("empty")
		default:
			st.code(v)
		}
	}
	switch v.Status {
	case diff.Added:
		st.text(" is new: ")
		val(v.New)
	case diff.Removed:
		st.text(" is gone (it was ")
		val(v.Old)
		st.text(")")
	default:
		st.text(" changed from ")
		val(v.Old)
		st.text(" to ")
		val(v.New)
	}
	return st.at(SideA, v.A).at(SideB, v.B)
}

func (c *changer) block(x diff.BlockChange, what string) []Sentence {
	head := newSentence(0).text("the " + what + " ").code(x.Name)
	switch x.Status {
	case diff.Added:
		head.text(" is new")
	case diff.Removed:
		head.text(" is gone")
	case diff.Moved:
		head.text(" moved")
	default:
		head.text(" changed")
	}
	if x.Moved && x.A != nil && x.B != nil && x.A.File != x.B.File {
		head.text(" (from " + x.A.File + " to " + x.B.File + ")")
	}
	head.atLine(SideA, x.A).atLine(SideB, x.B)
	out := []Sentence{head.done()}
	for i, v := range x.Values {
		if i == maxStatementChanges {
			break
		}
		st := newSentence(1)
		base, _, _ := strings.Cut(v.Name, " #")
		if i := strings.LastIndexByte(base, ' '); i > 0 {
			base = base[i+1:]
		}
		if w, ok := valueWords[strings.ToUpper(base)]; ok {
			st.text("its " + w + ", ")
		}
		out = append(out, c.value(st, v, "", v.Name).done())
	}
	if what != "attribute" {
		return out
	}
	// What it controls and where it is used, on the side that has it.
	p, side := c.b, SideB
	if x.Status == diff.Removed {
		p, side = c.a, SideA
	}
	if p == nil {
		return out
	}
	a, d := p.attribute(x.Name)
	if a == nil || d == nil {
		return out
	}
	e := p.explainAttribute(a, d)
	if ctl := e.Part(PartControls); ctl != nil {
		out = append(out, onSide(ctl.Sentences[:min(2, len(ctl.Sentences))], side, 1)...)
	}
	if uses := e.Part(PartUses); uses != nil && x.Status != diff.Removed {
		out = append(out, onSide(uses.Sentences[:1], side, 1)...)
	}
	return out
}

// ---------------------------------------------------------------- libraries

func (c *changer) libraries() []Sentence {
	var out []Sentence
	for i, l := range c.r.Semantic.Libraries {
		if i == maxChangeItems {
			c.cutNote(len(c.r.Semantic.Libraries)-i, "library", SideB, l.B)
			break
		}
		st := newSentence(0)
		switch l.Status {
		case diff.Added:
			st.text("B pulls in the library ").code(l.Name)
			if l.ResolvedB != "" {
				st.text(", the package file " + l.ResolvedB + ": its sections and attributes now take part, unless the source overrides them")
			} else {
				st.text(", but no file of the package matches it")
			}
		case diff.Removed:
			st.text("B no longer pulls in the library ").code(l.Name).text(": whatever only it defined is gone from the post")
		case diff.LibVariant:
			st.text("the library ").code(l.Name).text(" is another variant in B (content " + short12(l.SHA256A) + " → " + short12(l.SHA256B) + "): every section it supplies may print differently; the sections above show what differs")
		case diff.LibPath:
			st.text("the library ").code(l.Name).text(" is declared with another path, with the same content")
		case diff.LibUnresolved:
			st.text("B declares the library ").code(l.Name).text(", but no file of the package matches it any more")
			c.risks = append(c.risks, newSentence(0).text("B cannot find the library ").code(l.Name).text(": the sections and attributes it defined are missing from the post").at(SideB, l.B).done())
		case diff.LibNowResolved:
			st.text("B now finds the library ").code(l.Name).text(" among its files")
		default:
			st.text("the library ").code(l.Name).text(" changed")
		}
		out = append(out, st.at(SideA, l.A).at(SideB, l.B).done())
	}
	return out
}

func short12(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// ---------------------------------------------------------------- risks

// undefined adds the names B uses that nothing defines any more.
func (c *changer) undefined() {
	n := 0
	for _, x := range c.r.Semantic.References {
		if x.Status != diff.RefNowUndefind {
			continue
		}
		n++
		if n > maxChangeItems {
			continue
		}
		st := newSentence(0).code(x.Name).text(" is still used in B (" + plural(x.CountB, "place", "places") + "), but nothing defines it any more")
		if x.Kind == "section" {
			st.text(": the calls find nothing")
		}
		c.risks = append(c.risks, st.at(SideB, x.B).at(SideA, x.A).done())
	}
	if n > maxChangeItems {
		c.notes = append(c.notes, newSentence(0).text(plural(n-maxChangeItems, "more name", "more names")+" became undefined; the comparison lists them all").done())
	}
}

// ---------------------------------------------------------------- files

var fileKindWords = map[string]string{
	"src": "post source", "lib": "library", "atr": "attribute file", "include": "included source",
	"cnf": "configuration file (pick lists, header overrides)", "kin": "kinematics file",
	"pinf": "post information file", "lng": "language file", "ctl": "compiled post", "other": "file",
}

func (c *changer) files() []Sentence {
	var out []Sentence
	n := 0
	for _, f := range c.r.Files {
		kind := fileKindWords[f.Kind]
		if kind == "" {
			kind = "file"
		}
		st := newSentence(0)
		switch {
		case f.Status == diff.StatusAdded && f.B.Lines > 0 && !f.Binary:
			st.text("B adds the "+kind+" "+f.B.Name).at(SideB, &diff.Loc{File: f.B.Name, Line: 1})
		case f.Status == diff.StatusRemoved && f.A.Lines > 0 && !f.Binary:
			st.text("B no longer has the "+kind+" "+f.A.Name).at(SideA, &diff.Loc{File: f.A.Name, Line: 1})
		case f.Status == diff.StatusRenamed && f.B.Lines > 0 && f.A.Lines > 0 && !f.Binary:
			st.text("the "+kind+" "+f.A.Name+" is called "+f.B.Name+" in B").
				at(SideA, &diff.Loc{File: f.A.Name, Line: 1}).at(SideB, &diff.Loc{File: f.B.Name, Line: 1})
		case f.Status == diff.StatusModified && !upg.FileKind(f.Kind).IsSource() && !f.Equivalent && len(f.Hunks) > 0:
			h := f.Hunks[0]
			st.text("the " + kind + " " + f.B.Name + " changed: " + plural(f.Added, "line", "lines") + " added, " + itoa(f.Removed) + " removed")
			if h.ALines > 0 {
				st.at(SideA, &diff.Loc{File: f.A.Name, Line: h.AStart, EndLine: h.AStart + h.ALines - 1})
			}
			if h.BLines > 0 {
				st.at(SideB, &diff.Loc{File: f.B.Name, Line: h.BStart, EndLine: h.BStart + h.BLines - 1})
			}
		default:
			continue
		}
		if len(st.cites) == 0 {
			continue
		}
		n++
		if n > maxChangeItems {
			continue
		}
		out = append(out, st.done())
	}
	return out
}
