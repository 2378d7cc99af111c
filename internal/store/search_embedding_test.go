package store

import (
	"math"
	"slices"
	"testing"

	"github.com/veripost/veripost/internal/search"
)

// TestEmbeddingEncoding: sparse embeddings are stored small and every form
// reads back to the same floats.
func TestEmbeddingEncoding(t *testing.T) {
	sparse := make([]float32, search.Dims)
	sparse[0], sparse[7], sparse[8], sparse[511] = 0.5, -0.25, float32(math.SmallestNonzeroFloat32), 1
	dense := make([]float32, search.Dims)
	for i := range dense {
		dense[i] = float32(i+1) / 1000
	}
	for _, c := range []struct {
		name    string
		v       []float32
		maxSize int
	}{
		{"sparse", sparse, search.Dims/8 + 16},
		{"dense", dense, 4 * search.Dims},
		{"zero", make([]float32, search.Dims), search.Dims / 8},
		{"other size", []float32{1, 0, 2}, 12},
		{"empty", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := encodeEmbedding(c.v)
			if len(b) > c.maxSize {
				t.Errorf("%d bytes; want at most %d", len(b), c.maxSize)
			}
			if got := decodeEmbedding(b); !slices.Equal(got, c.v) && !(len(got) == 0 && len(c.v) == 0) {
				t.Errorf("read back %v…; want %v…", got[:min(len(got), 9)], c.v[:min(len(c.v), 9)])
			}
		})
	}
	// Dense blobs written before (by the migration from vec0) still read.
	if got := decodeEmbedding(encodeVector(sparse)); !slices.Equal(got, sparse) {
		t.Error("a dense blob of a sparse embedding reads back differently")
	}
}
