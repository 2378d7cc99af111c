package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/catalog"
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
	})
}
