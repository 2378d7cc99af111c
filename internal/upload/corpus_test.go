package upload

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
)

// corpusOrSkip returns the shared corpus or skips the test, loudly.
func corpusOrSkip(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	pkgs, dir := corpusPackages(t)
	if len(pkgs) == 0 {
		t.Logf("WARNING: no shared corpus at %s: real-package round trips are NOT tested", dir)
		t.Skipf("SKIPPED: shared corpus not found at %s", dir)
	}
	return pkgs
}

// zipPackage zips a package with nested folders: a top folder with its
// own directory entry, files spread over sub-folders, alternately stored
// and deflated, one under a Windows-style backslash path, and macOS clutter.
func zipPackage(t testing.TB, pkg string, files map[string][]byte) []byte {
	entries := []zent{{name: pkg + "/"}, {name: "__MACOSX/" + pkg + "/._x", data: []byte("junk")}, {name: pkg + "/.DS_Store", data: []byte("junk")}}
	for i, name := range sortedKeys(files) {
		var path string
		switch i % 3 {
		case 0:
			path = pkg + "/" + name
		case 1:
			path = pkg + "/sub/deeper/" + name
		case 2:
			path = pkg + `\win\` + name
		}
		entries = append(entries, zent{name: path, data: files[name], store: i%2 == 1})
	}
	return buildZip(t, entries...)
}

// checkRoundTrip asserts that got holds exactly the files of want, byte
// for byte, with independent sha256, size and extension.
func checkRoundTrip(t *testing.T, got []File, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d files %q, want %d", len(got), names(got), len(want))
	}
	for i, f := range got {
		data, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected file %q", f.Name)
			continue
		}
		if !bytes.Equal(f.Data, data) {
			t.Errorf("%s: content differs (%d bytes, want %d)", f.Name, len(f.Data), len(data))
		}
		sum := sha256.Sum256(data)
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(data)) {
			t.Errorf("%s: sha256 %s size %d, want %x %d", f.Name, f.SHA256, f.Size, sum, len(data))
		}
		if ext := strings.ToUpper(strings.TrimPrefix(filepath.Ext(f.Name), ".")); f.Ext != ext {
			t.Errorf("%s: ext %q, want %q", f.Name, f.Ext, ext)
		}
		if i > 0 && foldName(got[i-1].Name) >= foldName(f.Name) {
			t.Errorf("not sorted: %q before %q", got[i-1].Name, f.Name)
		}
	}
}

// Every file of every corpus package comes back byte-identical, zipped
// with nested folders and as loose files, directly and through multipart.
func TestCorpusRoundTrip(t *testing.T) {
	pkgs := corpusOrSkip(t)
	for _, pkg := range sortedKeys(pkgs) {
		files := pkgs[pkg]
		t.Run(pkg, func(t *testing.T) {
			z := zipPackage(t, pkg, files)
			t.Run("ReadZip", func(t *testing.T) {
				got, err := ReadZip(z, DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				checkRoundTrip(t, got, files)
			})
			t.Run("multipart zip", func(t *testing.T) {
				up, err := ReadMultipart(mpReader(t, fieldPart("name", pkg), filePart("files", pkg+".zip", z)), DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				if !up.FromZip || up.Fields["name"] != pkg {
					t.Errorf("FromZip %v fields %q", up.FromZip, up.Fields)
				}
				checkRoundTrip(t, up.Files, files)
			})
			var loose []Named
			var parts []mpart
			for _, name := range sortedKeys(files) {
				loose = append(loose, Named{Name: name, Data: files[name]})
				parts = append(parts, filePart("files", name, files[name]))
			}
			t.Run("ReadLooseFiles", func(t *testing.T) {
				got, err := ReadLooseFiles(loose, DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				checkRoundTrip(t, got, files)
			})
			t.Run("multipart loose", func(t *testing.T) {
				up, err := ReadMultipart(mpReader(t, parts...), DefaultLimits())
				if err != nil {
					t.Fatal(err)
				}
				if up.FromZip {
					t.Error("FromZip")
				}
				checkRoundTrip(t, up.Files, files)
			})
		})
	}
}

// The default ratio limit keeps a wide margin over real post files, even
// at the best Deflate level.
func TestCorpusCompressionRatios(t *testing.T) {
	pkgs := corpusOrSkip(t)
	worst, worstName := 0.0, ""
	for _, pkg := range sortedKeys(pkgs) {
		for _, name := range sortedKeys(pkgs[pkg]) {
			data := pkgs[pkg][name]
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, flate.BestCompression)
			w.Write(data)
			w.Close()
			r := float64(len(data)) / float64(buf.Len())
			if r > worst {
				worst, worstName = r, pkg+"/"+name
			}
		}
	}
	t.Logf("most compressible corpus file: %s at %.1f:1 (limit %d:1)", worstName, worst, DefaultMaxCompressionRatio)
	if worst*5 > DefaultMaxCompressionRatio {
		t.Errorf("%s compresses %.1f:1, less than 5x below the default limit %d:1", worstName, worst, DefaultMaxCompressionRatio)
	}
}
