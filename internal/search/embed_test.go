package search

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestEmbedding(t *testing.T) {
	alpha := buildFixture(t, "alpha/ALPHA.SRC")
	beta := buildFixture(t, "beta/BETA.SRC")
	lib := buildFixture(t, "alpha/ALPHA.LIB")
	for _, v := range [][]float32{alpha.Vector, beta.Vector, lib.Vector, alpha.Sections[0].Vector} {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		// Unit length up to the int8 quantisation of the stored form.
		if len(v) != Dims || math.Abs(n-1) > 0.02 {
			t.Fatalf("vector of %d dims with norm² %f; want %d, 1", len(v), n, Dims)
		}
		if !slices.Equal(Quantize(v), v) {
			t.Fatal("a document's vector is not in its stored (quantised) form")
		}
	}
	if c := Cosine(alpha.Vector, alpha.Vector); math.Abs(c-1) > 1e-6 {
		t.Errorf("cosine with itself = %f", c)
	}
	// Two mill posts are more alike than a post and its rotary library.
	ab, al := Cosine(alpha.Vector, beta.Vector), Cosine(alpha.Vector, lib.Vector)
	if ab <= al {
		t.Errorf("alpha~beta %.3f should exceed alpha~library %.3f", ab, al)
	}
	// The same section in two posts is nearer than a different section.
	same := Cosine(alpha.Sections[2].Vector, beta.Sections[2].Vector) // CALC_SPINDLE in both
	other := Cosine(alpha.Sections[2].Vector, beta.Sections[0].Vector)
	if same <= other {
		t.Errorf("CALC_SPINDLE~CALC_SPINDLE %.3f should exceed CALC_SPINDLE~START_OF_TAPE %.3f", same, other)
	}
	// A query embedding meets the section that names its words.
	q := EmbedQuery([]string{"rotary", "4th", "axis"})
	if Cosine(q, lib.Sections[0].Vector) <= Cosine(q, alpha.Sections[0].Vector) {
		t.Error("a 4th axis question should be nearer the rotary section than the start of tape")
	}
	if v := Combine([][]float32{alpha.Vector, beta.Vector}, []float64{1, 1}); math.Abs(Cosine(v, alpha.Vector)-Cosine(v, beta.Vector)) > 0.01 {
		// (the parts are of unit length up to quantisation)
		t.Error("an equal-weight combination should be as near to each part")
	}
}

func TestMinHash(t *testing.T) {
	lines := func(n, from int) []Line {
		out := make([]Line, n)
		for i := range out {
			out[i] = Line{Text: fmt.Sprintf(":C: X%d = 1", from+i)}
		}
		return out
	}
	a, b := lines(1000, 0), lines(1000, 500) // 500 shared of 1,500: J = 1/3
	sa, sb := MinHash(a), MinHash(b)
	if j := Jaccard(sa, sb); math.Abs(j-1.0/3) > 0.12 {
		t.Errorf("estimated Jaccard %.3f, true 0.333", j)
	}
	if j := Jaccard(sa, MinHash(a)); j != 1 {
		t.Errorf("identical sets estimate %.3f", j)
	}
	// Case and blank differences do not count.
	c := append([]Line(nil), a...)
	c[0].Text = "  :c:   x0 =   1 "
	if j := Jaccard(sa, MinHash(c)); j != 1 {
		t.Errorf("normalised lines estimate %.3f", j)
	}
	// The union's signature is the signature of the union.
	u := UnionSignature([][]uint32{MinHash(a[:600]), MinHash(a[600:])})
	if Jaccard(u, sa) != 1 {
		t.Error("union signature differs from the signature of all lines")
	}
	if Jaccard(MinHash(nil), MinHash(nil)) != 0 || BandHashes(MinHash(nil)) != nil {
		t.Error("empty sets must not look alike or have bands")
	}
	bands := BandHashes(sa)
	if len(bands) != Bands {
		t.Fatalf("%d bands", len(bands))
	}
	// Near-duplicates share a band; unrelated sets almost never do.
	near := append(lines(990, 0), lines(10, 5000)...)
	if !shareBand(bands, BandHashes(MinHash(near))) {
		t.Error("a 98 % duplicate shares no band")
	}
	if shareBand(bands, BandHashes(MinHash(lines(1000, 10000)))) {
		t.Error("disjoint sets share a band")
	}
	if got := DecodeSignature(EncodeSignature(sa)); Jaccard(got, sa) != 1 {
		t.Error("signature does not survive encoding")
	}
}

func shareBand(a, b []int64) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func TestFuse(t *testing.T) {
	lex := map[string]float64{"a": 3, "b": 1}
	vec := map[string]float64{"b": 0.9, "c": 0.8}
	// b is second in the lexical list and first in the vector list: it
	// leads; a (first, lexical only) beats c (second, vector only).
	f := fuse(DefaultWeights, ModeHybrid, lex, vec)
	if !(f["b"] > f["a"] && f["a"] > f["c"]) {
		t.Errorf("fused %v; want b > a > c", f)
	}
	// Without the vector weight only the lexical order counts.
	if f := fuse(Weights{Lexical: 1, Vector: 0, K: 60}, ModeHybrid, lex, vec); !(f["a"] > f["b"] && f["c"] == 0) {
		t.Errorf("lexical-only weights fused %v", f)
	}
	if f := fuse(DefaultWeights, ModeLexical, lex, vec); len(f) != 2 || f["a"] != 3 {
		t.Errorf("lexical mode = %v", f)
	}
	// Ties share a rank.
	if r := ranks(map[string]float64{"x": 2, "y": 1, "z": 1, "w": 0.5}); r["y"] != 2 || r["z"] != 2 || r["w"] != 4 {
		t.Errorf("ranks %v", r)
	}
}
