package search

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

func buildFixture(t testing.TB, name string) Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Build(Input{SHA256: "sha-" + name, ParserVersion: "test", Filename: filepath.Base(name), Data: data})
}

func lineOf(d Document, n int) Line {
	for _, l := range d.Lines {
		if l.N == n {
			return l
		}
	}
	return Line{N: -1}
}

func TestBuildSource(t *testing.T) {
	d := buildFixture(t, "alpha/ALPHA.SRC")
	if d.Kind != "src" || d.LineCount != 42 || len(d.Vector) != Dims || len(d.Signature) != SignatureSize {
		t.Fatalf("doc kind %q, %d lines, vector %d, signature %d", d.Kind, d.LineCount, len(d.Vector), len(d.Signature))
	}
	tests := []struct {
		n      int
		class  int
		output string
		words  []string
		prose  []string
		parts  []string
		defs   []string
		sets   []string
		sec    int
	}{
		{n: 13, class: ClassCode, words: []string{"attrname", "spindle_dir"}, parts: []string{"spindle", "dir"}, defs: []string{"spindle_dir"}, sec: -1},
		{n: 17, class: ClassCode, words: []string{"attrname", "coolant_type"}, parts: []string{"coolant", "type"}, defs: []string{"coolant_type"}, sec: -1},
		{n: 23, class: ClassOutput, output: "%", sec: 0},
		{n: 27, class: ClassComment, prose: []string{"set", "the", "spindle", "direction", "before", "tool", "change"}, sec: 1},
		{n: 7, class: ClassCode, words: []string{"attrdefault"}, prose: []string{"alpha", "vmc"}, sec: -1},
		{n: 1, class: ClassCode, words: []string{"fanucm"}, sec: -1},
		{n: 28, class: ClassOutput, output: "M06 T", words: []string{"m", "06", "t", "m06"}, sec: 1},
		{n: 33, class: ClassCode, words: []string{"spindle_dir", "3"}, parts: []string{"spindle", "dir"}, sets: []string{"spindle_dir"}, sec: 2},
		{n: 31, class: ClassCode, words: []string{"section", "calc_spindle"}, parts: []string{"calc", "spindle"}, defs: []string{"calc_spindle"}, sec: 2},
	}
	for _, tt := range tests {
		l := lineOf(d, tt.n)
		if l.Class != tt.class || l.Output != tt.output || l.Section != tt.sec ||
			!reflect.DeepEqual(l.Words, tt.words) || !reflect.DeepEqual(l.Prose, tt.prose) || !reflect.DeepEqual(l.Parts, tt.parts) ||
			!reflect.DeepEqual(l.Defs, tt.defs) || !reflect.DeepEqual(l.Sets, tt.sets) {
			t.Errorf("line %d = %+v\nwant class %d output %q section %d words %q prose %q parts %q defs %q sets %q",
				tt.n, l, tt.class, tt.output, tt.sec, tt.words, tt.prose, tt.parts, tt.defs, tt.sets)
		}
	}
	wantSecs := []struct {
		name, kind string
		start, end int
	}{{"START_OF_TAPE", SectionTemplate, 22, 25}, {"TOOL_CHANGE", SectionUser, 26, 30}, {"CALC_SPINDLE", SectionCalc, 31, 37}, {"END_OF_TAPE", SectionTemplate, 38, 42}}
	if len(d.Sections) != len(wantSecs) {
		t.Fatalf("%d sections", len(d.Sections))
	}
	for i, w := range wantSecs {
		s := d.Sections[i]
		if s.Name != w.name || s.Kind != w.kind || s.StartLine != w.start || s.EndLine != w.end || len(s.Vector) != Dims || len(s.Hash) != 64 {
			t.Errorf("section %d = %+v, want %+v", i, s, w)
		}
	}
	for _, l := range d.Lines {
		if strings.TrimSpace(l.Text) == "" {
			t.Errorf("blank line %d stored", l.N)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, b := buildFixture(t, "alpha/ALPHA.SRC"), buildFixture(t, "alpha/ALPHA.SRC")
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two builds of the same bytes differ")
	}
}

func TestBuildOtherFiles(t *testing.T) {
	side := Build(Input{SHA256: "s", Filename: "M.PINF", Data: []byte("Machine=Alpha VMC\r\n\r\n; a note\r\nAxes=3\r\n")})
	if side.Kind != "pinf" || len(side.Lines) != 3 || side.Lines[0].Text != "Machine=Alpha VMC" || side.Lines[1].Class != ClassComment ||
		!reflect.DeepEqual(side.Lines[0].Prose, []string{"machine", "alpha", "vmc"}) {
		t.Errorf("side file doc = %+v", side.Lines)
	}
	bin := Build(Input{SHA256: "b", Filename: "POST.CTL", Data: []byte{1, 0, 2, 3}})
	if bin.Kind != "binary" || len(bin.Lines) != 0 {
		t.Errorf("binary doc = %+v", bin)
	}
	win := Build(Input{SHA256: "w", Filename: "X.LIB", Data: []byte("* Gr\xfc\xdfe\r\n:SECTION=A\r\n")})
	if l := lineOf(win, 1); l.Text != "* Grüße" {
		t.Errorf("Windows-1252 line decoded as %q", l.Text)
	}
	long := Build(Input{SHA256: "l", Filename: "L.CNF", Data: []byte(strings.Repeat("é", 2000))})
	if l := long.Lines[0]; len(l.Text) > MaxLineBytes || !strings.HasPrefix(l.Text, "é") || !strings.HasSuffix(l.Text, "é") {
		t.Errorf("long line cut badly: %d bytes", len(l.Text))
	}
}

func TestRenderOutput(t *testing.T) {
	src := ":SECTION=X\n:T:<M:06><T><G:43> H<\"%2LNT\":TOOL><EOL>\n:T:IF A>1 THEN <G!:40> G<%:WC><EOL>ENDIF\n:T:%<EOL>\n"
	f := upg.Parse("X.SRC", []byte(src))
	want := []string{"M06 T G43 H #", "G40 G #", "%"}
	for i, tl := range f.Sections[0].Templates {
		if got := RenderOutput(tl); got != want[i] {
			t.Errorf("line %d renders %q, want %q", i+2, got, want[i])
		}
	}
}

// BenchmarkBuild builds the search documents of every file of the corpus
// (parsing included, as for a content never seen), and reports the build
// rate in MB of source per second.
func BenchmarkBuild(b *testing.B) {
	var files []testenv.CorpusFile
	size := 0
	for _, p := range testenv.CorpusPackages(b) {
		for _, f := range p.Files {
			files = append(files, f)
			size += len(f.Data)
		}
	}
	b.SetBytes(int64(size))
	for range b.N {
		for _, f := range files {
			Build(Input{SHA256: "bench", ParserVersion: "bench", Filename: f.Name, Data: f.Data})
		}
	}
}
