package search

import (
	"hash/fnv"
	"testing"
)

// TestNormLineHash checks the allocation-free hash against the hash of
// the normalised line it stands for (ASCII and not).
func TestNormLineHash(t *testing.T) {
	for _, s := range []string{"", "   ", "a", " :T:<M:06>  <T>\t<EOL> ", "x\r", "IF a > 1 THEN", "a\v\fb", "Grüße  welt", " é ", "\xff bad"} {
		h := fnv.New64a()
		h.Write([]byte(normLine(s)))
		if got, want := normLineHash(s), h.Sum64(); got != want {
			t.Errorf("normLineHash(%q) = %x, want %x", s, got, want)
		}
	}
}
