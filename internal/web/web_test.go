package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/web"
)

// tinySRC is a minimal post source for synthetic packages.
func tinySRC(name string) upFile {
	return upFile{Name: name + ".SRC", Data: []byte("*FANUCM\r\n:SYSTEM=MILL\r\n:SECTION=START OF TAPE\r\n:T:%<EOL>\r\n")}
}

func TestListEmptyState(t *testing.T) {
	app := newTestApp(t)
	status, h, body := app.get(t, "/")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d", status)
	}
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	mustContain(t, body,
		"No packages yet",
		`data-uploader`, `data-dropzone`, `type="file" name="files" multiple`,
		".SRC", `curl -H "Authorization: Bearer $VERIPOST_TOKEN" -F files=@MyPost.zip `+app.URL+"/api/v1/packages",
		`action="/api/v1/packages"`,
	)
	mustNotContain(t, body, `<table class="list"`)
}

func TestListSortFilterPaginate(t *testing.T) {
	app := newTestApp(t)
	var ids []string
	for i := 1; i <= 27; i++ {
		res := app.upload(t, nil, tinySRC(fmt.Sprintf("Post %02d", i)))
		ids = append(ids, res.PackageID)
	}
	for _, id := range ids {
		if st := app.waitDone(t, id); st != "ready" {
			t.Fatalf("package %s ended %s", id, st)
		}
	}
	app.patch(t, ids[0], map[string]string{"machine_type": "Haas VF-2", "controller_type": "Haas NGC"})
	app.patch(t, ids[1], map[string]string{"machine_type": "Haas VF-2", "controller_type": "Fanuc 0i"})

	// Default: newest upload first, 25 a page, with a pager.
	_, _, body := app.get(t, "/")
	mustContain(t, body, "27 packages", "Showing 1–25 of 27", `rel="next"`, "Post 27", `aria-sort="descending"`,
		"Machine", "Controller", "Platform", "Status", "Files", "Diagnostics", "Last upload", "<time datetime=")
	mustNotContain(t, body, ">Post 01<", ">Post 02<")
	if n := strings.Count(body, `<td class="col-name">`); n != 25 {
		t.Errorf("page 1 shows %d rows, want 25", n)
	}
	_, _, body = app.get(t, "/?page=2")
	mustContain(t, body, "Showing 26–27 of 27", ">Post 01<", ">Post 02<", `rel="prev"`)
	// A page past the end redirects to the last page.
	res, err := app.Client.Get(app.URL + "/?page=9")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Query().Get("page") != "2" {
		t.Errorf("page 9 ended at %s, want page 2", res.Request.URL)
	}

	// Sorted by name, ascending.
	_, _, body = app.get(t, "/?sort=name&dir=asc&per=50")
	if a, b := strings.Index(body, ">Post 01<"), strings.Index(body, ">Post 27<"); a < 0 || b < 0 || a > b {
		t.Errorf("name sort: Post 01 at %d, Post 27 at %d", a, b)
	}
	mustContain(t, body, `aria-sort="ascending"`, "Showing 1–27 of 27")
	_, _, body = app.get(t, "/?sort=name&dir=desc&per=50")
	if a, b := strings.Index(body, ">Post 01<"), strings.Index(body, ">Post 27<"); a < b {
		t.Error("name sort descending: Post 01 comes before Post 27")
	}
	// Every sortable column sorts without error.
	for _, key := range []string{"name", "machine", "controller", "platform", "status", "files", "uploaded", "bogus"} {
		for _, dir := range []string{"asc", "desc"} {
			if st, _, _ := app.get(t, "/?sort="+key+"&dir="+dir); st != http.StatusOK {
				t.Errorf("sort %s %s: HTTP %d", key, dir, st)
			}
		}
	}

	// Filters: machine, controller, "not set", status, name search.
	_, _, body = app.get(t, "/?machine=Haas+VF-2")
	mustContain(t, body, "2 packages match these filters", ">Post 01<", ">Post 02<", "Clear")
	_, _, body = app.get(t, "/?machine=Haas+VF-2&controller=Fanuc+0i")
	mustContain(t, body, "1 package matches these filters", ">Post 02<")
	mustNotContain(t, body, ">Post 01<")
	_, _, body = app.get(t, "/?machine=-&per=50")
	mustContain(t, body, "25 packages match")
	mustNotContain(t, body, ">Post 01<", ">Post 02<")
	_, _, body = app.get(t, "/?status=ready")
	mustContain(t, body, "27 packages match")
	_, _, body = app.get(t, "/?status=error")
	mustContain(t, body, "No packages match these filters", "Clear the filters")
	_, _, body = app.get(t, "/?q=post+1")
	mustContain(t, body, "10 packages match") // Post 1, 10–19 … "post 1" matches Post 10-19 and none else
	_, _, body = app.get(t, "/?q=%25")
	mustContain(t, body, "No packages match") // % is a literal, not a wildcard
	// The filter options list the values in use, with counts.
	mustContain(t, body, `<option value="Haas VF-2"`, "Haas VF-2 (2)", "(not set) (25)", "Fanuc 0i (1)")
}

