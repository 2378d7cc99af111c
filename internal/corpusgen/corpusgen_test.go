package corpusgen

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// realCorpus loads the shared corpus (the test is skipped loudly without it).
func realCorpus(t testing.TB) []Package {
	t.Helper()
	c, err := Load(testenv.CorpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// miniCorpus is the tiny fixture of testdata/mini plus a CRLF copy of it, so
// the generator is tested without the shared corpus too.
func miniCorpus(t testing.TB) []Package {
	t.Helper()
	c, err := Load("testdata/mini")
	if err != nil {
		t.Fatal(err)
	}
	crlf := Package{Name: "mini-mill-crlf"}
	for _, f := range c[0].Files {
		name := strings.Replace(f.Name, "MINI MILL", "MINI-CRLF", 1)
		crlf.Files = append(crlf.Files, File{Name: name, Data: bytes.ReplaceAll(f.Data, []byte("\n"), []byte("\r\n"))})
	}
	crlf.Files[len(crlf.Files)-1].Data = bytes.ReplaceAll(crlf.Files[len(crlf.Files)-1].Data, []byte("MINI MILL"), []byte("MINI-CRLF"))
	for i := range crlf.Files {
		if upg.KindOf(crlf.Files[i].Name) == upg.KindSRC {
			crlf.Files[i].Data = bytes.ReplaceAll(crlf.Files[i].Data, []byte(`.\MINI MILL.LIB`), []byte(`.\MINI-CRLF.LIB`))
		}
	}
	sortFiles(crlf.Files)
	return append(c, crlf)
}

// corpora are the corpora the generator tests run on.
func corpora(t *testing.T) map[string]func(testing.TB) []Package {
	return map[string]func(testing.TB) []Package{"mini": miniCorpus, "shared": realCorpus}
}

func resolvePkg(p Package) *resolve.Package {
	in := make([]resolve.Input, len(p.Files))
	for i, f := range p.Files {
		in[i] = resolve.Input{Name: f.Name, Src: f.Data}
	}
	return resolve.Resolve(in)
}

// unresolved returns the canonical names of references that do not resolve.
func unresolved(r *resolve.Package) map[string]bool {
	out := map[string]bool{}
	for _, ref := range r.References {
		switch ref.Status {
		case resolve.StatusUndefined, resolve.StatusLibraryMissing, resolve.StatusUserMissing:
			out[upg.CanonicalName(ref.Name)] = true
		}
	}
	return out
}

func codes(r *resolve.Package, sev upg.Severity) map[string]bool {
	out := map[string]bool{}
	for _, d := range r.Diagnostics {
		if d.Severity == sev {
			out[d.Code] = true
		}
	}
	return out
}

func unresolvedLibraries(r *resolve.Package) int {
	n := 0
	for _, l := range r.Libraries {
		if l.How == resolve.HowUnresolved {
			n++
		}
	}
	return n
}

// TestGeneratedPackagesResolve checks that generated packages are as sound
// as their templates: no UPG errors where the template has none, no new kind
// of warning, every name that resolved in the template resolves (renames
// reached every use), the :LIBRARY= lines still find the renamed files, and
// the metadata follows the new machine.
func TestGeneratedPackagesResolve(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			corpus := load(t)
			templates := map[string]*resolve.Package{}
			for _, p := range corpus {
				templates[p.Name] = resolvePkg(p)
			}
			byName := map[string]Package{}
			for _, p := range corpus {
				byName[p.Name] = p
			}
			g := New(corpus, 7)
			n := 300
			if testing.Short() {
				n = 60
			}
			machines, controls := map[string]bool{}, map[string]bool{}
			for range n {
				p := g.Next()
				tr := templates[p.Template]
				if tr == nil {
					t.Fatalf("%s: unknown template %q", p.Name, p.Template)
				}
				if got, want := fileKinds(p), fileKinds(byName[p.Template]); got != want {
					t.Fatalf("%s: files %s, template %s has %s", p.Name, got, p.Template, want)
				}
				r := resolvePkg(p)
				s, ts := r.Summary(), tr.Summary()
				if s.Errors != ts.Errors {
					for _, d := range r.Diagnostics {
						if d.Severity == upg.SeverityError {
							t.Logf("%s", d)
						}
					}
					t.Fatalf("%s (from %s): %d UPG errors, template has %d", p.Name, p.Template, s.Errors, ts.Errors)
				}
				tw := codes(tr, upg.SeverityWarning)
				for c := range codes(r, upg.SeverityWarning) {
					if !tw[c] {
						t.Errorf("%s (from %s): new kind of warning %s", p.Name, p.Template, c)
					}
				}
				tu := unresolved(tr)
				for n := range unresolved(r) {
					if !tu[n] {
						t.Errorf("%s (from %s): %s does not resolve (it is a name the template resolves, or a new name without its definition)", p.Name, p.Template, n)
					}
				}
				if got, want := unresolvedLibraries(r), unresolvedLibraries(tr); got != want {
					t.Errorf("%s: %d unresolved libraries, template %d", p.Name, got, want)
				}
				if !strings.HasPrefix(fold(p.Name), fold(r.Metadata.MachineName)) {
					t.Errorf("%s: machine name %q does not name the package's machine", p.Name, r.Metadata.MachineName)
				}
				if tr.Metadata.ControllerType != "" && !slices.Contains(millControls, r.Metadata.ControllerType) && !slices.Contains(latheControls, r.Metadata.ControllerType) {
					t.Errorf("%s: controller type %q", p.Name, r.Metadata.ControllerType)
				}
				if tr.Metadata.PostName != "" && r.Metadata.PostName != p.Name {
					t.Errorf("%s: PINF post name %q", p.Name, r.Metadata.PostName)
				}
				if len(r.Metadata.Main) != 1 || r.Metadata.Main[0] != p.Name+".SRC" && !strings.EqualFold(r.Metadata.Main[0], p.Name+".SRC") {
					t.Errorf("%s: main sources %v", p.Name, r.Metadata.Main)
				}
				machines[r.Metadata.MachineName] = true
				controls[r.Metadata.ControllerType] = true
				if t.Failed() {
					t.FailNow()
				}
			}
			if len(machines) < 10 || len(controls) < 5 {
				t.Errorf("%d packages name only %d machines and %d controller types", n, len(machines), len(controls))
			}
		})
	}
}

