package explain

import (
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// description is a short phrase saying what a name is, with the lines it
// comes from.
type description struct {
	text  string
	cites []Cite
}

// describeName says briefly what the name used at offset of file is: an
// attribute's remark or title, a constant's value, a system name's
// catalogue meaning.
func (p *Package) describeName(name, file string, off int) description {
	r := p.refAt(file, off)
	if r != nil && r.Status == statusDefined {
		switch r.Kind {
		case symAttribute:
			if a := p.attrNodes[defKey{r.DefFile, r.DefLine}]; a != nil {
				return attrDescription(a, r.DefFile)
			}
		case symDefine:
			if d := p.nameDef(r.Canonical, symDefine); d != nil {
				return description{text: "the constant " + d.Type, cites: []Cite{{File: d.File, Start: d.Line, End: d.Line}}}
			}
		}
	}
	if r != nil && r.Kind == symParam {
		return description{text: "a parameter of this section"}
	}
	if m := catalogMeaning(name, upg.CatSystemVariable, upg.CatSystemConstant); m != "" {
		return description{text: m}
	}
	if r != nil && r.Status == statusUserMissing {
		return description{text: "a setup or operation question"}
	}
	return description{}
}

// attrText returns the last non-empty value of one of the sub-commands (in
// priority order) and its command.
func attrText(a *upg.Attribute, keys ...string) (string, *upg.Command) {
	for _, k := range keys {
		var found *upg.Command
		for _, c := range a.Commands {
			if c.Key() == k && strings.TrimSpace(c.Value()) != "" {
				found = c
			}
		}
		if found != nil {
			return strings.TrimSpace(found.Value()), found
		}
	}
	return "", nil
}

// attrCommand returns the last sub-command with this key, or nil.
func attrCommand(a *upg.Attribute, key string) *upg.Command {
	var found *upg.Command
	for _, c := range a.Commands {
		if c.Key() == key {
			found = c
		}
	}
	return found
}

// attrDescription is what an attribute's own text says it is: its remark,
// title or label; else the catalogue meaning of the variable it prints or
// of its name.
func attrDescription(a *upg.Attribute, file string) description {
	if t, c := attrText(a, "ATTREMARK", "ATTRTITLE", "ATTRSHORT", "ATTRLONG"); t != "" {
		return description{text: t, cites: []Cite{{File: file, Start: a.StartLine, End: a.StartLine}, {File: file, Start: int(c.Line), End: int(c.Line)}}}
	}
	if a.Var() != "" {
		if m := catalogMeaning(a.Var(), upg.CatSystemVariable); m != "" {
			c := attrCommand(a, "VAR")
			return description{text: "prints " + strings.TrimSpace(a.Var()) + ": " + m, cites: []Cite{{File: file, Start: int(c.Line), End: int(c.Line)}}}
		}
	}
	if m := catalogMeaning(a.Name); m != "" {
		return description{text: m, cites: []Cite{{File: file, Start: a.StartLine, End: a.StartLine}}}
	}
	return description{}
}

var attrTypeWords = map[string]string{
	"POST":       "a post attribute: a variable or output word that exists only inside the post",
	"DESCRIPTOR": "a machine descriptor: a fixed fact about the machine, set in the post",
	"VALUE":      "a question the user answers with a value",
	"DISPLAY":    "a fixed value shown to the user",
	"SELECT":     "a question the user answers by picking one of its choices",
	"LIST":       "a list that groups other questions",
}

var vtypeWords = map[string]string{
	"INTEGER": "a whole number", "DECIMAL": "a decimal number", "CHARACTER": "text", "FEET": "a length in feet and inches",
}

var flagWords = map[string]string{
	"MUST_BE_DECIMAL": "always a decimal point", "CANNOT_BE_DECIMAL": "never a decimal point",
	"MUST_BE_LEADING": "always leading zeros", "CANNOT_BE_LEADING": "no leading zeros",
	"MUST_BE_TRAILING": "always trailing zeros", "CANNOT_BE_TRAILING": "no trailing zeros",
	"MUST_BE_SIGNED": "always a sign", "CANNOT_BE_SIGNED": "never a sign",
	"MUST_BE_LEADING_SPACES": "padded with blanks on the left", "MUST_BE_TRAILING_SPACES": "padded with blanks on the right",
	"MUST_BE_UPPERCASE": "in upper case", "MUST_BE_LOWERCASE": "in lower case",
}

// Attribute explains an attribute, :DEFINE constant, system variable or
// user question by name, as the package sees it.
func (p *Package) Attribute(name string) (*Explanation, error) {
	name = strings.TrimSpace(name)
	key := upg.CanonicalName(name)
	if name == "" {
		return nil, &NotFoundError{What: "attribute", Name: name, In: "the package"}
	}
	if d := p.nameDef(key, symAttribute); d != nil {
		if a := p.attrNode(d); a != nil {
			return p.explainAttribute(a, d), nil
		}
	}
	if d := p.nameDef(key, symDefine); d != nil {
		return p.explainDefine(d), nil
	}
	refs := p.nameRefs[key]
	if len(refs) > 0 {
		return p.explainName(name, refs), nil
	}
	var names []string
	for _, list := range p.defsBy {
		if len(list) > 0 && p.res.Definitions[list[0]].Kind != symOperation {
			names = append(names, p.res.Definitions[list[0]].Name)
		}
	}
	sort.Strings(names)
	return nil, &NotFoundError{What: "attribute or variable", Name: name, In: "the package", Near: near(name, names, 5)}
}

func (p *Package) explainAttribute(a *upg.Attribute, d *definition) *Explanation {
	file := d.File
	e := &Explanation{Kind: KindAttribute, Subject: a.Name, Title: "Attribute " + a.Name, File: file, Start: a.StartLine, End: a.EndLine}
	head := Part{Key: PartSummary, Title: "What it is"}
	s := newSentence(0).code(a.Name)
	if w, ok := attrTypeWords[strings.ToUpper(strings.TrimSpace(a.Type()))]; ok {
		s.text(" is " + w)
		if c := attrCommand(a, "ATTRTYPE"); c != nil {
			s.text(" (").code(":ATTRTYPE=" + c.Value()).text(")")
			s.cite(file, int(c.Line), int(c.Line))
		}
	} else {
		s.text(" is an attribute")
	}
	s.text(", defined in " + file + " lines " + itoa(a.StartLine) + "–" + itoa(a.EndLine))
	s.cite(file, a.StartLine, a.StartLine)
	head.Sentences = append(head.Sentences, s.done())
	for _, other := range p.defsBy[d.Canonical] {
		od := &p.res.Definitions[other]
		if od.Kind != symAttribute || (od.File == d.File && od.Line == d.Line) {
			continue
		}
		head.Sentences = append(head.Sentences, newSentence(0).text("it is also defined in "+od.File+" line "+itoa(od.Line)+"; uses in this package resolve to the copy in "+d.File).
			cite(od.File, od.Line, od.Line).cite(d.File, d.Line, d.Line).link(symAttribute, od.Name, od.File, od.Line).done())
	}
	e.Parts = append(e.Parts, head)

	ctl := Part{Key: PartControls, Title: "What it controls"}
	for _, k := range []struct{ key, words string }{
		{"ATTREMARK", "its remark says "}, {"ATTRTITLE", "its dialog title is "},
		{"ATTRSHORT", "its dialog label is "}, {"ATTRLONG", "its prompt reads "},
	} {
		if t, c := attrText(a, k.key); t != "" {
			ctl.Sentences = append(ctl.Sentences, newSentence(0).text(k.words+quoteProse(t)).cite(file, int(c.Line), int(c.Line)).done())
		}
	}
	if m := catalogMeaning(a.Name); m != "" {
		ctl.Sentences = append(ctl.Sentences, newSentence(0).text("the language catalogue describes ").code(a.Name).text(": "+m).cite(file, a.StartLine, a.StartLine).done())
	}
	if a.Var() != "" {
		c := attrCommand(a, "VAR")
		s := newSentence(0).text("it takes its value from ").code(strings.TrimSpace(a.Var())).cite(file, int(c.Line), int(c.Line))
		if m := catalogMeaning(a.Var(), upg.CatSystemVariable); m != "" {
			s.text(" (" + m + ")")
		} else if vd := p.nameDef(upg.CanonicalName(a.Var()), symAttribute); vd != nil {
			s.link(symAttribute, vd.Name, vd.File, vd.Line)
		}
		ctl.Sentences = append(ctl.Sentences, s.done())
	}
	if fr := a.CFunc(); fr != nil {
		c := attrCommand(a, "ATTRCFUNC")
		s := newSentence(0).text("each time it is about to be printed, section ").code(fr.Name.Name).text(" runs first and may change or suppress the value")
		if len(fr.Args) > 0 {
			var args []string
			for _, x := range fr.Args {
				args = append(args, exprString(x))
			}
			s.text("; it gets ").code(strings.Join(args, ",")).text(" by reference")
		}
		s.cite(file, int(c.Line), int(c.Line))
		if sd := p.sectionDef(fr.Name.Name); sd != nil {
			s.link(symSection, sd.Name, sd.File, sd.Line)
		}
		ctl.Sentences = append(ctl.Sentences, s.done())
	}
	if fr := a.AttrFunc(); fr != nil {
		c := attrCommand(a, "ATTRFUNC")
		s := newSentence(0).text("when it is attached to geometry, section ").code(fr.Name.Name).text(" runs to write its code").cite(file, int(c.Line), int(c.Line))
		if sd := p.sectionDef(fr.Name.Name); sd != nil {
			s.link(symSection, sd.Name, sd.File, sd.Line)
		}
		ctl.Sentences = append(ctl.Sentences, s.done())
	}
	if c := attrCommand(a, "ATTRUSED"); c != nil && strings.TrimSpace(c.Value()) == "0" {
		ctl.Sentences = append(ctl.Sentences, newSentence(0).text("it is left out of the compiled post (").code(":ATTRUSED=0").text(")").cite(file, int(c.Line), int(c.Line)).done())
	}
	e.addPart(ctl)

	e.addPart(p.attrValues(a, file))
	e.addPart(p.usesPart(d.Canonical, a.Name, file, a.StartLine))
	return e
}

// attrValues says what values an attribute holds and how it prints.
func (p *Package) attrValues(a *upg.Attribute, file string) Part {
	part := Part{Key: PartValues, Title: "Type, values and format"}
	add := func(s *sentence) { part.Sentences = append(part.Sentences, s.done()) }
	if c := attrCommand(a, "ATTRVTYPE"); c != nil {
		if w, ok := vtypeWords[strings.ToUpper(strings.TrimSpace(c.Value()))]; ok {
			add(newSentence(0).text("it holds "+w+" (").code(":ATTRVTYPE="+c.Value()).text(")").cite(file, int(c.Line), int(c.Line)))
		}
	}
	if c := attrCommand(a, "ATTRVCNT"); c != nil && c.Value() != "" {
		add(newSentence(0).text("it is an array of ").code(c.Value()).text(" elements").cite(file, int(c.Line), int(c.Line)))
	}
	if len(a.SelectStrings) > 0 {
		s := newSentence(0).text("its choices are ")
		n := 0
		for _, c := range a.Commands {
			if c.Key() != "ATTRSELSTR" {
				continue
			}
			if n > 0 {
				s.text(", ")
			}
			n++
			s.text(itoa(n) + " = ").code(c.Value())
			s.cite(file, int(c.Line), int(c.Line))
		}
		add(s)
	}
	lo, loc := attrText(a, "ATTRLOW")
	hi, hic := attrText(a, "ATTRHIGH")
	if lo != "" && hi != "" {
		add(newSentence(0).text("it accepts values from ").code(lo).text(" to ").code(hi).cite(file, int(loc.Line), int(loc.Line)).cite(file, int(hic.Line), int(hic.Line)))
	}
	if c := attrCommand(a, "ATTRDEFAULT"); c != nil && strings.TrimSpace(c.Value()) != "" {
		s := newSentence(0).text("its default is ").code(c.Value()).cite(file, int(c.Line), int(c.Line))
		if n := atoiSmall(c.Value()); n >= 1 && n <= len(a.SelectStrings) {
			s.text(" (choice ").code(a.SelectStrings[n-1]).text(")")
			for _, sc := range a.Commands {
				if sc.Key() == "ATTRSELSTR" && sc.Value() == a.SelectStrings[n-1] {
					s.cite(file, int(sc.Line), int(sc.Line))
					break
				}
			}
		}
		add(s)
	}
	if len(a.List) > 0 {
		s := newSentence(0).text("it groups the questions ")
		for i, m := range a.List {
			if i > 0 {
				s.text(", ")
			}
			s.code(m.Name.Value()).cite(file, int(m.Name.Line), int(m.Name.Line))
			if m.Default != nil && m.Default.Value() != "" {
				s.text(" (default ").code(m.Default.Value()).text(")").cite(file, int(m.Default.Line), int(m.Default.Line))
			}
		}
		add(s)
	}
	ct := strings.ToUpper(strings.TrimSpace(a.CodeType()))
	ctc := attrCommand(a, "CODETYPE")
	switch ct {
	case "FORMAT":
		s := newSentence(0).text("it prints its value as a formatted word").cite(file, int(ctc.Line), int(ctc.Line))
		p.wordFormat(s, a.Commands, file)
		add(s)
	case "HARDCODE":
		s := newSentence(0).text("it always prints the fixed text").cite(file, int(ctc.Line), int(ctc.Line))
		if c := attrCommand(a, "CODE"); c != nil {
			s.text(" ").code(pipes(c.Value())).cite(file, int(c.Line), int(c.Line))
		}
		add(s)
	case "SELECT", "SELECT_FORMAT":
		s := newSentence(0).cite(file, int(ctc.Line), int(ctc.Line))
		if ct == "SELECT" {
			s.text("it prints one fixed code chosen by the value of ")
		} else {
			s.text("it chooses one of its formats by the value of ")
		}
		if a.Var() != "" {
			c := attrCommand(a, "VAR")
			s.code(a.Var()).cite(file, int(c.Line), int(c.Line))
		} else {
			s.text("its own value")
		}
		if len(a.Selects) > 0 {
			s.text(": ")
			for i, g := range a.Selects {
				if i >= 12 {
					s.text(" and " + plural(len(a.Selects)-i, "more option", "more options"))
					break
				}
				if i > 0 {
					s.text(", ")
				}
				s.code(g.Key).text(" → ").cite(file, int(g.Select.Line), int(g.Select.Line))
				if ct == "SELECT" {
					if c := lastKey(g.Commands, "CODE"); c != nil {
						s.code(pipes(c.Value())).cite(file, int(c.Line), int(c.Line))
					} else {
						s.text("nothing")
					}
				} else if c := lastKey(g.Commands, "VARB"); c != nil {
					s.code(c.Value()).cite(file, int(c.Line), int(c.Line))
				} else {
					s.text("its own format")
				}
			}
		}
		add(s)
	}
	if c := attrCommand(a, "MODAL"); c != nil {
		v := strings.ToUpper(strings.TrimSpace(c.Value()))
		if v == "YES" || v == "TRUE" {
			add(newSentence(0).text("it is modal (").code(":MODAL="+c.Value()).text("): it prints only when its value changed since it was last printed, unless a template line forces it or SETON switches it on").cite(file, int(c.Line), int(c.Line)))
		}
	}
	return part
}

func lastKey(cmds []*upg.Command, key string) *upg.Command {
	var found *upg.Command
	for _, c := range cmds {
		if c.Key() == key {
			found = c
		}
	}
	return found
}

// wordFormat appends how a FORMAT word is laid out: text before and after,
// places, flags.
func (p *Package) wordFormat(s *sentence, cmds []*upg.Command, file string) {
	if c := lastKey(cmds, "WORD_ADDRESS_BEF"); c != nil && c.Value() != "" {
		s.text(", after the text ").code(pipes(c.Value())).cite(file, int(c.Line), int(c.Line))
	}
	if c := lastKey(cmds, "WORD_ADDRESS_AFT"); c != nil && c.Value() != "" {
		s.text(", followed by ").code(pipes(c.Value())).cite(file, int(c.Line), int(c.Line))
	}
	l, r := lastKey(cmds, "LEFT_PLACES"), lastKey(cmds, "RIGHT_PLACES")
	if l != nil && r != nil && l.Value() != "" && r.Value() != "" {
		s.text(", with ").code(l.Value()).text(" digits before and ").code(r.Value()).text(" after the point").cite(file, int(l.Line), int(l.Line)).cite(file, int(r.Line), int(r.Line))
	}
	var flags []string
	for _, c := range cmds {
		if w, ok := flagWords[c.Key()]; ok {
			flags = append(flags, w)
			s.cite(file, int(c.Line), int(c.Line))
		}
	}
	if len(flags) > 0 {
		s.text(", " + joinWords(flags, "and"))
	}
	if c := lastKey(cmds, "UNITFLAG"); c != nil && strings.EqualFold(strings.TrimSpace(c.Value()), "NON_CONVERT") {
		s.text(", without unit conversion").cite(file, int(c.Line), int(c.Line))
	}
}

func atoiSmall(s string) int {
	s = strings.TrimSpace(s)
	n := 0
	if s == "" || len(s) > 4 {
		return -1
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func (p *Package) explainDefine(d *definition) *Explanation {
	e := &Explanation{Kind: KindAttribute, Subject: d.Name, Title: "Constant " + d.Name, File: d.File, Start: d.Line, End: d.Line}
	e.addPart(Part{Key: PartSummary, Title: "What it is", Sentences: []Sentence{
		newSentence(0).code(d.Name).text(" is a constant that "+d.File+" defines as ").code(d.Type).text(" (").code(":DEFINE").text("); code uses the name instead of the number").cite(d.File, d.Line, d.Line).done(),
	}})
	e.addPart(p.usesPart(d.Canonical, d.Name, d.File, d.Line))
	return e
}

// explainName explains a name the package uses but does not define: a
// system variable or constant of the language, a user question, or an
// unknown name.
func (p *Package) explainName(name string, refs []int) *Explanation {
	first := &p.res.References[refs[0]]
	e := &Explanation{Kind: KindAttribute, Subject: first.Name, Title: first.Name, File: first.File, Start: first.Line, End: first.Line}
	s := newSentence(0).code(first.Name).cite(first.File, first.Line, first.Line)
	switch {
	case first.Kind == symSystem:
		entries := upg.Lookup(name)
		if len(entries) > 0 {
			en := entries[0]
			kind := strings.ReplaceAll(en.Kind, "-", " ")
			s.text(" is a " + kind + " of the UPG language: " + en.Meaning)
			if en.Prefix != "" {
				s.text(" (with the prefix " + en.Prefix + ", which the catalogue explains as a variant of " + strings.TrimPrefix(upg.CanonicalName(name), en.Prefix) + ")")
			}
			if en.Params != "" {
				s.text("; catalogue: " + en.Params)
			}
			if en.Since != "" {
				s.text("; since CAMWorks " + en.Since)
			}
		} else {
			s.text(" is a name of the UPG language")
		}
	case first.Status == statusUserMissing:
		s.text(" is a lower-case name: the answer to a setup or operation question, defined in MASTER.ATR, which is not in this package")
	case first.Status == statusLibraryMissing:
		s.text(" is not defined in the package; a library the package cannot find may define it")
	case first.Kind == symParam:
		s.text(" is a parameter of section ").code(first.Section)
		if sec := p.sectionAtLine(first.File, first.Line); sec != nil {
			s.cite(first.File, sec.StartLine, sec.StartLine)
		}
	default:
		s.text(" is not defined in the package, and the language catalogue does not list it")
	}
	e.addPart(Part{Key: PartSummary, Title: "What it is", Sentences: []Sentence{s.done()}})
	e.addPart(p.usesPart(upg.CanonicalName(name), first.Name, first.File, first.Line))
	return e
}

// usesPart lists where a name is printed, set and read, by section.
func (p *Package) usesPart(canonical, name, defFile string, defLine int) Part {
	part := Part{Key: PartUses, Title: "Where it is used"}
	type group struct {
		words  string
		blocks bool // the places are attribute or operation blocks, not sections
		refs   []*reference
	}
	groups := []*group{
		{words: "printed by "}, {words: "set by "}, {words: "read by "}, {words: "named in the attribute blocks of ", blocks: true},
	}
	for _, i := range p.nameRefs[canonical] {
		r := &p.res.References[i]
		switch {
		case r.Context == upg.RefToken && r.Section != "":
			groups[0].refs = append(groups[0].refs, r)
		case r.Context == upg.RefAssign:
			groups[1].refs = append(groups[1].refs, r)
		case r.Section != "":
			groups[2].refs = append(groups[2].refs, r)
		default:
			groups[3].refs = append(groups[3].refs, r)
		}
	}
	const maxPlaces = 20
	for _, g := range groups {
		if len(g.refs) == 0 {
			continue
		}
		s := newSentence(0).text("it is " + g.words)
		type place struct {
			label     string // section or block name ("" when the reference is in no block)
			file      string
			labelLine int // the line that names the section or block
		}
		var places []place
		seen := map[string]bool{}
		for _, r := range g.refs {
			pl := place{file: r.File}
			if sec := p.sectionAtLine(r.File, r.Line); sec != nil {
				pl.label, pl.labelLine = sec.Name, sec.StartLine
			} else if name, line := p.enclosingBlock(r); name != "" {
				pl.label, pl.labelLine = name, line
			}
			k := r.File + "\x00" + pl.label + "\x00" + itoa(pl.labelLine)
			if seen[k] {
				if len(places) <= maxPlaces {
					s.cite(r.File, r.Line, r.Line)
				}
				continue
			}
			seen[k] = true
			places = append(places, pl)
			if len(places) <= maxPlaces {
				s.cite(r.File, r.Line, r.Line)
				if pl.labelLine > 0 {
					s.cite(r.File, pl.labelLine, pl.labelLine)
				}
			}
		}
		for i, pl := range places {
			if i == maxPlaces {
				s.text(" and " + plural(len(places)-maxPlaces, "more place", "more places"))
				break
			}
			if i > 0 {
				s.text(", ")
			}
			if pl.label == "" {
				s.text(pl.file)
				continue
			}
			s.code(pl.label).text(" (" + pl.file + ")")
			if g.blocks {
				s.link(symAttribute, pl.label, pl.file, pl.labelLine)
			} else {
				s.link(symSection, pl.label, pl.file, pl.labelLine)
			}
		}
		s.text(" — " + plural(len(g.refs), "use", "uses") + " in all")
		part.Sentences = append(part.Sentences, s.done())
	}
	if len(part.Sentences) == 0 {
		part.Sentences = append(part.Sentences, newSentence(0).text("nothing in the package uses ").code(name).cite(defFile, defLine, defLine).done())
	}
	return part
}

// enclosingBlock names the attribute or operation block around a
// reference outside sections, and the line that starts it.
func (p *Package) enclosingBlock(r *reference) (string, int) {
	f := p.files[r.File]
	if f == nil {
		return "", 0
	}
	for _, a := range f.Attributes {
		if a.StartLine <= r.Line && r.Line <= a.EndLine {
			return a.Name, a.StartLine
		}
	}
	for _, o := range f.Operations {
		if o.StartLine <= r.Line && r.Line <= o.EndLine {
			return o.ID, o.StartLine
		}
	}
	return "", 0
}

// sectionAtLine returns the section holding a line of a file, or nil.
func (p *Package) sectionAtLine(file string, line int) *upg.Section {
	f := p.files[file]
	if f == nil {
		return nil
	}
	l := f.LineAt(line)
	if l == nil {
		return nil
	}
	return f.SectionAt(int(l.Offset))
}

func (e *Explanation) addPart(p Part) {
	if len(p.Sentences) > 0 {
		e.Parts = append(e.Parts, p)
	}
}
