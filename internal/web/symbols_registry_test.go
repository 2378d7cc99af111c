package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
)

// symbolsRegistryFiles reads a package of internal/web/testdata/symbols-registry.
func symbolsRegistryFiles(t testing.TB, dir string) []upFile {
	t.Helper()
	return fixtureFiles(t, filepath.Join("testdata", "symbols-registry", dir))
}

// symbolsRegistryFixture uploads two packages of the same name (told apart by their
// machine), a newer one that only uses their attribute, and a package that
// ships a stock MILL.LIB; it returns their ids in that order.
func symbolsRegistryFixture(t *testing.T, app *testApp) (haas, okuma, caller, stock string) {
	t.Helper()
	haas = app.upload(t, map[string]string{"name": "Shop post"}, symbolsRegistryFiles(t, "shop")...).PackageID
	app.waitDone(t, haas)
	okuma = app.upload(t, map[string]string{"name": "Shop post"}, symbolsRegistryFiles(t, "shop")...).PackageID
	app.waitDone(t, okuma)
	caller = app.upload(t, map[string]string{"name": "Caller"}, symbolsRegistryFiles(t, "caller")...).PackageID
	app.waitDone(t, caller)
	stock = app.upload(t, map[string]string{"name": "Stock holder"}, symbolsRegistryFiles(t, "stock")...).PackageID
	for _, id := range []string{haas, okuma, caller, stock} {
		if st := app.waitDone(t, id); st != "ready" {
			t.Fatalf("package %s: %s", id, st)
		}
	}
	app.patch(t, haas, map[string]string{"machine_type": "Haas VF-2", "controller_type": "Haas NGC"})
	app.patch(t, okuma, map[string]string{"machine_type": "Okuma MB-46", "controller_type": "OSP-P300"})
	return haas, okuma, caller, stock
}

