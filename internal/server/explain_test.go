package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// explainFixture reads the explainer's own small test package.
func explainFixture(t *testing.T) []servertest.NamedFile { return explainFixtureTB(t) }

func explainFixtureTB(t testing.TB) []servertest.NamedFile {
	t.Helper()
	dir := filepath.Join("..", "explain", "testdata", "fixtures", "demo-mill")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []servertest.NamedFile
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".txt" {
			continue // the test's list of line ranges, not part of the post
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, servertest.NamedFile{Name: e.Name(), Data: data})
	}
	return files
}

// explainDirect explains the same files without the server.
func explainDirect(files []servertest.NamedFile) *explain.Package {
	in := make([]explain.Input, len(files))
	for i, f := range files {
		in[i] = explain.Input{Name: f.Name, Data: f.Data}
	}
	return explain.Analyze(in)
}

type pkgFiles struct {
	byName map[string]string // file name → id
	byID   map[string]string
}

func listFiles(t *testing.T, app *servertest.App, id string) pkgFiles {
	t.Helper()
	var p struct {
		Files []struct {
			ID       string `json:"id"`
			Filename string `json:"filename"`
		} `json:"files"`
	}
	app.GetJSON("/api/v1/packages/"+id, &p)
	pf := pkgFiles{byName: map[string]string{}, byID: map[string]string{}}
	for _, f := range p.Files {
		pf.byName[f.Filename] = f.ID
		pf.byID[f.ID] = f.Filename
	}
	return pf
}

// sameSentences compares explanations without the file ids the API adds.
func sameSentences(t *testing.T, got, want *explain.Explanation) {
	t.Helper()
	strip := func(e *explain.Explanation) []explain.Sentence {
		var c explain.Explanation // a deep copy, so the caller's ids stay
		b, _ := json.Marshal(e)
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		c.SetFileIDs(func(string) string { return "" })
		return c.Sentences()
	}
	if !reflect.DeepEqual(strip(got), strip(want)) {
		g, _ := json.MarshalIndent(strip(got), "", " ")
		w, _ := json.MarshalIndent(strip(want), "", " ")
		t.Fatalf("the API's explanation differs from the explainer's\n got: %.2000s\nwant: %.2000s", g, w)
	}
}

// checkFileIDs checks every citation and link carries the id of the cited
// file of this package, and that the Markdown links into the source view.
func checkFileIDs(t *testing.T, body api.ExplainBody, pf pkgFiles) {
	t.Helper()
	n := 0
	for _, s := range body.Explanation.Sentences() {
		for _, c := range s.Cites {
			n++
			if pf.byID[c.FileID] != c.File {
				t.Fatalf("citation %s has file id %q, which is %q", c, c.FileID, pf.byID[c.FileID])
			}
		}
		for _, l := range s.Links {
			if pf.byID[l.FileID] != l.File {
				t.Fatalf("link %+v has the wrong file id", l)
			}
		}
	}
	if n == 0 {
		t.Fatal("no citations")
	}
	if !strings.Contains(body.Markdown, "](/packages/"+body.PackageID+"/files/") {
		t.Errorf("the Markdown does not link into the source view: %.500s", body.Markdown)
	}
	if body.Copilot.Status != "not_configured" || body.Copilot.Message == "" {
		t.Errorf("copilot slot = %+v", body.Copilot)
	}
}

func wantError(t *testing.T, app *servertest.App, path string, status int, code, msgPart string) {
	t.Helper()
	got, _, b := app.Get(path)
	var e servertest.APIError
	if err := json.Unmarshal(b, &e); err != nil || got != status || e.Code != code || !strings.Contains(e.Message, msgPart) {
		t.Errorf("GET %s: %d %s; want %d %s with %q", path, got, b, status, code, msgPart)
	}
}

