package search

import (
	"sort"
	"strings"
)

// Ranking: a line's score is, over the query clauses it matches, the sum of
// how well it matches (an exact identifier or word beats a prefix, which
// beats a part of an identifier) times what the line does with the match:
// defining the name (3) beats assigning it (2), which beats using it or
// writing it in a :T: line (1), which beats naming it in a label, remark or
// other value (0.5) or in a comment (0.2). So one clause's matches order as
// exact definition > assignment > use > the same roles for parts (0.75,
// 0.5, 0.25) and prose. The sum is then multiplied by the square of the
// share of the query's clauses the line matches (coordination), so a line
// with every term of a multi-term query leads.
const (
	matchExact       = 1.0
	matchPrefix      = 0.8
	matchPart        = 0.25
	matchPrefixPart  = 0.2
	matchOutput      = 1.0 // a literal in what a :T: line writes
	matchText        = 0.8 // a literal in the source text
	roleDefinition   = 3.0
	roleAssignment   = 2.0
	roleUse          = 1.0
	roleText         = 0.5
	roleComment      = 0.2
	maxScoreDecimals = 1e6
)

// Roles of a hit, shown with it.
const (
	RoleDefinition = "definition"
	RoleAssignment = "assignment"
	RoleUse        = "use"
	RoleOutput     = "output"
	RoleText       = "text" // a label, remark or other value
	RoleComment    = "comment"
	RoleSimilar    = "similar" // found by the embedding only
)

var roleRank = map[string]int{RoleDefinition: 0, RoleAssignment: 1, RoleOutput: 2, RoleUse: 3, RoleText: 4, RoleComment: 5, RoleSimilar: 6}

var roleWeight = map[string]float64{RoleDefinition: roleDefinition, RoleAssignment: roleAssignment, RoleOutput: roleUse,
	RoleUse: roleUse, RoleText: roleText, RoleComment: roleComment}

// Analysed is an analysed line as the index keeps it (once for every line
// with the same text and analysis): what scoring and highlighting need.
type Analysed struct {
	Class  int
	Text   string
	Output string
	Words  []string
	Prose  []string
	Parts  []string
	Defs   []string
	Sets   []string
}

// SectionRef names a section of a document.
type SectionRef struct {
	Ord       int    `json:"-"` // index in the document, -1 for none
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
}

// lineScore is how one line matches a query.
type lineScore struct {
	score   float64
	role    string
	clauses int // how many positive clauses it matches
}

// scoreLine scores l against the positive clauses; ok is false when it
// matches none of them.
func scoreLine(clauses []Clause, l *Analysed) (lineScore, bool) {
	s, _, ok := scoreLineMask(clauses, l)
	return s, ok
}

