package upg

import (
	"slices"
	"strconv"
	"strings"
)

// This file holds the expression and statement parser shared by :C: code,
// template IF conditions, template token values and command arguments. It
// works on p.sig, a list of indices of significant tokens, and takes its
// nodes from the arena p.a (when it builds them, see xref).

func (p *parser) ident(t int32) *Ident {
	id := p.a.ident.alloc()
	off := p.off(t)
	id.NamePos = int(off)
	id.Name = p.text[off:p.ends[t]]
	return id
}

func (p *parser) badExpr(from, to int) *BadExpr {
	x := p.a.badX.alloc()
	*x = BadExpr{From: from, To: to}
	return x
}

func (p *parser) badStmt(from, to int) *BadStmt {
	x := p.a.badS.alloc()
	*x = BadStmt{From: from, To: to}
	return x
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
		return int(p.off(p.sig[p.si]))
	}
	if n := len(p.sig); n > 0 {
		return int(p.ends[p.sig[n-1]])
	}
	return 0
}

// Tags say what a significant token is to the grammar, so that the parser
// compares small numbers instead of looking at bytes again: a keyword id
// (kwIf … kwGoto), an operator or a punctuation mark, or tagNone.
const (
	tagNone   uint8 = 0
	opEq      uint8 = 16 + iota // =
	opNe                        // <>
	opLt                        // <
	opGt                        // >
	opLe                        // <= (reported: UPG has no such operator)
	opGe                        // >=
	opBangEq                    // !=
	opAdd                       // +
	opSub                       // -
	opMul                       // *
	opDiv                       // /
	tagLparen                   // (
	tagRparen                   // )
	tagComma                    // ,
	// tagUnsupported marks a name that isUnsupportedWord: the lexer
	// notes it while it looks the name up anyway.
	tagUnsupported
)

// opText is the source text of each operator tag.
var opText = [...]string{opEq: "=", opNe: "<>", opLt: "<", opGt: ">", opLe: "<=", opGe: ">=", opBangEq: "!=",
	opAdd: "+", opSub: "-", opMul: "*", opDiv: "/"}

// opTagOf is the tag of each one-byte operator.
var opTagOf = [256]uint8{'=': opEq, '<': opLt, '>': opGt, '+': opAdd, '-': opSub, '*': opMul, '/': opDiv}

// tagOf computes the tag of token t (Parse has the lexer's, see
// lexer.tags; Section.Body's build computes them here).
func (p *parser) tagOf(t int32) uint8 {
	off, end := p.off(t), p.ends[t]
	switch p.kinds[t] {
	case TokKeyword:
		return uint8(keywordOf(p.src[off:end]))
	case TokOperator:
		if end-off == 1 {
			return opTagOf[p.src[off]]
		}
		switch p.text[off:end] {
		case "<>":
			return opNe
		case "<=":
			return opLe
		case ">=":
			return opGe
		case "!=":
			return opBangEq
		}
	case TokVariable, TokFunction, TokName:
		if isUnsupportedWord(p.text[off:end]) {
			return tagUnsupported
		}
	case TokPunct:
		if end-off == 1 {
			switch p.src[off] {
			case '=': // of a command or a :DEFINE
				return opEq
			case '(':
				return tagLparen
			case ')':
				return tagRparen
			case ',':
				return tagComma
			}
		}
	}
	return tagNone
}

// pushSig appends significant token t (and its tag) to the list the
// expression and statement parser works on.
func (p *parser) pushSig(t int32) {
	p.sig = append(p.sig, t)
	p.tags = append(p.tags, p.tagFor(t))
}

// pushSigs pushes the significant tokens of [from, to). Blanks and
// significant tokens alternate irregularly, so it does not branch on the
// kind: it writes every token and advances only past the ones it keeps
// (sigKind). A TokError token is kept unless it is a control byte.
func (p *parser) pushSigs(from, to int32) {
	if from >= to {
		return
	}
	n := len(p.sig)
	if need := n + int(to-from); need > cap(p.sig) || need > cap(p.tags) {
		p.sig, p.tags = slices.Grow(p.sig, int(to-from)), slices.Grow(p.tags, int(to-from))
	}
	sig, tags := p.sig[:n+int(to-from)], p.tags[:n+int(to-from)]
	kinds := p.kinds[from:to]
	if p.tokTags != nil {
		// Parse: the lexer's tags (the common case, kept to a tight loop)
		tokTags := p.tokTags[from:to]
		tokTags = tokTags[:len(kinds)]
		for i, kind := range kinds {
			keep := sigKind[kind]
			if kind == TokError && p.trivia(from+int32(i)) {
				keep = 0
			}
			sig[n], tags[n] = from+int32(i), tokTags[i]
			n += int(keep)
		}
	} else {
		for i, kind := range kinds {
			k := from + int32(i)
			keep := sigKind[kind]
			if kind == TokError && p.trivia(k) {
				keep = 0
			}
			var tag uint8
			if keep != 0 {
				tag = p.tagOf(k)
			}
			sig[n], tags[n] = k, tag
			n += int(keep)
		}
	}
	// Re-slicing a field stores no pointer (no write barrier).
	p.sig, p.tags = p.sig[:n], p.tags[:n]
}

// sigKind is 1 for the kinds of token the expression parser sees, 0 for
// the blanks and line ends it skips.
var sigKind = func() (t [numTokenKinds]uint8) {
	for k := range t {
		t[k] = 1
	}
	t[TokSpace], t[TokEOL] = 0, 0
	return t
}()

