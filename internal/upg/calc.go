package upg

import (
	"strconv"
)

// This file holds the expression and statement parser shared by :C: code,
// template IF conditions, template token values and command arguments. It
// works on p.sig, a list of indices of significant tokens.

func (p *parser) ident(t int32) *Ident {
	id := p.identS.alloc()
	tok := &p.toks[t]
	id.NamePos = int(tok.Offset)
	id.Name = p.text[tok.Offset:tok.End]
	return id
}

func (p *parser) cur() int32 {
	if p.si < len(p.sig) {
		return p.sig[p.si]
	}
	return -1
}

// curOff is the offset of the current token, or the end of the last one.
func (p *parser) curOff() int {
	if p.si < len(p.sig) {
		return int(p.toks[p.sig[p.si]].Offset)
	}
	if n := len(p.sig); n > 0 {
		return int(p.toks[p.sig[n-1]].End)
	}
	return 0
}

func (p *parser) isPunct(t int32, c byte) bool {
	tok := &p.toks[t]
	return tok.Kind == TokPunct && tok.End-tok.Offset == 1 && p.src[tok.Offset] == c
}

func (p *parser) atPunct(c byte) bool {
	return p.si < len(p.sig) && p.isPunct(p.sig[p.si], c)
}

func (p *parser) kwAt() int {
	if p.si >= len(p.sig) {
		return kwNone
	}
	tok := &p.toks[p.sig[p.si]]
	if tok.Kind != TokKeyword {
		return kwNone
	}
	return keywordOf(p.src[tok.Offset:tok.End])
}

// opAt returns the operator text at the cursor, or "".
func (p *parser) opAt() string {
	if p.si >= len(p.sig) {
		return ""
	}
	t := p.sig[p.si]
	if p.toks[t].Kind != TokOperator {
		return ""
	}
	return p.tokText(t)
}

// syntaxErr reports a syntax error, at most one per line.
func (p *parser) syntaxErr(code string, t int32, format string, args ...any) {
	tok := p.toks[t]
	if tok.Line == p.panicLn {
		return
	}
	p.panicLn = tok.Line
	p.errorf(code, SeverityError, int(tok.Offset), int(tok.End), format, args...)
}

func isUnsupportedWord(w string) bool {
	switch len(w) {
	case 3:
		return equalFoldASCII([]byte(w), "NOT")
	case 5:
		return equalFoldASCII([]byte(w), "WHILE") || equalFoldASCII([]byte(w), "ELSIF")
	case 6:
		return equalFoldASCII([]byte(w), "ELSEIF")
	case 8:
		return equalFoldASCII([]byte(w), "ENDWHILE")
	}
	return false
}

// ---------------------------------------------------------------- expressions

func (p *parser) parseExpr(allowEq bool) Expr { return p.parseOr(allowEq) }

func (p *parser) parseOr(allowEq bool) Expr {
	x := p.parseAnd(allowEq)
	sawOr := false
	for p.kwAt() == kwOr {
		op := p.curOff()
		p.si++
		y := p.parseAnd(allowEq)
		x = p.binary(x, op, "OR", y)
		sawOr = true
	}
	if sawOr && hasAndOperand(x) {
		p.errorf(CodeMixedAndOr, SeverityInfo, x.Pos(), x.End(),
			"AND and OR are mixed without parentheses; UPG does not document which binds first — add parentheses to make the meaning explicit")
	}
	return x
}

func hasAndOperand(x Expr) bool {
	b, ok := x.(*BinaryExpr)
	if !ok {
		return false
	}
	switch b.Op {
	case "AND":
		return true
	case "OR":
		return hasAndOperand(b.X) || hasAndOperand(b.Y)
	}
	return false
}

func (p *parser) parseAnd(allowEq bool) Expr {
	x := p.parseCmp(allowEq)
	for p.kwAt() == kwAnd {
		op := p.curOff()
		p.si++
		y := p.parseCmp(allowEq)
		x = p.binary(x, op, "AND", y)
	}
	return x
}