// TestSymbolPagesAndIndex: the symbol page lists the packages defining a
// name first, tells same-name packages apart and shows each occurrence's
// line; the uses panel shows lines too; the symbol index lists names with
// counts, filters by prefix and pages; the API pages the same way.
func TestSymbolPagesAndIndex(t *testing.T) {
	app := newTestApp(t)
	haas, okuma, caller, _ := symbolsRegistryFixture(t, app)

	status, _, body := app.get(t, "/symbols/work_offset")
	if status != http.StatusOK {
		t.Fatalf("symbol page: HTTP %d", status)
	}
	mustContain(t, body, "Haas VF-2", "Haas NGC", "Okuma MB-46", "OSP-P300", `data-pkg-ident`,
		// each occurrence with its line's text (escaped)
		`<code data-line-text>:C: WORK_OFFSET=WORK_OFFSET&#43;1</code>`,
		`<code data-line-text>:T:G&lt;WORK_OFFSET&gt;&lt;EOL&gt;</code>`,
		`<code data-line-text>:ATTRNAME=WORK OFFSET</code>`,
		`<a href="/symbols">Symbols</a>`)
	// The packages that define the name come before the newer one that
	// only uses it.
	ih, io, ic := strings.Index(body, `id="sp-`+haas+`"`), strings.Index(body, `id="sp-`+okuma+`"`), strings.Index(body, `id="sp-`+caller+`"`)
	if ih < 0 || io < 0 || ic < 0 || ic < ih || ic < io {
		t.Errorf("symbol page order: haas %d, okuma %d, caller (uses only) %d; the defining packages come first", ih, io, ic)
	}
	// Within a package, the definition row comes first.
	card := body[ih:]
	if d, u := strings.Index(card, `class="occ-def"`), strings.Index(card, `<td data-label="Role">token`); d < 0 || (u >= 0 && u < d) {
		t.Errorf("the definition is not the first row of the package (definition at %d, use at %d)", d, u)
	}

	// The API pages one package at a time in the same order, without
	// repeating one.
	var order []string
	cursor := ""
	for range 10 {
		var page struct {
			index.SymbolPage
		}
		app.With(t).GetJSON("/api/v1/symbols/WORK_OFFSET?limit=1&cursor="+url.QueryEscape(cursor), &page)
		for _, p := range page.Packages {
			order = append(order, p.PackageID)
			if len(p.Occurrences) == 0 || p.Occurrences[0].SHA256 == "" {
				t.Errorf("package %s: occurrences without their content: %+v", p.PackageID, p.Occurrences)
			}
		}
		if !page.TotalExact || page.Total != 3 {
			t.Errorf("total %d (exact %v), want 3", page.Total, page.TotalExact)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(order) != 3 || order[2] != caller || order[0] == order[1] {
		t.Errorf("paged order %v: want the two defining packages, then %s", order, caller)
	}
	if st, _ := app.Do(http.MethodGet, "/api/v1/symbols/WORK_OFFSET?cursor=bm90LWEtY3Vyc29y", nil); st != http.StatusBadRequest {
		t.Errorf("a foreign cursor: HTTP %d, want 400", st)
	}

	// The uses panel of the source view shows each use's line.
	_, _, page := app.get(t, "/packages/"+haas)
	src := fileIDs(t, page, haas)["POST.SRC"]
	_, _, frag := app.get(t, "/packages/"+haas+"/files/"+src+"/symbol?name=WORK_OFFSET")
	mustContain(t, frag, `data-def-link>POST.SRC:4</a> <code class="line-text" data-line-text>:ATTRNAME=WORK OFFSET</code>`,
		`<code class="line-text" data-line-text>:C: WORK_OFFSET=WORK_OFFSET&#43;1</code>`, "Okuma MB-46")

	// The symbol index: names with counts, in name order.
	status, _, body = app.get(t, "/symbols")
	if status != http.StatusOK {
		t.Fatalf("symbol index: HTTP %d", status)
	}
	row := regexp.MustCompile(`(?s)<a href="/symbols/WORK_OFFSET"><code>WORK_OFFSET</code></a></td>\s*<td data-label="Kind">attribute</td>\s*<td class="num" data-label="Packages">3</td>\s*<td class="num" data-label="Definitions">2</td>\s*<td class="num" data-label="Uses">(\d+)</td>`)
	if m := row.FindStringSubmatch(body); m == nil {
		t.Errorf("the index has no row WORK_OFFSET, attribute, 3 packages, 2 definitions:\n%s", body)
	} else if m[1] != "9" { // 2 × (two template uses, two in the assignment) + the caller's
		t.Errorf("WORK_OFFSET uses = %s, want 9", m[1])
	}
	mustContain(t, body, `href="/symbols/START_OF_TAPE"`, `href="/symbols/SHOP_SETUP"`)
	if strings.Index(body, `href="/symbols/SHOP_SETUP"`) > strings.Index(body, `href="/symbols/WORK_OFFSET"`) {
		t.Error("the index is not in name order")
	}
	_, _, body = app.get(t, "/symbols?prefix=work")
	mustContain(t, body, `href="/symbols/WORK_OFFSET"`, `value="work"`)
	mustNotContain(t, body, `href="/symbols/SHOP_SETUP"`)
	_, _, body = app.get(t, "/symbols?prefix=zzz_nothing")
	mustContain(t, body, "No name starts with")

	// The API pages the index one name at a time with the same names.
	var names []string
	cursor = ""
	for range 50 {
		var p catalog.Page[index.SymbolName]
		app.With(t).GetJSON("/api/v1/symbols?limit=1&cursor="+url.QueryEscape(cursor), &p)
		for _, n := range p.Items {
			names = append(names, n.Name)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	var all catalog.Page[index.SymbolName]
	app.With(t).GetJSON("/api/v1/symbols?limit=200", &all)
	if len(all.Items) == 0 || len(names) != len(all.Items) {
		t.Fatalf("paged one at a time: %v; in one page: %d names", names, len(all.Items))
	}
	for i, n := range all.Items {
		if names[i] != n.Name || (i > 0 && all.Items[i-1].Name >= n.Name) {
			t.Errorf("name %d: paged %q, whole %q (not in order or not the same)", i, names[i], n.Name)
		}
		if n.Packages == 0 {
			t.Errorf("%s is listed with no package", n.Name)
		}
	}
	var work catalog.Page[index.SymbolName]
	app.With(t).GetJSON("/api/v1/symbols?prefix=WORK%20OFF", &work)
	if len(work.Items) != 1 || work.Items[0].Name != "WORK_OFFSET" || work.Items[0].Packages != 3 || !work.Items[0].PackagesExact {
		t.Errorf("prefix WORK OFF: %+v", work.Items)
	}
	if st, _ := app.Do(http.MethodGet, "/api/v1/symbols?cursor=%25%25", nil); st != http.StatusBadRequest {
		t.Errorf("a broken cursor: HTTP %d, want 400", st)
	}

	// Unknown names and libraries still answer 404.
	if st, _, _ := app.get(t, "/symbols/NO_SUCH_NAME_ANYWHERE"); st != http.StatusNotFound {
		t.Errorf("unknown symbol: HTTP %d", st)
	}
	if st, _, _ := app.get(t, "/libraries/NOPE.LIB"); st != http.StatusNotFound {
		t.Errorf("unknown library: HTTP %d", st)
	}

	// Same-name packages are told apart on the library page and in the
	// compare choices too.
	_, _, body = app.get(t, "/libraries/SHOP.LIB")
	mustContain(t, body, "Haas VF-2", "Okuma MB-46", `data-pkg-ident`)
	_, _, body = app.get(t, "/packages/"+caller)
	mustContain(t, body, "Shop post · Haas VF-2 · Haas NGC · v1", "Shop post · Okuma MB-46 · OSP-P300 · v1")
}

// TestRegistryPage: administrators see the registry with its variants,
// held contents they can register, and the links to it; others do not.
func TestRegistryPage(t *testing.T) {
	app := newTestApp(t)
	haas, _, _, stock := symbolsRegistryFixture(t, app)
	var files []catalog.File
	_, _, page := app.get(t, "/packages/"+stock)
	lib := fileIDs(t, page, stock)["MILL.LIB"]
	if lib == "" {
		t.Fatal("the stock package has no MILL.LIB")
	}
	var p catalog.Package
	app.With(t).GetJSON("/api/v1/packages/"+stock, &p)
	files = p.Files
	sha := ""
	for _, f := range files {
		if f.Filename == "MILL.LIB" {
			sha = f.SHA256
		}
	}

	// The library page offers to register the held variant.
	_, _, body := app.get(t, "/libraries/MILL.LIB")
	mustContain(t, body, `href="/admin/registry?name=MILL.LIB&amp;sha=`+sha+`#reg-title" data-register-variant`)
	_, _, body = app.get(t, "/libraries")
	mustContain(t, body, `href="/admin/registry" data-registry-link`)

	_, _, body = app.get(t, "/admin/registry?name=MILL.LIB&sha="+sha)
	mustContain(t, body, `data-page="registry"`, `value="MILL.LIB"`, `value="`+sha+`"`, "Nothing is registered yet",
		`id="held-MILL.LIB"`, `data-register-held`)

	st, b := app.Do(http.MethodPost, "/api/v1/admin/registry", map[string]any{"name": "MILL.LIB", "sha256": sha, "label": "CAMWorks 2024 SP2"})
	if st != http.StatusCreated {
		t.Fatalf("register: HTTP %d: %s", st, b)
	}
	var v struct {
		SHA256       string `json:"sha256"`
		RegisteredBy string `json:"registered_by"`
	}
	_ = json.Unmarshal(b, &v)
	if v.RegisteredBy != app.Admin {
		t.Errorf("registered by %q, want %q", v.RegisteredBy, app.Admin)
	}
	_, _, body = app.get(t, "/admin/registry?registered="+sha)
	mustContain(t, body, "CAMWorks 2024 SP2", `data-registered`, `data-make-default="/api/v1/admin/registry/MILL.LIB/default" data-sha="`+sha+`"`,
		"registered</span>", "by "+app.Admin)
	_, _, body = app.get(t, "/admin/audit")
	mustContain(t, body, "registered MILL.LIB “CAMWorks 2024 SP2” in the library registry")

	// With the variant the default, go-to-definition in a package that
	// does not ship MILL.LIB leads to the registry's content (a package
	// file holding it).
	if st, b := app.Do(http.MethodPut, "/api/v1/admin/registry/MILL.LIB/default", map[string]any{"sha256": sha}); st != http.StatusOK {
		t.Fatalf("default: HTTP %d: %s", st, b)
	}
	_, _, page = app.get(t, "/packages/"+haas)
	src := fileIDs(t, page, haas)["POST.SRC"]
	deadline := time.Now().Add(time.Minute)
	for {
		_, _, frag := app.get(t, "/packages/"+haas+"/files/"+src+"/symbol?name=STOCK_HELPER")
		if strings.Contains(frag, `data-def-registry`) {
			mustContain(t, frag, `data-def="/packages/`+stock+`/files/`+lib+`?sym=STOCK_HELPER#L2"`, "CAMWorks 2024 SP2",
				`<code class="line-text" data-line-text>:SECTION=STOCK_HELPER</code>`)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the panel never found STOCK_HELPER in the registry's MILL.LIB:\n%s", frag)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The package page shows the stock library, what it resolved to, and
	// lets the package pick its own variant (or none).
	_, _, page = app.get(t, "/packages/"+haas)
	mustContain(t, page, `data-stock-libs`, `<span data-stock-resolved>CAMWorks 2024 SP2</span>`,
		`data-registry-choice="/api/v1/packages/`+haas+`/registry/MILL.LIB"`, `<option value="`+sha+`">CAMWorks 2024 SP2 (default)</option>`)
	if st, b := app.Do(http.MethodPut, "/api/v1/packages/"+haas+"/registry/MILL.LIB", map[string]any{"sha256": ""}); st != http.StatusOK {
		t.Fatalf("pick none: HTTP %d: %s", st, b)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		_, _, page = app.get(t, "/packages/"+haas)
		if strings.Contains(page, `<span class="muted" data-stock-resolved>not resolved</span>`) {
			mustContain(t, page, "(this package uses no registry variant)", `<option value="none" selected>`)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the package page never showed MILL.LIB unresolved after picking none")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Only administrators open it.
	resp, err := app.Anonymous.Get(app.URL + "/admin/registry")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/admin/registry" {
		t.Error("an anonymous visitor opened the registry page")
	}
}
