package upg

import (
	"strings"
	"testing"
)

// The fold tables must answer exactly as the maps they front.
func TestFoldTablesMatchMaps(t *testing.T) {
	for k, v := range commands() {
		for _, s := range []string{k, strings.ToLower(k), k + "X", "Z" + k, k[1:], k[:len(k)-1]} {
			got, ok := lookupCommand([]byte(s))
			want, wok := commands()[strings.ToUpper(s)]
			if ok != wok || got != want {
				t.Fatalf("lookupCommand(%q) = %v, %v; want %v, %v", s, got, ok, want, wok)
			}
		}
		_ = v
	}
	for k := range theCatalog().functions {
		for _, s := range []string{k, k + "X", "Z" + k, k[1:], k[:len(k)-1], strings.ToLower(k)} {
			if got, want := isFunctionName([]byte(s)), isCatalogFunction([]byte(strings.ToUpper(s))); got != want {
				t.Fatalf("isFunctionName(%q) = %v, want %v", s, got, want)
			}
			if got := isFunctionName(s); got != isFunctionName([]byte(s)) {
				t.Fatalf("isFunctionName(%q) differs for string and bytes", s)
			}
		}
	}
}
