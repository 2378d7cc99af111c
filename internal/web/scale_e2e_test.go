package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserScale: the list, package, source and symbol pages at 1,440 px
// and 390 px wide, light and dark: no sideways page scroll, and the key
// controls of each page on screen.
func TestBrowserScale(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	app := newTestApp(t)
	long := strings.Repeat("A very long package name that goes on ", 4) + "end"
	tor := app.upload(t, map[string]string{"name": long}, corpusFiles(t, "tormach-pcnc1100")...)
	grbl := app.upload(t, nil, corpusFiles(t, "grbl-post")...)
	for _, id := range []string{tor.PackageID, grbl.PackageID} {
		if st := app.waitDone(t, id); st != "ready" {
			t.Fatalf("package %s: %s", id, st)
		}
	}
	_, _, page := app.get(t, "/packages/"+tor.PackageID)
	src := fileIDs(t, page, tor.PackageID)["Tormach PCNC1100 Series 3.SRC"]
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")
	type check struct {
		name, path, kind, key string
		visible               []string // selectors that must be on screen
	}
	pages := []check{
		{"list", "/", "list", "", []string{".topbar a[href='/upload']", "table.list td.col-name a"}},
		{"package", "/packages/" + tor.PackageID, "package", tor.PackageID, []string{"[data-download-zip]", "#diag-title"}},
		{"source", "/packages/" + tor.PackageID + "/files/" + src + "#L40", "source", src, []string{"#L40"}},
		{"symbol", "/symbols/G", "symbol", "", []string{"h1"}},
	}
	for _, width := range []int64{1440, 390} {
		for _, scheme := range []string{"light", "dark"} {
			b.run(fmt.Sprintf("%d %s", width, scheme), chromedp.EmulateViewport(width, 900),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
			for _, p := range pages {
				b.run(p.name+" at "+fmt.Sprint(width), chromedp.Navigate(app.URL+p.path))
				b.waitPage(strings.Split(p.path, "#")[0], p.kind, p.key)
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
				b.viewShot(fmt.Sprintf("scale-%s-%d-%s", p.name, width, scheme))
			}
		}
	}
	// At 390 px the source view shows the code first; the outline opens
	// with its toggle.
	b.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(app.URL+pages[2].path))
	b.waitPage(strings.Split(pages[2].path, "#")[0], "source", src)
	var sideShown bool
	b.run("side hidden", chromedp.Evaluate(`getComputedStyle(document.getElementById('src-side')).display !== 'none'`, &sideShown))
	if sideShown {
		t.Error("at 390 px the outline is open before its toggle is pressed")
	}
	b.run("open outline", chromedp.Click(`[data-side-toggle]`, chromedp.ByQuery), chromedp.WaitVisible(`#src-side [data-outline]`, chromedp.ByQuery))
	b.viewShot("scale-source-390-outline")
	b.checkProblems()
}
