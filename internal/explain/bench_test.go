package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

// tormach loads the corpus package with the 300 KB MILL.LIB.
func tormach(b *testing.B) []Input {
	b.Helper()
	for _, p := range testenv.CorpusPackages(b) {
		if p.Name == "tormach-pcnc1100" {
			var in []Input
			for _, f := range p.Files {
				in = append(in, Input{Name: f.Name, Data: f.Data})
			}
			return in
		}
	}
	b.Fatal("corpus package tormach-pcnc1100 not found")
	return nil
}

// BenchmarkSectionMILLLIB explains the sections of MILL.LIB one after the
// other (one op = one section). Besides the mean it reports the slowest
// section: for each section the fastest of its runs (so that a pause of a
// busy machine does not count as the section's cost), and the maximum of
// those. Target: every section ≤ 20 ms.
func BenchmarkSectionMILLLIB(b *testing.B) {
	p := Analyze(tormach(b))
	f := p.File("MILL.LIB")
	if f == nil || len(f.Sections) < 100 {
		b.Fatal("MILL.LIB not parsed")
	}
	best := make([]time.Duration, len(f.Sections))
	i := 0
	for b.Loop() {
		k := i % len(f.Sections)
		start := time.Now()
		e := p.explainSection(f, f.Sections[k], 0, 0)
		if d := time.Since(start); best[k] == 0 || d < best[k] {
			best[k] = d
		}
		if len(e.Parts) == 0 {
			b.Fatal("empty explanation")
		}
		i++
	}
	var slowest time.Duration
	name := ""
	for k, d := range best {
		if d > slowest {
			slowest, name = d, f.Sections[k].Name
		}
	}
	b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms/section")
	b.Logf("%d sections of MILL.LIB; the slowest, %s, takes %v", len(f.Sections), name, slowest)
}

// BenchmarkSectionByName explains a large, much-called section through the
// public entry point (name lookup included).
func BenchmarkSectionByName(b *testing.B) {
	p := Analyze(tormach(b))
	for b.Loop() {
		if _, err := p.Section("MILL.LIB", "CALC_INIT_TOOL_CHANGE_MILL"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverview explains the whole Tormach package, given its analysis.
// Target: ≤ 100 ms.
func BenchmarkOverview(b *testing.B) {
	p := Analyze(tormach(b))
	for b.Loop() {
		if e := p.Overview(); len(e.Parts) < 5 {
			b.Fatal("short overview")
		}
	}
}

// BenchmarkOverviewCold parses, resolves and indexes the package, then
// explains it: what a request costs when the analysis is not cached.
func BenchmarkOverviewCold(b *testing.B) {
	in := tormach(b)
	for b.Loop() {
		if e := Analyze(in).Overview(); len(e.Parts) < 5 {
			b.Fatal("short overview")
		}
	}
}

// BenchmarkAnalyze is the parse + resolve + index step alone.
func BenchmarkAnalyze(b *testing.B) {
	in := tormach(b)
	for b.Loop() {
		Analyze(in)
	}
}

// BenchmarkSectionWorstMILLLIB explains the MILL.LIB section with the most
// statements, the worst case for the step-by-step part.
func BenchmarkSectionWorstMILLLIB(b *testing.B) {
	p := Analyze(tormach(b))
	f := p.File("MILL.LIB")
	worst := f.Sections[0]
	for _, s := range f.Sections {
		if s.EndLine-s.StartLine > worst.EndLine-worst.StartLine && s.Calc {
			worst = s
		}
	}
	b.Logf("worst case: %s (%d lines)", worst.Name, worst.EndLine-worst.StartLine+1)
	for b.Loop() {
		p.explainSection(f, worst, 0, 0)
	}
}

// BenchmarkLinesMILLLIB explains the longest range the API accepts (2,000
// lines) in the part of MILL.LIB with the most sections.
func BenchmarkLinesMILLLIB(b *testing.B) {
	p := Analyze(tormach(b))
	for b.Loop() {
		if _, err := p.Lines("MILL.LIB", 5000, 5000+MaxLines-1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex is the explainer's own share of Analyze: indexing an
// already resolved package.
func BenchmarkIndex(b *testing.B) {
	p := Analyze(tormach(b))
	for b.Loop() {
		New(p.res, p.files)
	}
}

// BenchmarkChangeTormach compares the Tormach package with an edited copy
// (a changed output line, a changed default, a removed section) and
// explains the change: the whole ChangeOf, diff and both analyses
// included, as the API runs it for "Explain this change".
func BenchmarkChangeTormach(b *testing.B) {
	in := tormach(b)
	a, bs := diff.Side{Label: "A"}, diff.Side{Label: "B"}
	for _, f := range in {
		a.Files = append(a.Files, diff.File{Name: f.Name, Data: f.Data})
		data := f.Data
		if upg.KindOf(f.Name) == upg.KindSRC {
			s := string(data)
			s = strings.Replace(s, "<M:06>", "<M:06><M:08>", 1)
			s = strings.Replace(s, ":ATTRDEFAULT=1", ":ATTRDEFAULT=2", 1)
			data = []byte(s)
		}
		bs.Files = append(bs.Files, diff.File{Name: f.Name, Data: data})
	}
	for b.Loop() {
		r, e := ChangeOf(a, bs, diff.Options{})
		if r.Identical || len(e.Sentences()) < 2 {
			b.Fatalf("no change found: %s", r.Summary)
		}
	}
}
