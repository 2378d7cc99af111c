package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// fileIDs maps file names to ids from a package page's download links.
func fileIDs(t *testing.T, page, packageID string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, m := range regexp.MustCompile(`/packages/`+packageID+`/files/([0-9a-f-]{36})/download" download="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[2]] = m[1]
	}
	return ids
}

func shaOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestLibrariesAndVersions: library paths in the source view link to the
// file they resolved to (or say they are not in the package), the package
// page shows an older version's files, and the Libraries pages list the
// variants of a library and the packages using each.
func TestLibrariesAndVersions(t *testing.T) {
	app := newTestApp(t)
	tormach := corpusFiles(t, "tormach-pcnc1100")
	var variant []upFile
	var millA, millB []byte
	for _, f := range tormach {
		if f.Name == "MILL.LIB" {
			millA = f.Data
			f.Data = append(append([]byte{}, f.Data...), []byte("\r\n* a local change\r\n")...)
			millB = f.Data
		}
		variant = append(variant, f)
	}
	a := app.upload(t, nil, tormach...)
	b := app.upload(t, map[string]string{"name": "Tormach variant"}, variant...)
	g := app.upload(t, nil, corpusFiles(t, "grbl-post")...)
	old := app.upload(t, nil, tinySRC("Versioned"), upFile{Name: "OLD.LIB", Data: []byte("* old library\r\n")})
	for _, id := range []string{a.PackageID, b.PackageID, g.PackageID, old.PackageID} {
		if st := app.waitDone(t, id); st != "ready" {
			t.Fatalf("package %s ended %s", id, st)
		}
	}
	app.upload(t, map[string]string{"package_id": old.PackageID, "note": "second"}, tinySRC("Versioned"), upFile{Name: "NEW.LIB", Data: []byte("* new library\r\n")})
	if st := app.waitDone(t, old.PackageID); st != "ready" {
		t.Fatalf("second version ended %s", st)
	}

	t.Run("source links library paths", func(t *testing.T) {
		_, _, page := app.get(t, "/packages/"+a.PackageID)
		ids := fileIDs(t, page, a.PackageID)
		src, mill, own := ids["Tormach PCNC1100 Series 3.SRC"], ids["MILL.LIB"], ids["Tormach PCNC1100 Series 3.LIB"]
		if src == "" || mill == "" || own == "" {
			t.Fatalf("file ids not found: %v", ids)
		}
		_, _, body := app.get(t, "/packages/"+a.PackageID+"/files/"+src)
		mustContain(t, body,
			`<a class="pt lib-link" href="/packages/`+a.PackageID+`/files/`+mill+`" title="Open MILL.LIB of this package.">.\MILL.LIB</a>`,
			`<a class="pt lib-link" href="/packages/`+a.PackageID+`/files/`+own+`"`,
			// The outline's Libraries group links them too.
			`<a class="ol-uses" href="/packages/`+a.PackageID+`/files/`+mill+`"`,
		)
		mustNotContain(t, body, "not in this package")

		// GRBL-Post names MILL.LIB by a path outside the package, and the
		// package has no MILL.LIB: marked, with how resolution works.
		_, _, page = app.get(t, "/packages/"+g.PackageID)
		ids = fileIDs(t, page, g.PackageID)
		_, _, body = app.get(t, "/packages/"+g.PackageID+"/files/"+ids["GRBL-Post.SRC"])
		mustContain(t, body,
			`<a class="pt lib-link" href="/packages/`+g.PackageID+`/files/`+ids["GRBL-Post.LIB"]+`"`,
			`<span class=pt>..\..\..\..\CAMWorksData\UPG-2\MasterLibraryFiles\MILL.LIB</span><a class="lib-missing" href="/libraries/MILL.LIB" title="Not in this package. VeriPost resolves a library path by its file name (MILL.LIB)`,
			">not in this package: see the variants</a>", "ignoring the folders in the path",
			`class="ol-missing"`,
		)
		// Library files on the package page link to the Libraries view.
		mustContain(t, page, `class="lib-use" href="/libraries/GRBL-Post.LIB?sha=`)
	})

	t.Run("older version", func(t *testing.T) {
		status, _, body := app.get(t, "/packages/"+old.PackageID)
		if status != http.StatusOK {
			t.Fatalf("HTTP %d", status)
		}
		mustContain(t, body, "NEW.LIB", `href="/packages/`+old.PackageID+`?version=1#files-title"`, `aria-label="Show the files of version 1"`,
			`aria-current="true">Shown</span>`, "version 2 (latest)")
		mustNotContain(t, body, "OLD.LIB", "data-older-version")

		status, _, body = app.get(t, "/packages/"+old.PackageID+"?version=1")
		if status != http.StatusOK {
			t.Fatalf("?version=1: HTTP %d", status)
		}
		mustContain(t, body, "data-older-version", "You are looking at version 1, an older version.", "Files of version 1",
			`class="tag tag-old">older version</span>`, "OLD.LIB", `/download?version=1" download>Download v1 as ZIP`,
			`href="/packages/`+old.PackageID+`#files-title"`, "Diagnostics of version 1")
		mustNotContain(t, body, `download="NEW.LIB"`)
		ids := fileIDs(t, body, old.PackageID)
		if ids["OLD.LIB"] == "" || ids["Versioned.SRC"] == "" {
			t.Fatalf("v1 files not listed: %v", ids)
		}
		// Its files download and open; the source view says which version.
		_, _, data := app.get(t, "/api/v1/packages/"+old.PackageID+"/files/"+ids["OLD.LIB"]+"/download")
		if data != "* old library\r\n" {
			t.Errorf("v1 download gave %q", data)
		}
		_, _, src := app.get(t, "/packages/"+old.PackageID+"/files/"+ids["OLD.LIB"])
		mustContain(t, src, `<a href="/packages/`+old.PackageID+`?version=1">version 1</a>`, `class="tag tag-old">older version`)

		// ?version=2 is the latest; unknown or malformed versions are 404s.
		_, _, body = app.get(t, "/packages/"+old.PackageID+"?version=2")
		mustNotContain(t, body, "data-older-version")
		for _, q := range []string{"9", "0", "abc"} {
			if st, _, _ := app.get(t, "/packages/"+old.PackageID+"?version="+q); st != http.StatusNotFound {
				t.Errorf("?version=%s: HTTP %d, want 404", q, st)
			}
		}
	})

	t.Run("libraries", func(t *testing.T) {
		shaA, shaB := shaOf(millA), shaOf(millB)
		status, _, body := app.get(t, "/libraries")
		if status != http.StatusOK {
			t.Fatalf("/libraries: HTTP %d", status)
		}
		mustContain(t, body, `aria-current="page">Libraries`, `<a href="/libraries/MILL.LIB">MILL.LIB</a>`, `href="/libraries/GRBL-Post.LIB"`,
			`href="/libraries/Tormach%20PCNC1100%20Series%203.LIB"`, "NEW.LIB")
		mustNotContain(t, body, ">OLD.LIB<") // only latest versions count
		if !regexp.MustCompile(`MILL\.LIB</a></td>\s*<td class="num" data-label="Packages">2</td>\s*<td class="num" data-label="Variants"><strong>2</strong>`).MatchString(body) {
			t.Error("MILL.LIB is not listed with 2 packages and 2 variants")
		}
		// The lookup form goes to the name's page.
		res, err := app.Client.Get(app.URL + "/libraries?name=" + "C:%5Cposts%5Cmill.lib")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Request.URL.Path != "/libraries/mill.lib" {
			t.Errorf("lookup landed on %s", res.Request.URL)
		}

		// The variants of MILL.LIB (names match case-insensitively).
		_, _, body = app.get(t, "/libraries/mill.lib")
		mustContain(t, body, "2 distinct contents in 2 packages", shaA, shaB, "Choose a variant",
			`href="/libraries/mill.lib?sha=`+shaA+`#packages"`)
		mustNotContain(t, body, `id="packages"`)

		// One content: the packages that include exactly it.
		_, _, body = app.get(t, "/libraries/MILL.LIB?sha="+shaB)
		mustContain(t, body, `id="packages"`, "Packages that include this MILL.LIB", "Tormach variant",
			`<tr class="shown">`, `aria-current="true">Shown`)
		mustNotContain(t, body, `<a href="/packages/`+a.PackageID+`">`)
		_, _, body = app.get(t, "/libraries/MILL.LIB?sha="+strings.ToUpper(shaA))
		mustContain(t, body, `<a href="/packages/`+a.PackageID+`">Tormach PCNC1100 Series 3</a>`)

		// A name with one content shows its packages at once.
		_, _, body = app.get(t, "/libraries/GRBL-Post.LIB")
		mustContain(t, body, "1 distinct content in 1 package", `<a href="/packages/`+g.PackageID+`">GRBL-Post</a>`)

		// The package page links each library to its variants.
		_, _, page := app.get(t, "/packages/"+b.PackageID)
		mustContain(t, page, `class="lib-use" href="/libraries/MILL.LIB?sha=`+shaB+`#packages"`, "used by 1 package")

		// Unknown names and contents, bad hashes.
		st, _, body := app.get(t, "/libraries/NOPE.LIB")
		if st != http.StatusNotFound {
			t.Errorf("unknown library: HTTP %d, want 404", st)
		}
		mustContain(t, body, "No package holds a library called NOPE.LIB")
		_, _, body = app.get(t, "/libraries/MILL.LIB?sha="+strings.Repeat("0", 64))
		mustContain(t, body, "No package’s latest version has a file called MILL.LIB with this content")
		if st, _, _ := app.get(t, "/libraries/MILL.LIB?sha=xyz"); st != http.StatusBadRequest {
			t.Errorf("bad sha: HTTP %d, want 400", st)
		}
	})
}
