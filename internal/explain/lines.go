package explain

import (
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// MaxLines is the longest range Lines explains at once.
const MaxLines = 2000

// RangeError says a line range cannot be explained as asked.
type RangeError struct {
	File     string
	From, To int
	Lines    int // lines the file has
}

func (e *RangeError) Error() string {
	if e.From > e.Lines {
		return "line " + itoa(e.From) + " is past the end of " + e.File + " (" + plural(e.Lines, "line", "lines") + ")"
	}
	if e.From > e.To {
		return "the range " + itoa(e.From) + "-" + itoa(e.To) + " is empty: the first line must not be after the last"
	}
	return "the range " + itoa(e.From) + "-" + itoa(e.To) + " is longer than " + itoa(MaxLines) + " lines; select fewer lines"
}

// Lines explains lines from..to (1-based, inclusive) of a source file: each
// header setting, constant, library, attribute, operation block and section
// part in the range.
func (p *Package) Lines(file string, from, to int) (*Explanation, error) {
	f := p.fileByName(file)
	if f == nil {
		return nil, &NotFoundError{What: "UPG source file", Name: file, In: "the package", Near: near(file, p.order, 5)}
	}
	n := len(f.Lines)
	if to == 0 {
		to = from
	}
	if from < 1 {
		from = 1
	}
	if from > n || from > to || to-from+1 > MaxLines {
		return nil, &RangeError{File: f.Name, From: from, To: to, Lines: n}
	}
	to = min(to, n)
	e := &Explanation{Kind: KindLines, Subject: f.Name + ":" + itoa(from) + "-" + itoa(to), File: f.Name, Start: from, End: to}
	e.Title = "Lines " + itoa(from) + "–" + itoa(to) + " of " + f.Name
	if from == to {
		e.Title = "Line " + itoa(from) + " of " + f.Name
	}
	w := &writer{p: p, f: f}
	overlaps := func(a, b int) bool { return b >= from && a <= to }

	var headers, defines, includes, strays []Sentence
	items := 0
	for _, it := range f.Items {
		a, b := w.span(it)
		if !overlaps(a, b) {
			continue
		}
		items++
		switch x := it.(type) {
		case *upg.Command:
			headers = append(headers, headerSentence(f.Name, x, "", 0))
		case *upg.Define:
			st := newSentence(0).text("defines the constant ").code(x.Name).text(" as ").code(x.Value).cite(f.Name, x.Line, x.Line)
			if uses := len(p.nameRefs[upg.CanonicalName(x.Name)]); uses > 0 {
				st.text("; the package uses it " + plural(uses, "time", "times"))
			}
			defines = append(defines, st.done())
		case *upg.Include:
			includes = append(includes, p.includeSentence(f.Name, x))
		case *upg.Attribute:
			d := p.defAtName(f.Name, x.StartLine, x.Name)
			if d == nil {
				continue
			}
			ae := p.explainAttribute(x, d)
			part := Part{Key: PartLines, Title: "Attribute " + x.Name}
			for _, k := range []string{PartSummary, PartControls, PartValues} {
				if ap := ae.Part(k); ap != nil {
					part.Sentences = append(part.Sentences, ap.Sentences...)
				}
			}
			e.addPart(part)
		case *upg.Operation:
			st := newSentence(0).code(":OPERID=" + x.ID)
			if x.Sub != "" {
				st.text(" (").code(":OPERSUB=" + x.Sub).text(")")
			}
			if len(x.List) > 0 {
				st.text(" adds the questions ")
				for i, q := range x.List {
					if i > 0 {
						st.text(", ")
					}
					st.code(q)
				}
				st.text(" to that operation's dialog")
			} else {
				st.text(" starts an operation-question block without questions")
			}
			st.cite(f.Name, x.StartLine, x.EndLine)
			e.addPart(Part{Key: PartLines, Title: "Operation " + x.ID, Sentences: []Sentence{st.done()}})
		case *upg.Section:
			w.sec = x
			part := Part{Key: PartLines, Title: "Section " + x.Name}
			part.Sentences = append(part.Sentences, w.sectionSummary())
			if from > x.StartLine || to < x.EndLine {
				part.Sentences = append(part.Sentences, newSentence(0).text("only lines "+itoa(max(from, x.StartLine))+"–"+itoa(min(to, x.EndLine))+" of it are explained here").
					cite(f.Name, max(from, x.StartLine), min(to, x.EndLine)).done())
			}
			part.Sentences = append(part.Sentences, w.whenItRuns()...)
			nr := &narrator{w: w, from: from, to: to}
			part.Sentences = append(part.Sentences, nr.outputs()...)
			part.Sentences = append(part.Sentences, nr.steps()...)
			part.Sentences = append(part.Sentences, w.names(from, to)...)
			part.Sentences = append(part.Sentences, nr.notes...)
			e.addPart(part)
			w.sec = nil
		case *upg.StrayText:
			strays = append(strays, newSentence(0).text("line "+itoa(x.Line)+" is stray text, not a UPG line; the compiler ignores it").cite(f.Name, x.Line, x.Line).done())
		}
	}
	var front []Part
	if len(headers) > 0 {
		front = append(front, Part{Key: PartLines, Title: "Header settings", Sentences: headers})
	}
	if len(includes) > 0 {
		front = append(front, Part{Key: PartLines, Title: "Libraries", Sentences: includes})
	}
	if len(defines) > 0 {
		front = append(front, Part{Key: PartLines, Title: "Constants", Sentences: defines})
	}
	e.Parts = append(front, e.Parts...)
	if len(strays) > 0 {
		e.Parts = append(e.Parts, Part{Key: PartLines, Title: "Stray text", Sentences: strays})
	}
	if items == 0 {
		e.Parts = append(e.Parts, Part{Key: PartSummary, Title: "What is there", Sentences: []Sentence{
			newSentence(0).text(commentOnly(f, from, to)).cite(f.Name, from, to).done(),
		}})
	}
	return e, nil
}

// commentOnly describes a range that holds no UPG item.
func commentOnly(f *upg.File, from, to int) string {
	comments, blanks := 0, 0
	for l := from; l <= to; l++ {
		switch f.LineAt(l).Kind {
		case upg.LineComment, upg.LineMarker:
			comments++
		case upg.LineBlank:
			blanks++
		}
	}
	switch {
	case comments > 0 && blanks > 0:
		return "these lines hold only comments and blank lines, which the compiler ignores"
	case comments > 0:
		return "these lines are comments, which the compiler ignores"
	case blanks > 0:
		return "these lines are blank"
	}
	return "these lines hold no UPG command, attribute or section"
}

// defAtName returns the package definition of an attribute at its start line.
func (p *Package) defAtName(file string, line int, name string) *definition {
	for _, i := range p.defsBy[upg.CanonicalName(name)] {
		if d := &p.res.Definitions[i]; d.File == file && d.Line == line {
			return d
		}
	}
	return nil
}

// headerSentence explains one header command line (of a source or a .CNF):
// its value and the catalogue's meaning.
func headerSentence(file string, c *upg.Command, name string, line int) Sentence {
	if c != nil {
		name, line = c.Name(), int(c.Line)
	}
	val := ""
	if c != nil {
		val = c.Value()
	}
	st := newSentence(0).code(":"+name+"="+val).cite(file, line, line)
	if e, ok := upg.LookupKind(name, upg.CatHeaderCommand); ok {
		st.text(": " + e.Meaning)
		if e.Params != "" && !strings.HasPrefix(e.Params, "=") {
			st.text(" (" + e.Params + ")")
		}
	} else if e, ok := upg.LookupKind(name, upg.CatCompilerCommand); ok {
		st.text(": " + e.Meaning)
	} else {
		st.text(" is not a header command the language catalogue knows")
	}
	return st.done()
}

// includeSentence explains a :LIBRARY=/:INCLUDE= line: which package file it
// pulls in.
func (p *Package) includeSentence(file string, inc *upg.Include) Sentence {
	dir := "INCLUDE"
	if inc.Library {
		dir = "LIBRARY"
	}
	st := newSentence(0).code(":"+dir+"="+inc.Path).cite(file, inc.Line, inc.Line)
	for _, l := range p.res.Libraries {
		if l.From != file || l.Line != inc.Line {
			continue
		}
		if l.How == howUnresolved {
			st.text(" names " + upg.BaseName(inc.Path) + ", which is not in the package (" + l.Explanation + "), so whatever it defines is unknown here")
		} else {
			st.text(" pulls in the package file " + l.Resolved + " (" + l.Explanation + ")")
		}
		return st.done()
	}
	st.text(" names " + upg.BaseName(inc.Path))
	return st.done()
}
