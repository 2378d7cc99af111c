package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

func fixture(t testing.TB, dir string) []Input {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Input
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Input{Name: e.Name(), Data: data})
	}
	return out
}

// TestAnalyze checks what the analysis derives from a small package: an
// unclosed IF in the .SRC, a resolved and a missing library, symbols across
// files, and metadata from the attributes.
func TestAnalyze(t *testing.T) {
	res := Analyze(fixture(t, filepath.Join("testdata", "shop")))
	byName := map[string]FileEntry{}
	for _, f := range res.Files {
		byName[f.Name] = f
	}
	src, lib := byName["SHOP.SRC"], byName["SHOP.LIB"]

	if src.Kind != upg.KindSRC || lib.Kind != upg.KindLIB || src.Reader != ReaderUPG || src.ParserVersion != ParserVersion || src.Role != "main" || lib.Role != "library" {
		t.Fatalf("kinds %s/%s, reader %s, parser version %s, roles %s/%s", src.Kind, lib.Kind, src.Reader, src.ParserVersion, src.Role, lib.Role)
	}
	if src.ControlFamily != "FANUCM" || src.System != "MILL" || src.LineCount != 18 {
		t.Errorf("SRC facts: family %q system %q lines %d", src.ControlFamily, src.System, src.LineCount)
	}
	if src.ErrorCount == 0 || len(src.Diagnostics) == 0 || src.Diagnostics[0].File != "SHOP.SRC" {
		t.Errorf("the unclosed IF in SHOP.SRC is not an error of that file: %+v", src.Diagnostics)
	}
	if lib.ErrorCount != 0 {
		t.Errorf("SHOP.LIB has errors: %+v", lib.Diagnostics)
	}
	if src.Outline == nil || src.Outline.File != "" {
		t.Errorf("the outline must be there, without the file name (contents are shared): %+v", src.Outline)
	}
	if len(src.Sections) != 2 || src.Sections[0].Kind != "system" || src.Sections[1].Kind != "calc" || src.Sections[0].StartLine != 13 || len(src.Sections[0].ContentHash) != 16 {
		t.Errorf("sections: %+v", src.Sections)
	}
	if a := lib.Outline.Attributes; len(a) != 1 || a[0].Canonical != "SHOP_FLAG" || a[0].VType != "INTEGER" {
		t.Errorf("attributes: %+v", a)
	}
	count := func(f *File, canonical, role string) int {
		n := 0
		for _, g := range f.Symbols() {
			if g.Canonical == canonical {
				for _, o := range g.Occurrences {
					if o.Role == role {
						n++
					}
				}
			}
		}
		return n
	}
	if count(lib.File, "SHOP_FLAG", RoleDefinition) != 1 || count(src.File, "SHOP_FLAG", RoleReference) != 1 || count(lib.File, "SHOP_FLAG", RoleReference) != 1 {
		t.Errorf("SHOP_FLAG symbols: SRC %+v LIB %+v", src.Symbols(), lib.Symbols())
	}
	if count(src.File, "CALC_SHOP_HELPER", RoleReference) != 1 || count(lib.File, "CALC_SHOP_HELPER", RoleDefinition) != 1 {
		t.Errorf("CALL(CALC_SHOP_HELPER) not linked to its definition")
	}

	if len(res.Libraries) != 2 {
		t.Fatalf("libraries: %+v", res.Libraries)
	}
	if l := res.Libraries[0]; l.Resolved != "SHOP.LIB" || l.ResolvedSHA256 != lib.SHA256 || l.From != "SHOP.SRC" {
		t.Errorf("SHOP.LIB include: %+v", l)
	}
	if l := res.Libraries[1]; l.How != "unresolved" || l.ResolvedSHA256 != "" {
		t.Errorf("MILL.LIB include: %+v", l)
	}
	if m := res.Metadata; m.MachineName != "Shop VMC" || m.ControllerType != "Fanuc 0i" || m.System != "MILL" || m.ControlFamily != "FANUCM" {
		t.Errorf("metadata: %+v", m)
	}
	if res.Summary.Sections != 3 {
		t.Errorf("section count %d, want 3", res.Summary.Sections)
	}
	// Cross-file findings (the missing library) belong to the package, and
	// no file's own diagnostic is repeated there.
	own := map[string]bool{}
	for _, d := range src.Diagnostics {
		own[d.Code+d.Message] = true
	}
	missing := false
	for _, d := range res.Diagnostics {
		if own[d.Code+d.Message] {
			t.Errorf("a package diagnostic repeats a file diagnostic: %+v", d)
		}
		if d.File == "SHOP.SRC" && d.Severity == upg.SeverityWarning {
			missing = true
		}
	}
	if !missing {
		t.Errorf("no warning for the missing MILL.LIB: %+v", res.Diagnostics)
	}
	if res.Summary.Errors != src.ErrorCount || res.Summary.Warnings < 1 {
		t.Errorf("summary counts %+v", res.Summary)
	}

	// Pure: the same bytes give the same result.
	a, _ := json.Marshal(res)
	b, _ := json.Marshal(Analyze(fixture(t, filepath.Join("testdata", "shop"))))
	if string(a) != string(b) {
		t.Error("Analyze is not deterministic")
	}
}

// BenchmarkAnalyze measures the parsing stage's CPU work for the largest
// corpus package: analyse every file and resolve the package.
func BenchmarkAnalyze(b *testing.B) {
	var inputs []Input
	size := 0
	for _, p := range testenv.CorpusPackages(b) {
		n := 0
		for _, f := range p.Files {
			n += len(f.Data)
		}
		if n > size {
			size, inputs = n, nil
			for _, f := range p.Files {
				inputs = append(inputs, Input{Name: f.Name, Data: f.Data})
			}
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for range b.N {
		Analyze(inputs)
	}
}
