package upg

import (
	"strings"
	"testing"
)

// TestRobustness: what a hostile or damaged file does to the parser. Every
// case also goes through checkInvariants (round trip, positions, lines).
func TestRobustness(t *testing.T) {
	count := func(f *File, code string) int {
		n := 0
		for _, d := range f.Diagnostics {
			if d.Code == code {
				n++
			}
		}
		return n
	}
	errors := func(f *File) []Diagnostic {
		var out []Diagnostic
		for _, d := range f.Diagnostics {
			if d.Severity == SeverityError {
				out = append(out, d)
			}
		}
		return out
	}
	section := ":SYSTEM=MILL\n:SECTION=CALC_X\n"
	cases := []struct {
		name  string
		src   string
		check func(t *testing.T, f *File)
	}{
		{"a NUL byte in a normal file is a warning at that spot", section + ":C: A=1\x00\n:C: B=2\n", func(t *testing.T, f *File) {
			d := f.Diagnostics
			if len(d) != 1 || d[0].Code != CodeControlCharacter || d[0].Severity != SeverityWarning || d[0].Line != 3 || d[0].Col != 8 {
				t.Fatalf("diagnostics %v", d)
			}
			if s := f.Sections; len(s) != 1 || len(s[0].Body()) != 2 || len(f.Outline().Sections) != 1 {
				t.Fatalf("the file was not parsed: %+v", s)
			}
		}},
		{"a few control bytes are warnings, the code around them parses", section + ":C: A=\x01\x02 B\x1b+1\n", func(t *testing.T, f *File) {
			if n := count(f, CodeControlCharacter); n != 2 || len(errors(f)) != 0 {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
			a, ok := f.Sections[0].Body()[0].(*AssignStmt)
			if !ok || a.Rhs.(*BinaryExpr).Op != "+" {
				t.Fatalf("body %#v", f.Sections[0].Body())
			}
		}},
		{"names and values on a line with stray bytes are read without them", ":ATTRNAME=MACHINE\x00 NAME\n:ATTRDEFAULT=My\x01Mill\n:ATTREND\n:DEFINE MAX\x00_RPM=12\x0200\n", func(t *testing.T, f *File) {
			if a := f.Attribute("MACHINE_NAME"); a == nil || a.Name != "MACHINE NAME" || a.Default() != "MyMill" {
				t.Fatalf("attribute %+v", f.Attributes)
			}
			if d := f.Defines; len(d) != 1 || d[0].Name != "MAX_RPM" || d[0].Value != "1200" {
				t.Fatalf("defines %+v", d)
			}
			if n := count(f, CodeControlCharacter); n != 4 || len(errors(f)) != 0 {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
		}},
		{"binary content is one error, not a finding per byte", strings.Repeat("\x00\x01AB\x00\x00\x00\n", 100), func(t *testing.T, f *File) {
			if len(f.Diagnostics) != 1 || f.Diagnostics[0].Code != CodeBinaryContent {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
		}},
		{"5,000 nested IFs: one nesting error", section + strings.Repeat(":C: IF A=1 THEN\n", 5000) + ":C: B=1\n" + strings.Repeat(":C: ENDIF\n", 5000) + ":C: C=2\n", func(t *testing.T, f *File) {
			errs := errors(f)
			if len(errs) != 1 || errs[0].Code != CodeNestingTooDeep || errs[0].Line != 3+maxDepth {
				t.Fatalf("%d errors, first %v", len(errs), errs[:min(3, len(errs))])
			}
			if !strings.Contains(errs[0].Message, "ENDIF on line 9803") {
				t.Errorf("message %q does not say where the skipped block ends", errs[0].Message)
			}
			body := f.Sections[0].Body()
			if len(body) != 2 { // the outer IF and C=2
				t.Fatalf("%d top-level statements", len(body))
			}
		}},
		{"two separate deep blocks: one error each", section + strings.Repeat(strings.Repeat(":C: IF A THEN\n", 300)+strings.Repeat(":C: ENDIF\n", 300), 2), func(t *testing.T, f *File) {
			if n := count(f, CodeNestingTooDeep); n != 2 || len(errors(f)) != 2 {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
		}},
		{"5,000 nested parentheses: one error", section + ":C: A=" + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + "\n:C: B=2\n", func(t *testing.T, f *File) {
			if errs := errors(f); len(errs) != 1 || errs[0].Code != CodeNestingTooDeep {
				t.Fatalf("errors %v", errs)
			}
			if len(f.Sections[0].Body()) != 2 {
				t.Fatalf("body %v", f.Sections[0].Body())
			}
		}},
		{"tokens longer than 255 bytes keep their length", "*" + strings.Repeat("-", 1000) + "\n" + section + ":C: A={" + strings.Repeat("x", 300) + "} B=1\n", func(t *testing.T, f *File) {
			toks := f.LineTokens(1)
			if len(toks) != 2 || toks[0].Len() != 1001 || f.TokenAt(0) != toks[0] || len(f.Diagnostics) != 0 {
				t.Fatalf("line 1 tokens %+v, diagnostics %v", toks, f.Diagnostics)
			}
			if b := f.Sections[0].Body(); len(b) != 2 || b[0].(*AssignStmt).Rhs.(*BasicLit).Value != "{"+strings.Repeat("x", 300)+"}" {
				t.Fatalf("body %v", b)
			}
		}},
		{"a UTF-8 BOM is noted, the marker after it recognised", "\xEF\xBB\xBF*FANUCM\n:SYSTEM=MILL\n", func(t *testing.T, f *File) {
			if f.ControlFamily != "FANUCM" || f.Lines[0].Kind != LineMarker || len(f.Diagnostics) != 1 || f.Diagnostics[0].Code != CodeBOM || f.Diagnostics[0].Severity != SeverityInfo {
				t.Fatalf("family %q, line 1 %s, diagnostics %v", f.ControlFamily, f.Lines[0].Kind, f.Diagnostics)
			}
		}},
		{"a BOM before a command", "\xEF\xBB\xBF:SYSTEM=MILL\n", func(t *testing.T, f *File) {
			if v, ok := f.Header("SYSTEM"); !ok || v != "MILL" || count(f, CodeStrayText) != 0 {
				t.Fatalf("header %q %v, diagnostics %v", v, ok, f.Diagnostics)
			}
		}},
		{"a BOM alone", "\xEF\xBB\xBF", func(t *testing.T, f *File) {
			if len(f.Lines) != 1 || f.Lines[0].Kind != LineBlank {
				t.Fatalf("lines %+v", f.Lines)
			}
		}},
		{"a lone CR ends a line", ":SECTION=CALC_X\r:C: A=1\r:C: B=2", func(t *testing.T, f *File) {
			if len(f.Lines) != 3 || f.Lines[1].Kind != LineCalc || len(f.Sections[0].Body()) != 2 || len(f.Diagnostics) != 0 {
				t.Fatalf("%d lines, diagnostics %v", len(f.Lines), f.Diagnostics)
			}
		}},
		{"CR, LF and CRLF in one file", "*FANUCM\r\n:SYSTEM=MILL\r:SECTION=CALC_X\n:C: A=1\r\n\r:C: B=2\n", func(t *testing.T, f *File) {
			kinds := []LineKind{LineMarker, LineHeader, LineSection, LineCalc, LineBlank, LineCalc}
			for i, k := range kinds {
				if f.Lines[i].Kind != k {
					t.Fatalf("line %d is %s, want %s", i+1, f.Lines[i].Kind, k)
				}
			}
			if f.ControlFamily != "FANUCM" || len(f.Diagnostics) != 0 {
				t.Fatalf("family %q, diagnostics %v", f.ControlFamily, f.Diagnostics)
			}
		}},
		{"a lower-case word after '*' is a trailing comment, not the keyword NOT", section + ":C: A=1 * not a comment\n:C: B=2\n", func(t *testing.T, f *File) {
			if count(f, CodeUnsupportedOperator) != 0 || count(f, CodeTrailingComment) != 1 || count(f, CodeBareName) != 0 {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
			for _, d := range f.Diagnostics {
				if strings.Contains(d.Message, "UPG has no") || !strings.Contains(d.Message, `"* not a comment"`) {
					t.Fatalf("message %q does not name what was written", d.Message)
				}
			}
			body := f.Sections[0].Body()
			if a, ok := body[0].(*AssignStmt); len(body) != 2 || !ok || a.Rhs.(*BasicLit).Value != "1" {
				t.Fatalf("body %v", body) // A=1, then B=2: the comment is in no statement
			}
		}},
		{"a lower-case not is a user attribute", section + ":C: A=not\n", func(t *testing.T, f *File) {
			if len(f.Diagnostics) != 0 || len(f.References()) != 2 {
				t.Fatalf("diagnostics %v, references %v", f.Diagnostics, f.References())
			}
		}},
		{"upper-case NOT is reported by the name written", section + ":C: IF Not A=1 THEN\n:C: ENDIF\n", func(t *testing.T, f *File) {
			if errs := errors(f); len(errs) != 1 || errs[0].Code != CodeUnsupportedOperator || !strings.Contains(errs[0].Message, "UPG has no Not") {
				t.Fatalf("errors %v", errs)
			}
		}},
		{"unsupported keywords as names outside code are no findings", ":ATTRNAME=WHILE\n:ATTRTYPE=INTEGER\n:ATTREND\n:DEFINE NOT=1\n:SECTION=ELSEIF(NOT)\n:T:<NOT>\n" +
			":SECTION=CALC_X\n:C: SETON(<WHILE>)\n:C: CALL(ENDWHILE)\n:C: X=NOT\n", func(t *testing.T, f *File) {
			errs := errors(f)
			if len(errs) != 1 || errs[0].Code != CodeUnsupportedOperator || errs[0].Line != 10 {
				t.Fatalf("errors %v", errs)
			}
		}},
		{"a command is read without the control bytes of its line", ":IDHIGH=12\x0034\n:SECTION=AB\x01\n", func(t *testing.T, f *File) {
			if len(f.Headers) != 1 || f.Headers[0].Name() != "IDHIGH" || f.Headers[0].Value() != "1234" {
				t.Fatalf("headers %v", f.Headers)
			}
			if len(f.Sections) != 1 || f.Sections[0].Name != "AB" || f.Sections[0].Header.Value() != "AB" {
				t.Fatalf("sections %v", f.Sections)
			}
		}},
		{"unparenthesised mixed arithmetic is a warning with the parenthesised form", section + ":C: A=B+C*D\n:C: E=(B+C)*D\n:C: F=B+C\n", func(t *testing.T, f *File) {
			if len(f.Diagnostics) != 1 || f.Diagnostics[0].Code != CodeMixedArithmetic || f.Diagnostics[0].Severity != SeverityWarning ||
				!strings.Contains(f.Diagnostics[0].Message, "B+(C*D)") || f.Diagnostics[0].Line != 3 {
				t.Fatalf("diagnostics %v", f.Diagnostics)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := Parse("robust.SRC", []byte(c.src))
			checkInvariants(t, f, []byte(c.src))
			c.check(t, f)
		})
	}
}

// TestCorpusCompiledIsBinary: a real compiled .CTL of the corpus parsed as
// if it were source is one UPG_BINARY_CONTENT error and nothing else.
func TestCorpusCompiledIsBinary(t *testing.T) {
	n := 0
	for _, cf := range corpusFiles(t) {
		if KindOf(cf.Rel) != KindCTL {
			continue
		}
		n++
		f := Parse(cf.Rel, cf.Src)
		checkInvariants(t, f, cf.Src)
		if len(f.Diagnostics) != 1 || f.Diagnostics[0].Code != CodeBinaryContent {
			t.Errorf("%s: %d diagnostics, first %v", cf.Rel, len(f.Diagnostics), f.Diagnostics[:min(2, len(f.Diagnostics))])
		}
	}
	if n == 0 {
		t.Fatal("no .CTL in the corpus")
	}
}
