package upg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/veripost/veripost/internal/textfile"
)

// The lexer is line driven: each physical line is classified by its first
// non-blank bytes and the rest of the line is lexed with the sub-lexer its
// kind needs (command value, template items, calculation tokens). It also
// records the line table, so the parser never looks at raw bytes to find
// line boundaries.
//
// Tokens are stored compactly: a kind byte and an end offset each (a token
// starts where the previous one ended). Line and column are derived from the
// line table when a Token is asked for.

type lexMode uint8

const (
	modeLine  lexMode = iota // a :C: line or a command argument list
	modeCond                 // the condition of a template IF: stops after THEN
	modeToken                // the value of a template token: stops before '>' or '<' at depth 0
)

type lexer struct {
	src      []byte
	kinds    []TokenKind
	ends     []int32
	lens     []uint8     // the length of each token, as tokenStore keeps it
	long     []longToken // tokenStore.long
	lines    []Line
	diags    []Diagnostic
	wantDiag bool
	last     int32 // end of the last token
	gap      bool  // a token did not start where the previous one ended (a lexer bug; tests check it)

	line int32 // current line number (1-based)
	ls   int   // offset of the current line

	inBlock      bool // inside :ATTRNAME=/:OPERID= (unknown commands are sub-commands)
	commentBlock bool // inside *START COMMENTS … *END COMMENTS
	afterEOF     bool // a DOS EOF byte was seen
	lastEndCmt   int  // offset of the last "END COMMENTS" in the file, -2 before the first look

	ctlLine bool // the current line holds control bytes (seen while lexing it)
	// commentedCode: the current line is a comment that isCommentedCode
	commentedCode bool
	firstCtl      int  // offset of the first control byte of the file, -1 when none
	binary        bool // the file is binary content (decided at the first control byte)

	// Parse only: the catalogue id of each line's command (0: none or
	// unknown), so that the parser does not look the name up again, and
	// ctlLineBit when the line holds control bytes.
	lineCmd []uint16
	cmd     uint16
	// Parse only: the grammar tag of each token (see tagOf), noted where
	// the lexer emits a keyword, operator or punctuation mark, so that the
	// parser does not look at those bytes again. Nil for Tokenize.
	tags []uint8

	nKind [numLineKinds]int32 // lines of each kind (sizes the parser's node slabs)
}

// newLexer prepares a lexer; diag asks for diagnostics (Parse). The caller
// gives the buffers of the token kinds, lengths and end offsets and of the
// lines (see tokenRoom).
func newLexer(src []byte, diag bool) *lexer {
	fastTables() // the name tables the lexer looks names up in
	return &lexer{
		src:        src,
		wantDiag:   diag,
		lastEndCmt: -2,
		firstCtl:   -1,
	}
}

// tokenRoom estimates how many tokens and lines src has: real UPG files
// have about 6 tokens a line (blanks and line ends included).
func tokenRoom(src []byte) (nTok, nLines int) {
	nLF := bytes.Count(src, []byte{'\n'})
	nTok = nLF*6 + 16
	if nTok < len(src)/8 {
		nTok = len(src)/5 + 16 // few LFs: CR line ends or one long line
	}
	return nTok, nLF + 1
}

// endCommentsAfter reports whether "END COMMENTS" occurs after offset off
// (computed once per file, so many START COMMENTS lines stay linear).
func (lx *lexer) endCommentsAfter(off int) bool {
	if lx.lastEndCmt == -2 {
		lx.lastEndCmt = bytes.LastIndex(lx.src, []byte("END COMMENTS"))
	}
	return lx.lastEndCmt >= off
}

// utf8BOM is the byte order mark some Windows editors put first in a file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func (lx *lexer) run() {
	src := lx.src
	lr := textfile.NewLineReader(src)
	for {
		ls, ce, ee, ok := lr.Next()
		if !ok {
			break
		}
		lx.line++
		lx.ls = ls
		first := len(lx.kinds)
		start := ls
		if ls == 0 && bytes.HasPrefix(src[:ce], utf8BOM) {
			lx.emit(TokSpace, 0, 3)
			lx.diag(CodeBOM, SeverityInfo, 0, 3,
				"the file starts with a UTF-8 byte order mark (bytes EF BB BF, written by editors that save \"UTF-8 with BOM\"); it is skipped here — save the file without it if the post compiler reads it as text")
			start = 3
		}
		lx.ctlLine, lx.cmd, lx.commentedCode = false, 0, false
		kind := lx.lexLine(start, ce)
		if ee > ce {
			lx.emit(TokEOL, ce, ee)
		}
		if lx.ctlLine && kind != LineIgnored {
			lx.reportControl(first)
		}
		if lx.wantDiag {
			cmd := lx.cmd
			if lx.ctlLine {
				cmd |= ctlLineBit
			}
			lx.lineCmd = append(lx.lineCmd, cmd)
		}
		lx.nKind[kind]++
		// set in place: a Line built aside and copied in whole is read
		// back right after its fields were written one by one (a stall)
		lx.lines = append(lx.lines, Line{})
		ln := &lx.lines[len(lx.lines)-1]
		ln.Kind, ln.EOLLen, ln.Offset, ln.End, ln.FirstTok = kind, uint8(ee-ce), int32(ls), int32(ce), int32(first)
		ln.CommentedCode = lx.commentedCode
	}
}

