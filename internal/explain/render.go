package explain

import (
	"strings"
)

// Markdown renders an explanation as Markdown. link, when not nil, turns a
// citation into a URL (for example into the source view); without it,
// citations are written as plain FILE:LINE references.
func Markdown(e *Explanation, link func(Cite) string) string {
	var b strings.Builder
	b.WriteString("## " + mdEscape(e.Title) + "\n\n")
	if e.File != "" {
		where := e.File
		if e.Start > 0 {
			where += ", lines " + itoa(e.Start)
			if e.End > e.Start {
				where += "–" + itoa(e.End)
			}
		}
		b.WriteString("*" + mdEscape(where) + "*\n\n")
	}
	for _, p := range e.Parts {
		b.WriteString("### " + mdEscape(p.Title) + "\n\n")
		for _, s := range p.Sentences {
			b.WriteString(strings.Repeat("  ", s.Depth) + "- " + s.Text)
			if len(s.Cites) > 0 {
				b.WriteString(" (")
				for i, c := range s.Cites {
					if i > 0 {
						b.WriteString(", ")
					}
					if link != nil {
						b.WriteString("[" + mdEscape(c.String()) + "](" + link(c) + ")")
					} else {
						b.WriteString(mdEscape(c.String()))
					}
				}
				b.WriteString(")")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdEscape escapes the characters that would start Markdown markup in
// plain text (titles and file names).
func mdEscape(t string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "\\`")
	return r.Replace(t)
}

// Text renders an explanation as plain text for a terminal: headings,
// indented sentences, and citations in brackets.
func Text(e *Explanation) string {
	var b strings.Builder
	b.WriteString(e.Title)
	if e.File != "" {
		b.WriteString("  (" + e.File)
		if e.Start > 0 {
			b.WriteString(":" + itoa(e.Start))
			if e.End > e.Start {
				b.WriteString("-" + itoa(e.End))
			}
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	for _, p := range e.Parts {
		b.WriteString("\n" + p.Title + "\n")
		for _, s := range p.Sentences {
			b.WriteString(strings.Repeat("    ", s.Depth) + "  - " + s.Text)
			if len(s.Cites) > 0 {
				cs := make([]string, len(s.Cites))
				for i, c := range s.Cites {
					cs[i] = c.String()
				}
				b.WriteString(" [" + strings.Join(cs, "; ") + "]")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
