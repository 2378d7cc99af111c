package analysis_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

// TestCorpusPrecision: every warning and error on every corpus package is
// listed in testdata/corpus-warnings.tsv with a reviewed reason it is right.
// A finding not listed fails (a new false warning, or a true one to review
// and add); so does a listed row that no longer occurs (keep the file true).
func TestCorpusPrecision(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	f, err := os.Open("testdata/corpus-warnings.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 6 || strings.TrimSpace(cols[5]) == "" {
			t.Fatalf("corpus-warnings.tsv line %d: want package, file, line, col, code and a reason", n)
		}
		listed[strings.Join(cols[:5], "\t")] = true
	}
	found := 0
	for _, p := range pkgs {
		var in []analysis.Input
		for _, f := range p.Files {
			in = append(in, analysis.Input{Name: f.Name, Data: f.Data})
		}
		res := analysis.Analyze(in)
		var all []upg.Diagnostic
		for _, fe := range res.Files {
			all = append(all, fe.Diagnostics...)
		}
		all = append(all, res.Diagnostics...)
		for _, d := range all {
			if d.Severity == upg.SeverityInfo {
				continue
			}
			found++
			key := fmt.Sprintf("%s\t%s\t%d\t%d\t%s", p.Name, d.File, d.Line, d.Col, d.Code)
			if !listed[key] {
				t.Errorf("not reviewed: %s %s\n  add it to testdata/corpus-warnings.tsv with the reason it is right, or fix the false warning", key, d.Message)
				continue
			}
			delete(listed, key)
		}
	}
	for k := range listed {
		t.Errorf("listed in corpus-warnings.tsv but no longer reported: %s (remove the row)", k)
	}
	t.Logf("%d warnings and errors on %d corpus packages, all reviewed", found, len(pkgs))
}
