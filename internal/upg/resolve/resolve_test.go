package resolve

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readPackage(t testing.TB, dir string) []Input {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var in []Input
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".golden") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, Input{Name: e.Name(), Src: b})
	}
	sort.Slice(in, func(i, j int) bool { return in[i].Name < in[j].Name })
	return in
}

// render is a stable, readable dump of a resolved package for goldens.
func render(p *Package) string {
	var b strings.Builder
	m := p.Metadata
	fmt.Fprintf(&b, "metadata: main=%v machine=%q controller=%q system=%q family=%q libraries=%q post=%q/%q\n",
		m.Main, m.MachineName, m.ControllerType, m.System, m.ControlFamily, m.Libraries, m.PostName, m.PostExtension)
	for _, f := range p.Files {
		fmt.Fprintf(&b, "file %s kind=%s role=%s binary=%v lines=%d errors=%d warnings=%d\n", f.Name, f.Kind, f.Role, f.Binary, f.Lines, f.Errors, f.Warnings)
	}
	for _, l := range p.Libraries {
		fmt.Fprintf(&b, "%s %s:%d %q -> %q how=%s folded=%v (%s)\n", l.Directive, l.From, l.Line, l.Path, l.Resolved, l.How, l.CaseInsensitive, l.Explanation)
	}
	for _, d := range p.Definitions {
		fmt.Fprintf(&b, "def %s %q (%s) %s:%d:%d params=%v type=%q overridden=%v\n", d.Kind, d.Name, d.Canonical, d.File, d.Line, d.Col, d.Params, d.Type, d.Overridden)
	}
	for _, r := range p.References {
		fmt.Fprintf(&b, "ref %s:%d:%d %q ctx=%s -> %s/%s", r.File, r.Line, r.Col, r.Name, r.Context, r.Kind, r.Status)
		if r.DefFile != "" {
			fmt.Fprintf(&b, " @%s:%d", r.DefFile, r.DefLine)
		}
		if r.Section != "" {
			fmt.Fprintf(&b, " in %s", r.Section)
		}
		b.WriteByte('\n')
	}
	for _, s := range p.Side {
		j, _ := json.Marshal(s)
		fmt.Fprintf(&b, "side %s\n", j)
	}
	for _, d := range p.Diagnostics {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) || i < len(gl); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs at line %d (run with -update if intended):\n want %q\n got  %q", path, i+1, w, g)
			}
		}
	}
}

// TestGoldenPackages resolves each fixture package under testdata. A
// directory named after a diagnostic code must produce that code.
func TestGoldenPackages(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			p := Resolve(readPackage(t, dir))
			if strings.HasPrefix(name, "UPG_") {
				found := false
				for _, d := range p.Diagnostics {
					found = found || d.Code == name
				}
				if !found {
					t.Errorf("package %s does not report %s:\n%s", dir, name, render(p))
				}
			}
			if _, err := json.Marshal(p); err != nil {
				t.Fatalf("package does not marshal: %v", err)
			}
			golden(t, dir+".golden", render(p))
		})
	}
}

func TestResolution(t *testing.T) {
	p := Resolve(readPackage(t, "testdata/resolution"))
	byPath := map[string]Library{}
	for _, l := range p.Libraries {
		byPath[l.Path] = l
	}
	cases := []struct {
		path, resolved, how string
		folded              bool
	}{
		{`.\My Machine.LIB`, "My Machine.LIB", HowRelative, false},
		{`.\mill.lib`, "MILL.LIB", HowRelative, true},
		{`C:\Posts-SVN\MASTER_LIBRARY_FILES\EXTRA.LIB`, "EXTRA.LIB", HowFileName, false},
		{`F:\LATHE\TOOLS\GENERAL.T32`, "GENERAL.T32", HowFileName, false},
	}
	for _, c := range cases {
		l, ok := byPath[c.path]
		if !ok || l.Resolved != c.resolved || l.How != c.how || l.CaseInsensitive != c.folded || l.Explanation == "" {
			t.Errorf("%s: %+v", c.path, l)
		}
	}
	m := p.Metadata
	if m.MachineName != "My Machine 1100" || m.ControllerType != "PathPilot" || m.System != "MILL" || m.ControlFamily != "PathPilot" || m.PostName != "My Machine" {
		t.Errorf("metadata %+v", m)
	}
	roles := map[string]string{}
	for _, f := range p.Files {
		roles[f.Name] = f.Role
	}
	if roles["MILL.LIB"] != RoleLibrary || roles["GENERAL.T32"] != RoleInclude || roles["My Machine.SRC"] != RoleMain {
		t.Errorf("roles %v", roles)
	}
	if p.HasErrors() {
		t.Errorf("unexpected errors: %v", p.Diagnostics)
	}
}

