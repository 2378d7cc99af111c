package explain

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixture is a package to explain: a corpus package or one of ours.
type fixture struct {
	name   string
	inputs []Input
	ranges []lineRange // line ranges to explain (fixtures list them in ranges.txt)
}

type lineRange struct {
	file     string
	from, to int
}

func corpusFixtures(t *testing.T) []fixture {
	var out []fixture
	for _, p := range testenv.CorpusPackages(t) {
		fx := fixture{name: "corpus-" + p.Name}
		for _, f := range p.Files {
			fx.inputs = append(fx.inputs, Input{Name: f.Name, Data: f.Data})
		}
		out = append(out, fx)
	}
	return out
}

func ownFixtures(t *testing.T) []fixture {
	dirs, err := os.ReadDir("testdata/fixtures")
	if err != nil {
		t.Fatal(err)
	}
	var out []fixture
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("testdata/fixtures", d.Name())
		fx := fixture{name: "fixture-" + d.Name()}
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if f.Name() == "ranges.txt" {
				sc := bufio.NewScanner(bytes.NewReader(data))
				for sc.Scan() {
					name, rng, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
					if !ok {
						continue
					}
					a, b, _ := strings.Cut(rng, "-")
					from, _ := strconv.Atoi(a)
					to, _ := strconv.Atoi(b)
					fx.ranges = append(fx.ranges, lineRange{name, from, to})
				}
				continue
			}
			fx.inputs = append(fx.inputs, Input{Name: f.Name(), Data: data})
		}
		out = append(out, fx)
	}
	return out
}

// systemSections returns the package's winning definitions of the sections
// the posting system or the catalogue knows by name, sorted by name.
func systemSections(p *Package) []*definition {
	var out []*definition
	for name := range p.sectionsBy {
		d := p.sectionDef(name)
		if d != nil && d.Type == upg.SectionSystem {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/explain -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", name, i+1, g, w)
			}
		}
	}
}

// TestGoldenCorpus explains the overview and every system section kind that
// occurs in each corpus package. The corpus is other people's code, so its
// golden file records the shape of each explanation (parts and sentence
// counts) and a SHA-256 of the full Markdown rather than the text itself;
// on a difference the full explanations are written next to the test's
// artifacts for review.
func TestGoldenCorpus(t *testing.T) {
	for _, fx := range corpusFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			p := Analyze(fx.inputs)
			var digest, full strings.Builder
			add := func(e *Explanation) {
				md := Markdown(e, nil)
				full.WriteString(md)
				digest.WriteString(e.Title)
				if e.File != "" {
					digest.WriteString(" (" + Cite{File: e.File, Start: e.Start, End: e.End}.String() + ")")
				}
				digest.WriteString(" sha256:" + sha256Hex([]byte(md))[:16] + "\n")
				for _, part := range e.Parts {
					digest.WriteString("  " + part.Title + ": " + plural(len(part.Sentences), "sentence", "sentences") + "\n")
				}
			}
			add(p.Overview())
			secs := systemSections(p)
			if len(secs) == 0 {
				t.Fatal("no system sections found")
			}
			for _, d := range secs {
				e, err := p.Section(d.File, d.Name)
				if err != nil {
					t.Fatalf("%s: %v", d.Name, err)
				}
				add(e)
			}
			if !*update {
				want, _ := os.ReadFile(filepath.Join("testdata", "golden", fx.name+".txt"))
				if string(want) != digest.String() {
					dir := os.Getenv("VERIPOST_ARTIFACTS")
					if dir == "" {
						dir = t.TempDir()
					}
					path := filepath.Join(dir, fx.name+".md")
					if err := os.WriteFile(path, []byte(full.String()), 0o644); err == nil {
						t.Logf("the full explanations are in %s", path)
					}
				}
			}
			checkGolden(t, fx.name+".txt", []byte(digest.String()))
		})
	}
}

// TestGoldenFixtures explains everything in our own small packages: the
// overview, every section (duplicates too), every attribute and constant,
// some names the package only uses, and the line ranges of ranges.txt.
func TestGoldenFixtures(t *testing.T) {
	for _, fx := range ownFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			p := Analyze(fx.inputs)
			var b strings.Builder
			for _, e := range allExplanations(t, p, fx) {
				b.WriteString(Markdown(e, nil))
			}
			checkGolden(t, fx.name+".md", []byte(b.String()))
		})
	}
}

