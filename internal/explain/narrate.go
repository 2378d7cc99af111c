package explain

import (
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// narrator tells what a section's lines do, in source order. from/to (when
// not zero) keep only what touches those lines.
type narrator struct {
	w        *writer
	from, to int
	steps_   []Sentence
	cut      int // statements left out beyond maxSteps
	cutFrom  int // line of the first one
	notes    []Sentence
}

func (n *narrator) inRange(a, b int) bool {
	return n.from == 0 || (b >= n.from && a <= n.to)
}

// outputs explains the :T: lines; a calculation section says which output
// sections it prints through.
func (n *narrator) outputs() []Sentence {
	w := n.w
	var out []Sentence
	for _, tl := range w.sec.Templates {
		if n.inRange(tl.Line, tl.Line) {
			out = append(out, w.templateLine(tl, 0))
		}
	}
	if len(w.sec.Templates) > 0 {
		if st := n.modalNote(); st != nil {
			out = append(out, *st)
		}
		return out
	}
	// A calculation section prints through the output sections it calls.
	var names []string
	lines := map[string][]int{}
	defs := map[string]*reference{}
	for _, r := range w.p.refsIn(w.f.Name, w.sec.Pos(), w.sec.End()) {
		if r.Context != upg.RefCall || isCalcName(r.Name) || !n.inRange(r.Line, r.Line) {
			continue
		}
		if _, ok := lines[r.Name]; !ok {
			names = append(names, r.Name)
		}
		lines[r.Name] = append(lines[r.Name], r.Line)
		if r.Status == statusDefined {
			defs[r.Name] = r
		}
	}
	if len(names) > 0 {
		st := newSentence(0).text("it prints no lines itself; it prints by calling the output sections ")
		for i, nm := range names {
			if i > 0 {
				st.text(", ")
			}
			st.code(nm)
			for _, l := range lines[nm] {
				st.cite(w.f.Name, l, l)
			}
			if d := defs[nm]; d != nil {
				st.link(symSection, nm, d.DefFile, d.DefLine)
			} else {
				st.text(" (not defined in the package)")
			}
		}
		out = append(out, st.done())
	}
	return out
}

// modalNote says which printed words are modal (printed only when their
// value changed), citing their :MODAL lines.
func (n *narrator) modalNote() *Sentence {
	w := n.w
	seen := map[string]bool{}
	var names []string
	var cites []Cite
	for _, tl := range w.sec.Templates {
		if !n.inRange(tl.Line, tl.Line) {
			continue
		}
		for _, it := range tl.Items {
			tok, ok := it.(*upg.TokenItem)
			if !ok || tok.Form != upg.FormAttr || tok.Name == nil {
				continue
			}
			r := w.p.refAt(w.f.Name, tok.Name.NamePos)
			if r == nil || r.Status != statusDefined || r.Kind != symAttribute || seen[r.Canonical] {
				continue
			}
			seen[r.Canonical] = true
			a := w.p.attrNodes[defKey{r.DefFile, r.DefLine}]
			if a == nil {
				continue
			}
			c := attrCommand(a, "MODAL")
			if c == nil {
				continue
			}
			if v := strings.ToUpper(strings.TrimSpace(c.Value())); v != "YES" && v != "TRUE" {
				continue
			}
			names = append(names, tok.Name.Name)
			cites = append(cites, Cite{File: w.f.Name, Start: tl.Line, End: tl.Line}, Cite{File: r.DefFile, Start: int(c.Line), End: int(c.Line)})
		}
	}
	if len(names) == 0 {
		return nil
	}
	s := newSentence(0)
	if len(names) == 1 {
		s.text("the word ")
	} else {
		s.text("the words ")
	}
	for i, nm := range names {
		if i > 0 {
			s.text(", ")
		}
		s.code(nm)
	}
	if len(names) == 1 {
		s.text(" is modal: it prints")
	} else {
		s.text(" are modal: each prints")
	}
	s.text(" only when its value changed since it was last printed, unless the line forces it (a ! after the name)")
	s.cites = cites
	d := s.done()
	return &d
}

func isCalcName(name string) bool { return strings.HasPrefix(upg.CanonicalName(name), "CALC") }

// steps narrates the calculation statements.
func (n *narrator) steps() []Sentence {
	n.stmts(n.w.sec.Body(), 0)
	if n.cut > 0 {
		n.notes = append(n.notes, newSentence(0).text("the step-by-step part stops after "+itoa(maxSteps)+" steps; "+plural(n.cut, "more statement is", "more statements are")+" not described (lines "+itoa(n.cutFrom)+"–"+itoa(n.w.sec.EndLine)+")").
			cite(n.w.f.Name, n.cutFrom, n.w.sec.EndLine).done())
	}
	return n.steps_
}

func (n *narrator) emit(s Sentence) bool {
	if len(n.steps_) >= maxSteps {
		return false
	}
	n.steps_ = append(n.steps_, s)
	return true
}

// stmts narrates a statement list at a depth.
func (n *narrator) stmts(list []upg.Stmt, depth int) {
	w := n.w
	for i := 0; i < len(list); i++ {
		st := list[i]
		a, b := w.span(st)
		if !n.inRange(a, b) {
			continue
		}
		if len(n.steps_) >= maxSteps {
			n.countCut(st)
			continue
		}
		switch x := st.(type) {
		case *upg.AssignStmt:
			// A run of assignments becomes one sentence.
			run := []*upg.AssignStmt{x}
			for i+1 < len(list) && len(run) < 6 {
				nx, ok := list[i+1].(*upg.AssignStmt)
				if !ok {
					break
				}
				na, nb := w.span(nx)
				if !n.inRange(na, nb) {
					break
				}
				run = append(run, nx)
				i++
			}
			s := newSentence(depth)
			for j, as := range run {
				if j > 0 {
					s.text("; ")
				}
				w.assign(s, as)
				ra, rb := w.span(as)
				s.cite(w.f.Name, ra, rb)
			}
			n.emit(s.done())
		case *upg.IfStmt:
			n.ifStmt(x, depth, "if ")
		default:
			s := newSentence(depth)
			w.stmtPhrase(s, st)
			s.cite(w.f.Name, a, b)
			n.emit(s.done())
		}
	}
}

// countCut counts statements left out (nested ones too).
func (n *narrator) countCut(st upg.Stmt) {
	if n.cut == 0 {
		n.cutFrom = n.w.line(st.Pos())
	}
	n.cut++
}

// ifStmt narrates IF … THEN … [ELSE …] ENDIF. A one-statement body without
// ELSE is one sentence; ELSE IF chains stay flat.
func (n *narrator) ifStmt(x *upg.IfStmt, depth int, lead string) {
	w := n.w
	condEnd := w.line(x.If)
	if x.Then >= 0 {
		condEnd = w.line(x.Then)
	} else if x.Cond != nil {
		condEnd = w.line(x.Cond.End() - 1)
	}
	ifLine := w.line(x.If)
	if len(x.Else) == 0 && len(x.Body) == 1 {
		if _, nested := x.Body[0].(*upg.IfStmt); !nested {
			s := newSentence(depth).text(lead)
			w.cond(s, x.Cond)
			s.text(", ")
			if as, ok := x.Body[0].(*upg.AssignStmt); ok {
				w.assign(s, as)
			} else {
				w.stmtPhrase(s, x.Body[0])
			}
			_, b := w.span(x.Body[0])
			s.cite(w.f.Name, ifLine, max(b, condEnd))
			n.emit(s.done())
			return
		}
	}
	s := newSentence(depth).text(lead)
	w.cond(s, x.Cond)
	s.text(":")
	s.cite(w.f.Name, ifLine, condEnd)
	n.emit(s.done())
	if len(x.Body) == 0 {
		n.emit(newSentence(depth+1).text("nothing").cite(w.f.Name, ifLine, condEnd).done())
	}
	n.stmts(x.Body, depth+1)
	if len(x.Else) == 0 {
		return
	}
	elseLine := w.line(x.ElsePos)
	if len(x.Else) == 1 {
		if inner, ok := x.Else[0].(*upg.IfStmt); ok {
			n.ifStmt(inner, depth, "otherwise, if ")
			return
		}
	}
	n.emit(newSentence(depth).text("otherwise:").cite(w.f.Name, elseLine, elseLine).done())
	n.stmts(x.Else, depth+1)
}

// assign writes "sets `X` to `Y`" (or a recognised idiom).
func (w *writer) assign(s *sentence, x *upg.AssignStmt) {
	lhs := exprString(x.Lhs)
	rhs := unparen(x.Rhs)
	if b, ok := rhs.(*upg.BinaryExpr); ok && (b.Op == "+" || b.Op == "-") && exprString(b.X) == lhs {
		if b.Op == "+" {
			s.text("adds ")
			w.operand(s, b.Y)
			s.text(" to ")
		} else {
			s.text("subtracts ")
			w.operand(s, b.Y)
			s.text(" from ")
		}
		w.operand(s, x.Lhs)
		return
	}
	if l, ok := rhs.(*upg.BasicLit); ok && l.Kind == upg.LitString && l.Unquoted() == "" {
		s.text("empties ")
		w.operand(s, x.Lhs)
		return
	}
	s.text("sets ")
	w.operand(s, x.Lhs)
	s.text(" to ")
	w.operand(s, x.Rhs)
}

// stmtPhrase writes what one statement does, as a verb phrase.
func (w *writer) stmtPhrase(s *sentence, st upg.Stmt) {
	switch x := st.(type) {
	case *upg.AssignStmt:
		w.assign(s, x)
	case *upg.CallStmt:
		if x.Section == nil {
			s.text("has a CALL without a section name")
			return
		}
		s.text("calls ").code(x.Section.Name)
		w.linkRef(s, x.Section.NamePos)
		if len(x.Args) > 0 {
			var args []string
			for _, a := range x.Args {
				args = append(args, exprString(a))
			}
			s.text(" with ").code(strings.Join(args, ",")).text(" (by reference)")
			for _, a := range x.Args {
				w.linkNames(s, a)
			}
		}
		if r := w.p.refAt(w.f.Name, x.Section.NamePos); r != nil {
			switch r.Status {
			case statusDefined:
				if !isCalcName(x.Section.Name) {
					s.text(", which prints its output lines")
				}
			case statusGuarded:
				s.text(" (not defined in the package; guarded, so nothing happens)")
			default:
				s.text(" (not defined in the package)")
			}
		}
	case *upg.CommandStmt:
		w.command(s, x.X)
	case *upg.GotoStmt:
		s.text("jumps to label " + itoa(x.Label))
		for _, l := range w.sec.Labels {
			if l.N == x.Label {
				s.text(" (line " + itoa(l.Line) + ")")
				s.cite(w.f.Name, l.Line, l.Line)
				break
			}
		}
	case *upg.ReturnStmt:
		s.text("returns: the rest of the section is skipped")
	case *upg.IfStmt:
		s.text("if ")
		w.cond(s, x.Cond)
		s.text(", it runs further steps")
	case *upg.BadStmt:
		s.text("has code the parser could not read")
	}
}

// command writes a built-in command statement in words.
func (w *writer) command(s *sentence, x upg.Expr) {
	var name string
	var args []upg.Expr
	switch c := x.(type) {
	case *upg.CallExpr:
		name, args = c.Fun.Name, c.Args
	case *upg.Ident:
		name = c.Name
	default:
		s.text("runs ")
		w.operand(s, x)
		return
	}
	up := strings.ToUpper(name)
	switch up {
	case "SETON", "SETOFF":
		on := up == "SETON"
		if len(args) == 0 {
			if on {
				s.text("switches printing of the attribute being formatted on (").code(name + "()").text(")")
			} else {
				s.text("switches printing of the attribute being formatted off (").code(name + "()").text(")")
			}
			return
		}
		if on {
			s.text("makes ")
		} else {
			s.text("stops ")
		}
		for i, a := range args {
			if i > 0 {
				s.text(", ")
			}
			if t, ok := a.(*upg.TokenRef); ok && t.Name != nil {
				s.code(t.Name.Name)
				w.linkRef(s, t.Name.NamePos)
			} else {
				w.operand(s, a)
			}
		}
		if on {
			s.text(" print at its next use even if unchanged (").code("SETON").text(")")
		} else {
			s.text(" from printing at its next use (").code("SETOFF").text(")")
		}
		return
	}
	s.text("runs ")
	w.operand(s, x)
	if m := catalogMeaning(name, upg.CatSystemCommand, upg.CatQueryCommand); m != "" {
		s.text(": " + m)
	} else if r := w.p.refAt(w.f.Name, x.Pos()); r != nil && r.Status != statusDefined {
		s.text(" (neither a built-in command nor defined in the package)")
	}
	// Section arguments (GETTOOLS(2,SECTION) …) link to the section.
	for _, a := range args {
		if id, ok := a.(*upg.Ident); ok {
			w.linkRef(s, id.NamePos)
		}
	}
}
