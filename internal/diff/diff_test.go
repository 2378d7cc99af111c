package diff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// readSide reads every file of a folder as one side.
func readSide(t testing.TB, dir string) Side {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := Side{Label: filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)}
	for _, e := range es {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s.Files = append(s.Files, File{Name: e.Name(), Data: data})
	}
	return s
}

func render(t testing.TB, r *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{Hunks: true, Statements: true}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/diff -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file %s (go test ./internal/diff -run TestGolden -update rewrites it):\n--- got\n%s", name, p, got)
	}
}

func statuses[T any](items []T, f func(T) string) []string {
	var out []string
	for _, it := range items {
		if s := f(it); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestGolden diffs each fixture (one kind of change each) and compares the
// printed result with its golden file; the checks after it say what each
// fixture is for.
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		opt   Options
		check func(t *testing.T, r *Result)
	}{
		{"sections", Options{}, func(t *testing.T, r *Result) {
			got := statuses(r.Semantic.Sections, func(s SectionChange) string { return s.Status })
			if want := []string{Added, Changed, Moved, Removed, Renamed}; !slices.Equal(got, want) {
				t.Errorf("section statuses %v, want %v", got, want)
			}
			for _, s := range r.Semantic.Sections {
				if s.A == nil && s.B == nil {
					t.Errorf("section %s has no lines", s.Name)
				}
				if s.Name == "PROBE_B" && (!s.Renamed || !s.BodyChanged || s.OldName != "PROBE_A" || s.Changed != 1) {
					t.Errorf("PROBE_A → PROBE_B should be renamed with one statement changed: %+v", s)
				}
				if s.Name == "CALC_FEED" && (s.ParamsA != "(F)" || s.ParamsB != "(F,SCALE)") {
					t.Errorf("CALC_FEED parameters: %+v", s)
				}
			}
		}},
		{"attributes", Options{}, func(t *testing.T, r *Result) {
			text := render(t, r)
			for _, want := range []string{"ATTRDEFAULT: 2 → 1", "+ ATTRSELSTR #3: Mist", "SELECT=1 CODE: |M03 → |M04",
				"DECIMAL: TRUE → FALSE", "+ ARCS: CENTER", "REG_Y: 2 → 3", "+ OPERLIST #2: work coord"} {
				if !strings.Contains(text, want) {
					t.Errorf("result lacks %q", want)
				}
			}
		}},
		{"libraries", Options{}, func(t *testing.T, r *Result) {
			got := statuses(r.Semantic.Libraries, func(l LibraryChange) string { return l.Name + " " + l.Status })
			want := []string{"EXTRA.LIB removed", "MILL.LIB path-changed", "PROBE.LIB added", "SHOP.LIB different-variant"}
			if !slices.Equal(got, want) {
				t.Errorf("libraries %v, want %v", got, want)
			}
			for _, l := range r.Semantic.Libraries {
				if l.Status == LibVariant && (len(l.SHA256A) != 64 || len(l.SHA256B) != 64 || l.SHA256A == l.SHA256B) {
					t.Errorf("a different variant needs both SHA-256s: %+v", l)
				}
			}
			refs := statuses(r.Semantic.References, func(s SymbolChange) string { return s.Name + " " + s.Status })
			for _, want := range []string{"PROBE_CYCLE appeared", "OLD_CALC disappeared", "MISSING_SECTION appeared"} {
				if !slices.Contains(refs, want) {
					t.Errorf("references %v lack %q", refs, want)
				}
			}
			defs := statuses(r.Semantic.Definitions, func(s SymbolChange) string { return s.Name + " " + s.Status })
			for _, want := range []string{"PROBE_CYCLE added", "OLD_CALC removed", "EXTRA removed"} {
				if !slices.Contains(defs, want) {
					t.Errorf("definitions %v lack %q", defs, want)
				}
			}
		}},
		{"encoding", Options{}, func(t *testing.T, r *Result) {
			f := r.Files[0]
			if f.Added != 1 || f.Removed != 1 {
				t.Errorf("a Windows-1252 CRLF file against its UTF-8 LF copy with one change shows +%d −%d lines, want +1 −1", f.Added, f.Removed)
			}
			if !slices.Contains(f.Notes, "line endings: CRLF → LF") || !slices.Contains(f.Notes, "encoding: windows-1252 → utf-8") {
				t.Errorf("notes %v", f.Notes)
			}
		}},
		{"comments", Options{}, func(t *testing.T, r *Result) {
			if r.Identical {
				t.Error("comment changes count as differences without the ignore options")
			}
		}},
		{"comments-ignored", Options{IgnoreComments: true, IgnoreWhitespace: true}, func(t *testing.T, r *Result) {
			if !r.Identical || !r.Files[0].Equivalent {
				t.Errorf("only comments and whitespace changed, yet: %s", r.Summary)
			}
		}},
		{"comments-ignore-case-only", Options{IgnoreCase: true}, func(t *testing.T, r *Result) {
			if r.Identical {
				t.Error("ignoring case must not hide comment and whitespace changes")
			}
		}},
		{"files", Options{}, func(t *testing.T, r *Result) {
			got := statuses(r.Files, func(f FileDiff) string { return fileWords(f) })
			for _, want := range []string{"renamed", "added", "removed", "identical", "modified"} {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, want)
				}
				if !found {
					t.Errorf("files %v: no %s file", got, want)
				}
			}
			last := r.Files[len(r.Files)-1]
			if last.Status != StatusIdentical {
				t.Errorf("identical files come last; the last is %s", fileWords(last))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := strings.SplitN(tc.name, "-", 2)[0]
			a := readSide(t, filepath.Join("testdata", dir, "a"))
			b := readSide(t, filepath.Join("testdata", dir, "b"))
			r := Compare(a, b, tc.opt)
			golden(t, tc.name, render(t, r))
			tc.check(t, r)
		})
	}
}