func TestPackagePage(t *testing.T) {
	app := newTestApp(t)
	files := corpusFiles(t, "grbl-post")
	first := app.upload(t, map[string]string{"note": "first cut"}, files...)
	app.waitDone(t, first.PackageID)
	// The second version changes one file (an identical upload would not
	// make a new version).
	changed := append([]upFile(nil), files...)
	for i, f := range changed {
		if strings.HasSuffix(f.Name, ".SRC") {
			changed[i].Data = append(append([]byte(nil), f.Data...), "* tuned\r\n"...)
		}
	}
	second := app.upload(t, map[string]string{"package_id": first.PackageID, "note": "tuned feeds & speeds"}, changed...)
	if st := app.waitDone(t, first.PackageID); st != "ready" {
		t.Fatalf("second version ended %s", st)
	}
	status, _, body := app.get(t, "/packages/"+first.PackageID)
	if status != http.StatusOK {
		t.Fatalf("package page: HTTP %d", status)
	}
	mustContain(t, body,
		"<h1 data-pkg-name>GRBL-Post</h1>", "Version 2", "st-ready",
		`href="/api/v1/packages/`+first.PackageID+`/download"`, "Download all as ZIP",
		`href="/upload?package=`+first.PackageID+`"`, "Upload new version",
		"data-delete-open", "data-delete-dialog", `data-delete-confirm="/api/v1/packages/`+first.PackageID+`"`,
		`data-meta-form="/api/v1/packages/`+first.PackageID+`"`, `name="machine_type"`, `name="controller_type"`, `name="platform"`,
		"first cut", "tuned feeds &amp; speeds", "v1", "v2", "(latest)",
		`/download?version=1"`, `/download?version=2"`,
		"Diagnostics",
	)
	if first.VersionID == second.VersionID {
		t.Error("the second upload did not make a new version")
	}
	// Every file: size, full sha256 (to copy), a download link; text files
	// link to the source view, the binary .ctl does not.
	for _, f := range files {
		mustContain(t, body, f.Name)
	}
	for _, m := range regexp.MustCompile(`data-copy="([0-9a-f]+)"`).FindAllStringSubmatch(body, -1) {
		if len(m[1]) != 64 {
			t.Errorf("sha256 %q is not complete", m[1])
		}
	}
	if n := strings.Count(body, `/download" download="`); n != len(files) {
		t.Errorf("%d file download links, want %d", n, len(files))
	}
	mustContain(t, body, "GRBL-Post.ctl <span class=\"muted small\">(binary)</span>", "35.3 KiB")
	if n := len(regexp.MustCompile(`<a href="/packages/`+first.PackageID+`/files/[0-9a-f-]{36}">`).FindAllString(body, -1)); n != len(files)-1 {
		t.Errorf("%d source view links, want %d (all but the binary file)", n, len(files)-1)
	}
	// The file links really download the bytes.
	m := regexp.MustCompile(`href="(/api/v1/packages/[^"]+/files/[^"]+/download)" download="GRBL-Post.SRC"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no download link for GRBL-Post.SRC")
	}
	_, _, data := app.get(t, m[1])
	for _, f := range changed { // the latest version's bytes
		if f.Name == "GRBL-Post.SRC" && data != string(f.Data) {
			t.Error("the download link does not give the original bytes")
		}
	}

	// Not found: a missing id and a malformed one.
	for _, p := range []string{"/packages/6f1c1b43-0000-4000-8000-000000000000", "/packages/not-a-uuid"} {
		status, _, body := app.get(t, p)
		if status != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", p, status)
		}
		mustContain(t, body, "Page not found", "Go to the package list")
	}
}

// TestIndexedPages: with the index, the list counts diagnostics, the
// package page lists them, the source view is highlighted with an outline
// and symbol links, and symbols can be looked up.
func TestIndexedPages(t *testing.T) {
	app := newTestApp(t)
	files := corpusFiles(t, "tormach-pcnc1100")
	res := app.upload(t, nil, files...)
	if st := app.waitDone(t, res.PackageID); st != "ready" {
		t.Fatalf("ingestion ended %s", st)
	}
	_, _, list := app.get(t, "/")
	mustContain(t, list, `class="dc dc-warning"`, `href="/packages/`+res.PackageID+`#diagnostics"`)
	if st, _, _ := app.get(t, "/?sort=diagnostics&dir=desc"); st != http.StatusOK {
		t.Errorf("sort by diagnostics: HTTP %d", st)
	}

	_, _, page := app.get(t, "/packages/"+res.PackageID)
	mustContain(t, page, `data-diags`, `class="diag sev-warning"`, `data-diag-toggle="warning"`)
	ids := map[string]string{}
	for _, m := range regexp.MustCompile(`/packages/`+res.PackageID+`/files/([0-9a-f-]{36})/download" download="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[2]] = m[1]
	}
	src, lib := ids["Tormach PCNC1100 Series 3.SRC"], ids["MILL.LIB"]
	if src == "" || lib == "" {
		t.Fatalf("file ids not found: %v", ids)
	}
	// Diagnostics link to their line in the source view.
	mustContain(t, page, `/packages/`+res.PackageID+`/files/`+lib+`#L`)

	status, _, body := app.get(t, "/packages/"+res.PackageID+"/files/"+src)
	if status != http.StatusOK {
		t.Fatalf("source view: HTTP %d", status)
	}
	mustContain(t, body,
		`<div class="code hl"`, `data-symbol-url="/packages/`+res.PackageID+`/files/`+src+`/symbol"`,
		`<span class=sc>:SECTION</span>=<a class=nm href="/symbols/PRINT_MEASURE_TOOL" tabindex=-1>PRINT_MEASURE_TOOL</a>`,
		`<span class=cm>`, `<span class=pf>:T:</span>`,
		`class="ol-group ol-header"`, `class="ol-group ol-attribute" open`, `class="ol-group ol-section" open`, `class="ol-group ol-library" open`,
		`href="#L448" data-line="448"`, `data-sym-open="PRINT_MEASURE_TOOL"`, `data-sym-panel`,
		`href="/symbols/MEASURE_TOOL_LENGTH"`,
	)

	// The symbol panel (fragment): definition in the same file, uses.
	_, _, frag := app.get(t, "/packages/"+res.PackageID+"/files/"+src+"/symbol?name=measure_tool_length")
	mustContain(t, frag, `data-def="#L45"`, "Tormach PCNC1100 Series 3.SRC:45", `href="#L459"`, "attribute")
	mustNotContain(t, frag, "<html")
	// … in another file: the definition link opens that file.
	_, _, frag = app.get(t, "/packages/"+res.PackageID+"/files/"+src+"/symbol?name=CALC_ENGMET")
	mustContain(t, frag, `data-def="/packages/`+res.PackageID+`/files/`+lib+`?sym=CALC_ENGMET#L8894"`, "MILL.LIB:8894")
	// … a name defined nowhere, and a system name the catalogue explains.
	_, _, frag = app.get(t, "/packages/"+res.PackageID+"/files/"+src+"/symbol?name=NO_SUCH_THING_AT_ALL")
	mustContain(t, frag, "Not defined in this package", `data-def=""`)
	if st, _, _ := app.get(t, "/packages/"+res.PackageID+"/files/"+src+"/symbol"); st != http.StatusBadRequest {
		t.Errorf("symbol panel without a name: HTTP %d", st)
	}

	// The symbol page lists every package using the name.
	status, _, body = app.get(t, "/symbols/measure_tool_length")
	if status != http.StatusOK {
		t.Fatalf("symbol page: HTTP %d", status)
	}
	mustContain(t, body, "1 package defines or uses this name", "Tormach PCNC1100 Series 3", "<strong>definition</strong>",
		`/files/`+src+`?sym=measure_tool_length#L45"`)
	_, _, body = app.get(t, "/symbols/START_OF_TAPE")
	mustContain(t, body, `class="lead"`) // the catalogue explains system sections
	st, _, body := app.get(t, "/symbols/NO_SUCH_THING_AT_ALL")
	if st != http.StatusNotFound {
		t.Errorf("unknown symbol: HTTP %d, want 404", st)
	}
	mustContain(t, body, "No package defines or uses NO_SUCH_THING_AT_ALL")
}

