package analysis

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// roundTrip packs f, unpacks it (and its parts as stored before format 3)
// and fails unless both give f back exactly.
func roundTrip(t testing.TB, name string, f *File) (now, before int) {
	t.Helper()
	ways := []struct {
		name string
		pack func(*File) (Packed, error)
	}{{"current", Pack}, {"flate (rows stored before)", packV1}}
	if name == "hand-made" {
		ways = ways[:1] // the old format did not keep a diagnostic's subject
	}
	for _, way := range ways {
		p, err := way.pack(f)
		if err != nil {
			t.Fatalf("%s: packing (%s): %v", name, way.name, err)
		}
		got := File{SHA256: f.SHA256, ParserVersion: f.ParserVersion, Reader: f.Reader, Size: f.Size, ContentKind: f.ContentKind,
			Encoding: f.Encoding, LineEnding: f.LineEnding, LineCount: f.LineCount, ErrorCount: f.ErrorCount, WarningCount: f.WarningCount,
			InfoCount: f.InfoCount, ControlFamily: f.ControlFamily, System: f.System}
		if err := Unpack(&got, p); err != nil {
			t.Fatalf("%s: unpacking (%s): %v", name, way.name, err)
		}
		want := *f
		if want.Facts == nil {
			want.Facts = &resolve.Facts{}
		}
		if way.name != "current" && len(want.Sections) == 0 {
			want.Sections = nil // JSON's omitempty (and so the old rows) lost empty lists
		}
		if way.name != "current" && len(want.Tokens) == 0 {
			want.Tokens = nil
		}
		if !reflect.DeepEqual(&got, &want) {
			t.Fatalf("%s: the analysis differs after a round trip (%s):\n%s", name, way.name, firstDifference(&want, &got))
		}
		// The symbol pages derive occurrences from the stored form alone.
		groups, ranges, err := StoredSymbols(p)
		if err != nil {
			t.Fatalf("%s: stored symbols (%s): %v", name, way.name, err)
		}
		if wantGroups := f.Symbols(); len(groups) != len(wantGroups) || (len(groups) > 0 && !reflect.DeepEqual(groups, wantGroups)) {
			t.Fatalf("%s: stored symbols (%s) differ from the analysis's: %d groups, want %d", name, way.name, len(groups), len(wantGroups))
		}
		if wantRanges := f.SectionRanges(); len(ranges) != len(wantRanges) || (len(ranges) > 0 && !reflect.DeepEqual(ranges, wantRanges)) {
			t.Fatalf("%s: stored section ranges (%s) differ", name, way.name)
		}
		n := len(p.Facts) + len(p.Display) + len(p.Tokens)
		if way.name == "current" {
			now = n
		} else {
			before = n
		}
	}
	ranges := f.SectionRanges()
	got, err := UnpackSectionRanges(PackSectionRanges(ranges))
	if err != nil || len(got) != len(ranges) || (len(ranges) > 0 && !reflect.DeepEqual(got, ranges)) {
		t.Fatalf("%s: section ranges differ after a round trip: %v", name, err)
	}
	return now, before
}

// firstDifference names the first part that differs.
func firstDifference(want, got *File) string {
	switch {
	case !reflect.DeepEqual(want.Facts, got.Facts):
		return "facts"
	case !reflect.DeepEqual(want.Outline, got.Outline):
		return "outline"
	case !reflect.DeepEqual(want.Sections, got.Sections):
		return "sections"
	case !bytes.Equal(want.Tokens, got.Tokens):
		return "tokens"
	}
	return "scalars"
}

// Every file of the real corpus comes back exactly as analysed, from the
// current format and from the one stored before.
func TestPackRoundTripCorpus(t *testing.T) {
	src, now, before := 0, 0, 0
	for _, pkg := range testenv.CorpusPackages(t) {
		for _, cf := range pkg.Files {
			n, b := roundTrip(t, pkg.Name+"/"+cf.Name, AnalyzeFile(cf.Name, cf.Data))
			src, now, before = src+len(cf.Data), now+n, before+b
		}
	}
	t.Logf("%d bytes of source: %d stored now, %d before (%.2f×)", src, now, before, float64(before)/float64(now))
}

