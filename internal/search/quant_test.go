package search

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantize: the stored form is a quarter of float32 (less for sparse
// vectors), exact for what it gives back (quantising again changes
// nothing), within half a step of every component, and keeps cosines
// within quantisation noise.
func TestQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	unit := func(nz int) []float32 {
		v := make([]float64, Dims)
		for i := 0; i < nz; i++ {
			v[rng.IntN(Dims)] += rng.NormFloat64()
		}
		return normalize(v)
	}
	for _, c := range []struct {
		name    string
		v       []float32
		maxSize int
	}{
		{"dense", unit(4000), 2 + Dims},
		{"sparse", unit(12), 2 + Dims/8 + 12},
		{"one", unit(1), 2 + Dims/8 + 1},
		{"zero", make([]float32, Dims), 2 + Dims/8},
		{"other size", []float32{0.6, 0, -0.8}, 5},
		{"tiny", []float32{1e-30, -3e-31}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := EncodeVector(c.v)
			if len(b) > c.maxSize {
				t.Errorf("%d bytes; want at most %d", len(b), c.maxSize)
			}
			q := DecodeVector(b)
			if len(q) != len(c.v) {
				t.Fatalf("read back %d components; want %d", len(q), len(c.v))
			}
			if again := EncodeVector(q); !slices.Equal(again, b) {
				t.Errorf("quantising the quantised vector gives % x…; want % x…", again[:min(len(again), 8)], b[:min(len(b), 8)])
			}
			step := math.Ldexp(1, int(int8(b[1])))
			for i := range q {
				if d := math.Abs(float64(q[i]) - float64(c.v[i])); d > step/2 {
					t.Errorf("component %d: %g for %g (step %g)", i, q[i], c.v[i], step)
				}
			}
		})
	}
	var worst float64
	for range 200 {
		a, b := unit(rng.IntN(3000)+1), unit(rng.IntN(3000)+1)
		// Related vectors too: b shares part of a.
		for i := range b {
			b[i] += a[i] * float32(rng.Float64())
		}
		worst = max(worst, math.Abs(Cosine(a, b)-Cosine(Quantize(a), Quantize(b))))
	}
	if worst > 0.02 {
		t.Errorf("a cosine moved by %.4f with quantisation; want at most 0.02", worst)
	}
	t.Logf("largest cosine change over 200 pairs: %.4f", worst)
	if DecodeVector(nil) != nil || DecodeVector([]byte{9, 0, 1}) != nil || DecodeVector(append([]byte{vecSparse, 0}, make([]byte, Dims/8+1)...)) != nil {
		t.Error("bytes not in the stored form read as a vector")
	}
}
