package upg

import (
	"bufio"
	"bytes"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/testenv"
)

// run executes op b.N times and reports MB/s, allocations, CPU ns/op and
// the bytes allocated per input byte (issue 8's parser target is ≤ 5). It
// returns the CPU time per op.
func run(b *testing.B, size int, op func()) time.Duration {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0 := testenv.CPUTime()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	c1 := testenv.CPUTime()
	runtime.ReadMemStats(&m1)
	if n == 0 {
		return 0
	}
	perOp := (c1 - c0) / time.Duration(n)
	b.ReportMetric(float64(perOp.Nanoseconds()), "cpu-ns/op")
	if size > 0 {
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(n)/float64(size), "B/in-byte")
	}
	return perOp
}

// largestSources returns the n largest corpus source files.
func largestSources(b *testing.B, n int) []corpusFile {
	fs := corpusSources(b)
	sort.Slice(fs, func(i, j int) bool { return len(fs[i].Src) > len(fs[j].Src) })
	if len(fs) > n {
		fs = fs[:n]
	}
	return fs
}

type lineSpan struct{ off, end int32 }

// splitLines is the baseline: it only splits the bytes into lines (the
// least any line-oriented reader must do) and records each line's span.
func splitLines(src []byte, lines []lineSpan) []lineSpan {
	lines = lines[:0]
	pos := 0
	for pos < len(src) {
		i := bytes.IndexByte(src[pos:], '\n')
		end := len(src)
		if i >= 0 {
			end = pos + i + 1
		}
		lines = append(lines, lineSpan{int32(pos), int32(end)})
		pos = end
	}
	return lines
}

// scanLines is the reference reader of issue 8's throughput target: a
// bufio.Scanner splitting the bytes into lines, as a plain line-by-line
// reader of the file would. It returns the number of lines.
func scanLines(src []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), len(src)+1)
	n := 0
	for sc.Scan() {
		n++
	}
	return n
}

// BenchmarkBaselineScanner line-scans the largest corpus files with a
// bufio.Scanner: Parse's throughput target is ≥ 10 % of this.
func BenchmarkBaselineScanner(b *testing.B) {
	for _, f := range largestSources(b, 2) {
		b.Run(f.Rel, func(b *testing.B) {
			n := 0
			run(b, len(f.Src), func() { n = scanLines(f.Src) })
			if n == 0 {
				b.Fatal("no lines")
			}
		})
	}
}

// BenchmarkBaselineSplitLines splits the largest corpus files into lines.
func BenchmarkBaselineSplitLines(b *testing.B) {
	for _, f := range largestSources(b, 2) {
		b.Run(f.Rel, func(b *testing.B) {
			var lines []lineSpan
			run(b, len(f.Src), func() { lines = splitLines(f.Src, nil) })
			_ = lines
		})
	}
}

// BenchmarkTokenize lexes the largest corpus files (the highlighting path).
func BenchmarkTokenize(b *testing.B) {
	for _, f := range largestSources(b, 2) {
		b.Run(f.Rel, func(b *testing.B) {
			run(b, len(f.Src), func() { Tokenize(f.Src) })
		})
	}
}

// BenchmarkParse parses the largest corpus files into the full tree. Next
// to the usual numbers it reports "scanner-%": Parse's throughput as a
// percentage of a bufio.Scanner line scan of the same bytes, both in CPU
// time (the machine is shared, so wall time is noisier), the scanner timed
// right after the parse loop (issue 8's target is ≥ 10).
func BenchmarkParse(b *testing.B) {
	for _, f := range largestSources(b, 2) {
		b.Run(f.Rel, func(b *testing.B) {
			parse := run(b, len(f.Src), func() { Parse(f.Rel, f.Src) })
			const rounds = 200
			runtime.GC() // the parse loop's garbage is not the scanner's cost
			c0 := testenv.CPUTime()
			for range rounds {
				scanLines(f.Src)
			}
			if scan := (testenv.CPUTime() - c0) / rounds; parse > 0 {
				b.ReportMetric(100*float64(scan)/float64(parse), "scanner-%")
			}
		})
	}
}