func (p *parser) binary(x Expr, opPos int, op string, y Expr) Expr {
	b := p.binS.alloc()
	*b = BinaryExpr{X: x, OpPos: opPos, Op: op, Y: y}
	return b
}

func (p *parser) parseCmp(allowEq bool) Expr {
	x := p.parseAdd()
	op := p.opAt()
	switch op {
	case "=":
		if !allowEq {
			return x
		}
	case "<>", "<", ">":
	case "<=", ">=", "!=":
		t := p.cur()
		hint := map[string]string{"<=": "A<B OR A=B", ">=": "A>B OR A=B", "!=": "A<>B"}[op]
		p.errorf(CodeUnsupportedOperator, SeverityError, int(p.toks[t].Offset), int(p.toks[t].End),
			"UPG has no %s operator; write %s", op, hint)
	default:
		return x
	}
	opPos := p.curOff()
	p.si++
	y := p.parseAdd()
	return p.binary(x, opPos, op, y)
}

func (p *parser) parseAdd() Expr {
	x := p.parseMul()
	for {
		op := p.opAt()
		if op != "+" && op != "-" {
			return x
		}
		opPos := p.curOff()
		p.si++
		y := p.parseMul()
		x = p.binary(x, opPos, op, y)
	}
}

func (p *parser) parseMul() Expr {
	x := p.parseUnary()
	for {
		op := p.opAt()
		if op != "*" && op != "/" {
			return x
		}
		opPos := p.curOff()
		p.si++
		y := p.parseUnary()
		x = p.binary(x, opPos, op, y)
	}
}

// maxDepth bounds the nesting of parentheses, unary operators and IFs so
// that hostile input cannot make the recursive parser run out of stack.
const maxDepth = 200

func (p *parser) tooDeep() bool {
	if p.depth < maxDepth {
		return false
	}
	if t := p.cur(); t >= 0 {
		p.syntaxErr(CodeSyntax, t, "expression or IF nesting deeper than %d levels; simplify it", maxDepth)
	}
	return true
}

func (p *parser) skipNested() Expr {
	from := p.curOff()
	// skip to the end of this line's tokens
	if t := p.cur(); t >= 0 {
		line := p.toks[t].Line
		for p.si < len(p.sig) && p.toks[p.sig[p.si]].Line == line {
			p.si++
		}
	}
	return &BadExpr{From: from, To: p.curOff()}
}

func (p *parser) parseUnary() Expr {
	if op := p.opAt(); op == "-" || op == "+" {
		if p.tooDeep() {
			return p.skipNested()
		}
		p.depth++
		defer func() { p.depth-- }()
		opPos := p.curOff()
		p.si++
		x := p.parseUnary()
		return &UnaryExpr{OpPos: opPos, Op: op, X: x}
	}
	return p.primary()
}