func (lx *lexer) emit(k TokenKind, from, to int) {
	if int32(from) != lx.last {
		lx.gap = true
	}
	n := int32(to) - lx.last
	lx.last = int32(to)
	lx.kinds = append(lx.kinds, k)
	lx.ends = append(lx.ends, int32(to))
	if n >= 255 {
		lx.long = append(lx.long, longToken{int32(len(lx.lens)), n})
		n = 255
	}
	lx.lens = append(lx.lens, uint8(n))
}

// emitTag emits a keyword, operator or punctuation token with its tag.
func (lx *lexer) emitTag(k TokenKind, from, to int, tag uint8) {
	lx.emit(k, from, to)
	lx.setTag(tag)
}

// setTag notes the tag of the token just emitted.
func (lx *lexer) setTag(tag uint8) {
	if lx.tags != nil {
		t := len(lx.kinds) - 1
		if t >= len(lx.tags) {
			// Parse gave room for the tokens it expected: more came
			lx.tags = append(lx.tags, make([]uint8, t+1-len(lx.tags)+len(lx.tags)/4)...)
		}
		lx.tags[t] = tag
	}
}

// tagName tags the name token [from, to) just emitted outside calculation
// code when it is an unsupported keyword (as lexIdent does in the code),
// so that every name token has the tag tagOf gives it.
func (lx *lexer) tagName(from, to int) {
	if lx.tags != nil && isUnsupportedWord(unsafeString(lx.src[from:to])) {
		lx.setTag(tagUnsupported)
	}
}