// allExplanations explains every subject of a package: the overview, every
// section of every file, every attribute and constant, the names used but
// not defined, and the fixture's line ranges.
func allExplanations(t *testing.T, p *Package, fx fixture) []*Explanation {
	t.Helper()
	out := []*Explanation{p.Overview()}
	for _, name := range p.order {
		f := p.files[name]
		for _, s := range f.Sections {
			out = append(out, p.explainSection(f, s, 0, 0))
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, d := range p.res.Definitions {
		if (d.Kind == symAttribute || d.Kind == symDefine) && !seen[d.Canonical] {
			seen[d.Canonical] = true
			names = append(names, d.Name)
		}
	}
	for _, r := range p.res.References {
		if !isSectionContext(r.Context) && r.Kind != symParam && !seen[r.Canonical] && len(names) < 4000 {
			seen[r.Canonical] = true
			names = append(names, r.Name)
		}
	}
	for _, n := range names {
		e, err := p.Attribute(n)
		if err != nil {
			t.Fatalf("attribute %q: %v", n, err)
		}
		out = append(out, e)
	}
	for _, r := range fx.ranges {
		e, err := p.Lines(r.file, r.from, r.to)
		if err != nil {
			t.Fatalf("lines %v: %v", r, err)
		}
		out = append(out, e)
	}
	return out
}

// words splits text into the tokens a citation check compares: runs of
// letters, digits and dots, upper case (blanks and underscores both
// separate, because an attribute declared "TOOL COMMENT" is used as
// TOOL_COMMENT).
func words(s string) []string {
	f := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r > 127)
	})
	out := f[:0]
	for _, w := range f {
		if w = strings.Trim(w, "."); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// checkCitations checks that every sentence cites lines that exist and
// that every name or value it quotes (in a code span) occurs in them, and
// that every link points at a line naming what it links.
func checkCitations(e *Explanation, text map[string][]string) []string {
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	lineWords := func(c Cite) map[string]bool {
		m := map[string]bool{}
		lines := text[c.File]
		for l := c.Start; l <= c.End && l <= len(lines); l++ {
			for _, w := range words(lines[l-1]) {
				m[w] = true
			}
		}
		return m
	}
	for _, s := range e.Sentences() {
		if len(s.Cites) == 0 {
			errorf("%s: sentence without a citation: %q", e.Title, s.Text)
			continue
		}
		cited := map[string]bool{}
		for _, c := range s.Cites {
			lines, ok := text[c.File]
			if !ok {
				errorf("%s: %q cites %s, which is not a package file", e.Title, s.Text, c)
				continue
			}
			if c.Start < 1 || c.End < c.Start || c.End > len(lines) {
				errorf("%s: %q cites %s, outside the file's %d lines", e.Title, s.Text, c, len(lines))
				continue
			}
			for w := range lineWords(c) {
				cited[w] = true
			}
		}
		for _, span := range CodeSpans(s.Text) {
			for _, w := range words(span) {
				if !cited[w] {
					errorf("%s: %q quotes %q, but %q is not in the cited lines %v", e.Title, s.Text, span, w, s.Cites)
				}
			}
		}
		for _, l := range s.Links {
			lines := text[l.File]
			if l.Line < 1 || l.Line > len(lines) {
				errorf("%s: link %+v is outside %s", e.Title, l, l.File)
				continue
			}
			have := lineWords(Cite{File: l.File, Start: l.Line, End: l.Line})
			for _, w := range words(l.Name) {
				if !have[w] {
					errorf("%s: link to %s points at %s:%d, which does not name it", e.Title, l.Name, l.File, l.Line)
				}
			}
		}
	}
	return problems
}

func fileLines(inputs []Input) map[string][]string {
	m := map[string][]string{}
	for _, in := range inputs {
		s := strings.ReplaceAll(string(in.Data), "\r\n", "\n")
		m[in.Name] = strings.Split(s, "\n")
	}
	return m
}

// TestCitations explains every section, attribute and name of every corpus
// and fixture package, line windows across every source file, and checks
// each sentence against the lines it cites.
func TestCitations(t *testing.T) {
	fixtures := append(ownFixtures(t), corpusFixtures(t)...)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			p := Analyze(fx.inputs)
			text := fileLines(fx.inputs)
			all := allExplanations(t, p, fx)
			// Windows of 40 lines over every source file, stepping 97
			// lines, so every kind of item is cut at some boundary.
			for _, name := range p.order {
				n := len(p.files[name].Lines)
				for from := 1; from <= n; from += 97 {
					e, err := p.Lines(name, from, min(from+39, n))
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, e)
				}
			}
			sentences := 0
			for _, e := range all {
				problems := checkCitations(e, text)
				for _, pr := range problems {
					t.Error(pr)
				}
				sentences += len(e.Sentences())
				if len(problems) > 0 {
					return
				}
			}
			t.Logf("%d explanations, %d sentences checked", len(all), sentences)
		})
	}
}

