//go:build unix

package diff

import (
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

// loop runs f b.N times and reports CPU milliseconds per operation.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	start := testenv.CPUTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	b.ReportMetric(float64(testenv.CPUTime()-start)/float64(n)/1e6, "cpu-ms/op")
}

// BenchmarkLibraryVariants: semantic and text diff of MILL.LIB (300 KB)
// against a copy edited in a few places (target ≤ 150 ms).
func BenchmarkLibraryVariants(b *testing.B) {
	tor := corpusSide(b, "tormach-pcnc1100")
	var mill File
	for _, f := range tor.Files {
		if f.Name == "MILL.LIB" {
			mill = f
		}
	}
	sa := Side{Label: "stock", Files: []File{mill}}
	sb := Side{Label: "edited", Files: []File{{Name: "MILL.LIB", Data: editLibrary(mill.Data)}}}
	b.SetBytes(int64(2 * len(mill.Data)))
	loop(b, func() {
		if r := Compare(sa, sb, Options{}); r.Identical {
			b.Fatal("no difference found")
		}
	})
}

// BenchmarkPackages: two whole packages (target ≤ 250 ms): the Tormach
// package against a customer copy with an edited MILL.LIB and .SRC, and
// the two GRBL posts.
func BenchmarkPackages(b *testing.B) {
	tor := corpusSide(b, "tormach-pcnc1100")
	cust := Side{Label: "customer"}
	for _, f := range tor.Files {
		g := File{Name: f.Name, Data: f.Data}
		switch {
		case f.Name == "MILL.LIB":
			g.Data = editLibrary(f.Data)
		case strings.HasSuffix(f.Name, ".SRC"):
			g.Data = []byte(strings.Replace(string(f.Data), ":SECTION=", ":SECTION=CUSTOM_HOOK\n:T:(HOOK)<EOL>\n:SECTION=", 1))
		}
		cust.Files = append(cust.Files, g)
	}
	pairs := []struct {
		name string
		a, b Side
	}{
		{"tormach-customer", tor, cust},
		{"grbl-scl", corpusSide(b, "grbl-post"), corpusSide(b, "scl-sw-grbl")},
	}
	for _, p := range pairs {
		b.Run(p.name, func(b *testing.B) {
			loop(b, func() {
				if r := Compare(p.a, p.b, Options{}); r.Identical {
					b.Fatal("no difference found")
				}
			})
		})
	}
}
