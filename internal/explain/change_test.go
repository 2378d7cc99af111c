package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/testenv"
)

// readSide reads a folder of test data as one side of a comparison.
func readSide(t testing.TB, label, dir string) diff.Side {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := diff.Side{Label: label}
	for _, e := range es {
		if e.IsDir() || e.Name() == "ranges.txt" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s.Files = append(s.Files, diff.File{Name: e.Name(), Data: data})
	}
	return s
}

func sideLines(s diff.Side, side string) map[string][]string {
	m := map[string][]string{}
	for _, f := range s.Files {
		m[side+"\x00"+f.Name] = strings.Split(strings.ReplaceAll(string(f.Data), "\r\n", "\n"), "\n")
	}
	return m
}

// checkChangeCitations is checkCitations for a change: every citation names
// its side, and what a sentence quotes is on the lines it cites on either
// side.
func checkChangeCitations(t *testing.T, e *Explanation, a, b diff.Side) {
	t.Helper()
	text := sideLines(a, SideA)
	for k, v := range sideLines(b, SideB) {
		text[k] = v
	}
	// checkCitations keys files by name: give each side's files a
	// side-qualified name.
	keyed := *e
	keyed.Parts = nil
	for _, p := range e.Parts {
		q := p
		q.Sentences = nil
		for _, s := range p.Sentences {
			cs := make([]Cite, len(s.Cites))
			for i, c := range s.Cites {
				if c.Side != SideA && c.Side != SideB {
					t.Errorf("%q cites %s without a side", s.Text, c)
				}
				c.File = c.Side + "\x00" + c.File
				cs[i] = c
			}
			s.Cites = cs
			ls := make([]Link, len(s.Links))
			for i, l := range s.Links {
				l.File = l.Side + "\x00" + l.File
				ls[i] = l
			}
			s.Links = ls
			q.Sentences = append(q.Sentences, s)
		}
		keyed.Parts = append(keyed.Parts, q)
	}
	for _, p := range checkCitations(&keyed, text) {
		t.Error(strings.ReplaceAll(p, "\x00", ":"))
	}
}

func TestChangeGolden(t *testing.T) {
	a := readSide(t, "Demo v1", "testdata/fixtures/demo-mill")
	b := readSide(t, "Demo v2", "testdata/change/demo-mill-v2")
	_, e := ChangeOf(a, b, diff.Options{})
	checkChangeCitations(t, e, a, b)
	checkGolden(t, "change-demo-mill.md", []byte(Markdown(e, nil)))
}

// TestChangeFacts checks what the explanation of the demo change must say.
func TestChangeFacts(t *testing.T) {
	a := readSide(t, "Demo v1", "testdata/fixtures/demo-mill")
	b := readSide(t, "Demo v2", "testdata/change/demo-mill-v2")
	_, e := ChangeOf(a, b, diff.Options{})
	for _, c := range []struct {
		part, substr string
		cites        []Cite
	}{
		{PartSectionChanges, "The copy of `CALC_START_OF_TAPE` in MILL.LIB (line 26) runs in its place now",
			[]Cite{{File: "DEMO.LIB", Start: 72, End: 72, Side: SideA}, {File: "MILL.LIB", Start: 26, End: 26, Side: SideB}}},
		{PartSectionChanges, "New output line: outputs `N` (Sequence number), the `M` code `05`",
			[]Cite{{File: "DEMO.SRC", Start: 48, End: 48, Side: SideB}}},
		{PartSectionChanges, "the `M` code `30` (M Codes) and ends the block; now it outputs `N` (Sequence number), the `M` code `02`",
			[]Cite{{File: "DEMO.SRC", Start: 59, End: 59, Side: SideA}, {File: "DEMO.SRC", Start: 60, End: 60, Side: SideB}}},
		{PartSectionChanges, "`CALC_END_OF_TAPE` (DEMO.SRC) calls it when it exists", []Cite{{File: "DEMO.SRC", Start: 54, End: 55, Side: SideB}}},
		{PartSettingChanges, "`ATTRDEFAULT` changed from `2` to `1`",
			[]Cite{{File: "DEMO.SRC", Start: 34, End: 34, Side: SideA}, {File: "DEMO.SRC", Start: 34, End: 34, Side: SideB}}},
		{PartSettingChanges, "`:MAXIMUM_LINE` changed from `80` to `100`", nil},
		{PartRisks, "`PRINT_SUMMARY` is still used in B", []Cite{{File: "DEMO.SRC", Start: 57, End: 57, Side: SideB}}},
		{PartRisks, "the copy in MILL.LIB runs instead", nil},
		{PartFileChanges, "DEMO.CNF changed", nil},
	} {
		s := sentenceWith(e, c.part, c.substr)
		if s == nil {
			t.Errorf("part %s has no sentence with %q", c.part, c.substr)
			continue
		}
		for _, want := range c.cites {
			found := false
			for _, got := range s.Cites {
				found = found || got == want
			}
			if !found {
				t.Errorf("%q does not cite %s (cites %v)", s.Text, want, s.Cites)
			}
		}
	}
	// The same sides the other way round: what B added, A removes.
	_, back := ChangeOf(b, a, diff.Options{})
	checkChangeCitations(t, back, b, a)
	if s := sentenceWith(back, PartSectionChanges, "It replaces the copy of `CALC_START_OF_TAPE` in MILL.LIB (line 26), which ran before"); s == nil {
		t.Errorf("reversed: no sentence says the new CALC_START_OF_TAPE replaces the library's copy:\n%s", Markdown(back, nil))
	}
	same, e2 := ChangeOf(a, a, diff.Options{})
	if !same.Identical || len(e2.Parts) != 1 || !strings.Contains(e2.Parts[0].Sentences[0].Text, "are the same") {
		t.Errorf("identical sides: %+v", e2.Parts)
	}
}

// TestChangeCitationsCorpus explains the change between every two
// neighbouring corpus packages (unrelated posts: every kind of change at
// once) and checks every citation on both sides.
func TestChangeCitationsCorpus(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	side := func(p testenv.CorpusPackage) diff.Side {
		s := diff.Side{Label: p.Name}
		for _, f := range p.Files {
			s.Files = append(s.Files, diff.File{Name: f.Name, Data: f.Data})
		}
		return s
	}
	for i := 0; i+1 < len(pkgs); i++ {
		a, b := side(pkgs[i]), side(pkgs[i+1])
		t.Run(pkgs[i].Name+"→"+pkgs[i+1].Name, func(t *testing.T) {
			_, e := ChangeOf(a, b, diff.Options{})
			checkChangeCitations(t, e, a, b)
			if len(e.Sentences()) < 5 {
				t.Errorf("only %d sentences for two different posts", len(e.Sentences()))
			}
		})
	}
}