func (p *parser) primary() Expr {
	if p.si >= len(p.sig) {
		off := p.curOff()
		if n := len(p.sig); n > 0 {
			p.syntaxErr(CodeSyntax, p.sig[n-1], "expression ends too early: a value (name, number, {string} or '(') is missing after %q", p.tokText(p.sig[n-1]))
		}
		return &BadExpr{From: off, To: off}
	}
	t := p.sig[p.si]
	tok := &p.toks[t]
	switch tok.Kind {
	case TokNumber, TokString:
		p.si++
		l := p.litS.alloc()
		l.ValuePos = int(tok.Offset)
		l.Value = p.text[tok.Offset:tok.End]
		if tok.Kind == TokString {
			l.Kind = LitString
		}
		return l
	case TokVariable, TokFunction, TokName:
		name := p.text[tok.Offset:tok.End]
		if isUnsupportedWord(name) {
			p.syntaxErr(CodeUnsupportedOperator, t, "UPG has no %s; for NOT write a comparison (A<>B, A=0), for ELSEIF nest IF … ENDIF, for loops use :Cn: labels and GOTOn", name)
			p.si++
			return p.primary()
		}
		p.si++
		id := p.ident(t)
		if p.atPunct('(') {
			return p.callArgs(id)
		}
		return id
	case TokPunct:
		if p.isPunct(t, '(') {
			if p.tooDeep() {
				return p.skipNested()
			}
			p.depth++
			defer func() { p.depth-- }()
			p.si++
			x := p.parseExpr(true)
			pe := p.parenS.alloc()
			*pe = ParenExpr{Lparen: int(tok.Offset), X: x, Rparen: -1}
			if p.atPunct(')') {
				pe.Rparen = p.curOff()
				p.si++
			} else {
				p.syntaxErr(CodeUnclosedParen, t, "'(' is not closed; add ')'")
			}
			return pe
		}
	case TokToken:
		if p.src[tok.Offset] == '<' {
			return p.tokenRef()
		}
	case TokError:
		p.si++
		return &BadExpr{From: int(tok.Offset), To: int(tok.End)}
	}
	p.syntaxErr(CodeSyntax, t, "expected a value (a name, number, {string} or '(') but found %q", p.tokText(t))
	if tok.Kind != TokKeyword && !p.isPunct(t, ')') && !p.isPunct(t, ',') {
		p.si++
	}
	return &BadExpr{From: int(tok.Offset), To: int(tok.Offset)}
}

// tokenRef parses <NAME> / <NAME!> used as an argument.
func (p *parser) tokenRef() Expr {
	lt := p.sig[p.si]
	r := &TokenRef{Lt: int(p.toks[lt].Offset), Gt: int(p.toks[lt].End) - 1}
	p.si++
	if t := p.cur(); t >= 0 && p.toks[t].Kind == TokVariable {
		r.Name = p.ident(t)
		p.si++
	}
	for p.si < len(p.sig) {
		t := p.sig[p.si]
		tok := &p.toks[t]
		if tok.Kind != TokToken {
			break
		}
		c := p.src[tok.Offset]
		p.si++
		if c == '!' {
			r.Force = true
			continue
		}
		if c == '>' {
			r.Gt = int(tok.Offset)
		}
		break
	}
	return r
}

func (p *parser) callArgs(id *Ident) Expr {
	if p.tooDeep() {
		return p.skipNested()
	}
	p.depth++
	defer func() { p.depth-- }()
	c := p.callS.alloc()
	*c = CallExpr{Fun: id, Lparen: p.curOff(), Rparen: -1}
	lp := p.sig[p.si]
	p.si++
	if !p.atPunct(')') {
		c.Args = p.exprList(false)
	}
	if p.atPunct(')') {
		c.Rparen = p.curOff()
		p.si++
	} else {
		p.syntaxErr(CodeUnclosedParen, lp, "%s( is not closed; add ')' after its arguments", id.Name)
	}
	return c
}

// ---------------------------------------------------------------- statements

func (p *parser) parseCalcSection(s *Section) {
	p.sig = p.sig[:0]
	var labelLine map[int]int
	for _, li := range p.secCalc {
		ln := &p.lines[li]
		cl := ln.Node.(*CalcLine)
		if cl.Label >= 0 {
			if first, dup := findLabel(s.Labels, labelLine, cl.Label); dup {
				p.errorf(CodeDuplicateLabel, SeverityWarning, cl.Prefix.Offset, cl.Prefix.EndOff,
					"label %d is already used on line %d of section %s; GOTO%d jumps to only one of them — renumber one", cl.Label, first, s.Name, cl.Label)
			} else {
				s.Labels = p.labelsA.push(s.Labels, Label{N: cl.Label, Pos: cl.Prefix.Offset, Line: cl.Line})
				if labelLine != nil {
					labelLine[cl.Label] = cl.Line
				} else if len(s.Labels) > labelScanMax {
					labelLine = make(map[int]int, 2*len(s.Labels))
					for _, l := range s.Labels {
						labelLine[l.N] = l.Line
					}
				}
			}
			if cl.Label > 9999 {
				p.errorf(CodeSyntax, SeverityError, cl.Prefix.Offset, cl.Prefix.EndOff, "label %d is out of range; labels are 0 to 9999", cl.Label)
			}
		}
		for k := int32(cl.FirstTok); k < ln.LastTok; k++ {
			switch p.toks[k].Kind {
			case TokSpace, TokEOL:
				continue
			}
			p.sig = append(p.sig, k)
		}
	}
	p.si = 0
	p.panicLn = 0
	p.gotos = p.gotos[:0]
	p.curSec = s
	s.Body = p.parseBlock(false)
	for _, g := range p.gotos {
		if _, found := findLabel(s.Labels, labelLine, g.Label); !found {
			p.errorf(CodeUndefinedLabel, SeverityError, g.GotoPos, g.EndOff,
				"GOTO%d has no :C%d: label in section %s; labels are per section — add the label or fix the number", g.Label, g.Label, s.Name)
		}
	}
	p.curSec = nil
}

