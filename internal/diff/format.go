package diff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// TextOptions choose what WriteText prints.
type TextOptions struct {
	// Hunks prints the unified line diff of every changed text file.
	Hunks bool
	// Statements lists the statements of each changed section.
	Statements bool
}

// WriteText prints a result for people: the summary, the UPG-aware
// changes with their lines on both sides (file:line), the file list and,
// optionally, a unified diff. The command line and the golden tests use it.
func WriteText(w io.Writer, r *Result, o TextOptions) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("%s → %s\n", orDash(r.A.Label), orDash(r.B.Label))
	p("summary: %s\n", r.Summary)
	s := &r.Semantic
	if len(s.Sections) > 0 {
		p("\nsections:\n")
		for _, x := range s.Sections {
			name := x.Name
			if x.Renamed {
				name = x.OldName + " → " + x.Name
			}
			var also []string
			if x.Renamed && x.Status != Renamed {
				also = append(also, "renamed")
			}
			if x.Moved && x.Status != Moved {
				also = append(also, "moved")
			}
			extra := ""
			if len(also) > 0 {
				extra = " (also " + strings.Join(also, ", ") + ")"
			}
			p("  %-8s %s%s  %s\n", x.Status, name, extra, locs(x.A, x.B))
			if x.ParamsA != x.ParamsB {
				p("           parameters: %s → %s\n", x.ParamsA, x.ParamsB)
			}
			if x.BodyChanged && x.Added+x.Removed+x.Changed > 0 {
				p("           statements: %d added, %d removed, %d changed\n", x.Added, x.Removed, x.Changed)
			}
			if o.Statements {
				for _, st := range x.Statements {
					switch st.Op {
					case Added:
						p("           + %s  (%s)\n", st.New, st.B.String())
					case Removed:
						p("           - %s  (%s)\n", st.Old, st.A.String())
					default:
						p("           ~ %s  (%s)\n             %s  (%s)\n", st.Old, st.A.String(), st.New, st.B.String())
					}
				}
			}
		}
	}
	blocks := func(title string, items []BlockChange) {
		if len(items) == 0 {
			return
		}
		p("\n%s:\n", title)
		for _, b := range items {
			extra := ""
			if b.Moved && b.Status != Moved {
				extra = " (also moved)"
			}
			p("  %-8s %s%s  %s\n", b.Status, b.Name, extra, locs(b.A, b.B))
			for _, v := range b.Values {
				p("           %s\n", v.Words())
			}
		}
	}
	blocks("attributes", s.Attributes)
	blocks("operations", s.Operations)
	values := func(title string, items []ValueChange) {
		if len(items) == 0 {
			return
		}
		p("\n%s:\n", title)
		for _, v := range items {
			p("  %s  %s\n", v.Words(), locs(v.A, v.B))
		}
	}
	values("header commands", s.Headers)
	values("defines", s.Defines)
	if len(s.Libraries) > 0 {
		p("\nlibraries:\n")
		for _, l := range s.Libraries {
			p("  %s: %s  %s\n", l.Name, LibraryWords(l.Status), locs(l.A, l.B))
			if l.PathA != l.PathB && l.PathA != "" && l.PathB != "" {
				p("           path: %s → %s\n", l.PathA, l.PathB)
			}
			if l.Status == LibVariant {
				p("           content: %s → %s\n", short(l.SHA256A), short(l.SHA256B))
			}
		}
	}
	syms := func(title string, items []SymbolChange) {
		if len(items) == 0 {
			return
		}
		p("\n%s:\n", title)
		for _, x := range items {
			p("  %-13s %s %s  %s\n", x.Status, x.Kind, x.Name, locs(x.A, x.B))
		}
	}
	syms("definitions", s.Definitions)
	syms("references", s.References)
	if s.Truncated > 0 {
		p("\n(%d more items not listed)\n", s.Truncated)
	}
	p("\nfiles:\n")
	for _, f := range r.Files {
		p("  %s\n", fileWords(f))
	}
	if o.Hunks {
		for _, f := range r.Files {
			if len(f.Hunks) == 0 {
				continue
			}
			an, bn := "/dev/null", "/dev/null"
			if f.A != nil {
				an = "a/" + f.A.Name
			}
			if f.B != nil {
				bn = "b/" + f.B.Name
			}
			p("\n--- %s\n+++ %s\n", an, bn)
			for _, h := range f.Hunks {
				p("@@ -%d,%d +%d,%d @@", h.AStart, h.ALines, h.BStart, h.BLines)
				if h.Section != "" {
					p(" :SECTION=%s", h.Section)
				}
				p("\n")
				for _, l := range h.Lines {
					mark := " "
					switch l.Op {
					case OpDelete:
						mark = "-"
					case OpInsert:
						mark = "+"
					}
					p("%s%s\n", mark, l.Text)
				}
			}
		}
	}
	return bw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// String writes FILE:LINE or FILE:FROM-TO.
func (l *Loc) String() string {
	if l == nil {
		return "-"
	}
	if l.EndLine > l.Line {
		return fmt.Sprintf("%s:%d-%d", l.File, l.Line, l.EndLine)
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

func locs(a, b *Loc) string {
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil:
		return "[B " + b.String() + "]"
	case b == nil:
		return "[A " + a.String() + "]"
	}
	return "[A " + a.String() + ", B " + b.String() + "]"
}

// Words writes NAME: old → new (or + NAME: new, - NAME: old).
func (v ValueChange) Words() string {
	switch v.Status {
	case Added:
		return "+ " + v.Name + ": " + v.New
	case Removed:
		return "- " + v.Name + ": " + v.Old
	}
	return v.Name + ": " + v.Old + " → " + v.New
}

func fileWords(f FileDiff) string {
	name := ""
	switch {
	case f.A == nil:
		name = f.B.Name
	case f.B == nil:
		name = f.A.Name
	case f.A.Name != f.B.Name:
		name = f.A.Name + " → " + f.B.Name
	default:
		name = f.B.Name
	}
	status := f.Status
	if f.Equivalent {
		status = "equivalent"
	}
	out := fmt.Sprintf("%-10s %s", status, name)
	if f.Added+f.Removed > 0 {
		out += fmt.Sprintf(" (+%d −%d)", f.Added, f.Removed)
	}
	if len(f.Notes) > 0 {
		out += "; " + strings.Join(f.Notes, "; ")
	}
	return out
}