// fileKinds describes a package's files by kind, marking those named after
// its main source: "lib*,pinf*,src*,lib" (sorted).
func fileKinds(p Package) string {
	m, _ := stem(mainName(p))
	var out []string
	for _, f := range p.Files {
		k := string(upg.KindOf(f.Name))
		if s, _ := stem(f.Name); s == m {
			k += "*"
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// TestPackageConcurrent: Package may be called from several goroutines and
// gives what a sequential Next gives.
func TestPackageConcurrent(t *testing.T) {
	corpus := miniCorpus(t)
	seq := New(corpus, 8)
	want := make([]Package, 40)
	for i := range want {
		want[i] = seq.Next()
	}
	par := New(corpus, 8)
	got := make([]Package, len(want))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(got); i += 4 {
				got[i] = par.Package(i)
			}
		}()
	}
	wg.Wait()
	for i := range want {
		if !samePackage(got[i], want[i]) {
			t.Fatalf("package %d differs when generated concurrently", i)
		}
	}
}

// TestSameSeedSameBytes: the same seed gives the same packages, byte for
// byte, and Package(i) is what Next returns i-th; another seed differs.
func TestSameSeedSameBytes(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			corpus := load(t)
			a, b, c := New(corpus, 42), New(corpus, 42), New(corpus, 43)
			differ := 0
			for i := range 40 {
				pa, pb, pc := a.Next(), b.Next(), c.Next()
				if !samePackage(pa, pb) {
					t.Fatalf("package %d differs between two generators with seed 42", i)
				}
				if !samePackage(pa, a.Package(i)) {
					t.Fatalf("Package(%d) differs from the %d-th Next", i, i)
				}
				if !samePackage(pa, pc) {
					differ++
				}
			}
			if differ < 35 {
				t.Errorf("seeds 42 and 43 gave %d/40 different packages", differ)
			}
		})
	}
}

