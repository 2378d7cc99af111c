package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/veripost/veripost/internal/api"
)

// TestBrowserSymbolsAndRegistry walks what a post writer does with names
// and stock libraries in a real Chromium: filter the symbol index, open a
// name and read each occurrence's line, tell two packages of the same name
// apart and rename one, read a use's line in the source view's panel, and
// (as an administrator) register a held MILL.LIB, make it the default and
// follow the re-analysis until the post that names it resolves to it. The
// new pages are then checked at 1,440 and 390 px, light and dark.
func TestBrowserSymbolsAndRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	app := newTestApp(t)
	haas, okuma, caller, stock := symbolsRegistryFixture(t, app)
	_, _, page := app.get(t, "/packages/"+haas)
	src := fileIDs(t, page, haas)["POST.SRC"]
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")

	count := b.count

	// 1. The symbol index, filtered by what the name starts with.
	b.run("open the symbol index", chromedp.Navigate(app.URL+"/symbols"))
	b.waitPage("/symbols", "symbols", "")
	if n := count("[data-symbol-names] tbody tr"); n < 3 {
		t.Errorf("the symbol index lists %d names", n)
	}
	b.run("filter the index",
		chromedp.SendKeys(`#sym-prefix`, "work off", chromedp.ByQuery),
		chromedp.Submit(`#sym-prefix`, chromedp.ByQuery))
	b.waitPage("/symbols?prefix=work", "symbols", "")
	if n := count("[data-symbol-names] tbody tr"); n != 1 {
		t.Errorf("filtered by “work off”: %d names, want 1", n)
	}
	b.screenshot("symbol-index")

	// 2. The name's page: the defining packages first, each row with its
	// line, the two "Shop post"s told apart.
	b.run("open WORK_OFFSET", chromedp.Click(`[data-symbol-names] a[href="/symbols/WORK_OFFSET"]`, chromedp.ByQuery))
	b.waitPage("/symbols/WORK_OFFSET", "symbol", "")
	if n := count("section.card h2 a[href^='/packages/']"); n != 3 {
		t.Errorf("the symbol page lists %d packages, want 3", n)
	}
	var last string
	b.run("last package", chromedp.Evaluate(`(function(){var a=document.querySelectorAll("section.card h2 a[href^='/packages/']");return a[a.length-1].getAttribute("href");})()`, &last))
	if last != "/packages/"+caller {
		t.Errorf("the last package is %s; the one only using the name (%s) should come after the defining ones", last, caller)
	}
	idents := b.text(`section.card [data-pkg-ident]`)
	if !strings.Contains(idents, "Haas VF-2") && !strings.Contains(idents, "Okuma MB-46") {
		t.Errorf("the first package is not told apart by its machine: %q", idents)
	}
	if got := b.text(`tr.occ-def [data-line-text]`); got != ":ATTRNAME=WORK OFFSET" {
		t.Errorf("the definition's line reads %q", got)
	}
	b.screenshot("symbol-page")

	// 3. Rename one of them on its page; the symbol page follows.
	b.run("open the Haas package", chromedp.Navigate(app.URL+"/packages/"+haas))
	b.waitPage("/packages/"+haas, "package", haas)
	b.run("rename",
		chromedp.Clear(`#m-name`, chromedp.ByQuery),
		chromedp.SendKeys(`#m-name`, "Shop post (Haas)", chromedp.ByQuery),
		chromedp.Click(`.meta-form button[type=submit]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-save-state]').textContent === 'Saved.'`, nil, chromedp.WithPollingTimeout(15*time.Second)))
	if got := b.text(`[data-pkg-name]`); got != "Shop post (Haas)" {
		t.Errorf("heading after the rename: %q", got)
	}
	b.run("symbol page again", chromedp.Navigate(app.URL+"/symbols/WORK_OFFSET"))
	b.waitPage("/symbols/WORK_OFFSET", "symbol", "")
	var names string
	b.run("package names", chromedp.Evaluate(`Array.prototype.map.call(document.querySelectorAll("section.card h2 a"),function(a){return a.textContent}).join("|")`, &names))
	if !strings.Contains(names, "Shop post (Haas)") || !strings.Contains(names, "Shop post|") && !strings.HasSuffix(names, "Shop post") {
		t.Errorf("package names on the symbol page: %q", names)
	}

	// 4. The uses panel of the source view shows each use's line.
	b.run("source with the panel", chromedp.Navigate(app.URL+"/packages/"+haas+"/files/"+src+"?sym=WORK_OFFSET#L13"))
	b.waitPage("/packages/"+haas+"/files/"+src, "source", src)
	b.run("panel lines", chromedp.WaitVisible(`[data-sym-panel] .occ-rows [data-line-text]`, chromedp.ByQuery))
	if got := b.text(`[data-sym-panel] .occ-rows [data-line-text]`); !strings.Contains(got, "WORK_OFFSET") {
		t.Errorf("the panel's first use reads %q", got)
	}
	b.viewShot("uses-panel")

	// 5. Register the MILL.LIB another package ships, make it the default
	// and follow the re-analysis.
	b.run("open MILL.LIB", chromedp.Navigate(app.URL+"/libraries/MILL.LIB"))
	b.waitPage("/libraries/MILL.LIB", "library", "")
	b.run("register it", chromedp.Click(`[data-register-variant]`, chromedp.ByQuery))
	b.waitPage("/admin/registry?name=MILL.LIB", "registry", "")
	b.run("label it",
		chromedp.SendKeys(`#reg-label`, "CAMWorks 2024 SP2", chromedp.ByQuery),
		chromedp.Click(`[data-registry-form] button[type=submit]`, chromedp.ByQuery))
	b.waitPage("/admin/registry?registered=", "registry", "")
	b.run("make it the default", chromedp.Click(`[data-make-default]`, chromedp.ByQuery))
	b.waitPage("/admin/registry?queued=", "registry", "")
	b.run("re-analysis done", chromedp.WaitVisible(`[data-reindex-progress][data-done]`, chromedp.ByQuery))
	if got := b.text(`[data-registry-table] [data-default-mark]`); got != "Default" {
		t.Errorf("default mark: %q", got)
	}
	b.screenshot("registry")
	for _, id := range []string{haas, okuma} {
		deadline := time.Now().Add(30 * time.Second)
		for done := false; !done; {
			var o api.OutlineBody
			app.With(t).GetJSON("/api/v1/packages/"+id+"/outline", &o)
			for _, l := range o.Libraries {
				done = done || (l.How == "registry" && l.Registry == "CAMWorks 2024 SP2")
			}
			if !done && time.Now().After(deadline) {
				t.Fatalf("package %s never resolved MILL.LIB from the registry: %+v", id, o.Libraries)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The source view links the path to the registered variant.
	b.run("source again", chromedp.Navigate(app.URL+"/packages/"+haas+"/files/"+src+"#L10"))
	b.waitPage("/packages/"+haas+"/files/"+src, "source", src)
	b.run("registry link", chromedp.WaitVisible(`#L10 a.lib-link[href^="/libraries/MILL.LIB?sha="]`, chromedp.ByQuery))
	// Go-to-definition on a section the registry's MILL.LIB defines.
	_, _, page = app.get(t, "/packages/"+stock)
	millLib := fileIDs(t, page, stock)["MILL.LIB"]
	b.run("go to STOCK_HELPER", chromedp.Click(`#L15 a[href="/symbols/STOCK_HELPER"]`, chromedp.ByQuery))
	b.waitPage("/packages/"+stock+"/files/"+millLib, "source", millLib)

	// The Okuma package picks no registry variant on its own page.
	b.run("open the Okuma package", chromedp.Navigate(app.URL+"/packages/"+okuma+"#stock"))
	b.waitPage("/packages/"+okuma, "package", okuma)
	if got := b.text(`[data-stock-lib="MILL.LIB"] [data-stock-resolved]`); got != "CAMWorks 2024 SP2" {
		t.Errorf("the stock library card says MILL.LIB resolved to %q", got)
	}
	b.run("pick none",
		chromedp.SetValue(`[data-stock-lib="MILL.LIB"] select`, "none", chromedp.ByQuery),
		chromedp.Click(`[data-stock-lib="MILL.LIB"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-registry-choice][data-saved]`, chromedp.ByQuery))
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.run("reload", chromedp.Reload())
		b.waitPage("/packages/"+okuma, "package", okuma)
		if b.text(`[data-stock-lib="MILL.LIB"] [data-stock-resolved]`) == "not resolved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("after picking none, MILL.LIB of the Okuma package still resolves")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// 6. The new pages at 1,440 and 390 px, light and dark.
	type check struct {
		name, path, kind string
		visible          []string
	}
	pages := []check{
		{"symbol-index", "/symbols", "symbols", []string{"#sym-prefix", "[data-symbol-names] a[href='/symbols/WORK_OFFSET']"}},
		{"symbol", "/symbols/WORK_OFFSET", "symbol", []string{"h1", "[data-line-text]", "[data-pkg-ident]"}},
		{"registry", "/admin/registry", "registry", []string{"#reg-label", "[data-registry-table] .col-name a"}},
		{"package", "/packages/" + haas, "package", []string{"[data-download-zip]", "[data-stock-libs] select"}},
	}
	for _, width := range []int64{1440, 390} {
		for _, scheme := range []string{"light", "dark"} {
			b.run(fmt.Sprintf("%d %s", width, scheme), chromedp.EmulateViewport(width, 900),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
			for _, p := range pages {
				b.run(p.name+" at "+fmt.Sprint(width), chromedp.Navigate(app.URL+p.path))
				b.waitPage(p.path, p.kind, "")
				var overflow float64
				b.run("page width", chromedp.Evaluate(`document.documentElement.scrollWidth - innerWidth`, &overflow))
				if overflow > 0 {
					t.Errorf("%s at %d px (%s) scrolls sideways by %.0f px", p.name, width, scheme, overflow)
				}
				for _, sel := range p.visible {
					var on bool
					b.run("visible "+sel, chromedp.Evaluate(fmt.Sprintf(`(function(){var e=document.querySelector(%q);if(!e)return false;var r=e.getBoundingClientRect();return r.width>0&&r.height>0&&r.left>=0&&r.right<=innerWidth+1;})()`, sel), &on))
					if !on {
						t.Errorf("%s at %d px (%s): %s is not on screen", p.name, width, scheme, sel)
					}
				}
				b.viewShot(fmt.Sprintf("%s-%d-%s", p.name, width, scheme))
			}
		}
	}
	if st, _ := app.Do(http.MethodGet, "/api/v1/symbols?prefix=WORK", nil); st != http.StatusOK {
		t.Errorf("symbol names API: HTTP %d", st)
	}
	b.checkProblems()
}