// labelScanMax is how many labels a section may have before its label
// lookups switch from a scan of Section.Labels to a map.
const labelScanMax = 16

// findLabel returns the line of label n's first definition: from m when
// the section has many labels, else by scanning labels (first wins, as in m).
func findLabel(labels []Label, m map[int]int, n int) (int, bool) {
	if m != nil {
		l, ok := m[n]
		return l, ok
	}
	for _, l := range labels {
		if l.N == n {
			return l.Line, true
		}
	}
	return 0, false
}

func (p *parser) secName() string {
	if p.curSec != nil {
		return p.curSec.Name
	}
	return "?"
}

func (p *parser) parseBlock(inIf bool) []Stmt {
	start := len(p.stmtTmp)
	defer func() { p.stmtTmp = p.stmtTmp[:start] }()
	list := func() []Stmt { return p.carveStmts(p.stmtTmp[start:]) }
	for p.si < len(p.sig) {
		t := p.sig[p.si]
		if p.toks[t].Kind == TokKeyword {
			switch kw := keywordOf(p.src[p.toks[t].Offset:p.toks[t].End]); kw {
			case kwElse, kwEndif:
				if inIf {
					return list()
				}
				word := "ENDIF"
				if kw == kwElse {
					word = "ELSE"
				}
				p.errorf(CodeUnbalancedIf, SeverityError, int(p.toks[t].Offset), int(p.toks[t].End),
					"%s without a matching IF in section %s; delete it or add the IF … THEN it belongs to", word, p.secName())
				p.si++
				continue
			}
		}
		s := p.parseStmt()
		p.stmtTmp = append(p.stmtTmp, s)
	}
	return list()
}

func (p *parser) parseStmt() Stmt {
	t := p.sig[p.si]
	tok := &p.toks[t]
	off := int(tok.Offset)
	switch tok.Kind {
	case TokKeyword:
		switch keywordOf(p.src[tok.Offset:tok.End]) {
		case kwIf:
			return p.parseIf()
		case kwCall:
			return p.parseCallStmt()
		case kwReturn:
			p.si++
			r := p.retS.alloc()
			r.Return = off
			return r
		case kwGoto:
			return p.parseGoto()
		}
		p.syntaxErr(CodeSyntax, t, "%s here does not belong to any IF; check the IF … THEN … ENDIF around it", p.tokText(t))
		p.si++
		return &BadStmt{From: off, To: int(tok.End)}
	case TokVariable, TokFunction, TokName:
		name := p.text[tok.Offset:tok.End]
		if isUnsupportedWord(name) {
			p.syntaxErr(CodeUnsupportedOperator, t, "UPG has no %s; nest IF … ENDIF instead of ELSEIF, and build loops with :Cn: labels and GOTOn", name)
			p.si++
			return &BadStmt{From: off, To: int(tok.End)}
		}
		p.si++
		id := p.ident(t)
		var lhs Expr = id
		if p.atPunct('(') {
			lhs = p.callArgs(id)
		}
		if p.opAt() == "=" {
			eq := p.curOff()
			p.si++
			rhs := p.parseExpr(false)
			a := p.assignS.alloc()
			*a = AssignStmt{Lhs: lhs, EqPos: eq, Rhs: rhs}
			return a
		}
		if _, bare := lhs.(*Ident); bare && !isFunctionName(name) && tok.Line != p.panicLn {
			p.errorf(CodeBareName, SeverityWarning, off, int(tok.End),
				"%s stands alone but is not a built-in command; did you mean %s=value or a CALL(%s)?", name, name, name)
		}
		cs := p.cmdStmtS.alloc()
		cs.X = lhs
		return cs
	case TokError:
		p.si++
		return &BadStmt{From: off, To: int(tok.End)}
	}
	p.syntaxErr(CodeSyntax, t, "unexpected %q; a statement starts with a name (X=…, COMMAND(…)), IF, CALL(…), GOTOn or RETURN", p.tokText(t))
	p.si++
	return &BadStmt{From: off, To: int(tok.End)}
}

