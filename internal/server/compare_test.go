package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/diff"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

func corpusPkg(t *testing.T, name string) []servertest.NamedFile {
	t.Helper()
	for _, p := range testenv.CorpusPackages(t) {
		if p.Name == name {
			return servertest.CorpusFiles(p)
		}
	}
	t.Fatalf("corpus package %s missing", name)
	return nil
}

// editedMill returns the Tormach package with MILL.LIB changed in one
// template line and one attribute default.
func editedMill(t *testing.T) ([]servertest.NamedFile, string, string) {
	files := corpusPkg(t, "tormach-pcnc1100")
	var before, after string
	out := make([]servertest.NamedFile, len(files))
	for i, f := range files {
		out[i] = f
		if f.Name == "MILL.LIB" {
			s := strings.Replace(string(f.Data), ":ATTRDEFAULT=", ":ATTRDEFAULT=7", 1)
			out[i].Data = []byte(s)
			before, after = sha(f.Data), sha(out[i].Data)
		}
	}
	return out, before, after
}

func getCompare(t *testing.T, app *servertest.App, q url.Values) (*compare.Comparison, int, servertest.APIError) {
	t.Helper()
	status, _, body := app.Get("/api/v1/compare?" + q.Encode())
	if status != http.StatusOK {
		var e servertest.APIError
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("error answer is not {message, detail, code}: %s", body)
		}
		return nil, status, e
	}
	var c compare.Comparison
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("compare answer: %v in %.300s", err, body)
	}
	return &c, status, servertest.APIError{}
}

// TestCompareAPI runs the compare endpoint on both deployments: versions of
// one package, packages by name, library variants by SHA-256, one file of
// a package against a variant, the options, and the errors.
func TestCompareAPI(t *testing.T) {
	grbl, scl := corpusPkg(t, "grbl-post"), corpusPkg(t, "scl-sw-grbl")
	tormach := corpusPkg(t, "tormach-pcnc1100")
	edited, millSHA, editedSHA := editedMill(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		p1 := app.Upload(grbl, map[string]string{"name": "GRBL shop post", "note": "from the template"})
		app.WaitReady(p1.PackageID)
		v2 := app.Upload(scl, map[string]string{"package_id": p1.PackageID, "note": "switched to SCL"})
		app.WaitReady(p1.PackageID)
		if v2.Version != 2 {
			t.Fatalf("second upload is version %d", v2.Version)
		}
		tor := app.Upload(tormach, map[string]string{"name": "Tormach"})
		app.WaitReady(tor.PackageID)
		ed := app.Upload(edited, map[string]string{"name": "Tormach edited"})
		app.WaitReady(ed.PackageID)

		// Two versions of one package.
		c, _, _ := getCompare(t, app, url.Values{"a": {p1.PackageID + "@1"}, "b": {p1.PackageID + "@2"}})
		if c.Result.Identical || c.A.Version != 1 || c.B.Version != 2 || !c.B.Latest || c.B.Note != "switched to SCL" || c.A.Note != "from the template" {
			t.Errorf("versions compare: sides %+v / %+v, identical %v", c.A, c.B, c.Result.Identical)
		}
		var tape *diff.SectionChange
		for i, s := range c.Result.Semantic.Sections {
			if s.Name == "START_OF_TAPE" {
				tape = &c.Result.Semantic.Sections[i]
			}
		}
		if tape == nil || tape.A == nil || tape.B == nil || tape.A.File != "GRBL-Post.SRC" || tape.B.File != "SCL-SW-GRBL-1_1.SRC" || tape.A.Line == 0 {
			t.Errorf("START_OF_TAPE: %+v", tape)
		}
		ids := map[string]bool{}
		for _, f := range append(c.A.Files, c.B.Files...) {
			ids[f.ID] = f.ID != ""
		}
		for _, f := range c.Result.Files {
			for _, r := range []*diff.FileRef{f.A, f.B} {
				if r != nil && !ids[r.ID] {
					t.Errorf("file %s carries no stored file id to link to", r.Name)
				}
			}
		}
		hunks := 0
		for _, f := range c.Result.Files {
			hunks += len(f.Hunks)
		}
		if hunks == 0 {
			t.Error("no text hunks")
		}

		// By name, latest by default; against itself it is identical.
		c, _, _ = getCompare(t, app, url.Values{"a": {"GRBL shop post@2"}, "b": {"grbl shop post"}})
		if !c.Result.Identical || c.A.PackageID != p1.PackageID {
			t.Errorf("a package against itself by name: %s", c.Result.Summary)
		}

		// Options and no hunks.
		c, _, _ = getCompare(t, app, url.Values{"a": {p1.PackageID + "@1"}, "b": {p1.PackageID}, "hunks": {"false"},
			"ignore_case": {"true"}, "ignore_comments": {"true"}, "ignore_whitespace": {"true"}})
		for _, f := range c.Result.Files {
			if len(f.Hunks) > 0 {
				t.Errorf("hunks=false still returned hunks for %s", f.B.Name)
			}
		}
		if o := c.Result.Options; !o.IgnoreCase || !o.IgnoreComments || !o.IgnoreWhitespace {
			t.Errorf("options not applied: %+v", o)
		}

		// Two variants of MILL.LIB by SHA-256.
		c, _, _ = getCompare(t, app, url.Values{"a_sha": {millSHA}, "b_sha": {editedSHA}})
		if c.A.Kind != "content" || c.A.File != "MILL.LIB" || len(c.Result.Files) != 1 || c.Result.Files[0].Status != diff.StatusModified {
			t.Fatalf("variant compare: %+v %+v", c.A, c.Result.Files)
		}
		if c.Result.Counts.AttributesChanged != 1 || !strings.Contains(c.Result.Summary, "1 attribute changed") {
			t.Errorf("variant compare summary %q", c.Result.Summary)
		}
		// Customisations of a package's MILL.LIB against the stock variant.
		c, _, _ = getCompare(t, app, url.Values{"a_sha": {millSHA}, "b": {ed.PackageID}, "b_file": {"mill.lib"}})
		if c.B.File != "MILL.LIB" || len(c.B.Files) != 1 || c.Result.Counts.AttributesChanged != 1 {
			t.Errorf("one file against a variant: %+v, %s", c.B, c.Result.Summary)
		}
		// The two Tormach packages: MILL.LIB resolved to a different variant.
		c, _, _ = getCompare(t, app, url.Values{"a": {tor.PackageID}, "b": {ed.PackageID}})
		var mill *diff.LibraryChange
		for i, l := range c.Result.Semantic.Libraries {
			if l.Name == "MILL.LIB" {
				mill = &c.Result.Semantic.Libraries[i]
			}
		}
		if mill == nil || mill.Status != diff.LibVariant || mill.SHA256A != millSHA || mill.SHA256B != editedSHA {
			t.Errorf("MILL.LIB variant: %+v", mill)
		}

		// Errors, all in the API's shape.
		dup := app.Upload(grbl, map[string]string{"name": "GRBL shop post"})
		app.WaitReady(dup.PackageID)
		for _, tc := range []struct {
			q      url.Values
			status int
			code   string
		}{
			{url.Values{"a": {p1.PackageID}}, 400, "BAD_REQUEST"},
			{url.Values{"a": {p1.PackageID}, "b": {p1.PackageID}, "b_sha": {millSHA}}, 400, "BAD_REQUEST"},
			{url.Values{"a": {p1.PackageID}, "b_sha": {"nothex"}}, 400, "BAD_REQUEST"},
			{url.Values{"a": {p1.PackageID}, "b_sha": {strings.Repeat("0", 64)}}, 404, "NOT_FOUND"},
			{url.Values{"a": {p1.PackageID + "@9"}, "b": {p1.PackageID}}, 404, "NOT_FOUND"},
			{url.Values{"a": {p1.PackageID + "@x"}, "b": {p1.PackageID}}, 400, "BAD_REQUEST"},
			{url.Values{"a": {"no such package"}, "b": {p1.PackageID}}, 404, "NOT_FOUND"},
			{url.Values{"a": {"GRBL shop post"}, "b": {p1.PackageID}}, 409, "AMBIGUOUS"},
			{url.Values{"a": {p1.PackageID}, "b": {p1.PackageID}, "b_file": {"NOPE.LIB"}}, 404, "NOT_FOUND"},
			{url.Values{"a": {p1.PackageID}, "b": {p1.PackageID}, "context": {"-4"}}, 422, "VALIDATION_FAILED"},
		} {
			_, status, e := getCompare(t, app, tc.q)
			if status != tc.status || e.Code != tc.code {
				t.Errorf("%v: HTTP %d %s (%s), want %d %s", tc.q, status, e.Code, e.Message, tc.status, tc.code)
			}
		}

		// The operation is in the OpenAPI document.
		var doc struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		app.GetJSON("/api/v1/openapi.json", &doc)
		if doc.Paths["/api/v1/compare"]["get"] == nil || doc.Paths["/api/v1/packages/{id}/versions/{number}"]["patch"] == nil {
			t.Error("compare or edit-version missing from the OpenAPI document")
		}
	})
}