// corpusSide reads one package of the shared corpus.
func corpusSide(t testing.TB, name string) Side {
	t.Helper()
	for _, p := range testenv.CorpusPackages(t) {
		if p.Name == name {
			s := Side{Label: name}
			for _, f := range p.Files {
				s.Files = append(s.Files, File{Name: f.Name, Data: f.Data})
			}
			return s
		}
	}
	t.Fatalf("corpus package %s not found", name)
	return Side{}
}

func findFile(r *Result, bName string) *FileDiff {
	for i := range r.Files {
		if f := &r.Files[i]; f.B != nil && f.B.Name == bName {
			return f
		}
	}
	return nil
}

// TestCorpusGRBL: two GRBL posts that descend from one template; one is
// CRLF, the other LF.
func TestCorpusGRBL(t *testing.T) {
	a, b := corpusSide(t, "grbl-post"), corpusSide(t, "scl-sw-grbl")
	r := Compare(a, b, Options{})
	src := findFile(r, "SCL-SW-GRBL-1_1.SRC")
	if src == nil || src.Status != StatusRenamed || src.A.Name != "GRBL-Post.SRC" {
		t.Fatalf("the two .SRC files are not paired as renamed: %+v", src)
	}
	if !slices.Contains(src.Notes, "line endings: CRLF → LF") {
		t.Errorf("SRC notes %v", src.Notes)
	}
	// CRLF against LF must not show every line as changed.
	if src.Removed > src.A.Lines/2 {
		t.Errorf("%d of %d lines shown as removed", src.Removed, src.A.Lines)
	}
	lng := findFile(r, "SCL-SW-GRBL-1_1.lng")
	if lng == nil || lng.Similarity < 0.9 {
		t.Errorf("the .lng files should pair as near-identical: %+v", lng)
	}
	var tape *SectionChange
	for i, s := range r.Semantic.Sections {
		if s.Name == "START_OF_TAPE" {
			tape = &r.Semantic.Sections[i]
		}
	}
	if tape == nil || tape.Status != Changed || tape.Changed == 0 || tape.A.File != "GRBL-Post.SRC" || tape.B.File != "SCL-SW-GRBL-1_1.SRC" {
		t.Errorf("START_OF_TAPE: %+v", tape)
	}
	libs := statuses(r.Semantic.Libraries, func(l LibraryChange) string { return l.Name + " " + l.Status })
	if !slices.Contains(libs, "SCL-SW-GRBL-1_1.LIB different-variant") {
		t.Errorf("the posts' own libraries (renamed, edited) should be one library in a different variant: %v", libs)
	}
	t.Log(r.Summary)
}

