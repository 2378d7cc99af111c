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

// TestNameInfo checks the lexer's one look-up per name against the
// questions it answers: keyword, built-in, section argument, unsupported
// keyword; for the catalogue's names, the keywords and variants of them.
func TestNameInfo(t *testing.T) {
	fastTables()
	names := []string{"IF", "then", "Else", "ENDIF", "and", "OR", "CALL", "return", "GOTO", "goto12", "GOTO1A",
		"NOT", "while", "ElsIf", "ELSEIF", "ENDWHILE", "X", "TOOL_NUMBER", "_A", "A9", strings.Repeat("Q", 48), strings.Repeat("W", 60)}
	for k := range theCatalog().functions {
		names = append(names, k, strings.ToLower(k), k+"X", "Z"+k, k[1:], k[:len(k)-1])
	}
	for _, f := range sectionArgFuncs {
		names = append(names, strings.ToLower(f.name))
	}
	for _, s := range names {
		w := []byte(s)
		h, last := foldState(w)
		info := nameInfoOf(w, h, last)
		if got, want := info.keyword(), keywordOf(w); got != want {
			t.Fatalf("%q: keyword %d, want %d", s, got, want)
		}
		if info.keyword() != kwNone {
			continue // the lexer asks no more of a keyword
		}
		if got, want := info&niFunction != 0, len(w) <= 40 && isFunctionName(w); got != want {
			t.Fatalf("%q: built-in %v, want %v", s, got, want)
		}
		if got, want := info.sectionArg(), sectionArgIndex(w); got != want {
			t.Fatalf("%q: section argument %d, want %d", s, got, want)
		}
		if got, want := info&niUnsupported != 0, isUnsupported(w); got != want {
			t.Fatalf("%q: unsupported %v, want %v", s, got, want)
		}
		if id := commandIDHashed(w, h, last); id != commandID(w) {
			t.Fatalf("%q: command id %d, want %d", s, id, commandID(w))
		}
	}
}
