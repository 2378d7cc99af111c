package explain

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sentence builds one Sentence: prose with code spans, its citations and
// the names it links to.
type sentence struct {
	b     strings.Builder
	cites []Cite
	links []Link
	depth int
}

func newSentence(depth int) *sentence { return &sentence{depth: depth} }

// text appends prose.
func (s *sentence) text(t string) *sentence {
	s.b.WriteString(t)
	return s
}

// code appends source text as a code span.
func (s *sentence) code(t string) *sentence {
	s.b.WriteString(codeSpan(t))
	return s
}

// cite adds lines a..b of file.
func (s *sentence) cite(file string, a, b int) *sentence {
	if file == "" || a <= 0 {
		return s
	}
	if b < a {
		b = a
	}
	s.cites = append(s.cites, Cite{File: file, Start: a, End: b})
	return s
}

// link records where a name the sentence mentions is defined.
func (s *sentence) link(kind, name, file string, line int) *sentence {
	if file == "" || line <= 0 {
		return s
	}
	for _, l := range s.links {
		if l.Kind == kind && l.Name == name && l.File == file && l.Line == line {
			return s
		}
	}
	s.links = append(s.links, Link{Kind: kind, Name: name, File: file, Line: line})
	return s
}

func (s *sentence) len() int { return s.b.Len() }

// done finishes the sentence: a capital first letter, a full stop, and the
// citations merged per file.
func (s *sentence) done() Sentence {
	t := strings.TrimSpace(s.b.String())
	if t != "" {
		r, n := utf8.DecodeRuneInString(t)
		t = string(unicode.ToUpper(r)) + t[n:]
		if last, _ := utf8.DecodeLastRuneInString(t); !strings.ContainsRune(".:?!", last) {
			t += "."
		}
	}
	return Sentence{Text: t, Cites: mergeCites(s.cites), Depth: s.depth, Links: s.links}
}

// mergeCites keeps files in the order first cited and merges overlapping or
// adjacent ranges within a file (of one side, in a change).
func mergeCites(in []Cite) []Cite {
	if len(in) == 0 {
		return []Cite{}
	}
	var files []string
	by := map[string][]Cite{}
	for _, c := range in {
		k := c.Side + "\x00" + c.File
		if _, ok := by[k]; !ok {
			files = append(files, k)
		}
		by[k] = append(by[k], c)
	}
	out := make([]Cite, 0, len(in))
	for _, f := range files {
		list := by[f]
		sort.Slice(list, func(i, j int) bool { return list[i].Start < list[j].Start })
		cur := list[0]
		for _, c := range list[1:] {
			if c.Start <= cur.End+1 {
				cur.End = max(cur.End, c.End)
				continue
			}
			out = append(out, cur)
			cur = c
		}
		out = append(out, cur)
	}
	return out
}

// codeSpan writes t as a Markdown code span: blanks collapsed, and a fence
// longer than any run of backticks inside.
func codeSpan(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	if t == "" {
		t = " "
	}
	run, longest := 0, 0
	for i := 0; i < len(t); i++ {
		if t[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest == 0 {
		return "`" + t + "`"
	}
	fence := strings.Repeat("`", longest+1)
	return fence + " " + t + " " + fence
}

// Segment is a piece of a sentence's text: prose, or the content of a code
// span.
type Segment struct {
	Text string
	Code bool
}

// Segments splits a sentence's text into prose and code spans (the
// inverse of how the explainer writes them), for renderers.
func Segments(text string) []Segment {
	var out []Segment
	start := 0
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(text) && text[i+n] == '`' {
			n++
		}
		fence := text[i : i+n]
		end := strings.Index(text[i+n:], fence)
		if end < 0 {
			break
		}
		if i > start {
			out = append(out, Segment{Text: text[start:i]})
		}
		c := text[i+n : i+n+end]
		if n > 1 && len(c) >= 2 && c[0] == ' ' && c[len(c)-1] == ' ' {
			c = c[1 : len(c)-1]
		}
		out = append(out, Segment{Text: c, Code: true})
		i += n + end + n
		start = i
	}
	if start < len(text) {
		out = append(out, Segment{Text: text[start:]})
	}
	return out
}

// CodeSpans returns the contents of the code spans of a sentence's text,
// in order.
func CodeSpans(text string) []string {
	var out []string
	for _, s := range Segments(text) {
		if s.Code {
			out = append(out, s.Text)
		}
	}
	return out
}

// joinWords joins items as "a, b and c".
func joinWords(items []string, conj string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

var itoa = strconv.Itoa