// tagFor is the tag of token t: the lexer's in Parse, else tagOf's.
func (p *parser) tagFor(t int32) uint8 {
	if p.tokTags != nil {
		return p.tokTags[t]
	}
	return p.tagOf(t)
}

func (p *parser) resetSig() {
	p.sig, p.tags = p.sig[:0], p.tags[:0]
	p.xs, p.xnodes = p.xs[:0], p.xnodes[:0]
	p.si = 0
	p.panicLn = 0
}

// tagAt is the tag of the current token, tagNone at the end.
func (p *parser) tagAt() uint8 {
	if p.si < len(p.tags) {
		return p.tags[p.si]
	}
	return tagNone
}

func (p *parser) atPunct(tag uint8) bool { return p.tagAt() == tag }

// kwOf returns the keyword id of token t, kwNone when it is no keyword.
func (p *parser) kwOf(t int32) int {
	if p.kinds[t] != TokKeyword {
		return kwNone
	}
	return keywordOf(p.src[p.off(t):p.ends[t]])
}

// kwAt returns the keyword id of the current token, kwNone when it is none.
func (p *parser) kwAt() int {
	if t := p.tagAt(); t < opEq {
		return int(t)
	}
	return kwNone
}

// opAt returns the operator tag of the current token, or tagNone.
func (p *parser) opAt() uint8 {
	if t := p.tagAt(); t >= opEq && t <= opDiv {
		return t
	}
	return tagNone
}

// syntaxErr reports a syntax error, at most one per line.
func (p *parser) syntaxErr(code string, t int32, format string, args ...any) {
	if p.quiet {
		return
	}
	line := p.lineOf(t)
	if line == p.panicLn {
		return
	}
	p.panicLn = line
	p.errorf(code, SeverityError, int(p.off(t)), int(p.ends[t]), format, args...)
}

// isUnsupportedWord reports whether a name is a keyword UPG does not have
// (NOT, WHILE, ELSEIF …). A lower-case name is a user attribute, whatever
// its spelling: "not" in "A=1 * not a comment" is not the keyword NOT.
func isUnsupportedWord(w string) bool {
	return isUnsupported(w) && !IsUserName(w)
}

// unsupportedWords are the keywords of other languages that people write
// in UPG code (upper case).
var unsupportedWords = [...]string{"NOT", "WHILE", "ELSIF", "ELSEIF", "ENDWHILE"}

