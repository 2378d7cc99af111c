package explain

import (
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// maxSteps bounds the step-by-step part of one explanation; what is left
// out is counted in the notes.
const maxSteps = 250

// maxCallers bounds the callers listed under "when it runs".
const maxCallers = 40

// Section explains a section. With file empty, the definition of the name
// that the package uses (its source wins over libraries) is explained.
func (p *Package) Section(file, name string) (*Explanation, error) {
	name = strings.TrimSpace(name)
	var f *upg.File
	var s *upg.Section
	if file != "" {
		if f = p.fileByName(file); f == nil {
			return nil, &NotFoundError{What: "file", Name: file, In: "the package", Near: near(file, p.order, 5)}
		}
		s = f.Section(name)
		if s == nil {
			var names []string
			for _, x := range f.Sections {
				names = append(names, x.Name)
			}
			return nil, &NotFoundError{What: "section", Name: name, In: f.Name, Near: near(name, names, 5)}
		}
	} else {
		d := p.sectionDef(name)
		if d == nil {
			var names []string
			for n := range p.sectionsBy {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, &NotFoundError{What: "section", Name: name, In: "the package", Near: near(name, names, 5)}
		}
		f, s = p.files[d.File], p.sectionNode(d)
		if s == nil {
			return nil, &NotFoundError{What: "section", Name: name, In: d.File}
		}
	}
	return p.explainSection(f, s, 0, 0), nil
}

// explainSection explains section s of f; from/to (when not zero) limit the
// outputs and steps to those lines.
func (p *Package) explainSection(f *upg.File, s *upg.Section, from, to int) *Explanation {
	w := &writer{p: p, f: f, sec: s}
	e := &Explanation{Kind: KindSection, Subject: s.Name, Title: "Section " + s.Name, File: f.Name, Start: s.StartLine, End: s.EndLine}
	e.addPart(Part{Key: PartSummary, Title: "What it is", Sentences: []Sentence{w.sectionSummary()}})
	e.addPart(Part{Key: PartWhen, Title: "When it runs", Sentences: w.whenItRuns()})
	n := &narrator{w: w, from: from, to: to}
	e.addPart(Part{Key: PartOutputs, Title: "What it outputs", Sentences: n.outputs()})
	e.addPart(Part{Key: PartComputes, Title: "What it computes, step by step", Sentences: n.steps()})
	e.addPart(Part{Key: PartNames, Title: "What it reads and sets", Sentences: w.names(from, to)})
	e.addPart(Part{Key: PartDepends, Title: "What it depends on", Sentences: w.depends()})
	e.addPart(Part{Key: PartNotes, Title: "Left out", Sentences: n.notes})
	return e
}

// sectionSummary: what kind of section it is and where.
func (w *writer) sectionSummary() Sentence {
	s := w.sec
	st := newSentence(0).code(s.Name).cite(w.f.Name, s.StartLine, s.StartLine)
	if s.Calc {
		st.text(" is a calculation section")
	} else {
		st.text(" is an output (template) section")
	}
	st.text(" in " + w.f.Name + ", lines " + itoa(s.StartLine) + "–" + itoa(s.EndLine))
	if len(s.Params) > 0 {
		var ps []string
		for _, x := range s.Params {
			ps = append(ps, x.Name)
		}
		st.text(", with the parameters ").code(strings.Join(ps, ",")).text(" (bound to the caller's arguments by reference)")
	}
	t, c := len(s.Templates), s.CalcLines
	switch {
	case t == 0 && c == 0:
		st.text("; it is empty, so it only matters that it exists")
	case t > 0 && c > 0:
		st.text("; it has " + plural(t, "output line", "output lines") + " and " + plural(c, "calculation line", "calculation lines"))
	case t > 0:
		st.text("; it has " + plural(t, "output line", "output lines"))
	default:
		st.text("; it has " + plural(c, "calculation line", "calculation lines"))
	}
	return st.done()
}

// whenItRuns: the system event, the overriding copy, and who calls it.
func (w *writer) whenItRuns() []Sentence {
	s := w.sec
	var out []Sentence
	hdr := func() *sentence { return newSentence(0).cite(w.f.Name, s.StartLine, s.StartLine) }
	// A copy another file overrides never runs.
	// A second definition in the same file: the first one is used.
	if first := w.f.Section(s.Name); first != nil && first != s && first.Name == s.Name {
		out = append(out, hdr().text("this second definition of ").code(s.Name).text(" in "+w.f.Name+" is never used; the first one, at line "+itoa(first.StartLine)+", is").
			cite(w.f.Name, first.StartLine, first.StartLine).done())
		return out
	}
	mine := w.p.defAt(w.f.Name, s.StartLine, s.Name)
	if mine != nil && mine.Overridden {
		if win := w.p.sectionDef(s.Name); win != nil && win != mine {
			out = append(out, hdr().text("this copy of ").code(s.Name).text(" never runs: the copy in "+win.File+" line "+itoa(win.Line)+" wins, because a source overrides the libraries it includes and an earlier library a later one").
				cite(win.File, win.Line, win.Line).link(symSection, win.Name, win.File, win.Line).done())
			return out
		}
	}
	if e, ok := upg.LookupKind(s.Name, upg.CatSystemSection); ok {
		st := hdr().text("the posting system calls ").code(s.Name).text(" itself: " + e.Meaning)
		if e.Since != "" {
			st.text(" (since CAMWorks " + e.Since + ")")
		}
		out = append(out, st.done())
	} else if upg.IsTemplateSection(s.Name) {
		e, _ := upg.LookupKind(s.Name, upg.CatOther)
		out = append(out, hdr().text("the language catalogue lists ").code(s.Name).text(" as an output section the posting system or the library uses: "+e.Meaning).done())
	} else if e, ok := upg.LookupKind(s.Name, upg.CatCalcSection); ok {
		out = append(out, hdr().text("the language catalogue describes ").code(s.Name).text(": "+e.Meaning).done())
	}

	// Callers, grouped by calling section (or attribute).
	var refs []*reference
	if mine != nil {
		for _, i := range w.p.callers[defKey{mine.File, mine.Line}] {
			refs = append(refs, &w.p.res.References[i])
		}
	}
	type caller struct {
		ctx   string
		label string // section or attribute
		file  string
		line  int // header line of the caller
		refs  []*reference
		cmd   string // built-in command for section arguments
	}
	var callers []*caller
	index := map[string]*caller{}
	for _, r := range refs {
		c := &caller{ctx: r.Context, file: r.File}
		if sec := w.p.sectionAtLine(r.File, r.Line); sec != nil {
			c.label, c.line = sec.Name, sec.StartLine
		} else if name, line := w.p.enclosingBlock(r); name != "" {
			c.label, c.line = name, line
		}
		if r.Context == upg.RefSectionArg {
			c.cmd = w.p.commandOf(r)
		}
		k := c.ctx + "\x00" + c.file + "\x00" + c.label + "\x00" + itoa(c.line) + "\x00" + c.cmd
		if have, ok := index[k]; ok {
			have.refs = append(have.refs, r)
			continue
		}
		c.refs = []*reference{r}
		index[k] = c
		callers = append(callers, c)
	}
	guardedOnly := func(c *caller) bool {
		for _, r := range c.refs {
			if !w.p.guardedCall(r) {
				return false
			}
		}
		return true
	}
	calls := 0
	for _, c := range callers {
		if c.ctx == upg.RefSectionExist {
			continue
		}
		calls++
		if calls > maxCallers {
			continue
		}
		st := newSentence(0)
		for _, r := range c.refs {
			st.cite(r.File, r.Line, r.Line)
		}
		if c.line > 0 {
			st.cite(c.file, c.line, c.line)
		}
		label := func() {
			if c.label != "" {
				st.code(c.label)
			} else {
				st.text(c.file)
			}
		}
		switch c.ctx {
		case upg.RefCall:
			label()
			st.text(" (" + c.file + ") calls it")
			if guardedOnly(c) {
				st.text(" when it exists")
			}
			if len(c.refs) > 1 {
				st.text(", at " + plural(len(c.refs), "place", "places"))
			}
			if d := w.p.defAt(c.file, c.line, c.label); d != nil && d.Overridden {
				st.text(", but that copy never runs (another file's copy replaces it)")
			}
			st.link(symSection, c.label, c.file, c.line)
		case upg.RefSectionArg:
			label()
			st.text(" (" + c.file + ") hands it to ")
			if c.cmd != "" {
				st.code(c.cmd)
				if m := catalogMeaning(c.cmd, upg.CatSystemCommand); m != "" {
					st.text(" (" + m + ")")
				}
			} else {
				st.text("a built-in command")
			}
			st.link(symSection, c.label, c.file, c.line)
		case upg.RefAttrCFunc:
			st.text("it runs each time attribute ")
			label()
			st.text(" (" + c.file + ") is about to be printed (its ").code(":ATTRCFUNC").text(")")
			st.link(symAttribute, c.label, c.file, c.line)
		case upg.RefAttrFunc:
			st.text("it runs when attribute ")
			label()
			st.text(" (" + c.file + ") is attached to geometry (its ").code(":ATTRFUNC").text(")")
			st.link(symAttribute, c.label, c.file, c.line)
		default:
			label()
			st.text(" (" + c.file + ") refers to it")
		}
		out = append(out, st.done())
	}
	if calls > maxCallers {
		w.p.noteCut(&out, calls-maxCallers, "more callers are not listed", w.f.Name, s.StartLine)
	}
	// Existence checks without a call in the same place: a switch.
	var checks []*caller
	for _, c := range callers {
		if c.ctx == upg.RefSectionExist {
			checks = append(checks, c)
		}
	}
	if len(checks) > 0 && calls == 0 {
		st := newSentence(0).text("other code only checks whether it exists (").code("SECTIONEXIST").text("), so its presence switches that code on: ")
		for i, c := range checks {
			if i >= maxCallers {
				st.text(" and " + plural(len(checks)-i, "more", "more"))
				break
			}
			if i > 0 {
				st.text(", ")
			}
			if c.label != "" {
				st.code(c.label).text(" (" + c.file + ")")
				st.link(symSection, c.label, c.file, c.line)
			} else {
				st.text(c.file)
			}
			for _, r := range c.refs {
				st.cite(r.File, r.Line, r.Line)
			}
			if c.line > 0 {
				st.cite(c.file, c.line, c.line)
			}
		}
		out = append(out, st.done())
	}
	if calls == 0 && len(out) == 0 {
		st := hdr().text("nothing in the package calls ").code(s.Name).text(", and the language catalogue does not list it as a section the posting system calls")
		if upg.IsUserName(s.Name) {
			st.text("; lower-case sections are usually run through an attribute's :ATTRFUNC")
		}
		out = append(out, st.done())
	}
	return out
}

// defAt returns the package definition of a section at a header line.
func (p *Package) defAt(file string, line int, name string) *definition {
	for _, i := range p.sectionsBy[name] {
		if d := &p.res.Definitions[i]; d.File == file && d.Line == line {
			return d
		}
	}
	return nil
}

// guardedCall reports whether a call is made under IF SECTIONEXIST of the
// same section (the usual guard for optional output sections).
func (p *Package) guardedCall(r *reference) bool {
	f := p.files[r.File]
	if f == nil {
		return false
	}
	sec := p.sectionAtLine(r.File, r.Line)
	if sec == nil {
		return false
	}
	guarded := false
	var walk func(list []upg.Stmt, guards []string)
	walk = func(list []upg.Stmt, guards []string) {
		for _, st := range list {
			switch st := st.(type) {
			case *upg.IfStmt:
				g := guards
				if name := sectionExistArg(st.Cond); name != "" {
					g = append(append([]string(nil), guards...), name)
				}
				walk(st.Body, g)
				walk(st.Else, guards)
			case *upg.CallStmt:
				if st.Section != nil && st.Section.NamePos == r.Offset {
					for _, n := range guards {
						if n == r.Name {
							guarded = true
						}
					}
				}
			}
		}
	}
	walk(sec.Body(), nil)
	return guarded
}

// sectionExistArg returns X of a condition SECTIONEXIST(X) (possibly inside
// AND), or "".
func sectionExistArg(x upg.Expr) string {
	switch x := unparen(x).(type) {
	case *upg.CallExpr:
		if strings.EqualFold(x.Fun.Name, "SECTIONEXIST") && len(x.Args) == 1 {
			if id, ok := x.Args[0].(*upg.Ident); ok {
				return id.Name
			}
		}
	case *upg.BinaryExpr:
		if x.Op == "AND" {
			if n := sectionExistArg(x.X); n != "" {
				return n
			}
			return sectionExistArg(x.Y)
		}
	}
	return ""
}

// commandOf returns the built-in command a section argument is passed to
// (GETTOOLS, SYS_CANNED …).
func (p *Package) commandOf(r *reference) string {
	sec := p.sectionAtLine(r.File, r.Line)
	if sec == nil {
		return ""
	}
	found := ""
	for _, st := range sec.Body() {
		upg.Inspect(st, func(n upg.Node) bool {
			if found != "" {
				return false
			}
			if c, ok := n.(*upg.CallExpr); ok {
				for _, a := range c.Args {
					if id, ok := a.(*upg.Ident); ok && id.NamePos == r.Offset {
						found = c.Fun.Name
						return false
					}
				}
			}
			return true
		})
		if found != "" {
			break
		}
	}
	return found
}

// noteCut adds a sentence saying how much was left out.
func (p *Package) noteCut(out *[]Sentence, n int, what, file string, line int) {
	*out = append(*out, newSentence(0).text("… "+itoa(n)+" "+what).cite(file, line, line).done())
}

// names: what the section (or the lines from..to of it) reads and sets,
// grouped by what the names are.
func (w *writer) names(from, to int) []Sentence {
	s := w.sec
	refs := w.p.refsIn(w.f.Name, s.Pos(), s.End())
	type use struct {
		name  string
		lines []int
		ref   *reference
	}
	type group struct {
		order []string
		uses  map[string]*use
	}
	newGroup := func() *group { return &group{uses: map[string]*use{}} }
	groups := map[string]*group{}
	add := func(g string, r *reference) {
		if groups[g] == nil {
			groups[g] = newGroup()
		}
		gr := groups[g]
		k := r.Canonical
		u := gr.uses[k]
		if u == nil {
			u = &use{name: r.Name, ref: r}
			gr.uses[k] = u
			gr.order = append(gr.order, k)
		}
		u.lines = append(u.lines, r.Line)
	}
	for _, r := range refs {
		if from > 0 && (r.Line < from || r.Line > to) {
			continue
		}
		if isSectionContext(r.Context) || r.Context == upg.RefCommand || r.Context == upg.RefToken {
			continue
		}
		verb := "reads"
		if r.Context == upg.RefAssign {
			verb = "sets"
		}
		what := "unknown"
		if r.Status == statusLibraryMissing {
			what = "missing"
		}
		switch r.Kind {
		case symAttribute:
			what = "attribute"
		case symDefine:
			what = "define"
		case symSystem:
			what = "system"
		case symParam:
			what = "param"
		case symOperation:
			what = "operation"
		default:
			if r.Status == statusUserMissing {
				what = "user"
			}
		}
		if what == "define" && verb == "reads" {
			continue // constants are listed under "depends on"
		}
		add(verb+"\x00"+what, r)
	}
	labels := []struct{ key, words string }{
		{"sets\x00attribute", "it sets the package attributes "},
		{"sets\x00system", "it sets the system variables "},
		{"sets\x00param", "it assigns to its parameters (the caller sees the change) "},
		{"sets\x00user", "it sets the setup answers "},
		{"sets\x00unknown", "it sets names that neither the package nor the language catalogue defines: "},
		{"sets\x00missing", "it sets names the package does not define (a library it cannot find may): "},
		{"reads\x00attribute", "it reads the package attributes "},
		{"reads\x00system", "it reads the system names "},
		{"reads\x00param", "it reads its parameters "},
		{"reads\x00user", "it reads the setup or operation answers "},
		{"reads\x00operation", "it compares with the operation ids "},
		{"reads\x00unknown", "it reads names that neither the package nor the language catalogue defines: "},
		{"reads\x00missing", "it reads names the package does not define (a library it cannot find may): "},
	}
	const maxNames = 30
	var out []Sentence
	for _, l := range labels {
		g := groups[l.key]
		if g == nil {
			continue
		}
		st := newSentence(0).text(l.words)
		for i, k := range g.order {
			u := g.uses[k]
			if i == maxNames {
				st.text(" and " + plural(len(g.order)-maxNames, "more", "more"))
				break
			}
			if i > 0 {
				st.text(", ")
			}
			st.code(u.name)
			for _, ln := range u.lines {
				st.cite(w.f.Name, ln, ln)
			}
			if u.ref.Status == statusDefined {
				st.link(u.ref.Kind, u.ref.Name, u.ref.DefFile, u.ref.DefLine)
			}
			if strings.HasSuffix(l.key, "system") && i < 12 {
				if m := catalogMeaning(u.name, upg.CatSystemVariable, upg.CatSystemConstant); m != "" {
					st.text(" (" + shorten(m, 60) + ")")
				}
			}
		}
		out = append(out, st.done())
	}
	return out
}

// shorten cuts a catalogue meaning at a word boundary.
func shorten(t string, n int) string {
	if len(t) <= n {
		return t
	}
	cut := strings.LastIndexByte(t[:n], ' ')
	if cut < n/2 {
		cut = n
	}
	return t[:cut] + "…"
}

// depends: the file the section comes from, what it overrides, the
// sections it calls, the attributes and constants from other files.
func (w *writer) depends() []Sentence {
	s := w.sec
	p := w.p
	var out []Sentence
	file := w.f.Name
	hdr := func() *sentence { return newSentence(0).cite(file, s.StartLine, s.StartLine) }
	switch p.role(file) {
	case roleMain:
		out = append(out, hdr().text("it is defined in the main source "+file).done())
	case roleLibrary, roleInclude:
		st := hdr().text("it comes from " + file)
		if l, ok := p.includedBy[file]; ok {
			st.text(", which "+l.From+" pulls in with ").code(":"+strings.ToUpper(l.Directive)+"="+l.Path).text(" (line "+itoa(l.Line)+")").cite(l.From, l.Line, l.Line)
		}
		out = append(out, st.done())
	case roleUnusedLib:
		out = append(out, hdr().text("it is defined in "+file+", a library no main source of the package includes, so it is not compiled into this post").done())
	}
	mine := p.defAt(file, s.StartLine, s.Name)
	if mine != nil && !mine.Overridden {
		for _, d := range p.sectionDefs(s.Name) {
			if d.File == file || !d.Overridden {
				continue
			}
			out = append(out, hdr().text("it replaces the copy of ").code(s.Name).text(" in "+d.File+" (line "+itoa(d.Line)+"), which is never used").
				cite(d.File, d.Line, d.Line).link(symSection, d.Name, d.File, d.Line).done())
		}
	}

	// Sections it calls.
	type callee struct {
		name   string
		lines  []int
		status string
		def    *reference
	}
	var callees []*callee
	byName := map[string]*callee{}
	refs := p.refsIn(file, s.Pos(), s.End())
	var otherAttrs = map[string][]*reference{}
	var otherOrder []string
	defines := map[string][]*reference{}
	var defineOrder []string
	for _, r := range refs {
		switch {
		case r.Context == upg.RefCall || r.Context == upg.RefSectionArg:
			c := byName[r.Name]
			if c == nil {
				c = &callee{name: r.Name, status: r.Status}
				byName[r.Name] = c
				callees = append(callees, c)
			}
			c.lines = append(c.lines, r.Line)
			if r.Status == statusDefined {
				c.def = r
			}
		case r.Kind == symAttribute && r.Status == statusDefined && r.DefFile != file:
			if _, ok := otherAttrs[r.DefFile]; !ok {
				otherOrder = append(otherOrder, r.DefFile)
			}
			otherAttrs[r.DefFile] = append(otherAttrs[r.DefFile], r)
		case r.Kind == symDefine && r.Status == statusDefined:
			if _, ok := defines[r.Canonical]; !ok {
				defineOrder = append(defineOrder, r.Canonical)
			}
			defines[r.Canonical] = append(defines[r.Canonical], r)
		}
	}
	var defined, missing []*callee
	for _, c := range callees {
		if c.def != nil {
			defined = append(defined, c)
		} else {
			missing = append(missing, c)
		}
	}
	if len(defined) > 0 {
		st := newSentence(0).text("it calls ")
		for i, c := range defined {
			if i > 0 {
				st.text(", ")
			}
			st.code(c.name)
			if c.def.DefFile != file {
				st.text(" (" + c.def.DefFile + ")")
			}
			for _, ln := range c.lines {
				st.cite(file, ln, ln)
			}
			st.link(symSection, c.name, c.def.DefFile, c.def.DefLine)
		}
		out = append(out, st.done())
	}
	for _, c := range missing {
		st := newSentence(0).text("it calls ").code(c.name)
		for _, ln := range c.lines {
			st.cite(file, ln, ln)
		}
		switch c.status {
		case statusGuarded:
			st.text(", which the package does not define; the call is guarded by SECTIONEXIST, so nothing happens")
		case statusLibraryMissing:
			st.text(", which the package does not define; a library the package cannot find may define it")
		default:
			st.text(", which no file of the package defines: at run time the call finds nothing")
		}
		out = append(out, st.done())
	}
	for _, df := range otherOrder {
		list := otherAttrs[df]
		st := newSentence(0).text("it uses attributes defined in " + df + ": ")
		seen := map[string]bool{}
		n := 0
		for _, r := range list {
			st.cite(file, r.Line, r.Line)
			if seen[r.Canonical] {
				continue
			}
			seen[r.Canonical] = true
			if n == 30 {
				st.text(" and more")
			}
			n++
			if n > 30 {
				continue
			}
			if n > 1 {
				st.text(", ")
			}
			st.code(r.Name)
			st.link(symAttribute, r.Name, r.DefFile, r.DefLine)
		}
		out = append(out, st.done())
	}
	if len(defineOrder) > 0 {
		st := newSentence(0).text("it uses the constants ")
		for i, k := range defineOrder {
			list := defines[k]
			r := list[0]
			if i == 30 {
				st.text(" and " + plural(len(defineOrder)-30, "more", "more"))
				break
			}
			if i > 0 {
				st.text(", ")
			}
			st.code(r.Name)
			if d := p.nameDef(k, symDefine); d != nil {
				st.text(" = ").code(d.Type).cite(d.File, d.Line, d.Line).link(symDefine, d.Name, d.File, d.Line)
			}
			for _, u := range list {
				st.cite(file, u.Line, u.Line)
			}
		}
		out = append(out, st.done())
	}
	return out
}