// TestCitationCheckFails makes sure the citation check rejects what it
// should: a quoted name not on the cited line, a missing citation, a
// citation past the end, a link to a line that does not name its target.
func TestCitationCheckFails(t *testing.T) {
	text := map[string][]string{"A.SRC": {":SECTION=FOO", ":T:<G:43><EOL>"}}
	bad := &Explanation{Title: "bad", Parts: []Part{{Key: PartOutputs, Sentences: []Sentence{
		{Text: "Outputs the `G` code `41`.", Cites: []Cite{{File: "A.SRC", Start: 2, End: 2}}},
		{Text: "No citation."},
		{Text: "Cites past the end.", Cites: []Cite{{File: "A.SRC", Start: 3, End: 3}}},
		{Text: "Links wrongly.", Cites: []Cite{{File: "A.SRC", Start: 1, End: 1}}, Links: []Link{{Kind: "section", Name: "BAR", File: "A.SRC", Line: 1}}},
	}}}}
	problems := checkCitations(bad, text)
	if len(problems) != 4 {
		t.Fatalf("the check found %d problems, want 4: %q", len(problems), problems)
	}
	good := &Explanation{Title: "good", Parts: []Part{{Key: PartOutputs, Sentences: []Sentence{
		{Text: "Outputs the `G` code `43`.", Cites: []Cite{{File: "A.SRC", Start: 2, End: 2}}},
	}}}}
	if p := checkCitations(good, text); len(p) != 0 {
		t.Errorf("a correct sentence was rejected: %q", p)
	}
}

func demo(t *testing.T) *Package {
	t.Helper()
	for _, fx := range ownFixtures(t) {
		if fx.name == "fixture-demo-mill" {
			return Analyze(fx.inputs)
		}
	}
	t.Fatal("no demo-mill fixture")
	return nil
}

func sentenceWith(e *Explanation, part, substr string) *Sentence {
	p := e.Part(part)
	if p == nil {
		return nil
	}
	for i := range p.Sentences {
		if strings.Contains(p.Sentences[i].Text, substr) {
			return &p.Sentences[i]
		}
	}
	return nil
}

