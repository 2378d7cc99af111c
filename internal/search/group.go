package search

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Grouping turns what was found per content into results per package and
// file: a content shared by many packages (a stock MILL.LIB) is counted once
// in the index and shown in every package that holds it.

type fileGroup struct {
	row *FileRow // the caller's row (not copied: there are thousands)
	doc *docHits
}

type pkgGroup struct {
	first FileRow
	name  *string // lower case, for ordering; set when first compared
	score float64
	hits  int
	files []*fileGroup
}

// lowerName is the package name in lower case (only packages that tie on
// score and hits are ordered by name).
func (pg *pkgGroup) lowerName() string {
	if pg.name == nil {
		n := strings.ToLower(pg.first.PackageName)
		pg.name = &n
	}
	return *pg.name
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
)

func (f Filter) passPackage(r *FileRow, except int) bool {
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
	switch want {
	case "":
		return true
	case NotSet:
		return strings.TrimSpace(field) == ""
	}
	return strings.EqualFold(strings.TrimSpace(field), strings.TrimSpace(want))
}

func (f Filter) passFile(r *FileRow, kind string, except int) bool {
	if except != dimKind && f.FileKind != "" && kind != f.FileKind {
		return false
	}
	return f.File == "" || containsFold(r.Filename, f.File)
}

// passSection reports whether a line in section r passes the section
// filter (a kind, or a name with an optional trailing '*').
func (f Filter) passSection(r SectionRef) bool {
	if f.Section == "" {
		return true
	}
	if IsSectionKind(f.Section) {
		return sectionKind(r) == strings.ToLower(f.Section)
	}
	if r.Ord < 0 {
		return false
	}
	return SectionNameMatches(upg.CanonicalName(f.Section), upg.CanonicalName(r.Name))
}

