package upg

import (
	"os"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

var zzSrc, _ = os.ReadFile("/work/shared/corpus/tormach-pcnc1100/MILL.LIB")
var zzStarts, zzEnds []int

func zzInit() {
	if zzStarts != nil {
		return
	}
	f := Parse("MILL.LIB", zzSrc)
	for li := range f.Lines {
		for _, tk := range f.LineTokens(li + 1) {
			if tk.Kind == TokVariable || tk.Kind == TokKeyword || tk.Kind == TokFunction || tk.Kind == TokAttrCommand {
				s := int(tk.Offset)
				if tk.Kind == TokAttrCommand {
					s++
				}
				zzStarts = append(zzStarts, s)
				zzEnds = append(zzEnds, int(f.Lines[li].End))
			}
		}
	}
}

var zzSink int

func zzRun(b *testing.B, op func()) {
	zzInit()
	c0 := testenv.CPUTime()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	b.ReportMetric(float64((testenv.CPUTime()-c0).Nanoseconds())/float64(n)/float64(len(zzStarts)), "cpu-ns/name")
}

func BenchmarkZZIdentScan(b *testing.B) {
	zzRun(b, func() {
		for i, s := range zzStarts {
			e, h, l := identScan(zzSrc, s, zzEnds[i])
			zzSink += e + int(h) + int(l)
		}
	})
}

func BenchmarkZZIdentTable(b *testing.B) {
	zzRun(b, func() {
		for i, s := range zzStarts {
			e := s
			for e < zzEnds[i] && isIdentByte(zzSrc[e]) {
				e++
			}
			zzSink += e
		}
	})
}

func BenchmarkZZNameInfo(b *testing.B) {
	fastTables()
	zzRun(b, func() {
		for i, s := range zzStarts {
			e, h, l := identScan(zzSrc, s, zzEnds[i])
			zzSink += int(nameInfoOf(zzSrc[s:e], h, l))
		}
	})
}
