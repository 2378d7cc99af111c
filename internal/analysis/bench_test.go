package analysis

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

// BenchmarkStoredFacts compares what the write path does for content it
// has seen before (unpack the stored facts) with parsing it again.
func BenchmarkStoredFacts(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testenv.CorpusDir(b), "tormach-pcnc1100", "MILL.LIB"))
	if err != nil {
		b.Fatal(err)
	}
	f := AnalyzeFile("MILL.LIB", data)
	p, err := Pack(f)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			upg.Parse("MILL.LIB", data)
		}
	})
	b.Run("analyze", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			AnalyzeFile("MILL.LIB", data)
		}
	})
	b.Run("unpack-facts", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportMetric(float64(len(p.Facts)), "stored-bytes")
		for i := 0; i < b.N; i++ {
			var f File
			if err := Unpack(&f, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPack compares storing an analysis (and reading it back) in the
// current format with the flate format stored before, over a library and
// a post of the corpus: what ingestion pays per new content, and what the
// write path and the source page pay per stored one.
func BenchmarkPack(b *testing.B) {
	dir := testenv.CorpusDir(b)
	for _, name := range []string{"tormach-pcnc1100/MILL.LIB", "lathe-generic-fanuc/GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES.SRC"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Skipf("!!!!! %s is not in the corpus: %v", name, err)
		}
		f := AnalyzeFile(filepath.Base(name), data)
		for _, way := range []struct {
			name string
			pack func(*File) (Packed, error)
		}{{"flate-v1", packV1}, {"zstd-columns", Pack}} {
			p, err := way.pack(f)
			if err != nil {
				b.Fatal(err)
			}
			stored := float64(len(p.Facts) + len(p.Display) + len(p.Tokens))
			b.Run(filepath.Base(name)+"/"+way.name+"/pack", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportMetric(stored, "stored-bytes")
				for i := 0; i < b.N; i++ {
					if _, err := way.pack(f); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(filepath.Base(name)+"/"+way.name+"/unpack", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportMetric(stored, "stored-bytes")
				for i := 0; i < b.N; i++ {
					var g File
					if err := Unpack(&g, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