func (lx *lexer) diag(code string, sev Severity, from, to int, format string, args ...any) {
	if !lx.wantDiag {
		return
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	lx.diags = append(lx.diags, Diagnostic{
		Code: code, Severity: sev, Line: int(lx.line), Col: from - lx.ls + 1,
		Offset: from, End: to, Message: msg,
	})
}

// ---------------------------------------------------------------- control bytes

// ctlLineBit marks a line with control bytes in the lexer's line table.
const ctlLineBit = 1 << 15

// withoutControl returns s without its control bytes: the values and names
// of a line with stray bytes are read as if the bytes were not there (and
// so they never reach a database column that refuses NUL).
func withoutControl(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if !isControl(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// isControl reports whether c is a control byte that does not belong in UPG
// text: below 0x20 and not a tab or a line end.
func isControl(c byte) bool { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' }

// indexControl returns the offset of the first control byte in b (a part
// of one line), or -1. It tests eight bytes at a time: a cheap test that a
// word has a byte below 0x20 (exact but for tabs), then an exact one.
func indexControl(b []byte) int {
	const lo7, hi, blank = 0x7F7F7F7F7F7F7F7F, 0x8080808080808080, 0x2020202020202020
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-blank)&^x&hi == 0 {
			continue // no byte below 0x20
		}
		below := ^(((x & lo7) + 0x6060606060606060) | x) & hi // bytes below 0x20
		if m := below & bytesNot(x, '\t') & bytesNot(x, '\n') & bytesNot(x, '\r'); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if isControl(b[i]) {
			return i
		}
	}
	return -1
}

// emitText emits a token whose bytes the lexer takes whole (comments,
// values, template text, strings …) and notes a control byte in it.
func (lx *lexer) emitText(k TokenKind, from, to int) {
	lx.emit(k, from, to)
	if !lx.ctlLine {
		if i := indexControl(lx.src[from:to]); i >= 0 {
			lx.sawControl(from + i)
		}
	}
}

// sawControl notes a control byte at off on the current line. The first
// one of the file decides whether the file is binary content.
func (lx *lexer) sawControl(off int) {
	lx.ctlLine = true
	if lx.firstCtl < 0 {
		lx.firstCtl = off
		lx.binary = lx.wantDiag && textfile.IsBinary(lx.src)
	}
}

// identEnd returns the end of the run of name bytes (letters, digits, '_')
// that starts at q, at most end.
func identEnd(src []byte, q, end int) int {
	e, _, _ := identScan(src, q, end)
	return e
}

// identScan returns the end of the run of name bytes (letters, digits,
// '_') that starts at q, at most end, and the foldMix state and last word
// of those bytes (see foldState), so that the name can be looked up
// without being read again. Names are most of a :C: line's bytes: it
// tests eight bytes at a time, also the last ones before end when src
// goes on after it (most lines end with a name).
func identScan(src []byte, q, end int) (e int, h, last uint64) {
	const hi = 0x8080808080808080
	for q+8 <= len(src) {
		x := binary.LittleEndian.Uint64(src[q:])
		m := nonIdentBytes(x)
		if n := end - q; n < 8 {
			m |= ^uint64(0) << (8 * max(n, 0)) & hi // the bytes from end on end the name
		}
		if m != 0 {
			n := bits.TrailingZeros64(m) / 8 // name bytes in this word
			if n > 0 {
				last = x & (1<<(8*n) - 1)
				h = foldMix(h, last)
			}
			return q + n, h, last
		}
		last = x
		h = foldMix(h, x)
		q += 8
	}
	var w uint64
	j := 0
	for ; q+j < end && isIdentByte(src[q+j]); j++ {
		w |= uint64(src[q+j]) << (8 * j)
	}
	if j > 0 {
		last = w
		h = foldMix(h, w)
	}
	return q + j, h, last
}

// nonIdentBytes has the top bit set in each byte of x that is not a
// letter, digit or '_' (exactly isIdentByte). For a byte v below 0x80,
// v+(0x80-lo) has its top bit set when v ≥ lo and v+(0x7F-hi) when v > hi;
// neither sum carries into the next byte.
func nonIdentBytes(x uint64) uint64 {
	const ones, hi, lo7 = 0x0101010101010101, 0x8080808080808080, 0x7F7F7F7F7F7F7F7F
	x7 := x & lo7
	digit := (x7 + (0x80-'0')*ones) &^ (x7 + (0x7F-'9')*ones)
	l := x7 | 0x20*ones // folds upper-case letters onto lower-case ones (and nothing else onto them)
	letter := (l + (0x80-'a')*ones) &^ (l + (0x7F-'z')*ones)
	ident := (digit|letter)&^x | ^bytesNot(x, '_')
	return ^ident & hi
}

// bytesNot has the top bit set in each byte of x that is not c.
func bytesNot(x uint64, c byte) uint64 {
	const lo7, hi = 0x7F7F7F7F7F7F7F7F, 0x8080808080808080
	y := x ^ uint64(c)*0x0101010101010101
	return (((y & lo7) + lo7) | y) & hi
}

// skipSpace emits the blanks and control bytes at p as space and error
// tokens (control bytes are reported by reportControl) and returns the
// offset of the first other byte. The DOS EOF byte is left for the caller.
func (lx *lexer) skipSpace(p, end int) int {
	src := lx.src
	for p < end {
		q := p
		for q < end && isBlank(src[q]) {
			q++
		}
		if q == p {
			for q < end && isControl(src[q]) && src[q] != 0x1A {
				q++
			}
			if q == p {
				break
			}
			lx.emit(TokError, p, q)
			lx.sawControl(p)
		} else {
			lx.emit(TokSpace, p, q)
		}
		p = q
	}
	return p
}

// reportControl warns about each run of control bytes in the tokens of
// the current line from token first on. In comments only NUL counts: the
// stock MASTER.ATR draws arrows with the DOS glyphs 0x18/0x19 there.
func (lx *lexer) reportControl(first int) {
	if lx.binary || !lx.wantDiag {
		return
	}
	src := lx.src
	for t := first; t < len(lx.kinds); t++ {
		k := lx.kinds[t]
		if k == TokEOL || k == TokEOF {
			continue
		}
		from := int(lx.ends[t])
		if t > 0 {
			from = int(lx.ends[t-1])
		}
		to := int(lx.ends[t])
		for i := from; i < to; i++ {
			c := src[i]
			if !isControl(c) || k == TokComment && c != 0 {
				continue
			}
			j := i + 1
			for j < to && isControl(src[j]) && (k != TokComment || src[j] == 0) {
				j++
			}
			run := src[i:j]
			what, it, was := "control byte", "it", "it were"
			if len(run) > 1 {
				what, it, was = "control bytes", "them", "they were"
			}
			lx.diag(CodeControlCharacter, SeverityWarning, i, j,
				"stray %s %s (%s) in the text; editors do not show %s and UPG source has no use for %s — delete %s (the line is read as if %s not there)",
				what, quoteBytes(run), controlNames(run), it, it, it, was)
			i = j - 1
		}
	}
}

// quoteBytes writes b as a Go string literal, at most 16 bytes of it.
func quoteBytes(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%q…", b[:16])
	}
	return fmt.Sprintf("%q", b)
}

// controlNames names the distinct control bytes of run ("NUL", "0x18" …).
func controlNames(run []byte) string {
	var seen [0x20]bool
	var b []byte
	for _, c := range run {
		if seen[c] {
			continue
		}
		seen[c] = true
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		switch c {
		case 0:
			b = append(b, "NUL"...)
		case '\f':
			b = append(b, "form feed"...)
		case 0x1A:
			b = append(b, "DOS end-of-file 0x1A"...)
		default:
			b = fmt.Appendf(b, "0x%02X", c)
		}
	}
	return string(b)
}

// lexLine lexes the content [ls, ce) of one line (after a byte order
// mark) and returns its kind.
func (lx *lexer) lexLine(ls, ce int) LineKind {
	src := lx.src
	if lx.afterEOF {
		if ce > ls {
			lx.emit(TokComment, ls, ce)
		}
		return LineIgnored
	}
	q := ls
	for q < ce && isBlank(src[q]) {
		q++
	}
	if q > ls {
		lx.emit(TokSpace, ls, q)
	}
	if lx.commentBlock {
		if q == ce {
			return LineBlank
		}
		lx.emitText(TokComment, q, ce)
		lx.commentedCode = isCommentedCode(src[q:ce])
		if src[q] == '*' && commentTextIs(src[q+1:ce], "END COMMENTS") {
			lx.commentBlock = false
		}
		return LineComment
	}
	if q < ce && isControl(src[q]) && src[q] != 0x1A {
		q = lx.skipSpace(q, ce) // a stray byte before the line's text does not hide the line's kind
	}
	if q == ce {
		return LineBlank
	}
	switch src[q] {
	case '*':
		if lx.line == 1 && isMarkerText(src[q+1:ce]) {
			lx.emitText(TokMarker, q, ce)
			return LineMarker
		}
		lx.emitText(TokComment, q, ce)
		lx.commentedCode = isCommentedCode(src[q:ce])
		if commentTextIs(src[q+1:ce], "START COMMENTS") && lx.endCommentsAfter(ce) {
			lx.commentBlock = true
		}
		return LineComment
	case 0x1A:
		lx.emit(TokEOF, q, q+1)
		if q+1 < ce {
			lx.emitText(TokComment, q+1, ce)
		}
		lx.afterEOF = true
		return LineEOF
	case ':':
		return lx.lexColonLine(q, ce)
	}
	lx.emitText(TokText, q, ce)
	return LineText
}

// isCommentedCode reports whether a comment is a disabled command
// ("*:SECTION=…", "*:C: …"); the lexer notes it while the bytes are at
// hand (see Line.CommentedCode).
func isCommentedCode(cmt []byte) bool {
	return len(cmt) >= 2 && cmt[0] == '*' && cmt[1] == ':'
}

// commentTextIs reports whether a comment's text (after '*') is word,
// ignoring case and surrounding blanks.
func commentTextIs(b []byte, word string) bool {
	// trimmed by hand: bytes.Trim builds a cutset per call, on every comment line
	i, j := 0, len(b)
	for i < j && isBlank(b[i]) {
		i++
	}
	for j > i && isBlank(b[j-1]) {
		j--
	}
	return equalFoldASCII(b[i:j], word)
}

// isMarkerText reports whether the text after '*' on line 1 is a control
// family marker: one word such as FANUCM or PathPilot.
func isMarkerText(b []byte) bool {
	b = bytes.TrimRight(b, " \t")
	if len(b) == 0 || len(b) > 40 || !isLetter(b[0]) {
		return false
	}
	for _, c := range b {
		if !isIdentByte(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func (lx *lexer) lexColonLine(q, ce int) LineKind {
	src := lx.src
	p := q + 1
	if p < ce {
		switch upperByte(src[p]) {
		case 'T':
			if p+1 < ce && src[p+1] == ':' {
				lx.emit(TokPrefix, q, p+2)
				lx.inBlock = false
				lx.lexTemplate(p+2, ce)
				return LineTemplate
			}
		case 'C':
			r := p + 1
			for r < ce && isDigit(src[r]) {
				r++
			}
			if r < ce && src[r] == ':' {
				lx.emit(TokPrefix, q, r+1)
				lx.inBlock = false
				lx.lexCalc(r+1, ce, modeLine)
				return LineCalc
			}
		}
	}
	r, h, last := identScan(src, p, ce)
	if r == p {
		lx.emitText(TokError, q, ce)
		lx.diag(CodeMalformedCommand, SeverityError, q, ce,
			"':' must be followed by a command name (e.g. :SYSTEM=MILL), by T: or by C:; write '*' first to make the line a comment")
		return LineText
	}
	info := &cmdByID[commandIDHashed(src[p:r], h, last)]
	lx.cmd = info.id
	var kind LineKind
	tk := TokHeader
	switch info.class {
	case ccHeader, ccStation, ccConfig:
		kind = LineHeader
		lx.inBlock = false
	case ccStandalone:
		kind, tk = LineHeader, TokDirective
		lx.inBlock = false
	case ccAttr:
		kind, tk = LineAttrCommand, TokAttrCommand
	case ccAttrStart:
		kind, tk = LineAttrStart, TokAttrCommand
		lx.inBlock = true
	case ccAttrEnd:
		kind, tk = LineAttrEnd, TokAttrCommand
		lx.inBlock = false
	case ccOperStart:
		kind, tk = LineOperStart, TokAttrCommand
		lx.inBlock = true
	case ccOper:
		kind, tk = LineOperCommand, TokAttrCommand
	case ccOperEnd:
		kind, tk = LineOperEnd, TokAttrCommand
		lx.inBlock = false
	case ccSection:
		kind, tk = LineSection, TokSection
		lx.inBlock = false
	case ccLibrary:
		kind, tk = LineLibrary, TokDirective
		lx.inBlock = false
	case ccInclude:
		kind, tk = LineInclude, TokDirective
		lx.inBlock = false
	case ccDefine:
		kind, tk = LineDefine, TokDirective
		lx.inBlock = false
	default:
		if lx.inBlock {
			kind, tk = LineAttrCommand, TokAttrCommand
		} else {
			kind = LineHeader
		}
	}
	lx.emit(tk, q, r)
	lx.lexCommandRest(q, r, ce, info.shape, info.class)
	return kind
}

// lexCommandRest lexes what follows the command word (src[q:r] is ":NAME").
func (lx *lexer) lexCommandRest(q, r, ce int, shape valueShape, class cmdClass) {
	src := lx.src
	p := r
	for p < ce && isBlank(src[p]) {
		p++
	}
	if p > r {
		lx.emit(TokSpace, r, p)
	}
	if p >= ce {
		return
	}
	c := src[p]
	switch {
	case c == '=':
		lx.emitTag(TokPunct, p, p+1, opEq) // the parser reads the operator from the tag
		p++
	case (c == '>' || c == '<') && equalFoldASCII(src[q+1:r], "SELECT"):
		tag := opGt
		if c == '<' {
			tag = opLt
		}
		lx.emitTag(TokOperator, p, p+1, tag)
		p++
	case class == ccDefine && p > r:
		// ":DEFINE NAME=value": the blank separates
	default:
		lx.emitText(TokError, p, ce)
		lx.diag(CodeMalformedCommand, SeverityError, p, ce,
			"expected '=' after %s, found %q; write the command as %s=value", src[q:r], src[p], src[q:r])
		return
	}
	v := p
	for v < ce && isBlank(src[v]) {
		v++
	}
	if v < ce && isControl(src[v]) && src[v] != 0x1A {
		v = lx.skipSpace(p, ce) // stray bytes before the value
	} else if v > p {
		lx.emit(TokSpace, p, v)
	}
	ve := ce
	for ve > v && (isBlank(src[ve-1]) || isControl(src[ve-1]) && src[ve-1] != 0x1A) {
		ve--
	}
	if v < ve {
		switch shape {
		case vsName:
			lx.emitText(TokName, v, ve)
			lx.tagName(v, ve)
		case vsPath:
			lx.emitText(TokPath, v, ve)
		case vsSection, vsFunc, vsSectionRef:
			lx.lexFuncValue(v, ve)
		case vsDefine:
			lx.lexDefine(v, ve)
		default:
			if isNumberText(src[v:ve]) {
				lx.emit(TokNumber, v, ve)
			} else {
				lx.emitText(TokValue, v, ve)
			}
		}
	}
	if ve < ce && ve >= v {
		lx.skipSpace(ve, ce) // blanks, and stray bytes after the value
	}
}

// isNumberText reports whether b is a plain decimal number (sign allowed).
func isNumberText(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	digits := 0
	for i < len(b) && isDigit(b[i]) {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
			digits++
		}
	}
	return digits > 0 && i == len(b)
}

// lexFuncValue lexes NAME[(args)] after :SECTION=, :ATTRCFUNC=, :ATTRFUNC=.
func (lx *lexer) lexFuncValue(v, ve int) {
	src := lx.src
	r := v
	for r < ve && isIdentByte(src[r]) {
		r++
	}
	if r == v {
		lx.emitText(TokError, v, ve)
		lx.diag(CodeMalformedCommand, SeverityError, v, ve,
			"expected a section name (letters, digits and '_'), found %q", src[v:ve])
		return
	}
	lx.emit(TokName, v, r)
	lx.tagName(v, r)
	if r < ve {
		lx.lexCalc(r, ve, modeLine)
	}
}

// lexDefine lexes "NAME=value" of a :DEFINE line.
func (lx *lexer) lexDefine(v, ve int) {
	src := lx.src
	eq := bytes.IndexByte(src[v:ve], '=')
	if eq < 0 {
		lx.emitText(TokName, v, ve)
		lx.tagName(v, ve)
		return
	}
	eq += v
	ne := eq
	for ne > v && isBlank(src[ne-1]) {
		ne--
	}
	if ne > v {
		lx.emitText(TokName, v, ne)
		lx.tagName(v, ne)
	}
	if eq > ne {
		lx.emit(TokSpace, ne, eq)
	}
	lx.emitTag(TokPunct, eq, eq+1, opEq)
	p := eq + 1
	w := p
	for w < ve && isBlank(src[w]) {
		w++
	}
	if w > p {
		lx.emit(TokSpace, p, w)
	}
	if w < ve {
		if isNumberText(src[w:ve]) {
			lx.emit(TokNumber, w, ve)
		} else {
			lx.emitText(TokValue, w, ve)
		}
	}
}

// ---------------------------------------------------------------- templates

func (lx *lexer) lexTemplate(p, ce int) {
	src := lx.src
	q := p
	for q < ce && isBlank(src[q]) {
		q++
	}
	if q > p {
		lx.emit(TokSpace, p, q)
	}
	if q+2 <= ce && upperByte(src[q]) == 'I' && upperByte(src[q+1]) == 'F' && (q+2 == ce || !isIdentByte(src[q+2])) {
		lx.emitTag(TokKeyword, q, q+2, kwIf)
		r := lx.lexCalc(q+2, ce, modeCond)
		if r >= ce {
			return
		}
		s := r
		for s < ce && isBlank(src[s]) {
			s++
		}
		if s > r {
			lx.emit(TokSpace, r, s)
		}
		lx.lexTemplateTail(s, ce)
		return
	}
	lx.lexTemplateTail(q, ce)
}

// lexTemplateTail lexes template items up to a trailing ENDIF.
func (lx *lexer) lexTemplateTail(p, ce int) {
	src := lx.src
	e := ce
	for e > p && isBlank(src[e-1]) {
		e--
	}
	endif := -1
	if e-p >= 5 && equalFoldASCII(src[e-5:e], "ENDIF") && (e-5 == p || !isIdentByte(src[e-6])) {
		endif = e - 5
	}
	if endif < 0 {
		lx.lexTemplateItems(p, ce)
		return
	}
	lx.lexTemplateItems(p, endif)
	lx.emitTag(TokKeyword, endif, e, kwEndif)
	if e < ce {
		lx.emit(TokSpace, e, ce)
	}
}

func (lx *lexer) lexTemplateItems(p, end int) {
	src := lx.src
	for p < end {
		if src[p] == '<' {
			p = lx.lexTToken(p, end)
			continue
		}
		q := bytes.IndexByte(src[p:end], '<')
		if q < 0 {
			q = end
		} else {
			q += p
		}
		lx.emitText(TokTemplateText, p, q)
		p = q
	}
}

const tokenShapes = "a template token is <NAME>, <NAME!>, <NAME:value>, <NAME!:value>, <#:expr>, <%:expr> or <\"fmt\":expr>"

// lexTToken lexes one template token starting at src[p] == '<'.
func (lx *lexer) lexTToken(p, end int) int {
	src := lx.src
	start := p
	lx.emit(TokToken, p, p+1)
	p++
	bad := func(from int, msg string) int {
		q := from
		for q < end && src[q] != '>' && src[q] != '<' {
			q++
		}
		if q < end && src[q] == '>' {
			q++
		}
		if q > from {
			lx.emitText(TokError, from, q)
		}
		lx.diag(CodeMalformedToken, SeverityError, start, q, "%s", msg)
		return q
	}
	if p >= end {
		lx.diag(CodeMalformedToken, SeverityError, start, p,
			"'<' at the end of the line starts a template token that is never closed; add the token and '>' or remove the '<' (a literal '<' needs a HARDCODE attribute)")
		return p
	}
	c := src[p]
	switch {
	case c == '"':
		q := bytes.IndexByte(src[p+1:end], '"')
		if q < 0 {
			lx.emitText(TokError, p, end)
			lx.diag(CodeUnclosedString, SeverityError, p, end, "%s", "the format string of this template token has no closing '\"'; write it as <\"%4LT\":NAME>")
			return end
		}
		q += p + 2
		lx.emitText(TokFormat, p, q)
		p = q
		if p >= end || src[p] != ':' {
			return bad(p, "expected ':' and a value after the format string; "+tokenShapes)
		}
		lx.emit(TokToken, p, p+1)
		return lx.lexTokenValue(start, p+1, end)
	case c == '#' || c == '%':
		lx.emit(TokToken, p, p+1)
		p++
		if p >= end || src[p] != ':' {
			return bad(p, fmt.Sprintf("expected ':' after '%c'; %s", c, tokenShapes))
		}
		lx.emit(TokToken, p, p+1)
		return lx.lexTokenValue(start, p+1, end)
	case isIdentByte(c):
		r := p
		for r < end && isIdentByte(src[r]) {
			r++
		}
		w := src[p:r]
		if equalFoldASCII(w, "EOL") || equalFoldASCII(w, "BLANK") || equalFoldASCII(w, "ATTRIBUTES") {
			lx.emit(TokToken, p, r)
		} else {
			lx.emit(TokVariable, p, r)
			lx.tagName(p, r)
		}
		p = r
		if p < end && src[p] == '!' {
			lx.emit(TokToken, p, p+1)
			p++
		}
		if p < end && src[p] == ':' {
			lx.emit(TokToken, p, p+1)
			return lx.lexTokenValue(start, p+1, end)
		}
		if p < end && src[p] == '>' {
			lx.emit(TokToken, p, p+1)
			return p + 1
		}
		if p >= end {
			lx.diag(CodeMalformedToken, SeverityError, start, p, "template token %q is not closed; add '>'", src[start:p])
			return p
		}
		return bad(p, fmt.Sprintf("unexpected %q in template token; %s", src[p], tokenShapes))
	case c == '>':
		lx.emit(TokToken, p, p+1)
		lx.diag(CodeMalformedToken, SeverityError, start, p+1, "empty template token '<>'; put an attribute name inside or remove it")
		return p + 1
	}
	return bad(p, fmt.Sprintf("unexpected %q after '<'; %s", c, tokenShapes))
}

// lexTokenValue lexes the value after ':' in a template token and the
// closing '>'.
func (lx *lexer) lexTokenValue(start, p, end int) int {
	src := lx.src
	if p < end && src[p] == '{' {
		q := bytes.IndexByte(src[p:end], '}')
		if q < 0 {
			lx.emitText(TokError, p, end)
			lx.diag(CodeUnclosedString, SeverityError, p, end, "the {string} value of this template token has no closing '}'")
			return end
		}
		lx.emitText(TokString, p, p+q+1)
		p += q + 1
	} else {
		p = lx.lexCalc(p, end, modeToken)
	}
	if p < end && src[p] == '>' {
		lx.emit(TokToken, p, p+1)
		return p + 1
	}
	lx.diag(CodeMalformedToken, SeverityError, start, p, "template token %q is not closed; add '>' after its value", src[start:p])
	return p
}

// ---------------------------------------------------------------- calculation

// keyword ids
const (
	kwNone = iota
	kwIf
	kwThen
	kwElse
	kwEndif
	kwAnd
	kwOr
	kwCall
	kwReturn
	kwGoto
)

// keywordOf returns the keyword id of an identifier (case-insensitive).
// "GOTO12" is kwGoto. Most names are not keywords: their first byte and
// length turn them away before the call to keywordIn.
func keywordOf(w []byte) int {
	if len(w) == 0 || len(w) > kwMaxLen[w[0]] {
		return kwNone
	}
	return keywordIn(w)
}

// kwMaxLen is the length of the longest keyword starting with each byte
// (either case; GOTO has any number of digits after it).
var kwMaxLen = func() (t [256]int) {
	for _, kw := range []string{"IF", "OR", "AND", "THEN", "ELSE", "ENDIF", "CALL", "RETURN"} {
		t[kw[0]] = max(t[kw[0]], len(kw))
		t[kw[0]|0x20] = t[kw[0]]
	}
	t['G'], t['g'] = math.MaxInt, math.MaxInt
	return t
}()

// keywordIn is keywordOf for a name of a plausible length and first byte.
// The first byte picks the candidates (|0x20 folds an ASCII letter to
// lower case).
func keywordIn(w []byte) int {
	switch w[0] | 0x20 {
	case 'i':
		if len(w) == 2 && w[1]|0x20 == 'f' {
			return kwIf
		}
	case 'o':
		if len(w) == 2 && w[1]|0x20 == 'r' {
			return kwOr
		}
	case 'a':
		if len(w) == 3 && equalFoldASCII(w, "AND") {
			return kwAnd
		}
	case 't':
		if len(w) == 4 && equalFoldASCII(w, "THEN") {
			return kwThen
		}
	case 'e':
		if len(w) == 4 && equalFoldASCII(w, "ELSE") {
			return kwElse
		}
		if len(w) == 5 && equalFoldASCII(w, "ENDIF") {
			return kwEndif
		}
	case 'c':
		if len(w) == 4 && equalFoldASCII(w, "CALL") {
			return kwCall
		}
	case 'r':
		if len(w) == 6 && equalFoldASCII(w, "RETURN") {
			return kwReturn
		}
	case 'g':
		if len(w) >= 4 && equalFoldASCII(w[:4], "GOTO") {
			for _, c := range w[4:] {
				if !isDigit(c) {
					return kwNone
				}
			}
			return kwGoto
		}
	}
	return kwNone
}

// sectionArgIndex returns which argument of a built-in (name in any case)
// names a section, or -1.
func sectionArgIndex(name []byte) int {
	for _, f := range sectionArgFuncs {
		if equalFoldASCII(name, f.name) {
			return f.arg
		}
	}
	return -1
}

var sectionArgFuncs = [...]struct {
	name string
	arg  int
}{
	{"SECTIONEXIST", 0}, {"GET_OPER_COMMENTS", 0}, {"FASTLINE", 0},
	{"SYS_CANNED", 1}, {"GETTOOLS", 1}, {"GETMCS", 1}, {"GET_SW_CUSTOM_PROP_BY_NAME", 1}, {"GET_SW_SUMMARY_INFO_BY_ID", 1},
}

type argFrame struct {
	depth, arg, sectionArg int
}

// lexCalc lexes calculation tokens in [p, end) and returns where it stopped.
func (lx *lexer) lexCalc(p, end int, mode lexMode) int {
	src := lx.src
	depth := 0
	var framesBuf [4]argFrame
	frames := framesBuf[:0]
	pending := -1 // section argument index for the next '('
	var prev byte // last significant punctuation byte ('(' or ','), 0 otherwise
	for p < end {
		c := src[p]
		switch {
		case c == ' ' || c == '\t':
			q := p + 1
			for q < end && isBlank(src[q]) {
				q++
			}
			lx.emit(TokSpace, p, q)
			p = q
			continue
		case isDigit(c) || c == '.' && p+1 < end && isDigit(src[p+1]):
			q := p
			for q < end && isDigit(src[q]) {
				q++
			}
			if q < end && isLetter(src[q]) && q > p {
				// 3AXIS_RAPID_PLANE_TYPE: an identifier starting with digits
				p = lx.lexIdent(p, q, end, mode, &frames, &pending, depth)
				if p < 0 {
					return -p
				}
				prev = 0
				continue
			}
			if q < end && src[q] == '.' {
				q++
				for q < end && isDigit(src[q]) {
					q++
				}
			}
			lx.emit(TokNumber, p, q)
			p = q
			prev = 0
			continue
		case isLetter(c):
			p = lx.lexIdent(p, p, end, mode, &frames, &pending, depth)
			if p < 0 {
				return -p
			}
			prev = 0
			continue
		}
		switch c {
		case '(':
			lx.emitTag(TokPunct, p, p+1, tagLparen)
			depth++
			if pending >= 0 {
				if len(frames) < cap(frames) {
					frames = append(frames, argFrame{depth: depth, sectionArg: pending})
				}
				pending = -1
			}
			prev = '('
			p++
			continue
		case ')':
			lx.emitTag(TokPunct, p, p+1, tagRparen)
			if n := len(frames); n > 0 && frames[n-1].depth == depth {
				frames = frames[:n-1]
			}
			depth--
			prev = 0
			p++
			continue
		case ',':
			lx.emitTag(TokPunct, p, p+1, tagComma)
			if n := len(frames); n > 0 && frames[n-1].depth == depth {
				frames[n-1].arg++
			}
			prev = ','
			p++
			continue
		case '{', '"':
			closer := byte('}')
			if c == '"' {
				closer = '"'
			}
			q := bytes.IndexByte(src[p+1:end], closer)
			if q < 0 {
				lx.emitText(TokError, p, end)
				lx.diag(CodeUnclosedString, SeverityError, p, end,
					"string starting with %q is not closed on this line; add %q", c, closer)
				return end
			}
			lx.emitText(TokString, p, p+q+2)
			p += q + 2
			prev = 0
			continue
		case '<':
			if mode == modeToken && depth == 0 {
				return p
			}
			if p+1 < end && (src[p+1] == '>' || src[p+1] == '=') {
				tag := opNe
				if src[p+1] == '=' {
					tag = opLe
				}
				lx.emitTag(TokOperator, p, p+2, tag)
				p += 2
				prev = 0
				continue
			}
			if prev == '(' || prev == ',' {
				if q := lx.lexTokenRef(p, end); q > p {
					p = q
					prev = 0
					continue
				}
			}
			lx.emitTag(TokOperator, p, p+1, opLt)
			p++
			prev = 0
			continue
		case '>':
			if mode == modeToken && depth == 0 {
				return p
			}
			if p+1 < end && src[p+1] == '=' {
				lx.emitTag(TokOperator, p, p+2, opGe)
				p += 2
			} else {
				lx.emitTag(TokOperator, p, p+1, opGt)
				p++
			}
			prev = 0
			continue
		case '!':
			if p+1 < end && src[p+1] == '=' {
				lx.emitTag(TokOperator, p, p+2, opBangEq)
				p += 2
				prev = 0
				continue
			}
		case '=', '+', '-', '*', '/':
			lx.emitTag(TokOperator, p, p+1, opTagOf[c])
			p++
			prev = 0
			continue
		}
		if isControl(c) {
			// a stray control byte: reported by reportControl, read as a blank
			q := p + 1
			for q < end && isControl(src[q]) {
				q++
			}
			lx.emit(TokError, p, q)
			lx.sawControl(p)
			p = q
			continue
		}
		// anything else is an error run up to the next blank or known byte
		q := p + 1
		for q < end && !isBlank(src[q]) && !isCalcStart(src[q]) && !isControl(src[q]) {
			q++
		}
		lx.emit(TokError, p, q)
		lx.diag(CodeSyntax, SeverityError, p, q,
			"unexpected %q in calculation code; names, numbers, {strings}, ( ) , and the operators = <> < > + - * / are allowed", src[p:q])
		p = q
		prev = 0
	}
	return end
}

func isCalcStart(c byte) bool {
	switch c {
	case '(', ')', ',', '{', '"', '<', '>', '=', '+', '-', '*', '/':
		return true
	}
	return isIdentByte(c)
}

// lexIdent lexes an identifier starting at p (digits already scanned up to
// q). It returns the position after it, or the negated stop position when
// mode==modeCond and THEN was found.
func (lx *lexer) lexIdent(p, q, end int, mode lexMode, frames *[]argFrame, pending *int, depth int) int {
	src := lx.src
	from := q
	q, h, last := identScan(src, q, end)
	// CAM_REV2014_SP0.1: a dot between digits continues a name
	for q+1 < end && src[q] == '.' && isDigit(src[q-1]) && isDigit(src[q+1]) && q > p && !allDigits(src[p:q]) {
		q = identEnd(src, q+1, end)
		from = -1
	}
	if from != p {
		// the digits before the name or the dotted part were not hashed
		h, last = foldState(src[p:q])
	}
	w := src[p:q]
	info := nameInfoOf(w, h, last)
	if kw := info.keyword(); kw != kwNone {
		lx.emitTag(TokKeyword, p, q, uint8(kw))
		switch kw {
		case kwThen:
			if mode == modeCond {
				return -q
			}
		case kwCall:
			*pending = 0
		}
		return q
	}
	var tag uint8
	if info&niUnsupported != 0 && !IsUserName(unsafeString(w)) {
		tag = tagUnsupported
	}
	if n := len(*frames); n > 0 {
		f := (*frames)[n-1]
		if f.depth == depth && f.arg == f.sectionArg {
			lx.emitTag(TokName, p, q, tag)
			return q
		}
	}
	kind := TokVariable
	if info&niFunction != 0 {
		r := q
		for r < end && isBlank(src[r]) {
			r++
		}
		call := r < end && src[r] == '(' && r == q
		bare := !call && (r >= end || src[r] != '=' && src[r] != '(') && isUpperWord(w)
		if call || bare {
			kind = TokFunction
			if call {
				if i := info.sectionArg(); i >= 0 {
					*pending = i
				}
			}
		}
	}
	lx.emit(kind, p, q)
	if tag != tagNone {
		lx.setTag(tag)
	}
	return q
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func isUpperWord(b []byte) bool {
	for _, c := range b {
		if c >= 'a' && c <= 'z' {
			return false
		}
	}
	return true
}

// lexTokenRef lexes "<NAME>" or "<NAME!>" used as an argument (SETON(<X>)).
// It returns p unchanged when the bytes do not have that shape.
func (lx *lexer) lexTokenRef(p, end int) int {
	src := lx.src
	r := p + 1
	for r < end && isIdentByte(src[r]) {
		r++
	}
	if r == p+1 {
		return p
	}
	bang := r < end && src[r] == '!'
	s := r
	if bang {
		s++
	}
	if s >= end || src[s] != '>' {
		return p
	}
	lx.emit(TokToken, p, p+1)
	lx.emit(TokVariable, p+1, r)
	lx.tagName(p+1, r)
	if bang {
		lx.emit(TokToken, r, r+1)
	}
	lx.emit(TokToken, s, s+1)
	return s + 1
}
