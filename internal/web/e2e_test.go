package web_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/veripost/veripost/internal/testenv"
)

// browserT drives a real headless Chromium against a test app.
type browserT struct {
	t         *testing.T
	ctx       context.Context
	base      string
	shots     string
	downloads string

	mu       sync.Mutex
	problems []string // uncaught exceptions, CSP violations, console errors
	done     map[string]string
	names    map[string]string
}

// newBrowser starts Chromium with the flags it needs on an offline machine.
func newBrowser(t *testing.T, base string) *browserT {
	t.Helper()
	bin := testenv.Chromium(t)
	// The profile folder is removed after Chromium has stopped (its helper
	// processes may still write for a moment, which t.TempDir's own clean-up
	// would report as a failure).
	profile, err := os.MkdirTemp("", "veripost-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// Generous: the whole walk-through, on a busy 2-core machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	shots := os.Getenv("VERIPOST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	} else {
		shots = filepath.Join(shots, "web-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browserT{t: t, ctx: ctx, base: base, shots: shots, downloads: t.TempDir(),
		done: map[string]string{}, names: map[string]string{}}

	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.problem("uncaught exception: " + e.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			// Failed requests that a step provokes on purpose (a rejected
			// upload) are logged as errors too; everything else is a bug.
			if e.Entry.Level == cdplog.LevelError && !strings.Contains(e.Entry.Text, "Failed to load resource") {
				b.problem("console: " + e.Entry.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				b.problem("console.error called")
			}
		default:
			b.downloadEvent(ev)
		}
	})
	// Download events arrive on the page target (and, in some versions,
	// on the browser); listen on both.
	chromedp.ListenBrowser(ctx, b.downloadEvent)
	return b.start(t, ctx, bin)
}

func (b *browserT) downloadEvent(ev any) {
	switch e := ev.(type) {
	case *browser.EventDownloadWillBegin:
		b.mu.Lock()
		b.names[e.GUID] = e.SuggestedFilename
		b.mu.Unlock()
	case *browser.EventDownloadProgress:
		if e.State == browser.DownloadProgressStateCompleted {
			b.mu.Lock()
			b.done[b.names[e.GUID]] = filepath.Join(b.downloads, e.GUID)
			b.mu.Unlock()
		}
	}
}

func (b *browserT) start(t *testing.T, ctx context.Context, bin string) *browserT {
	// The first Run starts the browser, which lives as long as the context
	// of that call: it must be the long-lived one, not a per-step timeout.
	if err := chromedp.Run(ctx, cdplog.Enable(),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).
			WithDownloadPath(b.downloads).WithEventsEnabled(true)); err != nil {
		t.Fatalf("starting Chromium (%s): %v", bin, err)
	}
	return b
}

func (b *browserT) problem(s string) {
	b.mu.Lock()
	b.problems = append(b.problems, s)
	b.mu.Unlock()
}

// run runs chromedp actions and fails the test (with a screenshot) if
// they fail.
func (b *browserT) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 3*time.Second {
			b.t.Logf("step %q took %v", step, d.Round(time.Millisecond))
		}
	}()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.viewShot("FAILED-" + strings.ReplaceAll(step, " ", "-"))
		b.t.Fatalf("%s: %v", step, err)
	}
}

// screenshot saves a full-page PNG of the current page.
func (b *browserT) screenshot(name string) string {
	b.t.Helper()
	var buf []byte
	return b.shot(name, chromedp.FullScreenshot(&buf, 100), &buf)
}

// viewShot saves a PNG of what is in the viewport (for long pages such as
// the source view).
func (b *browserT) viewShot(name string) string {
	b.t.Helper()
	var buf []byte
	return b.shot(name, chromedp.CaptureScreenshot(&buf), &buf)
}

func (b *browserT) shot(name string, action chromedp.Action, bufp *[]byte) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, action); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, *bufp, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// text returns the text of the first node matching sel.
func (b *browserT) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

// waitURL waits until the page address contains part: for pages that are
// not VeriPost's own (an identity provider's), followed by a wait for an
// element only the expected page has. VeriPost's pages use waitPage.
func (b *browserT) waitURL(part string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		err := chromedp.Run(ctx, chromedp.Location(&loc))
		cancel()
		if err == nil && strings.Contains(loc, part) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("the page address never contained %q (last: %s)", part, loc)
}

