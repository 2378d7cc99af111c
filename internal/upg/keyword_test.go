package upg

import (
	"strings"
	"testing"
)

// TestKeywordOf checks the keyword ids, including the names the quick
// first-byte and length test turns away and the ones it must let through.
func TestKeywordOf(t *testing.T) {
	tests := []struct {
		w    string
		want int
	}{
		{"IF", kwIf}, {"if", kwIf}, {"If", kwIf}, {"THEN", kwThen}, {"then", kwThen},
		{"ELSE", kwElse}, {"ENDIF", kwEndif}, {"endif", kwEndif}, {"AND", kwAnd},
		{"OR", kwOr}, {"or", kwOr}, {"CALL", kwCall}, {"RETURN", kwReturn}, {"return", kwReturn},
		{"GOTO", kwGoto}, {"GOTO12", kwGoto}, {"goto7", kwGoto}, {"GOTO" + strings.Repeat("9", 300), kwGoto},
		{"GOTO1A", kwNone}, {"GOTOX", kwNone}, {"GOT", kwNone},
		{"", kwNone}, {"I", kwNone}, {"IFF", kwNone}, {"ENDIFS", kwNone}, {"RETURNS", kwNone},
		{"ORDER", kwNone}, {"ANDX", kwNone}, {"THENCE", kwNone}, {"X", kwNone}, {"TOOL_NUMBER", kwNone},
		{"_IF", kwNone}, {"9IF", kwNone},
	}
	for _, tt := range tests {
		if got := keywordOf([]byte(tt.w)); got != tt.want {
			t.Errorf("keywordOf(%.20q) = %d, want %d", tt.w, got, tt.want)
		}
	}
}

// TestIdentEnd checks the eight-bytes-at-a-time name scan against
// isIdentByte for every byte value in every position of a word.
func TestIdentEnd(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 11; pos++ {
			b := []byte("ABCDEFGHIJK")
			b[pos] = byte(c)
			want := pos
			if isIdentByte(byte(c)) {
				want = len(b)
			}
			if got := identEnd(b, 0, len(b)); got != want {
				t.Fatalf("identEnd(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

// TestIdentScan checks the name scan with its hash: the end as isIdentByte
// says, also when name bytes follow end or src ends within a word, and the
// hash state and last word as foldState computes them from the name.
func TestIdentScan(t *testing.T) {
	for c := 0; c < 256; c++ {
		for n := 0; n < 19; n++ {
			for _, tail := range []string{"", "ABCDEFGHIJ", "=1"} {
				b := []byte("aBcDeFgHiJkLmN_0123456789"[:n+1] + tail)
				b[n] = byte(c)
				for _, end := range []int{len(b), n + 1, n} {
					want := 0
					for want < end && isIdentByte(b[want]) {
						want++
					}
					e, h, last := identScan(b, 0, end)
					if e != want {
						t.Fatalf("identScan(%q, 0, %d) ends at %d, want %d", b, end, e, want)
					}
					if wh, wl := foldState(b[:e]); h != wh || last != wl {
						t.Fatalf("identScan(%q, 0, %d) hash %x last %x, foldState %x %x", b, end, h, last, wh, wl)
					}
				}
			}
		}
	}
}
