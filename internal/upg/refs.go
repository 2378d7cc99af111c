package upg

import "strings"

// Reference contexts: where in the source a name is used.
const (
	RefToken        = "token"         // <NAME> on a :T: line, SETON(<NAME>)
	RefExpr         = "expr"          // a name read in an expression (:C:, template IF, token value)
	RefAssign       = "assign"        // a name assigned in :C: code (NAME=…, NAME(i)=…)
	RefCall         = "call"          // CALL(SECTION)
	RefSectionArg   = "section-arg"   // SYS_CANNED(n,SECTION), GETTOOLS(n,SECTION), FASTLINE(SECTION) …
	RefSectionExist = "sectionexist"  // SECTIONEXIST(SECTION)
	RefVar          = "var"           // :VAR=
	RefVarB         = "varb"          // :VARB=
	RefAttrList     = "attrlist"      // :ATTRLIST=
	RefOperList     = "operlist"      // :OPERLIST=
	RefAttrCFunc    = "attrcfunc"     // :ATTRCFUNC=SECTION(…)
	RefAttrCFuncArg = "attrcfunc-arg" // an argument of :ATTRCFUNC=SECTION(ARG,…)
	RefAttrFunc     = "attrfunc"      // :ATTRFUNC=SECTION
	RefCommand      = "command"       // NAME(…) used as a statement where NAME is not a catalogued built-in
)

// Reference targets: what a reference should resolve to.
const (
	TargetName    = "name"    // an attribute, a :DEFINE, a section parameter or a system name
	TargetSection = "section" // a section
)

