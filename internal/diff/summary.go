package diff

import (
	"fmt"
	"sort"
	"strings"
)

// finish orders the files, counts and writes the summary.
func (c *comparer) finish() {
	r := c.res
	significant := map[*pair]bool{}
	for _, p := range c.pairs {
		significant[p] = c.significant(p)
		if p.changed() && !significant[p] {
			p.fd.Equivalent = true
		}
	}
	sort.SliceStable(c.pairs, func(i, j int) bool {
		si, sj := significant[c.pairs[i]], significant[c.pairs[j]]
		if si != sj {
			return si
		}
		return pairName(c.pairs[i]) < pairName(c.pairs[j])
	})
	n := &r.Counts
	for _, p := range c.pairs {
		fd := p.fd
		r.Files = append(r.Files, *fd)
		switch {
		case fd.Status == StatusAdded:
			n.FilesAdded++
		case fd.Status == StatusRemoved:
			n.FilesRemoved++
		case fd.Status == StatusRenamed:
			n.FilesRenamed++
		case significant[p]:
			n.FilesModified++
		default:
			n.FilesIdentical++
		}
		n.LinesAdded += fd.Added
		n.LinesRemoved += fd.Removed
	}
	s := &r.Semantic
	for _, x := range s.Sections {
		switch x.Status {
		case Added:
			n.SectionsAdded++
		case Removed:
			n.SectionsRemoved++
		}
		if x.BodyChanged {
			n.SectionsChanged++
		}
		if x.Renamed {
			n.SectionsRenamed++
		}
		if x.Moved {
			n.SectionsMoved++
		}
	}
	blockCounts := func(items []BlockChange, added, removed, changed *int) {
		for _, b := range items {
			switch b.Status {
			case Added:
				*added++
			case Removed:
				*removed++
			default:
				*changed++
			}
		}
	}
	blockCounts(s.Attributes, &n.AttributesAdded, &n.AttributesRemoved, &n.AttributesChanged)
	blockCounts(s.Operations, &n.OperationsAdded, &n.OperationsRemoved, &n.OperationsChanged)
	n.HeadersChanged = len(s.Headers)
	n.DefinesChanged = len(s.Defines)
	n.LibrariesChanged = len(s.Libraries)
	for _, d := range s.Definitions {
		if d.Status == Added {
			n.DefinitionsAdded++
		} else {
			n.DefinitionsRemoved++
		}
	}
	for _, x := range s.References {
		switch x.Status {
		case RefAppeared:
			n.ReferencesAppeared++
		case RefGone:
			n.ReferencesGone++
		case RefNowUndefind:
			n.ReferencesUndefined++
		}
	}
	r.Identical = n.FilesAdded+n.FilesRemoved+n.FilesRenamed+n.FilesModified == 0
	r.Summary = c.summary()
}

func pairName(p *pair) string {
	if p.b != nil {
		return p.b.Name
	}
	return p.a.Name
}

// counted writes "3 sections changed, 1 added" from the non-zero counts;
// the noun goes with the first.
func counted(one, many string, parts ...any) string {
	var out []string
	for i := 0; i+1 < len(parts); i += 2 {
		v := parts[i].(int)
		if v == 0 {
			continue
		}
		word := parts[i+1].(string)
		if len(out) == 0 {
			noun := many
			if v == 1 {
				noun = one
			}
			out = append(out, fmt.Sprintf("%d %s %s", v, noun, word))
		} else {
			out = append(out, fmt.Sprintf("%d %s", v, word))
		}
	}
	return strings.Join(out, ", ")
}

func (c *comparer) summary() string {
	r := c.res
	n := r.Counts
	if r.Identical {
		if n.FilesIdentical == 0 {
			return "both sides are empty"
		}
		var ignoring []string
		if c.opt.IgnoreWhitespace {
			ignoring = append(ignoring, "whitespace")
		}
		if c.opt.IgnoreCase {
			ignoring = append(ignoring, "case")
		}
		if c.opt.IgnoreComments {
			ignoring = append(ignoring, "comments")
		}
		for _, f := range r.Files {
			if f.Equivalent {
				return "no differences when ignoring " + strings.Join(ignoring, ", ")
			}
		}
		return fmt.Sprintf("identical (%d %s)", n.FilesIdentical, plural(n.FilesIdentical, "file", "files"))
	}
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(counted("section", "sections", n.SectionsChanged, "changed", n.SectionsAdded, "added", n.SectionsRemoved, "removed",
		n.SectionsRenamed, "renamed", n.SectionsMoved, "moved"))
	add(counted("attribute", "attributes", n.AttributesChanged, "changed", n.AttributesAdded, "added", n.AttributesRemoved, "removed"))
	add(counted("operation", "operations", n.OperationsChanged, "changed", n.OperationsAdded, "added", n.OperationsRemoved, "removed"))
	add(counted("header command", "header commands", n.HeadersChanged, "changed"))
	add(counted("define", "defines", n.DefinesChanged, "changed"))
	for _, l := range r.Semantic.Libraries {
		add(l.Name + ": " + LibraryWords(l.Status))
	}
	add(counted("file", "files", n.FilesAdded, "added", n.FilesRemoved, "removed", n.FilesRenamed, "renamed"))
	if len(parts) == 0 {
		// Nothing the language view sees: say what the text diff saw.
		var names []string
		for _, f := range r.Files {
			if f.Status == StatusModified && !f.Equivalent {
				names = append(names, f.B.Name)
			}
		}
		if len(names) > 3 {
			names = append(names[:3], "…")
		}
		add(fmt.Sprintf("%d %s modified (%s)", n.FilesModified, plural(n.FilesModified, "file", "files"), strings.Join(names, ", ")))
	}
	if n.LinesAdded+n.LinesRemoved > 0 {
		add(fmt.Sprintf("+%d −%d lines", n.LinesAdded, n.LinesRemoved))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// LibraryWords says a library status in words.
func LibraryWords(status string) string {
	switch status {
	case LibVariant:
		return "different variant"
	case LibPath:
		return "path changed"
	case LibUnresolved:
		return "no longer resolved"
	case LibNowResolved:
		return "now resolved"
	}
	return status
}
