package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/testenv"
)

func fixture(t *testing.T, dir string) []FileContent {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []FileContent
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out = append(out, FileContent{File: catalog.File{ID: "id-" + e.Name(), Filename: e.Name(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}, Data: data})
	}
	return out
}

// TestAnalyze checks the rows Analyze derives from a small package: an
// unclosed IF in the .SRC, a resolved and a missing library, symbols across
// files, and metadata from the attributes.
func TestAnalyze(t *testing.T) {
	files := fixture(t, filepath.Join("testdata", "shop"))
	results, v := Analyze("v1", "pv", files)
	byName := map[string]index.FileResult{}
	for i, f := range files {
		byName[f.Filename] = results[i]
	}
	src, lib := byName["SHOP.SRC"], byName["SHOP.LIB"]

	if src.Kind != "src" || lib.Kind != "lib" || src.ParserVersion != "pv" || src.SHA256 != files[1].SHA256 && src.SHA256 != files[0].SHA256 {
		t.Fatalf("kinds %s/%s, parser version %s", src.Kind, lib.Kind, src.ParserVersion)
	}
	if src.ControlFamily != "FANUCM" || src.System != "MILL" || src.LineCount != 18 {
		t.Errorf("SRC facts: family %q system %q lines %d", src.ControlFamily, src.System, src.LineCount)
	}
	if src.ErrorCount == 0 {
		t.Errorf("the unclosed IF in SHOP.SRC is not an error: %+v", src.Diagnostics)
	}
	if lib.ErrorCount != 0 {
		t.Errorf("SHOP.LIB has errors: %+v", lib.Diagnostics)
	}
	var outline map[string]any
	if err := json.Unmarshal(src.Outline, &outline); err != nil || outline["file"] != "" {
		t.Errorf("outline must be valid JSON without the file name: %v %v", err, outline["file"])
	}
	if len(src.Sections) != 2 || src.Sections[0].Kind != "system" || src.Sections[1].Kind != "calc" || src.Sections[0].StartLine != 13 {
		t.Errorf("sections: %+v", src.Sections)
	}
	if len(lib.Attributes) != 1 || lib.Attributes[0].Canonical != "SHOP_FLAG" || lib.Attributes[0].VType != "INTEGER" {
		t.Errorf("attributes: %+v", lib.Attributes)
	}
	count := func(r index.FileResult, canonical, role string) int {
		n := 0
		for _, s := range r.Symbols {
			if s.Canonical == canonical && s.Role == role {
				n++
			}
		}
		return n
	}
	if count(lib, "SHOP_FLAG", "definition") != 1 || count(src, "SHOP_FLAG", "reference") != 1 || count(lib, "SHOP_FLAG", "reference") != 1 {
		t.Errorf("SHOP_FLAG symbols: SRC %+v LIB %+v", src.Symbols, lib.Symbols)
	}
	if count(src, "CALC_SHOP_HELPER", "reference") != 1 || count(lib, "CALC_SHOP_HELPER", "definition") != 1 {
		t.Errorf("CALL(CALC_SHOP_HELPER) not linked to its definition")
	}

	if len(v.Libraries) != 2 {
		t.Fatalf("libraries: %+v", v.Libraries)
	}
	if l := v.Libraries[0]; l.ResolvedName != "SHOP.LIB" || l.ResolvedFileID != "id-SHOP.LIB" || l.FileID != "id-SHOP.SRC" {
		t.Errorf("SHOP.LIB include: %+v", l)
	}
	if l := v.Libraries[1]; l.How != "unresolved" || l.ResolvedFileID != "" {
		t.Errorf("MILL.LIB include: %+v", l)
	}
	if v.Metadata.MachineName != "Shop VMC" || v.Metadata.ControllerType != "Fanuc 0i" || v.Metadata.System != "MILL" || v.Metadata.ControlFamily != "FANUCM" {
		t.Errorf("metadata: %+v", v.Metadata)
	}
	if v.SectionCount != 3 {
		t.Errorf("section count %d, want 3", v.SectionCount)
	}
	// Cross-file findings (the missing library) belong to the version, and
	// no per-file diagnostic is repeated there.
	own := map[string]bool{}
	for _, d := range src.Diagnostics {
		own[d.Code+d.Message] = true
	}
	missing := false
	for _, d := range v.Diagnostics {
		if own[d.Code+d.Message] {
			t.Errorf("version diagnostic repeats a file diagnostic: %+v", d)
		}
		if d.FileID == "id-SHOP.SRC" && d.Severity == index.SeverityWarning {
			missing = true
		}
	}
	if !missing {
		t.Errorf("no warning for the missing MILL.LIB: %+v", v.Diagnostics)
	}

	// Pure: the same bytes give the same rows.
	again, v2 := Analyze("v1", "pv", files)
	a, _ := json.Marshal([]any{results, v})
	b, _ := json.Marshal([]any{again, v2})
	if string(a) != string(b) {
		t.Error("Analyze is not deterministic")
	}
}

// BenchmarkAnalyze measures the parsing stage's CPU work for the largest
// corpus package: parse every file, resolve the package, build the rows.
func BenchmarkAnalyze(b *testing.B) {
	var files []FileContent
	size := 0
	for _, p := range testenv.CorpusPackages(b) {
		n := 0
		for _, f := range p.Files {
			n += len(f.Data)
		}
		if n > size {
			size, files = n, nil
			for _, f := range p.Files {
				sum := sha256.Sum256(f.Data)
				files = append(files, FileContent{File: catalog.File{ID: f.Name, Filename: f.Name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(f.Data))}, Data: f.Data})
			}
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for range b.N {
		Analyze("v", "pv", files)
	}
}