// fold makes names comparable across the file name styles: upper case,
// blanks and underscores as hyphens.
func fold(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "-", "_", "-").Replace(s))
}

func samePackage(a, b Package) bool {
	if a.Name != b.Name || a.Template != b.Template || len(a.Files) != len(b.Files) {
		return false
	}
	for i := range a.Files {
		if a.Files[i].Name != b.Files[i].Name || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			return false
		}
	}
	return true
}

// TestDistinctPackages: names are unique and no two packages share their
// .SRC bytes; machine libraries are mostly distinct too.
func TestDistinctPackages(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			g := New(load(t), 1)
			names := map[string]int{}
			srcs := map[[32]byte]int{}
			libs := map[[32]byte]bool{}
			libCount := 0
			n := 2000
			if testing.Short() {
				n = 300
			}
			for i := range n {
				p := g.Next()
				if j, dup := names[strings.ToUpper(p.Name)]; dup {
					t.Fatalf("packages %d and %d are both named %s", j, i, p.Name)
				}
				names[strings.ToUpper(p.Name)] = i
				var nsrc int
				for _, f := range p.Files {
					stem, _ := stem(f.Name)
					if stem != p.Name {
						continue
					}
					h := sha256.Sum256(f.Data)
					switch upg.KindOf(f.Name) {
					case upg.KindSRC:
						nsrc++
						if j, dup := srcs[h]; dup {
							t.Fatalf("packages %d and %d have the same .SRC bytes", j, i)
						}
						srcs[h] = i
					case upg.KindLIB:
						libCount++
						libs[h] = true
					}
				}
				if nsrc != 1 {
					t.Fatalf("%s has %d .SRC files named after it", p.Name, nsrc)
				}
			}
			if libCount > 0 && float64(len(libs)) < 0.6*float64(libCount) {
				t.Errorf("only %d distinct machine libraries in %d", len(libs), libCount)
			}
		})
	}
}

// TestStockLibrariesShared: stock libraries keep their names and are
// byte-identical to the corpus copy in most packages; a few packages get
// one of a small number of modified variants.
func TestStockLibrariesShared(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			corpus := load(t)
			original := map[string][]byte{}
			for _, p := range corpus {
				for _, f := range p.Files {
					if isStock(p, f.Name) {
						original[p.Name+"/"+f.Name] = f.Data
					}
				}
			}
			if len(original) == 0 {
				t.Fatal("the corpus has no stock library")
			}
			g := New(corpus, 3)
			uses := map[string]int{}
			same := map[string]int{}
			variants := map[string]map[[32]byte]bool{}
			for range 1000 {
				p := g.Next()
				for _, f := range p.Files {
					key := p.Template + "/" + f.Name
					orig, ok := original[key]
					if !ok {
						continue
					}
					uses[key]++
					if bytes.Equal(f.Data, orig) {
						same[key]++
					}
					if variants[key] == nil {
						variants[key] = map[[32]byte]bool{}
					}
					variants[key][sha256.Sum256(f.Data)] = true
				}
			}
			for lib, n := range uses {
				t.Logf("%s: %d uses, %d byte-identical, %d variants", lib, n, same[lib], len(variants[lib]))
				if float64(same[lib]) < 0.85*float64(n) {
					t.Errorf("%s: only %d of %d packages share the stock bytes", lib, same[lib], n)
				}
				if n >= 200 && (len(variants[lib]) < 2 || len(variants[lib]) > 4) {
					t.Errorf("%s: %d variants in %d uses, want 2–4 (the original and up to 3 modified)", lib, len(variants[lib]), n)
				}
			}
		})
	}
}