func isFunctionName(name string) bool {
	if len(name) > 40 {
		return false
	}
	var buf [40]byte
	up := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		up[i] = upperByte(name[i])
	}
	return isCatalogFunction(up)
}

func (p *parser) stmtsEnd(list []Stmt, def int) int {
	if n := len(list); n > 0 {
		return list[n-1].End()
	}
	return def
}

func (p *parser) parseIf() Stmt {
	t := p.sig[p.si]
	if p.tooDeep() {
		from := p.curOff()
		p.skipNested()
		return &BadStmt{From: from, To: p.curOff()}
	}
	p.depth++
	defer func() { p.depth-- }()
	ifTok := p.toks[t]
	p.si++
	st := p.ifS.alloc()
	*st = IfStmt{If: int(ifTok.Offset), Then: -1, ElsePos: -1, EndIf: -1}
	st.Cond = p.parseExpr(true)
	end := st.Cond.End()
	if p.kwAt() == kwThen {
		st.Then = p.curOff()
		end = st.Then + 4
		p.si++
	} else {
		at := p.curOff()
		if c := p.cur(); c >= 0 {
			p.errorf(CodeMissingThen, SeverityWarning, at, int(p.toks[c].End),
				"the IF on line %d has no THEN after its condition (found %q); the compiler accepts this, but write IF condition THEN … ENDIF", ifTok.Line, p.tokText(c))
		} else {
			p.errorf(CodeMissingThen, SeverityWarning, int(ifTok.Offset), at,
				"the IF on line %d has no THEN after its condition; write IF condition THEN … ENDIF", ifTok.Line)
		}
	}
	st.Body = p.parseBlock(true)
	end = p.stmtsEnd(st.Body, end)
	for p.kwAt() == kwElse {
		e := p.curOff()
		if st.ElsePos >= 0 {
			p.errorf(CodeUnbalancedIf, SeverityError, e, e+4,
				"a second ELSE for the IF on line %d; UPG has no ELSEIF — nest IF … ENDIF inside the ELSE", ifTok.Line)
		} else {
			st.ElsePos = e
		}
		end = e + 4
		p.si++
		if blk := p.parseBlock(true); st.Else == nil {
			st.Else = blk // already carved: capped, nobody else's
		} else {
			st.Else = append(st.Else, blk...)
		}
		end = p.stmtsEnd(st.Else, end)
	}
	if p.kwAt() == kwEndif {
		st.EndIf = p.curOff()
		end = st.EndIf + 5
		p.si++
	} else {
		p.errorf(CodeUnbalancedIf, SeverityError, int(ifTok.Offset), int(ifTok.End),
			"the IF on line %d has no matching ENDIF in section %s; add ENDIF (every IF needs its own ENDIF)", ifTok.Line, p.secName())
	}
	st.EndOff = end
	return st
}

