package server_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/api"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// searchFixture reads one of internal/search's synthetic packages.
func searchFixture(t testing.TB, name string) []servertest.NamedFile {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "internal", "search", "testdata", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []servertest.NamedFile
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, servertest.NamedFile{Name: e.Name(), Data: data})
	}
	return out
}

// waitSearchable waits until a package's latest version is ready and
// indexed for search, and returns its status as the API answers it.
func waitSearchable(t testing.TB, app *servertest.App, id string) api.StatusBody {
	t.Helper()
	app.WaitSearchable(id)
	var st api.StatusBody
	app.GetJSON("/api/v1/packages/"+id+"/status", &st)
	return st
}

// uploadSearchable uploads files as a package named name and waits until
// it can be searched.
func uploadSearchable(t testing.TB, app *servertest.App, name string, files []servertest.NamedFile, fields ...string) string {
	t.Helper()
	f := map[string]string{"name": name}
	for i := 0; i+1 < len(fields); i += 2 {
		f[fields[i]] = fields[i+1]
	}
	res := app.Upload(files, f)
	waitSearchable(t, app, res.PackageID)
	return res.PackageID
}

func searchAPI(t testing.TB, app *servertest.App, params string) search.Result {
	t.Helper()
	var res search.Result
	app.GetJSON("/api/v1/search?"+params, &res)
	return res
}

type relevanceSet struct {
	Queries []struct {
		Q      string     `json:"q"`
		Why    string     `json:"why"`
		Expect []expected `json:"expect"`
	} `json:"queries"`
}

type expected struct {
	Package string `json:"package"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Section string `json:"section"`
}

func loadRelevance(t testing.TB) relevanceSet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "internal", "search", "testdata", "relevance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rs relevanceSet
	if err := json.Unmarshal(data, &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// rankedHits flattens a result into the order a reader sees the hits.
type flatHit struct {
	pkg, file, section string
	line               int
}

func rankedHits(res search.Result) []flatHit {
	var out []flatHit
	for _, p := range res.Packages {
		for _, f := range p.Files {
			for _, h := range f.Shown {
				fh := flatHit{pkg: p.PackageName, file: f.Filename, line: h.Line}
				if h.Section != nil {
					fh.section = h.Section.Name
				}
				out = append(out, fh)
			}
		}
	}
	return out
}

func (e expected) matches(h flatHit) bool {
	return e.Package == h.pkg && (e.File == "" || e.File == h.file) && (e.Line == 0 || e.Line == h.line) &&
		(e.Section == "" || strings.EqualFold(e.Section, h.section))
}

// relevance computes recall@10 and the reciprocal rank of the first
// relevant hit (0 beyond 10) of one answer.
func relevance(res search.Result, expect []expected) (recall, rr float64) {
	hits := rankedHits(res)
	if len(hits) > 10 {
		hits = hits[:10]
	}
	found := 0
	for _, e := range expect {
		for _, h := range hits {
			if e.matches(h) {
				found++
				break
			}
		}
	}
	for i, h := range hits {
		for _, e := range expect {
			if e.matches(h) {
				return float64(found) / float64(len(expect)), 1 / float64(i+1)
			}
		}
	}
	return float64(found) / float64(len(expect)), 0
}

// Floors of the relevance set, a little under what was measured (lexical
// 0.927/0.935, hybrid 0.910/0.828, vector 0.331/0.269, auto 0.949/0.919
// recall@10/MRR). A change that makes ranking worse fails. The vector
// ranking alone is weak on names and codes (it is not meant for them); it
// earns its place in the hybrid ranking of questions.
var relevanceFloors = map[string]struct{ recall, mrr float64 }{
	"lexical": {0.90, 0.90},
	"hybrid":  {0.88, 0.80},
	"vector":  {0.30, 0.25},
	"auto":    {0.92, 0.88}, // what a user gets: hybrid for questions, lexical otherwise
}

// normalise makes an answer comparable across engines: row ids (package,
// file, version ids) differ, names and everything else must not.
func normalise(t testing.TB, raw []byte, names map[string]string) string {
	t.Helper()
	s := string(raw)
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s = strings.ReplaceAll(s, id, "<"+names[id]+">")
	}
	return s
}

// idNames maps every package and file id of the app to a stable name.
func idNames(t testing.TB, app *servertest.App) map[string]string {
	t.Helper()
	names := map[string]string{}
	rows, err := app.DB.SQL.Query(`SELECT p.id, p.name, v.id, v.number, f.id, f.filename FROM packages p
		JOIN package_versions v ON v.package_id = p.id JOIN files f ON f.version_id = v.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid, pname, vid, fid, fname string
		var n int
		if err := rows.Scan(&pid, &pname, &vid, &n, &fid, &fname); err != nil {
			t.Fatal(err)
		}
		names[pid] = "pkg " + pname
		names[vid] = fmt.Sprintf("%s v%d", pname, n)
		names[fid] = fmt.Sprintf("%s v%d %s", pname, n, fname)
	}
	return names
}

