package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestComparePage renders a comparison of two versions without a browser
// and checks the friendly errors of bad addresses.
func TestComparePage(t *testing.T) {
	app := newTestApp(t)
	v1 := app.upload(t, map[string]string{"name": "page post"}, upFile{Name: "P.SRC", Data: []byte(":SECTION=A\n:T:<N><G:90><EOL>\n")})
	app.waitDone(t, v1.PackageID)
	app.upload(t, map[string]string{"package_id": v1.PackageID}, upFile{Name: "P.SRC", Data: []byte(":SECTION=A\n:T:<N><G:91><EOL>\n")})
	app.waitDone(t, v1.PackageID)

	status, _, body := app.get(t, "/compare?a="+v1.PackageID+"%401&b="+v1.PackageID+"&view=split&ws=1")
	if status != http.StatusOK {
		t.Fatalf("compare page: HTTP %d", status)
	}
	mustContain(t, body, "1 section changed", `data-view="split"`, `name="ws" value="1" checked`,
		"<mark>1</mark>", `href="/packages/`+v1.PackageID+`/files/`, "#L2")
	// The package page offers the comparison.
	_, _, body = app.get(t, "/packages/"+v1.PackageID)
	mustContain(t, body, `data-compare-selected`, `name="a" value="`+v1.PackageID+`@1"`, `data-version-changes`, `data-note-edit`)

	for _, tc := range []struct {
		path   string
		status int
		text   string
	}{
		{"/compare", http.StatusBadRequest, "Choose what to compare"},
		{"/compare?a=" + v1.PackageID + "&b_sha=xyz", http.StatusBadRequest, "SHA-256"},
		{"/compare?a=nothing&b=" + v1.PackageID, http.StatusNotFound, "No package is called"},
		{"/compare?a=" + v1.PackageID + "%409&b=" + v1.PackageID, http.StatusNotFound, "has no version 9"},
		{"/compare?base=odd:1&b=" + v1.PackageID, http.StatusBadRequest, "base"},
	} {
		status, _, body := app.get(t, tc.path)
		if status != tc.status || !strings.Contains(body, tc.text) {
			t.Errorf("%s: HTTP %d, want %d with %q", tc.path, status, tc.status, tc.text)
		}
	}
}