// TestSectionFacts checks the key facts of section explanations directly
// (what the goldens record in full).
func TestSectionFacts(t *testing.T) {
	p := demo(t)
	e, err := p.Section("", "INIT_TOOL_CHANGE_MILL")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(e, PartWhen, "calls it when it exists"); s == nil || !strings.Contains(s.Text, "`CALC_INIT_TOOL_CHANGE_MILL`") {
		t.Errorf("INIT_TOOL_CHANGE_MILL: the guarded caller is not named: %+v", e.Part(PartWhen))
	}
	s := sentenceWith(e, PartOutputs, "the `G` code `43`")
	if s == nil {
		t.Fatalf("line 49 is not explained as printing G43: %+v", e.Part(PartOutputs))
	}
	for _, want := range []string{"the text `H`", "`TOOL` formatted as `%2LNT`", "`Z` with the value `SAFE_Z`", "even if unchanged"} {
		if !strings.Contains(s.Text, want) {
			t.Errorf("line 49: %q lacks %q", s.Text, want)
		}
	}
	if s.Cites[0] != (Cite{File: "DEMO.SRC", Start: 49, End: 49}) {
		t.Errorf("line 49 sentence cites %v first", s.Cites)
	}
	if s := sentenceWith(e, PartOutputs, "If `probe_tool` is `2`"); s == nil {
		t.Errorf("the conditional line 50 is not explained with its condition")
	}
	if s := sentenceWith(e, PartOutputs, "block stays open"); s == nil {
		t.Errorf("line 51 has no <EOL>; the explanation should say the block stays open")
	}

	// The library's copy of CALC_START_OF_TAPE loses to DEMO.LIB's.
	lost, err := p.Section("MILL.LIB", "CALC_START_OF_TAPE")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(lost, PartWhen, "never runs"); s == nil || !strings.Contains(s.Text, "DEMO.LIB") {
		t.Errorf("the overridden copy does not say it never runs: %+v", lost.Part(PartWhen))
	}
	win, err := p.Section("", "CALC_START_OF_TAPE")
	if err != nil {
		t.Fatal(err)
	}
	if win.File != "DEMO.LIB" {
		t.Errorf("the winning CALC_START_OF_TAPE is in %s, want DEMO.LIB", win.File)
	}
	if s := sentenceWith(win, PartDepends, "replaces the copy"); s == nil || !strings.Contains(s.Text, "MILL.LIB") {
		t.Errorf("the winning copy does not say what it replaces: %+v", win.Part(PartDepends))
	}
	if s := sentenceWith(win, PartComputes, "Jumps to label 1"); s == nil {
		t.Errorf("the GOTO loop is not explained: %+v", win.Part(PartComputes))
	}
	if s := sentenceWith(win, PartDepends, "`MISSING_HEADER`"); s == nil || !strings.Contains(s.Text, "no file of the package defines") {
		t.Errorf("the call of an undefined section is not flagged")
	}

	// A parameterised section called through :ATTRCFUNC.
	tw, err := p.Section("", "CALC_TOOL_WORD")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(tw, PartWhen, "about to be printed"); s == nil || !strings.Contains(s.Text, "`T`") {
		t.Errorf("CALC_TOOL_WORD: the :ATTRCFUNC caller is not named: %+v", tw.Part(PartWhen))
	}
	// GETTOOLS hands CALC_ADD_TOOL a section.
	at, err := p.Section("", "CALC_ADD_TOOL")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(at, PartWhen, "`GETTOOLS`"); s == nil {
		t.Errorf("CALC_ADD_TOOL: GETTOOLS is not named as its caller: %+v", at.Part(PartWhen))
	}
	// The empty section is a switch.
	sw, err := p.Section("", "DEBUG_SWITCH")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(sw, PartWhen, "only checks whether it exists"); s == nil {
		t.Errorf("DEBUG_SWITCH: the SECTIONEXIST switch is not explained: %+v", sw.Part(PartWhen))
	}
}

func TestAttributeFacts(t *testing.T) {
	p := demo(t)
	e, err := p.Attribute("probe_tool")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(e, PartValues, "Its choices are 1 = `No`, 2 = `Yes`"); s == nil {
		t.Errorf("the SELECT choices are missing: %+v", e.Part(PartValues))
	}
	if s := sentenceWith(e, PartValues, "Its default is `2` (choice `Yes`)"); s == nil {
		t.Errorf("the default is not read as a choice: %+v", e.Part(PartValues))
	}
	if s := sentenceWith(e, PartUses, "read by `INIT_TOOL_CHANGE_MILL`"); s == nil {
		t.Errorf("the use in INIT_TOOL_CHANGE_MILL is missing: %+v", e.Part(PartUses))
	}
	c, err := p.Attribute("COOLANT WORD")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(c, PartValues, "`1` → `M08`"); s == nil {
		t.Errorf("the SELECT codes are missing: %+v", c.Part(PartValues))
	}
	d, err := p.Attribute("LOOP_MAX")
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Constant LOOP_MAX" || sentenceWith(d, PartSummary, "as `3`") == nil {
		t.Errorf("the :DEFINE is not explained: %+v", d)
	}
	sys, err := p.Attribute("TOOL")
	if err != nil {
		t.Fatal(err)
	}
	if s := sentenceWith(sys, PartSummary, "system variable"); s == nil {
		t.Errorf("TOOL is not explained as a system variable: %+v", sys.Parts)
	}
}

