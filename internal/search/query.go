package search

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/veripost/veripost/internal/apperror"
)

// The query language (case-insensitive, like UPG):
//
//	spindle            a word: the identifier SPINDLE, a word in a comment or
//	                   value, or a part of an identifier (SPINDLE_DIR, ranked lower)
//	SPINDLE_DIR        an exact identifier (not its parts, not "spindle dir")
//	SPIN*              a prefix of an identifier, word or part
//	G43.4  %  <EOL>    a literal substring of a line or of what a :T: line
//	                   outputs (<M:06> outputs M06)
//	"TOOL CHANGE"      a quoted phrase: a literal substring, blanks included
//	-word              leave out files with this clause
//	package:NAME machine:X controller:X platform:X kind:lib file:NAME
//	section:NAME|system|template|calc|user  versions:all  mode:lexical|vector|hybrid
//	                   filters (values may be quoted)
//
// A file matches when it matches every clause; its lines that match any
// clause are the hits.

// ClauseKind says how a clause matches.
type ClauseKind int

const (
	ClauseWord    ClauseKind = iota // identifier, word or identifier part
	ClauseIdent                     // exact identifier (contains '_')
	ClausePrefix                    // term prefix
	ClauseLiteral                   // substring of the line or its output
)

func (k ClauseKind) String() string {
	return [...]string{"word", "identifier", "prefix", "literal"}[k]
}

// Clause is one search condition.
type Clause struct {
	Kind ClauseKind
	// Text is the lower-case term (word, identifier, prefix without '*'),
	// or the literal as typed (matched case-insensitively).
	Text   string
	Negate bool
	Quoted bool // written as a "phrase"
}

// Mode chooses the ranking.
type Mode string

const (
	ModeAuto    Mode = ""        // hybrid for free text, lexical otherwise
	ModeLexical Mode = "lexical" // the word and substring indexes only
	ModeVector  Mode = "vector"  // the embedding of the query only
	ModeHybrid  Mode = "hybrid"  // both, fused by reciprocal rank
)

// Filter narrows results. Empty fields do not filter.
type Filter struct {
	Package     string // package id, or a package name (case-insensitive substring)
	Machine     string // exact, case-insensitive
	Controller  string
	Platform    string
	FileKind    string // upg.FileKind: src, lib, atr, include, cnf, kin, pinf, lng
	File        string // file name, case-insensitive substring
	Section     string // section kind (system, template, calc, user) or a section name
	AllVersions bool   // search every version, not only each package's latest
}

// IsSectionKind reports whether s names a section kind rather than a section.
func IsSectionKind(s string) bool {
	for _, k := range SectionKinds {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// Query is a parsed search.
type Query struct {
	Raw     string
	Clauses []Clause
	Filter  Filter
	Mode    Mode
}

// Query limits: a longer query is refused rather than cut.
const (
	MaxQueryBytes = 500
	MaxClauses    = 16
	minPrefixLen  = 2
)

// BadQuery is the error for a query that cannot be run.
func BadQuery(message, detail string) error {
	return apperror.New(http.StatusBadRequest, apperror.CodeBadQuery, message, detail)
}

var qualifiers = map[string]string{
	"package": "package", "pkg": "package", "machine": "machine", "controller": "controller",
	"platform": "platform", "kind": "kind", "file": "file", "section": "section",
	"versions": "versions", "version": "versions", "mode": "mode",
}

// Parse reads a query string; qualifiers fill Filter and Mode on top of
// base (the API's separate parameters).
func Parse(raw string, base Filter) (Query, error) {
	q := Query{Raw: raw, Filter: base}
	if len(raw) > MaxQueryBytes {
		return q, BadQuery(fmt.Sprintf("The search is too long. Keep it under %d characters.", MaxQueryBytes),
			fmt.Sprintf("query is %d bytes", len(raw)))
	}
	if !utf8.ValidString(raw) {
		return q, BadQuery("The search holds characters that are not valid text. Type it again.", "query is not valid UTF-8")
	}
	raw = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, raw)
	for _, tok := range splitQuery(raw) {
		if err := q.add(tok); err != nil {
			return q, err
		}
	}
	positive := 0
	for _, c := range q.Clauses {
		if !c.Negate {
			positive++
		}
	}
	if len(q.Clauses) > MaxClauses {
		return q, BadQuery(fmt.Sprintf("The search has too many terms. Use at most %d.", MaxClauses),
			fmt.Sprintf("%d terms", len(q.Clauses)))
	}
	if positive == 0 {
		if len(q.Clauses) > 0 {
			return q, BadQuery("Say what to look for, not only what to leave out.", "every term is negated")
		}
		return q, BadQuery("Type something to search for: a name such as SPINDLE_DIR, a word, or output text such as G43.4.", "empty query")
	}
	return q, nil
}

// token is one whitespace-separated piece of a query; quoted pieces keep
// their blanks.
type token struct {
	text   string
	quoted bool
	negate bool
	qual   string // qualifier name ("" for a search term)
}

func splitQuery(s string) []token {
	var out []token
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		var t token
		if s[i] == '-' && i+1 < len(s) && s[i+1] != ' ' {
			t.negate = true
			i++
		}
		// qualifier:value
		if j := strings.IndexAny(s[i:], ": \""); j > 0 && s[i+j] == ':' {
			if q, ok := qualifiers[strings.ToLower(s[i:i+j])]; ok {
				t.qual = q
				i += j + 1
			}
		}
		if i < len(s) && s[i] == '"' {
			t.quoted = true
			i++
			var b strings.Builder
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++ // closing quote (or end)
			t.text = b.String()
		} else {
			j := strings.IndexAny(s[i:], " \t")
			if j < 0 {
				j = len(s) - i
			}
			t.text = s[i : i+j]
			i += j
		}
		out = append(out, t)
	}
	return out
}

