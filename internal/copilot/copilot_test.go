package copilot

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

const demoDir = "../explain/testdata/fixtures/demo-mill"

func readDir(t testing.TB, dir string) diff.Side {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := diff.Side{Label: filepath.Base(dir)}
	for _, e := range es {
		if e.Name() == "ranges.txt" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s.Files = append(s.Files, diff.File{Name: e.Name(), Data: data})
	}
	return s
}

func demo(t testing.TB) *explain.Package { return explain.AnalyzeSide(readDir(t, demoDir)) }

// titles lists what a packed request holds: each source as FILE:first-last.
func sources(r llm.Request) []string {
	var out []string
	for _, s := range r.Sources {
		out = append(out, s.File+":"+strconv.Itoa(s.FirstLine)+"-"+strconv.Itoa(s.LastLine()))
	}
	return out
}

func notes(r llm.Request) []string {
	var out []string
	for _, n := range r.Notes {
		out = append(out, n.Title)
	}
	return out
}

func TestSectionContext(t *testing.T) {
	p := demo(t)
	e, err := p.Section("", "INIT_TOOL_CHANGE_MILL")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"DEMO.SRC": "id-src", "MILL.LIB": "id-mill", "DEMO.LIB": "id-demolib"}
	b := Builder{Budget: 16000, FileID: func(side, f string) string { return ids[f] }}
	ask, err := b.Section(p, e, "", "INIT_TOOL_CHANGE_MILL")
	if err != nil {
		t.Fatal(err)
	}
	got := sources(ask.Request)
	// The section first, then its caller, then the definitions of the
	// names it uses, in the order of first use.
	want := []string{"DEMO.SRC:47-52", "MILL.LIB:29-33", "DEMO.LIB:1-10"}
	if len(got) < 5 || !slices.Equal(got[:2], want[:2]) {
		t.Fatalf("sources %v, want the section, then its caller %v", got, want[:2])
	}
	for _, w := range []string{"MILL.LIB:2-9", "MILL.LIB:10-17", "DEMO.SRC:27-35", "MILL.LIB:18-25"} {
		if !slices.Contains(got, w) {
			t.Errorf("sources %v lack the definition at %s", got, w)
		}
	}
	if ask.Request.Sources[0].ID != "id-src" || ask.Request.Sources[1].ID != "id-mill" {
		t.Errorf("source ids %q %q", ask.Request.Sources[0].ID, ask.Request.Sources[1].ID)
	}
	if n := notes(ask.Request); !slices.Equal(n, []string{"Language catalogue meanings", "Machine metadata", "offline explanation"}) {
		t.Errorf("notes %v", n)
	}
	if !strings.Contains(ask.Request.Notes[0].Text, "INIT_TOOL_CHANGE_MILL") || !strings.Contains(ask.Request.Notes[1].Text, "Demo Mill 3X") ||
		!strings.Contains(ask.Request.Notes[2].Text, "What it outputs") {
		t.Errorf("notes:\n%+v", ask.Request.Notes)
	}
	if ask.Packed.Summary() != "" || len(ask.Request.LeftOut) != 0 {
		t.Errorf("everything fits 16000 tokens, but %q", ask.Packed.Summary())
	}
	if ask.Request.Kind != KindSection || !strings.Contains(ask.Request.Question, "INIT_TOOL_CHANGE_MILL") || ask.Request.Subject == "" {
		t.Errorf("request %+v", ask.Request)
	}

	// A small budget keeps the head of the section and says what it left out.
	small := Builder{Budget: 60}
	ask, err = small.Section(p, e, "", "INIT_TOOL_CHANGE_MILL")
	if err != nil {
		t.Fatal(err)
	}
	if len(ask.Request.Sources) != 1 || ask.Request.Sources[0].FirstLine != 47 || ask.Request.Sources[0].LastLine() >= 52 {
		t.Fatalf("small budget sources %v", sources(ask.Request))
	}
	sum := ask.Packed.Summary()
	for _, w := range []string{"60-token", "section INIT_TOOL_CHANGE_MILL (DEMO.SRC lines 47-52)", "caller CALC_INIT_TOOL_CHANGE_MILL", "offline explanation"} {
		if !strings.Contains(sum, w) {
			t.Errorf("the summary of what was left out lacks %q: %s", w, sum)
		}
	}
	if len(ask.Request.LeftOut) == 0 {
		t.Error("the model is not told what was left out")
	}
	if _, err := b.Section(p, e, "", "NO_SUCH_SECTION"); err == nil {
		t.Error("an unknown section was accepted")
	}
}

func TestPackageContext(t *testing.T) {
	p := demo(t)
	ask := Builder{Budget: 16000}.Package(p, p.Overview())
	got := sources(ask.Request)
	if len(got) < 3 || got[0] != "DEMO.SRC:1-10" {
		t.Fatalf("sources %v: want the main source's header first", got)
	}
	// The post's own sections the posting system runs come before the rest.
	if i, j := slices.Index(got, "DEMO.SRC:42-46"), slices.Index(got, "DEMO.SRC:53-57"); i < 0 || j < 0 || i > j {
		t.Errorf("sources %v: START_OF_TAPE should come before CALC_END_OF_TAPE", got)
	}
	for _, s := range got {
		if strings.HasPrefix(s, "MILL.LIB") {
			t.Errorf("a stock library's section is among the key sections: %v", got)
		}
	}
	if n := notes(ask.Request); len(n) < 2 || n[0] != "package overview" {
		t.Errorf("notes %v", n)
	}
}

