package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/registry"
	"github.com/veripost/veripost/internal/server/servertest"
)

// A post that includes the stock MILL.LIB from the CAM install and does not
// ship it, and two variants of that library.
var (
	regPost = []byte(":SYSTEM=MILL\n:LIBRARY=C:\\CAMWorksData\\UPG-2\\MasterLibraryFiles\\MILL.LIB\n" +
		":SECTION=CALC_START_OF_TAPE\n:C: CALL(CALC_FROM_STOCK)\n:C: X_HOME=STOCK_VALUE\n")
	regLibV1 = []byte(":ATTRNAME=STOCK VALUE\n:ATTRTYPE=NUMERIC\n:ATTREND\n:ATTRNAME=X HOME\n:ATTRTYPE=NUMERIC\n:ATTREND\n" +
		":SECTION=CALC_FROM_STOCK\n:C: STOCK_VALUE=1\n")
	regLibV2 = []byte(":ATTRNAME=X HOME\n:ATTRTYPE=NUMERIC\n:ATTREND\n:SECTION=CALC_FROM_STOCK\n:C: X_HOME=2\n")
)

// TestLibraryRegistry: a package that does not ship its stock library
// resolves to the registry's default once one is chosen, re-analysed in the
// background; a package can pick another variant or none.
func TestLibraryRegistry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		up := app.Upload([]servertest.NamedFile{{Name: "POST.SRC", Data: regPost}}, map[string]string{"name": "registry post"})
		app.WaitReady(up.PackageID)
		libs := func() (api.OutlineBody, api.DiagnosticsBody) {
			var o api.OutlineBody
			app.GetJSON("/api/v1/packages/"+up.PackageID+"/outline", &o)
			var d api.DiagnosticsBody
			app.GetJSON("/api/v1/packages/"+up.PackageID+"/diagnostics?each=true", &d)
			return o, d
		}
		o, d := libs()
		if len(o.Libraries) != 1 || o.Libraries[0].How != "unresolved" || d.Counts["info"] == 0 {
			t.Fatalf("before the registry: libraries %+v, counts %v", o.Libraries, d.Counts)
		}
		for _, it := range d.Items {
			if it.Severity == "info" && !strings.Contains(it.Message, "MILL.LIB missing") {
				t.Errorf("info does not name the missing library: %s", it.Message)
			}
		}

		// Register two variants from their bytes; nothing changes until a
		// default is chosen.
		register := func(content []byte, label string) registry.Variant {
			st, body := app.Do(http.MethodPost, "/api/v1/admin/registry", map[string]any{"name": "MILL.LIB", "label": label, "content": content})
			if st != http.StatusCreated {
				t.Fatalf("register: %d %s", st, body)
			}
			var v registry.Variant
			json.Unmarshal(body, &v)
			return v
		}
		v1 := register(regLibV1, "CAMWorks 2024 SP2")
		v2 := register(regLibV2, "CAMWorks 2025 SP0")
		if v1.SHA256 == v2.SHA256 || v1.Default {
			t.Fatalf("variants %+v %+v", v1, v2)
		}
		if st, body := app.Do(http.MethodPost, "/api/v1/admin/registry", map[string]any{"name": "MILL.LIB", "label": "x", "sha256": strings.Repeat("a", 64)}); st != http.StatusNotFound || !strings.Contains(string(body), `"code"`) {
			t.Errorf("unknown content: %d %s", st, body)
		}
		if st, _ := app.Do(http.MethodPost, "/api/v1/admin/registry", map[string]any{"name": "POST.SRC", "label": "x", "content": regPost}); st != http.StatusUnprocessableEntity {
			t.Errorf("a .SRC registered: %d", st)
		}

		waitLib := func(how, registryLabel string) api.DiagnosticsBody {
			t.Helper()
			deadline := time.Now().Add(time.Minute)
			for {
				o, d := libs()
				if len(o.Libraries) == 1 && o.Libraries[0].How == how && o.Libraries[0].Registry == registryLabel && o.ParserVersion != "registry-changed" {
					return d
				}
				if time.Now().After(deadline) {
					t.Fatalf("library never became %s/%q: %+v", how, registryLabel, o.Libraries)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		var q struct{ Queued int }
		st, body := app.Do(http.MethodPut, "/api/v1/admin/registry/MILL.LIB/default", map[string]any{"sha256": v1.SHA256})
		json.Unmarshal(body, &q)
		if st != http.StatusOK || q.Queued != 1 {
			t.Fatalf("set default: %d %s", st, body)
		}
		d = waitLib("registry", "CAMWorks 2024 SP2")
		if d.Counts["info"] != 0 || d.Counts["warning"] != 0 {
			t.Errorf("with the registry's MILL.LIB the package still has findings: %+v", d.Items)
		}
		var sym api.PackageSymbolBody
		app.GetJSON("/api/v1/packages/"+up.PackageID+"/symbols/STOCK_VALUE", &sym)
		if sym.Total == 0 {
			t.Errorf("STOCK_VALUE has no occurrences in the package")
		}

		// The package picks the other variant: STOCK_VALUE is undefined there.
		if st, body := app.Do(http.MethodPut, "/api/v1/packages/"+up.PackageID+"/registry/MILL.LIB", map[string]any{"sha256": v2.SHA256}); st != http.StatusOK {
			t.Fatalf("choose: %d %s", st, body)
		}
		d = waitLib("registry", "CAMWorks 2025 SP0")
		if d.Counts["warning"] != 1 || d.Items[0].Subject != "STOCK_VALUE" {
			t.Errorf("with the 2025 variant: %+v", d.Items)
		}
		// None: unresolved again; back to the default.
		app.Do(http.MethodPut, "/api/v1/packages/"+up.PackageID+"/registry/MILL.LIB", map[string]any{"sha256": ""})
		waitLib("unresolved", "")
		app.Do(http.MethodPut, "/api/v1/packages/"+up.PackageID+"/registry/MILL.LIB", map[string]any{"default": true})
		waitLib("registry", "CAMWorks 2024 SP2")

		var list struct{ Items []registry.Variant }
		app.GetJSON("/api/v1/registry?name=mill.lib", &list)
		if len(list.Items) != 2 || !list.Items[0].Default || list.Items[0].SHA256 != v1.SHA256 {
			t.Errorf("registry list: %+v", list.Items)
		}
		// The collector keeps registered contents no package holds.
		app.Collect()
		if n := app.BlobCount(); n < 3 {
			t.Errorf("%d blobs after collecting; the registry's two libraries must stay", n)
		}
	})
}
