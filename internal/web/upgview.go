package web

import (
	"fmt"
	"strings"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/upg"
)

// outlineGroup is one part of a file's outline (headers, libraries,
// attributes, operations, sections …).
type outlineGroup struct {
	Kind  string // CSS/filter key: header, define, library, attribute, operation, section
	Title string
	Open  bool
	Items []outlineEntry
}

// outlineEntry is one line the outline jumps to.
type outlineEntry struct {
	Label  string
	Detail string // a short hint: header value, section kind, attribute type
	Line   int
	Symbol string // set for attributes and sections: the name to look up
	// Libraries: the package file the path resolved to (Href), or Missing
	// with Tip saying why (set from the index).
	Href    string
	Missing bool
	Tip     string
	// Similar links sections to "sections like this one" (needs search).
	Similar string
}

// sourceDiag is a diagnostic shown in the source view.
type sourceDiag struct {
	Line     int
	Col      int
	Severity string
	Code     string
	Message  string
}

// view is what the source view shows of a file's analysis.
type view struct {
	spans   []span
	outline []outlineGroup
	parsed  bool
}

// viewOf builds the source view from a file's stored analysis: the stored
// tokens highlight, the stored references make names links, the stored
// outline fills the sidebar. Nothing is parsed per view.
func viewOf(f *analysis.File, src []byte) view {
	a := view{parsed: f.Outline != nil}
	// Names the parser sees as uses of an attribute, section or define
	// (section parameters are local and not looked up).
	refAt := map[int]bool{}
	if f.Facts != nil {
		for _, r := range f.Facts.References {
			if !r.Param {
				refAt[r.Offset] = true
			}
		}
	}
	toks := analysis.Tokens(f.Tokens)
	a.spans = make([]span, 0, len(toks)/2)
	for _, t := range toks {
		switch t.Kind {
		case upg.TokSpace, upg.TokEOL, upg.TokInvalid:
			continue
		}
		if t.End > len(src) {
			break
		}
		s := span{class: t.Kind.String(), off: t.Offset, end: t.End}
		if t.Kind == upg.TokName || (t.Kind == upg.TokVariable && refAt[t.Offset]) {
			s.sym = strings.TrimSpace(string(src[t.Offset:t.End]))
		}
		a.spans = append(a.spans, s)
	}
	if f.Outline == nil {
		return a
	}
	o := f.Outline
	if len(o.Headers) > 0 {
		g := outlineGroup{Kind: "header", Title: "Header"}
		for _, h := range o.Headers {
			g.Items = append(g.Items, outlineEntry{Label: h.Name, Detail: h.Value, Line: h.Line})
		}
		a.outline = append(a.outline, g)
	}
	if len(o.Defines) > 0 {
		g := outlineGroup{Kind: "define", Title: "Defines", Open: true}
		for _, d := range o.Defines {
			g.Items = append(g.Items, outlineEntry{Label: d.Name, Detail: d.Value, Line: d.Line, Symbol: d.Name})
		}
		a.outline = append(a.outline, g)
	}
	if len(o.Libraries) > 0 {
		g := outlineGroup{Kind: "library", Title: "Libraries", Open: true}
		for _, l := range o.Libraries {
			g.Items = append(g.Items, outlineEntry{Label: l.FileName, Detail: l.Directive, Line: l.Line})
		}
		a.outline = append(a.outline, g)
	}
	if len(o.Attributes) > 0 {
		g := outlineGroup{Kind: "attribute", Title: "Attributes", Open: true}
		for _, at := range o.Attributes {
			detail := strings.ToLower(at.Type)
			if at.ID != 0 {
				detail = strings.TrimSpace(fmt.Sprintf("%s #%d", detail, at.ID))
			}
			g.Items = append(g.Items, outlineEntry{Label: at.Name, Detail: detail, Line: at.Line, Symbol: at.Name})
		}
		a.outline = append(a.outline, g)
	}
	if len(o.Operations) > 0 {
		g := outlineGroup{Kind: "operation", Title: "Operations", Open: true}
		for _, op := range o.Operations {
			label := op.ID
			if op.Sub != "" {
				label += " / " + op.Sub
			}
			g.Items = append(g.Items, outlineEntry{Label: label, Line: op.Line})
		}
		a.outline = append(a.outline, g)
	}
	if len(o.Sections) > 0 {
		g := outlineGroup{Kind: "section", Title: "Sections", Open: true}
		for _, s := range o.Sections {
			detail := s.Kind
			if detail == upg.SectionUser {
				detail = "" // most sections; only system and calc ones are marked
			}
			g.Items = append(g.Items, outlineEntry{Label: s.Name, Detail: detail, Line: s.Line, Symbol: s.Name})
		}
		a.outline = append(a.outline, g)
	}
	return a
}