// TestCorpusLathe: two lathe packages that ship the same LATHE.LIB.
func TestCorpusLathe(t *testing.T) {
	a, b := corpusSide(t, "lathe-generic-fanuc"), corpusSide(t, "lathe-tutorial")
	r := Compare(a, b, Options{})
	lathe := findFile(r, "LATHE.LIB")
	if lathe == nil || lathe.Status != StatusIdentical || len(lathe.Hunks) != 0 {
		t.Errorf("LATHE.LIB is the same file in both: %+v", lathe)
	}
	for _, s := range r.Semantic.Sections {
		if s.A != nil && s.A.File == "LATHE.LIB" || s.B != nil && s.B.File == "LATHE.LIB" {
			t.Errorf("a section of the identical LATHE.LIB is listed: %+v", s)
		}
	}
	for _, l := range r.Semantic.Libraries {
		if l.Name == "LATHE.LIB" && l.Status != LibPath {
			t.Errorf("LATHE.LIB is declared by another path, same content: %+v", l)
		}
	}
	if src := findFile(r, "T2AXIS-TUTORIAL.SRC"); src == nil || src.Status != StatusRenamed {
		t.Errorf("the two lathe sources are not paired: %+v", src)
	}
	if !strings.Contains(r.Summary, "MASTER.ATR") && r.Counts.FilesRemoved != 1 {
		t.Errorf("MASTER.ATR is only in the first package: %s", r.Summary)
	}
	t.Log(r.Summary)
}

// sidesForProperties are pairs the property tests run on: the fixtures
// and, when present, the corpus.
func sidesForProperties(t *testing.T) [][2]Side {
	var out [][2]Side
	for _, dir := range []string{"sections", "attributes", "libraries", "encoding", "comments", "files"} {
		out = append(out, [2]Side{readSide(t, filepath.Join("testdata", dir, "a")), readSide(t, filepath.Join("testdata", dir, "b"))})
	}
	if _, ok := testenv.LookupCorpus(t); ok {
		pkgs := testenv.CorpusPackages(t)
		for i := range pkgs {
			for j := range pkgs {
				out = append(out, [2]Side{corpusSide(t, pkgs[i].Name), corpusSide(t, pkgs[j].Name)})
			}
		}
		// MILL.LIB against a copy edited in a few places.
		tor := corpusSide(t, "tormach-pcnc1100")
		for _, f := range tor.Files {
			if f.Name == "MILL.LIB" {
				out = append(out, [2]Side{{Label: "MILL.LIB", Files: []File{f}}, {Label: "edited", Files: []File{{Name: "MILL.LIB", Data: editLibrary(f.Data)}}}})
			}
		}
	} else {
		t.Log("SKIPPING the corpus part: no shared corpus")
	}
	return out
}

// TestSelfDiffIsEmpty: a side compared with itself has no differences.
func TestSelfDiffIsEmpty(t *testing.T) {
	for _, p := range sidesForProperties(t) {
		for _, s := range p {
			r := Compare(s, s, Options{})
			if !r.Identical || r.Counts.LinesAdded+r.Counts.LinesRemoved != 0 || len(r.Semantic.Sections)+len(r.Semantic.Libraries)+len(r.Semantic.References) != 0 {
				t.Errorf("%s against itself: %s", s.Label, r.Summary)
			}
			for _, f := range r.Files {
				if f.Status != StatusIdentical || len(f.Hunks) > 0 {
					t.Errorf("%s against itself: %s", s.Label, fileWords(f))
				}
			}
		}
	}
}

