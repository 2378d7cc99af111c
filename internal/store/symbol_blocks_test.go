package store

import (
	"reflect"
	"testing"
)

// TestSymbolTailCodec: a tail row's counts come back in name id order as
// packed (any order in), a name is found or not, and bytes cut anywhere
// are refused, not misread or panicked on.
func TestSymbolTailCodec(t *testing.T) {
	in := []symbolCount{{symbol: 900, defs: 0, uses: 7}, {symbol: 3, defs: 1, uses: 1}, {symbol: 1 << 30, defs: 2, uses: 0}, {symbol: 4, defs: 0, uses: 1}}
	want := []symbolCount{in[1], in[3], in[0], in[2]}
	b := packSymbolTail(append([]symbolCount(nil), in...))
	var got []symbolCount
	if err := eachSymbolTailEntry(b, func(c symbolCount) bool { got = append(got, c); return true }); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, want)
	}
	tests := []struct {
		symbol int64
		found  bool
	}{{3, true}, {4, true}, {900, true}, {1 << 30, true}, {1, false}, {5, false}, {901, false}, {1<<30 + 1, false}}
	for _, tt := range tests {
		c, ok, err := tailCountsOf(b, tt.symbol)
		if err != nil || ok != tt.found || (ok && c.symbol != tt.symbol) {
			t.Errorf("name %d: %+v %v %v, want found %v", tt.symbol, c, ok, err, tt.found)
		}
	}
	if c, _, _ := tailCountsOf(b, 900); c.uses != 7 || c.defs != 0 {
		t.Errorf("counts of 900: %+v", c)
	}
	// Cut at an entry's end, the bytes are a shorter row; anywhere else,
	// corrupt.
	ends := map[int]bool{}
	for i := range want {
		ends[len(packSymbolTail(append([]symbolCount(nil), want[:i+1]...)))] = true
	}
	for n := 1; n < len(b); n++ {
		err := eachSymbolTailEntry(b[:n], func(symbolCount) bool { return true })
		if (err == nil) != ends[n] {
			t.Errorf("%d of %d bytes: error %v, at an entry's end %v", n, len(b), err, ends[n])
		}
	}
	if err := eachSymbolTailEntry([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(symbolCount) bool { return true }); err == nil {
		t.Error("a name id delta past any id read without error")
	}
}