// scoreLineMask is scoreLine that also returns the clauses l matches (bit
// i for clauses[i]).
func scoreLineMask(clauses []Clause, l *Analysed) (lineScore, uint32, bool) {
	var s lineScore
	var mask uint32
	total := 0
	for i, c := range clauses {
		if c.Negate {
			continue
		}
		total++
		m, role := matchClause(c, l)
		if m == 0 {
			continue
		}
		mask |= 1 << i
		s.score += m * roleWeight[role]
		s.clauses++
		if s.role == "" || roleRank[role] < roleRank[s.role] {
			s.role = role
		}
	}
	if total > 1 {
		share := float64(s.clauses) / float64(total)
		s.score *= share * share
	}
	// Scores are rounded so that sums in a different order cannot change
	// the ranking between engines.
	s.score = float64(int64(s.score*maxScoreDecimals+0.5)) / maxScoreDecimals
	return s, mask, s.clauses > 0
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// matchClause says how well l matches c (0: not at all) and in which role.
func matchClause(c Clause, l *Analysed) (float64, string) {
	baseRole, proseRole := RoleUse, RoleText
	switch l.Class {
	case ClassComment:
		baseRole, proseRole = RoleComment, RoleComment
	case ClassOutput:
		baseRole = RoleOutput
	}
	roleOf := func(t string) string {
		switch {
		case baseRole == RoleComment:
			return RoleComment
		case contains(l.Defs, t):
			return RoleDefinition
		case contains(l.Sets, t):
			return RoleAssignment
		}
		return baseRole
	}
	// partRole is the best role of the words (code, then prose) p is part of.
	partRole := func(match func(string) bool) string {
		role := ""
		for _, w := range l.Words {
			for _, p := range Parts(w) {
				if match(p) {
					if r := roleOf(w); role == "" || roleRank[r] < roleRank[role] {
						role = r
					}
				}
			}
		}
		if role == "" {
			role = proseRole
		}
		return role
	}
	switch c.Kind {
	case ClauseWord, ClauseIdent:
		if contains(l.Words, c.Text) {
			return matchExact, roleOf(c.Text)
		}
		if contains(l.Prose, c.Text) {
			return matchExact, proseRole
		}
		if c.Kind == ClauseWord && contains(l.Parts, c.Text) {
			return matchPart, partRole(func(p string) bool { return p == c.Text })
		}
	case ClausePrefix:
		best, role := 0.0, ""
		for _, w := range l.Words {
			if strings.HasPrefix(w, c.Text) {
				if r := roleOf(w); role == "" || roleRank[r] < roleRank[role] {
					best, role = matchPrefix, r
				}
			}
		}
		if best > 0 {
			return best, role
		}
		for _, w := range l.Prose {
			if strings.HasPrefix(w, c.Text) {
				return matchPrefix, proseRole
			}
		}
		for _, p := range l.Parts {
			if strings.HasPrefix(p, c.Text) {
				return matchPrefixPart, partRole(func(p string) bool { return strings.HasPrefix(p, c.Text) })
			}
		}
	case ClauseLiteral:
		lit := strings.ToLower(c.Text)
		if l.Output != "" && strings.Contains(strings.ToLower(l.Output), lit) {
			return matchOutput, RoleOutput
		}
		if strings.Contains(strings.ToLower(l.Text), lit) {
			return matchText, baseRole
		}
	}
	return 0, ""
}

// Highlight is a byte range [Start, End) of a hit's text (or output) that
// matched.
type Highlight struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// highlights finds where the positive clauses match in s: whole words for
// words and identifiers (parts inside identifiers for words), word starts
// for prefixes, any occurrence for literals. Ranges are sorted and merged.
func highlights(clauses []Clause, s string) []Highlight {
	if s == "" {
		return nil
	}
	low := strings.ToLower(s)
	var out []Highlight
	for _, c := range clauses {
		if c.Negate {
			continue
		}
		if len(low) != len(s) {
			// Lower-casing changed byte lengths (rare non-ASCII letters):
			// highlight nothing rather than the wrong bytes.
			continue
		}
		if c.Kind == ClauseLiteral {
			lit := strings.ToLower(c.Text)
			for i := 0; lit != ""; {
				j := strings.Index(low[i:], lit)
				if j < 0 {
					break
				}
				out = append(out, Highlight{i + j, i + j + len(lit)})
				i += j + len(lit)
			}
			continue
		}
		forEachWord(low, func(start, end int) {
			w := low[start:end]
			// A name with blanks ("measure tool length") is one
			// identifier; its words are matched one by one here.
			switch c.Kind {
			case ClauseWord:
				if w == c.Text {
					out = append(out, Highlight{start, end})
					return
				}
				off := 0
				for _, p := range strings.Split(w, "_") {
					if p == c.Text {
						out = append(out, Highlight{start + off, start + off + len(p)})
					} else if i := strings.Index(p, c.Text); i >= 0 && contains(Parts(w), c.Text) {
						out = append(out, Highlight{start + off + i, start + off + i + len(c.Text)})
					}
					off += len(p) + 1
				}
			case ClauseIdent:
				if w == c.Text || strings.ReplaceAll(c.Text, "_", " ") == w {
					out = append(out, Highlight{start, end})
				}
			case ClausePrefix:
				if strings.HasPrefix(w, c.Text) {
					out = append(out, Highlight{start, start + len(c.Text)})
				} else {
					off := 0
					for _, p := range strings.Split(w, "_") {
						if strings.HasPrefix(p, c.Text) {
							out = append(out, Highlight{start + off, start + off + len(c.Text)})
						}
						off += len(p) + 1
					}
				}
			}
		})
		if c.Kind == ClauseIdent && strings.Contains(c.Text, "_") {
			// "MACHINE NAME" written with a blank is the identifier MACHINE_NAME.
			spaced := strings.ReplaceAll(c.Text, "_", " ")
			for i := 0; ; {
				j := strings.Index(low[i:], spaced)
				if j < 0 {
					break
				}
				out = append(out, Highlight{i + j, i + j + len(spaced)})
				i += j + len(spaced)
			}
		}
	}
	return mergeHighlights(out)
}

func forEachWord(s string, fn func(start, end int)) {
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(start, i)
			start = -1
		}
	}
	if start >= 0 {
		fn(start, len(s))
	}
}

func mergeHighlights(h []Highlight) []Highlight {
	if len(h) < 2 {
		return h
	}
	sort.Slice(h, func(i, j int) bool { return h[i].Start < h[j].Start || h[i].Start == h[j].Start && h[i].End > h[j].End })
	out := h[:1]
	for _, x := range h[1:] {
		last := &out[len(out)-1]
		if x.Start <= last.End {
			last.End = max(last.End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}
