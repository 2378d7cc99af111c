package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestSearchReadCachesFollowTheIndex: the store keeps documents' lines,
// sections and texts in memory between searches (answers are not cached
// here). When a package is deleted and another uploaded, SQLite gives the
// new documents and texts the ids the deleted ones had: every hit, its
// context and its section must still be those of the file stored now.
func TestSearchReadCachesFollowTheIndex(t *testing.T) {
	alpha, beta := searchFixture(t, "alpha"), searchFixture(t, "beta")
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t), func(a *server.App) { a.Search.CacheBytes = -1 })
		docIDs := func() map[int64]bool {
			t.Helper()
			rows, err := app.DB.SQL.Query(`SELECT id FROM search_docs`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[int64]bool{}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out[id] = true
			}
			return out
		}
		// check compares every hit shown with the files' lines.
		check := func(res search.Result, files []servertest.NamedFile, wantHits int) {
			t.Helper()
			lines := map[string][]string{}
			for _, f := range files {
				lines[f.Name] = strings.Split(strings.ReplaceAll(string(f.Data), "\r\n", "\n"), "\n")
			}
			line := func(file string, n int) string {
				if n < 1 || n > len(lines[file]) {
					t.Fatalf("%s has no line %d", file, n)
				}
				return lines[file][n-1]
			}
			hits := 0
			for _, p := range res.Packages {
				for _, f := range p.Files {
					if lines[f.Filename] == nil {
						t.Fatalf("a hit in %s, which the package does not have", f.Filename)
					}
					for _, h := range f.Shown {
						hits++
						if h.Text != line(f.Filename, h.Line) {
							t.Errorf("%s line %d shown as %q; the file has %q", f.Filename, h.Line, h.Text, line(f.Filename, h.Line))
						}
						for _, c := range append(append([]search.ContextLine{}, h.Before...), h.After...) {
							if c.Text != line(f.Filename, c.N) {
								t.Errorf("%s context line %d shown as %q; the file has %q", f.Filename, c.N, c.Text, line(f.Filename, c.N))
							}
						}
						if h.Section != nil && (h.Line < h.Section.StartLine || h.Line > h.Section.EndLine ||
							!strings.Contains(strings.ToUpper(line(f.Filename, h.Section.StartLine)), strings.ToUpper(h.Section.Name))) {
							t.Errorf("%s line %d is said to be in section %+v", f.Filename, h.Line, *h.Section)
						}
					}
				}
			}
			if hits != wantHits {
				t.Fatalf("%d hits shown; want %d", hits, wantHits)
			}
		}
		const q = "q=SPINDLE*&context=3&hits_per_file=50"
		a := uploadSearchable(t, app, "Alpha", alpha)
		before := docIDs()
		for range 2 { // the second from what the store keeps
			check(searchAPI(t, app, q), alpha, 7)
		}
		if status, body := app.Do(http.MethodDelete, "/api/v1/packages/"+a, nil); status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
		uploadSearchable(t, app, "Beta", beta)
		reused := false
		for id := range docIDs() {
			reused = reused || before[id]
		}
		if b.Name == servertest.SQLite.Name && !reused {
			t.Fatal("the new document should have the id of a deleted one on SQLite (this test is about that case)")
		}
		for range 2 {
			check(searchAPI(t, app, q), beta, 6)
		}
	})
}