// waitPage waits until the browser shows the page it navigates to: its
// address contains part, and its body says it is a page of that kind
// (data-page) about that thing (data-key, when key is not empty). An
// element the previous page also had can never satisfy it.
func (b *browserT) waitPage(part, kind, key string) {
	b.t.Helper()
	js := fmt.Sprintf(`location.href.indexOf(%q) >= 0 && document.readyState !== "loading" && !!document.body && document.body.dataset.page === %q && (%q === "" || document.body.dataset.key === %q)`, part, kind, key, key)
	deadline := time.Now().Add(20 * time.Second)
	var ok bool
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(js, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	var loc string
	_ = chromedp.Run(b.ctx, chromedp.Location(&loc))
	b.t.Fatalf("the %s page (%q, key %q) never came (last address: %s)", kind, part, key, loc)
}

// waitDownload waits for the browser to finish downloading name.
func (b *browserT) waitDownload(name string) []byte {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		p, ok := b.done[name]
		b.mu.Unlock()
		if ok {
			data, err := os.ReadFile(p)
			if err != nil {
				b.t.Fatalf("reading download: %v", err)
			}
			return data
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("download of %s did not complete", name)
	return nil
}

func (b *browserT) checkProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser reported: %s", p)
	}
	b.problems = nil
}