func (p *parser) parseCallStmt() Stmt {
	t := p.sig[p.si]
	tok := p.toks[t]
	p.si++
	st := p.callStS.alloc()
	*st = CallStmt{Call: int(tok.Offset), Lparen: -1, Rparen: -1, EndOff: int(tok.End)}
	if !p.atPunct('(') {
		p.syntaxErr(CodeSyntax, t, "CALL needs the section name in parentheses: CALL(SECTION) or CALL(SECTION(A,B))")
		return st
	}
	lp := p.cur()
	st.Lparen = p.curOff()
	st.EndOff = st.Lparen + 1
	p.si++
	if c := p.cur(); c >= 0 {
		switch p.toks[c].Kind {
		case TokName, TokVariable, TokFunction:
			st.Section = p.ident(c)
			st.EndOff = st.Section.End()
			p.si++
		default:
			p.syntaxErr(CodeSyntax, c, "expected a section name after CALL(, found %q", p.tokText(c))
		}
	}
	if st.Section != nil && p.atPunct('(') {
		st.HasArgs = true
		inner := p.cur()
		p.si++
		if !p.atPunct(')') {
			st.Args = p.exprList(false)
		}
		if p.atPunct(')') {
			p.si++
		} else {
			p.syntaxErr(CodeUnclosedParen, inner, "the argument list of CALL(%s( is not closed; add ')'", st.Section.Name)
		}
	}
	if p.atPunct(')') {
		st.Rparen = p.curOff()
		st.EndOff = st.Rparen + 1
		p.si++
	} else {
		p.syntaxErr(CodeUnclosedParen, lp, "CALL( is not closed; write CALL(SECTION)")
	}
	return st
}

func (p *parser) parseGoto() Stmt {
	t := p.sig[p.si]
	tok := p.toks[t]
	p.si++
	g := p.gotoS.alloc()
	*g = GotoStmt{GotoPos: int(tok.Offset), EndOff: int(tok.End)}
	w := p.text[tok.Offset:tok.End]
	if len(w) > 4 {
		n, _ := strconv.Atoi(w[4:])
		g.Label = n
	} else if c := p.cur(); c >= 0 && p.toks[c].Kind == TokNumber {
		n, err := strconv.Atoi(p.tokText(c))
		if err != nil {
			p.syntaxErr(CodeSyntax, c, "GOTO needs a label number 0…9999, found %q", p.tokText(c))
		}
		g.Label = n
		g.EndOff = int(p.toks[c].End)
		p.si++
	} else {
		p.syntaxErr(CodeSyntax, t, "GOTO needs a label number written right after it: GOTO5 jumps to the :C5: line")
		return &BadStmt{From: g.GotoPos, To: g.EndOff}
	}
	p.gotos = append(p.gotos, g)
	return g
}

// ---------------------------------------------------------------- lines

func (p *parser) calcLine(i int) *CalcLine {
	ln := &p.lines[i]
	t := p.firstTok(i)
	tok := p.toks[t]
	cl := p.calcLS.alloc()
	*cl = CalcLine{Prefix: Span{int(tok.Offset), int(tok.End)}, Label: -1, Line: i + 1, EndOff: int(ln.End), FirstTok: int(t) + 1}
	if tok.End-tok.Offset > 3 {
		n, err := strconv.Atoi(p.text[tok.Offset+2 : tok.End-1])
		if err == nil {
			cl.Label = n
		}
	}
	return cl
}