func TestUploadPage(t *testing.T) {
	app := newTestApp(t)
	status, _, body := app.get(t, "/upload")
	if status != http.StatusOK {
		t.Fatalf("GET /upload = %d", status)
	}
	mustContain(t, body, "<h1>Upload a package</h1>", `accept=".zip,application/zip,.src,.lib`, `name="name"`, `name="note"`,
		`<progress`, `data-stage="pending"`, `data-stage="validating"`, `data-stage="storing"`, `data-stage="parsing"`, `data-stage="ready"`,
		`for="files-input"`, `aria-current="page">Upload`)
	mustNotContain(t, body, `name="package_id"`)

	res := app.upload(t, nil, tinySRC("Existing"))
	app.waitDone(t, res.PackageID)
	_, _, body = app.get(t, "/upload?package="+res.PackageID)
	mustContain(t, body, "Upload a new version of Existing", "become version 2",
		`<input type="hidden" name="package_id" value="`+res.PackageID+`">`)
	mustNotContain(t, body, `name="name"`)

	if status, _, _ := app.get(t, "/upload?package=6f1c1b43-0000-4000-8000-000000000000"); status != http.StatusNotFound {
		t.Errorf("upload for a missing package: HTTP %d, want 404", status)
	}
}

func TestSourcePage(t *testing.T) {
	app := newTestApp(t)
	src := []byte("*FANUCM\r\n:SYSTEM=MILL\r\n* caf\xe9 <b>&amp;\r\n:SECTION=START OF TAPE\r\n:T:%\x1a<EOL>") // Windows-1252, CRLF, no final newline
	res := app.upload(t, nil, upFile{Name: "Demo.SRC", Data: src}, upFile{Name: "Demo.ctl", Data: []byte("\x00\x01binary")})
	app.waitDone(t, res.PackageID)
	_, _, pkgPage := app.get(t, "/packages/"+res.PackageID)
	m := regexp.MustCompile(`<a href="(/packages/[^"]+/files/[^"]+)">Demo.SRC</a>`).FindStringSubmatch(pkgPage)
	if m == nil {
		t.Fatal("no source link for Demo.SRC on the package page")
	}
	status, _, body := app.get(t, m[1])
	if status != http.StatusOK {
		t.Fatalf("source view: HTTP %d", status)
	}
	mustContain(t, body,
		`<h1 id="src-title">Demo.SRC</h1>`, "5 lines", "windows-1252", "CRLF line endings",
		`id="L1"`, `id="L5" data-n="5"`,
		"café &lt;b&gt;&amp;amp;", // decoded and escaped
		`title="control byte 0x1A"`, "Go to line", `max="5"`, "Download", "Demo.ctl",
		`class="chunk"`,
	)
	mustNotContain(t, body, `id="L6"`, "\r", "<b>&amp;")

	// The binary file is not rendered.
	ids := regexp.MustCompile(`/packages/` + res.PackageID + `/files/([0-9a-f-]{36})/download" download="Demo.ctl"`).FindStringSubmatch(pkgPage)
	if ids == nil {
		t.Fatal("no download link for Demo.ctl")
	}
	_, _, body = app.get(t, "/packages/"+res.PackageID+"/files/"+ids[1])
	mustContain(t, body, "binary file", "Download")
	mustNotContain(t, body, `class="code`)

	// A file id under the wrong package, or unknown, is a 404 page.
	other := app.upload(t, nil, tinySRC("Other"))
	app.waitDone(t, other.PackageID)
	for _, p := range []string{
		"/packages/" + other.PackageID + "/files/" + ids[1],
		"/packages/" + res.PackageID + "/files/6f1c1b43-0000-4000-8000-000000000000",
		"/packages/6f1c1b43-0000-4000-8000-000000000000/files/" + ids[1],
	} {
		status, _, body := app.get(t, p)
		if status != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", p, status)
		}
		mustContain(t, body, "Page not found")
	}
}