// TestSearchCorpus indexes the real corpus on both engines, runs the
// relevance set in every ranking mode (recall@10 and MRR must stay above
// their floors) and checks that both engines give the same answers.
func TestSearchCorpus(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	rel := loadRelevance(t)
	if len(rel.Queries) < 25 {
		t.Fatalf("the relevance set has %d queries; it needs at least 25", len(rel.Queries))
	}
	extra := []string{
		"q=SPINDLE_DIR&section=calc", "q=SPINDLE_DIR&kind=lib", "q=spindle&limit=2", "q=COOL*&versions=all",
		"q=G54+-PathPilot", "q=SPINDLE+dir", "q=coolant&machine=-", "q=M06&context=0&hits_per_file=1",
		"q=tool+change+position&mode=hybrid", "q=tool&mode=vector", "q=" + url.QueryEscape(`"G43 H"`),
		"q=spindle&limit=2&cursor=" + url.QueryEscape("bzoy"),
	}
	answers := map[string]map[string]string{}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		for _, p := range pkgs {
			uploadSearchable(t, app, p.Name, servertest.CorpusFiles(p))
		}
		names := idNames(t, app)
		got := map[string]string{}
		for _, mode := range []string{"lexical", "hybrid", "vector", "auto"} {
			var sumRecall, sumRR float64
			for _, q := range rel.Queries {
				params := "q=" + url.QueryEscape(q.Q) + "&limit=10&hits_per_file=1&mode=" + mode
				status, _, raw := app.Get("/api/v1/search?" + params)
				if status != http.StatusOK {
					t.Fatalf("%s: status %d: %s", params, status, raw)
				}
				var res search.Result
				if err := json.Unmarshal(raw, &res); err != nil {
					t.Fatal(err)
				}
				recall, rr := relevance(res, q.Expect)
				sumRecall += recall
				sumRR += rr
				if os.Getenv("SEARCH_RELEVANCE_VERBOSE") != "" {
					t.Logf("%-7s %-32q recall %.2f rr %.2f", mode, q.Q, recall, rr)
				}
				if mode == "lexical" && rr == 0 {
					t.Logf("lexical: %q found nothing relevant in its top 10", q.Q)
				}
				got[params] = normalise(t, raw, names)
			}
			n := float64(len(rel.Queries))
			t.Logf("relevance %-7s recall@10 %.3f  MRR %.3f  (%d queries)", mode, sumRecall/n, sumRR/n, len(rel.Queries))
			floor := relevanceFloors[mode]
			if sumRecall/n < floor.recall || sumRR/n < floor.mrr {
				t.Errorf("%s ranking fell under its floor: recall@10 %.3f (floor %.2f), MRR %.3f (floor %.2f)",
					mode, sumRecall/n, floor.recall, sumRR/n, floor.mrr)
			}
		}
		for _, params := range extra {
			status, _, raw := app.Get("/api/v1/search?" + params)
			if status != http.StatusOK {
				t.Fatalf("%s: status %d: %s", params, status, raw)
			}
			got[params] = normalise(t, raw, names)
		}
		answers[b.Name] = got
	})
	a, b := answers[servertest.SQLite.Name], answers[servertest.Postgres.Name]
	if a == nil || b == nil {
		return
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a[k] != b[k] {
			t.Errorf("SQLite and PostgreSQL answer %s differently:\n%s", k, firstDiff(a[k], b[k]))
		}
	}
}

