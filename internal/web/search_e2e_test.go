package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/veripost/veripost/internal/testenv"
)

// searchFixture returns the paths of one of internal/search's synthetic
// packages.
func searchFixture(t *testing.T, name string) []string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "internal", "search", "testdata", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	return paths
}

func readFiles(t *testing.T, paths []string) []upFile {
	t.Helper()
	var out []upFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, upFile{Name: filepath.Base(p), Data: data})
	}
	return out
}

// TestBrowserSearch searches from the top bar, moves through the hits with
// the keyboard, narrows with a facet, opens a hit in the source view, finds
// alike sections and posts, sees the empty, error and no-result states, and
// uploads a near-duplicate through the page to see the note.
func TestBrowserSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	app := newTestApp(t)
	alpha, beta := searchFixture(t, "alpha"), searchFixture(t, "beta")
	a := app.upload(t, map[string]string{"name": "Alpha"}, readFiles(t, alpha)...)
	bt := app.upload(t, map[string]string{"name": "Beta"}, readFiles(t, beta)...)
	app.WaitSearchable(a.PackageID)
	app.WaitSearchable(bt.PackageID)
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")

	// 1. From any page, "/" jumps to the top-bar box; Enter searches.
	b.run("open the package list", chromedp.Navigate(app.URL+"/"))
	b.waitPage("/", "list", "")
	var active string
	b.run("press /", chromedp.KeyEvent("/"), chromedp.Evaluate(`document.activeElement.id`, &active))
	if active != "top-q" {
		t.Errorf("after / the focus is on %q, want the search box", active)
	}
	// (CDP sends the "/" character on its own, so clear what it typed.)
	b.run("type a search", chromedp.Evaluate(`document.getElementById('top-q').value = ''`, nil),
		chromedp.SendKeys(`#top-q`, "SPINDLE_DIR"+kb.Enter, chromedp.ByQuery))
	b.waitPage("/search?q=SPINDLE_DIR", "search", "")
	b.run("results", chromedp.WaitVisible(`[data-results] .search-hit`, chromedp.ByQuery))
	if got := b.text(`[data-results] .search-hit mark`); got != "SPINDLE DIR" {
		t.Errorf("first highlighted match = %q, want the definition SPINDLE DIR", got)
	}
	if got := b.text(`[data-results] .search-hit .role`); !strings.EqualFold(got, "definition") {
		t.Errorf("first hit's role = %q, want definition", got)
	}
	b.screenshot("search-01-results")

	// 2. j/k move between hits; Enter opens the focused one.
	var focused string
	b.run("j, j, k", chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k"),
		chromedp.Evaluate(`document.activeElement.getAttribute('href')`, &focused))
	var first string
	b.run("first hit", chromedp.AttributeValue(`[data-hit-link]`, "href", &first, nil, chromedp.ByQuery))
	if focused != first || !strings.Contains(first, "#L") {
		t.Errorf("after j, j, k the focus is on %q; want the first hit %q", focused, first)
	}
	b.run("open the hit", chromedp.KeyEvent(kb.Enter))
	b.waitPage("/files/", "source", "")
	if got := b.text(`#src-title`); got != "ALPHA.SRC" {
		t.Errorf("the hit opened %q", got)
	}

	// 3. A section's "alike" link lists sections like it.
	b.run("back to results", chromedp.Navigate(app.URL+"/search?q=SPINDLE_DIR"))
	b.waitPage("/search?q=SPINDLE_DIR", "search", "")
	b.run("narrow to calc sections", chromedp.Click(`//aside[contains(@class,"facets")]//a[normalize-space(text())="calc"]`, chromedp.BySearch))
	b.waitPage("section=calc", "search", "")
	b.run("narrowed results", chromedp.WaitVisible(`ul.active-filters .chip`, chromedp.ByQuery))
	var roles []string
	b.run("roles", chromedp.Evaluate(`Array.from(document.querySelectorAll('[data-results] .search-hit .role')).map(e => e.textContent)`, &roles))
	if len(roles) == 0 {
		t.Error("no hits in calc sections")
	}
	for _, r := range roles {
		if r != "assignment" && r != "definition" {
			t.Errorf("a hit outside calc sections is shown: role %q", r)
		}
	}
	b.screenshot("search-02-facet")
	b.run("sections like CALC_SPINDLE", chromedp.Click(`//a[normalize-space(text())="alike"]`, chromedp.BySearch))
	b.waitPage("/similar", "similar", "")
	b.run("alike sections", chromedp.WaitVisible(`[data-similar-sections] li`, chromedp.ByQuery))
	if got := b.text(`[data-similar-of]`); got != "CALC_SPINDLE" {
		t.Errorf("alike page for %q", got)
	}
	if got := b.text(`[data-similar-sections] li .places a`); !strings.Contains(got, "Beta") {
		t.Errorf("the most alike section is in %q; want Beta's", got)
	}
	b.screenshot("search-03-alike-sections")

	// 4. The package page lists alike posts.
	b.run("package page", chromedp.Navigate(app.URL+"/packages/"+a.PackageID))
	b.waitPage("/packages/"+a.PackageID, "package", a.PackageID)
	b.run("alike posts", chromedp.WaitVisible(`[data-similar-posts] li`, chromedp.ByQuery))
	if got := b.text(`[data-similar-posts] li a`); got != "Beta" {
		t.Errorf("posts like Alpha start with %q", got)
	}

	// 5. Empty, no-result and error states.
	b.run("empty search page", chromedp.Navigate(app.URL+"/search"))
	b.waitPage("/search", "search", "")
	b.run("empty state", chromedp.WaitVisible(`[data-search-empty]`, chromedp.ByQuery))
	b.run("no results", chromedp.Navigate(app.URL+"/search?q=NOTHING_LIKE_THIS"))
	b.waitPage("q=NOTHING_LIKE_THIS", "search", "")
	b.run("no-result state", chromedp.WaitVisible(`[data-search-none]`, chromedp.ByQuery))
	b.run("bad query", chromedp.Navigate(app.URL+"/search?q=-spindle"))
	b.waitPage("q=-spindle", "search", "")
	b.run("error state", chromedp.WaitVisible(`[data-search-error]`, chromedp.ByQuery))
	if got := b.text(`[data-search-error] .error-msg`); !strings.Contains(got, "not only what to leave out") {
		t.Errorf("bad query explained as %q", got)
	}
	b.screenshot("search-04-error")

	// 6. Uploading a near-copy of Beta through the page says so.
	changed := filepath.Join(t.TempDir(), "BETA.SRC")
	data, err := os.ReadFile(beta[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, []byte(strings.Replace(string(data), "Haas NGC", "Haas NGC 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("upload a near-copy",
		chromedp.Navigate(app.URL+"/upload"))
	b.waitPage("/upload", "upload", "")
	b.run("send the near-copy",
		chromedp.WaitVisible(`[data-dropzone]`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#files-input`, []string{changed}, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-chosen]`, chromedp.ByQuery),
		chromedp.Click(`[data-upload-button]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-open-package]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-status] [data-near-duplicate]`, chromedp.ByQuery),
	)
	if got := b.text(`[data-near-duplicate]`); !strings.Contains(got, "the same as Beta v1") {
		t.Errorf("near-duplicate note = %q", got)
	}
	b.screenshot("search-05-near-duplicate")
	b.checkProblems()
}
