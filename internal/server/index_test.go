package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/ingest"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// direct runs the UPG analysis on a corpus package without the service.
func direct(p testenv.CorpusPackage) ([]index.FileResult, index.VersionResult) {
	contents := make([]ingest.FileContent, len(p.Files))
	for i, f := range p.Files {
		contents[i] = ingest.FileContent{File: catalog.File{ID: f.Name, Filename: f.Name, SHA256: sha(f.Data), Size: int64(len(f.Data))}, Data: f.Data}
	}
	return ingest.Analyze("", ingest.ParserVersion, contents)
}

// TestCorpusIndex uploads every corpus package and checks that the outline,
// diagnostics, symbol and library answers match what the UPG package
// computes directly on the same files.
func TestCorpusIndex(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		for _, p := range pkgs {
			t.Run(p.Name, func(t *testing.T) {
				app := app.With(t)
				res := app.Upload(servertest.CorpusFiles(p), nil)
				st := app.WaitReady(res.PackageID)
				files, want := direct(p)
				if st.SectionCount != want.SectionCount || st.SectionCount == 0 && p.Name != "" && hasSource(p) {
					t.Fatalf("section_count %d, want %d", st.SectionCount, want.SectionCount)
				}

				var outline api.OutlineBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/outline", &outline)
				byName := map[string]index.FileResult{}
				for i, f := range p.Files {
					byName[f.Name] = files[i]
				}
				if len(outline.Files) != len(p.Files) {
					t.Fatalf("outline has %d files, want %d", len(outline.Files), len(p.Files))
				}
				wantErrors, wantWarnings := 0, 0
				for _, f := range outline.Files {
					w := byName[f.Filename]
					if !bytes.Equal(compactJSON(t, f.Outline), compactJSON(t, w.Outline)) {
						t.Errorf("%s: stored outline differs from the parser's", f.Filename)
					}
					if f.ErrorCount != w.ErrorCount || f.WarningCount != w.WarningCount || f.Kind != w.Kind {
						t.Errorf("%s: counts %d/%d kind %s, want %d/%d %s", f.Filename, f.ErrorCount, f.WarningCount, f.Kind, w.ErrorCount, w.WarningCount, w.Kind)
					}
					wantErrors += w.ErrorCount
					wantWarnings += w.WarningCount
				}
				if len(outline.Libraries) != len(want.Libraries) {
					t.Fatalf("outline lists %d libraries, want %d", len(outline.Libraries), len(want.Libraries))
				}
				for i, l := range outline.Libraries {
					wl := want.Libraries[i]
					if l.DeclaredPath != wl.DeclaredPath || l.How != wl.How || l.ResolvedName != wl.ResolvedName {
						t.Errorf("library %d: %+v, want %+v", i, l.Library, wl)
					}
				}

				var diags api.DiagnosticsBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/diagnostics", &diags)
				for _, d := range want.Diagnostics {
					switch d.Severity {
					case index.SeverityError:
						wantErrors++
					case index.SeverityWarning:
						wantWarnings++
					}
				}
				if diags.Counts["error"] != wantErrors || diags.Counts["warning"] != wantWarnings {
					t.Errorf("diagnostics counts %v, want %d errors %d warnings", diags.Counts, wantErrors, wantWarnings)
				}
				var warnOnly api.DiagnosticsBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/diagnostics?severity=warning", &warnOnly)
				if len(warnOnly.Items) != wantWarnings {
					t.Errorf("severity filter: %d items, want %d", len(warnOnly.Items), wantWarnings)
				}

				// Every symbol defined in the package: the API's counts for
				// this package equal the direct analysis.
				wantCount := map[string][2]int{}
				for _, f := range files {
					for _, s := range f.Symbols {
						c := wantCount[s.Canonical]
						if s.Role == "definition" {
							c[0]++
						} else {
							c[1]++
						}
						wantCount[s.Canonical] = c
					}
				}
				names := make([]string, 0, len(wantCount))
				for n, c := range wantCount {
					if c[0] > 0 {
						names = append(names, n)
					}
				}
				sort.Strings(names)
				if len(names) > 25 {
					names = names[:25]
				}
				for _, n := range names {
					var sym api.SymbolBody
					app.GetJSON("/api/v1/symbols/"+urlPath(n)+"?limit=100", &sym)
					found := false
					for _, sp := range sym.Packages {
						if sp.PackageID == res.PackageID {
							found = true
							if sp.Definitions != wantCount[n][0] || sp.References != wantCount[n][1] || len(sp.Occurrences) != sp.Definitions+sp.References {
								t.Errorf("symbol %s: %d defs %d refs (%d listed), want %v", n, sp.Definitions, sp.References, len(sp.Occurrences), wantCount[n])
							}
						}
					}
					if !found {
						t.Errorf("symbol %s: package not listed", n)
					}
				}
			})
		}
	})
}

