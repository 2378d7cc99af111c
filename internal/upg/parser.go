package upg

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Parse parses one UPG source file (.SRC, .LIB, .ATR or an :INCLUDE file).
// It never fails and never stops at the first problem: the result always
// holds the complete lossless tree, and Diagnostics says what is wrong.
// filename is only used for messages and for the file kind. The File keeps
// src, and the names in the tree share its memory: do not modify src after
// calling Parse.
func Parse(filename string, src []byte) *File {
	w := workspaces.Get().(*workspace)
	lx := newLexer(src, true)
	// The lexer fills the workspace's buffers (warm and never zeroed
	// again); the file gets copies of exactly their length.
	nTok, nLines := tokenRoom(src)
	lx.kinds, lx.lens, lx.lines = slices.Grow(w.kinds[:0], nTok), slices.Grow(w.lens[:0], nTok), slices.Grow(w.lines[:0], nLines)
	lx.lineCmd, lx.ends = w.lineCmd[:0], w.ends[:0]
	// tagNone for every token the lexer expects; it sets the others
	lx.tags = append(w.lexTags[:0], make([]uint8, nTok)...)
	lx.run()
	if n := len(lx.kinds); n <= len(lx.tags) {
		lx.tags = lx.tags[:n]
	} else {
		lx.tags = append(lx.tags, make([]uint8, n-len(lx.tags))...)
	}
	w.lineCmd, w.ends = lx.lineCmd, lx.ends
	f := &File{
		Name:  filename,
		Kind:  KindOf(filename),
		Src:   src,
		Lines: copyOf(lx.lines),
		toks:  tokenStore{kinds: copyOf(lx.kinds), lens: copyOf(lx.lens), long: lx.long},
	}
	w.kinds, w.lens, w.lines = lx.kinds[:0], lx.lens[:0], lx.lines[:0]
	p := newParser(f, false, w)
	p.tokTags = lx.tags
	p.diags = lx.diags
	p.presize(&lx.nKind)
	p.parse()
	f.bodySizes = p.scratch.sizes()
	p.release()
	if lx.binary {
		// Binary content is not UPG text: one finding, not thousands of
		// findings about its bytes.
		d := BinaryContent(filename)
		pos := f.Position(lx.firstCtl)
		d.Line, d.Col, d.Offset, d.End = pos.Line, pos.Col, lx.firstCtl, lx.firstCtl+1
		p.diags = append(p.diags[:0], d)
	}
	for i := range p.diags {
		p.diags[i].File = filename
	}
	SortDiagnostics(p.diags)
	f.Diagnostics = p.diags
	return f
}

// copyOf copies s into an array of its length. Appending to an empty
// slice does not zero the memory it then overwrites (for element types
// without pointers), unlike make followed by copy.
func copyOf[T any](s []T) []T { return append([]T{}, s...) }

// unsafeString views b as a string without copying. Parse documents that
// src must not be modified afterwards, which is what makes this safe.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

