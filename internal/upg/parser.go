package upg

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unsafe"
)

// Parse parses one UPG source file (.SRC, .LIB, .ATR or an :INCLUDE file).
// It never fails and never stops at the first problem: the result always
// holds the complete lossless tree, and Diagnostics says what is wrong.
// filename is only used for messages and for the file kind. The File keeps
// src, and the names in the tree share its memory: do not modify src after
// calling Parse.
func Parse(filename string, src []byte) *File {
	lx := newLexer(src, true)
	lx.run()
	f := &File{
		Name:   filename,
		Kind:   KindOf(filename),
		Src:    src,
		Tokens: lx.toks,
		Lines:  lx.lines,
	}
	p := &parser{
		f:     f,
		src:   src,
		text:  unsafeString(src),
		toks:  lx.toks,
		lines: lx.lines,
		diags: lx.diags,
	}
	p.presize(&lx.nKind)
	p.parse()
	for i := range p.diags {
		p.diags[i].File = filename
	}
	SortDiagnostics(p.diags)
	f.Diagnostics = p.diags
	return f
}

// unsafeString views b as a string without copying. Parse documents that
// src must not be modified afterwards, which is what makes this safe.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

type slab[T any] struct{ buf []T }

func (s *slab[T]) alloc() *T {
	if len(s.buf) == cap(s.buf) {
		n := 2 * cap(s.buf)
		if n < 32 {
			n = 32
		}
		if n > 2048 {
			n = 2048
		}
		s.buf = make([]T, 0, n)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// tailArena backs many small slices that grow one element at a time, one
// of them at a time (the sub-commands of the open attribute, …): a slice
// that ends at the arena's tail grows in place; any other slice is moved
// to the tail first. Returned slices are capped at their length, so an
// append by a caller copies instead of overwriting a neighbour.
type tailArena[T any] struct{ buf []T }

func (a *tailArena[T]) push(cur []T, x T) []T {
	n := len(cur)
	l := len(a.buf)
	if n > 0 && l > 0 && l < cap(a.buf) && &cur[n-1] == &a.buf[l-1] {
		a.buf = append(a.buf, x)
		return a.buf[l-n : l+1 : l+1]
	}
	if cap(a.buf)-l < n+1 {
		a.buf = make([]T, 0, max(256, 4*(n+1)))
		l = 0
	}
	a.buf = append(a.buf, cur...)
	a.buf = append(a.buf, x)
	return a.buf[l : l+n+1 : l+n+1]
}

type parser struct {
	f     *File
	src   []byte
	text  string // string copy of src: names are substrings of it (no per-name allocation)
	toks  []Token
	lines []Line
	diags []Diagnostic

	// open blocks
	sec      *Section
	secCalc  []int32 // indices of the :C: lines of the open section
	attr     *Attribute
	oper     *Operation
	secNames map[string]int // canonical section name → 1-based line of first definition

	// calculation parsing state
	sig      []int32 // significant token indices being parsed
	si       int     // cursor into sig
	panicLn  int32   // line on which a syntax error was reported (suppress cascades)
	gotos    []*GotoStmt
	exprBuf  []Expr
	curSec   *Section
	depth    int // nesting depth of the expression/statement parser
	warnedEO bool
	isBinary bool // NUL bytes seen: line-level noise is not reported

	// allocation slabs
	identS   slab[Ident]
	litS     slab[BasicLit]
	binS     slab[BinaryExpr]
	callS    slab[CallExpr]
	assignS  slab[AssignStmt]
	cmdStmtS slab[CommandStmt]
	ifS      slab[IfStmt]
	commandS slab[Command]
	tlineS   slab[TemplateLine]
	tokItemS slab[TokenItem]
	textS    slab[TextItem]
	calcLS   slab[CalcLine]
	parenS   slab[ParenExpr]
	callStS  slab[CallStmt]
	retS     slab[ReturnStmt]
	attrS    slab[Attribute]
	operS    slab[Operation]
	secS     slab[Section]
	defS     slab[Define]
	incS     slab[Include]
	selS     slab[SelectGroup]
	funcS    slab[FuncRef]
	gotoS    slab[GotoStmt]
	cmdsA    tailArena[*Command] // Attribute.Commands, Operation.Commands
	selCmdsA tailArena[*Command] // SelectGroup.Commands
	strsA    tailArena[string]   // Attribute.SelectStrings, Operation.List
	selsA    tailArena[*SelectGroup]
	listA    tailArena[ListMember]
	paramsA  tailArena[*Ident]
	labelsA  tailArena[Label]
	exprSlab []Expr // backing store for argument lists
	stmtSlab []Stmt // backing store for statement lists
	stmtTmp  []Stmt // scratch stack for statement lists being built
	itemSlab []TemplateItem
	itemTmp  []TemplateItem
}

// carveExprs copies xs into a shared backing array and returns the copy
// (full slice expression: appending to it never overwrites a neighbour).
func (p *parser) carveExprs(xs []Expr) []Expr {
	n := len(xs)
	if n == 0 {
		return nil
	}
	if cap(p.exprSlab)-len(p.exprSlab) < n {
		p.exprSlab = make([]Expr, 0, max(1024, n))
	}
	l := len(p.exprSlab)
	p.exprSlab = append(p.exprSlab, xs...)
	return p.exprSlab[l : l+n : l+n]
}

func (p *parser) carveStmts(xs []Stmt) []Stmt {
	n := len(xs)
	if n == 0 {
		return nil
	}
	if cap(p.stmtSlab)-len(p.stmtSlab) < n {
		p.stmtSlab = make([]Stmt, 0, max(1024, n))
	}
	l := len(p.stmtSlab)
	p.stmtSlab = append(p.stmtSlab, xs...)
	return p.stmtSlab[l : l+n : l+n]
}

func (p *parser) carveItems(xs []TemplateItem) []TemplateItem {
	n := len(xs)
	if n == 0 {
		return nil
	}
	if cap(p.itemSlab)-len(p.itemSlab) < n {
		p.itemSlab = make([]TemplateItem, 0, max(1024, n))
	}
	l := len(p.itemSlab)
	p.itemSlab = append(p.itemSlab, xs...)
	return p.itemSlab[l : l+n : l+n]
}

// presize gives the slabs of the one-per-line nodes exactly the room the
// file needs (the lexer counted the lines of each kind).
func (p *parser) presize(n *[numLineKinds]int32) {
	nCmd := 0
	for k := LineHeader; k <= LineSection; k++ {
		nCmd += int(n[k])
	}
	if nCmd > 0 {
		p.commandS.buf = make([]Command, 0, nCmd)
	}
	if c := int(n[LineCalc]); c > 0 {
		p.calcLS.buf = make([]CalcLine, 0, c)
	}
	if c := int(n[LineTemplate]); c > 0 {
		p.tlineS.buf = make([]TemplateLine, 0, c)
	}
	if c := int(n[LineAttrStart]); c > 0 {
		p.attrS.buf = make([]Attribute, 0, c)
	}
	if c := int(n[LineSection]); c > 0 {
		p.secS.buf = make([]Section, 0, c)
	}
	if c := int(n[LineDefine]); c > 0 {
		p.defS.buf = make([]Define, 0, c)
	}
}

func (p *parser) tokText(i int32) string {
	t := &p.toks[i]
	return p.text[t.Offset:t.End]
}

func (p *parser) errorf(code string, sev Severity, from, to int, format string, args ...any) {
	pos := p.f.Position(from)
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if to < from {
		to = from
	}
	p.diags = append(p.diags, Diagnostic{Code: code, Severity: sev, Line: pos.Line, Col: pos.Col, Offset: from, End: to, Message: msg})
}

func (p *parser) parse() {
	if i := bytes.IndexByte(p.src, 0); i >= 0 {
		p.isBinary = true
		p.errorf(CodeBinaryContent, SeverityError, i, i+1,
			"the file contains NUL bytes: it is binary (a compiled .CTL?), not UPG source text")
	}
	for i := range p.lines {
		p.parseLine(i)
	}
	p.closeBlocks(len(p.lines), nil, "the end of the file")
	p.closeSection(len(p.lines))
}

// firstTok returns the index of the first non-space token of line i, or -1.
func (p *parser) firstTok(i int) int32 {
	ln := &p.lines[i]
	for t := ln.FirstTok; t < ln.LastTok; t++ {
		k := p.toks[t].Kind
		if k != TokSpace && k != TokEOL {
			return t
		}
	}
	return -1
}

func (p *parser) parseLine(i int) {
	ln := &p.lines[i]
	switch ln.Kind {
	case LineBlank:
	case LineComment:
		if t := p.firstTok(i); t >= 0 && p.toks[t].Kind == TokComment {
			tt := p.toks[t]
			if tt.End-tt.Offset >= 2 && p.src[tt.Offset] == '*' && p.src[tt.Offset+1] == ':' {
				ln.CommentedCode = true
			}
		}
	case LineMarker:
		t := p.firstTok(i)
		p.f.ControlFamily = strings.TrimRight(p.tokText(t)[1:], " \t")
	case LineHeader:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "header command")
		p.closeSection(i)
		p.header(c)
	case LineDefine:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		p.define(c)
	case LineLibrary, LineInclude:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		inc := p.incS.alloc()
		*inc = Include{Command: c, Library: ln.Kind == LineLibrary, Path: c.Value, Line: c.Line}
		if !c.HasValue() || c.Value == "" {
			p.errorf(CodeMissingValue, SeverityWarning, c.Colon, c.EndOff, ":%s needs a file path, e.g. :%s=.\\MILL.LIB", c.Name, c.Name)
		}
		p.f.Includes = append(p.f.Includes, inc)
		p.f.Items = append(p.f.Items, inc)
	case LineAttrStart:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		a := p.attrS.alloc()
		*a = Attribute{Start: c, Name: c.Value, StartLine: i + 1}
		if c.Value == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Colon, c.EndOff, ":ATTRNAME= has no name; write the attribute name after '='")
		}
		p.attr = a
		p.f.Attributes = append(p.f.Attributes, a)
		p.f.Items = append(p.f.Items, a)
	case LineAttrCommand:
		c := p.command(i)
		ln.Node = c
		p.subCommand(c)
	case LineAttrEnd:
		c := p.command(i)
		ln.Node = c
		p.checkFlag(c)
		switch {
		case p.attr != nil:
			p.attr.EndCmd = c
			p.endAttr(i + 1)
		case p.oper != nil:
			p.oper.EndCmd = c
			p.endOper(i + 1)
		default:
			p.errorf(CodeStrayBlockEnd, SeverityWarning, c.Colon, c.EndOff,
				":ATTREND without an open :ATTRNAME= block (a doubled :ATTREND?); delete it")
		}
	case LineOperStart:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		o := p.operS.alloc()
		*o = Operation{Start: c, ID: c.Value, StartLine: i + 1}
		if c.Value == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Colon, c.EndOff, ":OPERID= has no operation id; write e.g. :OPERID=MILL_POCKET")
		}
		p.oper = o
		p.f.Operations = append(p.f.Operations, o)
		p.f.Items = append(p.f.Items, o)
	case LineOperCommand:
		c := p.command(i)
		ln.Node = c
		p.subCommand(c)
	case LineOperEnd:
		c := p.command(i)
		ln.Node = c
		p.checkFlag(c)
		switch {
		case p.oper != nil:
			p.oper.EndCmd = c
			p.endOper(i + 1)
		case p.attr != nil:
			p.errorf(CodeUnterminatedAttribute, SeverityWarning, c.Colon, c.EndOff,
				"attribute %q is closed by :OPEREND; close attribute blocks with :ATTREND", p.attr.Name)
			p.attr.EndCmd = c
			p.endAttr(i + 1)
		default:
			p.errorf(CodeStrayBlockEnd, SeverityWarning, c.Colon, c.EndOff, ":OPEREND without an open :OPERID= block; delete it")
		}
	case LineSection:
		c := p.command(i)
		ln.Node = c
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		p.openSection(i, c)
	case LineTemplate:
		tl := p.templateLine(i)
		ln.Node = tl
		if p.codeLine(i, tl.Prefix.Offset, ":T:") {
			p.sec.Templates = append(p.sec.Templates, tl)
			if p.sec.Calc {
				p.errorf(CodeTemplateInCalc, SeverityWarning, tl.Prefix.Offset, tl.EndOff,
					"a :T: line in calculation section %s is never printed; CALC sections run :C: code only (call a template section instead)", p.sec.Name)
			}
		}
	case LineCalc:
		cl := p.calcLine(i)
		ln.Node = cl
		if p.codeLine(i, cl.Prefix.Offset, ":C:") {
			p.secCalc = append(p.secCalc, int32(i))
			p.sec.CalcLines++
			if !p.sec.Calc && p.sec.CalcLines == 1 {
				p.errorf(CodeCalcInTemplate, SeverityWarning, cl.Prefix.Offset, cl.EndOff,
					"a :C: line in template section %s; calculation code belongs in a section whose name starts with CALC", p.sec.Name)
			}
		}
	case LineText:
		t := p.firstTok(i)
		if t >= 0 && p.toks[t].Kind == TokText && !p.isBinary {
			tt := p.toks[t]
			p.errorf(CodeStrayText, SeverityWarning, int(tt.Offset), int(ln.End),
				"stray text %q is not a UPG line (comments start with '*', commands with ':'); the compiler ignores it — delete it or make it a comment", truncate(p.tokText(t), 40))
			if p.sec == nil && p.attr == nil && p.oper == nil {
				p.f.Items = append(p.f.Items, &StrayText{Span: Span{int(tt.Offset), int(ln.End)}, Line: i + 1})
			}
		}
	case LineEOF:
		p.closeBlocks(i, nil, "the DOS end-of-file byte")
		p.closeSection(i)
	case LineIgnored:
		if !p.warnedEO && ln.End > ln.Offset && len(bytes.TrimSpace(p.src[ln.Offset:ln.End])) > 0 {
			p.warnedEO = true
			p.errorf(CodeTextAfterEOF, SeverityWarning, int(ln.Offset), int(ln.End),
				"text after the DOS end-of-file byte (0x1A) is never read by the compiler; delete the 0x1A byte or the text after it")
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// codeLine checks that a :T:/:C: line sits in a section.
func (p *parser) codeLine(i int, off int, prefix string) bool {
	ln := &p.lines[i]
	if p.attr != nil || p.oper != nil {
		what := "attribute block " + strconvQuote(p.blockName())
		p.errorf(CodeCodeOutsideSection, SeverityError, off, int(ln.End),
			"%s line inside %s; close the block with :ATTREND/:OPEREND and start a :SECTION= before code", prefix, what)
		return false
	}
	if p.sec == nil {
		p.errorf(CodeCodeOutsideSection, SeverityError, off, int(ln.End),
			"%s line outside any section; put a :SECTION=NAME line before it", prefix)
		return false
	}
	return true
}

func strconvQuote(s string) string { return strconv.Quote(s) }

func (p *parser) blockName() string {
	if p.attr != nil {
		return p.attr.Name
	}
	if p.oper != nil {
		return p.oper.ID
	}
	return ""
}

// closeBlocks ends an open attribute/operation block before line i (0-based)
// because something else starts there.
// c is the command line that ends them (nil at the end of the file or the
// DOS EOF byte, described by what).
func (p *parser) closeBlocks(i int, c *Command, what string) {
	if p.attr == nil && p.oper == nil {
		return
	}
	where := what
	if c != nil {
		desc := ":" + c.Name
		if c.Op != "" {
			desc += c.Op + c.Value
		}
		if what != "" {
			desc = what + " " + desc
		}
		where = fmt.Sprintf("%s on line %d", desc, i+1)
	}
	if p.attr != nil {
		a := p.attr
		p.errorf(CodeUnterminatedAttribute, SeverityWarning, a.Start.Colon, a.Start.EndOff,
			"attribute %q (line %d) has no :ATTREND before %s; add :ATTREND after its last sub-command", a.Name, a.StartLine, where)
		p.endAttr(p.lastContentLine(i, a.StartLine))
	}
	if p.oper != nil {
		o := p.oper
		p.errorf(CodeUnterminatedOperation, SeverityWarning, o.Start.Colon, o.Start.EndOff,
			"operation block %q (line %d) has no :OPEREND before %s; add :OPEREND after its last :OPERLIST", o.ID, o.StartLine, where)
		p.endOper(p.lastContentLine(i, o.StartLine))
	}
}

// lastContentLine is the 1-based number of the last command line before
// 0-based line i (skipping trailing blanks and comments), at least min.
func (p *parser) lastContentLine(i, min int) int {
	for j := i - 1; j >= min; j-- {
		switch p.lines[j].Kind {
		case LineBlank, LineComment:
			continue
		}
		return j + 1
	}
	return min
}

func (p *parser) endAttr(endLine int) {
	a := p.attr
	p.attr = nil
	a.EndLine = endLine
	a.EndOffset = int(p.lines[endLine-1].EOLEnd)
	// :SELECT / :VARB only make sense in SELECT attributes
	ct := strings.ToUpper(a.CodeType)
	if len(a.Selects) > 0 && ct != "SELECT" && ct != "SELECT_FORMAT" {
		s := a.Selects[0].Select
		p.errorf(CodeSelectOutsideSelect, SeverityWarning, s.Colon, s.EndOff,
			"attribute %q has :SELECT groups but :CODETYPE=%s; they are only used with :CODETYPE=SELECT or SELECT_FORMAT", a.Name, a.CodeType)
	}
	if ct != "SELECT_FORMAT" && ct != "" {
		for _, c := range a.Commands {
			if c.Key == "VARB" {
				p.errorf(CodeSelectOutsideSelect, SeverityWarning, c.Colon, c.EndOff,
					":VARB is only used by :CODETYPE=SELECT_FORMAT attributes; attribute %q is %s", a.Name, a.CodeType)
				break
			}
		}
	}
}

func (p *parser) endOper(endLine int) {
	o := p.oper
	p.oper = nil
	o.EndLine = endLine
	o.EndOffset = int(p.lines[endLine-1].EOLEnd)
}

// ---------------------------------------------------------------- commands

// command builds the Command node of ':' line i.
func (p *parser) command(i int) *Command {
	ln := &p.lines[i]
	t := p.firstTok(i)
	tok := p.toks[t]
	c := p.commandS.alloc()
	*c = Command{
		Colon:   int(tok.Offset),
		Name:    p.text[tok.Offset+1 : tok.End],
		NameEnd: int(tok.End),
		OpPos:   -1,
		Line:    i + 1,
		EndOff:  int(ln.End),
	}
	info, ok := lookupCommand(p.src[tok.Offset+1 : tok.End])
	c.class, c.shape, c.multi = info.class, info.shape, info.multi
	if ok {
		c.Known = true
		c.Key = info.key
	} else {
		c.Key = strings.ToUpper(c.Name)
	}
	j := t + 1
	last := ln.LastTok
	for j < last && p.toks[j].Kind == TokSpace {
		j++
	}
	if j < last {
		k := p.toks[j].Kind
		if k == TokPunct || k == TokOperator {
			c.Op = p.tokText(j)
			c.OpPos = int(p.toks[j].Offset)
			j++
		} else if c.Key == "DEFINE" && k != TokEOL && k != TokError {
			c.Op = ""
		}
	}
	for j < last && p.toks[j].Kind == TokSpace {
		j++
	}
	vs, ve := -1, -1
	for k := j; k < last; k++ {
		kind := p.toks[k].Kind
		if kind == TokEOL {
			break
		}
		if kind != TokSpace {
			if vs < 0 {
				vs = int(p.toks[k].Offset)
			}
			ve = int(p.toks[k].End)
		}
	}
	if vs >= 0 {
		c.Value = p.text[vs:ve]
		c.ValuePos, c.ValueEnd = vs, ve
	} else {
		c.ValuePos, c.ValueEnd = int(ln.End), int(ln.End)
	}
	// parse structured values
	switch info.shape {
	case vsSection, vsFunc, vsSectionRef:
		if j < last && p.toks[j].Kind == TokName {
			c.Func = p.funcRef(j, last, info.shape)
		}
	}
	return c
}

// funcRef parses NAME[(args)] from tokens [j, last) of a command line.
func (p *parser) funcRef(j, last int32, shape valueShape) *FuncRef {
	name := p.ident(j)
	fr := p.funcS.alloc()
	*fr = FuncRef{Name: name, Lparen: -1, Rparen: -1}
	p.sig = p.sig[:0]
	for k := j + 1; k < last; k++ {
		switch p.toks[k].Kind {
		case TokSpace, TokEOL:
			continue
		}
		p.sig = append(p.sig, k)
	}
	if len(p.sig) == 0 {
		return fr
	}
	p.si = 0
	p.panicLn = 0
	first := p.sig[0]
	if p.isPunct(first, '(') && shape != vsSectionRef {
		fr.Lparen = int(p.toks[first].Offset)
		p.si = 1
		if !p.atPunct(')') {
			fr.Args = p.exprList(shape == vsSection)
		}
		if p.atPunct(')') {
			fr.Rparen = int(p.toks[p.sig[p.si]].Offset)
			p.si++
		} else {
			p.errorf(CodeUnclosedParen, SeverityError, fr.Lparen, p.curOff(),
				"the argument list of %s is not closed; add ')'", name.Name)
		}
	}
	if p.si < len(p.sig) {
		t := p.toks[p.sig[p.si]]
		if t.Kind != TokError {
			what := "after the section name"
			if shape == vsFunc {
				what = "after the section call"
			}
			p.errorf(CodeMalformedCommand, SeverityError, int(t.Offset), int(p.toks[p.sig[len(p.sig)-1]].End),
				"unexpected %q %s; a section is named with letters, digits and '_', optionally followed by (A,B,…)", truncate(p.text[t.Offset:p.toks[p.sig[len(p.sig)-1]].End], 30), what)
		}
	}
	return fr
}

// paramIdent parses one declared section parameter.
func (p *parser) paramIdent() Expr {
	if p.si < len(p.sig) {
		t := p.sig[p.si]
		switch p.toks[t].Kind {
		case TokVariable, TokName, TokFunction:
			p.si++
			return p.ident(t)
		}
		off := int(p.toks[t].Offset)
		p.errorf(CodeMalformedCommand, SeverityError, off, int(p.toks[t].End),
			"section parameters are names separated by ',', found %q", p.tokText(t))
		p.si++
		return &BadExpr{From: off, To: int(p.toks[t].End)}
	}
	return &BadExpr{From: p.curOff(), To: p.curOff()}
}

func (p *parser) checkFlag(c *Command) {
	if c.HasValue() && c.Value != "" {
		p.errorf(CodeUnexpectedValue, SeverityWarning, c.OpPos, c.ValueEnd,
			":%s takes no value; remove %q", c.Name, c.Op+c.Value)
	}
}

func (p *parser) header(c *Command) {
	p.f.Headers = append(p.f.Headers, c)
	p.f.Items = append(p.f.Items, c)
	if !c.Known {
		p.errorf(CodeUnknownHeader, SeverityWarning, c.Colon, c.NameEnd,
			"unknown header command :%s; check the spelling against the UPG header commands (a typo is silently ignored by the compiler)", c.Name)
	} else if c.shape == vsFlag {
		p.checkFlag(c)
	} else if !c.HasValue() {
		p.errorf(CodeMissingValue, SeverityWarning, c.Colon, c.EndOff, "header command :%s needs '=' and a value", c.Name)
	}
}

func (p *parser) define(c *Command) {
	d := p.defS.alloc()
	*d = Define{Command: c, Line: c.Line, NamePos: c.ValuePos, ValuePos: c.ValueEnd}
	c.Define = d
	// tokens: name '=' value
	ln := &p.lines[c.Line-1]
	seenEq := false
	for k := ln.FirstTok; k < ln.LastTok; k++ {
		t := p.toks[k]
		switch t.Kind {
		case TokName:
			if !seenEq {
				d.Name = p.text[t.Offset:t.End]
				d.NamePos = int(t.Offset)
			}
		case TokPunct:
			if int(t.Offset) > c.NameEnd && !seenEq && d.Name != "" {
				seenEq = true
			}
		case TokNumber, TokValue:
			if seenEq {
				d.Value = p.text[t.Offset:t.End]
				d.ValuePos = int(t.Offset)
			}
		}
	}
	if d.Name == "" {
		p.errorf(CodeEmptyName, SeverityError, c.Colon, c.EndOff, ":DEFINE needs a name and a value: :DEFINE NAME=value")
	} else if !seenEq {
		p.errorf(CodeMissingValue, SeverityWarning, c.Colon, c.EndOff, ":DEFINE %s has no value; write :DEFINE %s=value", d.Name, d.Name)
	}
	p.f.Defines = append(p.f.Defines, d)
	p.f.Items = append(p.f.Items, d)
}

// subCommand handles an attribute or operation sub-command line.
func (p *parser) subCommand(c *Command) {
	info, known := cmdInfo{class: c.class, shape: c.shape, multi: c.multi}, c.Known
	switch {
	case p.attr != nil:
		p.attrCommand(p.attr, c, info, known)
	case p.oper != nil:
		o := p.oper
		o.Commands = p.cmdsA.push(o.Commands, c)
		switch c.Key {
		case "OPERSUB":
			o.Sub = c.Value
		case "OPERLIST":
			o.List = p.strsA.push(o.List, c.Value)
		}
		if !known {
			p.errorf(CodeUnknownAttrCommand, SeverityWarning, c.Colon, c.NameEnd,
				"unknown sub-command :%s in operation block %q; expected :OPERSUB=, :OPERLIST= or :OPEREND", c.Name, o.ID)
		}
		p.checkShape(c, info, known)
	default:
		what := "an :ATTRNAME= block"
		if info.class == ccOper {
			what = "an :OPERID= block"
		}
		p.errorf(CodeCommandOutsideBlock, SeverityWarning, c.Colon, c.EndOff,
			":%s belongs inside %s; it is ignored here (missing :ATTRNAME=/:OPERID= line?)", c.Name, what)
	}
}

func (p *parser) checkShape(c *Command, info cmdInfo, known bool) {
	if !known {
		return
	}
	if info.shape == vsFlag {
		p.checkFlag(c)
	} else if !c.HasValue() {
		p.errorf(CodeMissingValue, SeverityWarning, c.Colon, c.EndOff, ":%s needs '=' and a value", c.Name)
	}
}

func (p *parser) attrCommand(a *Attribute, c *Command, info cmdInfo, known bool) {
	if !known {
		p.errorf(CodeUnknownAttrCommand, SeverityWarning, c.Colon, c.NameEnd,
			"unknown sub-command :%s in attribute %q; check the spelling (the compiler ignores unknown sub-commands)", c.Name, a.Name)
	}
	p.checkShape(c, info, known)
	// the group this command belongs to: the base block or the last :SELECT
	var group []*Command
	if n := len(a.Selects); n > 0 {
		group = a.Selects[n-1].Commands
	} else {
		group = a.Commands
	}
	if known && !info.multi && c.Key != "SELECT" && c.Key != "ATTRSELSTR" {
		for _, o := range group {
			if o.Key == c.Key {
				p.errorf(CodeRepeatedSubcommand, SeverityInfo, c.Colon, c.EndOff,
					":%s is repeated in attribute %q (first on line %d); the last value wins — delete one", c.Name, a.Name, o.Line)
				break
			}
		}
	}
	a.Commands = p.cmdsA.push(a.Commands, c)
	if c.Key == "SELECT" {
		g := p.selS.alloc()
		*g = SelectGroup{Select: c, Key: c.Value}
		a.Selects = p.selsA.push(a.Selects, g)
		return
	}
	if n := len(a.Selects); n > 0 {
		a.Selects[n-1].Commands = p.selCmdsA.push(a.Selects[n-1].Commands, c)
	}
	switch c.Key {
	case "ATTRTYPE":
		a.Type = c.Value
	case "ATTRVTYPE":
		a.VType = c.Value
	case "ATTRDEFAULT":
		a.Default = c.Value
	case "ATTRID":
		a.ID = c.Value
	case "ATTRVCNT":
		a.VCnt = c.Value
	case "CODETYPE":
		a.CodeType = c.Value
	case "VAR":
		if len(a.Selects) == 0 {
			a.Var = c.Value
		}
	case "ATTRCFUNC":
		a.CFunc = c.Func
	case "ATTRFUNC":
		a.AttrFunc = c.Func
	case "ATTRSELSTR":
		a.SelectStrings = p.strsA.push(a.SelectStrings, c.Value)
	case "ATTRLIST":
		a.List = p.listA.push(a.List, ListMember{Name: c})
	case "ATTRLISTDEF":
		if n := len(a.List); n > 0 && a.List[n-1].Default == nil {
			a.List[n-1].Default = c
		}
	}
}

// ---------------------------------------------------------------- sections

func (p *parser) openSection(i int, c *Command) {
	s := p.secS.alloc()
	*s = Section{Header: c, StartLine: i + 1}
	if c.Func != nil {
		s.Name = c.Func.Name.Name
		for _, a := range c.Func.Args {
			if id, ok := a.(*Ident); ok {
				s.Params = p.paramsA.push(s.Params, id)
			}
		}
	}
	if s.Name == "" {
		if c.Value == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Colon, c.EndOff, ":SECTION= has no name; write :SECTION=NAME")
		}
		s.Name = c.Value
	}
	s.Calc = len(s.Name) >= 4 && strings.EqualFold(s.Name[:4], "CALC")
	if p.secNames == nil {
		p.secNames = make(map[string]int, 64)
	}
	key := s.Name // section names are case-sensitive: real posts hold both PROGRAM_STOP and program_stop
	if first, dup := p.secNames[key]; dup && s.Name != "" {
		p.errorf(CodeDuplicateSection, SeverityWarning, c.Colon, c.EndOff,
			"section %s is already defined on line %d of this file; which copy the compiler uses is undocumented — delete or rename one", s.Name, first)
	} else {
		p.secNames[key] = i + 1
	}
	p.sec = s
	p.secCalc = p.secCalc[:0]
	p.f.Sections = append(p.f.Sections, s)
	p.f.Items = append(p.f.Items, s)
}

// closeSection ends the open section before 0-based line i.
func (p *parser) closeSection(i int) {
	s := p.sec
	if s == nil {
		return
	}
	p.sec = nil
	s.EndLine = i
	if s.EndLine < s.StartLine {
		s.EndLine = s.StartLine
	}
	s.EndOffset = int(p.lines[s.EndLine-1].EOLEnd)
	if len(p.secCalc) > 0 {
		p.parseCalcSection(s)
	}
}
