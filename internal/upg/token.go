package upg

import (
	"fmt"
	"sort"
)

// TokenKind classifies a token for syntax highlighting and for the parser.
// The names (String) are stable: the web UI and the API use them as CSS
// classes and JSON values.
type TokenKind uint8

const (
	TokInvalid      TokenKind = iota
	TokSpace                  // "space": blanks and tabs
	TokEOL                    // "eol": line terminator, "\n" or "\r\n"
	TokComment                // "comment": a '*' comment line (also free text in a *START COMMENTS block)
	TokMarker                 // "marker": control-family marker on line 1 (e.g. *FANUCM, *PathPilot)
	TokEOF                    // "eof": the DOS end-of-file byte 0x1A
	TokHeader                 // "header": a header command word (":SYSTEM", ":LEADING", unknown ":X")
	TokDirective              // "directive": ":LIBRARY", ":INCLUDE", ":DEFINE", ":IDHIGH", ":ATTRMACHINE"
	TokAttrCommand            // "attribute-command": ":ATTRNAME", ":CODE", ":OPERID", ":ATTREND" …
	TokSection                // "section": the ":SECTION" word
	TokPrefix                 // "prefix": ":T:", ":C:", ":C7:"
	TokName                   // "name": a declared or referenced attribute/section/define name in a command, CALL(…), SECTIONEXIST(…)
	TokValue                  // "value": the value of a header or sub-command
	TokPath                   // "path": the path of :LIBRARY= / :INCLUDE=
	TokKeyword                // "keyword": IF THEN ELSE ENDIF AND OR CALL RETURN GOTOn
	TokFunction               // "function": a built-in command or function (ABS, STRCAT, SETON …)
	TokVariable               // "variable": any other name in an expression or template token
	TokNumber                 // "number"
	TokString                 // "string": {…} or "…"
	TokOperator               // "operator": = <> < > + - * / (and the unsupported <= >= !=)
	TokPunct                  // "punct": ( ) , and the '=' of a command
	TokTemplateText           // "template-text": literal text of a :T: line
	TokToken                  // "token": the < ! : > # % parts of a template token and EOL/BLANK/attributes
	TokFormat                 // "format": a "…" number format inside a template token
	TokText                   // "text": a stray line that is none of the line kinds
	TokError                  // "error": bytes that could not be lexed
	numTokenKinds
)

var tokenKindNames = [numTokenKinds]string{
	"invalid", "space", "eol", "comment", "marker", "eof", "header", "directive",
	"attribute-command", "section", "prefix", "name", "value", "path", "keyword",
	"function", "variable", "number", "string", "operator", "punct",
	"template-text", "token", "format", "text", "error",
}

func (k TokenKind) String() string {
	if int(k) < len(tokenKindNames) {
		return tokenKindNames[k]
	}
	return fmt.Sprintf("TokenKind(%d)", k)
}

// MarshalText writes the kind's stable name.
func (k TokenKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind name.
func (k *TokenKind) UnmarshalText(b []byte) error {
	for i, n := range tokenKindNames {
		if n == string(b) {
			*k = TokenKind(i)
			return nil
		}
	}
	return fmt.Errorf("upg: unknown token kind %q", b)
}

// TokenKinds returns every token kind name, in enum order (for UI legends).
func TokenKinds() []string { return append([]string(nil), tokenKindNames[1:]...) }

// Token is one lexical token: the bytes src[Offset:End]. The tokens of a file
// cover it completely and in order (blanks and line ends are tokens too), so
// concatenating them gives the file back. Line and Col (1-based, bytes) are
// where the token starts. A parsed File stores its tokens more compactly
// (kind and end offset) and hands out Tokens on request.
type Token struct {
	Kind   TokenKind `json:"kind"`
	Offset int32     `json:"offset"`
	End    int32     `json:"end"`
	Line   int32     `json:"line"`
	Col    int32     `json:"col"`
}

// Len is the token's length in bytes.
func (t Token) Len() int { return int(t.End - t.Offset) }

// Tokenize lexes a whole file into its token stream (the same tokens, with
// the same kinds, as Parse(…).Tokens()) without building the syntax tree.
// It never fails: bytes it cannot lex become TokError tokens.
func Tokenize(src []byte) []Token {
	// Only the Tokens are kept: the lexer works in a pooled workspace.
	w := workspaces.Get().(*workspace)
	lx := newLexer(src, false)
	lx.kinds, lx.ends, lx.lens, lx.lines = w.kinds[:0], w.ends[:0], w.lens[:0], w.lines[:0]
	lx.run()
	out := make([]Token, len(lx.kinds))
	for li := range lx.lines {
		ln := &lx.lines[li]
		for t, last := ln.FirstTok, lastTok(lx.lines, li, len(lx.kinds)); t < last; t++ {
			off := tokOffset(lx.ends, t)
			out[t] = Token{Kind: lx.kinds[t], Offset: off, End: lx.ends[t], Line: int32(li + 1), Col: off - ln.Offset + 1}
		}
	}
	w.kinds, w.ends, w.lens, w.lines = lx.kinds[:0], lx.ends[:0], lx.lens[:0], lx.lines[:0]
	if cap(w.ends) <= 1<<22 && cap(w.lines) <= 1<<22 {
		workspaces.Put(w)
	}
	return out
}

// lastTok is the end (exclusive) of the tokens of line i of lines, which
// hold n tokens in all.
func lastTok(lines []Line, i, n int) int32 {
	if i+1 < len(lines) {
		return lines[i+1].FirstTok
	}
	return int32(n)
}

// tokenStore keeps a file's tokens compactly: a kind byte and a length
// byte each (a token starts where the one before it ends); the rare token
// of 255 bytes or more has its length in long.
type tokenStore struct {
	kinds []TokenKind
	lens  []uint8
	long  []longToken // by token index
}

type longToken struct{ tok, n int32 }

// lenOf is the length of token t.
func (ts *tokenStore) lenOf(t int32) int32 {
	if n := ts.lens[t]; n != 255 {
		return int32(n)
	}
	i := sort.Search(len(ts.long), func(i int) bool { return ts.long[i].tok >= t })
	return ts.long[i].n
}

// appendEnds appends the end offset of every token to ends.
func (ts *tokenStore) appendEnds(ends []int32) []int32 {
	off, li := int32(0), 0
	for _, n := range ts.lens {
		if n == 255 {
			off += ts.long[li].n
			li++
		} else {
			off += int32(n)
		}
		ends = append(ends, off)
	}
	return ends
}

// expand returns the tokens of lines [from, to) as Tokens.
func (ts *tokenStore) expand(lines []Line, from, to int) []Token {
	if from >= to {
		return nil
	}
	out := make([]Token, 0, lastTok(lines, to-1, len(ts.kinds))-lines[from].FirstTok)
	for li := from; li < to; li++ {
		ln := &lines[li]
		off := ln.Offset
		for t, last := ln.FirstTok, lastTok(lines, li, len(ts.kinds)); t < last; t++ {
			end := off + ts.lenOf(t)
			out = append(out, Token{Kind: ts.kinds[t], Offset: off, End: end, Line: int32(li + 1), Col: off - ln.Offset + 1})
			off = end
		}
	}
	return out
}

// tokOffset is where token t starts: where the one before it ends.
func tokOffset(ends []int32, t int32) int32 {
	if t == 0 {
		return 0
	}
	return ends[t-1]
}
