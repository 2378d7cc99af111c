package search

import (
	"reflect"
	"testing"
)

// groupFixture: content s1 (a library shared by two packages) has a
// definition in a calc section and a use outside sections; content s2 (P1's
// own source) has a comment hit.
func groupFixture() (map[int64][]hit, []FileRow) {
	calc := SectionRef{Ord: 0, Name: "CALC_X", Kind: SectionCalc, StartLine: 1, EndLine: 9}
	none := SectionRef{Ord: -1}
	h := func(doc int64, sha string, n int, score float64, role string, sec SectionRef) hit {
		return hit{row: &LineRow{DocID: doc, SHA256: sha, N: n, Section: sec}, score: lineScore{score: score, role: role}, line: score}
	}
	byDoc := map[int64][]hit{
		1: {h(1, "s1", 5, 1, RoleUse, none), h(1, "s1", 2, 3, RoleDefinition, calc)},
		2: {h(2, "s2", 7, 0.2, RoleComment, none)},
	}
	files := []FileRow{
		{DocID: 1, FileID: "f1", Filename: "MILL.LIB", Version: 1, Latest: true, PackageID: "p1", PackageName: "Zeta", Machine: "Mill A", Platform: "camworks"},
		{DocID: 2, FileID: "f2", Filename: "ZETA.SRC", Version: 1, Latest: true, PackageID: "p1", PackageName: "Zeta", Machine: "Mill A", Platform: "camworks"},
		{DocID: 1, FileID: "f3", Filename: "MILL.LIB", Version: 2, Latest: true, PackageID: "p2", PackageName: "alpha", Machine: "", Platform: "camworks"},
	}
	return byDoc, files
}

func TestGroup(t *testing.T) {
	byDoc, files := groupFixture()
	g := group(Filter{}, byDoc, files)
	if len(g.packages) != 2 || g.files != 3 || g.hits != 5 {
		t.Fatalf("%d packages, %d files, %d hits", len(g.packages), g.files, g.hits)
	}
	// Equal best scores: more hits first (Zeta: 3 hits), then the name.
	if g.packages[0].first.PackageName != "Zeta" || g.packages[1].first.PackageName != "alpha" {
		t.Errorf("order %s, %s", g.packages[0].first.PackageName, g.packages[1].first.PackageName)
	}
	if fs := g.packages[0].files; fs[0].row.Filename != "MILL.LIB" || fs[0].hits[0].row.N != 2 {
		t.Errorf("best file or hit out of order: %+v", fs[0])
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
	g = group(Filter{Machine: NotSet}, byDoc, files)
	if len(g.packages) != 1 || g.packages[0].first.PackageID != "p2" || len(g.facets.Machines) != 2 {
		t.Errorf("machine not set: %d packages, machine facet %v", len(g.packages), g.facets.Machines)
	}
	g = group(Filter{Section: "calc"}, byDoc, files)
	if g.hits != 2 || g.files != 2 || !reflect.DeepEqual(g.facets.SectionKinds, want.SectionKinds) {
		t.Errorf("section calc: %d hits, %d files, facet %v", g.hits, g.files, g.facets.SectionKinds)
	}
	g = group(Filter{Section: "calc_*"}, byDoc, files)
	if g.hits != 2 {
		t.Errorf("section CALC_*: %d hits", g.hits)
	}
	g = group(Filter{FileKind: "src"}, byDoc, files)
	if g.files != 1 || len(g.facets.FileKinds) != 2 {
		t.Errorf("kind src: %d files, facet %v", g.files, g.facets.FileKinds)
	}
	g = group(Filter{Package: "zet", File: "zeta"}, byDoc, files)
	if g.files != 1 || g.hits != 1 {
		t.Errorf("package+file: %d files, %d hits", g.files, g.hits)
	}
	g = group(Filter{Package: "p2"}, byDoc, files)
	if len(g.packages) != 1 || g.packages[0].first.PackageName != "alpha" {
		t.Errorf("package by id: %d packages", len(g.packages))
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