// TestExplainAPI uploads the explainer's fixture and asks for every kind of
// explanation on both deployments; each answer must equal what the
// explainer says on the same files, with file ids and source links.
func TestExplainAPI(t *testing.T) {
	files := explainFixture(t)
	want := explainDirect(files)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		res := app.Upload(files, map[string]string{"name": "Demo mill"})
		app.WaitReady(res.PackageID)
		pf := listFiles(t, app, res.PackageID)
		base := "/api/v1/packages/" + res.PackageID
		src, lib, cnf := pf.byName["DEMO.SRC"], pf.byName["DEMO.LIB"], pf.byName["DEMO.CNF"]

		var body api.ExplainBody
		app.GetJSON(base+"/explain", &body)
		if body.Explanation.Kind != explain.KindPackage || body.Version != 1 {
			t.Fatalf("overview: %+v", body.Explanation)
		}
		sameSentences(t, body.Explanation, want.Overview())
		checkFileIDs(t, body, pf)
		app.GetJSON(base+"/explain?version=1", &body)
		sameSentences(t, body.Explanation, want.Overview())

		var sec api.ExplainBody
		app.GetJSON(base+"/files/"+src+"/sections/INIT_TOOL_CHANGE_MILL/explain", &sec)
		w, err := want.Section("DEMO.SRC", "INIT_TOOL_CHANGE_MILL")
		if err != nil {
			t.Fatal(err)
		}
		sameSentences(t, sec.Explanation, w)
		checkFileIDs(t, sec, pf)
		if sec.Explanation.FileID != src || sec.Explanation.Start != 47 {
			t.Errorf("section location: %s %d", sec.Explanation.FileID, sec.Explanation.Start)
		}
		// A section whose parameters are in its header, asked in lower case.
		app.GetJSON(base+"/files/"+lib+"/sections/calc_tool_word/explain", &sec)
		if sec.Explanation.Subject != "CALC_TOOL_WORD" {
			t.Errorf("case-insensitive section lookup gave %q", sec.Explanation.Subject)
		}

		var lines api.ExplainBody
		app.GetJSON(base+"/files/"+src+"/explain?from=47&to=52", &lines)
		wl, _ := want.Lines("DEMO.SRC", 47, 52)
		sameSentences(t, lines.Explanation, wl)

		var attr api.ExplainBody
		app.GetJSON(base+"/attributes/"+url.PathEscape("probe tool")+"/explain", &attr)
		wa, _ := want.Attribute("probe tool")
		sameSentences(t, attr.Explanation, wa)
		checkFileIDs(t, attr, pf)

		// Errors say what to do.
		wantError(t, app, base+"/files/"+src+"/sections/INIT_TOOL_CHANGE/explain", 404, "NOT_FOUND", "Did you mean INIT_TOOL_CHANGE_MILL")
		wantError(t, app, base+"/files/"+src+"/explain?from=60&to=50", 422, "VALIDATION_FAILED", "cannot be explained")
		wantError(t, app, base+"/files/"+src+"/explain?from=0", 422, "VALIDATION_FAILED", "")
		wantError(t, app, base+"/files/"+cnf+"/sections/X/explain", 422, "VALIDATION_FAILED", "not UPG source")
		wantError(t, app, base+"/attributes/NO_SUCH_THING/explain", 404, "NOT_FOUND", "no attribute or variable")
		wantError(t, app, base+"/explain?version=9", 404, "NOT_FOUND", "no version 9")
		wantError(t, app, "/api/v1/packages/00000000-0000-0000-0000-000000000000/explain", 404, "NOT_FOUND", "")
		wantError(t, app, base+"/files/00000000-0000-0000-0000-000000000000/sections/X/explain", 404, "NOT_FOUND", "")
	})
}

// TestExplainCorpusSection explains a section of the 300 KB MILL.LIB of a
// stored corpus package through the API.
func TestExplainCorpusSection(t *testing.T) {
	var pkg testenv.CorpusPackage
	for _, p := range testenv.CorpusPackages(t) {
		if p.Name == "tormach-pcnc1100" {
			pkg = p
		}
	}
	if pkg.Name == "" {
		t.Fatal("corpus package tormach-pcnc1100 missing")
	}
	files := servertest.CorpusFiles(pkg)
	want := explainDirect(files)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		res := app.Upload(files, nil)
		app.WaitReady(res.PackageID)
		pf := listFiles(t, app, res.PackageID)
		var body api.ExplainBody
		app.GetJSON("/api/v1/packages/"+res.PackageID+"/files/"+pf.byName["MILL.LIB"]+"/sections/CALC_INIT_TOOL_CHANGE_MILL/explain", &body)
		w, _ := want.Section("MILL.LIB", "CALC_INIT_TOOL_CHANGE_MILL")
		sameSentences(t, body.Explanation, w)
		checkFileIDs(t, body, pf)
		var ov api.ExplainBody
		app.GetJSON("/api/v1/packages/"+res.PackageID+"/explain", &ov)
		if p := ov.Explanation.Part(explain.PartLibraries); p == nil || !strings.Contains(p.Sentences[1].Text, "MILL.LIB, the file name of a stock library") {
			t.Errorf("overview libraries: %+v", p)
		}
	})
}

// TestExplainInOpenAPI: the explain routes are in the API description.
func TestExplainInOpenAPI(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	status, _, b := app.Get("/api/v1/openapi.json")
	if status != http.StatusOK {
		t.Fatal(status)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/api/v1/packages/{id}/explain",
		"/api/v1/packages/{id}/files/{file_id}/sections/{name}/explain",
		"/api/v1/packages/{id}/files/{file_id}/explain",
		"/api/v1/packages/{id}/attributes/{name}/explain",
	} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("OpenAPI lacks GET %s", p)
		}
	}
	if _, ok := doc.Paths["/api/v1/compare/explain"]["get"]; !ok {
		t.Error("OpenAPI lacks GET /api/v1/compare/explain")
	}
	// The copilot's routes stream server-sent events.
	for _, p := range []string{
		"/api/v1/packages/{id}/ask",
		"/api/v1/packages/{id}/files/{file_id}/sections/{name}/ask",
		"/api/v1/packages/{id}/files/{file_id}/ask",
		"/api/v1/packages/{id}/attributes/{name}/ask",
		"/api/v1/compare/ask",
	} {
		op, ok := doc.Paths[p]["post"].(map[string]any)
		content, _ := json.Marshal(op["responses"])
		if !ok || !strings.Contains(string(content), "text/event-stream") {
			t.Errorf("OpenAPI lacks POST %s streaming text/event-stream: %s", p, content)
		}
	}
}