// TestVariationKinds checks that every kind of variation happens, measured
// against the template: renamed or added definitions, dropped sections,
// changed attribute defaults and changed template text.
func TestVariationKinds(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			corpus := load(t)
			tdefs := map[string]map[string]bool{}
			tdefaults := map[string]map[string]string{}
			byName := map[string]Package{}
			for _, p := range corpus {
				byName[p.Name] = p
				tdefs[p.Name], tdefaults[p.Name] = defsAndDefaults(p)
			}
			g := New(corpus, 11)
			n := 100
			if testing.Short() {
				n = 40
			}
			var newDefs, lostSections, moreAttrs, changedDefaults, changedText, renamedLib, total int
			for range n {
				p := g.Next()
				total++
				defs, defaults := defsAndDefaults(p)
				for d := range defs {
					if !tdefs[p.Template][d] {
						newDefs++
						break
					}
				}
				// system sections are never renamed: one missing was dropped
				for d := range tdefs[p.Template] {
					if strings.HasPrefix(d, "section system ") && !defs[d] {
						lostSections++
						break
					}
				}
				// attributes are never dropped: more of them are copies
				if count(defs, "attribute ") > count(tdefs[p.Template], "attribute ") {
					moreAttrs++
				}
				for k, v := range defaults {
					if old, ok := tdefaults[p.Template][k]; ok && old != v && k != "MACHINE_NAME" && k != "CONTROLLER_TYPE" {
						changedDefaults++
						break
					}
				}
				if templateTextChanged(byName[p.Template], p) {
					changedText++
				}
				for _, f := range p.Files {
					if upg.KindOf(f.Name) == upg.KindSRC && bytes.Contains(f.Data, []byte(":LIBRARY=")) && bytes.Contains(f.Data, []byte(p.Name+".LIB")) {
						renamedLib++
					}
				}
			}
			t.Logf("of %d packages: %d with new or renamed definitions, %d with a system section dropped, %d with copied attributes, %d with changed defaults, %d with changed :T: text, %d pointing at their renamed .LIB",
				total, newDefs, lostSections, moreAttrs, changedDefaults, changedText, renamedLib)
			for what, n := range map[string]int{"new/renamed definitions": newDefs, "dropped sections": lostSections, "copied attributes": moreAttrs,
				"changed defaults": changedDefaults, "changed :T: text": changedText, ":LIBRARY= renamed": renamedLib} {
				if n < total/5 {
					t.Errorf("%s in only %d of %d packages", what, n, total)
				}
			}
		})
	}
}

// defsAndDefaults lists the definitions ("attribute NAME", "section NAME" …)
// and attribute defaults of a package's machine sources (not its stock
// libraries).
func defsAndDefaults(p Package) (map[string]bool, map[string]string) {
	defs, defaults := map[string]bool{}, map[string]string{}
	r := resolvePkg(p)
	for _, d := range r.Definitions {
		if !isStock(p, d.File) {
			if d.Kind == resolve.KindSection {
				defs[d.Kind+" "+d.Type+" "+d.Canonical] = true
			} else {
				defs[d.Kind+" "+d.Canonical] = true
			}
		}
	}
	if pf := r.Parsed(mainName(p)); pf != nil {
		for _, a := range pf.Attributes {
			defaults[a.CanonicalName()] = a.Default()
		}
	}
	return defs, defaults
}