func TestOverviewFacts(t *testing.T) {
	p := demo(t)
	e := p.Overview()
	for part, want := range map[string]string{
		PartSummary:     "The machine is `Demo Mill 3X`",
		PartLibraries:   "pulls in MILL.LIB, the file name of a stock library; this copy is variant " + sha256Hex(p.files["MILL.LIB"].Src)[:12],
		PartOverrides:   "`CALC_START_OF_TAPE` in DEMO.LIB",
		PartSettings:    "`:ALLOW_PROBING=TRUE`",
		PartQuestions:   "`probe tool` “Probe Tool Length”: pick one of `No`, `Yes`",
		PartDiagnostics: "UPG_STRAY_TEXT",
	} {
		if sentenceWith(e, part, want) == nil {
			t.Errorf("overview part %s lacks %q: %+v", part, want, e.Part(part))
		}
	}
	if s := sentenceWith(e, PartSettings, "DEMO.CNF overrides"); s == nil || !strings.Contains(s.Text, "`:MAXIMUM_LINE=120` (the source says `80`)") {
		t.Errorf("the .CNF override is not explained: %+v", e.Part(PartSettings))
	}
}

func TestNotFound(t *testing.T) {
	p := demo(t)
	_, err := p.Section("", "INIT_TOOL_CHANGE")
	var nf *NotFoundError
	if !errors.As(err, &nf) || len(nf.Near) == 0 || nf.Near[0] != "INIT_TOOL_CHANGE_MILL" {
		t.Errorf("Section(INIT_TOOL_CHANGE) = %v, want a not-found error suggesting INIT_TOOL_CHANGE_MILL", err)
	}
	if _, err := p.Section("NOPE.LIB", "X"); !errors.As(err, &nf) || nf.What != "file" {
		t.Errorf("unknown file: %v", err)
	}
	if _, err := p.Attribute("NO_SUCH_NAME_ANYWHERE"); !errors.As(err, &nf) {
		t.Errorf("unknown attribute: %v", err)
	}
	var re *RangeError
	if _, err := p.Lines("DEMO.SRC", 500, 510); !errors.As(err, &re) {
		t.Errorf("lines past the end: %v", err)
	}
	if _, err := p.Lines("DEMO.SRC", 10, 5); !errors.As(err, &re) {
		t.Errorf("reversed range: %v", err)
	}
	if _, err := p.Lines("DEMO.SRC", 1, MaxLines+5); !errors.As(err, &re) {
		t.Errorf("too long a range: %v", err)
	}
}

func TestCodeSpans(t *testing.T) {
	for _, c := range []struct{ in, span string }{
		{"G43", "`G43`"}, {"a  b\n c", "`a b c`"}, {"x`y", "`` x`y ``"}, {"", "` `"},
	} {
		got := codeSpan(c.in)
		if got != c.span {
			t.Errorf("codeSpan(%q) = %q, want %q", c.in, got, c.span)
		}
		back := CodeSpans("see " + got + " here")
		if len(back) != 1 || (c.in != "" && back[0] != strings.Join(strings.Fields(c.in), " ")) {
			t.Errorf("CodeSpans(%q) = %q", got, back)
		}
	}
}

func TestFormatWords(t *testing.T) {
	for in, want := range map[string]string{
		"%2LNT":  "2-digit integer, leading zeros, no unit conversion, trailing zeros",
		"#34L":   "decimal, 3 digits before the point and 4 after, leading zeros",
		"#-3.4":  "decimal, 3 digits before the point and 4 after, a minus sign when negative",
		"%4LT":   "4-digit integer, leading zeros, trailing zeros",
		"bogus":  "",
		"#+34@":  "decimal, 3 digits before the point and 4 after, always a sign, a blank where a sign is left out",
		"%":      "integer",
		"#3.3N.": "decimal, 3 digits before the point and 3 after, no unit conversion, always a decimal point",
	} {
		if got := formatWords(in); got != want {
			t.Errorf("formatWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConcurrentUse: one analysed package serves many explanations at once
// (the loader caches it for every request); run with -race.
func TestConcurrentUse(t *testing.T) {
	p := demo(t)
	want := Markdown(p.Overview(), nil)
	done := make(chan string)
	for range 8 {
		go func() {
			for _, name := range p.order {
				for _, s := range p.files[name].Sections {
					p.explainSection(p.files[name], s, 0, 0)
				}
			}
			done <- Markdown(p.Overview(), nil)
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Fatal("concurrent overviews differ")
		}
	}
}
