package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terms are what the word index holds: lower-case words of letters, digits
// and '_' (so an identifier such as SPINDLE_DIR stays one term), and the
// parts of each identifier (spindle, dir) as separate terms that rank lower.
// UPG compares names case-insensitively, and so does search.

// isWordRune reports whether r belongs to a word (identifier characters).
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Words splits s into lower-case words of letters, digits and '_'. A word
// longer than maxTermLen is cut (it is still found by substring search).
func Words(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, term(s[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, term(s[start:]))
	}
	return out
}

// maxTermLen bounds one term (bytes); longer words are cut at a rune edge.
const maxTermLen = 64

func term(w string) string {
	w = strings.ToLower(w)
	if len(w) <= maxTermLen {
		return w
	}
	cut := maxTermLen
	for cut > 0 && !utf8.RuneStart(w[cut]) {
		cut--
	}
	return w[:cut]
}

// IdentTerm is the term of a UPG name: its canonical form (blanks as '_')
// in lower case, so "MACHINE NAME" and machine_name are the same term.
func IdentTerm(name string) string {
	name = strings.Join(strings.Fields(name), "_")
	return term(name)
}

// Parts splits a term into the pieces an engineer may type on their own:
// at '_' and where letters meet digits (4AXIS_X_MILLING → 4axis, axis, x,
// milling). Pieces shorter than two characters are dropped, except when the
// term has no longer ones; the term itself is never among its parts.
func Parts(t string) []string {
	if !strings.ContainsFunc(t, func(r rune) bool { return r == '_' || unicode.IsDigit(r) }) {
		return nil
	}
	var out []string
	add := func(p string) {
		if p == "" || p == t || utf8.RuneCountInString(p) < 2 {
			return
		}
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	for _, seg := range strings.Split(t, "_") {
		add(seg)
		// letter/digit boundaries inside a segment
		start := 0
		prevDigit := false
		for i, r := range seg {
			d := unicode.IsDigit(r)
			if i > 0 && d != prevDigit {
				add(seg[start:i])
				start = i
			}
			prevDigit = d
		}
		if start > 0 {
			add(seg[start:])
		}
	}
	return out
}

// lineTerms collects a line's terms without repeats, in first-seen order:
// words of the code (identifiers, keywords, what a :T: line writes), words
// of its prose (comments, labels and other values), and the parts of both.
// One lineTerms serves line after line (reset keeps its maps).
type lineTerms struct {
	words []string
	prose []string
	parts []string
	seen  map[string]bool // words and prose words: a term is in one list only
	part  map[string]bool // parts
}

// reset empties t for the next line.
func (t *lineTerms) reset() {
	t.words, t.prose, t.parts = nil, nil, nil
	t.seen, t.part = emptied(t.seen), emptied(t.part)
}

// emptied is m without entries: cleared when small, else dropped (clearing
// costs what the map has grown to, line after line).
func emptied(m map[string]bool) map[string]bool {
	if len(m) > 64 {
		return nil
	}
	clear(m)
	return m
}

func (t *lineTerms) add(list *[]string, w string) {
	if w == "" {
		return
	}
	t.addWithParts(list, w, Parts(w))
}

// addWithParts is add with w's parts (Parts(w)) already at hand.
func (t *lineTerms) addWithParts(list *[]string, w string, parts []string) {
	if w == "" {
		return
	}
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	if !t.seen[w] {
		t.seen[w] = true
		*list = append(*list, w)
	}
	if len(parts) > 0 && t.part == nil {
		t.part = map[string]bool{}
	}
	for _, p := range parts {
		if !t.part[p] {
			t.part[p] = true
			t.parts = append(t.parts, p)
		}
	}
}

func (t *lineTerms) addWord(w string) { t.add(&t.words, w) }

func (t *lineTerms) addText(s string) {
	for _, w := range Words(s) {
		t.addWord(w)
	}
}

func (t *lineTerms) addProse(s string) {
	for _, w := range Words(s) {
		t.add(&t.prose, w)
	}
}

// finish returns the line's words, prose words and parts. A term is in one
// list only: words and prose share one set of seen terms (the first list
// a term reaches keeps it), and a whole word beats the same string as a
// part.
func (t *lineTerms) finish() (words, prose, parts []string) {
	for _, p := range t.parts {
		if !t.seen[p] {
			parts = append(parts, p)
		}
	}
	return t.words, t.prose, parts
}
