package zpack

import (
	"bytes"
	"errors"
	"testing"
)

// TestRoundTripAndCorruption: bytes come back as they were; anything that
// is not a whole frame is refused with ErrCorrupt, never misread.
func TestRoundTripAndCorruption(t *testing.T) {
	raw := bytes.Repeat([]byte("G0 X1.5 Y2 ; SPINDLE_DIR\n"), 200)
	z := Compress(raw)
	if !IsZstd(z) || len(z) >= len(raw) {
		t.Fatalf("frame of %d bytes for %d", len(z), len(raw))
	}
	if got, err := Decompress(z); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	tests := map[string][]byte{
		"empty":     nil,
		"not zstd":  []byte("plain bytes"),
		"cut":       z[:len(z)/2],
		"only head": z[:4],
	}
	for name, b := range tests {
		if _, err := Decompress(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
