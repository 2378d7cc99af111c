package resolve

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzResolve cuts the input into up to five files of different kinds at
// 0xFF bytes and resolves them as a package; nothing may panic and the
// result must marshal. Seeds are the fixture packages.
func FuzzResolve(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*")
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		var parts [][]byte
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(d, e.Name()))
			parts = append(parts, b)
		}
		f.Add(bytes.Join(parts, []byte{0xFF}))
	}
	names := []string{"MAIN.SRC", "MAIN.LIB", "MILL.LIB", "MASTER.ATR", "MAIN.CNF", "MAIN.KIN", "MAIN.PINF", "MAIN.lng"}
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.Split(data, []byte{0xFF})
		var in []Input
		for i, p := range parts {
			if i >= len(names) {
				break
			}
			in = append(in, Input{Name: names[i], Src: p})
		}
		p := Resolve(in)
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		_ = p.Summary()
	})
}
