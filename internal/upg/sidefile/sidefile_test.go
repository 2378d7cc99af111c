package sidefile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

func corpus(t *testing.T) string { return testenv.CorpusDir(t) }

func read(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTormachSideFiles(t *testing.T) {
	dir := filepath.Join(corpus(t), "tormach-pcnc1100")
	base := "Tormach PCNC1100 Series 3"

	c := ParseCNF(base+".CNF", read(t, dir, base+".CNF"))
	if len(c.Headers) != 1 || c.Headers[0].Name != "NO_SET_FILE" || c.Headers[0].Value != "TRUE" || !c.Headers[0].Known || len(c.Diagnostics) != 0 {
		t.Fatalf("CNF %+v", c)
	}

	k := ParseKIN(base+".kin", read(t, dir, base+".kin"))
	if len(k.Diagnostics) != 0 || len(k.Entries) != 19 || k.FiveAxisType == nil || *k.FiveAxisType != 0 || k.CoordType == nil || *k.CoordType != 1 {
		t.Fatalf("KIN %+v", k)
	}
	if *k.Spindle != [3]float64{0, 0, 1} || *k.Axis1 != [3]float64{1, 0, 0} || *k.Axis1Limits != [2]float64{-100000, 100000} || k.Simulation != "TableTable" {
		t.Fatalf("KIN values %+v", k)
	}
	if k.Entries[0].Description == "" || k.Entries[18].Field != "simulation" {
		t.Fatalf("KIN entries %+v", k.Entries)
	}

	p := ParsePINF(base+".PINF", read(t, dir, base+".PINF"))
	if p.PostName != base || p.PostExtension != "nc" || len(p.Diagnostics) != 0 {
		t.Fatalf("PINF %+v", p)
	}

	g := ParseLNG(base+".lng", read(t, dir, base+".lng"))
	if g.Binary || len(g.Entries) < 80 || g.Entries[0].Number != 1 || g.Entries[0].Text != "DRILLING" || len(g.Diagnostics) != 0 {
		t.Fatalf("LNG %d entries, %v", len(g.Entries), g.Diagnostics)
	}
	if _, err := json.Marshal([]any{c, k, p, g}); err != nil {
		t.Fatal(err)
	}
}

func TestCompiledAndLanguageFiles(t *testing.T) {
	root := corpus(t)
	for _, f := range []string{"grbl-post/GRBL-Post.ctl", "scl-sw-grbl/SCL-SW-GRBL-1_1.ctl"} {
		src := read(t, root, f)
		c := DetectCTL(f, src)
		if !c.Binary || c.Size != len(src) || c.Strings == 0 {
			t.Errorf("%s: %+v", f, c)
		}
	}
	for _, f := range []string{"grbl-post/GRBL-Post.lng", "scl-sw-grbl/SCL-SW-GRBL-1_1.lng"} {
		g := ParseLNG(f, read(t, root, f))
		if g.Binary || len(g.Entries) != 168 || len(g.Diagnostics) != 0 {
			t.Errorf("%s: binary=%v entries=%d diags=%v", f, g.Binary, len(g.Entries), g.Diagnostics)
		}
	}
	// a .ctl is never treated as a language file
	if g := ParseLNG("x.lng", read(t, root, "grbl-post/GRBL-Post.ctl")); !g.Binary || len(g.Entries) != 0 {
		t.Errorf("binary .lng: %+v", g)
	}
}

// TestLineEndings: side files split lines like the parser (a lone CR too).
func TestLineEndings(t *testing.T) {
	k := ParseKIN("x.kin", []byte("1.5 * first\r2 * second\r\n3 * third\n"))
	if len(k.Entries) != 3 || k.Entries[1].Line != 2 || k.Entries[2].Line != 3 || k.Entries[1].Description != "second" {
		t.Fatalf("entries %+v", k.Entries)
	}
}

func TestCNFPickLists(t *testing.T) {
	src := []byte("* c\r\n   * indented\r\n:CONFIG_SELECT_NAME=coolant\r\n:CONFIG_SELECT_OPTION=Flood\r\n:CONFIG_SELECT_OPTION=Mist\r\n:CONFIG_SELECT_DEFAULT=2\r\n:CONFIG_SELECT_END\r\n:NO_SET_FILE=TRUE\r\n")
	c := ParseCNF("x.CNF", src)
	if len(c.Selects) != 1 || c.Selects[0].Name != "coolant" || len(c.Selects[0].Options) != 2 || c.Selects[0].Default != 2 || !c.Selects[0].Terminated {
		t.Fatalf("%+v", c)
	}
	if len(c.Headers) != 1 || len(c.Diagnostics) != 0 {
		t.Fatalf("%+v", c)
	}
}
