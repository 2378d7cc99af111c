package search

import (
	"context"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Grouping turns hits per content into results per package and file: a
// content shared by many packages (a stock MILL.LIB) has its hits once in
// the index and once in every package that holds it.

type fileGroup struct {
	row   FileRow
	sha   string
	hits  []hit // passing the section filter, best first
	score float64
}

type pkgGroup struct {
	first FileRow
	score float64
	hits  int
	files []*fileGroup
}

type grouped struct {
	packages []*pkgGroup
	files    int
	hits     int
	facets   Facets
}

// Filter dimensions, for facets that leave out their own filter.
const (
	dimNone = iota
	dimMachine
	dimController
	dimPlatform
	dimKind
	dimSection
)

func (f Filter) passPackage(r FileRow, except int) bool {
	if f.Package != "" && r.PackageID != f.Package && !containsFold(r.PackageName, f.Package) {
		return false
	}
	return (except == dimMachine || fieldIs(r.Machine, f.Machine)) &&
		(except == dimController || fieldIs(r.Controller, f.Controller)) &&
		(except == dimPlatform || fieldIs(r.Platform, f.Platform))
}

// NotSet is the filter value that selects packages where a field is empty.
const NotSet = "-"

// fieldIs reports whether a package field passes a filter value: "" lets
// everything through, NotSet only empty fields, anything else the value
// (case-insensitive).
func fieldIs(field, want string) bool {
	field = strings.TrimSpace(field)
	switch want {
	case "":
		return true
	case NotSet:
		return field == ""
	}
	return strings.EqualFold(field, strings.TrimSpace(want))
}

func (f Filter) passFile(r FileRow, except int) bool {
	if except != dimKind && f.FileKind != "" && fileKind(r.Filename) != f.FileKind {
		return false
	}
	return f.File == "" || containsFold(r.Filename, f.File)
}

func (f Filter) passSection(r *LineRow) bool {
	if f.Section == "" {
		return true
	}
	if IsSectionKind(f.Section) {
		return sectionKindOf(r) == strings.ToLower(f.Section)
	}
	if r.Section.Ord < 0 {
		return false
	}
	want := upg.CanonicalName(f.Section)
	got := upg.CanonicalName(r.Section.Name)
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// lessHit orders the hits of one file: the best matching line first (its
// own lexical score; sections found only by the embedding have none), then
// the fused score of its unit, then by line. Which files and packages come
// first is decided by the fused score (see group).
func lessHit(a, b hit) bool {
	if a.line != b.line {
		return a.line > b.line
	}
	if a.score.score != b.score.score {
		return a.score.score > b.score.score
	}
	return a.row.N < b.row.N
}

// group applies the filters, counts facets and totals, and orders
// packages (best score, then most hits, then name) and their files.
func group(f Filter, byDoc map[int64][]hit, files []FileRow) grouped {
	var g grouped
	passing := map[int64][]hit{}
	shaOf := map[int64]string{}
	for doc, hs := range byDoc {
		sort.Slice(hs, func(i, j int) bool { return lessHit(hs[i], hs[j]) })
		var p []hit
		for _, h := range hs {
			if f.passSection(h.row) {
				p = append(p, h)
			}
		}
		passing[doc] = p
		if len(hs) > 0 {
			shaOf[doc] = hs[0].row.SHA256
		}
	}
	machines, controllers, platforms := map[string]map[string]bool{}, map[string]map[string]bool{}, map[string]map[string]bool{}
	kinds, sections := map[string]int{}, map[string]int{}
	addPkg := func(m map[string]map[string]bool, value, pkg string) {
		value = strings.TrimSpace(value)
		if m[value] == nil {
			m[value] = map[string]bool{}
		}
		m[value][pkg] = true
	}
	pkgs := map[string]*pkgGroup{}
	for _, r := range files {
		hs := passing[r.DocID]
		pkgOK, fileOK := f.passPackage(r, dimNone), f.passFile(r, dimNone)
		if fileOK && len(hs) > 0 {
			if f.passPackage(r, dimMachine) {
				addPkg(machines, r.Machine, r.PackageID)
			}
			if f.passPackage(r, dimController) {
				addPkg(controllers, r.Controller, r.PackageID)
			}
			if f.passPackage(r, dimPlatform) {
				addPkg(platforms, r.Platform, r.PackageID)
			}
		}
		if pkgOK && len(hs) > 0 && f.passFile(r, dimKind) {
			kinds[fileKind(r.Filename)]++
		}
		if pkgOK && fileOK {
			for _, h := range byDoc[r.DocID] {
				sections[sectionKindOf(h.row)]++
			}
		}
		if !pkgOK || !fileOK || len(hs) == 0 {
			continue
		}
		key := r.PackageID
		pg := pkgs[key]
		if pg == nil {
			pg = &pkgGroup{first: r}
			pkgs[key] = pg
		}
		if r.Version > pg.first.Version {
			pg.first = r
		}
		fg := &fileGroup{row: r, sha: shaOf[r.DocID], hits: hs}
		for _, h := range hs {
			fg.score = max(fg.score, h.score.score)
		}
		pg.files = append(pg.files, fg)
		pg.hits += len(hs)
		pg.score = max(pg.score, fg.score)
		g.files++
		g.hits += len(hs)
	}
	for _, pg := range pkgs {
		sort.Slice(pg.files, func(i, j int) bool {
			a, b := pg.files[i], pg.files[j]
			if a.score != b.score {
				return a.score > b.score
			}
			if a.row.Version != b.row.Version {
				return a.row.Version > b.row.Version
			}
			return strings.ToLower(a.row.Filename) < strings.ToLower(b.row.Filename)
		})
		g.packages = append(g.packages, pg)
	}
	sort.Slice(g.packages, func(i, j int) bool {
		a, b := g.packages[i], g.packages[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.hits != b.hits {
			return a.hits > b.hits
		}
		an, bn := strings.ToLower(a.first.PackageName), strings.ToLower(b.first.PackageName)
		if an != bn {
			return an < bn
		}
		return a.first.PackageID < b.first.PackageID
	})
	g.facets = Facets{
		Machines: pkgFacet(machines), Controllers: pkgFacet(controllers), Platforms: pkgFacet(platforms),
		FileKinds: countFacet(kinds), SectionKinds: countFacet(sections),
	}
	return g
}

func pkgFacet(m map[string]map[string]bool) []Facet {
	c := make(map[string]int, len(m))
	for v, set := range m {
		c[v] = len(set)
	}
	return countFacet(c)
}

func countFacet(m map[string]int) []Facet {
	out := make([]Facet, 0, len(m))
	for v, n := range m {
		out = append(out, Facet{Value: v, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// render builds one page of results: the shown hits of each file with
// their context lines and highlights.
func (s *Searcher) render(ctx context.Context, clauses []Clause, page []*pkgGroup, perFile, ctxLines int) ([]PackageResult, error) {
	var spans []LineSpan
	for _, pg := range page {
		for _, fg := range pg.files {
			for _, h := range fg.hits[:min(perFile, len(fg.hits))] {
				spans = append(spans, LineSpan{DocID: fg.row.DocID, From: h.row.N - ctxLines, To: h.row.N + ctxLines})
			}
		}
	}
	lines := map[int64]map[int]string{}
	if len(spans) > 0 {
		rows, err := s.Index.ContextLines(ctx, spans)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if lines[r.DocID] == nil {
				lines[r.DocID] = map[int]string{}
			}
			lines[r.DocID][r.N] = r.Text
		}
	}
	around := func(doc int64, from, to int) []ContextLine {
		out := []ContextLine{}
		for n := max(from, 1); n <= to; n++ {
			if t, ok := lines[doc][n]; ok {
				out = append(out, ContextLine{N: n, Text: t})
			}
		}
		return out
	}
	out := make([]PackageResult, 0, len(page))
	for _, pg := range page {
		p := pg.first
		pr := PackageResult{PackageID: p.PackageID, PackageName: p.PackageName, Version: p.Version, Machine: p.Machine,
			Controller: p.Controller, Platform: p.Platform, Score: pg.score, Hits: pg.hits, URL: "/packages/" + p.PackageID}
		for _, fg := range pg.files {
			r := fg.row
			fr := FileResult{FileID: r.FileID, Filename: r.Filename, Kind: fileKind(r.Filename), Version: r.Version, Latest: r.Latest,
				SHA256: fg.sha, Hits: len(fg.hits), URL: FileURL(r.PackageID, r.FileID, 0)}
			shown := fg.hits[:min(perFile, len(fg.hits))]
			fr.More = len(fg.hits) - len(shown)
			for _, h := range shown {
				n := h.row.N
				hit := Hit{Line: n, Role: h.score.role, Score: h.score.score, URL: FileURL(r.PackageID, r.FileID, n),
					Before: around(r.DocID, n-ctxLines, n-1), After: around(r.DocID, n+1, n+ctxLines), Highlights: []Highlight{}}
				if h.similar {
					hit.Text = lines[r.DocID][n]
				} else {
					hit.Text, hit.Output = h.row.Text, h.row.Output
					hit.Highlights = highlights(clauses, h.row.Text)
					if hit.Highlights == nil {
						hit.Highlights = []Highlight{}
					}
					hit.OutputHighlights = highlights(clauses, h.row.Output)
				}
				if h.row.Section.Ord >= 0 && h.row.Section.Name != "" {
					hit.Section = &SectionHit{SectionRef: h.row.Section, ID: SectionID(fg.sha, h.row.Section.Ord)}
				}
				fr.Shown = append(fr.Shown, hit)
			}
			pr.Files = append(pr.Files, fr)
		}
		out = append(out, pr)
	}
	return out, nil
}