// Ref is one use of a name in a file, before package resolution.
type Ref struct {
	Name    string `json:"name"`    // as written
	Target  string `json:"target"`  // TargetName or TargetSection
	Context string `json:"context"` // one of the Ref* contexts
	Offset  int    `json:"offset"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Section string `json:"section,omitempty"` // enclosing section ("" outside sections)
	// Param is set when the name is a parameter of the enclosing section.
	Param bool `json:"param,omitempty"`
	// Guarded is set on section references made under IF SECTIONEXIST(X)
	// of the same section (the usual guard for optional template sections),
	// and on SECTIONEXIST itself.
	Guarded bool `json:"guarded,omitempty"`
	// Args is the number of arguments passed to a section (calls), -1 when
	// the call has no argument list.
	Args int `json:"args"`
	// Attribute is the enclosing attribute for :VAR=/:ATTRCFUNC= … references.
	Attribute string `json:"attribute,omitempty"`
	// Guards are the SECTIONEXIST tests a section reference sits under, from
	// the outermost IF inwards: the use only runs when each named section
	// exists (Exists) or is absent (an ELSE branch, or a test compared with
	// FALSE/0). Set on section references only.
	Guards []Guard `json:"guards,omitempty"`
}

// Guard is one SECTIONEXIST condition a reference runs under.
type Guard struct {
	Section string `json:"section"`
	Exists  bool   `json:"exists"`
}

// References lists every use of a name in the file, in source order: names
// in template tokens and expressions, CALLs and other section references,
// and the name links of attribute/operation blocks. Names of built-in
// functions (ABS, STRCAT …) and keywords are not references.
func (f *File) References() []Ref {
	c := refCollector{f: f}
	for _, it := range f.Items {
		switch it := it.(type) {
		case *Attribute:
			c.attribute(it)
		case *Operation:
			for _, cmd := range it.Commands {
				if cmd.Key() == "OPERLIST" && cmd.Value() != "" {
					c.add(cmd.Value(), TargetName, RefOperList, int(cmd.ValuePos), -1)
				}
			}
		case *Section:
			c.section(it)
		}
	}
	return c.refs
}

type refCollector struct {
	f      *File
	refs   []Ref
	sec    *Section
	attr   string
	guards []Guard // SECTIONEXIST conditions of the enclosing IF/ELSE branches
}

func (c *refCollector) add(name, target, ctx string, off, args int) *Ref {
	pos := c.f.Position(off)
	r := Ref{Name: name, Target: target, Context: ctx, Offset: off, Line: pos.Line, Col: pos.Col, Args: args, Attribute: c.attr}
	if c.sec != nil {
		r.Section = c.sec.Name
		if target == TargetName {
			for _, p := range c.sec.Params {
				if strings.EqualFold(p.Name, name) {
					r.Param = true
					break
				}
			}
		}
	}
	if target == TargetSection && len(c.guards) > 0 {
		r.Guards = append([]Guard(nil), c.guards...)
		for _, g := range c.guards {
			if g.Exists && g.Section == name {
				r.Guarded = true
				break
			}
		}
	}
	c.refs = append(c.refs, r)
	return &c.refs[len(c.refs)-1]
}

func (c *refCollector) attribute(a *Attribute) {
	c.attr = a.Name
	defer func() { c.attr = "" }()
	for _, cmd := range a.Commands {
		switch cmd.Key() {
		case "VAR":
			if cmd.Value() != "" {
				c.add(cmd.Value(), TargetName, RefVar, int(cmd.ValuePos), -1)
			}
		case "VARB":
			if cmd.Value() != "" {
				c.add(cmd.Value(), TargetName, RefVarB, int(cmd.ValuePos), -1)
			}
		case "ATTRLIST":
			if cmd.Value() != "" {
				c.add(cmd.Value(), TargetName, RefAttrList, int(cmd.ValuePos), -1)
			}
		case "ATTRCFUNC":
			if fr := cmd.Func(); fr != nil {
				n := -1
				if fr.Lparen >= 0 {
					n = len(fr.Args)
				}
				c.add(fr.Name.Name, TargetSection, RefAttrCFunc, fr.Name.NamePos, n)
				for _, arg := range fr.Args {
					c.expr(arg, RefAttrCFuncArg)
				}
			}
		case "ATTRFUNC":
			if fr := cmd.Func(); fr != nil {
				c.add(fr.Name.Name, TargetSection, RefAttrFunc, fr.Name.NamePos, -1)
			}
		}
	}
}

func (c *refCollector) section(s *Section) {
	c.sec = s
	defer func() { c.sec = nil }()
	for _, tl := range s.Templates {
		if tl.If != nil && tl.If.Cond != nil {
			c.expr(tl.If.Cond, RefExpr)
		}
		for _, it := range tl.Items {
			tok, ok := it.(*TokenItem)
			if !ok {
				continue
			}
			if tok.Form == FormAttr && tok.Name != nil {
				c.add(tok.Name.Name, TargetName, RefToken, tok.Name.NamePos, -1)
			}
			if tok.Value != nil {
				if l, ok := tok.Value.(*BasicLit); !ok || l.Kind != LitString {
					c.expr(tok.Value, RefExpr)
				}
			}
		}
	}
	c.stmts(s.Body())
}

func (c *refCollector) stmts(list []Stmt) {
	for _, s := range list {
		c.stmt(s)
	}
}

func (c *refCollector) stmt(s Stmt) {
	switch s := s.(type) {
	case *AssignStmt:
		switch l := s.Lhs.(type) {
		case *Ident:
			c.add(l.Name, TargetName, RefAssign, l.NamePos, -1)
		case *CallExpr:
			c.add(l.Fun.Name, TargetName, RefAssign, l.Fun.NamePos, -1)
			for _, a := range l.Args {
				c.expr(a, RefExpr)
			}
		default:
			c.expr(s.Lhs, RefExpr)
		}
		c.expr(s.Rhs, RefExpr)
	case *CallStmt:
		if s.Section != nil {
			n := -1
			if s.HasArgs {
				n = len(s.Args)
			}
			c.add(s.Section.Name, TargetSection, RefCall, s.Section.NamePos, n)
		}
		for _, a := range s.Args {
			c.expr(a, RefExpr)
		}
	case *CommandStmt:
		if call, ok := s.X.(*CallExpr); ok && !isFunctionName(call.Fun.Name) {
			c.add(call.Fun.Name, TargetName, RefCommand, call.Fun.NamePos, -1)
			for _, a := range call.Args {
				c.expr(a, RefExpr)
			}
			return
		}
		c.expr(s.X, RefExpr)
	case *IfStmt:
		c.expr(s.Cond, RefExpr)
		n := len(c.guards)
		c.guards = append(c.guards, guardsOf(s.Cond, true)...)
		c.stmts(s.Body)
		c.guards = append(c.guards[:n], guardsOf(s.Cond, false)...)
		c.stmts(s.Else)
		c.guards = c.guards[:n]
	}
}

// guardsOf returns the SECTIONEXIST conditions that certainly hold when
// cond evaluates to truth: SECTIONEXIST(X) (also compared with TRUE/1 or,
// negated, with FALSE/0), combined with AND and OR. UPG has no NOT, so an
// absent section is tested by the ELSE branch or by comparing with FALSE.
func guardsOf(cond Expr, truth bool) []Guard {
	switch x := cond.(type) {
	case *CallExpr:
		if strings.EqualFold(x.Fun.Name, "SECTIONEXIST") && len(x.Args) == 1 {
			if id, ok := x.Args[0].(*Ident); ok {
				return []Guard{{Section: id.Name, Exists: truth}}
			}
		}
	case *ParenExpr:
		return guardsOf(x.X, truth)
	case *BinaryExpr:
		switch strings.ToUpper(x.Op) {
		case "AND", "OR":
			a, b := guardsOf(x.X, truth), guardsOf(x.Y, truth)
			// A AND B true, or A OR B false: both hold; otherwise only
			// what both sides have in common.
			if (strings.EqualFold(x.Op, "AND")) == truth {
				return append(a, b...)
			}
			return commonGuards(a, b)
		case "=", "<>":
			test := x.X
			v, ok := boolValue(x.Y)
			if !ok {
				test = x.Y
				if v, ok = boolValue(x.X); !ok {
					return nil
				}
			}
			if x.Op == "<>" {
				v = !v
			}
			return guardsOf(test, truth == v)
		}
	}
	return nil
}

// boolValue reads TRUE/FALSE/1/0.
func boolValue(x Expr) (bool, bool) {
	switch l := x.(type) {
	case *Ident:
		switch strings.ToUpper(l.Name) {
		case "TRUE", "YES":
			return true, true
		case "FALSE", "NO":
			return false, true
		}
	case *BasicLit:
		switch l.Value {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	return false, false
}

func commonGuards(a, b []Guard) []Guard {
	var out []Guard
	for _, g := range a {
		for _, h := range b {
			if g == h {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func (c *refCollector) expr(x Expr, ctx string) {
	switch x := x.(type) {
	case *Ident:
		c.add(x.Name, TargetName, ctx, x.NamePos, -1)
	case *BinaryExpr:
		c.expr(x.X, ctx)
		c.expr(x.Y, ctx)
	case *UnaryExpr:
		c.expr(x.X, ctx)
	case *ParenExpr:
		c.expr(x.X, ctx)
	case *TokenRef:
		if x.Name != nil {
			c.add(x.Name.Name, TargetName, RefToken, x.Name.NamePos, -1)
		}
	case *CallExpr:
		name := x.Fun.Name
		if !isFunctionName(name) {
			// an array element: GC(G_LINE), MACH(REG_X)
			c.add(name, TargetName, ctx, x.Fun.NamePos, -1)
			for _, a := range x.Args {
				c.expr(a, RefExpr)
			}
			return
		}
		up := strings.ToUpper(name)
		secArg := sectionArgIndex([]byte(name))
		for i, a := range x.Args {
			if i == secArg {
				if id, ok := a.(*Ident); ok {
					if strings.EqualFold(id.Name, "SYSTEM") {
						continue // "let the posting system do it"
					}
					rc := RefSectionArg
					if up == "SECTIONEXIST" {
						rc = RefSectionExist
					}
					r := c.add(id.Name, TargetSection, rc, id.NamePos, -1)
					if up == "SECTIONEXIST" {
						r.Guarded = true
					}
					continue
				}
			}
			c.expr(a, RefExpr)
		}
	}
}