// TestSearchLifecycle: a content shared by two packages is indexed once,
// stays while a package still holds it, goes with the last one; reindex
// rebuilds what is missing.
func TestSearchLifecycle(t *testing.T) {
	alpha := searchFixture(t, "alpha")
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := app.DB.SQL.QueryRow(q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		srcSHA := sha(alpha[1].Data) // ALPHA.SRC (entries are sorted: ALPHA.LIB, ALPHA.SRC)
		a := uploadSearchable(t, app, "Alpha one", alpha)
		lines := count(`SELECT (SELECT COUNT(*) FROM search_postings) + (SELECT COUNT(*) FROM search_postings_tail)`)
		// Answers are cached: every change below must show in the next
		// search all the same.
		if res := searchAPI(t, app, "q=SPINDLE_DIR"); res.Total.Packages != 1 {
			t.Fatalf("one package should hit: %+v", res.Total)
		}
		b2 := uploadSearchable(t, app, "Alpha two", alpha)
		if n := count(`SELECT COUNT(*) FROM search_docs WHERE sha256 = $1`, srcSHA); n != 1 {
			t.Fatalf("the shared ALPHA.SRC has %d search documents; want 1", n)
		}
		if n := count(`SELECT (SELECT COUNT(*) FROM search_postings) + (SELECT COUNT(*) FROM search_postings_tail)`); n != lines || lines == 0 {
			t.Fatalf("the second upload of the same files added lines: %d → %d", lines, n)
		}
		// Identical contents share one version entry (vector, signature, bands).
		if v, s := count(`SELECT COUNT(*) FROM search_versions`), count(`SELECT COUNT(*) FROM search_filesets`); v != 2 || s != 1 {
			t.Fatalf("two versions of the same files: %d version entries and %d file sets; want 2 and 1", v, s)
		}
		// PostgreSQL keeps a set's bands on its row (a bigint[]), SQLite a row each.
		countBands := `SELECT COUNT(*) FROM search_fileset_bands`
		if b.Name == servertest.Postgres.Name {
			countBands = `SELECT COALESCE(SUM(cardinality(bands)), 0) FROM search_filesets`
		}
		bands := count(countBands)
		res := searchAPI(t, app, "q=SPINDLE_DIR")
		if res.Total.Packages != 2 || res.Total.Files != 2 {
			t.Fatalf("both packages should hit: %+v", res.Total)
		}
		if res := searchAPI(t, app, "q=SPINDLE_DIR&machine=cache+check"); res.Total.Packages != 0 {
			t.Fatalf("no package has this machine yet: %+v", res.Total)
		}
		if status, body := app.Do(http.MethodPatch, "/api/v1/packages/"+a, map[string]any{"machine_type": "Cache check"}); status != http.StatusOK {
			t.Fatalf("edit: %d %s", status, body)
		}
		if res := searchAPI(t, app, "q=SPINDLE_DIR&machine=cache+check"); res.Total.Packages != 1 || res.Packages[0].PackageName != "Alpha one" {
			t.Fatalf("the edited machine should be found: %+v", res.Total)
		}
		if st := waitSearchable(t, app, b2); st.NearDuplicate == nil || st.NearDuplicate.Percent != 100 || st.NearDuplicate.PackageName != "Alpha one" {
			t.Fatalf("an identical upload should be 100 %% the same as Alpha one: %+v", st.NearDuplicate)
		}

		if status, body := app.Do(http.MethodDelete, "/api/v1/packages/"+a, nil); status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
		if n := count(`SELECT COUNT(*) FROM search_docs WHERE sha256 = $1`, srcSHA); n != 1 {
			t.Fatalf("a content still used lost its search document (%d)", n)
		}
		if s, n := count(`SELECT COUNT(*) FROM search_filesets`), count(countBands); s != 1 || n != bands || bands == 0 {
			t.Fatalf("the file set still used by Alpha two lost its entry: %d sets, %d of %d bands", s, n, bands)
		}
		if res := searchAPI(t, app, "q=SPINDLE_DIR"); res.Total.Packages != 1 {
			t.Fatalf("after deleting one package: %+v", res.Total)
		}
		if status, body := app.Do(http.MethodDelete, "/api/v1/packages/"+b2, nil); status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
		for _, table := range []string{"search_docs", "search_texts", "search_doc_lines", "search_postings", "search_sections", "search_vectors",
			"search_external_vectors", "search_versions", "search_filesets"} {
			if n := count(`SELECT COUNT(*) FROM ` + table); n != 0 {
				t.Errorf("%s keeps %d rows after every package was deleted", table, n)
			}
		}
		if b.Name == servertest.SQLite.Name {
			for _, vt := range []string{"search_terms", "search_trigrams", "search_fileset_bands"} {
				if n := count(`SELECT COUNT(*) FROM ` + vt); n != 0 {
					t.Errorf("%s keeps %d rows after every package was deleted", vt, n)
				}
			}
		}

		// Reindex rebuilds a version whose search entry is missing (as
		// after a search index upgrade).
		c := uploadSearchable(t, app, "Alpha three", alpha)
		if _, err := app.DB.SQL.Exec(`DELETE FROM search_versions`); err != nil {
			t.Fatal(err)
		}
		if res := searchAPI(t, app, "q=SPINDLE_DIR"); res.Total.Packages != 0 {
			t.Fatalf("a version without a search entry is found: %+v", res.Total)
		}
		status, body := app.Do(http.MethodPost, "/api/v1/admin/reindex", nil)
		var prog api.ReindexBody
		json.Unmarshal(body, &prog)
		if status != http.StatusAccepted || prog.Queued != 1 {
			t.Fatalf("reindex: %d %s", status, body)
		}
		for deadline := time.Now().Add(time.Minute); !prog.Complete; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("reindex stuck: %+v", prog)
			}
			app.GetJSON("/api/v1/admin/reindex", &prog)
		}
		waitSearchable(t, app, c)
		if res := searchAPI(t, app, "q=SPINDLE_DIR"); res.Total.Packages != 1 {
			t.Fatalf("after reindex: %+v", res.Total)
		}

		// A new version replaces the package's files in the results (the
		// store keeps each package's latest files between generations
		// while the package does not change).
		d := uploadSearchable(t, app, "Delta", alpha)
		if res := searchAPI(t, app, "q=SPINDLE_DIR"); res.Total.Packages != 2 {
			t.Fatalf("two packages should hit: %+v", res.Total)
		}
		src := append(append([]byte{}, alpha[1].Data...), "* version two\r\n"...)
		app.Upload([]servertest.NamedFile{alpha[0], {Name: "ALPHA.SRC", Data: src}}, map[string]string{"package_id": d})
		waitSearchable(t, app, d)
		res = searchAPI(t, app, "q=SPINDLE_DIR")
		hits := map[string]search.FileResult{} // by package
		for _, p := range res.Packages {
			for _, f := range p.Files {
				hits[p.PackageName] = f
			}
		}
		if f := hits["Delta"]; len(res.Packages) != 2 || f.Version != 2 || f.SHA256 != sha(src) {
			t.Fatalf("after a new version, Delta's hit is in version %d (%s) of %d packages; want version 2 (%s)", f.Version, f.SHA256, len(res.Packages), sha(src))
		}
		if f := hits["Alpha three"]; f.Version != 1 || f.SHA256 != srcSHA {
			t.Fatalf("the unchanged package's hit moved: version %d (%s)", f.Version, f.SHA256)
		}
	})
}

