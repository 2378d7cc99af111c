package upg

import (
	"bytes"
	"os"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

// FuzzParse checks that Parse never panics and that its invariants hold for
// any input: byte-exact round trip, contiguous tokens with correct
// positions, every line classified, Tokenize == Parse tokens, node spans
// inside the file. Seeds: the corpus files (small ones whole, every file
// also cut into line-aligned chunks so that mutations stay fast) and the
// testdata fixtures. Run it with
//
//	nice -n 10 go test -run XXX -fuzz FuzzParse -fuzztime 10m ./internal/upg
//
// Crashers land in testdata/fuzz/FuzzParse and become regression tests.
func FuzzParse(f *testing.F) {
	for _, cf := range corpusFilesOrNil(f) {
		if !KindOf(cf.Rel).IsSource() {
			continue
		}
		if len(cf.Src) <= 40<<10 {
			f.Add(cf.Src)
		}
		for _, chunk := range chunks(cf.Src, 3<<10) {
			f.Add(chunk)
		}
	}
	for _, dir := range []string{"testdata/parse", "testdata/diag"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(dir + "/" + e.Name()); err == nil && !bytes.HasPrefix(b, []byte("# lines")) {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file := Parse("fuzz.SRC", src)
		checkInvariants(t, file, src)
		_ = file.Outline()
		_ = file.References()
		_ = file.Tree()
	})
}

// corpusFilesOrNil is corpusFiles without skipping when the corpus is absent
// (the fuzz target then still runs on the fixtures).
func corpusFilesOrNil(f *testing.F) []corpusFile {
	if _, ok := testenv.LookupCorpus(f); !ok {
		f.Log("!!!!! the real-post corpus is not present: fuzzing is seeded with testdata fixtures only !!!!!")
		return nil
	}
	return corpusFiles(f)
}

// chunks cuts src into pieces of about n bytes at line boundaries.
func chunks(src []byte, n int) [][]byte {
	var out [][]byte
	for len(src) > 0 {
		end := n
		if end >= len(src) {
			out = append(out, src)
			break
		}
		if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(src)
		}
		out = append(out, src[:end])
		src = src[end:]
	}
	return out
}