func (q *Query) add(t token) error {
	switch t.qual {
	case "":
	case "versions":
		switch strings.ToLower(t.text) {
		case "all":
			q.Filter.AllVersions = true
		case "latest":
			q.Filter.AllVersions = false
		default:
			return BadQuery("versions: takes all or latest.", "versions:"+t.text)
		}
		return nil
	case "mode":
		m := Mode(strings.ToLower(t.text))
		if m != ModeLexical && m != ModeVector && m != ModeHybrid {
			return BadQuery("mode: takes lexical, vector or hybrid.", "mode:"+t.text)
		}
		q.Mode = m
		return nil
	default:
		v := strings.TrimSpace(t.text)
		switch t.qual {
		case "package":
			q.Filter.Package = v
		case "machine":
			q.Filter.Machine = v
		case "controller":
			q.Filter.Controller = v
		case "platform":
			q.Filter.Platform = v
		case "kind":
			q.Filter.FileKind = strings.ToLower(v)
		case "file":
			q.Filter.File = v
		case "section":
			q.Filter.Section = v
		}
		return nil
	}
	text := t.text
	if !t.quoted {
		text = strings.TrimSpace(text)
	}
	if text == "" {
		return nil
	}
	c := Clause{Negate: t.negate, Quoted: t.quoted}
	switch {
	case t.quoted:
		c.Kind, c.Text = ClauseLiteral, text
	case strings.HasSuffix(text, "*") && allWord(strings.TrimRight(text, "*")):
		c.Kind, c.Text = ClausePrefix, term(strings.TrimRight(text, "*"))
		if utf8.RuneCountInString(c.Text) < minPrefixLen {
			return BadQuery(fmt.Sprintf("A prefix search needs at least %d characters before the *.", minPrefixLen), text)
		}
	case allWord(text) && strings.Contains(text, "_"):
		c.Kind, c.Text = ClauseIdent, term(text)
	case allWord(text):
		c.Kind, c.Text = ClauseWord, term(text)
	default:
		c.Kind, c.Text = ClauseLiteral, text
	}
	q.Clauses = append(q.Clauses, c)
	return nil
}

func allWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isWordRune(r) {
			return false
		}
	}
	return true
}

// FreeText reports whether the query reads like a question rather than a
// code search: three or more plain words and nothing exact (identifiers,
// prefixes, literals). Such queries are ranked hybrid by default.
func (q Query) FreeText() bool {
	words := 0
	for _, c := range q.Clauses {
		if c.Negate {
			continue
		}
		if c.Kind != ClauseWord {
			return false
		}
		words++
	}
	return words >= 3
}

// EffectiveMode is the ranking the query gets.
func (q Query) EffectiveMode() Mode {
	if q.Mode != ModeAuto {
		return q.Mode
	}
	if q.FreeText() {
		return ModeHybrid
	}
	return ModeLexical
}

// stopWords are left out of free-text queries (they are in every post).
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "any": true, "are": true, "as": true, "at": true, "be": true, "by": true,
	"can": true, "do": true, "does": true, "for": true, "from": true, "have": true, "has": true, "how": true,
	"i": true, "in": true, "is": true, "it": true, "of": true, "on": true, "or": true, "our": true, "post": true,
	"posts": true, "that": true, "the": true, "this": true, "to": true, "we": true, "what": true, "where": true,
	"which": true, "who": true, "with": true, "handle": true, "handles": true, "use": true, "uses": true,
	"set": true, "sets": true, "like": true, "looks": true, "already": true, "there": true, "one": true,
}

// Keywords are the query's positive free-text words without stop words
// (all positive words when every one is a stop word).
func (q Query) Keywords() []string {
	var all, kept []string
	for _, c := range q.Clauses {
		if c.Negate || c.Kind == ClauseLiteral {
			continue
		}
		all = append(all, c.Text)
		if !stopWords[c.Text] {
			kept = append(kept, c.Text)
		}
	}
	if len(kept) == 0 {
		return all
	}
	return kept
}
