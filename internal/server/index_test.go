package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upg"
)

// direct runs the analysis on a corpus package without the service.
func direct(p testenv.CorpusPackage) analysis.Result {
	inputs := make([]analysis.Input, len(p.Files))
	for i, f := range p.Files {
		inputs[i] = analysis.Input{Name: f.Name, Data: f.Data}
	}
	return analysis.Analyze(inputs)
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
				want := direct(p)
				if st.SectionCount != want.Summary.Sections || st.SectionCount == 0 && p.Name != "" && hasSource(p) {
					t.Fatalf("section_count %d, want %d", st.SectionCount, want.Summary.Sections)
				}

				var outline api.OutlineBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/outline", &outline)
				byName := map[string]analysis.FileEntry{}
				for _, f := range want.Files {
					byName[f.Name] = f
				}
				if len(outline.Files) != len(p.Files) {
					t.Fatalf("outline has %d files, want %d", len(outline.Files), len(p.Files))
				}
				wantErrors, wantWarnings := 0, 0
				for _, f := range outline.Files {
					w := byName[f.Filename]
					if !bytes.Equal(jsonOf(t, f.Outline), jsonOf(t, w.Outline)) {
						t.Errorf("%s: stored outline differs from the parser's", f.Filename)
					}
					if f.ErrorCount != w.ErrorCount || f.WarningCount != w.WarningCount || f.Kind != w.Reader {
						t.Errorf("%s: counts %d/%d kind %s, want %d/%d %s", f.Filename, f.ErrorCount, f.WarningCount, f.Kind, w.ErrorCount, w.WarningCount, w.Reader)
					}
					wantErrors += w.ErrorCount
					wantWarnings += w.WarningCount
				}
				if len(outline.Libraries) != len(want.Libraries) {
					t.Fatalf("outline lists %d libraries, want %d", len(outline.Libraries), len(want.Libraries))
				}
				for i, l := range outline.Libraries {
					wl := want.Libraries[i]
					if l.Path != wl.Path || l.How != wl.How || l.Resolved != wl.Resolved || l.ResolvedSHA256 != wl.ResolvedSHA256 {
						t.Errorf("library %d: %+v, want %+v", i, l, wl)
					}
				}

				var diags api.DiagnosticsBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/diagnostics", &diags)
				for _, d := range want.Diagnostics {
					switch d.Severity {
					case upg.SeverityError:
						wantErrors++
					case upg.SeverityWarning:
						wantWarnings++
					}
				}
				if diags.Counts["error"] != wantErrors || diags.Counts["warning"] != wantWarnings {
					t.Errorf("diagnostics counts %v, want %d errors %d warnings", diags.Counts, wantErrors, wantWarnings)
				}
				var warnOnly api.DiagnosticsBody
				app.GetJSON("/api/v1/packages/"+res.PackageID+"/diagnostics?severity=warning", &warnOnly)
				if warnOnly.Total != wantWarnings || len(warnOnly.Items) != min(wantWarnings, 200) {
					t.Errorf("severity filter: %d items of %d, want %d", len(warnOnly.Items), warnOnly.Total, wantWarnings)
				}

				// Every symbol defined in the package: the API's counts for
				// this package equal the direct analysis.
				wantCount := map[string][2]int{}
				for _, f := range want.Files {
					for _, g := range f.Symbols() {
						c := wantCount[g.Canonical]
						wantCount[g.Canonical] = [2]int{c[0] + g.Definitions, c[1] + g.Uses}
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
							if sp.Definitions != wantCount[n][0] || sp.References != wantCount[n][1] || len(sp.Occurrences) != min(20, sp.Definitions+sp.References) {
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

func jsonOf(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
		// One analysis, and every name of it found through the symbol
		// index (stored once, whatever the number of packages sharing it).
		var rows, symbols int
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM analyses WHERE sha256 = $1`, sha(mill)).Scan(&rows)
		wantSymbols := 0
		for _, f := range direct(tormach).Files {
			if !strings.EqualFold(f.Name, "MILL.LIB") {
				continue
			}
			wantSymbols = len(f.Symbols())
			for _, g := range f.Symbols() {
				occ, err := app.DB.ContentSymbol(context.Background(), sha(mill), g.Canonical)
				if err != nil {
					t.Fatal(err)
				}
				if len(occ) > 0 {
					symbols++
				}
			}
		}
		if rows != 1 || symbols != wantSymbols || symbols == 0 {
			t.Fatalf("MILL.LIB shared by two packages: %d analyses and %d names indexed, want 1 and %d", rows, symbols, wantSymbols)
		}

		var libs catalog.Page[index.PackageRef]
		app.GetJSON("/api/v1/libraries/"+sha(mill)+"/packages", &libs)
		if len(libs.Items) != 2 || libs.Items[0].PackageID != second.PackageID {
			t.Fatalf("library packages (newest first): %+v", libs.Items)
		}
		libs = catalog.Page[index.PackageRef]{}
		app.GetJSON("/api/v1/libraries/"+sha(mill)+"/packages?limit=1", &libs)
		if len(libs.Items) != 1 || libs.NextCursor == "" {
			t.Fatalf("first page of one: %+v", libs)
		}
		cursor := libs.NextCursor
		libs = catalog.Page[index.PackageRef]{}
		app.GetJSON("/api/v1/libraries/"+sha(mill)+"/packages?limit=1&cursor="+url.QueryEscape(cursor), &libs)
		if len(libs.Items) != 1 || libs.Items[0].PackageID != first.PackageID || libs.NextCursor != "" {
			t.Fatalf("second page: %+v", libs)
		}
		var names api.LibrariesBody
		app.GetJSON("/api/v1/libraries", &names)
		if len(names.Names) != 2 || names.Names[0].Packages != 2 {
			t.Fatalf("library names: %+v", names)
		}
		var variants struct{ Variants []index.LibraryVariant }
		app.GetJSON("/api/v1/libraries?name=mill.lib", &variants)
		if len(variants.Variants) != 1 || variants.Variants[0].Packages != 2 || variants.Variants[0].SHA256 != sha(mill) {
			t.Fatalf("library variants: %+v", variants.Variants)
		}

		checkSymbolCounters(t, app, true)
		// Names counted before the counters knew kinds (the migration that
		// made them) are listed with the same kinds, looked up on read.
		var counted, migrated catalog.Page[index.SymbolName]
		app.GetJSON("/api/v1/symbols?limit=200", &counted)
		if _, err := app.DB.SQL.Exec(`UPDATE symbol_names SET kind = ''`); err != nil {
			t.Fatal(err)
		}
		app.GetJSON("/api/v1/symbols?limit=200", &migrated)
		if len(counted.Items) == 0 || counted.Items[0].Kind == "" || !reflect.DeepEqual(counted, migrated) {
			t.Fatalf("symbol names with kinds looked up on read differ:\n%+v\n%+v", counted.Items, migrated.Items)
		}

		// Deleting one package keeps the shared analysis; deleting both
		// takes it with them, and the library counters go back to nothing.
		app.Do(http.MethodDelete, "/api/v1/packages/"+first.PackageID, nil)
		checkSymbolCounters(t, app, true)
		app.GetJSON("/api/v1/libraries?name=mill.lib", &variants)
		if len(variants.Variants) != 1 || variants.Variants[0].Packages != 1 {
			t.Fatalf("library variants after one delete: %+v", variants.Variants)
		}
		app.Do(http.MethodDelete, "/api/v1/packages/"+second.PackageID, nil)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM symbol_index`).Scan(&symbols)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM analyses`).Scan(&rows)
		if symbols != 0 || rows != 0 {
			t.Fatalf("%d symbol index rows and %d analyses left after deleting every package", symbols, rows)
		}
		names = api.LibrariesBody{}
		app.GetJSON("/api/v1/libraries", &names)
		if len(names.Names) != 0 {
			t.Fatalf("library names after deleting everything: %+v", names)
		}
		checkSymbolCounters(t, app, false)
		var symNames catalog.Page[index.SymbolName]
		app.GetJSON("/api/v1/symbols", &symNames)
		if len(symNames.Items) != 0 {
			t.Fatalf("symbol names after deleting everything: %+v", symNames.Items[0])
		}
	})
}

// indexSnapshot is everything the index answers for a package, minus the
// parser version, so two indexings can be compared.
func indexSnapshot(t *testing.T, app *servertest.App, id string) string {
	var outline api.OutlineBody
	app.GetJSON("/api/v1/packages/"+id+"/outline", &outline)
	outline.ParserVersion = ""
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
			app.WaitSearchable(id) // reindex progress counts search indexing too
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
		// Upgrade: the next process runs a newer analysis, and starting it
		// re-analyses every older version in the background by itself.
		app.Stop()
		old := analysis.ParserVersion
		analysis.ParserVersion = "reindex-test"
		t.Cleanup(func() { analysis.ParserVersion = old })
		app = servertest.Start(t, cfg)
		deadline := time.Now().Add(2 * time.Minute)
		for app.GetJSON("/api/v1/admin/reindex", &prog); !prog.Complete; app.GetJSON("/api/v1/admin/reindex", &prog) {
			if time.Now().After(deadline) {
				t.Fatalf("reindex stuck at %+v", prog)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if prog.ParserVersion != "reindex-test" || prog.Done != len(ids) {
			t.Fatalf("after the upgrade: %+v", prog)
		}
		status, body := app.Do(http.MethodPost, "/api/v1/admin/reindex", nil)
		if json.Unmarshal(body, &prog); status != http.StatusAccepted || prog.Queued != 0 || !prog.Complete {
			t.Fatalf("reindex when nothing is stale: %d %s", status, body)
		}
		for _, id := range ids {
			app.WaitReady(id)
			if after := indexSnapshot(t, app, id); after != before[id] {
				t.Errorf("package %s: the index changed on reindex:\n%s", id, firstDiff(before[id], after))
			}
		}
		var stale, fresh, staleResults int
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM analyses WHERE parser_version <> 'reindex-test'`).Scan(&stale)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM analyses WHERE parser_version = 'reindex-test'`).Scan(&fresh)
		app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM version_analyses WHERE parser_version <> 'reindex-test'`).Scan(&staleResults)
		if stale != 0 || fresh == 0 || staleResults != 0 {
			t.Fatalf("after reindex: %d stale and %d fresh analyses, %d stale package results", stale, fresh, staleResults)
		}
		// Re-running an ingestion job leaves the same rows (idempotent).
		var n1, n2 int
		snap := indexSnapshot(t, app, ids[0])
		count := `SELECT (SELECT COUNT(*) FROM analyses) + (SELECT COUNT(*) FROM symbol_index) + (SELECT COUNT(*) FROM version_analyses) + (SELECT COUNT(*) FROM latest_files)`
		app.DB.SQL.QueryRow(count).Scan(&n1)
		v, _ := app.DB.LatestVersion(t.Context(), ids[0])
		if err := app.Pipeline.Process(t.Context(), v.ID, false); err != nil {
			t.Fatal(err)
		}
		app.DB.SQL.QueryRow(count).Scan(&n2)
		if n1 != n2 || indexSnapshot(t, app, ids[0]) != snap {
			t.Fatalf("re-running the job changed the index: %d rows, then %d", n1, n2)
		}
		checkSymbolCounters(t, app, true)
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
	var res analysis.Result
	if err := json.Unmarshal(body, &res); err != nil || status != 200 {
		t.Fatalf("parse: %d %s", status, body)
	}
	if len(res.Files) != 1 || res.Files[0].ErrorCount == 0 || len(res.Libraries) != 1 || res.Libraries[0].How != "unresolved" {
		t.Fatalf("parse answer: %s", body)
	}
	// The API answers exactly what the analysis (and so `veripost parse
	// --json`) gives for the same files.
	if want := jsonOf(t, analysis.Analyze([]analysis.Input{{Name: "T.SRC", Data: []byte(src)}})); !bytes.Equal(bytes.TrimSpace(body), want) {
		t.Fatalf("the API's parse differs from the analysis:\n%s", firstDiff(string(want), string(body)))
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
