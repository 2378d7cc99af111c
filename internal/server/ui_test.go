package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// TestUIPagesOnBothEngines renders every UI page with its filters and sort
// orders on SQLite and on PostgreSQL, so the UI's own queries run on both
// (the web package's tests and browser test use SQLite only).
func TestUIPagesOnBothEngines(t *testing.T) {
	var tormach testenv.CorpusPackage
	for _, p := range testenv.CorpusPackages(t) {
		if strings.Contains(p.Name, "tormach") {
			tormach = p
		}
	}
	if tormach.Name == "" {
		t.Skip("SKIPPING: the tormach-pcnc1100 corpus package is not there")
	}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		res := app.Upload(servertest.CorpusFiles(tormach), map[string]string{"name": "Tormach UI"})
		app.WaitReady(res.PackageID)
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+res.PackageID, &pkg)
		var src, mill catalog.File
		for _, f := range pkg.Files {
			switch strings.ToUpper(f.Extension) {
			case "SRC":
				src = f
			case "LIB":
				if strings.EqualFold(f.Filename, "MILL.LIB") {
					mill = f
				}
			}
		}
		pages := []struct{ path, want string }{
			{"/", "Tormach UI"},
			{"/?q=tormach&status=ready&machine=" + strings.ReplaceAll(pkg.MachineType, " ", "+") + "&controller=PathPilot", "Tormach UI"},
			{"/packages/" + pkg.ID, "MILL.LIB"},
			{"/packages/" + pkg.ID + "?version=1", "MILL.LIB"},
			{fmt.Sprintf("/packages/%s/files/%s", pkg.ID, src.ID), "START_OF_TAPE"},
			{fmt.Sprintf("/packages/%s/files/%s", pkg.ID, mill.ID), "CALC_ENGMET"},
			{"/symbols/MACHINE_NAME", "Tormach UI"},
			{"/symbols", "data-symbol-names"},
			{"/symbols?prefix=machine", "MACHINE_NAME"},
			{"/admin/registry?name=MILL.LIB&sha=" + mill.SHA256, mill.SHA256[:16]},
			{"/libraries", "MILL.LIB"},
			{"/libraries/mill.lib", mill.SHA256[:12]},
			{"/libraries/MILL.LIB?sha=" + mill.SHA256, "Tormach UI"},
			{"/upload?package=" + pkg.ID, "Tormach UI"},
		}
		for _, sort := range []string{"uploaded", "name", "machine", "controller", "platform", "status", "files", "diagnostics"} {
			for _, dir := range []string{"asc", "desc"} {
				pages = append(pages, struct{ path, want string }{"/?sort=" + sort + "&dir=" + dir, "Tormach UI"})
			}
		}
		for _, p := range pages {
			status, hdr, body := app.Get(p.path)
			if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(body), p.want) {
				t.Errorf("GET %s: %d %s, contains %q: %v", p.path, status, hdr.Get("Content-Type"), p.want, strings.Contains(string(body), p.want))
			}
		}
		// The symbol index (a loose index scan) pages the same names, in
		// the same order, a few at a time as in one page.
		var whole catalog.Page[index.SymbolName]
		app.GetJSON("/api/v1/symbols?prefix=M&limit=200", &whole)
		var paged []string
		for cursor := ""; ; {
			var p catalog.Page[index.SymbolName]
			app.GetJSON("/api/v1/symbols?prefix=M&limit=7&cursor="+url.QueryEscape(cursor), &p)
			for _, n := range p.Items {
				paged = append(paged, n.Name)
			}
			if cursor = p.NextCursor; cursor == "" || len(paged) > 400 {
				break
			}
		}
		if len(whole.Items) < 5 || len(paged) != len(whole.Items) {
			t.Fatalf("names starting with M: %d in one page, %d paged", len(whole.Items), len(paged))
		}
		for i, n := range whole.Items {
			if paged[i] != n.Name || !strings.HasPrefix(n.Name, "M") || n.Packages != 1 {
				t.Errorf("name %d: paged %q, whole %+v", i, paged[i], n)
			}
		}
	})
}