func TestRoutingErrorsAndAssets(t *testing.T) {
	app := newTestApp(t)
	// UI paths get HTML pages, API paths keep JSON errors.
	status, h, body := app.get(t, "/no/such/page")
	if status != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("unknown page: HTTP %d, %s", status, h.Get("Content-Type"))
	}
	mustContain(t, body, "Page not found", "There is no page at this address.", "Request id")
	status, h, body = app.get(t, "/api/v1/no/such/thing")
	if status != http.StatusNotFound || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"code":"NOT_FOUND"`) {
		t.Errorf("unknown API path: HTTP %d, %s, %s", status, h.Get("Content-Type"), body)
	}
	status, postBody := app.With(t).Do(http.MethodPost, "/", nil)
	body = string(postBody)
	if status != http.StatusMethodNotAllowed {
		t.Errorf("POST /: HTTP %d", status)
	}
	mustContain(t, body, "This page cannot be used that way")
	status, _ = app.With(t).Do(http.MethodHead, "/", nil)
	if status != http.StatusOK {
		t.Errorf("HEAD /: HTTP %d", status)
	}
	// The operational endpoints are untouched.
	if status, _, _ := app.get(t, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: HTTP %d", status)
	}

	// Static files: hashed URLs are cached for good; others revalidate.
	_, _, page := app.get(t, "/")
	for _, name := range []string{"app.css", "app.js", "favicon.svg"} {
		m := regexp.MustCompile(`/static/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]+)`).FindStringSubmatch(page)
		if m == nil {
			t.Errorf("page does not link %s with a hash", name)
			continue
		}
		status, h, body := app.get(t, m[0])
		if status != http.StatusOK || body == "" {
			t.Errorf("%s: HTTP %d", name, status)
		}
		if !strings.Contains(h.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", name, h.Get("Cache-Control"))
		}
		_, h, _ = app.get(t, "/static/"+name)
		if h.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s without hash: Cache-Control %q", name, h.Get("Cache-Control"))
		}
	}
	if status, _, _ := app.get(t, "/static/nope.js"); status != http.StatusNotFound {
		t.Errorf("missing static file: HTTP %d", status)
	}
	if status, h, _ := app.get(t, "/favicon.ico"); status != http.StatusOK || h.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: HTTP %d %s", status, h.Get("Content-Type"))
	}
}

// brokenStore fails or panics, to check what people see then.
type brokenStore struct {
	web.Store
	panic bool
}

func (s brokenStore) BrowsePackages(context.Context, catalog.BrowseQuery) (catalog.BrowseResult, error) {
	if s.panic {
		panic("boom: nil map in /secret/path/handler.go:42")
	}
	return catalog.BrowseResult{}, errors.New("pq: password authentication failed for user \"veripost\"")
}

func (s brokenStore) GetPackage(context.Context, string) (catalog.Package, error) {
	return catalog.Package{}, errors.New("database is locked (/var/lib/veripost/db)")
}

func TestFailuresShowFriendlyPages(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		store      brokenStore
	}{
		{"panic", "/", brokenStore{panic: true}},
		{"list error", "/", brokenStore{}},
		{"package error", "/packages/6f1c1b43-0000-4000-8000-000000000000", brokenStore{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ui := web.New(web.Deps{Store: tc.store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			rec := httptest.NewRecorder()
			ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("HTTP %d, want 500", rec.Code)
			}
			body := rec.Body.String()
			mustContain(t, body, "Something went wrong", "server log", "Go to the package list")
			// No stack trace, no internal error text.
			mustNotContain(t, body, "goroutine", ".go:", "boom", "password", "locked", "/var/lib")
		})
	}
}

// TestNoExternalResources: the UI must work offline, so nothing it ships
// may load from another host.
func TestNoExternalResources(t *testing.T) {
	re := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(\s*["']?https?:`)
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasPrefix(p, "templates") || strings.HasPrefix(p, "static")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllString(string(data), -1) {
			if strings.Contains(m, "www.w3.org") {
				continue // the SVG namespace name, not a download
			}
			t.Errorf("%s refers to an external resource: %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