type parser struct {
	f     *File
	src   []byte
	text  string // src as a string: names are substrings of it (no per-name allocation)
	kinds []TokenKind
	ends  []int32
	lines []Line
	diags []Diagnostic
	quiet bool // building Section bodies after Parse: the diagnostics were reported then

	// open blocks
	sec      *Section
	secCalc  []int32 // indices of the :C: lines of the open section
	attr     *Attribute
	oper     *Operation
	secNames map[string]int // section name → 1-based line of first definition

	// calculation parsing state
	sig      []int32 // significant token indices being parsed
	tags     []uint8 // the tag of each (see tagOf)
	tokTags  []uint8 // the tag of every token, from the lexer (Parse only)
	si       int     // cursor into sig
	panicLn  int32   // line on which a syntax error was reported (suppress cascades)
	gotos    []gotoRef
	xs       []xrec // the expressions parsed since resetSig (see xref)
	xnodes   []Expr // their nodes, when building
	products []xref // stack of the product operands of + and - chains (see parseAddFrom)
	exprBuf  []Expr
	stmtTmp  []Stmt // scratch stack for statement lists being built
	itemTmp  []TemplateItem
	curSec   *Section
	depth    int // nesting depth of the expression parser
	ifDepth  int // nesting depth of IF statements
	warnedEO bool

	// Expression and statement nodes go to a: keep while Parse builds the
	// tree it returns; while it checks :C: code (see Section.Body), build
	// is false and a is scratch, which only counts the nodes a build of
	// the same code makes.
	build   bool
	a       *nodeArena
	keep    nodeArena
	scratch *nodeArena
	work    *workspace

	// allocation slabs of the nodes that are one per line or block
	commandS slab[Command]
	tlineS   slab[TemplateLine]
	tokItemS slab[TokenItem]
	textS    slab[TextItem]
	attrS    slab[Attribute]
	operS    slab[Operation]
	secS     slab[Section]
	defS     slab[Define]
	incS     slab[Include]
	selS     slab[SelectGroup]
	funcS    slab[FuncRef]
	extS     slab[cmdExt]
	cmdsA    tailArena[*Command] // Attribute.Commands, Operation.Commands
	selCmdsA tailArena[*Command] // SelectGroup.Commands
	strsA    tailArena[string]   // Attribute.SelectStrings, Operation.List
	selsA    tailArena[*SelectGroup]
	listA    tailArena[ListMember]
	paramsA  tailArena[*Ident]
	labelsA  tailArena[Label]
	items    carver[TemplateItem]
}

func newParser(f *File, quiet bool, w *workspace) *parser {
	p := &parser{
		f:     f,
		src:   f.Src,
		text:  unsafeString(f.Src),
		kinds: f.toks.kinds,
		ends:  w.ends, // the lexer's in Parse; rebuilt by buildBodies
		lines: f.Lines,
		quiet: quiet,
	}
	p.a, p.build = &p.keep, true
	w.arena.zeroCounts()
	p.work, p.scratch = w, &w.arena
	p.sig, p.tags, p.secCalc, p.gotos, p.exprBuf, p.stmtTmp, p.itemTmp = w.sig, w.tags, w.secCalc, w.gotos, w.exprBuf, w.stmtTmp, w.itemTmp
	p.xs, p.xnodes, p.products = w.xs, w.xnodes, w.products
	return p
}

