package analysis

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
)

// Stored analyses must resolve exactly as fresh ones: the write path
// resolves from stored files instead of parsing again.
func TestStoredFilesResolveLikeFreshOnes(t *testing.T) {
	for _, pkg := range testenv.CorpusPackages(t) {
		t.Run(pkg.Name, func(t *testing.T) {
			var inputs []Input
			for _, f := range pkg.Files {
				inputs = append(inputs, Input{Name: f.Name, Data: f.Data})
			}
			fresh := Analyze(inputs)
			var stored []Named
			total, packed := 0, 0
			for _, e := range fresh.Files {
				p, err := Pack(e.File)
				if err != nil {
					t.Fatal(err)
				}
				f := *e.File // the scalar fields are stored as columns
				f.Facts, f.Outline, f.Sections, f.Tokens = nil, nil, nil, nil
				if err := Unpack(&f, p); err != nil {
					t.Fatal(err)
				}
				total += e.Size
				packed += len(p.Facts) + len(p.Display) + len(p.Tokens)
				if !reflect.DeepEqual(f, *e.File) {
					t.Fatalf("%s: the analysis differs after a storage round trip", e.Name)
				}
				stored = append(stored, Named{Name: e.Name, File: &f})
			}
			again := Resolve(stored)
			a, _ := json.Marshal(fresh)
			b, _ := json.Marshal(again)
			if string(a) != string(b) {
				i := 0
				for i < len(a) && i < len(b) && a[i] == b[i] {
					i++
				}
				lo := max(0, i-200)
				t.Fatalf("stored analyses resolve differently at byte %d:\nfresh  %s\nstored %s", i, a[lo:min(len(a), i+100)], b[lo:min(len(b), i+100)])
			}
			if !reflect.DeepEqual(fresh.Package.References, again.Package.References) || !reflect.DeepEqual(fresh.Package.Definitions, again.Package.Definitions) {
				t.Fatal("definitions or references differ after a storage round trip")
			}
			t.Logf("%d bytes of source, %d bytes stored (%.2f)", total, packed, float64(packed)/float64(total))
		})
	}
}

func TestPackedOccurrencesRoundTrip(t *testing.T) {
	n, oldBytes, newBytes := 0, 0, 0
	for _, pkg := range testenv.CorpusPackages(t) {
		for _, cf := range pkg.Files {
			f := AnalyzeFile(cf.Name, cf.Data)
			sections, err := UnpackSectionRanges(PackSectionRanges(f.SectionRanges()))
			if err != nil || len(sections) != len(f.SectionRanges()) {
				t.Fatalf("%s: section ranges %v", cf.Name, err)
			}
			// Every reference's enclosing section is the one its line is in.
			if f.Facts != nil {
				for _, r := range f.Facts.References {
					if got := sections.At(r.Line); got != r.Section {
						t.Fatalf("%s:%d: %s is in section %q by its line, %q by the parser", cf.Name, r.Line, r.Name, got, r.Section)
					}
				}
			}
			for _, g := range f.Symbols() {
				// The migration's older format round-trips too.
				old, err := UnpackOccurrencesFormat(OccurrencesFormat1, g.Canonical, PackOccurrencesFormat(OccurrencesFormat1, g.Canonical, g.Occurrences), sections)
				if err != nil || !reflect.DeepEqual(old, g.Occurrences) {
					t.Fatalf("%s %s: format 1: %v\n%+v\n%+v", cf.Name, g.Canonical, err, g.Occurrences, old)
				}
				packed := PackOccurrences(g.Canonical, g.Occurrences)
				oldBytes += len(PackOccurrencesFormat(OccurrencesFormat1, g.Canonical, g.Occurrences))
				newBytes += len(packed)
				got, err := UnpackOccurrences(g.Canonical, packed, sections)
				if err != nil {
					t.Fatalf("%s %s: %v", cf.Name, g.Canonical, err)
				}
				if !reflect.DeepEqual(got, g.Occurrences) {
					t.Fatalf("%s %s: occurrences differ after packing:\n%+v\n%+v", cf.Name, g.Canonical, g.Occurrences, got)
				}
				if g.Definitions+g.Uses != len(got) {
					t.Fatalf("%s %s: counts %d+%d for %d occurrences", cf.Name, g.Canonical, g.Definitions, g.Uses, len(got))
				}
				n += len(got)
			}
		}
	}
	if n == 0 {
		t.Fatal("the corpus gave no symbol occurrences")
	}
	if newBytes >= oldBytes {
		t.Errorf("format 2 takes %d bytes, format 1 %d: it must be smaller", newBytes, oldBytes)
	}
	t.Logf("%d occurrences: %d bytes packed (format 1: %d)", n, newBytes, oldBytes)
	// An unknown kind or context (a future parser's) survives too, and a
	// known kind with an unknown context.
	for _, occ := range [][]Occurrence{
		{{Name: "x y", Kind: "macro", Role: RoleReference, Context: "new-context", Line: 7, Col: 3, Section: "S"}},
		{{Name: "X_Y", Kind: occKinds[1], Role: RoleDefinition, Context: "new-context", Line: 7, Col: 3}, {Name: "X_Y", Kind: occKinds[2], Role: RoleReference, Context: occContexts[14], Line: 2, Col: 300, Section: "S"}},
	} {
		for _, format := range []int{OccurrencesFormat1, OccurrencesFormat2} {
			if got, err := UnpackOccurrencesFormat(format, "X_Y", PackOccurrencesFormat(format, "X_Y", occ), SectionRanges{{"S", 1, 9}}); err != nil || !reflect.DeepEqual(got, occ) {
				t.Fatalf("format %d, unknown enums: %+v %v", format, got, err)
			}
		}
	}
	for _, format := range []int{OccurrencesFormat1, OccurrencesFormat2} {
		if _, err := UnpackOccurrencesFormat(format, "X", []byte{0, 1, 2}, nil); err == nil {
			t.Fatalf("format %d: a truncated record must be refused", format)
		}
	}
}