// TestApplyGivesB: applying each file's hunks to its A bytes gives its B
// bytes exactly.
func TestApplyGivesB(t *testing.T) {
	for _, p := range sidesForProperties(t) {
		checkApply(t, p[0], p[1], Compare(p[0], p[1], Options{}))
	}
}

func checkApply(t testing.TB, a, b Side, r *Result) {
	t.Helper()
	data := func(s Side, name string) []byte {
		for _, f := range s.Files {
			if f.Name == name {
				return f.Data
			}
		}
		return nil
	}
	for i := range r.Files {
		fd := &r.Files[i]
		if fd.B == nil || fd.Binary || fd.TooLarge {
			continue
		}
		var before []byte
		if fd.A != nil {
			before = data(a, fd.A.Name)
		}
		got, err := Apply(before, fd)
		want := data(b, fd.B.Name)
		if err != nil {
			t.Errorf("%s → %s, %s: %v", a.Label, b.Label, fd.B.Name, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s → %s, %s: applying the hunks gives %d bytes that differ from B's %d", a.Label, b.Label, fd.B.Name, len(got), len(want))
		}
	}
}

// editLibrary changes a library in a few places: a template line in one
// section, a section removed, a section added, an attribute default.
func editLibrary(src []byte) []byte {
	s := string(src)
	s = strings.Replace(s, ":T:", ":T:(EDITED)", 1)
	if i := strings.Index(s, ":SECTION="); i >= 0 {
		if j := strings.Index(s[i+1:], ":SECTION="); j >= 0 {
			s = s[:i] + s[i+1+j:]
		}
	}
	s = strings.Replace(s, ":ATTRDEFAULT=", ":ATTRDEFAULT=9", 1)
	n := len(s) / 2
	if k := strings.Index(s[n:], "\n:SECTION="); k >= 0 {
		s = s[:n+k+1] + ":SECTION=ADDED_BY_EDIT\n:T:(NEW)<EOL>\n" + s[n+k+1:]
	}
	return []byte(s)
}

// FuzzDiff: any two contents compare without panicking, a content against
// itself is identical, and applying the hunks to A gives B.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(":SECTION=A\n:T:X<EOL>\n"), []byte(":SECTION=A\r\n:T:Y<EOL>\r\n"))
	f.Add([]byte("caf\xe9\r\nline\n"), []byte("café\nline"))
	f.Add([]byte("\x81\x8d\n"), []byte("\x90\x9d\n"))
	f.Add([]byte(""), []byte("\n\n"))
	f.Add([]byte(":ATTRNAME=A\n:ATTRDEFAULT=1\n:ATTREND\n"), []byte(":ATTRNAME=A\n:SELECT=1\n:CODE=|X\n:ATTREND\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 1<<16 || len(b) > 1<<16 {
			return
		}
		sa := Side{Label: "a", Files: []File{{Name: "POST.SRC", Data: a}}}
		sb := Side{Label: "b", Files: []File{{Name: "POST.SRC", Data: b}}}
		if r := Compare(sa, sa, Options{}); !r.Identical {
			t.Fatalf("a content against itself: %s", r.Summary)
		}
		r := Compare(sa, sb, Options{})
		checkApply(t, sa, sb, r)
		if bytes.Equal(a, b) != r.Identical {
			t.Fatalf("identical bytes %v, result identical %v (%s)", bytes.Equal(a, b), r.Identical, r.Summary)
		}
		Compare(sa, sb, Options{IgnoreWhitespace: true, IgnoreCase: true, IgnoreComments: true, Context: -1})
	})
}
