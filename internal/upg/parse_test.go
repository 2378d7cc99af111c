package upg

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/textfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkLexerTags asserts that the grammar tags the lexer notes while it
// emits tokens (Parse's) are the tags tagOf computes from the tokens'
// bytes (Section.Body's build).
func checkLexerTags(t *testing.T, f *File, src []byte) {
	t.Helper()
	lx := newLexer(src, true)
	lx.tags = []uint8{}
	lx.run()
	p := newParser(f, true, new(workspace))
	p.kinds, p.ends = lx.kinds, lx.ends
	for i := range lx.kinds {
		got := uint8(tagNone)
		if i < len(lx.tags) {
			got = lx.tags[i]
		}
		if want := p.tagOf(int32(i)); got != want {
			t.Fatalf("token %d (%s %q): the lexer's tag is %d, tagOf says %d", i, lx.kinds[i], src[tokOffset(lx.ends, int32(i)):lx.ends[i]], got, want)
		}
	}
}

// checkInvariants asserts what must hold for every parse of every input:
// the tree prints back to the input byte for byte, tokens cover the input
// contiguously with correct positions, every line is classified, the
// lexer-only token stream equals the parser's, and every node lies inside
// the file.
func checkInvariants(t *testing.T, f *File, src []byte) {
	t.Helper()
	if got := f.Bytes(); !bytes.Equal(got, src) {
		i := 0
		for i < len(got) && i < len(src) && got[i] == src[i] {
			i++
		}
		t.Fatalf("round trip differs at byte %d (printed %d bytes, input %d)", i, len(got), len(src))
	}
	checkLexerTags(t, f, src)
	// tokens
	toks := f.Tokens()
	if len(toks) != f.NumTokens() {
		t.Fatalf("Tokens() has %d tokens, NumTokens() %d", len(toks), f.NumTokens())
	}
	off := int32(0)
	for i, tk := range toks {
		if tk.Offset != off {
			t.Fatalf("token %d (%s) starts at %d, want %d", i, tk.Kind, tk.Offset, off)
		}
		if tk.End <= tk.Offset {
			t.Fatalf("token %d (%s) is empty at %d", i, tk.Kind, tk.Offset)
		}
		if tk.Kind == TokInvalid || tk.Kind >= numTokenKinds {
			t.Fatalf("token %d has invalid kind %d", i, tk.Kind)
		}
		pos := f.Position(int(tk.Offset))
		if int(tk.Line) != pos.Line || int(tk.Col) != pos.Col {
			t.Fatalf("token %d at %d: line:col %d:%d, want %d:%d", i, tk.Offset, tk.Line, tk.Col, pos.Line, pos.Col)
		}
		switch text := string(src[tk.Offset:tk.End]); tk.Kind {
		case TokEOL:
			if text != "\n" && text != "\r" && text != "\r\n" {
				t.Fatalf("eol token %d is %q", i, text)
			}
		case TokSpace:
			if tk.Offset == 0 {
				text = strings.TrimPrefix(text, "\xEF\xBB\xBF")
			}
			if strings.Trim(text, " \t") != "" {
				t.Fatalf("space token %d is %q", i, text)
			}
		}
		if i%97 == 0 && f.TokenAt(i) != tk {
			t.Fatalf("TokenAt(%d) = %+v, want %+v", i, f.TokenAt(i), tk)
		}
		off = tk.End
	}
	if int(off) != len(src) {
		t.Fatalf("tokens end at %d, file has %d bytes", off, len(src))
	}
	lx := newLexer(src, false)
	lx.run()
	if lx.gap {
		t.Fatalf("the lexer left a gap between two tokens")
	}
	// lines: "\r\n", "\n" and a lone "\r" each end one
	if want := textfile.CountLines(src); len(f.Lines) != want {
		t.Fatalf("%d lines classified, file has %d", len(f.Lines), want)
	}
	lo := int32(0)
	for i, ln := range f.Lines {
		if ln.Kind == LineInvalid || ln.Kind >= numLineKinds {
			t.Fatalf("line %d is not classified", i+1)
		}
		if ln.Offset != lo || ln.End < ln.Offset || ln.EOLEnd() < ln.End {
			t.Fatalf("line %d has a bad span %d..%d..%d (want start %d)", i+1, ln.Offset, ln.End, ln.EOLEnd(), lo)
		}
		if term := string(src[ln.End:ln.EOLEnd()]); term != "" && term != "\n" && term != "\r\n" && term != "\r" || term == "" && int(ln.EOLEnd()) != len(src) {
			t.Fatalf("line %d ends with %q", i+1, term)
		}
		if last := lastTok(f.Lines, i, len(toks)); ln.FirstTok >= last || toks[ln.FirstTok].Offset != ln.Offset || toks[last-1].End != ln.EOLEnd() {
			t.Fatalf("line %d: tokens do not cover the line", i+1)
		}
		lo = ln.EOLEnd()
	}
	if !slices.Equal(Tokenize(src), toks) {
		t.Fatalf("Tokenize and Parse disagree on the token stream")
	}
	for _, it := range f.Items {
		Inspect(it, func(n Node) bool {
			if n == nil {
				return false
			}
			if n.Pos() < 0 || n.End() < n.Pos() || n.End() > len(src) {
				t.Fatalf("node %T has a bad span %d..%d (file %d bytes)", n, n.Pos(), n.End(), len(src))
			}
			return true
		})
	}
	// The statement nodes built on first use come from the same tokens and
	// code as the check Parse made: the same number of nodes of each kind.
	if len(f.Sections) > 0 {
		f.Sections[0].Body()
		if f.builtSizes != f.bodySizes {
			t.Fatalf("Section.Body built %v nodes, Parse checked %v", f.builtSizes, f.bodySizes)
		}
	}
	for _, d := range f.Diagnostics {
		if d.Code == "" || d.Severity < SeverityError || d.Severity > SeverityInfo || d.Line < 1 || d.Col < 1 || d.Message == "" || d.End < d.Offset {
			t.Fatalf("malformed diagnostic %+v", d)
		}
	}
}