// TestSearchAPI: filters, facets, paging, alike posts and sections, the
// near-duplicate note, errors, and the pages that show them.
func TestSearchAPI(t *testing.T) {
	alpha, beta := searchFixture(t, "alpha"), searchFixture(t, "beta")
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		a := uploadSearchable(t, app, "Alpha", alpha)
		bt := uploadSearchable(t, app, "Beta", beta)
		// A second version of Alpha without the library: the first is
		// only searched with versions=all.
		res := app.Upload(alpha[1:], map[string]string{"package_id": a})
		waitSearchable(t, app, a)
		if res.Version != 2 {
			t.Fatalf("version %d", res.Version)
		}

		r := searchAPI(t, app, "q=USING_4TH_AXIS")
		if r.Total.Packages != 0 {
			t.Errorf("the library left in version 1 is searched by default: %+v", r.Total)
		}
		r = searchAPI(t, app, "q=USING_4TH_AXIS&versions=all")
		if r.Total.Packages != 1 || r.Packages[0].Files[0].Version != 1 || r.Packages[0].Files[0].Latest {
			t.Errorf("versions=all: %+v", r.Packages)
		}

		r = searchAPI(t, app, "q=SPINDLE_DIR")
		if r.Total.Packages != 2 || r.Mode != search.ModeLexical {
			t.Fatalf("SPINDLE_DIR: %+v", r.Total)
		}
		top := r.Packages[0].Files[0].Shown[0]
		if top.Role != search.RoleDefinition || top.Line != 13 || !strings.Contains(top.Text, "SPINDLE DIR") ||
			len(top.Highlights) != 1 || top.URL != search.FileURL(r.Packages[0].PackageID, r.Packages[0].Files[0].FileID, top.Line) {
			t.Errorf("top hit %+v", top)
		}
		wantFacets := search.Facets{
			Machines: []search.Facet{{Value: "Alpha VMC", Count: 1}, {Value: "Beta HMC", Count: 1}}, Controllers: []search.Facet{{Value: "Fanuc 0i", Count: 1}, {Value: "Haas NGC", Count: 1}},
			Platforms: []search.Facet{{Value: "camworks", Count: 2}}, FileKinds: []search.Facet{{Value: "src", Count: 2}},
			SectionKinds: []search.Facet{{Value: "calc", Count: 4}, {Value: "none", Count: 2}, {Value: "user", Count: 2}},
		}
		if fmt.Sprint(r.Facets) != fmt.Sprint(wantFacets) {
			t.Errorf("facets %+v\nwant %+v", r.Facets, wantFacets)
		}
		// Filters.
		if r := searchAPI(t, app, "q=SPINDLE_DIR&section=calc"); r.Total.Hits != 4 {
			t.Errorf("section=calc: %+v", r.Total)
		}
		if r := searchAPI(t, app, "q=SPINDLE_DIR+section:CALC_SPINDLE"); r.Total.Hits != 4 {
			t.Errorf("section:CALC_SPINDLE: %+v", r.Total)
		}
		if r := searchAPI(t, app, "q=SPINDLE_DIR&machine=beta+hmc"); r.Total.Packages != 1 || r.Packages[0].PackageName != "Beta" || len(r.Facets.Machines) != 2 {
			t.Errorf("machine filter: %+v, facet %+v", r.Total, r.Facets.Machines)
		}
		if r := searchAPI(t, app, "q=SPINDLE_DIR+-COOLANT_TYPE"); r.Total.Packages != 1 || r.Packages[0].PackageName != "Beta" {
			t.Errorf("negation: %+v", r.Packages)
		}
		if r := searchAPI(t, app, "q=G43.4&versions=all"); r.Total.Hits != 1 || r.Packages[0].Files[0].Shown[0].Role != search.RoleOutput {
			t.Errorf("G43.4: %+v", r.Total)
		}
		if r := searchAPI(t, app, "q=M06"); r.Total.Packages != 2 {
			t.Errorf("M06 (from <M:06>): %+v", r.Total)
		}
		// Paging: one package per page, two pages, no overlap.
		p1 := searchAPI(t, app, "q=SPINDLE_DIR&limit=1")
		if len(p1.Packages) != 1 || p1.NextCursor == "" {
			t.Fatalf("page 1: %+v", p1)
		}
		p2 := searchAPI(t, app, "q=SPINDLE_DIR&limit=1&cursor="+url.QueryEscape(p1.NextCursor))
		if len(p2.Packages) != 1 || p2.NextCursor != "" || p2.Packages[0].PackageID == p1.Packages[0].PackageID {
			t.Fatalf("page 2: %+v", p2)
		}
		// Errors say what to do.
		for _, bad := range []string{"q=", "q=-x", "q=S*", "q=x&cursor=nope", "q=x&limit=1000"} {
			status, _, body := app.Get("/api/v1/search?" + bad)
			var e servertest.APIError
			json.Unmarshal(body, &e)
			if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity || e.Message == "" || e.Code == "" {
				t.Errorf("%s: %d %s", bad, status, body)
			}
		}

		// Alike posts: Beta is the post most like Alpha.
		var sim api.SimilarPackagesBody
		app.GetJSON("/api/v1/packages/"+a+"/similar", &sim)
		if len(sim.Items) != 1 || sim.Items[0].PackageName != "Beta" || sim.Items[0].Similarity <= 0.5 || sim.Items[0].Overlap <= 0 {
			t.Errorf("similar to Alpha: %+v", sim)
		}
		// Alike sections: CALC_SPINDLE of Alpha is like Beta's.
		var ssec search.SimilarSections
		var calcID string
		for _, f := range r.Packages {
			for _, file := range f.Files {
				for _, h := range file.Shown {
					if h.Section != nil && h.Section.Name == "CALC_SPINDLE" && f.PackageName == "Alpha" {
						calcID = h.Section.ID
					}
				}
			}
		}
		if calcID == "" {
			t.Fatal("no section id in the hits")
		}
		app.GetJSON("/api/v1/sections/"+calcID+"/similar", &ssec)
		if ssec.Section.Name != "CALC_SPINDLE" || len(ssec.Sections) == 0 || ssec.Sections[0].Name != "CALC_SPINDLE" ||
			ssec.Sections[0].Places[0].PackageName != "Beta" || ssec.Sections[0].Similarity < 0.8 {
			t.Errorf("sections like CALC_SPINDLE: %+v", ssec)
		}
		if status, _, _ := app.Get("/api/v1/sections/" + strings.Repeat("0", 64) + "-1/similar"); status != http.StatusNotFound {
			t.Errorf("unknown section: %d", status)
		}
		if status, _, _ := app.Get("/api/v1/sections/nope/similar"); status != http.StatusNotFound {
			t.Errorf("bad section id: %d", status)
		}

		// Near-duplicate: Beta with one line changed is nearly Beta.
		changed := []servertest.NamedFile{{Name: "BETA.SRC", Data: []byte(strings.Replace(string(beta[0].Data), "Haas NGC", "Haas NGC 2", 1))}}
		up := app.Upload(changed, map[string]string{"name": "Beta copy"})
		st := waitSearchable(t, app, up.PackageID)
		if st.NearDuplicate == nil || st.NearDuplicate.PackageName != "Beta" || st.NearDuplicate.Percent < 85 || st.NearDuplicate.Percent == 100 {
			t.Errorf("near duplicate of Beta: %+v", st.NearDuplicate)
		}

		// The API documents itself.
		_, _, doc := app.Get("/api/v1/openapi.json")
		for _, want := range []string{`"/api/v1/search"`, `"/api/v1/packages/{id}/similar"`, `"/api/v1/sections/{id}/similar"`, `"near_duplicate"`} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("the OpenAPI document lacks %s", want)
			}
		}

		// The pages.
		pages := []struct{ path, want string }{
			{"/search", "What you can type"},
			{"/search?q=SPINDLE_DIR", "<mark>SPINDLE DIR</mark>"},
			{"/search?q=SPINDLE_DIR&section=calc", "section: calc"},
			{"/search?q=nothing_like_this", "Nothing matched"},
			{"/sections/" + calcID + "/similar", "Beta"},
			{"/packages/" + bt, "Posts like this one"},
			{"/packages/" + up.PackageID, "the same as"},
		}
		for _, p := range pages {
			status, _, body := app.Get(p.path)
			if status != http.StatusOK || !strings.Contains(string(body), p.want) {
				t.Errorf("GET %s: %d, want %q in the page", p.path, status, p.want)
			}
		}
		if status, _, body := app.Get("/search?q=-x"); status != http.StatusBadRequest || !strings.Contains(string(body), "not only what to leave out") {
			t.Errorf("bad query page: %d", status)
		}
		var pkg catalog.Package
		app.GetJSON("/api/v1/packages/"+a, &pkg)
		status, _, body := app.Get("/packages/" + a + "/files/" + pkg.Files[0].ID)
		if status != http.StatusOK || !strings.Contains(string(body), "/similar?from=") {
			t.Errorf("the source view has no alike links: %d", status)
		}
	})
}

