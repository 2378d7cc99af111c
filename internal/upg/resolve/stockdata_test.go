package resolve

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

// vendorPosts are corpus files written by the CAM vendor (a tutorial post):
// names they use without defining are system names too.
var vendorPosts = []string{"T2AXIS-TUTORIAL.SRC", "T2AXIS-TUTORIAL.LIB"}

// TestStockData derives ../stock.tsv (names the vendor's stock libraries use
// without defining) and masteratr.tsv (what the stock MASTER.ATR defines)
// from the corpus and checks the checked-in copies are current. Run with
// -update to rewrite them; rows of stock.tsv marked "reviewed:" are kept.
func TestStockData(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	type used struct{ kind, source string }
	names := map[string]used{}
	master := map[string]string{}
	for _, p := range pkgs {
		var in []Input
		for _, f := range p.Files {
			in = append(in, Input{Name: f.Name, Src: f.Data})
		}
		pkg := Resolve(in)
		for _, d := range pkg.Definitions {
			if strings.EqualFold(upg.BaseName(d.File), "MASTER.ATR") && !upg.IsUserName(d.Name) &&
				(d.Kind == KindOperation || d.Kind == KindAttribute) {
				master[d.Canonical] = d.Kind
			}
		}
		for _, r := range pkg.References {
			base := strings.ToUpper(upg.BaseName(r.File))
			source := ""
			switch {
			case IsStockLibrary(base):
				source = "stock library " + base
			case slices.Contains(vendorPosts, base):
				source = "vendor post " + base
			default:
				continue
			}
			stockRow := false
			if e := upg.Lookup(r.Name); len(e) > 0 && e[0].Source != "" && !strings.HasPrefix(e[0].Source, "not in") {
				stockRow = true
			}
			switch r.Context {
			case upg.RefCall, upg.RefSectionArg, upg.RefSectionExist, upg.RefAttrCFunc, upg.RefAttrFunc:
				continue // sections are optional by design, not system names
			}
			if r.Kind == KindParam || upg.IsUserName(r.Name) || !(r.Status == StatusUndefined && r.Kind == KindUnknown || r.Status == StatusSystem && stockRow) {
				continue
			}
			kind := upg.CatSystemVariable
			if r.Context == upg.RefCommand {
				kind = upg.CatSystemCommand
			}
			if old, ok := names[r.Canonical]; !ok || old.source > source {
				names[r.Canonical] = used{kind, source}
			}
		}
	}
	var b strings.Builder
	b.WriteString("name\tkind\tparams\tsince\tmeaning\tsource\n")
	reviewed := map[string]bool{}
	for _, line := range strings.Split(stockTSVForTest(t), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) == 6 && strings.HasPrefix(cols[5], "reviewed: ") {
			b.WriteString(line + "\n")
			reviewed[cols[0]] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if reviewed[n] || master[n] != "" {
			continue
		}
		u := names[n]
		what := "value the posting system provides"
		if u.kind == upg.CatSystemCommand {
			what = "command the posting system provides"
		}
		fmt.Fprintf(&b, "%s\t%s\t\t\t%s (the vendor's file uses it without defining it)\t%s\n", n, u.kind, what, u.source)
	}
	var m strings.Builder
	m.WriteString("name\tkind\n")
	for _, n := range slices.Sorted(maps.Keys(master)) {
		fmt.Fprintf(&m, "%s\t%s\n", n, master[n])
	}
	check := func(path, want string) {
		t.Helper()
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s is not what the corpus gives; review the difference and run go test ./internal/upg/resolve -run TestStockData -update", path)
		}
	}
	check("../stock.tsv", b.String())
	check("masteratr.tsv", m.String())
}

func stockTSVForTest(t *testing.T) string {
	b, err := os.ReadFile("../stock.tsv")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