// isUnsupported reports whether w is one of unsupportedWords in any case.
func isUnsupported[S ~string | ~[]byte](w S) bool {
	for _, u := range unsupportedWords {
		if equalFoldASCII(w, u) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- expressions

// The expression parser returns an xref: the index of a record of the
// expression's kind and span in p.xs, which is all the diagnostics look
// at. When it builds nodes (p.build) it makes the syntax node as well,
// p.node(x). Checking Parse's :C: code makes no nodes: it only counts them
// (the counts size the arena of Section.Body's build), so the check
// allocates nothing and writes no pointers.
type xref int32

// xrec is what the parser keeps of an expression.
type xrec struct {
	pos, end int32
	kind     uint8 // xIdent …
	op       uint8 // the operator tag of xBinary and xUnary (kwAnd, kwOr, opEq … opDiv)
}

const (
	xIdent uint8 = iota
	xLit
	xBinary
	xUnary
	xParen
	xCall
	xTokenRef
	xBad
)

// rec records an expression; n is its node when building.
func (p *parser) rec(kind, op uint8, pos, end int, n Expr) xref {
	p.xs = append(p.xs, xrec{pos: int32(pos), end: int32(end), kind: kind, op: op})
	if p.build {
		p.xnodes = append(p.xnodes, n)
	}
	return xref(len(p.xs) - 1)
}

// node is the syntax node of x (build only).
func (p *parser) node(x xref) Expr { return p.xnodes[x] }

func (p *parser) xpos(x xref) int { return int(p.xs[x].pos) }
func (p *parser) xend(x xref) int { return int(p.xs[x].end) }

// isBinary reports whether x is an unparenthesised binary expression with
// one of the operators ops.
func (p *parser) isBinary(x xref, op1, op2 uint8) bool {
	r := &p.xs[x]
	return r.kind == xBinary && (r.op == op1 || r.op == op2)
}

// identX parses name token t as an expression.
func (p *parser) identX(t int32) xref {
	off, end := int(p.off(t)), int(p.ends[t])
	if !p.build {
		p.a.ident.count++
		return p.rec(xIdent, 0, off, end, nil)
	}
	return p.rec(xIdent, 0, off, end, p.ident(t))
}

func (p *parser) badX(from, to int) xref {
	if !p.build {
		p.a.badX.count++
		return p.rec(xBad, 0, from, to, nil)
	}
	return p.rec(xBad, 0, from, to, p.badExpr(from, to))
}

// parseExpr parses an expression. Each precedence level below parses its
// leftmost operand first, so the levels can be entered with that operand
// parsed (the …From functions): an operand with no binary operator after
// it (most call arguments and right-hand sides) skips them all.
func (p *parser) parseExpr(allowEq bool) xref {
	x := p.parseUnary()
	if t := p.tagAt(); t < opEq && t != kwAnd && t != kwOr || t > opDiv {
		return x
	}
	return p.parseOrFrom(x, allowEq)
}

func (p *parser) parseOrFrom(x xref, allowEq bool) xref {
	x = p.parseAndFrom(x, allowEq)
	// The operands of an OR chain are AND chains or simpler: an AND among
	// them is an unparenthesised one.
	sawOr, sawAnd := false, p.isBinary(x, kwAnd, kwAnd)
	for p.kwAt() == kwOr {
		op := p.curOff()
		p.si++
		y := p.parseAnd(allowEq)
		sawAnd = sawAnd || p.isBinary(y, kwAnd, kwAnd)
		x = p.binary(x, op, kwOr, y)
		sawOr = true
	}
	if sawOr && sawAnd {
		p.errorf(CodeMixedAndOr, SeverityInfo, p.xpos(x), p.xend(x),
			"AND and OR are mixed without parentheses; UPG does not document which binds first — add parentheses to make the meaning explicit")
	}
	return x
}

func (p *parser) parseAnd(allowEq bool) xref { return p.parseAndFrom(p.parseUnary(), allowEq) }

func (p *parser) parseAndFrom(x xref, allowEq bool) xref {
	x = p.parseCmpFrom(x, allowEq)
	for p.kwAt() == kwAnd {
		op := p.curOff()
		p.si++
		y := p.parseCmp(allowEq)
		x = p.binary(x, op, kwAnd, y)
	}
	return x
}

// binary records X op Y; op is the operator's tag (kwAnd, kwOr, opEq …).
func (p *parser) binary(x xref, opPos int, op uint8, y xref) xref {
	pos, end := p.xpos(x), p.xend(y)
	if !p.build {
		p.a.bin.count++
		return p.rec(xBinary, op, pos, end, nil)
	}
	b := p.a.bin.alloc()
	b.X, b.OpPos, b.Op, b.Y = p.node(x), opPos, opString(op), p.node(y) // the slab hands out zeroed nodes
	return p.rec(xBinary, op, pos, end, b)
}

// opString is the Op of a binary or unary expression with operator tag op.
func opString(op uint8) string {
	switch op {
	case kwAnd:
		return "AND"
	case kwOr:
		return "OR"
	}
	return opText[op]
}

func (p *parser) parseCmp(allowEq bool) xref { return p.parseCmpFrom(p.parseUnary(), allowEq) }

func (p *parser) parseCmpFrom(x xref, allowEq bool) xref {
	x = p.parseAddFrom(x)
	op := p.opAt()
	switch op {
	case opEq:
		if !allowEq {
			return x
		}
	case opNe, opLt, opGt:
	case opLe, opGe, opBangEq:
		t := p.cur()
		hint := map[uint8]string{opLe: "A<B OR A=B", opGe: "A>B OR A=B", opBangEq: "A<>B"}[op]
		p.errorf(CodeUnsupportedOperator, SeverityError, int(p.off(t)), int(p.ends[t]),
			"UPG has no %s operator; write %s", opText[op], hint)
	default:
		return x
	}
	opPos := p.curOff()
	p.si++
	y := p.parseAdd()
	return p.binary(x, opPos, op, y)
}

func (p *parser) parseAdd() xref { return p.parseAddFrom(p.parseUnary()) }

func (p *parser) parseAddFrom(x xref) xref {
	x = p.parseMulFrom(x)
	if op := p.opAt(); op != opAdd && op != opSub {
		return x
	}
	// The operands that are products, for checkMixedArithmetic: stacked
	// on p.products (a parenthesised operand parses its own chain above).
	start := len(p.products)
	if p.isBinary(x, opMul, opDiv) {
		p.products = append(p.products, x)
	}
	for {
		op := p.opAt()
		if op != opAdd && op != opSub {
			break
		}
		opPos := p.curOff()
		p.si++
		y := p.parseMul()
		if p.isBinary(y, opMul, opDiv) {
			p.products = append(p.products, y)
		}
		x = p.binary(x, opPos, op, y)
	}
	if len(p.products) > start && !p.quiet {
		p.checkMixedArithmetic(x, p.products[start:])
	}
	p.products = p.products[:start]
	return x
}

// checkMixedArithmetic warns about a chain x of + and - whose operands
// include unparenthesised products (in source order): the language
// catalogue documents no precedence, so B+C*D may not mean B+(C*D).
func (p *parser) checkMixedArithmetic(x xref, products []xref) {
	// The suggestion puts parentheses around each product: B+(C*D).
	var sb strings.Builder
	pos := p.xpos(x)
	for _, pr := range products {
		sb.WriteString(p.text[pos:p.xpos(pr)])
		sb.WriteByte('(')
		sb.WriteString(p.text[p.xpos(pr):p.xend(pr)])
		sb.WriteByte(')')
		pos = p.xend(pr)
	}
	sb.WriteString(p.text[pos:p.xend(x)])
	p.errorf(CodeMixedArithmetic, SeverityWarning, p.xpos(x), p.xend(x),
		"%s mixes + or - with * or / without parentheses; UPG does not document which is applied first — write %s if that is what you mean",
		truncate(p.text[p.xpos(x):p.xend(x)], 60), truncate(sb.String(), 70))
}

func (p *parser) parseMul() xref { return p.parseMulFrom(p.parseUnary()) }

func (p *parser) parseMulFrom(x xref) xref {
	for {
		op := p.opAt()
		if op != opMul && op != opDiv {
			return x
		}
		if op == opMul && p.trailingComment() {
			return x
		}
		opPos := p.curOff()
		p.si++
		y := p.parseUnary()
		x = p.binary(x, opPos, op, y)
	}
}

// trailingComment recognises "A=1 * not a comment": a '*' followed on the
// same line by two words in a row, which no expression can be, is a
// comment written at the end of a :C: line. UPG has no such comments (the
// '*' would multiply), so it is reported and the rest of the line skipped.
func (p *parser) trailingComment() bool {
	if p.si+2 >= len(p.sig) {
		return false
	}
	star, w1, w2 := p.sig[p.si], p.sig[p.si+1], p.sig[p.si+2]
	switch p.kinds[w1] {
	case TokVariable, TokName, TokFunction, TokNumber:
	default:
		return false
	}
	switch p.kinds[w2] {
	case TokVariable, TokName: // not a keyword, nor a bare built-in such as INCON
	default:
		return false
	}
	if p.si+3 < len(p.sig) {
		if w3 := p.tags[p.si+3]; w3 == tagLparen || w3 == opEq {
			return false // "A=B*C D=1": the next statement
		}
	}
	line := p.lineOf(star)
	if p.lineOf(w2) != line {
		return false
	}
	last := p.si
	for last+1 < len(p.sig) && p.lineOf(p.sig[last+1]) == line {
		last++
	}
	from, to := int(p.off(star)), int(p.ends[p.sig[last]])
	p.errorf(CodeTrailingComment, SeverityWarning, from, to,
		"%q after the statement is read as calculation code ('*' multiplies): a :C: line has no comment at its end — put the comment on a line of its own starting with '*'",
		truncate(p.text[from:to], 50))
	p.si = last + 1
	return true
}

// maxDepth bounds the nesting of parentheses, unary operators and IFs so
// that hostile input cannot make the recursive parser run out of stack.
const maxDepth = 200

// tooDeep reports (once per line) an expression nested deeper than maxDepth.
func (p *parser) tooDeep() bool {
	if p.depth < maxDepth {
		return false
	}
	if t := p.cur(); t >= 0 {
		p.syntaxErr(CodeNestingTooDeep, t, "this expression is nested more than %d levels deep (parentheses, calls, signs); split it into several assignments", maxDepth)
	}
	return true
}

// skipNested skips the rest of the current line's tokens.
func (p *parser) skipNested() xref {
	from := p.curOff()
	if t := p.cur(); t >= 0 {
		end := p.lastTok(int(p.lineOf(t)) - 1)
		for p.si < len(p.sig) && p.sig[p.si] < end {
			p.si++
		}
	}
	return p.badX(from, p.curOff())
}

func (p *parser) parseUnary() xref {
	if op := p.opAt(); op == opSub || op == opAdd {
		if p.tooDeep() {
			return p.skipNested()
		}
		p.depth++
		opPos := p.curOff()
		p.si++
		x := p.parseUnary()
		p.depth--
		if !p.build {
			p.a.unary.count++
			return p.rec(xUnary, op, opPos, p.xend(x), nil)
		}
		u := p.a.unary.alloc()
		u.OpPos, u.Op, u.X = opPos, opText[op], p.node(x)
		return p.rec(xUnary, op, opPos, p.xend(x), u)
	}
	return p.primary()
}

func (p *parser) primary() xref {
	if p.si >= len(p.sig) {
		off := p.curOff()
		if n := len(p.sig); n > 0 {
			p.syntaxErr(CodeSyntax, p.sig[n-1], "expression ends too early: a value (name, number, {string} or '(') is missing after %q", p.tokText(p.sig[n-1]))
		}
		return p.badX(off, off)
	}
	t := p.sig[p.si]
	off, end := p.off(t), p.ends[t]
	switch p.kinds[t] {
	case TokNumber, TokString:
		p.si++
		kind := LitNumber
		if p.kinds[t] == TokString {
			kind = LitString
		}
		if !p.build {
			p.a.lit.count++
			return p.rec(xLit, 0, int(off), int(end), nil)
		}
		l := p.a.lit.alloc()
		l.ValuePos, l.Value, l.Kind = int(off), p.text[off:end], kind
		return p.rec(xLit, 0, int(off), int(end), l)
	case TokVariable, TokFunction, TokName:
		if p.tags[p.si] == tagUnsupported {
			name := p.text[off:end]
			p.syntaxErr(CodeUnsupportedOperator, t, "UPG has no %s; for NOT write a comparison (A<>B, A=0), for ELSEIF nest IF … ENDIF, for loops use :Cn: labels and GOTOn", name)
			p.si++
			return p.primary()
		}
		p.si++
		id := p.identX(t)
		if p.atPunct(tagLparen) {
			return p.callArgs(id, t)
		}
		return id
	case TokPunct:
		if p.tags[p.si] == tagLparen {
			if p.tooDeep() {
				return p.skipNested()
			}
			p.depth++
			p.si++
			x := p.parseExpr(true)
			p.depth--
			rparen := -1
			if p.atPunct(tagRparen) {
				rparen = p.curOff()
				p.si++
			} else {
				p.syntaxErr(CodeUnclosedParen, t, "'(' is not closed; add ')'")
			}
			pend := p.xend(x)
			if rparen >= 0 {
				pend = rparen + 1
			}
			if !p.build {
				p.a.paren.count++
				return p.rec(xParen, 0, int(off), pend, nil)
			}
			pe := p.a.paren.alloc()
			pe.Lparen, pe.X, pe.Rparen = int(off), p.node(x), rparen
			return p.rec(xParen, 0, int(off), pend, pe)
		}
	case TokToken:
		if p.src[off] == '<' {
			return p.tokenRef()
		}
	case TokError:
		p.si++
		return p.badX(int(off), int(end))
	}
	p.syntaxErr(CodeSyntax, t, "expected a value (a name, number, {string} or '(') but found %q", p.tokText(t))
	if tag := p.tags[p.si]; p.kinds[t] != TokKeyword && tag != tagRparen && tag != tagComma {
		p.si++
	}
	return p.badX(int(off), int(off))
}

// tokenRef parses <NAME> / <NAME!> used as an argument.
func (p *parser) tokenRef() xref {
	lt := p.sig[p.si]
	r := TokenRef{Lt: int(p.off(lt)), Gt: int(p.ends[lt]) - 1}
	p.si++
	name := int32(-1)
	if t := p.cur(); t >= 0 && p.kinds[t] == TokVariable {
		name = t
		p.si++
	}
	for p.si < len(p.sig) {
		t := p.sig[p.si]
		if p.kinds[t] != TokToken {
			break
		}
		off := p.off(t)
		c := p.src[off]
		p.si++
		if c == '!' {
			r.Force = true
			continue
		}
		if c == '>' {
			r.Gt = int(off)
		}
		break
	}
	if !p.build {
		p.a.tref.count++
		if name >= 0 {
			p.a.ident.count++
		}
		return p.rec(xTokenRef, 0, r.Pos(), r.End(), nil)
	}
	n := p.a.tref.alloc()
	if name >= 0 {
		r.Name = p.ident(name)
	}
	*n = r
	return p.rec(xTokenRef, 0, r.Pos(), r.End(), n)
}

// callArgs parses the arguments of NAME( — id, name token t — up to ')'.
func (p *parser) callArgs(id xref, t int32) xref {
	if p.tooDeep() {
		return p.skipNested()
	}
	p.depth++
	lparen := p.curOff()
	lp := p.sig[p.si]
	p.si++
	var args []Expr
	end := lparen + 1 // the end of a call without ')' or arguments
	if !p.atPunct(tagRparen) {
		var last xref
		args, last = p.exprList(false)
		end = p.xend(last)
	}
	rparen := -1
	if p.atPunct(tagRparen) {
		rparen = p.curOff()
		end = rparen + 1
		p.si++
	} else {
		p.syntaxErr(CodeUnclosedParen, lp, "%s( is not closed; add ')' after its arguments", p.tokText(t))
	}
	p.depth--
	if !p.build {
		p.a.call.count++
		return p.rec(xCall, 0, p.xpos(id), end, nil)
	}
	c := p.a.call.alloc()
	c.Fun, c.Lparen, c.Args, c.Rparen = p.node(id).(*Ident), lparen, args, rparen
	return p.rec(xCall, 0, p.xpos(id), end, c)
}

// ---------------------------------------------------------------- statements

// gotoRef is a GOTOn of the section being parsed.
type gotoRef struct {
	pos, end int32
	label    int
}

// parseCalcSection parses the :C: lines p.secCalc of section s as one
// statement stream. Parse checks the code (labels, GOTOs, everything the
// statement parser reports); buildBodies keeps the statements as s.body.
func (p *parser) parseCalcSection(s *Section) {
	p.resetSig()
	var labelLine map[int]int
	for _, li := range p.secCalc {
		t := p.firstTok(int(li)) // the :C: or :Cn: prefix
		if !p.quiet {
			labelLine = p.label(s, t, int(li)+1, labelLine)
		}
		p.pushSigs(t+1, p.lastTok(int(li)))
	}
	p.gotos = p.gotos[:0]
	p.curSec = s
	body := p.parseBlock(false)
	if p.build {
		s.body = body
	}
	for _, g := range p.gotos {
		if _, found := findLabel(s.Labels, labelLine, g.label); !found {
			p.errorf(CodeUndefinedLabel, SeverityError, int(g.pos), int(g.end),
				"GOTO%d has no :C%d: label in section %s; labels are per section — add the label or fix the number", g.label, g.label, s.Name)
		}
	}
	p.curSec = nil
}

// label records the label of the :Cn: prefix token t on 1-based line line
// and returns the label map (made once the section has many labels).
func (p *parser) label(s *Section, t int32, line int, labelLine map[int]int) map[int]int {
	from, to := int(p.off(t)), int(p.ends[t])
	if to-from <= 3 {
		return labelLine // ":C:"
	}
	n, err := strconv.Atoi(p.text[from+2 : to-1])
	if err != nil {
		return labelLine
	}
	if first, dup := findLabel(s.Labels, labelLine, n); dup {
		p.errorf(CodeDuplicateLabel, SeverityWarning, from, to,
			"label %d is already used on line %d of section %s; GOTO%d jumps to only one of them — renumber one", n, first, s.Name, n)
	} else {
		s.Labels = p.labelsA.push(s.Labels, Label{N: n, Pos: from, Line: line})
		if labelLine != nil {
			labelLine[n] = line
		} else if len(s.Labels) > labelScanMax {
			labelLine = make(map[int]int, 2*len(s.Labels))
			for _, l := range s.Labels {
				labelLine[l.N] = l.Line
			}
		}
	}
	if n > 9999 {
		p.errorf(CodeSyntax, SeverityError, from, to, "label %d is out of range; labels are 0 to 9999", n)
	}
	return labelLine
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

// parseBlock parses statements up to ELSE/ENDIF (inIf) or the end. When
// only checking it returns nil: the statements are counted, not kept.
func (p *parser) parseBlock(inIf bool) []Stmt {
	start := len(p.stmtTmp)
	n := 0
loop:
	for p.si < len(p.sig) {
		t := p.sig[p.si]
		switch kw := p.kwAt(); kw {
		case kwElse, kwEndif:
			if inIf {
				break loop
			}
			word := "ENDIF"
			if kw == kwElse {
				word = "ELSE"
			}
			p.errorf(CodeUnbalancedIf, SeverityError, int(p.off(t)), int(p.ends[t]),
				"%s without a matching IF in section %s; delete it or add the IF … THEN it belongs to", word, p.secName())
			p.si++
			continue
		}
		s := p.parseStmt()
		if p.build {
			p.stmtTmp = append(p.stmtTmp, s)
		}
		n++
	}
	if !p.build {
		p.a.stmts.count += n
		return nil
	}
	list := p.a.stmts.carve(p.stmtTmp[start:])
	p.stmtTmp = p.stmtTmp[:start]
	return list
}

// parseStmt parses one statement; it returns its node when building, nil
// when only checking.
func (p *parser) parseStmt() Stmt {
	t := p.sig[p.si]
	off, end := int(p.off(t)), int(p.ends[t])
	switch p.kinds[t] {
	case TokKeyword:
		switch p.kwAt() {
		case kwIf:
			return p.parseIf()
		case kwCall:
			return p.parseCallStmt()
		case kwReturn:
			p.si++
			if !p.build {
				p.a.ret.count++
				return nil
			}
			r := p.a.ret.alloc()
			r.Return = off
			return r
		case kwGoto:
			return p.parseGoto()
		}
		p.syntaxErr(CodeSyntax, t, "%s here does not belong to any IF; check the IF … THEN … ENDIF around it", p.tokText(t))
		p.si++
		return p.badStmtX(off, end)
	case TokVariable, TokFunction, TokName:
		name := p.text[off:end]
		if p.tags[p.si] == tagUnsupported {
			p.syntaxErr(CodeUnsupportedOperator, t, "UPG has no %s; nest IF … ENDIF instead of ELSEIF, and build loops with :Cn: labels and GOTOn", name)
			p.si++
			return p.badStmtX(off, end)
		}
		p.si++
		lhs := p.identX(t)
		if p.atPunct(tagLparen) {
			lhs = p.callArgs(lhs, t)
		}
		if p.opAt() == opEq {
			eq := p.curOff()
			p.si++
			rhs := p.parseExpr(false)
			if !p.build {
				p.a.assign.count++
				return nil
			}
			a := p.a.assign.alloc()
			a.Lhs, a.EqPos, a.Rhs = p.node(lhs), eq, p.node(rhs)
			return a
		}
		if p.xs[lhs].kind == xIdent && !p.quiet && !isFunctionName(name) && p.lineOf(t) != p.panicLn {
			p.errorf(CodeBareName, SeverityWarning, off, end,
				"%s stands alone but is not a built-in command; did you mean %s=value or a CALL(%s)?", name, name, name)
		}
		if !p.build {
			p.a.cmd.count++
			return nil
		}
		cs := p.a.cmd.alloc()
		cs.X = p.node(lhs)
		return cs
	case TokError:
		p.si++
		return p.badStmtX(off, end)
	}
	p.syntaxErr(CodeSyntax, t, "unexpected %q; a statement starts with a name (X=…, COMMAND(…)), IF, CALL(…), GOTOn or RETURN", p.tokText(t))
	p.si++
	return p.badStmtX(off, end)
}

// badStmtX is badStmt, only counted when checking.
func (p *parser) badStmtX(from, to int) Stmt {
	if !p.build {
		p.a.badS.count++
		return nil
	}
	return p.badStmt(from, to)
}

func (p *parser) stmtsEnd(list []Stmt, def int) int {
	if n := len(list); n > 0 {
		return list[n-1].End()
	}
	return def
}

func (p *parser) parseIf() Stmt {
	t := p.sig[p.si]
	if p.ifDepth >= maxDepth {
		return p.skipDeepIf(t)
	}
	p.ifDepth++
	ifOff := int(p.off(t))
	p.si++
	var st *IfStmt
	if p.build {
		st = p.a.ifs.alloc()
		*st = IfStmt{If: ifOff, Then: -1, ElsePos: -1, EndIf: -1}
	} else {
		p.a.ifs.count++
	}
	cond := p.parseExpr(true)
	then := -1
	if p.kwAt() == kwThen {
		then = p.curOff()
		p.si++
	} else if !p.quiet {
		at := p.curOff()
		if c := p.cur(); c >= 0 {
			p.errorf(CodeMissingThen, SeverityWarning, at, int(p.ends[c]),
				"the IF on line %d has no THEN after its condition (found %q); the compiler accepts this, but write IF condition THEN … ENDIF", p.lineOf(t), p.tokText(c))
		} else {
			p.errorf(CodeMissingThen, SeverityWarning, ifOff, at,
				"the IF on line %d has no THEN after its condition; write IF condition THEN … ENDIF", p.lineOf(t))
		}
	}
	body := p.parseBlock(true)
	end := p.xend(cond)
	if then >= 0 {
		end = then + 4
	}
	end = p.stmtsEnd(body, end)
	elsePos := -1
	var els []Stmt
	for p.kwAt() == kwElse {
		e := p.curOff()
		if elsePos >= 0 {
			p.errorf(CodeUnbalancedIf, SeverityError, e, e+4,
				"a second ELSE for the IF on line %d; UPG has no ELSEIF — nest IF … ENDIF inside the ELSE", p.lineOf(t))
		} else {
			elsePos = e
		}
		end = e + 4
		p.si++
		if blk := p.parseBlock(true); els == nil {
			els = blk // already carved: capped, nobody else's
		} else {
			els = append(els, blk...)
		}
		end = p.stmtsEnd(els, end)
	}
	endIf := -1
	if p.kwAt() == kwEndif {
		endIf = p.curOff()
		end = endIf + 5
		p.si++
	} else if !p.quiet {
		p.errorf(CodeUnbalancedIf, SeverityError, ifOff, ifOff+2,
			"the IF on line %d has no matching ENDIF in section %s; add ENDIF (every IF needs its own ENDIF)", p.lineOf(t), p.secName())
	}
	p.ifDepth--
	if !p.build {
		return nil
	}
	st.Cond, st.Then, st.Body, st.ElsePos, st.Else, st.EndIf, st.EndOff = p.node(cond), then, body, elsePos, els, endIf, end
	return st
}

// skipDeepIf handles an IF nested deeper than maxDepth: it is reported
// once, and the whole block up to its matching ENDIF (counting the IFs and
// ENDIFs inside) becomes one BadStmt, so that 5,000 nested IFs give one
// finding, not thousands.
func (p *parser) skipDeepIf(t int32) Stmt {
	from := int(p.off(t))
	open := 0
	last := t
	for p.si < len(p.sig) {
		k := p.sig[p.si]
		switch p.kwAt() {
		case kwIf:
			open++
		case kwEndif:
			open--
		}
		last = k
		p.si++
		if open == 0 {
			break
		}
	}
	to := int(p.ends[last])
	where := "the end of the section"
	if open == 0 {
		where = "its ENDIF on line " + strconv.Itoa(int(p.lineOf(last)))
	}
	p.errorf(CodeNestingTooDeep, SeverityError, from, from+2,
		"IF blocks are nested more than %d deep in section %s; this IF and everything up to %s is not checked — move the inner part into a section of its own and CALL it",
		maxDepth, p.secName(), where)
	return p.badStmtX(from, to)
}

func (p *parser) parseCallStmt() Stmt {
	t := p.sig[p.si]
	p.si++
	st := CallStmt{Call: int(p.off(t)), Lparen: -1, Rparen: -1, EndOff: int(p.ends[t])}
	section := int32(-1)
	if !p.atPunct(tagLparen) {
		p.syntaxErr(CodeSyntax, t, "CALL needs the section name in parentheses: CALL(SECTION) or CALL(SECTION(A,B))")
		return p.callStmt(&st, section)
	}
	lp := p.cur()
	st.Lparen = p.curOff()
	st.EndOff = st.Lparen + 1
	p.si++
	if c := p.cur(); c >= 0 {
		switch p.kinds[c] {
		case TokName, TokVariable, TokFunction:
			section = c
			st.EndOff = int(p.ends[c])
			p.si++
		default:
			p.syntaxErr(CodeSyntax, c, "expected a section name after CALL(, found %q", p.tokText(c))
		}
	}
	if section >= 0 && p.atPunct(tagLparen) {
		st.HasArgs = true
		inner := p.cur()
		p.si++
		if !p.atPunct(tagRparen) {
			st.Args, _ = p.exprList(false)
		}
		if p.atPunct(tagRparen) {
			p.si++
		} else {
			p.syntaxErr(CodeUnclosedParen, inner, "the argument list of CALL(%s( is not closed; add ')'", p.tokText(section))
		}
	}
	if p.atPunct(tagRparen) {
		st.Rparen = p.curOff()
		st.EndOff = st.Rparen + 1
		p.si++
	} else {
		p.syntaxErr(CodeUnclosedParen, lp, "CALL( is not closed; write CALL(SECTION)")
	}
	return p.callStmt(&st, section)
}

// callStmt makes the node of a parsed CALL; section is the token of the
// section name, -1 when missing.
func (p *parser) callStmt(st *CallStmt, section int32) Stmt {
	if !p.build {
		p.a.callSt.count++
		if section >= 0 {
			p.a.ident.count++
		}
		return nil
	}
	n := p.a.callSt.alloc()
	if section >= 0 {
		st.Section = p.ident(section)
	}
	*n = *st
	return n
}

func (p *parser) parseGoto() Stmt {
	t := p.sig[p.si]
	p.si++
	g := gotoRef{pos: p.off(t), end: p.ends[t]}
	w := p.tokText(t)
	if len(w) > 4 {
		n, _ := strconv.Atoi(w[4:])
		g.label = n
	} else if c := p.cur(); c >= 0 && p.kinds[c] == TokNumber {
		n, err := strconv.Atoi(p.tokText(c))
		if err != nil {
			p.syntaxErr(CodeSyntax, c, "GOTO needs a label number 0…9999, found %q", p.tokText(c))
		}
		g.label = n
		g.end = p.ends[c]
		p.si++
	} else {
		p.syntaxErr(CodeSyntax, t, "GOTO needs a label number written right after it: GOTO5 jumps to the :C5: line")
		if !p.build {
			p.a.gotos.count++ // the node a build makes before it sees the label missing
		} else {
			p.a.gotos.alloc()
		}
		return p.badStmtX(int(g.pos), int(g.end))
	}
	p.gotos = append(p.gotos, g)
	if !p.build {
		p.a.gotos.count++
		return nil
	}
	n := p.a.gotos.alloc()
	n.GotoPos, n.Label, n.EndOff = int(g.pos), g.label, int(g.end)
	return n
}

// ---------------------------------------------------------------- lines

// templateLine parses a :T: line.
func (p *parser) templateLine(i int) *TemplateLine {
	ln := &p.lines[i]
	t := p.firstTok(i)
	tl := p.tlineS.alloc()
	*tl = TemplateLine{Prefix: Span{int(p.off(t)), int(p.ends[t])}, Line: i + 1, EndOff: int(ln.End)}
	j := t + 1
	last := p.lastTok(i)
	for j < last && p.trivia(j) {
		j++
	}
	inIf := false
	if j < last && p.kwOf(j) == kwIf {
		inIf = true
		tif := &TemplateIf{If: int(p.off(j)), Then: -1, EndIf: -1}
		tl.If = tif
		j++
		p.resetSig()
		for ; j < last; j++ {
			if p.trivia(j) {
				continue
			}
			if p.kwOf(j) == kwThen {
				tif.Then = int(p.off(j))
				j++
				break
			}
			p.pushSig(j)
		}
		if len(p.sig) == 0 {
			p.errorf(CodeSyntax, SeverityError, tif.If, tif.If+2, "IF without a condition; write IF condition THEN … ENDIF")
		} else {
			tif.Cond = p.node(p.parseExpr(true))
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
		off := p.off(j)
		switch p.kinds[j] {
		case TokTemplateText:
			ti := p.textS.alloc()
			*ti = TextItem{Span: Span{int(off), int(p.ends[j])}, Text: p.tokText(j)}
			p.itemTmp = append(p.itemTmp, ti)
			j++
		case TokToken:
			if p.src[off] == '<' {
				var item *TokenItem
				item, j = p.tokenItem(j, last)
				p.itemTmp = append(p.itemTmp, item)
			} else {
				j++
			}
		case TokKeyword:
			if p.kwOf(j) == kwEndif {
				if inIf {
					tl.If.EndIf = int(off)
				} else {
					p.errorf(CodeUnbalancedIf, SeverityError, int(off), int(p.ends[j]),
						"ENDIF at the end of a :T: line that does not start with IF; add IF condition THEN after :T: or delete ENDIF")
				}
			}
			j++
		default:
			j++
		}
	}
	tl.Items = p.items.carve(p.itemTmp[istart:])
	if inIf && tl.If.EndIf < 0 {
		p.errorf(CodeUnbalancedIf, SeverityError, tl.If.If, int(ln.End),
			"the IF on this :T: line has no ENDIF; a template IF must end with ENDIF on the same line (…<EOL>ENDIF)")
	}
	return tl
}

// tokenItem parses a template token starting at the '<' token j.
func (p *parser) tokenItem(j, last int32) (*TokenItem, int32) {
	it := p.tokItemS.alloc()
	*it = TokenItem{Lt: int(p.off(j)), Gt: -1, Colon: -1, Form: FormBad, EndOff: int(p.ends[j])}
	j++
	if j >= last {
		return it, j
	}
	switch p.kinds[j] {
	case TokFormat:
		it.Form = FormFormat
		f := p.tokText(j)
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
		w := p.src[p.off(j):p.ends[j]]
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
	for j < last && p.kinds[j] == TokToken {
		c := p.src[p.off(j)]
		if c == '!' && it.Colon < 0 {
			it.Force = true
			j++
			continue
		}
		if c == ':' && it.Colon < 0 {
			it.Colon = int(p.off(j))
			j++
			j = p.tokenValue(it, j, last)
			continue
		}
		break
	}
	if j < last && p.kinds[j] == TokToken && p.src[p.off(j)] == '>' {
		it.Gt = int(p.off(j))
		it.EndOff = it.Gt + 1
		j++
	} else {
		// malformed: absorb error tokens (the lexer reported them)
		for j < last && p.kinds[j] == TokError {
			it.EndOff = int(p.ends[j])
			it.Form = FormBad
			j++
		}
		if j > 0 && int(p.ends[j-1]) > it.EndOff {
			it.EndOff = int(p.ends[j-1])
		}
		if p.kinds[j-1] == TokEOL {
			it.EndOff = int(p.off(j - 1))
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
	if j < last && p.kinds[j] == TokString {
		l := p.a.lit.alloc()
		*l = BasicLit{ValuePos: int(p.off(j)), Kind: LitString, Value: p.tokText(j)}
		it.Value = l
		it.EndOff = int(p.ends[j])
		return j + 1
	}
	p.resetSig()
	for ; j < last; j++ {
		k := p.kinds[j]
		if p.trivia(j) && k != TokEOL {
			continue
		}
		if k == TokEOL || k == TokToken && (p.src[p.off(j)] == '>' || p.src[p.off(j)] == '<') || k == TokTemplateText {
			break
		}
		if p.kwOf(j) == kwEndif {
			break
		}
		p.pushSig(j)
	}
	if len(p.sig) == 0 {
		return j
	}
	x := p.parseExpr(true)
	it.Value = p.node(x)
	it.EndOff = p.xend(x)
	if p.si < len(p.sig) {
		c := p.sig[p.si]
		p.syntaxErr(CodeSyntax, c, "unexpected %q in the value of a template token", p.tokText(c))
	}
	return j
}

// exprList parses item {"," item} — call arguments, or with params the
// parameter names of a section header — and returns the last item.
// Building, it also returns the items: it collects them on the shared
// expression buffer (nested lists stack above it) and carves the list out
// of the node arena. Checking, it only counts them.
func (p *parser) exprList(params bool) (list []Expr, last xref) {
	start, n := len(p.exprBuf), 0
	for {
		if params {
			last = p.paramIdent()
		} else {
			last = p.parseExpr(true)
		}
		if p.build {
			p.exprBuf = append(p.exprBuf, p.node(last))
		}
		n++
		if !p.atPunct(tagComma) {
			break
		}
		p.si++
	}
	if !p.build {
		p.a.exprs.count += n
		return nil, last
	}
	list = p.a.exprs.carve(p.exprBuf[start:])
	p.exprBuf = p.exprBuf[:start]
	return list, last
}