// openAIEmbeddings is a local server speaking the OpenAI-compatible
// /v1/embeddings wire format (no real provider is reachable here): it embeds
// each input as a bag of its lower-case words hashed into 64 dimensions, so
// texts sharing words are near. Setting down makes it answer 500.
type openAIEmbeddings struct {
	srv    *httptest.Server
	mu     sync.Mutex
	inputs []string
	down   bool
}

func newOpenAIEmbeddings(t *testing.T) *openAIEmbeddings {
	e := &openAIEmbeddings{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		e.mu.Lock()
		down := e.down
		e.mu.Unlock()
		if r.URL.Path != "/v1/embeddings" || r.Header.Get("Authorization") != "Bearer sk-local" || down {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"unavailable","type":"server_error"}}`))
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "local-test" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"bad request"}}`))
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := make([]item, len(req.Input))
		for i, in := range req.Input {
			v := make([]float32, 64)
			for _, w := range search.Words(in) {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%64]++
			}
			data[i] = item{"embedding", i, v}
		}
		e.mu.Lock()
		e.inputs = append(e.inputs, req.Input...)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *openAIEmbeddings) saw(s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, in := range e.inputs {
		if strings.Contains(in, s) {
			return true
		}
	}
	return false
}

// TestSearchExternalEmbeddings: with VERIPOST_EMBEDDINGS_* set, sections are
// embedded by the service at ingestion and questions at query time; when
// the service fails, search falls back to the built-in embedding and says
// so.
func TestSearchExternalEmbeddings(t *testing.T) {
	emb := newOpenAIEmbeddings(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.EmbeddingsURL, cfg.EmbeddingsModel, cfg.EmbeddingsAPIKey = emb.srv.URL+"/v1", "local-test", "sk-local"
		app := servertest.Start(t, cfg)
		uploadSearchable(t, app, "Alpha", searchFixture(t, "alpha"))
		if !emb.saw(":SECTION=CALC_SPINDLE") {
			t.Fatal("the embeddings service was not asked for the sections")
		}
		var n int
		if err := app.DB.SQL.QueryRow(`SELECT COUNT(*) FROM search_external_vectors WHERE model = 'local-test'`).Scan(&n); err != nil || n != 6 {
			t.Fatalf("%d external section vectors stored (%v); want one per section (6)", n, err)
		}
		r := searchAPI(t, app, "q="+url.QueryEscape("rotary table axis")+"&mode=vector&versions=all")
		if len(r.Notices) != 0 || r.Total.Hits == 0 || !emb.saw("rotary table axis") {
			t.Fatalf("vector search with the service: %+v, notices %v", r.Total, r.Notices)
		}
		if top := r.Packages[0].Files[0].Shown[0]; top.Section == nil || top.Section.Name != "CALC_ROTARY" {
			t.Errorf("the service's nearest section is %+v; want CALC_ROTARY (its comment says rotary table … axis)", top.Section)
		}
		emb.mu.Lock()
		emb.down = true
		emb.mu.Unlock()
		defer func() { emb.mu.Lock(); emb.down = false; emb.mu.Unlock() }()
		r = searchAPI(t, app, "q="+url.QueryEscape("rotary table axis")+"&mode=hybrid")
		if len(r.Notices) != 1 || !strings.Contains(r.Notices[0], "built-in embedding") || r.Total.Hits == 0 {
			t.Errorf("with the service down: %+v, notices %v", r.Total, r.Notices)
		}
	})
}