func golden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the parse; run with -update if the change is intended.\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, w, g)
		}
	}
	return ""
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

// TestGoldenConstructs parses one small fixture per language construct and
// compares the line classification, tree and diagnostics with a golden file.
func TestGoldenConstructs(t *testing.T) {
	for _, path := range fixtures(t, "testdata/parse") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := Parse(filepath.Base(path), src)
			checkInvariants(t, f, src)
			for _, d := range f.Diagnostics {
				if d.Severity == SeverityError {
					t.Errorf("construct fixture has an error: %s", d)
				}
			}
			golden(t, path+".golden", f.Dump())
		})
	}
}

// TestGoldenDiagnostics parses one fixture per diagnostic code (the file is
// named after the code), checks that the code is reported, and compares
// everything with a golden file.
func TestGoldenDiagnostics(t *testing.T) {
	for _, path := range fixtures(t, "testdata/diag") {
		code := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(code, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := Parse(filepath.Base(path), src)
			checkInvariants(t, f, src)
			found := false
			for _, d := range f.Diagnostics {
				found = found || d.Code == code
			}
			if !found {
				t.Errorf("%s does not report %s; got:\n%s", path, code, f.Dump())
			}
			golden(t, path+".golden", f.Dump())
		})
	}
}

// TestEveryCodeHasFixture: each diagnostic code has a fixture, either a
// parse fixture testdata/diag/CODE.SRC or a package fixture in
// resolve/testdata/CODE.
func TestEveryCodeHasFixture(t *testing.T) {
	for _, c := range Codes() {
		if _, err := os.Stat(filepath.Join("testdata/diag", c.Code+".SRC")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join("resolve/testdata", c.Code)); err == nil {
			continue
		}
		t.Errorf("diagnostic %s has no fixture (testdata/diag/%s.SRC or resolve/testdata/%s/)", c.Code, c.Code, c.Code)
	}
}

