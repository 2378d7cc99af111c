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
			if got, want := isFunctionUpper([]byte(s)), isCatalogFunction([]byte(s)); got != want {
				t.Fatalf("isFunctionUpper(%q) = %v, want %v", s, got, want)
			}
		}
	}
}
