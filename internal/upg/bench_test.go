package upg

import (
	"bytes"
	"sort"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. Benchmarks report it per
// operation next to ns/op because the machine they run on is shared: wall
// time per op inflates with other load, CPU time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run executes op b.N times and reports MB/s, allocations and CPU ns/op.
func run(b *testing.B, size int, op func()) {
	b.ReportAllocs()
	b.SetBytes(int64(size))
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(n), "cpu-ns/op")
	}
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

// BenchmarkParse parses the largest corpus files into the full tree.
func BenchmarkParse(b *testing.B) {
	for _, f := range largestSources(b, 2) {
		b.Run(f.Rel, func(b *testing.B) {
			run(b, len(f.Src), func() { Parse(f.Rel, f.Src) })
		})
	}
}
