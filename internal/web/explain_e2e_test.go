package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserExplain opens a section's explanation from the source view's
// outline in a real Chromium, follows a citation to its line in the same
// file and another into MILL.LIB, explains a section from its header line
// and a selection of lines, and reads the package page's overview.
func TestBrowserExplain(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	app := newTestApp(t)
	res := app.upload(t, nil, corpusFiles(t, "tormach-pcnc1100")...)
	if st := app.waitDone(t, res.PackageID); st != "ready" {
		t.Fatalf("upload ended %s", st)
	}
	pkgURL := app.URL + "/packages/" + res.PackageID
	_, _, pkgPage := app.get(t, "/packages/"+res.PackageID)
	ids := fileIDs(t, pkgPage, res.PackageID)
	const srcName = "Tormach PCNC1100 Series 3.SRC"
	src, mill := ids[srcName], ids["MILL.LIB"]
	if src == "" || mill == "" {
		t.Fatalf("file ids: %v", ids)
	}
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")
	panelFor := func(subject string) string {
		return `[data-explain-panel] [data-explain-for="` + subject + `"]`
	}

	// 1. The outline's "explain" opens the section's explanation in the panel.
	b.run("open source", chromedp.Navigate(pkgURL+"/files/"+src), chromedp.WaitVisible(`#L1`, chromedp.ByQuery))
	b.run("explain from the outline",
		chromedp.Click(`a[data-explain="section"][aria-label="Explain INIT_TOOL_CHANGE_MILL"]`, chromedp.ByQuery),
		chromedp.WaitVisible(panelFor("section:INIT_TOOL_CHANGE_MILL"), chromedp.ByQuery),
	)
	// Part titles are upper case on screen (CSS), so compare in lower case.
	text := strings.ToLower(b.text(`[data-explain-panel]`))
	for _, want := range []string{"when it runs", "calc_init_tool_change_mill", "what it outputs", "g code 43", "ask the copilot", "not configured"} {
		if !strings.Contains(text, want) {
			t.Errorf("the explanation panel lacks %q", want)
		}
	}
	b.viewShot("30-explain-section")

	// 2. A citation of the same file highlights the cited line in place.
	b.run("follow a citation in the file",
		chromedp.Click(`[data-explain-panel] a.cite[data-file-id="`+src+`"][data-from="458"]`, chromedp.ByQuery),
		chromedp.Poll(`location.hash === '#L458' && document.getElementById('L458').classList.contains('hit')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if line := b.text(`#L458`); !strings.Contains(line, "<G:43>") {
		t.Errorf("the citation led to %q", line)
	}
	var onScreen bool
	b.run("cited line on screen", chromedp.Evaluate(`(function(){var r=document.getElementById('L458').getBoundingClientRect();return r.top>=0&&r.bottom<=innerHeight;})()`, &onScreen))
	if !onScreen {
		t.Error("the cited line is not on screen")
	}
	b.viewShot("31-explain-citation")

	// 3. The button on a section's header line explains that section.
	b.run("explain from a section header",
		chromedp.Click(`#L463 button.xbtn`, chromedp.ByQuery),
		chromedp.WaitVisible(panelFor("section:SUB_TOOL_CHANGE_MILL"), chromedp.ByQuery),
	)

	// 4. A selection of lines is explained.
	b.run("select lines 455-459", chromedp.Evaluate(`(function(){
		var r = document.createRange();
		r.setStart(document.getElementById('L455'), 0);
		var end = document.getElementById('L459');
		r.setEnd(end, end.childNodes.length);
		var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
		return true; })()`, nil),
		chromedp.Poll(`document.querySelector('[data-explain-selection]').disabled === false`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	)
	if label := b.text(`[data-explain-selection]`); label != "Explain lines 455–459" {
		t.Errorf("selection button reads %q", label)
	}
	b.run("explain the selection",
		chromedp.Click(`[data-explain-selection]`, chromedp.ByQuery),
		chromedp.WaitVisible(panelFor("lines:"+srcName+":455-459"), chromedp.ByQuery),
	)
	if got := strings.ToLower(b.text(`[data-explain-panel]`)); !strings.Contains(got, "section init_tool_change_mill") || !strings.Contains(got, "only lines 455–459") {
		t.Errorf("the selection's explanation reads %.400q", got)
	}
	b.viewShot("32-explain-selection")

	// 5. A citation of another file opens it at the cited line.
	b.run("explain again", chromedp.Click(`a[data-explain="section"][aria-label="Explain INIT_TOOL_CHANGE_MILL"]`, chromedp.ByQuery),
		chromedp.WaitVisible(panelFor("section:INIT_TOOL_CHANGE_MILL"), chromedp.ByQuery))
	b.run("follow a citation into MILL.LIB",
		chromedp.Click(`[data-explain-panel] a.cite[data-file-id="`+mill+`"][data-from="5412"]`, chromedp.ByQuery))
	b.waitPage("/files/"+mill+"#L5412", "source", mill)
	b.run("MILL.LIB at the cited line",
		chromedp.WaitVisible(`#L5412`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('src-title').textContent === 'MILL.LIB' && document.getElementById('L5412').classList.contains('hit')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if line := b.text(`#L5412`); !strings.Contains(line, "CALL(INIT_TOOL_CHANGE_MILL)") {
		t.Errorf("the MILL.LIB citation led to %q", line)
	}
	b.viewShot("33-explain-citation-library")

	// 6. The package page reads its overview from the source.
	b.run("package overview",
		chromedp.Navigate(pkgURL),
		chromedp.WaitVisible(`[data-overview-url][data-loaded] [data-explain-for^="package:"]`, chromedp.ByQuery),
	)
	if ov := strings.ToLower(b.text(`#overview`)); !strings.Contains(ov, "mill.lib, the file name of a stock library") || !strings.Contains(ov, "notable settings") {
		t.Errorf("the overview card reads %.400q", ov)
	}
	b.run("overview in view", chromedp.Evaluate(`document.getElementById('overview').scrollIntoView()`, nil))
	b.viewShot("34-package-overview")
	b.run("overview page", chromedp.Click(`[data-overview-link]`, chromedp.ByQuery))
	b.waitPage("/packages/"+res.PackageID+"/overview", "explain", "")
	b.run("overview title", chromedp.WaitVisible(`#xpl-page-title`, chromedp.ByQuery))
	b.screenshot("35-overview-page")
	b.checkProblems()
}