// workspace is the memory a parse works in and nothing keeps afterwards:
// the lexer's buffers, the node counts of the :C: code check and the
// parser's stacks. Parses take it from a pool, so a worker that parses
// file after file reuses it.
type workspace struct {
	arena    nodeArena // counts the nodes of the :C: code check (its slabs stay empty)
	lineCmd  []uint16  // the lexer's command id of each line
	lexTags  []uint8   // the lexer's tag of each token
	ends     []int32   // the end offset of each token
	kinds    []TokenKind
	lens     []uint8
	lines    []Line // the lexer's token kinds, lengths and lines (a File gets copies)
	sig      []int32
	tags     []uint8
	secCalc  []int32
	gotos    []gotoRef
	xs       []xrec
	xnodes   []Expr
	products []xref
	exprBuf  []Expr
	stmtTmp  []Stmt
	itemTmp  []TemplateItem
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// release hands the workspace back, emptied of every reference into the
// file; one grown beyond ordinary files is left to the collector.
func (p *parser) release() {
	w := p.work
	p.work, p.scratch = nil, nil
	w.sig, w.tags, w.secCalc, w.lineCmd, w.ends = p.sig[:0], p.tags[:0], p.secCalc[:0], w.lineCmd[:0], w.ends[:0]
	if p.tokTags != nil {
		w.lexTags = p.tokTags[:0]
	}
	w.gotos, w.xs, w.products = p.gotos[:0], p.xs[:0], p.products[:0]
	w.xnodes = clearAll(p.xnodes)
	w.exprBuf = clearAll(p.exprBuf)
	w.stmtTmp = clearAll(p.stmtTmp)
	w.itemTmp = clearAll(p.itemTmp)
	if cap(w.sig) <= 1<<20 && cap(w.xs) <= 1<<20 && cap(w.ends) <= 1<<22 && cap(w.kinds) <= 1<<22 && cap(w.lines) <= 1<<20 && cap(w.lexTags) <= 1<<22 && cap(w.lineCmd) <= 1<<22 {
		workspaces.Put(w)
	}
}

// clearAll zeroes the whole backing array of s (so that it keeps nothing
// alive) and returns it empty.
func clearAll[T any](s []T) []T {
	s = s[:cap(s)]
	clear(s)
	return s[:0]
}

// presize gives the slabs and lists of the one-per-line nodes exactly the
// room the file needs (the lexer counted the lines of each kind).
func (p *parser) presize(n *[numLineKinds]int32) {
	nCmd := 0
	for k := LineHeader; k <= LineSection; k++ {
		nCmd += int(n[k])
	}
	p.commandS.sized(nCmd)
	p.tlineS.sized(int(n[LineTemplate]))
	p.attrS.sized(int(n[LineAttrStart]))
	p.operS.sized(int(n[LineOperStart]))
	p.secS.sized(int(n[LineSection]))
	p.defS.sized(int(n[LineDefine]))
	p.incS.sized(int(n[LineLibrary] + n[LineInclude]))
	f := p.f
	f.Headers = make([]*Command, 0, n[LineHeader])
	f.Defines = make([]*Define, 0, n[LineDefine])
	f.Includes = make([]*Include, 0, n[LineLibrary]+n[LineInclude])
	f.Attributes = make([]*Attribute, 0, n[LineAttrStart])
	f.Operations = make([]*Operation, 0, n[LineOperStart])
	f.Sections = make([]*Section, 0, n[LineSection])
	f.Items = make([]Node, 0, n[LineHeader]+n[LineDefine]+n[LineLibrary]+n[LineInclude]+n[LineAttrStart]+n[LineOperStart]+n[LineSection]+n[LineText])
	p.secNames = make(map[string]int, n[LineSection])
}

// off and end are the byte range of token t.
func (p *parser) off(t int32) int32 { return tokOffset(p.ends, t) }
func (p *parser) end(t int32) int32 { return p.ends[t] }

func (p *parser) tokText(t int32) string {
	return p.text[p.off(t):p.ends[t]]
}

// trivia reports whether token t is skipped by the grammar: blanks, line
// ends and stray control bytes (reported by the lexer).
func (p *parser) trivia(t int32) bool {
	switch p.kinds[t] {
	case TokSpace, TokEOL:
		return true
	case TokError:
		return isControl(p.src[p.off(t)])
	}
	return false
}

// lastTok is the end (exclusive) of the tokens of line i.
func (p *parser) lastTok(i int) int32 { return lastTok(p.lines, i, len(p.kinds)) }

// lineOf is the 1-based line of token t.
func (p *parser) lineOf(t int32) int32 {
	lo, hi := 0, len(p.lines)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.lastTok(m) <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return int32(lo + 1)
}

func (p *parser) errorf(code string, sev Severity, from, to int, format string, args ...any) {
	if p.quiet {
		return
	}
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
	for i := range p.lines {
		p.parseLine(i)
	}
	p.closeBlocks(len(p.lines), nil, "the end of the file")
	p.closeSection(len(p.lines))
}

// firstTok returns the index of the first significant token of line i, or -1.
func (p *parser) firstTok(i int) int32 {
	ln := &p.lines[i]
	for t, last := ln.FirstTok, p.lastTok(i); t < last; t++ {
		if !p.trivia(t) {
			return t
		}
	}
	return -1
}

func (p *parser) parseLine(i int) {
	ln := &p.lines[i]
	switch ln.Kind {
	case LineBlank:
	case LineComment: // the lexer set CommentedCode
	case LineMarker:
		t := p.firstTok(i)
		p.f.ControlFamily = strings.TrimRight(p.tokText(t)[1:], " \t")
	case LineHeader:
		c := p.command(i)
		p.closeBlocks(i, c, "header command")
		p.closeSection(i)
		p.header(c)
	case LineDefine:
		c := p.command(i)
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		p.define(c)
	case LineLibrary, LineInclude:
		c := p.command(i)
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		inc := p.incS.alloc()
		*inc = Include{Command: c, Library: ln.Kind == LineLibrary, Path: c.Value(), Line: int(c.Line)}
		if !c.HasValue() || c.Value() == "" {
			p.errorf(CodeMissingValue, SeverityWarning, c.Pos(), c.End(), ":%s needs a file path, e.g. :%s=.\\MILL.LIB", c.Name(), c.Name())
		}
		p.f.Includes = append(p.f.Includes, inc)
		p.f.Items = append(p.f.Items, inc)
	case LineAttrStart:
		c := p.command(i)
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		a := p.attrS.alloc()
		a.Start, a.Name, a.StartLine = c, c.Value(), i+1
		if c.Value() == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Pos(), c.End(), ":ATTRNAME= has no name; write the attribute name after '='")
		}
		p.attr = a
		p.f.Attributes = append(p.f.Attributes, a)
		p.f.Items = append(p.f.Items, a)
	case LineAttrCommand:
		p.subCommand(p.command(i))
	case LineAttrEnd:
		c := p.command(i)
		p.checkFlag(c)
		switch {
		case p.attr != nil:
			p.attr.EndCmd = c
			p.endAttr(i + 1)
		case p.oper != nil:
			p.oper.EndCmd = c
			p.endOper(i + 1)
		default:
			p.errorf(CodeStrayBlockEnd, SeverityWarning, c.Pos(), c.End(),
				":ATTREND without an open :ATTRNAME= block (a doubled :ATTREND?); delete it")
		}
	case LineOperStart:
		c := p.command(i)
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		o := p.operS.alloc()
		*o = Operation{Start: c, ID: c.Value(), StartLine: i + 1}
		if c.Value() == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Pos(), c.End(), ":OPERID= has no operation id; write e.g. :OPERID=MILL_POCKET")
		}
		p.oper = o
		p.f.Operations = append(p.f.Operations, o)
		p.f.Items = append(p.f.Items, o)
	case LineOperCommand:
		p.subCommand(p.command(i))
	case LineOperEnd:
		c := p.command(i)
		p.checkFlag(c)
		switch {
		case p.oper != nil:
			p.oper.EndCmd = c
			p.endOper(i + 1)
		case p.attr != nil:
			p.errorf(CodeUnterminatedAttribute, SeverityWarning, c.Pos(), c.End(),
				"attribute %q is closed by :OPEREND; close attribute blocks with :ATTREND", p.attr.Name)
			p.attr.EndCmd = c
			p.endAttr(i + 1)
		default:
			p.errorf(CodeStrayBlockEnd, SeverityWarning, c.Pos(), c.End(), ":OPEREND without an open :OPERID= block; delete it")
		}
	case LineSection:
		c := p.command(i)
		p.closeBlocks(i, c, "")
		p.closeSection(i)
		p.openSection(i, c)
	case LineTemplate:
		tl := p.templateLine(i)
		if p.codeLine(i, tl.Prefix.Offset, ":T:") {
			p.sec.Templates = append(p.sec.Templates, tl)
			if p.sec.Calc {
				p.errorf(CodeTemplateInCalc, SeverityWarning, tl.Prefix.Offset, tl.EndOff,
					"a :T: line in calculation section %s is never printed; CALC sections run :C: code only (call a template section instead)", p.sec.Name)
			}
		}
	case LineCalc:
		t := p.firstTok(i)
		if p.codeLine(i, int(p.off(t)), ":C:") {
			p.secCalc = append(p.secCalc, int32(i))
			p.sec.CalcLines++
			if !p.sec.Calc && p.sec.CalcLines == 1 {
				p.errorf(CodeCalcInTemplate, SeverityWarning, int(p.off(t)), int(ln.End),
					"a :C: line in template section %s; calculation code belongs in a section whose name starts with CALC", p.sec.Name)
			}
		}
	case LineText:
		t := p.firstTok(i)
		if t >= 0 && p.kinds[t] == TokText {
			off := int(p.off(t))
			p.errorf(CodeStrayText, SeverityWarning, off, int(ln.End),
				"stray text %q is not a UPG line (comments start with '*', commands with ':'); the compiler ignores it — delete it or make it a comment", truncate(p.tokText(t), 40))
			if p.sec == nil && p.attr == nil && p.oper == nil {
				p.f.Items = append(p.f.Items, &StrayText{Span: Span{off, int(ln.End)}, Line: i + 1})
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
		what := "attribute block " + strconv.Quote(p.blockName())
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
		desc := ":" + c.Name()
		if c.HasValue() {
			desc += c.Op() + c.Value()
		}
		if what != "" {
			desc = what + " " + desc
		}
		where = fmt.Sprintf("%s on line %d", desc, i+1)
	}
	if p.attr != nil {
		a := p.attr
		p.errorf(CodeUnterminatedAttribute, SeverityWarning, a.Start.Pos(), a.Start.End(),
			"attribute %q (line %d) has no :ATTREND before %s; add :ATTREND after its last sub-command", a.Name, a.StartLine, where)
		p.endAttr(p.lastContentLine(i, a.StartLine))
	}
	if p.oper != nil {
		o := p.oper
		p.errorf(CodeUnterminatedOperation, SeverityWarning, o.Start.Pos(), o.Start.End(),
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
	a.EndOffset = int(p.lines[endLine-1].EOLEnd())
	// :SELECT / :VARB only make sense in SELECT attributes
	codeType := a.CodeType()
	ct := strings.ToUpper(codeType)
	if len(a.Selects) > 0 && ct != "SELECT" && ct != "SELECT_FORMAT" {
		s := a.Selects[0].Select
		p.errorf(CodeSelectOutsideSelect, SeverityWarning, s.Pos(), s.End(),
			"attribute %q has :SELECT groups but :CODETYPE=%s; they are only used with :CODETYPE=SELECT or SELECT_FORMAT", a.Name, codeType)
	}
	if ct != "SELECT_FORMAT" && ct != "" {
		for _, c := range a.Commands {
			if c.Key() == "VARB" {
				p.errorf(CodeSelectOutsideSelect, SeverityWarning, c.Pos(), c.End(),
					":VARB is only used by :CODETYPE=SELECT_FORMAT attributes; attribute %q is %s", a.Name, codeType)
				break
			}
		}
	}
}

func (p *parser) endOper(endLine int) {
	o := p.oper
	p.oper = nil
	o.EndLine = endLine
	o.EndOffset = int(p.lines[endLine-1].EOLEnd())
}

// ---------------------------------------------------------------- commands

// command builds the Command node of ':' line i.
func (p *parser) command(i int) *Command {
	ln := &p.lines[i]
	t := p.firstTok(i)
	colon, nameEnd := p.off(t), p.ends[t]
	c := p.commandS.alloc()
	// The slab hands out zeroed nodes: set what is not zero (cheaper than
	// copying a whole Command literal, write barriers included).
	c.file, c.Colon, c.NameEnd, c.OpPos, c.Line, c.EndOff = p.f, colon, nameEnd, -1, int32(i+1), ln.End
	lc := p.work.lineCmd[i]
	info := &cmdByID[lc&^ctlLineBit] // the lexer looked the name up
	c.id = info.id
	c.Known = info.id != 0
	j := t + 1
	last := p.lastTok(i)
	for j < last && p.trivia(j) {
		j++
	}
	if j < last {
		if k := p.kinds[j]; k == TokPunct || k == TokOperator {
			if tag := p.tokTags[j]; tag != tagNone {
				c.op = opText[tag][0] // the lexer's tag: the byte need not be read again
			} else {
				c.op = p.src[p.off(j)]
			}
			c.OpPos = p.off(j)
			j++
		}
	}
	for j < last && p.trivia(j) {
		j++
	}
	vs, ve := int32(-1), int32(-1)
	for k := j; k < last; k++ {
		if p.kinds[k] == TokEOL {
			break
		}
		if !p.trivia(k) {
			if vs < 0 {
				vs = p.off(k)
			}
			ve = p.ends[k]
		}
	}
	if vs >= 0 {
		c.ValuePos, c.ValueEnd = vs, ve
		if lc&ctlLineBit != 0 {
			v := withoutControl(p.text[vs:ve])
			p.ext(c).value = &v
		}
	} else {
		c.ValuePos, c.ValueEnd = ln.End, ln.End
	}
	// parse structured values
	switch info.shape {
	case vsSection, vsFunc, vsSectionRef:
		if j < last && p.kinds[j] == TokName {
			p.ext(c).fn = p.funcRef(j, last, info.shape)
		}
	}
	return c
}

// ext is the cmdExt of c, made on first use.
func (p *parser) ext(c *Command) *cmdExt {
	if c.ext == nil {
		c.ext = p.extS.alloc()
	}
	return c.ext
}

// funcRef parses NAME[(args)] from tokens [j, last) of a command line.
func (p *parser) funcRef(j, last int32, shape valueShape) *FuncRef {
	name := p.ident(j)
	fr := p.funcS.alloc()
	fr.Name, fr.Lparen, fr.Rparen = name, -1, -1
	p.resetSig()
	p.pushSigs(j+1, last)
	if len(p.sig) == 0 {
		return fr
	}
	if p.tags[0] == tagLparen && shape != vsSectionRef {
		fr.Lparen = int(p.off(p.sig[0]))
		p.si = 1
		if !p.atPunct(tagRparen) {
			fr.Args, _ = p.exprList(shape == vsSection)
		}
		if p.atPunct(tagRparen) {
			fr.Rparen = p.curOff()
			p.si++
		} else {
			p.errorf(CodeUnclosedParen, SeverityError, fr.Lparen, p.curOff(),
				"the argument list of %s is not closed; add ')'", name.Name)
		}
	}
	if p.si < len(p.sig) {
		t := p.sig[p.si]
		if p.kinds[t] != TokError {
			what := "after the section name"
			if shape == vsFunc {
				what = "after the section call"
			}
			lastEnd := p.ends[p.sig[len(p.sig)-1]]
			p.errorf(CodeMalformedCommand, SeverityError, int(p.off(t)), int(lastEnd),
				"unexpected %q %s; a section is named with letters, digits and '_', optionally followed by (A,B,…)", truncate(p.text[p.off(t):lastEnd], 30), what)
		}
	}
	return fr
}

// paramIdent parses one declared section parameter.
func (p *parser) paramIdent() xref {
	if p.si < len(p.sig) {
		t := p.sig[p.si]
		switch p.kinds[t] {
		case TokVariable, TokName, TokFunction:
			p.si++
			return p.identX(t)
		}
		off, end := int(p.off(t)), int(p.ends[t])
		p.errorf(CodeMalformedCommand, SeverityError, off, end,
			"section parameters are names separated by ',', found %q", p.tokText(t))
		p.si++
		return p.badX(off, end)
	}
	return p.badX(p.curOff(), p.curOff())
}

func (p *parser) checkFlag(c *Command) {
	if c.HasValue() && c.Value() != "" {
		p.errorf(CodeUnexpectedValue, SeverityWarning, int(c.OpPos), int(c.ValueEnd),
			":%s takes no value; remove %q", c.Name(), c.Op()+c.Value())
	}
}

func (p *parser) header(c *Command) {
	p.f.Headers = append(p.f.Headers, c)
	p.f.Items = append(p.f.Items, c)
	if !c.Known {
		p.errorf(CodeUnknownHeader, SeverityWarning, int(c.Colon), int(c.NameEnd),
			"unknown header command :%s; check the spelling against the UPG header commands (a typo is silently ignored by the compiler)", c.Name())
	} else if c.info().shape == vsFlag {
		p.checkFlag(c)
	} else if !c.HasValue() {
		p.errorf(CodeMissingValue, SeverityWarning, c.Pos(), c.End(), "header command :%s needs '=' and a value", c.Name())
	}
}

func (p *parser) define(c *Command) {
	d := p.defS.alloc()
	d.Command, d.Line, d.NamePos, d.ValuePos = c, int(c.Line), int(c.ValuePos), int(c.ValueEnd)
	p.ext(c).def = d
	// tokens: name '=' value
	ln := &p.lines[c.Line-1]
	seenEq := false
	for k, last := ln.FirstTok, p.lastTok(int(c.Line)-1); k < last; k++ {
		switch p.kinds[k] {
		case TokName:
			if !seenEq {
				d.Name = p.tokText(k)
				d.NamePos = int(p.off(k))
			}
		case TokPunct:
			if p.off(k) > c.NameEnd && !seenEq && d.Name != "" {
				seenEq = true
			}
		case TokNumber, TokValue:
			if seenEq {
				d.Value = p.tokText(k)
				d.ValuePos = int(p.off(k))
			}
		}
	}
	if p.work.lineCmd[c.Line-1]&ctlLineBit != 0 {
		d.Name, d.Value = withoutControl(d.Name), withoutControl(d.Value)
	}
	if d.Name == "" {
		p.errorf(CodeEmptyName, SeverityError, c.Pos(), c.End(), ":DEFINE needs a name and a value: :DEFINE NAME=value")
	} else if !seenEq {
		p.errorf(CodeMissingValue, SeverityWarning, c.Pos(), c.End(), ":DEFINE %s has no value; write :DEFINE %s=value", d.Name, d.Name)
	}
	p.f.Defines = append(p.f.Defines, d)
	p.f.Items = append(p.f.Items, d)
}

// subCommand handles an attribute or operation sub-command line.
func (p *parser) subCommand(c *Command) {
	info, known := c.info(), c.Known
	switch {
	case p.attr != nil:
		p.attrCommand(p.attr, c, info, known)
	case p.oper != nil:
		o := p.oper
		o.Commands = p.cmdsA.push(o.Commands, c)
		switch c.Key() {
		case "OPERSUB":
			o.Sub = c.Value()
		case "OPERLIST":
			o.List = p.strsA.push(o.List, c.Value())
		}
		if !known {
			p.errorf(CodeUnknownAttrCommand, SeverityWarning, int(c.Colon), int(c.NameEnd),
				"unknown sub-command :%s in operation block %q; expected :OPERSUB=, :OPERLIST= or :OPEREND", c.Name(), o.ID)
		}
		p.checkShape(c, info, known)
	default:
		what := "an :ATTRNAME= block"
		if info.class == ccOper {
			what = "an :OPERID= block"
		}
		p.errorf(CodeCommandOutsideBlock, SeverityWarning, c.Pos(), c.End(),
			":%s belongs inside %s; it is ignored here (missing :ATTRNAME=/:OPERID= line?)", c.Name(), what)
	}
}

func (p *parser) checkShape(c *Command, info *cmdInfo, known bool) {
	if !known {
		return
	}
	if info.shape == vsFlag {
		p.checkFlag(c)
	} else if !c.HasValue() {
		p.errorf(CodeMissingValue, SeverityWarning, c.Pos(), c.End(), ":%s needs '=' and a value", c.Name())
	}
}

func (p *parser) attrCommand(a *Attribute, c *Command, info *cmdInfo, known bool) {
	if !known {
		p.errorf(CodeUnknownAttrCommand, SeverityWarning, int(c.Colon), int(c.NameEnd),
			"unknown sub-command :%s in attribute %q; check the spelling (the compiler ignores unknown sub-commands)", c.Name(), a.Name)
	}
	p.checkShape(c, info, known)
	// the group this command belongs to: the base block or the last :SELECT
	var group []*Command
	if n := len(a.Selects); n > 0 {
		group = a.Selects[n-1].Commands
	} else {
		group = a.Commands
	}
	key := c.Key()
	if known && !info.multi && key != "SELECT" && key != "ATTRSELSTR" {
		for _, o := range group {
			if o.id == c.id {
				p.errorf(CodeRepeatedSubcommand, SeverityInfo, c.Pos(), c.End(),
					":%s is repeated in attribute %q (first on line %d); the last value wins — delete one", c.Name(), a.Name, o.Line)
				break
			}
		}
	}
	a.Commands = p.cmdsA.push(a.Commands, c)
	if key == "SELECT" {
		g := p.selS.alloc()
		*g = SelectGroup{Select: c, Key: c.Value()}
		a.Selects = p.selsA.push(a.Selects, g)
		return
	}
	if n := len(a.Selects); n > 0 {
		a.Selects[n-1].Commands = p.selCmdsA.push(a.Selects[n-1].Commands, c)
	}
	switch key {
	case "ATTRSELSTR":
		a.SelectStrings = p.strsA.push(a.SelectStrings, c.Value())
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
	s.Header, s.StartLine, s.file = c, i+1, p.f
	if fn := c.Func(); fn != nil {
		s.Name = fn.Name.Name
		for _, a := range fn.Args {
			if id, ok := a.(*Ident); ok {
				s.Params = p.paramsA.push(s.Params, id)
			}
		}
	}
	if s.Name == "" {
		if c.Value() == "" {
			p.errorf(CodeEmptyName, SeverityError, c.Pos(), c.End(), ":SECTION= has no name; write :SECTION=NAME")
		}
		s.Name = c.Value()
	}
	s.Calc = len(s.Name) >= 4 && strings.EqualFold(s.Name[:4], "CALC")
	key := s.Name // section names are case-sensitive: real posts hold both PROGRAM_STOP and program_stop
	if first, dup := p.secNames[key]; dup && s.Name != "" {
		p.errorf(CodeDuplicateSection, SeverityWarning, c.Pos(), c.End(),
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
	s.EndOffset = int(p.lines[s.EndLine-1].EOLEnd())
	if len(p.secCalc) > 0 {
		// Check the code without making nodes (scratch counts them);
		// Section.Body builds them on first use.
		p.a, p.build = p.scratch, false
		p.parseCalcSection(s)
		p.a, p.build = &p.keep, true
	}
}

// buildBodies builds the statement nodes of every section of f that has
// :C: lines (see Section.Body). It parses the same tokens with the same
// code as Parse did, into an arena sized from the counts Parse took, and
// reports nothing (Parse did).
func buildBodies(f *File) {
	w := workspaces.Get().(*workspace)
	w.ends = f.toks.appendEnds(w.ends[:0])
	p := newParser(f, true, w)
	p.keep.sized(&f.bodySizes)
	for _, s := range f.Sections {
		if s.CalcLines == 0 {
			continue
		}
		p.secCalc = p.secCalc[:0]
		for i := s.StartLine - 1; i < s.EndLine && i < len(p.lines); i++ {
			if p.lines[i].Kind == LineCalc {
				p.secCalc = append(p.secCalc, int32(i))
			}
		}
		p.parseCalcSection(s)
	}
	f.builtSizes = p.keep.sizes()
	p.release()
}