// TestCorpus: every real source file parses with zero error diagnostics,
// round-trips byte for byte and has every line classified (file by file).
func TestCorpus(t *testing.T) {
	files := corpusSources(t)
	if len(files) < 10 {
		t.Fatalf("only %d corpus source files found", len(files))
	}
	for _, cf := range files {
		t.Run(cf.Rel, func(t *testing.T) {
			f := Parse(cf.Rel, cf.Src)
			checkInvariants(t, f, cf.Src)
			for _, d := range f.Diagnostics {
				if d.Severity == SeverityError {
					t.Errorf("error diagnostic: %s", d)
				}
			}
			kinds := map[LineKind]int{}
			for _, ln := range f.Lines {
				kinds[ln.Kind]++
			}
			classified := 0
			for k, n := range kinds {
				if k != LineInvalid {
					classified += n
				}
			}
			if classified != len(f.Lines) {
				t.Errorf("%d of %d lines classified", classified, len(f.Lines))
			}
			t.Logf("%d lines (100%% classified), %d tokens, %d sections, %d attributes, %d diagnostics",
				len(f.Lines), f.NumTokens(), len(f.Sections), len(f.Attributes), len(f.Diagnostics))
		})
	}
}

// TestCorpusSummary pins per-file counts of the corpus so that parser
// changes that move them are noticed (run with -update when intended, and
// bump ParserVersion).
func TestCorpusSummary(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "# parser version %d\n", ParserVersion)
	for _, cf := range corpusSources(t) {
		f := Parse(cf.Rel, cf.Src)
		kinds := map[string]int{}
		for _, ln := range f.Lines {
			kinds[ln.Kind.String()]++
		}
		codes := map[string]int{}
		for _, d := range f.Diagnostics {
			codes[d.Code]++
		}
		stmts := 0
		for _, s := range f.Sections {
			for range s.Body() {
				stmts++
			}
		}
		fmt.Fprintf(&b, "%s: lines=%d tokens=%d headers=%d defines=%d includes=%d attributes=%d operations=%d sections=%d top-level-stmts=%d refs=%d family=%q\n",
			cf.Rel, len(f.Lines), f.NumTokens(), len(f.Headers), len(f.Defines), len(f.Includes), len(f.Attributes),
			len(f.Operations), len(f.Sections), stmts, len(f.References()), f.ControlFamily)
		fmt.Fprintf(&b, "  line kinds: %s\n", sortedCounts(kinds))
		fmt.Fprintf(&b, "  diagnostics: %s\n", sortedCounts(codes))
	}
	golden(t, "testdata/corpus_summary.golden", b.String())
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// TestFileMarshals: a whole File can be encoded as JSON (no cycles).
func TestFileMarshals(t *testing.T) {
	for _, path := range fixtures(t, "testdata/parse") {
		src, _ := os.ReadFile(path)
		f := Parse(path, src)
		if _, err := json.Marshal(f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if _, err := json.Marshal(f.Tree()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}

// TestMarkers: the control-family marker of line 1 is captured.
func TestMarkers(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"*FANUCM\n:SYSTEM=MILL\n", "FANUCM"},
		{"*PathPilot\r\n", "PathPilot"},
		{"*     Universal LATHE Post\n", ""},
		{"*-----------\n", ""},
		{":SYSTEM=MILL\n*FANUCM\n", ""},
	} {
		f := Parse("x.SRC", []byte(c.src))
		if f.ControlFamily != c.want {
			t.Errorf("%q: family %q, want %q", c.src, f.ControlFamily, c.want)
		}
	}
}

// TestNamesWithBlanks: attribute names with blanks equal their underscore form.
func TestNamesWithBlanks(t *testing.T) {
	for _, c := range [][2]string{
		{"MACHINE NAME", "MACHINE_NAME"}, {"machine_name", "MACHINE_NAME"}, {"  Machine   Name ", "MACHINE_NAME"},
		{"comment 1", "COMMENT_1"}, {"CAM_REV2014_SP0.1", "CAM_REV2014_SP0.1"}, {"", ""},
	} {
		if got := CanonicalName(c[0]); got != c[1] {
			t.Errorf("CanonicalName(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	f := Parse("x.LIB", []byte(":ATTRNAME=MACHINE NAME\n:ATTRDEFAULT=Mill\n:ATTREND\n:SECTION=S\n:T:<MACHINE_NAME><EOL>\n"))
	if a := f.Attribute("machine_name"); a == nil || a.Default() != "Mill" {
		t.Fatalf("Attribute(machine_name) = %+v", a)
	}
	refs := f.References()
	if len(refs) != 1 || CanonicalName(refs[0].Name) != f.Attributes[0].CanonicalName() {
		t.Fatalf("references %+v", refs)
	}
}

// TestPositions: diagnostics carry correct line/col/offset.
func TestPositions(t *testing.T) {
	src := []byte("*x\r\n:SECTION=CALC_A\r\n:C:   IF A=1 THEN\r\n")
	f := Parse("p.SRC", src)
	if len(f.Diagnostics) != 1 {
		t.Fatalf("diagnostics %v", f.Diagnostics)
	}
	d := f.Diagnostics[0]
	if d.Code != CodeUnbalancedIf || d.Line != 3 || d.Col != 7 || d.Offset != bytes.Index(src, []byte("IF")) || d.File != "p.SRC" {
		t.Fatalf("diagnostic %+v", d)
	}
	want := "p.SRC:3:7: error UPG_UNBALANCED_IF: "
	if !strings.HasPrefix(d.String(), want) {
		t.Fatalf("String() = %q", d.String())
	}
}

// TestOutline checks the outline of a small file.
func TestOutline(t *testing.T) {
	src, err := os.ReadFile("testdata/parse/constructs.SRC")
	if err != nil {
		t.Fatal(err)
	}
	o := Parse("constructs.SRC", src).Outline()
	if o.ControlFamily != "FANUCM" || o.System != "MILL" || o.ParserVersion != ParserVersion {
		t.Fatalf("outline header %+v", o)
	}
	if len(o.Attributes) != 1 || o.Attributes[0].Name != "MACHINE NAME" || o.Attributes[0].Canonical != "MACHINE_NAME" ||
		o.Attributes[0].Type != "DESCRIPTOR" || o.Attributes[0].Default != "My Mill" || o.Attributes[0].Line != 6 || !o.Attributes[0].Terminated {
		t.Fatalf("attributes %+v", o.Attributes)
	}
	if len(o.Libraries) != 2 || o.Libraries[1].FileName != "MILL.LIB" || o.Libraries[0].Directive != "library" {
		t.Fatalf("libraries %+v", o.Libraries)
	}
	if len(o.Operations) != 1 || o.Operations[0].ID != "MILL_DRILLING" || o.Operations[0].Sub != "PECKING" || o.Operations[0].List[0] != "work coord" {
		t.Fatalf("operations %+v", o.Operations)
	}
	if len(o.Sections) != 2 {
		t.Fatalf("sections %+v", o.Sections)
	}
	s0, s1 := o.Sections[0], o.Sections[1]
	// START_OF_TAPE is a template the posting engine outputs itself.
	if s0.Name != "START_OF_TAPE" || s0.Kind != SectionSystem || s0.Line != 18 || s0.EndLine != 22 || s0.TemplateLines != 3 {
		t.Fatalf("section 0 %+v", s0)
	}
	if k := SectionKindOf(&Section{Name: "MY_HELPER_TEMPLATE"}); k != SectionUser {
		t.Fatalf("a section the catalogue does not know is %q, want user", k)
	}
	if s1.Name != "CALC_X" || s1.Kind != SectionCalc || len(s1.Params) != 2 || s1.CalcLines != 6 || s1.End != len(src) {
		t.Fatalf("section 1 %+v", s1)
	}
	if string(src[s0.Offset:s0.Offset+len(":SECTION=START_OF_TAPE")]) != ":SECTION=START_OF_TAPE" {
		t.Fatalf("section byte range %d..%d", s0.Offset, s0.End)
	}
	f := Parse("sys.SRC", []byte(":SECTION=CALC_START_OF_TAPE\n:C: X=1\n"))
	if k := f.Outline().Sections[0]; k.Kind != SectionSystem || k.Meaning == "" {
		t.Fatalf("system section %+v", k)
	}
}

// TestCatalog checks name lookups in the embedded catalogue.
func TestCatalog(t *testing.T) {
	if e, ok := LookupKind(":attrcfunc", CatAttributeCommand); !ok || e.Name != ":ATTRCFUNC" || e.Meaning == "" {
		t.Fatalf("ATTRCFUNC: %+v %v", e, ok)
	}
	if e, ok := LookupKind("CALC_START_OF_TAPE", CatSystemSection); !ok || !strings.Contains(e.Meaning, "program start") {
		t.Fatalf("CALC_START_OF_TAPE: %+v", e)
	}
	es := Lookup("N_TOOL_COMMENT")
	if len(es) == 0 || es[0].Prefix != "N_" || es[0].Kind != CatSystemVariable {
		t.Fatalf("N_TOOL_COMMENT: %+v", es)
	}
	if Lookup("NO_SUCH_NAME_X") != nil {
		t.Fatal("unknown name found")
	}
	for _, n := range []string{"TOOL_COMMENT", "P_TOOL_COMMENT", "YES", "GC", "G_RIGHT_PLACES", "CAM_REV2010", "CAM_REV2014_SP0.1", "tool comment"} {
		if !IsSystemName(n) {
			t.Errorf("IsSystemName(%q) = false", n)
		}
	}
	if IsSystemName("MY_POST_VAR") || !IsSystemSection("calc_start_of_tape") || IsSystemSection("START_OF_TAPE") {
		t.Fatal("system name/section classification")
	}
	if len(CatalogEntries()) < 1900 {
		t.Fatalf("catalogue has %d entries", len(CatalogEntries()))
	}
}

// TestCatalogCopyIsCurrent: the embedded names.tsv equals the shared
// original when it is present.
func TestCatalogCopyIsCurrent(t *testing.T) {
	root := filepath.Dir(corpusDir(t))
	orig, err := os.ReadFile(filepath.Join(root, "upg", "names.tsv"))
	if err != nil {
		t.Skipf("!!!!! SKIPPED: shared names.tsv not found: %v !!!!!", err)
	}
	if string(orig) != namesTSV {
		t.Fatal("internal/upg/names.tsv differs from ../shared/upg/names.tsv; copy it again and bump ParserVersion")
	}
}

// TestKindNamesStable pins the token and line kind names the UI relies on.
func TestKindNamesStable(t *testing.T) {
	want := "space eol comment marker eof header directive attribute-command section prefix name value path keyword function variable number string operator punct template-text token format text error"
	if got := strings.Join(TokenKinds(), " "); got != want {
		t.Fatalf("token kinds changed:\n got %s\nwant %s", got, want)
	}
	wantL := "blank comment marker header define library include attribute-start attribute-command attribute-end operation-start operation-command operation-end section template calc text eof ignored"
	if got := strings.Join(LineKinds(), " "); got != wantL {
		t.Fatalf("line kinds changed:\n got %s\nwant %s", got, wantL)
	}
	var k TokenKind
	if err := k.UnmarshalText([]byte("template-text")); err != nil || k != TokTemplateText {
		t.Fatal("UnmarshalText")
	}
}

// TestNeverPanics feeds assorted junk to the parser.
func TestNeverPanics(t *testing.T) {
	inputs := []string{
		"", "\n", "\r\n", ":", "::", ":T:", ":C:", ":C", ":T", ":C12", ":C:<", ":T:<", ":T:<\"", ":T:<#", ":T:<X!:", ":T:IF",
		":T:IF A", ":T:IF A THEN", ":C: IF", ":C: IF A THEN", ":C: CALL", ":C: CALL(", ":C: CALL(X(", ":C: ((((", ":C: ))))",
		":SECTION=", ":SECTION=(", ":SECTION=X(", ":SECTION=X(,", ":ATTRCFUNC=X(1,", ":DEFINE", ":DEFINE =", "\x1a", "\x00",
		":ATTRNAME=A\n:ATTRCFUNC=F(,)\n", ":SECTION=CALC_A\n:C: X=<Y>\n", ":SECTION=A\n:T:<X:<Y>>\n", ":C: GOTO99999999999999999999",
		"*START COMMENTS\n:C: x\n", ":SECTION=CALC\n:C: SETON(<)\n", ":SECTION=CALC\n:C: F(<X!>,<Y>)\n",
	}
	for _, in := range inputs {
		f := Parse("junk.SRC", []byte(in))
		checkInvariants(t, f, []byte(in))
		_ = f.Outline()
		_ = f.Tree()
		_ = f.References()
		_ = f.Dump()
	}
}

// TestDocListsEveryCode: docs/upg-language.md has a row for every
// diagnostic code, with its severity.
func TestDocListsEveryCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "upg-language.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Codes() {
		row := fmt.Sprintf("| `%s` | %s |", c.Code, c.Severity)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/upg-language.md has no row starting %q", row)
		}
	}
}
