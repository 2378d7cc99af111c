package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCompare opens a comparison from the versions table in a real
// Chromium, switches between the unified and the side-by-side view,
// follows a section's link to its line in the source view, edits a
// version's note, compares two library variants and lists a package's
// customisations against a base.
func TestBrowserCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	app := newTestApp(t)
	v1 := app.upload(t, map[string]string{"name": "GRBL shop post", "note": "from the template"}, corpusFiles(t, "grbl-post")...)
	if st := app.waitDone(t, v1.PackageID); st != "ready" {
		t.Fatalf("v1 ended %s", st)
	}
	app.upload(t, map[string]string{"package_id": v1.PackageID, "note": "SCL changes"}, corpusFiles(t, "scl-sw-grbl")...)
	if st := app.waitDone(t, v1.PackageID); st != "ready" {
		t.Fatalf("v2 ended %s", st)
	}
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")
	pkgURL := app.URL + "/packages/" + v1.PackageID

	// 1. From the versions table (v1 as A and v2 as B are preselected).
	b.run("open package", chromedp.Navigate(pkgURL), chromedp.WaitVisible(`table.versions`, chromedp.ByQuery))
	b.run("compare selected", chromedp.Click(`[data-compare-selected]`, chromedp.ByQuery))
	b.waitPage("/compare?", "compare", "")
	b.run("compare page", chromedp.WaitVisible(`[data-compare-summary]`, chromedp.ByQuery))
	if s := b.text(`[data-summary]`); !strings.Contains(s, "sections changed") {
		t.Errorf("summary %q", s)
	}
	if h := b.text(`[data-compare-title]`); !strings.Contains(h, "GRBL shop post v1") || !strings.Contains(h, "GRBL shop post v2") {
		t.Errorf("title %q", h)
	}
	b.viewShot("30-compare-unified")

	// 2. Unified ↔ side by side, without a reload.
	b.run("side by side",
		chromedp.Click(`[data-view-btn="split"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.diff-split table.diff-sbs`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`.diff-unified table.diff`, chromedp.ByQuery),
	)
	b.waitPage("view=split", "compare", "")
	var pressed string
	b.run("pressed", chromedp.AttributeValue(`[data-view-btn="split"]`, "aria-pressed", &pressed, nil, chromedp.ByQuery))
	if pressed != "true" {
		t.Errorf("the side-by-side button is not pressed (%q)", pressed)
	}
	b.viewShot("31-compare-side-by-side")
	b.run("unified again",
		chromedp.Click(`[data-view-btn="unified"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.diff-unified table.diff`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`.diff-split table.diff-sbs`, chromedp.ByQuery),
	)

	// 3. A section's link leads to its line on side B in the source view.
	var href string
	b.run("section link", chromedp.Evaluate(`(function(){
		var items = document.querySelectorAll('[data-group="sections"] [data-item]');
		for (var i = 0; i < items.length; i++) {
			if (items[i].querySelector('.sem-title').textContent.trim() === 'START_OF_TAPE') {
				return items[i].querySelector('[data-loc-b]').getAttribute('href');
			}
		}
		return '';
	})()`, &href))
	i := strings.LastIndex(href, "#L")
	if href == "" || i < 0 {
		t.Fatalf("no B link for START_OF_TAPE (%q)", href)
	}
	line := href[i+1:]
	b.run("follow section link", chromedp.Click(`[data-group="sections"] [data-item] a[href="`+href+`"]`, chromedp.ByQuery))
	b.waitPage(href, "source", "")
	b.run("source at the section", chromedp.WaitVisible(`#src-title`, chromedp.ByQuery), chromedp.WaitVisible(`#`+line, chromedp.ByQuery))
	if got := b.text(`#src-title`); got != "SCL-SW-GRBL-1_1.SRC" {
		t.Errorf("the section link opened %q", got)
	}
	if got := b.text(`#` + line); !strings.Contains(got, ":SECTION=START_OF_TAPE") {
		t.Errorf("line %s is %q", line, got)
	}
	b.viewShot("32-compare-followed-section")

	// 4. A version's note, edited in place.
	b.run("edit note",
		chromedp.Navigate(pkgURL),
		chromedp.WaitVisible(`table.versions`, chromedp.ByQuery),
		chromedp.Click(`[aria-label="Edit the note of version 1"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-note-input]`, chromedp.ByQuery),
		chromedp.SetValue(`[data-note-input]`, "stock GRBL template", chromedp.ByQuery),
		chromedp.Click(`.note-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`[data-note-input]`, chromedp.ByQuery),
	)
	if got := b.text(`table.versions tbody tr:last-child td.note`); got != "stock GRBL template" {
		t.Errorf("note after saving: %q", got)
	}
	b.run("note saved", chromedp.Navigate(pkgURL), chromedp.WaitVisible(`table.versions`, chromedp.ByQuery))
	if got := b.text(`table.versions tbody tr:last-child td.note`); got != "stock GRBL template" {
		t.Errorf("note after the edit: %q", got)
	}
	// "Changes" of v2 is the same comparison.
	b.run("changes link", chromedp.Click(`[data-version-changes]`, chromedp.ByQuery))
	b.waitPage("/compare?", "compare", "")
	b.run("changes page", chromedp.WaitVisible(`[data-compare-summary]`, chromedp.ByQuery))
	if h := b.text(`.cmp-notes`); !strings.Contains(h, "stock GRBL template") || !strings.Contains(h, "SCL changes") {
		t.Errorf("the compare page shows the notes %q", h)
	}

	// 5. Two library variants from the Libraries page.
	tor := corpusFiles(t, "tormach-pcnc1100")
	a := app.upload(t, map[string]string{"name": "Tormach stock"}, tor...)
	edited := make([]upFile, len(tor))
	for i, f := range tor {
		edited[i] = f
		if f.Name == "MILL.LIB" {
			edited[i].Data = []byte(strings.Replace(string(f.Data), ":ATTRDEFAULT=", ":ATTRDEFAULT=7", 1))
		}
	}
	e := app.upload(t, map[string]string{"name": "Tormach customer"}, edited...)
	for _, id := range []string{a.PackageID, e.PackageID} {
		if st := app.waitDone(t, id); st != "ready" {
			t.Fatalf("tormach ended %s", st)
		}
	}
	b.run("variants", chromedp.Navigate(app.URL+"/libraries/MILL.LIB"), chromedp.WaitVisible(`table.variants`, chromedp.ByQuery),
		chromedp.Click(`[data-compare-selected]`, chromedp.ByQuery))
	b.waitPage("a_sha=", "compare", "")
	b.run("variant compare", chromedp.WaitVisible(`[data-compare-summary]`, chromedp.ByQuery))
	if s := b.text(`[data-summary]`); !strings.Contains(s, "1 attribute changed") {
		t.Errorf("variant summary %q", s)
	}
	b.screenshot("33-compare-variants")

	// 6. Customisations of the customer's package against the stock one.
	b.run("customisations",
		chromedp.Navigate(app.URL+"/packages/"+e.PackageID),
		chromedp.WaitVisible(`[data-customisations]`, chromedp.ByQuery),
		chromedp.SetValue(`#cmp-base`, "pkg:"+a.PackageID, chromedp.ByQuery),
	)
	b.viewShot("34a-customisations-chosen")
	b.run("list customisations", chromedp.Click(`[data-customisations] button[type=submit]`, chromedp.ByQuery))
	b.waitPage("base=pkg", "compare", "")
	b.run("customisations page", chromedp.WaitVisible(`[data-semantic]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-compare-title]').textContent.indexOf('Customisations') >= 0`, nil, chromedp.WithPollingTimeout(10*time.Second)))
	if s := b.text(`[data-semantic]`); !strings.Contains(s, "MILL.LIB") || !strings.Contains(s, "different variant") {
		t.Errorf("customisations list %q", s)
	}
	b.screenshot("34-customisations")
	b.checkProblems()
}