// TestSearchBoundedCount: a search that counts only its best lines (a
// small MaxHits here) lists the best package first as the full count does,
// says that its totals are lower bounds, and answers the same on both
// engines.
func TestSearchBoundedCount(t *testing.T) {
	top := searchFixture(t, "beta") // defines SPINDLE_DIR and assigns it twice
	assigns := func(name string, n int) []servertest.NamedFile {
		src := ":SYSTEM=MILL\r\n:SECTION=CALC_SPINDLE\r\n"
		for i := 1; i <= n; i++ {
			src += fmt.Sprintf(":C:SPINDLE_DIR=%d\r\n", i)
		}
		return []servertest.NamedFile{{Name: name + ".SRC", Data: []byte(src)}}
	}
	answers := map[string]string{}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t), func(a *server.App) { a.Search.MaxHits, a.Search.CacheBytes = 5, -1 })
		uploadSearchable(t, app, "Top", top)
		uploadSearchable(t, app, "Many", assigns("MANY", 30))
		uploadSearchable(t, app, "Few", assigns("FEW", 3))
		// A page of three packages needs every one of them: counted in full.
		full := searchAPI(t, app, "q=SPINDLE_DIR&limit=3")
		if full.Total.Truncated || full.Total.Packages != 3 || full.Total.Hits != 4+30+3 {
			t.Fatalf("full count: %+v", full.Total)
		}
		bounded := searchAPI(t, app, "q=SPINDLE_DIR&limit=1")
		tot := bounded.Total
		if !tot.Truncated || tot.Hits < 5 || tot.Hits >= full.Total.Hits || tot.Packages < 2 || bounded.NextCursor == "" {
			t.Errorf("bounded count: %+v, next %q", tot, bounded.NextCursor)
		}
		if len(bounded.Packages) != 1 || bounded.Packages[0].PackageName != "Top" ||
			fmt.Sprint(bounded.Packages[0].Files[0].Shown[0]) != fmt.Sprint(full.Packages[0].Files[0].Shown[0]) {
			t.Errorf("bounded search lists %+v first, the full count %+v", bounded.Packages, full.Packages[0])
		}
		_, _, raw := app.Get("/api/v1/search?q=SPINDLE_DIR&limit=1")
		answers[b.Name] = normalise(t, raw, idNames(t, app))
	})
	if a, b := answers[servertest.SQLite.Name], answers[servertest.Postgres.Name]; a != "" && b != "" && a != b {
		t.Errorf("SQLite and PostgreSQL bound the count differently:\n%s", firstDiff(a, b))
	}
}
