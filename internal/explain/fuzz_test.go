package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExplain cuts the input into files at 0xFF bytes (a source, its
// libraries and side files), and explains everything in them: the
// overview, every section, every name, and line windows. Nothing may panic
// and every explanation must marshal. Seeds are the fixture packages.
func FuzzExplain(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/fixtures/*")
	for _, d := range dirs {
		var parts [][]byte
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if filepath.Ext(e.Name()) == ".txt" {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(d, e.Name()))
			parts = append(parts, b)
		}
		f.Add(bytes.Join(parts, []byte{0xFF}))
	}
	f.Add([]byte(":SECTION=CALC_X(A\n:C: IF IF THEN CALL( ELSE GOTO ENDIF\n:T:<G!:><\"%\":><#:><EOL\n:ATTRNAME=\n:ATTRCFUNC=(\n:ATTRFUNC=\n:SELECT=\n:CODE=|\n:ATTRDEFAULT=0"))
	names := []string{"MAIN.SRC", "MAIN.LIB", "MILL.LIB", "MAIN.CNF", "MAIN.KIN", "MAIN.PINF"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []Input
		for i, part := range bytes.Split(data, []byte{0xFF}) {
			if i >= len(names) {
				break
			}
			in = append(in, Input{Name: names[i], Data: part})
		}
		p := Analyze(in)
		all := []*Explanation{p.Overview()}
		for _, name := range p.order {
			f := p.files[name]
			for _, s := range f.Sections {
				all = append(all, p.explainSection(f, s, 0, 0))
			}
			for from := 1; from <= len(f.Lines); from += 7 {
				e, err := p.Lines(name, from, from+10)
				if err == nil {
					all = append(all, e)
				}
			}
		}
		for _, d := range p.res.Definitions {
			if e, err := p.Attribute(d.Name); err == nil {
				all = append(all, e)
			}
		}
		for _, e := range all {
			if _, err := json.Marshal(e); err != nil {
				t.Fatal(err)
			}
			_ = Markdown(e, nil)
			_ = Text(e)
		}
	})
}