func TestTerms(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{"Where is the tool change output?", "TOOL_CHANGE_OUTPUT TOOL_CHANGE CHANGE_OUTPUT TOOL CHANGE OUTPUT"},
		{"what does G43 do", "G43"},
		{"How is MACHINE_NAME used", "MACHINE_NAME"},
		{"the", ""},
	} {
		if got := strings.Join(Terms(c.q), " "); got != c.want {
			t.Errorf("Terms(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

func TestQuestionContext(t *testing.T) {
	p := demo(t)
	b := Builder{Budget: 16000}
	for _, c := range []struct{ q, first string }{
		{"Where is the tool change output?", "DEMO.SRC:47-52"},    // INIT_TOOL_CHANGE_MILL
		{"When is the program number printed?", "DEMO.SRC:42-46"}, // START_OF_TAPE prints PROGRAM_NO
		{"Does it probe the tool length?", "DEMO.SRC:27-35"},      // the probe tool attribute's remark
		{"what happens at the end of tape", "DEMO.SRC:58-61"},     // END_OF_TAPE
	} {
		ask, err := b.Question(p, p.Overview(), c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := sources(ask.Request); len(got) == 0 || got[0] != c.first {
			t.Errorf("%q: sources %v, want %s first", c.q, got, c.first)
		}
		if ask.Request.Question != c.q || ask.Request.Kind != KindQuestion {
			t.Errorf("request %+v", ask.Request)
		}
	}
	// Nothing matches: the key sections stand in.
	ask, err := b.Question(p, nil, "xyzzy?")
	if err != nil || len(ask.Request.Sources) == 0 {
		t.Fatalf("%v %v", err, ask)
	}
	if _, err := b.Question(p, nil, "   "); err != ErrEmptyQuestion {
		t.Errorf("empty question: %v", err)
	}
	if _, err := b.Question(p, nil, strings.Repeat("x", MaxQuestionBytes+1)); err == nil {
		t.Error("an overlong question was accepted")
	}
}

func TestChangeContext(t *testing.T) {
	a := readDir(t, demoDir)
	bside := readDir(t, "../explain/testdata/change/demo-mill-v2")
	r, e := explain.ChangeOf(a, bside, diff.Options{})
	b := Builder{Budget: 16000, FileID: func(side, f string) string { return side + "-" + f }}
	ask := b.Change(r, e)
	got := sources(ask.Request)
	for _, w := range []string{"A/DEMO.SRC:45-52", "B/DEMO.SRC:45-53"} {
		if !slices.Contains(got, w) {
			t.Errorf("sources %v lack the hunk %s", got, w)
		}
	}
	for _, s := range ask.Request.Sources {
		side, name := SideOf(s.File)
		if s.ID != side+"-"+name {
			t.Errorf("source %s has id %q", s.File, s.ID)
		}
	}
	// The side file's hunk comes after the source hunks.
	if last := got[len(got)-1]; !strings.Contains(last, "DEMO.CNF") {
		t.Errorf("sources %v: the .CNF hunk should come last", got)
	}
	if n := notes(ask.Request); len(n) != 1 || !strings.Contains(ask.Request.Notes[0].Text, "runs in its place now") {
		t.Errorf("notes %v", ask.Request.Notes)
	}
	if ask.Request.Kind != KindChange || !strings.Contains(ask.Request.Instructions, "A/") {
		t.Errorf("request %+v", ask.Request)
	}
	// The built request is one the copilot accepts.
	if _, err := llm.New(llm.Options{Provider: llm.ProviderOpenAI, Model: "m"}); err != nil {
		t.Fatal(err)
	}
}

// TestNoteShare: a long offline explanation is cut to its share of the
// budget, so the lines it talks about still fit.
func TestNoteShare(t *testing.T) {
	b := Builder{Budget: 1000}
	pc := b.note("long", strings.Repeat("a line of prose\n", 2000))
	if n := pc.Note.Tokens(); n > 1000/noteShare+50 {
		t.Errorf("note of %d tokens with a 1000-token budget", n)
	}
	if !strings.Contains(pc.Note.Text, "left out") {
		t.Error("a cut note does not say so")
	}
}

// TestRankCorpus asks questions of the real Tormach post: the first
// section offered must be the one an engineer would open.
func TestRankCorpus(t *testing.T) {
	var p *explain.Package
	for _, c := range testenv.CorpusPackages(t) {
		if c.Name == "tormach-pcnc1100" {
			s := diff.Side{}
			for _, f := range c.Files {
				s.Files = append(s.Files, diff.File{Name: f.Name, Data: f.Data})
			}
			p = explain.AnalyzeSide(s)
		}
	}
	if p == nil {
		t.Skip("the Tormach corpus package is missing")
	}
	for _, c := range []struct{ q, want string }{
		{"Where is the tool change output?", "TOOL_CHANGE"},
		{"How does it output coolant?", "COOLANT"},
		{"what is printed at the start of the program", "START"},
	} {
		spans := Rank(p, Terms(c.q))
		if len(spans) == 0 || !strings.Contains(upg.CanonicalName(spans[0].Name), c.want) {
			top := spans[:min(5, len(spans))]
			t.Errorf("%q ranks first %v, want a name holding %s", c.q, top, c.want)
		}
	}
}