func hasSource(p testenv.CorpusPackage) bool {
	for _, f := range p.Files {
		if strings.HasSuffix(strings.ToUpper(f.Name), ".SRC") {
			return true
		}
	}
	return false
}

func urlPath(s string) string { return url.PathEscape(s) }

func compactJSON(t *testing.T, raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	return buf.Bytes()
}

// TestMetadataAndLibraries: the Tormach package names its machine and
// PathPilot controller; a shared library is stored and parsed once, and
// the library endpoints find both packages.
func TestMetadataAndLibraries(t *testing.T) {
	var tormach testenv.CorpusPackage
	for _, p := range testenv.CorpusPackages(t) {
		if strings.Contains(p.Name, "tormach") {
			tormach = p
		}
	}
	if tormach.Name == "" {
		t.Skip("SKIPPING: the tormach-pcnc1100 corpus package is not there")
	}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		first := app.Upload(servertest.CorpusFiles(tormach), map[string]string{"name": "first"})
		second := app.Upload(servertest.CorpusFiles(tormach), map[string]string{"name": "second"})
		app.WaitReady(first.PackageID)
		app.WaitReady(second.PackageID)

		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+first.PackageID, &pkg)
		if !strings.Contains(pkg.MachineType, "PCNC") || pkg.ControllerType != "PathPilot" || pkg.System != "MILL" {
			t.Fatalf("metadata: machine %q controller %q system %q", pkg.MachineType, pkg.ControllerType, pkg.System)
		}

		var mill []byte
		for _, f := range tormach.Files {
			if strings.EqualFold(f.Name, "MILL.LIB") {
				mill = f.Data
			}
		}
		var rows, symbols int
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM file_parses WHERE sha256 = $1`, sha(mill)).Scan(&rows)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM file_symbols WHERE sha256 = $1`, sha(mill)).Scan(&symbols)
		files, _ := direct(tormach)
		wantSymbols := 0
		for i, f := range tormach.Files {
			if strings.EqualFold(f.Name, "MILL.LIB") {
				wantSymbols = len(files[i].Symbols)
			}
		}
		if rows != 1 || symbols != wantSymbols || symbols == 0 {
			t.Fatalf("MILL.LIB shared by two packages: %d parse rows and %d symbol rows, want 1 and %d", rows, symbols, wantSymbols)
		}

		var libs struct{ Packages []index.PackageRef }
		app.GetJSON("/api/v1/libraries/"+sha(mill)+"/packages", &libs)
		if len(libs.Packages) != 2 {
			t.Fatalf("library packages: %+v", libs.Packages)
		}
		var variants struct{ Variants []index.LibraryVariant }
		app.GetJSON("/api/v1/libraries?name=mill.lib", &variants)
		if len(variants.Variants) != 1 || variants.Variants[0].Packages != 2 || variants.Variants[0].SHA256 != sha(mill) {
			t.Fatalf("library variants: %+v", variants.Variants)
		}

		// Deleting both packages takes the shared parse rows with them.
		app.Do(http.MethodDelete, "/api/v1/packages/"+first.PackageID, nil)
		app.Do(http.MethodDelete, "/api/v1/packages/"+second.PackageID, nil)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM file_symbols WHERE sha256 = $1`, sha(mill)).Scan(&symbols)
		if symbols != 0 {
			t.Fatalf("%d symbol rows left after deleting every package", symbols)
		}
	})
}

// indexSnapshot is everything the index answers for a package, minus the
// parser version, so two indexings can be compared.
func indexSnapshot(t *testing.T, app *servertest.App, id string) string {
	var outline api.OutlineBody
	app.GetJSON("/api/v1/packages/"+id+"/outline", &outline)
	outline.ParserVersion = ""
	for i := range outline.Files {
		var o map[string]any
		json.Unmarshal(outline.Files[i].Outline, &o)
		delete(o, "parser_version")
		outline.Files[i].Outline, _ = json.Marshal(o)
	}
	var diags api.DiagnosticsBody
	app.GetJSON("/api/v1/packages/"+id+"/diagnostics", &diags)
	var sym api.SymbolBody
	app.GetJSON("/api/v1/symbols/MACHINE_NAME", &sym)
	var pkg catalog.Package
	app.GetJSON("/api/v1/packages/"+id, &pkg)
	pkg.UpdatedAt = time.Time{}
	b, _ := json.Marshal([]any{outline, diags, sym, pkg})
	return string(b)
}

// TestReindex: after the parser version changes, reindex re-parses every
// version, changes nothing else, and drops the old parse rows.
func TestReindex(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		app := servertest.Start(t, cfg)
		var ids []string
		for _, p := range pkgs {
			res := app.Upload(servertest.CorpusFiles(p), nil)
			ids = append(ids, res.PackageID)
		}
		for _, id := range ids {
			app.WaitReady(id)
		}
		before := map[string]string{}
		for _, id := range ids {
			before[id] = indexSnapshot(t, app, id)
		}

		var prog api.ReindexBody
		app.GetJSON("/api/v1/admin/reindex", &prog)
		if !prog.Complete || prog.Total != len(ids) {
			t.Fatalf("before the bump: %+v", prog)
		}
		// Upgrade: the next process runs a newer parser.
		app.Stop()
		app = servertest.Start(t, cfg, func(a *server.App) { a.Pipeline.ParserVersion = "reindex-test" })
		status, body := app.Do(http.MethodPost, "/api/v1/admin/reindex", nil)
		json.Unmarshal(body, &prog)
		if status != http.StatusAccepted || prog.Queued != len(ids) || prog.ParserVersion != "reindex-test" {
			t.Fatalf("start reindex: %d %s", status, body)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !prog.Complete {
			if time.Now().After(deadline) {
				t.Fatalf("reindex stuck at %+v", prog)
			}
			time.Sleep(50 * time.Millisecond)
			app.GetJSON("/api/v1/admin/reindex", &prog)
		}
		for _, id := range ids {
			app.WaitReady(id)
			if after := indexSnapshot(t, app, id); after != before[id] {
				t.Errorf("package %s: the index changed on reindex:\n%s", id, firstDiff(before[id], after))
			}
		}
		var stale, fresh int
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM file_parses WHERE parser_version <> 'reindex-test'`).Scan(&stale)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM file_parses WHERE parser_version = 'reindex-test'`).Scan(&fresh)
		if stale != 0 || fresh == 0 {
			t.Fatalf("after reindex: %d stale and %d fresh parse rows", stale, fresh)
		}
		// Re-running an ingestion job leaves the same rows (idempotent).
		var n1, n2 int
		snap := indexSnapshot(t, app, ids[0])
		count := `SELECT (SELECT COUNT(*) FROM file_symbols) + (SELECT COUNT(*) FROM version_libraries) + (SELECT COUNT(*) FROM version_diagnostics)`
		app.DB.SQL.QueryRow(count).Scan(&n1)
		v, _ := app.DB.LatestVersion(t.Context(), ids[0])
		if err := app.Pipeline.Process(t.Context(), v.ID, false); err != nil {
			t.Fatal(err)
		}
		app.DB.SQL.QueryRow(count).Scan(&n2)
		if n1 != n2 || indexSnapshot(t, app, ids[0]) != snap {
			t.Fatalf("re-running the job changed the index: %d rows, then %d", n1, n2)
		}
	})
}

// TestBrokenSourceEndsReady: UPG errors are findings, not a failed
// ingestion: the package is ready and its errors are counted.
func TestBrokenSourceEndsReady(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	src := ":SYSTEM=MILL\r\n:SECTION=START\r\n:C:IF A=1 THEN\r\n:T:<N>G90<\r\n"
	up := app.Upload([]servertest.NamedFile{{Name: "T.SRC", Data: []byte(src)}}, nil)
	st := app.WaitReady(up.PackageID)
	var diags api.DiagnosticsBody
	app.GetJSON("/api/v1/packages/"+up.PackageID+"/diagnostics?severity=error", &diags)
	if st.ErrorCount == 0 || len(diags.Items) != st.ErrorCount {
		t.Fatalf("status %+v, error diagnostics %+v", st, diags.Items)
	}
}

// TestParseEndpoint parses without storing anything.
func TestParseEndpoint(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	src := ":SYSTEM=MILL\r\n:LIBRARY=.\\MISSING.LIB\r\n:SECTION=START\r\n:C:IF A=1 THEN\r\n:T:<N>G90\r\n"
	status, body := app.Do(http.MethodPost, "/api/v1/parse", map[string]any{"files": []map[string]string{{"name": "T.SRC", "content": src}}})
	var res api.ParseBody
	if err := json.Unmarshal(body, &res); err != nil || status != 200 {
		t.Fatalf("parse: %d %s", status, body)
	}
	if len(res.Files) != 1 || res.Files[0].ErrorCount == 0 || len(res.Libraries) != 1 || res.Libraries[0].How != "unresolved" {
		t.Fatalf("parse answer: %s", body)
	}
	mp, ct := servertest.Multipart(t, []servertest.NamedFile{{Name: "T.SRC", Data: []byte(src)}, {Name: "MISSING.LIB", Data: []byte("*\r\n")}}, nil)
	resp, err := app.Client.Post(app.URL+"/api/v1/parse", ct, mp)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(res.Files) != 2 || res.Libraries[0].Resolved != "MISSING.LIB" {
		t.Fatalf("multipart parse: %d %+v", resp.StatusCode, res)
	}
	var page catalog.Page[catalog.Package]
	app.GetJSON("/api/v1/packages", &page)
	if len(page.Items) != 0 {
		t.Fatalf("parse stored a package")
	}
	for _, c := range []struct {
		body   any
		status int
	}{{map[string]any{"files": []any{}}, 400}, {"not an object", 400}} {
		if s, b := app.Do(http.MethodPost, "/api/v1/parse", c.body); s != c.status || !strings.Contains(string(b), `"code"`) {
			t.Errorf("parse %v: %d %s", c.body, s, b)
		}
	}
}

// TestSourceView: every line of every corpus text file comes back with
// tokens that cover it exactly; binary files are refused.
func TestSourceView(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	app := servertest.Start(t, servertest.SQLite.Config(t))
	for _, p := range pkgs {
		res := app.Upload(servertest.CorpusFiles(p), nil)
		app.WaitReady(res.PackageID)
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+res.PackageID, &pkg)
		for _, f := range pkg.Files {
			url := fmt.Sprintf("/api/v1/packages/%s/files/%s/source", pkg.ID, f.ID)
			if f.ContentKind == "binary" {
				if s, _, body := app.Get(url); s != http.StatusUnsupportedMediaType || !strings.Contains(string(body), "BINARY_FILE") {
					t.Errorf("%s: binary source: %d", f.Filename, s)
				}
				continue
			}
			var src api.SourceBody
			app.GetJSON(url, &src)
			if len(src.Lines) != f.LineCount && len(src.Lines) != f.LineCount+1 {
				t.Errorf("%s: %d lines, file has %d", f.Filename, len(src.Lines), f.LineCount)
			}
			for i, l := range src.Lines {
				n := 0
				for _, tok := range l.Tokens {
					if tok[0] < 0 || tok[0] >= len(src.TokenKinds) {
						t.Fatalf("%s:%d: token kind %d out of range", f.Filename, i+1, tok[0])
					}
					n += tok[1]
				}
				if n != len([]rune(l.Text)) && n != utf16Units(l.Text) {
					t.Fatalf("%s:%d: tokens cover %d units of %q", f.Filename, i+1, n, l.Text)
				}
			}
		}
	}
}

func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return "before: …" + a[from:min(len(a), i+200)] + "\nafter:  …" + b[from:min(len(b), i+200)]
}
