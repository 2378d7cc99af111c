package web_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestChangeAndUsagePages: the explanation of a change as a page and as
// the compare page's fragment, and the admins' copilot page with the
// copilot off (the explanations say so; nothing else changes).
func TestChangeAndUsagePages(t *testing.T) {
	app := newTestApp(t)
	res := app.upload(t, map[string]string{"name": "Demo mill"}, explainFixture(t)...)
	if st := app.waitDone(t, res.PackageID); st != "ready" {
		t.Fatalf("upload ended %s", st)
	}
	v2 := app.upload(t, map[string]string{"package_id": res.PackageID}, fixtureFiles(t, filepath.Join("..", "explain", "testdata", "change", "demo-mill-v2"))...)
	app.With(t).WaitVersionReady(res.PackageID, v2.Version)
	sides := "a=" + res.PackageID + "%401&b=" + res.PackageID + "%402"

	status, _, page := app.get(t, "/compare?"+sides)
	if status != http.StatusOK || !strings.Contains(page, `data-change-url="/compare/explain?a=`) {
		t.Fatalf("compare page: %d, no 'Explain this change' card", status)
	}
	for _, c := range []struct{ path, want string }{
		{"/compare/explain?" + sides, `<h1 id="xpl-page-title">What changed from Demo mill v1 to Demo mill v2</h1>`},
		{"/compare/explain?partial=1&" + sides, `data-explain-for="change:Demo mill v1 → Demo mill v2"`},
	} {
		status, _, body := app.get(t, c.path)
		if status != http.StatusOK || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, lacks %q", c.path, status, c.want)
			continue
		}
		// Citations of each side link to that side's file, labelled A or B.
		if !strings.Contains(body, ">B DEMO.SRC:") || !strings.Contains(body, ">A DEMO.LIB:") || !strings.Contains(body, `href="/packages/`+res.PackageID+`/files/`) {
			t.Errorf("%s: citations are not labelled and linked by side", c.path)
		}
		if !strings.Contains(body, "data-copilot-off") {
			t.Errorf("%s: the copilot slot does not say it is off", c.path)
		}
	}
	status, _, body := app.get(t, "/compare/explain?partial=1&a=nope@1&b=nope@2")
	if status != http.StatusNotFound || !strings.Contains(body, "xpl-error") {
		t.Errorf("unknown package: %d %.300s", status, body)
	}

	status, _, body = app.get(t, "/admin/copilot")
	if status != http.StatusOK || !strings.Contains(body, "data-copilot-off") || !strings.Contains(body, "No calls yet.") {
		t.Errorf("usage page with the copilot off: %d", status)
	}
}