// templateLine parses a :T: line.
func (p *parser) templateLine(i int) *TemplateLine {
	ln := &p.lines[i]
	t := p.firstTok(i)
	tok := p.toks[t]
	tl := p.tlineS.alloc()
	*tl = TemplateLine{Prefix: Span{int(tok.Offset), int(tok.End)}, Line: i + 1, EndOff: int(ln.End)}
	j := t + 1
	last := ln.LastTok
	for j < last && p.toks[j].Kind == TokSpace {
		j++
	}
	inIf := false
	if j < last && p.toks[j].Kind == TokKeyword && keywordOf(p.src[p.toks[j].Offset:p.toks[j].End]) == kwIf {
		inIf = true
		ifTok := p.toks[j]
		tif := &TemplateIf{If: int(ifTok.Offset), Then: -1, EndIf: -1}
		tl.If = tif
		j++
		p.sig = p.sig[:0]
		for ; j < last; j++ {
			k := p.toks[j].Kind
			if k == TokSpace || k == TokEOL {
				continue
			}
			if k == TokKeyword && keywordOf(p.src[p.toks[j].Offset:p.toks[j].End]) == kwThen {
				tif.Then = int(p.toks[j].Offset)
				j++
				break
			}
			p.sig = append(p.sig, j)
		}
		p.si = 0
		p.panicLn = 0
		if len(p.sig) == 0 {
			p.errorf(CodeSyntax, SeverityError, tif.If, tif.If+2, "IF without a condition; write IF condition THEN … ENDIF")
		} else {
			tif.Cond = p.parseExpr(true)
			if p.si < len(p.sig) && tif.Then >= 0 {
				c := p.sig[p.si]
				p.syntaxErr(CodeSyntax, c, "unexpected %q in the IF condition; conditions compare values with = <> < > and join comparisons with AND / OR", p.tokText(c))
			}
		}
		if tif.Then < 0 {
			p.errorf(CodeMissingThen, SeverityError, tif.If, int(ln.End),
				"the IF on this :T: line has no THEN; write :T:IF condition THEN <tokens>ENDIF")
			return tl
		}
	}
	// items
	istart := len(p.itemTmp)
	defer func() { p.itemTmp = p.itemTmp[:istart] }()
	for j < last {
		tk := p.toks[j]
		switch tk.Kind {
		case TokTemplateText:
			ti := p.textS.alloc()
			*ti = TextItem{Span: Span{int(tk.Offset), int(tk.End)}, Text: p.text[tk.Offset:tk.End]}
			p.itemTmp = append(p.itemTmp, ti)
			j++
		case TokToken:
			if p.src[tk.Offset] == '<' {
				var item *TokenItem
				item, j = p.tokenItem(j, last)
				p.itemTmp = append(p.itemTmp, item)
			} else {
				j++
			}
		case TokKeyword:
			if keywordOf(p.src[tk.Offset:tk.End]) == kwEndif {
				if inIf {
					tl.If.EndIf = int(tk.Offset)
				} else {
					p.errorf(CodeUnbalancedIf, SeverityError, int(tk.Offset), int(tk.End),
						"ENDIF at the end of a :T: line that does not start with IF; add IF condition THEN after :T: or delete ENDIF")
				}
			}
			j++
		default:
			j++
		}
	}
	tl.Items = p.carveItems(p.itemTmp[istart:])
	if inIf && tl.If.EndIf < 0 {
		p.errorf(CodeUnbalancedIf, SeverityError, tl.If.If, int(ln.End),
			"the IF on this :T: line has no ENDIF; a template IF must end with ENDIF on the same line (…<EOL>ENDIF)")
	}
	return tl
}

