// Package importertest builds, for tests, a file share of post packages
// from the shared corpus: nested folders, mixed-case extensions, a folder
// with two .SRC, libraries kept in a master folder, a duplicate copy, a
// name that differs only in case, clutter, other file types, an archive
// and a file that cannot be read.
package importertest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

// Expected lists the packages the share holds, by name, with their files.
var Expected = map[string][]string{
	"Lathe/Generic/GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES": {"GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES.LIB", "GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES.Src", "LATHE.LIB", "MASTER.ATR"},
	"Lathe/Tutorial/T2AXIS-TUTORIAL":                        {"LATHE.LIB", "T2AXIS-TUTORIAL.LIB", "T2AXIS-TUTORIAL.SRC"},
	"Mill/GRBL/GRBL-Post":                                   {"GRBL-Post.LIB", "GRBL-Post.SRC", "GRBL-Post.ctl", "GRBL-Post.lng", "MILL.LIB"},
	"Mill/Tormach/PCNC 1100/Tormach PCNC1100 Series 3": {"MILL.LIB", "Tormach PCNC1100 Series 3.CNF", "Tormach PCNC1100 Series 3.LIB",
		"Tormach PCNC1100 Series 3.PINF", "Tormach PCNC1100 Series 3.SRC", "Tormach PCNC1100 Series 3.kin", "Tormach PCNC1100 Series 3.lng"},
	"Two/A": {"A.LIB", "A.SRC", "COMMON.ATR", "MILL.LIB"},
	"Two/B": {"B.LIB", "B.SRC", "COMMON.ATR", "MILL.LIB"},
}

// Skipped lists the paths the plan must skip, with a word of the reason.
var Skipped = map[string]string{
	".settings.LIB":                      "hidden",
	"manual.pdf":                         "not a UPG file",
	"archive.zip":                        "archives",
	"Mill/GRBL/notes.txt":                "not a UPG file",
	"Mill/GRBL/GRBL-Post.kin":            "cannot be read",
	"Lathe/Tutorial/t2axis-tutorial.lib": "same name as",
	"Old copies/Generic/GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES.Src": "duplicate",
	"MasterLibraryFiles/UNUSED.LIB":                                  "no package names",
}

// BuildShare writes the share into a new temporary folder and returns it.
func BuildShare(t testing.TB) string {
	t.Helper()
	corpus := testenv.CorpusDir(t)
	root := filepath.Join(t.TempDir(), "Share")
	read := func(pkg, name string) []byte {
		b, err := os.ReadFile(filepath.Join(corpus, pkg, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put := func(rel string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const lg = "lathe-generic-fanuc"
	const gen = "GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES"
	for _, dir := range []string{"Lathe/Generic", "Old copies/Generic"} {
		put(dir+"/"+gen+".Src", read(lg, gen+".SRC"))
		put(dir+"/"+gen+".LIB", read(lg, gen+".LIB"))
		put(dir+"/MASTER.ATR", read(lg, "MASTER.ATR"))
	}
	put("MasterLibraryFiles/LATHE.LIB", read(lg, "LATHE.LIB"))
	put("MasterLibraryFiles/MILL.LIB", read("tormach-pcnc1100", "MILL.LIB"))
	put("MasterLibraryFiles/UNUSED.LIB", []byte("* a library nobody names\r\n"))
	for _, n := range []string{"T2AXIS-TUTORIAL.LIB", "T2AXIS-TUTORIAL.SRC"} {
		put("Lathe/Tutorial/"+n, read("lathe-tutorial", n))
	}
	put("Lathe/Tutorial/t2axis-tutorial.lib", []byte("* the same name in other case\r\n"))
	for _, n := range []string{"GRBL-Post.LIB", "GRBL-Post.SRC", "GRBL-Post.ctl", "GRBL-Post.lng"} {
		put("Mill/GRBL/"+n, read("grbl-post", n))
	}
	for _, n := range []string{"MILL.LIB", "Tormach PCNC1100 Series 3.CNF", "Tormach PCNC1100 Series 3.LIB", "Tormach PCNC1100 Series 3.PINF",
		"Tormach PCNC1100 Series 3.SRC", "Tormach PCNC1100 Series 3.kin", "Tormach PCNC1100 Series 3.lng"} {
		put("Mill/Tormach/PCNC 1100/"+n, read("tormach-pcnc1100", n))
	}
	put("Two/A.SRC", read("scl-sw-grbl", "SCL-SW-GRBL-1_1.SRC"))
	put("Two/A.LIB", read("scl-sw-grbl", "SCL-SW-GRBL-1_1.LIB"))
	put("Two/B.SRC", read("grbl-post", "GRBL-Post.SRC"))
	put("Two/B.LIB", read("grbl-post", "GRBL-Post.LIB"))
	put("Two/COMMON.ATR", read(lg, "MASTER.ATR"))
	// Clutter (skipped silently), other types, an archive.
	put(".DS_Store", []byte("x"))
	put(".settings.LIB", []byte("* hidden\r\n"))
	put("Mill/Tormach/PCNC 1100/Thumbs.db", []byte("x"))
	put("Mill/Tormach/PCNC 1100/desktop.ini", []byte("x"))
	put("manual.pdf", []byte("%PDF"))
	put("archive.zip", []byte("PK"))
	put("Mill/GRBL/notes.txt", []byte("notes"))
	// A file that cannot be read, even by root: a link to nothing.
	if err := os.Symlink(filepath.Join(root, "nowhere", "GRBL-Post.kin"), filepath.Join(root, "Mill", "GRBL", "GRBL-Post.kin")); err != nil {
		t.Fatal(err)
	}
	return root
}
