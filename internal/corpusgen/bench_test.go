package corpusgen

import (
	"testing"
	"time"

	"github.com/veripost/veripost/internal/testenv"
)

// BenchmarkGenerate generates packages from the shared corpus and reports
// packages per second, the average package size and how many of those
// bytes are new (files that are not shared unchanged with the corpus).
func BenchmarkGenerate(b *testing.B) {
	corpus := realCorpus(b)
	shared := map[*byte]bool{} // first byte of every corpus file: unchanged files share it
	for _, p := range corpus {
		for _, f := range p.Files {
			if len(f.Data) > 0 {
				shared[&f.Data[0]] = true
			}
		}
	}
	g := New(corpus, 1)
	var total, fresh int64
	n := 0
	b.ReportAllocs()
	var start time.Time
	var cpu0 time.Duration
	for b.Loop() {
		if n == 0 {
			start, cpu0 = time.Now(), testenv.CPUTime()
		}
		p := g.Next()
		for _, f := range p.Files {
			total += int64(len(f.Data))
			if len(f.Data) > 0 && !shared[&f.Data[0]] {
				fresh += int64(len(f.Data))
			}
		}
		n++
	}
	elapsed, cpu := time.Since(start), testenv.CPUTime()-cpu0
	b.ReportMetric(float64(n)/elapsed.Seconds(), "pkgs/s")
	b.ReportMetric(float64(n)/cpu.Seconds(), "pkgs/cpu-s")
	b.ReportMetric(float64(total)/float64(n), "bytes/pkg")
	b.ReportMetric(float64(fresh)/float64(n), "new-bytes/pkg")
}

// BenchmarkNewGenerator measures the one-time analysis of the corpus.
func BenchmarkNewGenerator(b *testing.B) {
	corpus := realCorpus(b)
	for b.Loop() {
		New(corpus, 1)
	}
}