// The parser's fixtures (its fuzz seeds), and hand-made values that none
// of the stored shortcuts fit: each is kept as it is.
func TestPackRoundTripUnusual(t *testing.T) {
	for _, dir := range []string{"../upg/testdata/parse", "../upg/testdata/diag"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, e.Name(), AnalyzeFile(e.Name(), b))
		}
	}
	s := "M"
	odd := &File{SHA256: "x", Reader: ReaderUPG,
		Facts: &resolve.Facts{Kind: upg.KindSRC, MachineName: &s, Source: true,
			Definitions: []resolve.Definition{
				{Name: "a b", Canonical: "not-canonical", Kind: resolve.KindSection, Line: 3, EndLine: 9, Params: []string{}},
				{Name: "X", Canonical: "X", Kind: resolve.KindAttribute, Line: 1, Col: 4, Offset: -7, Overridden: true},
			},
			References: []upg.Ref{
				{Name: "Q", Line: 4, Col: 2, Offset: 99, Section: "elsewhere", Args: -1, Guards: []upg.Guard{{Section: "S", Exists: true}}},
				{Name: "Q", Line: 4, Col: 1, Offset: 3, Section: "a b", Param: true, Guarded: true},
				{Name: "R", Line: 2, Col: 7, Offset: 1 << 40},
			},
			Diagnostics: []upg.Diagnostic{{Code: "c", Severity: upg.SeverityWarning, Line: 1, Offset: 5, End: 2, Message: "m", Subject: "s"}},
			Side:        &resolve.SideFile{Name: "side"},
		},
		Outline: &upg.Outline{Sections: []upg.OutlineSection{{Name: "a b", Params: []string{}, Line: 3, EndLine: 9, Offset: 10, End: 2}}},
		// The hash is not lower-case hex: the sections are stored whole.
		Sections: []Section{{Name: "a b", StartLine: 3, EndLine: 9, StartByte: 10, EndByte: 2, ContentHash: "ABCDEF0123456789"}},
		Tokens:   []byte{byte(upg.TokName), 3, byte(upg.TokEOL), 1, byte(upg.TokName), 0x80}, // cut short
	}
	roundTrip(t, "hand-made", odd)
	odd.Tokens = []byte{byte(upg.TokName), 0x83, 0x00} // not minimal
	odd.Outline.Sections = []upg.OutlineSection{}
	odd.Sections = []Section{}
	roundTrip(t, "hand-made", odd)
	roundTrip(t, "empty", &File{})
}

// Stored bytes that are not what Pack wrote are refused, never a panic.
func TestUnpackRefusesGarbage(t *testing.T) {
	f := AnalyzeFile("x.SRC", []byte(":SECTION=A\n:T:X<Y>\n"))
	p, err := Pack(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := decompress(p.Facts)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(raw); cut++ {
		var g File
		if err := Unpack(&g, Packed{Facts: compress(raw[:cut])}); err == nil && cut < len(raw)-1 {
			// Only a cut in the last varint's trailing bytes can still read.
			t.Logf("cut at %d of %d still reads", cut, len(raw))
		}
	}
	for _, b := range [][]byte{nil, {0x28, 0xB5, 0x2F, 0xFD}, {0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0, 0}, []byte("not flate")} {
		var g File
		if err := Unpack(&g, Packed{Facts: b}); err == nil {
			t.Fatalf("%x: unpacked without an error", b)
		}
	}
}

// FuzzUnpack: any bytes given to the decoders give an error or a value,
// never a panic.
func FuzzUnpack(f *testing.F) {
	src := []byte(":SECTION=A(P)\n:T:X<Y>\nIF SECTIONEXIST(B) THEN\nCALL(B)\nENDIF\n")
	file := AnalyzeFile("x.SRC", src)
	p, _ := Pack(file)
	old, _ := packV1(file)
	raw, _ := decompress(p.Facts)
	f.Add(p.Facts, raw)
	f.Add(old.Facts, old.Display)
	f.Add(PackSectionRanges(file.SectionRanges()), old.Tokens)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var g File
		_ = Unpack(&g, Packed{Facts: a, Display: b, Tokens: b})
		_ = Unpack(&g, Packed{Facts: compress(a)})
		_, _ = UnpackSectionRanges(a)
		_, _ = decodeFacts(a, nil)
		_ = decodeDisplay(&g, a)
		_, _ = decodeTokens(a)
		var v any
		_ = UnpackJSON(a, &v)
	})
}

// FuzzPackRoundTrip: whatever the parser makes of any source comes back
// exactly after storage.
func FuzzPackRoundTrip(f *testing.F) {
	for _, dir := range []string{"../upg/testdata/parse", "../upg/testdata/diag"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		roundTrip(t, "fuzz.SRC", AnalyzeFile("fuzz.SRC", src))
	})
}