// tokenItem parses a template token starting at the '<' token j.
func (p *parser) tokenItem(j, last int32) (*TokenItem, int32) {
	lt := p.toks[j]
	it := p.tokItemS.alloc()
	*it = TokenItem{Lt: int(lt.Offset), Gt: -1, Colon: -1, Form: FormBad, EndOff: int(lt.End)}
	j++
	if j >= last {
		return it, j
	}
	tk := p.toks[j]
	switch tk.Kind {
	case TokFormat:
		it.Form = FormFormat
		f := p.text[tk.Offset:tk.End]
		if len(f) >= 2 {
			f = f[1 : len(f)-1]
		}
		it.Format = f
		j++
	case TokVariable:
		it.Form = FormAttr
		it.Name = p.ident(j)
		j++
	case TokToken:
		w := p.src[tk.Offset:tk.End]
		switch {
		case len(w) == 1 && w[0] == '#':
			it.Form = FormDecimal
			j++
		case len(w) == 1 && w[0] == '%':
			it.Form = FormInteger
			j++
		case equalFoldASCII(w, "EOL"):
			it.Form = FormEOL
			it.Name = p.ident(j)
			j++
		case equalFoldASCII(w, "BLANK"):
			it.Form = FormBlank
			it.Name = p.ident(j)
			j++
		case equalFoldASCII(w, "ATTRIBUTES"):
			it.Form = FormAttributes
			it.Name = p.ident(j)
			j++
		}
	}
	// '!' and ':'
	for j < last && p.toks[j].Kind == TokToken {
		c := p.src[p.toks[j].Offset]
		if c == '!' && it.Colon < 0 {
			it.Force = true
			j++
			continue
		}
		if c == ':' && it.Colon < 0 {
			it.Colon = int(p.toks[j].Offset)
			j++
			j = p.tokenValue(it, j, last)
			continue
		}
		break
	}
	if j < last && p.toks[j].Kind == TokToken && p.src[p.toks[j].Offset] == '>' {
		it.Gt = int(p.toks[j].Offset)
		it.EndOff = it.Gt + 1
		j++
	} else {
		// malformed: absorb error tokens (the lexer reported them)
		for j < last && p.toks[j].Kind == TokError {
			it.EndOff = int(p.toks[j].End)
			it.Form = FormBad
			j++
		}
		if j > 0 && int(p.toks[j-1].End) > it.EndOff {
			it.EndOff = int(p.toks[j-1].End)
		}
		if p.toks[j-1].Kind == TokEOL {
			it.EndOff = int(p.toks[j-1].Offset)
		}
	}
	if it.Gt >= 0 && it.Colon >= 0 && it.Value == nil {
		p.errorf(CodeMalformedToken, SeverityError, it.Lt, it.EndOff, "template token %q has ':' but no value after it", p.text[it.Lt:it.EndOff])
	}
	if (it.Form == FormDecimal || it.Form == FormInteger || it.Form == FormFormat) && it.Colon < 0 {
		it.Form = FormBad
	}
	return it, j
}

// tokenValue parses the value of a template token after ':'.
func (p *parser) tokenValue(it *TokenItem, j, last int32) int32 {
	if j < last && p.toks[j].Kind == TokString {
		tk := p.toks[j]
		l := p.litS.alloc()
		*l = BasicLit{ValuePos: int(tk.Offset), Kind: LitString, Value: p.text[tk.Offset:tk.End]}
		it.Value = l
		it.EndOff = int(tk.End)
		return j + 1
	}
	p.sig = p.sig[:0]
	for ; j < last; j++ {
		k := p.toks[j].Kind
		if k == TokSpace {
			continue
		}
		if k == TokEOL || k == TokToken && (p.src[p.toks[j].Offset] == '>' || p.src[p.toks[j].Offset] == '<') || k == TokTemplateText {
			break
		}
		if k == TokKeyword && keywordOf(p.src[p.toks[j].Offset:p.toks[j].End]) == kwEndif {
			break
		}
		p.sig = append(p.sig, j)
	}
	if len(p.sig) == 0 {
		return j
	}
	p.si = 0
	p.panicLn = 0
	it.Value = p.parseExpr(true)
	it.EndOff = it.Value.End()
	if p.si < len(p.sig) {
		c := p.sig[p.si]
		p.syntaxErr(CodeSyntax, c, "unexpected %q in the value of a template token", p.tokText(c))
	}
	return j
}

// exprList parses item {"," item} — call arguments, or with params the
// parameter names of a section header — and returns the items. It collects
// them on the shared expression buffer (nested lists stack above it) and
// carves the result out of the node arena.
func (p *parser) exprList(params bool) []Expr {
	start := len(p.exprBuf)
	for {
		var x Expr
		if params {
			x = p.paramIdent()
		} else {
			x = p.parseExpr(true)
		}
		p.exprBuf = append(p.exprBuf, x)
		if !p.atPunct(',') {
			break
		}
		p.si++
	}
	list := p.carveExprs(p.exprBuf[start:])
	p.exprBuf = p.exprBuf[:start]
	return list
}
