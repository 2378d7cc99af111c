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
