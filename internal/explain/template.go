package explain

import (
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// templateLine explains one :T: line: what it prints, in order, and under
// which condition.
func (w *writer) templateLine(tl *upg.TemplateLine, depth int) Sentence {
	s := newSentence(depth)
	s.cite(w.f.Name, tl.Line, tl.Line)
	if tl.If != nil {
		s.text("if ")
		w.cond(s, tl.If.Cond)
		s.text(", it outputs ")
	} else {
		s.text("outputs ")
	}
	described := map[string]bool{}
	items := tl.Items
	wrote := 0
	sep := func() {
		if wrote > 0 {
			s.text(", ")
		}
		wrote++
	}
	endsBlock := false
	for i := 0; i < len(items); i++ {
		endsBlock = false
		switch it := items[i].(type) {
		case *upg.TextItem:
			t := strings.TrimSpace(it.Text)
			if t == "" {
				continue
			}
			sep()
			s.text("the text ").code(t)
		case *upg.TokenItem:
			switch it.Form {
			case upg.FormEOL:
				if i == len(items)-1 {
					if wrote == 0 {
						s.text("an end of block")
					} else {
						s.text(" and ends the block")
					}
					endsBlock = true
					wrote++
					continue
				}
				sep()
				s.text("ends the block")
				endsBlock = true
			case upg.FormBlank:
				sep()
				if i+1 < len(items) {
					if t, ok := items[i+1].(*upg.TokenItem); ok && t.Form == upg.FormEOL {
						s.text("an empty line")
						i++
						endsBlock = true
						continue
					}
				}
				s.text("a blank")
			default:
				sep()
				w.token(s, it, described)
			}
		}
	}
	if wrote == 0 {
		s.text("nothing")
	} else if !endsBlock && !hasEOL(items) {
		s.text("; the block stays open, so what is printed next continues the same line")
	}
	return s.done()
}

func hasEOL(items []upg.TemplateItem) bool {
	for _, it := range items {
		if t, ok := it.(*upg.TokenItem); ok && t.Form == upg.FormEOL {
			return true
		}
	}
	return false
}

// token writes one template token in words.
func (w *writer) token(s *sentence, t *upg.TokenItem, described map[string]bool) {
	switch t.Form {
	case upg.FormAttributes:
		s.text("the codes of the attributes attached to the current entity")
		return
	case upg.FormDecimal:
		w.operand(s, t.Value)
		s.text(" as a decimal number")
		return
	case upg.FormInteger:
		w.operand(s, t.Value)
		s.text(" as a whole number")
		return
	case upg.FormFormat:
		w.operand(s, t.Value)
		s.text(" formatted as ").code(t.Format)
		if words := formatWords(t.Format); words != "" {
			s.text(" (" + words + ")")
		}
		return
	case upg.FormBad:
		s.text("a token the parser could not read")
		return
	}
	if t.Name == nil {
		s.text("a token without a name")
		return
	}
	name := t.Name.Name
	w.linkRef(s, t.Name.NamePos)
	code := isCodeWord(name)
	switch v := t.Value.(type) {
	case nil:
		s.code(name)
	case *upg.BasicLit:
		if v.Kind == upg.LitString {
			s.code(name).text(" with the text ").code(v.Unquoted())
		} else if code {
			s.text("the ").code(name).text(" code ").code(v.Value)
		} else {
			s.code(name).text(" with the value ").code(v.Value)
		}
	default:
		if code {
			s.text("the ").code(name).text(" code in ")
		} else {
			s.code(name).text(" with the value ")
		}
		w.operand(s, t.Value)
	}
	key := upg.CanonicalName(name)
	if !described[key] {
		described[key] = true
		if d := w.p.describeName(name, w.f.Name, t.Name.NamePos); d.text != "" {
			s.text(" (" + d.text + ")")
			for _, c := range d.cites {
				s.cite(c.File, c.Start, c.End)
			}
		}
	}
	if t.Force {
		s.text(" (forced: printed even if unchanged)")
	}
}

// isCodeWord reports whether an attribute prints G or M codes (the
// library's G and M words take a code number as their value).
func isCodeWord(name string) bool {
	switch upg.CanonicalName(name) {
	case "G", "M":
		return true
	}
	return false
}

// formatWords reads a template format string ("%2LNT", "#-34") in words.
func formatWords(f string) string {
	if f == "" {
		return ""
	}
	var parts []string
	kind := ""
	switch f[0] {
	case '#':
		kind = "decimal"
	case '%':
		kind = "integer"
	default:
		return ""
	}
	rest := f[1:]
	digits := ""
	for len(rest) > 0 {
		c := rest[0]
		switch {
		case c >= '0' && c <= '9' || (c == '.' && digits != "" && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9'):
			digits += string(c)
		case c == '-':
			parts = append(parts, "a minus sign when negative")
		case c == '+':
			parts = append(parts, "always a sign")
		case c == '@':
			parts = append(parts, "a blank where a sign is left out")
		case c == '.':
			parts = append(parts, "always a decimal point")
		case c == 'L':
			parts = append(parts, "leading zeros")
		case c == 'l':
			parts = append(parts, "leading blanks")
		case c == 'T':
			parts = append(parts, "trailing zeros")
		case c == 't':
			parts = append(parts, "trailing blanks")
		case c == 'N':
			parts = append(parts, "no unit conversion")
		}
		rest = rest[1:]
	}
	head := kind
	if digits != "" {
		if kind == "decimal" {
			l, r, ok := strings.Cut(digits, ".")
			if !ok && len(digits) == 2 {
				l, r, ok = digits[:1], digits[1:], true
			}
			if ok {
				head = "decimal, " + l + " digits before the point and " + r + " after"
			}
		} else {
			head = digits + "-digit integer"
		}
	}
	return strings.Join(append([]string{head}, parts...), ", ")
}
