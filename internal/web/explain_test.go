package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainFixture reads the explainer's own small test package.
func explainFixture(t testing.TB) []upFile {
	t.Helper()
	return fixtureFiles(t, filepath.Join("..", "explain", "testdata", "fixtures", "demo-mill"))
}

// fixtureFiles reads a folder of test files as a package.
func fixtureFiles(t testing.TB, dir string) []upFile {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []upFile
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".txt" {
			continue // the explainer test's list of line ranges
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, upFile{Name: e.Name(), Data: data})
	}
	return files
}

// TestExplainPages: the overview and explanation pages and fragments, the
// entry points on the package page and in the source view, and errors.
func TestExplainPages(t *testing.T) {
	app := newTestApp(t)
	res := app.upload(t, nil, explainFixture(t)...)
	if st := app.waitDone(t, res.PackageID); st != "ready" {
		t.Fatalf("upload ended %s", st)
	}
	pkgURL := "/packages/" + res.PackageID
	_, _, pkgPage := app.get(t, pkgURL)
	mustContain(t, pkgPage, `data-overview-url="`+pkgURL+`/overview?partial=1"`, `href="`+pkgURL+`/overview" data-overview-link>Overview</a>`)
	ids := fileIDs(t, pkgPage, res.PackageID)
	src, lib := ids["DEMO.SRC"], ids["DEMO.LIB"]
	if src == "" || lib == "" {
		t.Fatalf("file ids not found on the package page: %v", ids)
	}

	// The overview page: every citation is a link into the source view.
	status, _, body := app.get(t, pkgURL+"/overview")
	if status != http.StatusOK {
		t.Fatalf("overview: HTTP %d", status)
	}
	mustContain(t, body, "<h1 id=\"xpl-page-title\">Overview of DEMO.SRC</h1>", "Machine and controller", "Libraries", "Notable settings",
		`<a class="cite" href="`+pkgURL+`/files/`+src+`#L14"`, // the machine name's default
		`data-copilot data-status="not_configured"`, "The copilot is not configured")
	mustNotContain(t, body, "`") // code spans became <code>
	status, _, frag := app.get(t, pkgURL+"/overview?partial=1")
	if status != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, `data-explain-for="package:DEMO.SRC"`) {
		t.Errorf("overview fragment: HTTP %d %.300s", status, frag)
	}

	// A section: its outputs in words, names linking to their explanations.
	status, _, body = app.get(t, pkgURL+"/files/"+src+"/explain?section=INIT_TOOL_CHANGE_MILL")
	if status != http.StatusOK {
		t.Fatalf("section page: HTTP %d", status)
	}
	mustContain(t, body, "Section INIT_TOOL_CHANGE_MILL", "When it runs", "What it outputs",
		"<code>G</code></a> code <code>43</code>",
		`<a class="cite" href="`+pkgURL+`/files/`+src+`#L49" data-file-id="`+src+`" data-from="49" data-to="49"`,
		`<a class="xl" href="`+pkgURL+`/files/`+lib+`/explain?attribute=SAFE_Z" data-explain-link><code>SAFE_Z</code></a>`,
		`<a href="`+pkgURL+`/files/`+src+`?hl=47-52#L47">DEMO.SRC, lines 47–52</a>`)
	status, _, frag = app.get(t, pkgURL+"/files/"+src+"/explain?section=INIT_TOOL_CHANGE_MILL&partial=1")
	if status != http.StatusOK || strings.Contains(frag, "<html") {
		t.Fatalf("section fragment: HTTP %d", status)
	}
	mustContain(t, frag, `data-explain-for="section:INIT_TOOL_CHANGE_MILL"`, `<h2 id="xpl-title" tabindex="-1">`, "line 49")

	// An attribute (blanks in the name) and a line range.
	status, _, frag = app.get(t, pkgURL+"/files/"+src+"/explain?attribute="+url.QueryEscape("probe tool")+"&partial=1")
	if status != http.StatusOK {
		t.Fatalf("attribute fragment: HTTP %d", status)
	}
	mustContain(t, frag, "Attribute probe tool", "Its choices are 1 = <code>No</code>, 2 = <code>Yes</code>")
	status, _, frag = app.get(t, pkgURL+"/files/"+src+"/explain?from=36&to=40&partial=1")
	if status != http.StatusOK {
		t.Fatalf("lines fragment: HTTP %d", status)
	}
	mustContain(t, frag, "Lines 36–40 of DEMO.SRC", "pulls in the package file MILL.LIB", "Operation MILL_POCKET")

	// The source view offers the explanations.
	_, _, srcPage := app.get(t, pkgURL+"/files/"+src)
	mustContain(t, srcPage,
		`data-explain-url="`+pkgURL+`/files/`+src+`/explain"`,
		`<a class="ol-uses" href="`+pkgURL+`/files/`+src+`/explain?section=INIT_TOOL_CHANGE_MILL" data-explain="section" data-line="47" aria-label="Explain INIT_TOOL_CHANGE_MILL">explain</a>`,
		`data-explain="attribute"`, "data-explain-selection", "data-explain-panel")

	// Errors: a fragment for the panel, a page otherwise.
	status, _, frag = app.get(t, pkgURL+"/files/"+src+"/explain?section=INIT_TOOL_CHANGE&partial=1")
	if status != http.StatusNotFound || !strings.Contains(frag, "Did you mean INIT_TOOL_CHANGE_MILL?") || strings.Contains(frag, "<html") {
		t.Errorf("unknown section fragment: HTTP %d %.300s", status, frag)
	}
	for path, want := range map[string]int{
		pkgURL + "/files/" + src + "/explain?section=INIT_TOOL_CHANGE":                       http.StatusNotFound,
		pkgURL + "/files/" + src + "/explain":                                                http.StatusBadRequest,
		pkgURL + "/files/" + src + "/explain?from=x":                                         http.StatusBadRequest,
		pkgURL + "/files/" + src + "/explain?from=90&to=80":                                  http.StatusUnprocessableEntity,
		pkgURL + "/files/" + ids["DEMO.CNF"] + "/explain?from=1":                             http.StatusUnprocessableEntity,
		pkgURL + "/overview?version=7":                                                       http.StatusNotFound,
		"/packages/6f1c1b43-0000-4000-8000-000000000000/overview":                            http.StatusNotFound,
		pkgURL + "/files/6f1c1b43-0000-4000-8000-000000000000/explain?section=START_OF_TAPE": http.StatusNotFound,
	} {
		status, _, body := app.get(t, path)
		if status != want {
			t.Errorf("%s: HTTP %d, want %d", path, status, want)
		}
		mustNotContain(t, body, "goroutine", ".go:")
	}
}