// TestEditVersionNote: a version's note is set at upload and can be
// changed afterwards.
func TestEditVersionNote(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		res := app.Upload([]servertest.NamedFile{{Name: "A.SRC", Data: []byte(":SECTION=A\n:T:X<EOL>\n")}}, map[string]string{"note": "first"})
		app.WaitDone(res.PackageID, 60e9)
		status, body := app.Do(http.MethodPatch, "/api/v1/packages/"+res.PackageID+"/versions/1", map[string]string{"note": "  fixed the coolant code  "})
		if status != http.StatusOK || !strings.Contains(string(body), `"note":"fixed the coolant code"`) {
			t.Fatalf("PATCH note: %d %s", status, body)
		}
		var vs struct {
			Items []struct {
				Number int    `json:"number"`
				Note   string `json:"note"`
			} `json:"items"`
		}
		app.GetJSON("/api/v1/packages/"+res.PackageID+"/versions", &vs)
		if len(vs.Items) != 1 || vs.Items[0].Note != "fixed the coolant code" {
			t.Errorf("versions after the edit: %+v", vs.Items)
		}
		for _, tc := range []struct {
			path   string
			body   any
			status int
		}{
			{"/api/v1/packages/" + res.PackageID + "/versions/2", map[string]string{"note": "x"}, 404},
			{"/api/v1/packages/00000000-0000-0000-0000-000000000000/versions/1", map[string]string{"note": "x"}, 404},
			{"/api/v1/packages/" + res.PackageID + "/versions/1", map[string]string{"note": strings.Repeat("x", 2001)}, 422},
		} {
			status, body := app.Do(http.MethodPatch, tc.path, tc.body)
			if status != tc.status || !strings.Contains(string(body), `"code"`) {
				t.Errorf("PATCH %s: %d %s, want %d", tc.path, status, body, tc.status)
			}
		}
	})
}