func count(set map[string]bool, prefix string) int {
	n := 0
	for k := range set {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// isStock reports whether a file of p is a library not named after the
// package's main source (MILL.LIB, LATHE.LIB, MASTER.ATR).
func isStock(p Package, name string) bool {
	s, _ := stem(name)
	m, _ := stem(mainName(p))
	return upg.KindOf(name).IsSource() && !strings.EqualFold(s, m)
}

func mainName(p Package) string {
	for _, f := range p.Files {
		if upg.KindOf(f.Name) == upg.KindSRC {
			return f.Name
		}
	}
	return ""
}

// templateTextChanged reports whether the literal :T: text of the main
// sources differs (numbers in output lines changed).
func templateTextChanged(tmpl, p Package) bool {
	text := func(p Package) []string {
		name := mainName(p)
		f := upg.Parse(name, p.File(name).Data)
		var out []string
		for _, s := range f.Sections {
			for _, tl := range s.Templates {
				for _, it := range tl.Items {
					if x, ok := it.(*upg.TextItem); ok {
						out = append(out, x.Text)
					}
				}
			}
		}
		return out
	}
	a, b := text(tmpl), text(p)
	slices.Sort(a)
	slices.Sort(b)
	return !slices.Equal(a, b)
}

// TestLineEndingsAndBytesKept: an LF file stays LF, a CRLF file stays
// CRLF, and edits bring no byte the template file did not have.
func TestLineEndingsAndBytesKept(t *testing.T) {
	for name, load := range corpora(t) {
		t.Run(name, func(t *testing.T) {
			corpus := load(t)
			style := map[string][2]int{} // template → LF-only lines, CRLF lines of its .SRC
			for _, p := range corpus {
				if m := mainName(p); m != "" {
					style[p.Name] = eols(p.File(m).Data)
				}
			}
			byName := map[string]Package{}
			for _, p := range corpus {
				byName[p.Name] = p
			}
			g := New(corpus, 5)
			for range 100 {
				p := g.Next()
				got, want := eols(p.File(mainName(p)).Data), style[p.Template]
				if (got[0] == 0) != (want[0] == 0) || (got[1] == 0) != (want[1] == 0) {
					t.Fatalf("%s: %d LF and %d CRLF lines, template %s has %d and %d", p.Name, got[0], got[1], p.Template, want[0], want[1])
				}
				// edits add only ASCII: every other byte value was in the template
				tmpl := byName[p.Template]
				m, _ := stem(mainName(tmpl))
				for _, f := range tmpl.Files {
					s, ext := stem(f.Name)
					if s != m || !upg.KindOf(f.Name).IsSource() {
						continue
					}
					had := byteSet(f.Data)
					for c := range byteSet(p.File(p.Name + ext).Data) {
						if !had[c] {
							t.Fatalf("%s%s holds byte %#x, which its template file %s does not", p.Name, ext, c, f.Name)
						}
					}
				}
			}
		})
	}
}

// byteSet is the set of byte values of b that are not printable ASCII.
func byteSet(b []byte) map[byte]bool {
	out := map[byte]bool{}
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' || c >= 0x7f {
			out[c] = true
		}
	}
	return out
}

func eols(b []byte) [2]int {
	crlf := bytes.Count(b, []byte("\r\n"))
	return [2]int{bytes.Count(b, []byte("\n")) - crlf, crlf}
}

func TestNewGeneratorErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		corpus []Package
	}{
		{"empty", nil},
		{"no source", []Package{{Name: "x", Files: []File{{Name: "MILL.LIB", Data: []byte(":SECTION=A\n")}}}}},
		{"binary source", []Package{{Name: "x", Files: []File{{Name: "X.SRC", Data: []byte("\x00\x01\x02")}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewGenerator(tc.corpus, 1, Options{}); err != ErrNoTemplate {
				t.Fatalf("err = %v, want ErrNoTemplate", err)
			}
		})
	}
}

// TestOddTemplates: templates that are broken, empty or strange still give
// distinct packages, and nothing panics.
func TestOddTemplates(t *testing.T) {
	corpus := []Package{
		{Name: "empty", Files: []File{{Name: "E.SRC"}}},
		{Name: "junk", Files: []File{{Name: "J.SRC", Data: []byte(":SECTION=\n:C: IF (((\n:T:<<<\n:ATTRNAME=\n:LIBRARY=\n\x1a tail")}, {Name: "J.PINF", Data: []byte("junk")}}},
		{Name: "no-eol", Files: []File{{Name: "N.SRC", Data: []byte(":SECTION=CALC_A\n:C: X=5\n:SECTION=B\n:T:G54<EOL>")}, {Name: "N.LIB", Data: []byte(":ATTRNAME=X\n:ATTRTYPE=POST\n:ATTREND")}}},
	}
	g := New(corpus, 1)
	seen := map[string]bool{}
	for range 200 {
		p := g.Next()
		src := p.File(mainName(p))
		if src == nil {
			t.Fatalf("%s has no .SRC", p.Name)
		}
		if seen[string(src.Data)] {
			t.Fatalf("%s repeats a .SRC", p.Name)
		}
		seen[string(src.Data)] = true
		if p.Template == "no-eol" {
			tr, r := resolvePkg(corpus[2]), resolvePkg(p)
			if r.Summary().Errors != tr.Summary().Errors {
				t.Fatalf("%s: %d errors, template %d\n%s", p.Name, r.Summary().Errors, tr.Summary().Errors, src.Data)
			}
		}
	}
}
