package copilot

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/upg"
)

// MaxQuestionBytes bounds a free question.
const MaxQuestionBytes = 2000

// ErrEmptyQuestion is a free question with nothing to look for.
var ErrEmptyQuestion = errors.New("the question is empty")

// stopWords are words of a question that say nothing about where to look.
var stopWords = map[string]bool{
	"THE": true, "AND": true, "FOR": true, "WHERE": true, "WHAT": true, "WHEN": true, "WHICH": true, "WHY": true,
	"HOW": true, "DOES": true, "DID": true, "THIS": true, "THAT": true, "POST": true, "WITH": true, "FROM": true,
	"INTO": true, "ARE": true, "IS": true, "WAS": true, "CAN": true, "SHOULD": true, "WOULD": true,
	"THERE": true, "HAS": true, "HAVE": true, "ITS": true, "OUT": true, "ANY": true, "ALL": true, "WHO": true,
	"PACKAGE": true, "SECTION": true, "LINE": true, "LINES": true, "FILE": true, "ABOUT": true, "GET": true,
	"DO": true, "IT": true, "OF": true, "IN": true, "ON": true, "AT": true, "TO": true, "BE": true, "AN": true,
	"OR": true, "BY": true, "IF": true, "USE": true, "USED": true, "USES": true, "HAPPENS": true, "HAPPEN": true,
}

// outputWords in a question ask for what is printed: output sections
// rank higher.
var outputWords = map[string]bool{
	"OUTPUT": true, "OUTPUTS": true, "PRINT": true, "PRINTS": true, "PRINTED": true, "WRITE": true,
	"WRITES": true, "WRITTEN": true, "EMIT": true, "EMITS": true, "EMITTED": true,
}

// Terms are the identifiers of a question, upper case: its words, and
// neighbouring words joined the way UPG names are (tool change →
// TOOL_CHANGE), longest first.
func Terms(question string) []string {
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToUpper(question), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	}) {
		words = append(words, w)
	}
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if len(t) < 2 || seen[t] || stopWords[t] {
			return
		}
		seen[t] = true
		out = append(out, t)
	}
	for n := 3; n >= 2; n-- {
		for i := 0; i+n <= len(words); i++ {
			part := words[i : i+n]
			if stopWords[part[0]] || stopWords[part[n-1]] {
				continue
			}
			add(strings.Join(part, "_"))
		}
	}
	for _, w := range words {
		if len(w) >= 3 || strings.ContainsAny(w, "0123456789") {
			add(w)
		}
	}
	return out
}

// scored is a span and how well it matches a question.
type scored struct {
	span  explain.Span
	score int
}

// holds reports whether identifier id holds term t as whole
// underscore-separated parts (INIT_TOOL_CHANGE_MILL holds TOOL_CHANGE and
// TOOL, not TOO).
func holds(id, t string) bool {
	return strings.Contains("_"+id+"_", "_"+t+"_")
}

// idents splits source text into upper-case identifiers, blanks inside
// names read as underscores would not be: MACHINE NAME is two.
func idents(text string) []string {
	return strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
	})
}

// Rank orders the sections and attribute blocks of a package by how well
// they match the terms of a question: a name that is a term counts most,
// then a name that holds a term, then identifiers of its lines that hold
// one (at most five each). Joined terms (TOOL_CHANGE) weigh more than
// single words; when the question asks what is printed, sections with
// output lines rank higher. Spans that match nothing are left out.
func Rank(p *explain.Package, terms []string) []explain.Span {
	if len(terms) == 0 {
		return nil
	}
	output := false
	for _, t := range terms {
		output = output || outputWords[t]
	}
	weight := func(t string) int { return 1 + strings.Count(t, "_") }
	score := func(sp explain.Span) int {
		name := upg.CanonicalName(sp.Name)
		n := 0
		for _, t := range terms {
			switch {
			case name == t:
				n += 30 * weight(t)
			case holds(name, t):
				n += 8 * weight(t)
			}
		}
		if n == 0 && sp.Kind == "attribute" {
			// An attribute's own name is blanks: MACHINE NAME.
			name = strings.ReplaceAll(strings.ToUpper(sp.Name), " ", "_")
			for _, t := range terms {
				if holds(name, t) {
					n += 8 * weight(t)
				}
			}
		}
		lines := p.SourceLines(sp.File, sp.Start, sp.End)
		hits := map[string]int{}
		templates := false
		for _, l := range lines {
			templates = templates || strings.HasPrefix(strings.TrimSpace(strings.ToUpper(l)), ":T:")
			for _, id := range idents(l) {
				for _, t := range terms {
					if holds(id, t) {
						hits[t]++
					}
				}
			}
			// Words of a remark or a title: "probe the tool length".
			up := " " + strings.Join(idents(l), " ") + " "
			for _, t := range terms {
				if strings.Contains(t, "_") && strings.Contains(up, " "+strings.ReplaceAll(t, "_", " ")+" ") {
					hits[t]++
				}
			}
		}
		body := 0
		for t, c := range hits {
			body += min(c, 5) * weight(t)
		}
		if n+body == 0 {
			return 0
		}
		if output && templates && sp.Kind == "section" {
			n += 10
		}
		return n + body
	}
	var out []scored
	for _, sp := range p.Sections() {
		if s := score(sp); s > 0 {
			out = append(out, scored{sp, s})
		}
	}
	for _, sp := range p.Attributes() {
		if s := score(sp); s > 0 {
			out = append(out, scored{sp, s})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	spans := make([]explain.Span, len(out))
	for i, s := range out {
		spans[i] = s.span
	}
	return spans
}

// Question builds a free question about one package: the sections and
// attributes that match its words best, the package overview, the
// machine. When nothing matches, the package's own key sections stand in.
func (b Builder) Question(p *explain.Package, overview *explain.Explanation, question string) (*Ask, error) {
	question = strings.TrimSpace(question)
	if question == "" {
		return nil, ErrEmptyQuestion
	}
	if len(question) > MaxQuestionBytes {
		return nil, fmt.Errorf("the question has %d bytes; at most %d are allowed", len(question), MaxQuestionBytes)
	}
	found := Rank(p, Terms(question))
	why := "matches the question"
	if len(found) == 0 {
		found, why = p.KeySections(), "a key section"
	}
	var pieces []llm.Piece
	for i, sp := range found {
		if i == maxFound {
			break
		}
		if src := b.source(p, sp); src != nil {
			pieces = append(pieces, llm.Piece{Title: spanTitle(sp.Kind+" "+sp.Name+" ("+why+")", sp), Source: src, Cut: i == 0})
		}
	}
	if len(found) > maxFound {
		n := len(found) - maxFound
		pieces = append(pieces, llm.Piece{Title: fmt.Sprintf("%d more matching sections", n),
			Note: &llm.Note{Title: "Not shown", Text: fmt.Sprintf("%d more sections or attributes mention words of the question but are not shown.", n)}})
	}
	if pc, ok := machineNote(p); ok {
		pieces = append(pieces, pc)
	}
	if overview != nil {
		pieces = append(pieces, b.note("package overview", explain.Text(overview)))
	}
	return b.finish(KindQuestion, question, questionInstructions, "question: "+clip(question, 120), pieces), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
