package upg

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// findCorpus locates ../shared/corpus next to the module root (the
// directory holding go.mod), walking up from the working directory.
func findCorpus() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if st, err := os.Stat(c); err != nil || !st.IsDir() {
		return c, false
	}
	return c, true
}

// corpusDir returns the corpus directory, or skips the test with a loud
// message when it is absent.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	c, ok := findCorpus()
	if !ok {
		tb.Skipf("!!!!! SKIPPED: the real-post corpus (../shared/corpus next to the module root, looked for %q) is not present; corpus tests did NOT run !!!!!", c)
	}
	return c
}

type corpusFile struct {
	Rel  string // package/file
	Path string
	Src  []byte
}

// corpusFiles returns every file of the corpus (all packages), sorted.
func corpusFiles(tb testing.TB) []corpusFile {
	root := corpusDir(tb)
	var out []corpusFile
	pkgs, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range pkgs {
		if !p.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, p.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			path := filepath.Join(root, p.Name(), f.Name())
			src, err := os.ReadFile(path)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, corpusFile{Rel: p.Name() + "/" + f.Name(), Path: path, Src: src})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}

// corpusSources returns the UPG source files (.SRC, .LIB, .ATR) of the corpus.
func corpusSources(tb testing.TB) []corpusFile {
	var out []corpusFile
	for _, f := range corpusFiles(tb) {
		if KindOf(f.Rel).IsSource() {
			out = append(out, f)
		}
	}
	return out
}