// ---------------------------------------------------------------- corpus

func corpusRoot(t testing.TB) string { return testenv.CorpusDir(t) }

// TestCorpusPackages resolves every corpus package and pins what it finds:
// libraries, counts of definitions and references, metadata. The golden
// file is testdata/corpus_packages.golden (run with -update when a change is
// intended and bump upg.ParserVersion).
func TestCorpusPackages(t *testing.T) {
	root := corpusRoot(t)
	dirs, _ := os.ReadDir(root)
	var b strings.Builder
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		p := Resolve(readPackage(t, filepath.Join(root, d.Name())))
		s := p.Summary()
		fmt.Fprintf(&b, "== %s\n", d.Name())
		m := p.Metadata
		fmt.Fprintf(&b, "metadata: main=%v machine=%q controller=%q system=%q family=%q post=%q\n", m.Main, m.MachineName, m.ControllerType, m.System, m.ControlFamily, m.PostName)
		for _, f := range p.Files {
			fmt.Fprintf(&b, "file %-45s %-5s %s\n", f.Name, f.Kind, f.Role)
		}
		for _, l := range p.Libraries {
			fmt.Fprintf(&b, "%s %q -> %q (%s)\n", l.Directive, l.Path, l.Resolved, l.How)
		}
		fmt.Fprintf(&b, "definitions: %v\nreferences: %v\nunresolved libraries: %d errors: %d warnings: %d\n", sortedMap(s.Definitions), sortedMap(s.References), s.Unresolved, s.Errors, s.Warnings)
		codes := map[string]int{}
		for _, dg := range p.Diagnostics {
			codes[dg.Code]++
		}
		fmt.Fprintf(&b, "diagnostics: %v\n", sortedMap(codes))
		// every library a package ships resolves
		for _, l := range p.Libraries {
			if l.How == HowUnresolved && !strings.EqualFold(upg.BaseName(l.Path), "MILL.LIB") {
				t.Errorf("%s: library %s unresolved", d.Name(), l.Path)
			}
		}
		// a known-to-be-shipped library resolves by file name
		if p.HasErrors() {
			for _, dg := range p.Diagnostics {
				if dg.Severity == upg.SeverityError {
					t.Errorf("%s: %s", d.Name(), dg)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d corpus packages", n)
	}
	golden(t, "testdata/corpus_packages.golden", b.String())
}

func sortedMap(m map[string]int) string {
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

// TestTormachMetadata: the Tormach PCNC 1100 package names its machine and
// its PathPilot controller, and its libraries resolve.
func TestTormachMetadata(t *testing.T) {
	root := corpusRoot(t)
	p := Resolve(readPackage(t, filepath.Join(root, "tormach-pcnc1100")))
	m := p.Metadata
	if m.MachineName != "Tormach PCNC1100 Series 3" || m.ControllerType != "PathPilot" || m.ControlFamily != "PathPilot" || m.System != "MILL" {
		t.Fatalf("metadata %+v", m)
	}
	if len(m.Main) != 1 || m.Main[0] != "Tormach PCNC1100 Series 3.SRC" || m.PostName != "Tormach PCNC1100 Series 3" || m.PostExtension != "nc" {
		t.Fatalf("metadata %+v", m)
	}
	for _, l := range p.Libraries {
		if l.How != HowRelative || l.Resolved == "" {
			t.Errorf("library %+v", l)
		}
	}
	// the SRC's CALC_POST_PROGRAM_STOP overrides MILL.LIB's
	found := false
	for _, d := range p.Diagnostics {
		if d.Code == upg.CodeSectionInTwoFiles && d.File == "MILL.LIB" && strings.Contains(d.Message, "CALC_POST_PROGRAM_STOP") && strings.Contains(d.Message, "Tormach PCNC1100 Series 3.SRC") {
			found = true
		}
	}
	if !found {
		t.Error("no override diagnostic for CALC_POST_PROGRAM_STOP")
	}
	// references to MACHINE_NAME resolve to the SRC's attribute
	for _, r := range p.References {
		if r.Canonical == "STOP_NEXT" && r.Status != StatusDefined {
			t.Errorf("STOP_NEXT: %+v", r)
		}
	}
}

// TestLibraryMissingIsNotAnError: in the GRBL packages, which include the
// unshipped stock MILL.LIB, unknown names are "library-missing", not errors.
func TestLibraryMissingIsNotAnError(t *testing.T) {
	root := corpusRoot(t)
	for _, name := range []string{"grbl-post", "scl-sw-grbl"} {
		p := Resolve(readPackage(t, filepath.Join(root, name)))
		s := p.Summary()
		if s.Unresolved != 1 || s.References[StatusLibraryMissing] == 0 || s.References[StatusUndefined] != 0 || s.Errors != 0 {
			t.Errorf("%s: %+v", name, s)
		}
	}
}

// TestNeverPanics resolves odd packages.
func TestNeverPanics(t *testing.T) {
	pkgs := [][]Input{
		nil,
		{{Name: "", Src: nil}},
		{{Name: "A.SRC", Src: []byte(":LIBRARY=\n:LIBRARY=.\\A.SRC\n:SECTION=\n")}},
		{{Name: "X.CNF", Src: []byte(":CONFIG_SELECT_END\n:CONFIG_SELECT_OPTION=1\n")}, {Name: "X.KIN", Src: []byte("*\n")}},
		{{Name: "A.SRC", Src: []byte{0, 1, 2}}, {Name: "B.LNG", Src: []byte{0, 0}}},
	}
	for _, in := range pkgs {
		p := Resolve(in)
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStrayBytesAreText: a source with a stray NUL is parsed (the byte is a
// warning where it is); a "source" that is binary content is not.
func TestStrayBytesAreText(t *testing.T) {
	binary := strings.Repeat("NAME\x00\x00\x00\x00\x00\x00\x00\x01", 20)
	p := Resolve([]Input{
		{Name: "POST.SRC", Src: []byte(":SYSTEM=MILL\n:SECTION=START_OF_TAPE\n:T:%\x00<EOL>\n:SECTION=CALC_X\n:C: A=1\n")},
		{Name: "OTHER.LIB", Src: []byte(binary)},
	})
	codes := map[string][]string{}
	for _, d := range p.Diagnostics {
		codes[d.File] = append(codes[d.File], d.Code)
	}
	if f := p.Parsed("POST.SRC"); f == nil || len(f.Sections) != 2 {
		t.Fatalf("POST.SRC with a NUL was not parsed: %+v", f)
	}
	if got := codes["POST.SRC"]; !slices.Contains(got, upg.CodeControlCharacter) || slices.Contains(got, upg.CodeBinaryContent) {
		t.Errorf("POST.SRC diagnostics %v", got)
	}
	if p.Parsed("OTHER.LIB") != nil || !slices.Equal(codes["OTHER.LIB"], []string{upg.CodeBinaryContent}) {
		t.Errorf("binary OTHER.LIB: parsed=%v diagnostics %v", p.Parsed("OTHER.LIB") != nil, codes["OTHER.LIB"])
	}
	for _, f := range p.Files {
		if want := f.Name == "OTHER.LIB"; f.Binary != want {
			t.Errorf("%s: Binary=%v", f.Name, f.Binary)
		}
	}
}