func evalAwait(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// login signs in through the sign-in page and waits for the page it leads
// to (the address next, and the signed-in user in the top bar).
func (b *browserT) login(user, password, next string) {
	b.t.Helper()
	b.run("open sign-in page",
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(`[data-login-form]`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, user, chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, password, chromedp.ByQuery),
		chromedp.Submit(`[data-login-form]`, chromedp.ByQuery),
	)
	b.waitURL(b.base + next)
	b.run("signed in", chromedp.WaitVisible(`[data-signed-in="`+user+`"]`, chromedp.ByQuery))
}

// TestBrowserEndToEnd uploads a corpus package through the page in a real
// Chromium, follows ingestion to ready, reads, edits, downloads and
// deletes, and saves screenshots of the main pages.
func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	corpus := testenv.CorpusDir(t)
	const pkgDir = "tormach-pcnc1100"
	app := newTestApp(t)
	b := newBrowser(t, app.URL)
	b.login(app.Admin, app.AdminPassword, "/")

	// 1. The empty list tells a new user how to upload.
	b.run("open empty list", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(`[data-dropzone]`, chromedp.ByQuery))
	if got := b.text(`#empty-title`); got != "No packages yet" {
		t.Errorf("empty state heading = %q", got)
	}
	b.screenshot("01-list-empty")

	// 2. Upload the corpus package's loose files with the file picker.
	entries, err := os.ReadDir(filepath.Join(corpus, pkgDir))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	originals := map[string][]byte{}
	for _, e := range entries {
		p := filepath.Join(corpus, pkgDir, e.Name())
		paths = append(paths, p)
		originals[e.Name()], _ = os.ReadFile(p)
	}
	b.run("choose files",
		chromedp.Navigate(app.URL+"/upload"),
		chromedp.WaitVisible(`[data-dropzone]`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#files-input`, paths, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-chosen]`, chromedp.ByQuery),
	)
	var listed int
	b.run("count chosen", chromedp.Evaluate(`document.querySelectorAll('[data-chosen-list] li').length`, &listed))
	if listed != len(paths) {
		t.Errorf("the page lists %d chosen files, want %d", listed, len(paths))
	}
	b.run("fill note", chromedp.SendKeys(`#up-note`, "first upload from the browser", chromedp.ByQuery))
	b.screenshot("02-upload-chosen")
	b.run("upload and wait for ready",
		chromedp.Click(`[data-upload-button]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-open-package]`, chromedp.ByQuery),
	)
	var stagesDone int
	b.run("stages", chromedp.Evaluate(`document.querySelectorAll('[data-status] .stages li.done').length`, &stagesDone))
	if stagesDone != 5 {
		t.Errorf("%d stages shown as done after ready, want 5", stagesDone)
	}
	b.screenshot("03-upload-ready")
	// The form sends an Idempotency-Key, so a retry after a lost answer
	// cannot record the upload twice: the server kept it.
	var keys int
	if err := app.DB.R.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM upload_keys`).Scan(&keys); err != nil || keys != 1 {
		t.Errorf("upload keys recorded after the browser upload: %d (%v), want 1", keys, err)
	}

	// 3. The package page: files, versions, metadata.
	b.run("open package", chromedp.Click(`[data-open-package]`, chromedp.ByQuery))
	b.waitPage("/packages/", "package", "")
	b.run("package page", chromedp.WaitVisible(`table.files`, chromedp.ByQuery))
	var pkgURL string
	b.run("url", chromedp.Location(&pkgURL))
	if got := b.text(`[data-pkg-name]`); got != "Tormach PCNC1100 Series 3" {
		t.Errorf("package name = %q", got)
	}
	var rows int
	b.run("file rows", chromedp.Evaluate(`document.querySelectorAll('table.files tbody tr').length`, &rows))
	if rows != len(paths) {
		t.Errorf("package page lists %d files, want %d", rows, len(paths))
	}
	if note := b.text(`table.versions td.note`); note != "first upload from the browser" {
		t.Errorf("version note = %q", note)
	}

	// Edit the metadata through the form (PATCH).
	b.run("edit metadata",
		chromedp.Clear(`#m-machine`, chromedp.ByQuery),
		chromedp.SendKeys(`#m-machine`, "3-axis mill", chromedp.ByQuery),
		chromedp.Clear(`#m-controller`, chromedp.ByQuery),
		chromedp.SendKeys(`#m-controller`, "PathPilot", chromedp.ByQuery),
		chromedp.Click(`.meta-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-save-state]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('[data-save-state]').textContent === 'Saved.'`, nil, chromedp.WithPollingTimeout(15*time.Second)),
	)
	b.screenshot("04-package")
	b.run("diagnostics", chromedp.Evaluate(`document.getElementById('diagnostics').scrollIntoView()`, nil))
	var diagItems int
	b.run("count diagnostics", chromedp.Evaluate(`document.querySelectorAll('[data-diags] li:not([hidden])').length`, &diagItems))
	if diagItems == 0 {
		t.Error("the package page lists no warnings for the Tormach package (the corpus has some)")
	}
	b.viewShot("04b-package-diagnostics")

	// Download one file and compare its bytes with the original.
	const srcName = "Tormach PCNC1100 Series 3.SRC"
	b.run("download .SRC", chromedp.Click(`a[download="`+srcName+`"]`, chromedp.ByQuery))
	if got := b.waitDownload(srcName); !bytes.Equal(got, originals[srcName]) {
		t.Errorf("downloaded %s differs from the original (%d bytes, want %d)", srcName, len(got), len(originals[srcName]))
	}

	// 4. The source view of the .SRC file.
	b.run("open source", chromedp.Click(`//table[contains(@class,"files")]//a[text()="`+srcName+`"]`, chromedp.BySearch))
	b.waitPage("/files/", "source", "")
	b.run("source page", chromedp.WaitVisible(`#L1`, chromedp.ByQuery))
	var lineCount int
	b.run("lines", chromedp.Evaluate(`document.querySelectorAll('.code .chunk > div').length`, &lineCount))
	if want := bytes.Count(originals[srcName], []byte("\n")); lineCount < want {
		t.Errorf("source view shows %d lines, want at least %d", lineCount, want)
	}
	var sourceURL string
	b.run("source url", chromedp.Location(&sourceURL))
	// Highlighted by the UPG lexer's token kinds.
	var sectionTokens int
	b.run("highlighting", chromedp.Evaluate(`document.querySelectorAll('.code .sc').length`, &sectionTokens))
	if sectionTokens < 10 {
		t.Errorf("%d section tokens highlighted, want many", sectionTokens)
	}

	// The outline jumps to a section.
	b.run("outline jump",
		chromedp.Click(`//ul//a[@data-line][.//span[text()="PRINT_MEASURE_TOOL"]]`, chromedp.BySearch),
		chromedp.Poll(`location.hash === '#L448'`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	)
	var sectionLine string
	b.run("outline target", chromedp.Text(`#L448`, &sectionLine, chromedp.ByQuery))
	if !strings.Contains(sectionLine, ":SECTION=PRINT_MEASURE_TOOL") {
		t.Errorf("the outline jumped to %q", sectionLine)
	}
	var onScreen bool
	b.run("outline target on screen", chromedp.Evaluate(`(function(){var r=document.getElementById('L448').getBoundingClientRect();return r.top>=0&&r.bottom<=innerHeight;})()`, &onScreen))
	if !onScreen {
		t.Error("the section's line is not on screen after the outline jump")
	}
	b.viewShot("05a-source-outline")

	// Following a symbol: the attribute used on line 459 leads to its
	// definition on line 45, and the panel lists its uses.
	b.run("follow symbol",
		chromedp.Click(`#L459 a`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-sym-panel] .sym-in`, chromedp.ByQuery),
		chromedp.Poll(`location.hash === '#L45'`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	)
	if def := b.text(`#L45`); !strings.Contains(strings.ToLower(def), ":attrname=measure tool length") {
		t.Errorf("the symbol led to %q", def)
	}
	if uses := strings.ToLower(b.text(`[data-sym-panel]`)); !strings.Contains(uses, "used in this package") || !strings.Contains(uses, "459") {
		t.Errorf("symbol panel shows %q", uses)
	}
	b.viewShot("05b-source-symbol")
	// Escape closes the panel.
	b.run("close panel", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(`[data-sym-panel]`, chromedp.ByQuery))

	// A section defined in another file: CALL(CALC_ENGMET) opens the
	// library that defines it (MILL.LIB), at the definition, with the panel.
	b.run("follow call into a library",
		chromedp.Navigate(sourceURL+"#L870"),
		chromedp.WaitVisible(`#L870 a`, chromedp.ByQuery),
		chromedp.Click(`#L870 a`, chromedp.ByQuery),
	)
	b.waitPage("sym=CALC_ENGMET", "source", "")
	b.run("library definition", chromedp.WaitVisible(`[data-sym-panel] .sym-in`, chromedp.ByQuery))
	var libURL string
	b.run("library url", chromedp.Location(&libURL))
	var h1 string
	b.run("library title", chromedp.Text(`#src-title`, &h1, chromedp.ByQuery))
	m := regexp.MustCompile(`#L(\d+)$`).FindStringSubmatch(libURL)
	if m == nil || h1 != "MILL.LIB" {
		t.Errorf("CALL led to %s (%s)", libURL, h1)
	} else {
		var defLine string
		b.run("definition line", chromedp.Text(`#L`+m[1], &defLine, chromedp.ByQuery))
		if !strings.Contains(defLine, ":SECTION=CALC_ENGMET") {
			t.Errorf("definition line %s is %q", m[1], defLine)
		}
	}
	b.viewShot("05c-source-library-definition")
	b.run("jump to line 120",
		chromedp.Navigate(sourceURL),
		chromedp.WaitVisible(`#goto-line`, chromedp.ByQuery),
		chromedp.SendKeys(`#goto-line`, "120", chromedp.ByQuery),
		chromedp.Click(`[data-goto] button`, chromedp.ByQuery),
		chromedp.Poll(`location.hash === '#L120'`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	)
	var targetVisible bool
	b.run("line 120 on screen", chromedp.Evaluate(`(function(){var r=document.getElementById('L120').getBoundingClientRect();return r.top>=0&&r.bottom<=innerHeight;})()`, &targetVisible))
	if !targetVisible {
		t.Error("line 120 is not on screen after going to it")
	}
	b.viewShot("05-source")

	// The :LIBRARY= path links to the package file it resolved to.
	b.run("follow a library path",
		chromedp.Navigate(sourceURL+"#L233"),
		chromedp.WaitVisible(`#L233 a.lib-link`, chromedp.ByQuery),
	)
	var libHref string
	b.run("library link", chromedp.Evaluate(`document.querySelector('#L233 a.lib-link').getAttribute('href')`, &libHref))
	b.run("click library link", chromedp.Click(`#L233 a.lib-link`, chromedp.ByQuery))
	b.waitPage(libHref, "source", libHref[strings.LastIndex(libHref, "/")+1:])
	b.run("library opened", chromedp.WaitVisible(`#src-title`, chromedp.ByQuery))
	if h := b.text(`#src-title`); h != "MILL.LIB" {
		t.Errorf("the :LIBRARY= path led to %q", h)
	}
	b.run("back to the source", chromedp.Navigate(sourceURL), chromedp.WaitVisible(`#L1`, chromedp.ByQuery))

	// The big library (300 KB) opens and renders every line.
	b.run("open MILL.LIB",
		chromedp.Click(`//ul[contains(@class,"side-files")]//a[text()="MILL.LIB"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//*[@id="src-title"][normalize-space()="MILL.LIB"]`, chromedp.BySearch),
		chromedp.WaitVisible(`#L1`, chromedp.ByQuery),
		chromedp.Poll(`document.readyState === 'complete'`, nil, chromedp.WithPollingTimeout(30*time.Second)),
	)
	var loadMillis float64
	b.run("MILL.LIB load time", chromedp.Evaluate(`(function(){var n=performance.getEntriesByType('navigation')[0];return n.loadEventEnd-n.startTime;})()`, &loadMillis))
	t.Logf("MILL.LIB (300 KB) source view loaded in %.0f ms", loadMillis)
	if loadMillis > 10000 {
		t.Errorf("the 300 KB file took %.0f ms to load", loadMillis)
	}
	b.run("MILL.LIB lines", chromedp.Evaluate(`document.querySelectorAll('.code .chunk > div').length`, &lineCount))
	if want := bytes.Count(originals["MILL.LIB"], []byte("\n")); lineCount < want {
		t.Errorf("MILL.LIB shows %d lines, want at least %d", lineCount, want)
	}
	b.run("scroll to the end", chromedp.Evaluate(fmt.Sprintf(`location.hash = '#L%d'`, lineCount), nil),
		chromedp.WaitVisible(fmt.Sprintf(`#L%d`, lineCount), chromedp.ByQuery))
	b.viewShot("06-source-large")

	// 5. A second upload, dropped as a ZIP onto the drop area: the ZIP is
	// the package's own "download all" archive.
	pkgID := pkgURL[strings.LastIndex(pkgURL, "/")+1:]
	b.run("drop a zip",
		chromedp.Navigate(app.URL+"/upload"),
		chromedp.WaitVisible(`[data-dropzone]`, chromedp.ByQuery),
		chromedp.Evaluate(`(async () => {
			const res = await fetch('/api/v1/packages/`+pkgID+`/download');
			const file = new File([await res.blob()], 'tormach-copy.zip', {type: 'application/zip'});
			const dt = new DataTransfer();
			dt.items.add(file);
			const zone = document.querySelector('[data-dropzone]');
			zone.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
			zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
			return true;
		})()`, nil, evalAwait),
		chromedp.WaitVisible(`[data-chosen]`, chromedp.ByQuery),
	)
	if got := b.text(`[data-chosen-list] .fname`); got != "tormach-copy.zip" {
		t.Errorf("dropped file listed as %q", got)
	}
	b.run("upload zip",
		chromedp.SendKeys(`#up-name`, "Tormach copy from ZIP", chromedp.ByQuery),
		chromedp.Click(`[data-upload-button]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-open-package]`, chromedp.ByQuery),
	)

	// 6. A rejected upload explains itself, with the detail expandable.
	junk := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(junk, []byte("not a post\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.run("upload junk",
		chromedp.Navigate(app.URL+"/upload"),
		chromedp.WaitVisible(`[data-dropzone]`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#files-input`, []string{junk}, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-chosen]`, chromedp.ByQuery),
		chromedp.Click(`[data-upload-button]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-error]`, chromedp.ByQuery),
		chromedp.Click(`[data-error] summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-error-detail]`, chromedp.ByQuery),
	)
	if msg := b.text(`[data-error-msg]`); len(msg) < 20 || strings.Contains(msg, "{") {
		t.Errorf("upload error shown as %q; want a sentence", msg)
	}
	if detail := b.text(`[data-error-detail]`); !strings.Contains(detail, "code:") {
		t.Errorf("error detail %q lacks the error code", detail)
	}
	b.screenshot("07-upload-error")

	// 7. The list: both packages, sortable, filterable by the edited machine.
	b.run("list", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	b.run("sort by name", chromedp.Click(`th.col-name a.sort`, chromedp.ByQuery))
	b.waitPage("sort=name", "list", "")
	b.run("sorted list", chromedp.WaitVisible(`th.col-name[aria-sort="ascending"]`, chromedp.ByQuery))
	if first := b.text(`table.list tbody tr:first-child td.col-name a`); first != "Tormach copy from ZIP" {
		t.Errorf("first package by name = %q", first)
	}
	b.screenshot("08-list")
	b.run("filter by machine",
		// Choosing a value submits the filter form at once.
		chromedp.SetValue(`#f-machine`, "3-axis mill", chromedp.ByQuery))
	b.waitPage("machine=3-axis", "list", "")
	b.run("filtered list", chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	var filteredRows int
	b.run("filtered rows", chromedp.Evaluate(`document.querySelectorAll('table.list tbody tr').length`, &filteredRows))
	if filteredRows != 1 {
		t.Errorf("machine filter shows %d packages, want 1", filteredRows)
	}
	if first := b.text(`table.list tbody tr:first-child td.col-name a`); first != "Tormach PCNC1100 Series 3" {
		t.Errorf("filtered list shows %q", first)
	}

	// Tablet-sized screens.
	b.run("tablet", chromedp.EmulateViewport(820, 1180), chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	b.screenshot("09-list-tablet")
	b.run("tablet package", chromedp.Navigate(pkgURL), chromedp.WaitVisible(`table.files`, chromedp.ByQuery))
	b.screenshot("10-package-tablet")
	b.run("tablet source", chromedp.Navigate(sourceURL+"#L40"), chromedp.WaitVisible(`#L40`, chromedp.ByQuery))
	b.viewShot("11-source-tablet")
	b.run("desktop", chromedp.EmulateViewport(1366, 900))

	// 8. Friendly 404.
	b.run("404", chromedp.Navigate(app.URL+"/no/such/page"), chromedp.WaitVisible(`.error-page`, chromedp.ByQuery))
	if h := b.text(`.error-page h1`); h != "Page not found" {
		t.Errorf("404 heading = %q", h)
	}
	b.screenshot("12-not-found")

	// An older version's files: upload a second version, then switch back
	// to version 1 from the versions table.
	v2 := app.upload(t, map[string]string{"package_id": pkgID, "note": "second version"}, tinySRC("Tormach PCNC1100 Series 3"))
	if st := app.waitDone(t, v2.PackageID); st != "ready" {
		t.Fatalf("second version ended %s", st)
	}
	b.run("older version",
		chromedp.Navigate(pkgURL),
		chromedp.WaitVisible(`table.versions`, chromedp.ByQuery),
		chromedp.Click(`a[aria-label="Show the files of version 1"]`, chromedp.ByQuery),
	)
	b.waitPage("version=1", "package", pkgID)
	b.run("older version shown", chromedp.WaitVisible(`[data-older-version]`, chromedp.ByQuery))
	var oldRows int
	b.run("older file rows", chromedp.Evaluate(`document.querySelectorAll('table.files tbody tr').length`, &oldRows))
	if oldRows != len(paths) {
		t.Errorf("version 1 lists %d files, want %d", oldRows, len(paths))
	}
	b.screenshot("14-package-older-version")

	// Libraries: from the file list's "used by" link to the variants of
	// MILL.LIB and the packages using this one.
	b.run("library from the package page",
		chromedp.Click(`//table[contains(@class,"files")]//tr[.//a[text()="MILL.LIB"]]//a[contains(@class,"lib-use")]`, chromedp.BySearch),
	)
	b.waitPage("/libraries/", "library", "")
	b.run("library page", chromedp.WaitVisible(`#packages`, chromedp.ByQuery))
	var users int
	b.run("library users", chromedp.Evaluate(`document.querySelectorAll('#packages tbody tr').length`, &users))
	if users != 1 { // the ZIP copy; the first package's latest version no longer has MILL.LIB
		t.Errorf("%d packages use this MILL.LIB, want 1", users)
	}
	b.screenshot("15-library")
	b.run("libraries from the nav",
		chromedp.Click(`.topbar a[href="/libraries"]`, chromedp.ByQuery),
	)
	b.waitPage("/libraries", "libraries", "")
	b.run("libraries page", chromedp.WaitVisible(`table.libs`, chromedp.ByQuery))
	b.screenshot("16-libraries")

	// A library path that is not in the package is marked, and keyboard
	// focus shows why.
	grbl := app.upload(t, nil, corpusFiles(t, "grbl-post")...)
	if st := app.waitDone(t, grbl.PackageID); st != "ready" {
		t.Fatalf("grbl-post ended %s", st)
	}
	_, _, grblPage := app.get(t, "/packages/"+grbl.PackageID)
	grblSrc := regexp.MustCompile(`<a href="(/packages/[^"]+/files/[^"]+)">GRBL-Post.SRC</a>`).FindStringSubmatch(grblPage)
	if grblSrc == nil {
		t.Fatal("no source link for GRBL-Post.SRC")
	}
	b.run("missing library",
		chromedp.Navigate(app.URL+grblSrc[1]+"#L120"),
		chromedp.WaitVisible(`#L127 .lib-missing`, chromedp.ByQuery),
		chromedp.Focus(`#L127 .lib-missing`, chromedp.ByQuery),
	)
	b.viewShot("17-source-missing-library")

	// Dark mode.
	b.run("dark", emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}))
	b.viewShot("18-dark-source-missing-library")
	for _, pg := range []struct{ name, url, wait string }{
		{"19-dark-list", app.URL + "/", `table.list`},
		{"20-dark-package", pkgURL + "?version=1", `table.files`},
		{"21-dark-package-latest", pkgURL, `table.files`},
		{"22-dark-library", app.URL + "/libraries/MILL.LIB", `table.variants`},
		{"23-dark-upload", app.URL + "/upload", `[data-dropzone]`},
	} {
		b.run(pg.name, chromedp.Navigate(pg.url), chromedp.WaitVisible(pg.wait, chromedp.ByQuery))
		b.screenshot(pg.name)
	}
	b.run("dark source", chromedp.Navigate(sourceURL+"#L448"), chromedp.WaitVisible(`#L448`, chromedp.ByQuery),
		chromedp.Click(`#L459 a`, chromedp.ByQuery), chromedp.WaitVisible(`[data-sym-panel] .sym-in`, chromedp.ByQuery))
	b.viewShot("24-dark-source")
	b.run("dark source text token", chromedp.Navigate(sourceURL+"#L910"), chromedp.WaitVisible(`#L910`, chromedp.ByQuery))
	b.viewShot("24b-dark-source-text")
	b.run("dark delete dialog", chromedp.Navigate(pkgURL), chromedp.WaitVisible(`[data-delete-open]`, chromedp.ByQuery),
		chromedp.Click(`[data-delete-open]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-delete-dialog]`, chromedp.ByQuery))
	b.viewShot("25-dark-delete-dialog")
	b.run("light", emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))

	// 9. Delete, with confirmation, lands on the list with a notice.
	b.run("delete",
		chromedp.Navigate(pkgURL),
		chromedp.WaitVisible(`[data-delete-open]`, chromedp.ByQuery),
		chromedp.Click(`[data-delete-open]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-delete-dialog]`, chromedp.ByQuery),
	)
	b.screenshot("13-delete-confirm")
	b.run("confirm delete", chromedp.Click(`[data-delete-confirm]`, chromedp.ByQuery))
	b.waitPage("deleted=", "list", "")
	b.run("deleted notice", chromedp.WaitVisible(`.notice-ok`, chromedp.ByQuery))
	var rowsLeft int
	b.run("rows left", chromedp.Evaluate(`document.querySelectorAll('table.list tbody tr').length`, &rowsLeft))
	if rowsLeft != 2 { // the ZIP copy and grbl-post
		t.Errorf("%d packages listed after deleting one of three", rowsLeft)
	}
	b.checkProblems()
}
