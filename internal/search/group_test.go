package search

import (
	"reflect"
	"testing"
)

// groupFixture: content s1 (a library shared by two packages) has a
// definition in a calc section and a use outside sections; content s2 (P1's
// own source) has a comment hit.
func groupFixture(f Filter) (map[int64]*docHits, []FileRow) {
	stats := []DocStat{
		{DocID: 1, SHA256: "s1", Kind: SectionCalc, InSection: true, Best: 3, Hits: 1, Mask: 1},
		{DocID: 1, SHA256: "s1", Kind: "none", Best: 1, Hits: 1, Mask: 1},
		{DocID: 2, SHA256: "s2", Kind: "none", Best: 0.2, Hits: 1, Mask: 1},
	}
	docs := map[int64]*docHits{}
	for _, st := range stats {
		d := docs[st.DocID]
		if d == nil {
			d = &docHits{sha: st.SHA256}
			docs[st.DocID] = d
		}
		d.kinds.add(st.Kind, st.Hits)
		if f.passSectionStat(st) {
			d.hits += st.Hits
			d.lexical = max(d.lexical, st.Best)
			d.score = d.lexical
		}
	}
	files := []FileRow{
		{DocID: 1, FileID: "f1", Filename: "MILL.LIB", Version: 1, Latest: true, PackageID: "p1", PackageName: "Zeta", Machine: "Mill A", Platform: "camworks"},
		{DocID: 2, FileID: "f2", Filename: "ZETA.SRC", Version: 1, Latest: true, PackageID: "p1", PackageName: "Zeta", Machine: "Mill A", Platform: "camworks"},
		{DocID: 1, FileID: "f3", Filename: "MILL.LIB", Version: 2, Latest: true, PackageID: "p2", PackageName: "alpha", Machine: "", Platform: "camworks"},
	}
	return docs, files
}

// groupWith groups the fixture under filter f (the fixture's per-document
// counts are made with counting filter c, as the index would).
func groupWith(f, c Filter) grouped {
	docs, files := groupFixture(c)
	return group(f, docs, files)
}

func TestGroup(t *testing.T) {
	g := groupWith(Filter{}, Filter{})
	if len(g.packages) != 2 || g.files != 3 || g.hits != 5 {
		t.Fatalf("%d packages, %d files, %d hits", len(g.packages), g.files, g.hits)
	}
	// Equal best scores: more hits first (Zeta: 3 hits), then the name.
	if g.packages[0].first.PackageName != "Zeta" || g.packages[1].first.PackageName != "alpha" {
		t.Errorf("order %s, %s", g.packages[0].first.PackageName, g.packages[1].first.PackageName)
	}
	if fs := g.packages[0].files; fs[0].row.Filename != "MILL.LIB" || fs[0].doc.score != 3 {
		t.Errorf("best file out of order: %+v", fs[0])
	}
	want := Facets{
		Machines:     []Facet{{"", 1}, {"Mill A", 1}},
		Controllers:  []Facet{{"", 2}},
		Platforms:    []Facet{{"camworks", 2}},
		FileKinds:    []Facet{{"lib", 2}, {"src", 1}},
		SectionKinds: []Facet{{"none", 3}, {"calc", 2}},
	}
	if !reflect.DeepEqual(g.facets, want) {
		t.Errorf("facets %+v\nwant %+v", g.facets, want)
	}

	// Filters, and facets that leave out their own filter.
	g = groupWith(Filter{Machine: NotSet}, Filter{})
	if len(g.packages) != 1 || g.packages[0].first.PackageID != "p2" || len(g.facets.Machines) != 2 {
		t.Errorf("machine not set: %d packages, machine facet %v", len(g.packages), g.facets.Machines)
	}
	calc := Filter{Section: "calc"}
	g = groupWith(calc, calc)
	if g.hits != 2 || g.files != 2 || !reflect.DeepEqual(g.facets.SectionKinds, want.SectionKinds) {
		t.Errorf("section calc: %d hits, %d files, facet %v", g.hits, g.files, g.facets.SectionKinds)
	}
	named := Filter{Section: "calc_*"}
	g = groupWith(named, named)
	if g.hits != 2 {
		t.Errorf("section CALC_*: %d hits", g.hits)
	}
	g = groupWith(Filter{FileKind: "src"}, Filter{})
	if g.files != 1 || len(g.facets.FileKinds) != 2 {
		t.Errorf("kind src: %d files, facet %v", g.files, g.facets.FileKinds)
	}
	g = groupWith(Filter{Package: "zet", File: "zeta"}, Filter{})
	if g.files != 1 || g.hits != 1 {
		t.Errorf("package+file: %d files, %d hits", g.files, g.hits)
	}
	g = groupWith(Filter{Package: "p2"}, Filter{})
	if len(g.packages) != 1 || g.packages[0].first.PackageName != "alpha" {
		t.Errorf("package by id: %d packages", len(g.packages))
	}
}

func TestPassSection(t *testing.T) {
	calc := SectionRef{Ord: 2, Name: "calc_spindle", Kind: SectionCalc}
	for _, tt := range []struct {
		filter string
		ref    SectionRef
		want   bool
	}{
		{"", SectionRef{Ord: -1}, true},
		{"calc", calc, true},
		{"CALC", calc, true},
		{"user", calc, false},
		{"CALC_SPINDLE", calc, true},
		{"calc spindle", calc, true},
		{"CALC_S*", calc, true},
		{"CALC_X*", calc, false},
		{"CALC_SPINDLE", SectionRef{Ord: -1}, false},
		{"none", SectionRef{Ord: -1}, false},
	} {
		if got := (Filter{Section: tt.filter}).passSection(tt.ref); got != tt.want {
			t.Errorf("section filter %q on %+v = %v", tt.filter, tt.ref, got)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, n := range []int{0, 20, 12345} {
		got, err := decodeCursor(encodeCursor(n))
		if err != nil || got != n {
			t.Errorf("cursor %d → %d, %v", n, got, err)
		}
	}
	for _, bad := range []string{"x", "bzp4", encodeCursor(-1)} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