// SectionNameMatches compares canonical names; want may end in '*'.
func SectionNameMatches(want, got string) bool {
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

// passSectionStat is passSection for a document's counts of one kind.
func (f Filter) passSectionStat(st DocStat) bool {
	switch {
	case f.Section == "":
		return true
	case IsSectionKind(f.Section):
		return st.Kind == strings.ToLower(f.Section)
	}
	return st.InSection
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// group applies the filters, counts facets and totals, and orders
// packages (best score, then most hits, then name) and their files.
func group(f Filter, docs map[int64]*docHits, files []FileRow) grouped {
	return tally(f, docs, [][]FileRow{files}, true)
}

// pkgTally is what grouping knows of one package: the facets it was
// counted in, and its group when it passes every filter.
type pkgTally struct {
	facets uint8 // 1 << dimMachine …: a package has one value per field
	group  *pkgGroup
}

// tally is group over the rows of files in turn; without full it only
// counts the packages, files and hits (bounded counting asks that after
// every batch), leaving out the facets and the order.
func tally(f Filter, docs map[int64]*docHits, files [][]FileRow, full bool) grouped {
	var g grouped
	// Facets of package fields count packages: the fields are the
	// package's, the same on each of its files, so a package is counted
	// the first time one of its files passes.
	machines, controllers, platforms := map[string]int{}, map[string]int{}, map[string]int{}
	kinds := map[string]int{}
	var sections kindCounts
	pkgs := make(map[string]*pkgTally, len(docs))
	var tallies []pkgTally // allocated in chunks
	addPkg := func(t *pkgTally, dim int, m map[string]int, value string) {
		if t.facets&(1<<dim) == 0 {
			t.facets |= 1 << dim
			m[strings.TrimSpace(value)]++
		}
	}
	kindOf := map[string]string{} // file name → kind (many files share a name)
	for _, rows := range files {
		for i := range rows {
			r := &rows[i]
			d := docs[r.DocID]
			if d == nil {
				continue
			}
			kind, ok := kindOf[r.Filename]
			if !ok {
				kind = fileKind(r.Filename)
				kindOf[r.Filename] = kind
			}
			pkgOK, fileOK := f.passPackage(r, dimNone), f.passFile(r, kind, dimNone)
			t := pkgs[r.PackageID]
			if t == nil {
				if len(tallies) == cap(tallies) {
					tallies = make([]pkgTally, 0, 256)
				}
				tallies = append(tallies, pkgTally{})
				t = &tallies[len(tallies)-1]
				pkgs[r.PackageID] = t
			}
			if full {
				if fileOK && d.hits > 0 {
					if f.passPackage(r, dimMachine) {
						addPkg(t, dimMachine, machines, r.Machine)
					}
					if f.passPackage(r, dimController) {
						addPkg(t, dimController, controllers, r.Controller)
					}
					if f.passPackage(r, dimPlatform) {
						addPkg(t, dimPlatform, platforms, r.Platform)
					}
				}
				if pkgOK && d.hits > 0 && f.passFile(r, kind, dimKind) {
					kinds[kind]++
				}
				if pkgOK && fileOK {
					sections.addAll(&d.kinds)
				}
			}
			if !pkgOK || !fileOK || d.hits == 0 {
				continue
			}
			pg := t.group
			if pg == nil {
				pg = &pkgGroup{first: *r}
				t.group = pg
				g.packages = append(g.packages, pg)
			}
			if r.Version > pg.first.Version {
				pg.first = *r
			}
			pg.files = append(pg.files, &fileGroup{row: r, doc: d})
			pg.hits += d.hits
			pg.score = max(pg.score, d.score)
			g.files++
			g.hits += d.hits
		}
	}
	if !full {
		return g
	}
	for _, pg := range g.packages {
		if len(pg.files) > 1 {
			slices.SortFunc(pg.files, func(a, b *fileGroup) int {
				if a.doc.score != b.doc.score {
					return cmp.Compare(b.doc.score, a.doc.score)
				}
				if a.row.Version != b.row.Version {
					return cmp.Compare(b.row.Version, a.row.Version)
				}
				return strings.Compare(strings.ToLower(a.row.Filename), strings.ToLower(b.row.Filename))
			})
		}
	}
	slices.SortFunc(g.packages, func(a, b *pkgGroup) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		if a.hits != b.hits {
			return cmp.Compare(b.hits, a.hits)
		}
		if an, bn := a.lowerName(), b.lowerName(); an != bn {
			return strings.Compare(an, bn)
		}
		return strings.Compare(a.first.PackageID, b.first.PackageID)
	})
	g.facets = Facets{
		Machines: countFacet(machines), Controllers: countFacet(controllers), Platforms: countFacet(platforms),
		FileKinds: countFacet(kinds), SectionKinds: countFacet(sections.facets()),
	}
	return g
}

func countFacet(m map[string]int) []Facet {
	out := make([]Facet, 0, len(m))
	for v, n := range m {
		if n > 0 {
			out = append(out, Facet{Value: v, Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// shownHit is a hit of a file on the page before it is rendered.
type shownHit struct {
	n       int
	text    *TextRow // nil for a section found by the embedding
	score   lineScore
	section SectionRef
	sim     float64
}

// render builds one page of results: the lines of each file shown, best
// first, with their context and highlights.
func (s *Searcher) render(ctx context.Context, f Filter, fd *found, page []*pkgGroup, perFile, ctxLines int) ([]PackageResult, error) {
	// The page's documents and their matching lines.
	pageDocs := map[int64]bool{}
	for _, pg := range page {
		for _, fg := range pg.files {
			pageDocs[fg.row.DocID] = true
		}
	}
	byDoc := map[int64][]shownHit{}
	if len(fd.scores) > 0 {
		docIDs := make([]int64, 0, len(pageDocs))
		for id := range pageDocs {
			if d := fd.docs[id]; d != nil && d.lexical > 0 {
				docIDs = append(docIDs, id)
			}
		}
		texts := make([]int64, 0, len(fd.scores))
		for id := range fd.scores {
			texts = append(texts, id)
		}
		sort.Slice(docIDs, func(i, j int) bool { return docIDs[i] < docIDs[j] })
		sort.Slice(texts, func(i, j int) bool { return texts[i] < texts[j] })
		if len(docIDs) > 0 {
			refs, err := s.Index.DocLines(ctx, docIDs, texts)
			if err != nil {
				return nil, err
			}
			for _, r := range refs {
				if !f.passSection(r.Section) {
					continue
				}
				byDoc[r.DocID] = append(byDoc[r.DocID], shownHit{n: r.N, text: fd.texts[r.TextID], score: fd.scores[r.TextID], section: r.Section})
			}
		}
	}
	for id := range pageDocs {
		hs := byDoc[id]
		// The best matching lines first, then by line; then the sections
		// found by the embedding, nearest first.
		sort.Slice(hs, func(i, j int) bool {
			if hs[i].score.score != hs[j].score.score {
				return hs[i].score.score > hs[j].score.score
			}
			return hs[i].n < hs[j].n
		})
		if d := fd.docs[id]; d != nil {
			for _, c := range d.similar {
				hs = append(hs, shownHit{n: c.StartLine, section: c.SectionRef, sim: c.score, score: lineScore{role: RoleSimilar}})
			}
		}
		if len(hs) > perFile {
			hs = hs[:perFile]
		}
		byDoc[id] = hs
	}

	var spans []LineSpan
	for id, hs := range byDoc {
		for _, h := range hs {
			spans = append(spans, LineSpan{DocID: id, From: h.n - ctxLines, To: h.n + ctxLines})
		}
	}
	lines := map[int64]map[int]string{}
	if len(spans) > 0 {
		sort.Slice(spans, func(i, j int) bool {
			return spans[i].DocID < spans[j].DocID || spans[i].DocID == spans[j].DocID && spans[i].From < spans[j].From
		})
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
			r := *fg.row
			fr := FileResult{FileID: r.FileID, Filename: r.Filename, Kind: fileKind(r.Filename), Version: r.Version, Latest: r.Latest,
				SHA256: fg.doc.sha, Hits: fg.doc.hits, URL: FileURL(r.PackageID, r.FileID, 0), Shown: []Hit{}}
			shown := byDoc[r.DocID]
			fr.More = max(fg.doc.hits-len(shown), 0)
			for _, h := range shown {
				hit := Hit{Line: h.n, Role: h.score.role, Score: h.score.score, URL: FileURL(r.PackageID, r.FileID, h.n),
					Before: around(r.DocID, h.n-ctxLines, h.n-1), After: around(r.DocID, h.n+1, h.n+ctxLines), Highlights: []Highlight{}}
				if h.text == nil {
					hit.Text, hit.Score = lines[r.DocID][h.n], h.sim
				} else {
					hit.Text, hit.Output = h.text.Text, h.text.Output
					if hl := highlights(fd.clauses, h.text.Text); hl != nil {
						hit.Highlights = hl
					}
					hit.OutputHighlights = highlights(fd.clauses, h.text.Output)
				}
				if h.section.Ord >= 0 && h.section.Name != "" {
					hit.Section = &SectionHit{SectionRef: h.section, ID: SectionID(fg.doc.sha, h.section.Ord)}
				}
				fr.Shown = append(fr.Shown, hit)
			}
			pr.Files = append(pr.Files, fr)
		}
		out = append(out, pr)
	}
	return out, nil
}
