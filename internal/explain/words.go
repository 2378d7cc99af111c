package explain

import (
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// writer turns syntax into words for one file (and section).
type writer struct {
	p   *Package
	f   *upg.File
	sec *upg.Section
}

// line returns the 1-based line of an offset.
func (w *writer) line(off int) int { return w.f.Position(off).Line }

// span returns the first and last line of a node.
func (w *writer) span(n upg.Node) (int, int) {
	a := w.line(n.Pos())
	end := n.End() - 1
	if end < n.Pos() {
		end = n.Pos()
	}
	return a, w.line(end)
}

// exprString prints an expression compactly, the way it is written.
func exprString(x upg.Expr) string {
	var b strings.Builder
	writeExpr(&b, x)
	return b.String()
}

func writeExpr(b *strings.Builder, x upg.Expr) {
	switch x := x.(type) {
	case nil:
	case *upg.Ident:
		b.WriteString(x.Name)
	case *upg.BasicLit:
		b.WriteString(x.Value)
	case *upg.BinaryExpr:
		writeExpr(b, x.X)
		if x.Op == "AND" || x.Op == "OR" {
			b.WriteString(" " + x.Op + " ")
		} else {
			b.WriteString(x.Op)
		}
		writeExpr(b, x.Y)
	case *upg.UnaryExpr:
		b.WriteString(x.Op)
		writeExpr(b, x.X)
	case *upg.ParenExpr:
		b.WriteByte('(')
		writeExpr(b, x.X)
		b.WriteByte(')')
	case *upg.CallExpr:
		b.WriteString(x.Fun.Name)
		b.WriteByte('(')
		for i, a := range x.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			writeExpr(b, a)
		}
		b.WriteByte(')')
	case *upg.TokenRef:
		b.WriteByte('<')
		if x.Name != nil {
			b.WriteString(x.Name.Name)
		}
		if x.Force {
			b.WriteByte('!')
		}
		b.WriteByte('>')
	case *upg.BadExpr:
		b.WriteString("…")
	}
}

// unparen removes redundant parentheses around an expression.
func unparen(x upg.Expr) upg.Expr {
	for {
		p, ok := x.(*upg.ParenExpr)
		if !ok || p.X == nil {
			return x
		}
		x = p.X
	}
}

var relWords = map[string]string{
	"=": "is", "<>": "is not", "<": "is less than", ">": "is greater than",
	"<=": "is at most", ">=": "is at least", "!=": "is not",
}

// cond writes a condition in words: "`A` is greater than `53` and `A` is
// less than `59`".
func (w *writer) cond(s *sentence, x upg.Expr) {
	x = unparen(x)
	switch x := x.(type) {
	case nil:
		s.text("(a missing condition)")
	case *upg.BinaryExpr:
		switch x.Op {
		case "AND", "OR":
			if a, b, op, ok := atLeast(x); ok {
				w.operand(s, a)
				s.text(" " + op + " ")
				w.operand(s, b)
				return
			}
			w.condPart(s, x.X)
			s.text(" " + strings.ToLower(x.Op) + " ")
			w.condPart(s, x.Y)
			return
		}
		if rel, ok := relWords[x.Op]; ok {
			if l, ok := unparen(x.Y).(*upg.BasicLit); ok && l.Kind == upg.LitString && l.Unquoted() == "" {
				w.operand(s, x.X)
				if x.Op == "=" {
					s.text(" is empty")
				} else {
					s.text(" is not empty")
				}
				return
			}
			w.operand(s, x.X)
			s.text(" " + rel + " ")
			w.operand(s, x.Y)
			return
		}
		w.operand(s, x)
	case *upg.CallExpr:
		if strings.EqualFold(x.Fun.Name, "SECTIONEXIST") && len(x.Args) == 1 {
			s.text("section ")
			w.operand(s, x.Args[0])
			s.text(" exists")
			return
		}
		w.operand(s, x)
		s.text(" is true")
	case *upg.Ident:
		w.operand(s, x)
		s.text(" is set")
	default:
		w.operand(s, x)
	}
}

// condPart writes one side of AND/OR, keeping a nested group in parentheses.
func (w *writer) condPart(s *sentence, x upg.Expr) {
	if p, ok := x.(*upg.ParenExpr); ok {
		if b, ok := unparen(p).(*upg.BinaryExpr); ok && (b.Op == "AND" || b.Op == "OR") {
			s.text("(")
			w.cond(s, b)
			s.text(")")
			return
		}
	}
	w.cond(s, x)
}

// atLeast recognises "A=B OR A>B" (UPG has no >=) and "A=B OR A<B".
func atLeast(x *upg.BinaryExpr) (a, b upg.Expr, op string, ok bool) {
	if x.Op != "OR" {
		return nil, nil, "", false
	}
	l, lok := unparen(x.X).(*upg.BinaryExpr)
	r, rok := unparen(x.Y).(*upg.BinaryExpr)
	if !lok || !rok {
		return nil, nil, "", false
	}
	if r.Op == "=" {
		l, r = r, l
	}
	if l.Op != "=" || (r.Op != ">" && r.Op != "<") {
		return nil, nil, "", false
	}
	if exprString(l.X) != exprString(r.X) || exprString(l.Y) != exprString(r.Y) {
		return nil, nil, "", false
	}
	if r.Op == ">" {
		return l.X, l.Y, "is at least", true
	}
	return l.X, l.Y, "is at most", true
}

// operand writes an expression as a code span and links the names in it.
func (w *writer) operand(s *sentence, x upg.Expr) {
	s.code(exprString(x))
	w.linkNames(s, x)
}

// linkNames links every name in x that the package defines.
func (w *writer) linkNames(s *sentence, x upg.Node) {
	if x == nil {
		return
	}
	upg.Inspect(x, func(n upg.Node) bool {
		if id, ok := n.(*upg.Ident); ok {
			w.linkRef(s, id.NamePos)
		}
		if t, ok := n.(*upg.TokenRef); ok && t.Name != nil {
			w.linkRef(s, t.Name.NamePos)
			return false
		}
		return true
	})
}

// linkRef links the reference at offset to its definition, when the
// package defines it.
func (w *writer) linkRef(s *sentence, off int) {
	r := w.p.refAt(w.f.Name, off)
	if r == nil || r.Status != statusDefined {
		return
	}
	kind := r.Kind
	switch kind {
	case symSection, symAttribute, symDefine:
	default:
		return
	}
	s.link(kind, r.Name, r.DefFile, r.DefLine)
}

// catalogMeaning returns the catalogue's meaning of a name of one of the
// given kinds (any kind when none is given).
func catalogMeaning(name string, kinds ...string) string {
	for _, e := range upg.Lookup(name) {
		if len(kinds) == 0 {
			return e.Meaning
		}
		for _, k := range kinds {
			if e.Kind == k {
				return e.Meaning
			}
		}
	}
	return ""
}

// pipes turns the '|' blanks of word addresses and codes into spaces.
func pipes(v string) string { return strings.ReplaceAll(v, "|", " ") }

// quoteProse puts a text from the source (a remark, a title) in quotes.
func quoteProse(t string) string { return "“" + strings.TrimSpace(t) + "”" }
