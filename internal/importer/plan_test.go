package importer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/importer"
	"github.com/veripost/veripost/internal/importer/importertest"
)

func TestMakePlan(t *testing.T) {
	root := importertest.BuildShare(t)
	// Unreadable by permissions too, where that works (not as root).
	if os.Geteuid() != 0 {
		if err := os.WriteFile(filepath.Join(root, "Mill", "GRBL", "LOCKED.LNG"), []byte("x"), 0o000); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := importer.MakePlan(os.DirFS(root), importer.Options{MaxFileBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, p := range plan.Packages {
		for _, f := range p.Files {
			got[p.Name] = append(got[p.Name], f.Name)
			if f.SHA256 == "" || f.Size == 0 {
				t.Errorf("%s: %s has no content facts", p.Name, f.Name)
			}
		}
	}
	for name, files := range importertest.Expected {
		if !slices.Equal(got[name], files) {
			t.Errorf("package %s: files %v, want %v", name, got[name], files)
		}
	}
	if len(got) != len(importertest.Expected) {
		t.Errorf("%d packages, want %d: %v", len(got), len(importertest.Expected), got)
	}
	skipped := map[string]string{}
	for _, s := range plan.Skipped {
		skipped[s.Path] = s.Reason
	}
	for p, why := range importertest.Skipped {
		if !strings.Contains(skipped[p], why) {
			t.Errorf("%s: skipped with %q, want a reason with %q", p, skipped[p], why)
		}
	}
	if os.Geteuid() != 0 && !strings.Contains(skipped["Mill/GRBL/LOCKED.LNG"], "cannot be read") {
		t.Errorf("a file without read permission: %q", skipped["Mill/GRBL/LOCKED.LNG"])
	}
	for _, silent := range []string{".DS_Store", "Mill/Tormach/PCNC 1100/Thumbs.db", "Mill/Tormach/PCNC 1100/desktop.ini"} {
		if _, ok := skipped[silent]; ok {
			t.Errorf("clutter %s should be skipped silently", silent)
		}
	}
	for _, p := range plan.Packages {
		for _, f := range p.Files {
			if f.Name == "LATHE.LIB" && !strings.HasPrefix(f.Via, "named by") {
				t.Errorf("%s: LATHE.LIB attached without saying why", p.Name)
			}
		}
	}
}
