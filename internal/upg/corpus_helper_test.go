package upg

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

// corpusDir returns the corpus directory, or skips the test with a loud
// message when it is absent.
func corpusDir(tb testing.TB) string { return testenv.CorpusDir(tb) }

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
