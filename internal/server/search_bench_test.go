package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// newContent makes text files distinct from any stored before (a comment
// line with a counter): every file when all is true (nothing is shared, the
// search index builds everything), otherwise only the .SRC (its libraries
// known from an earlier upload, as on a server in use).
func newContent(files []servertest.NamedFile, n int, all bool) []servertest.NamedFile {
	out := make([]servertest.NamedFile, len(files))
	for i, f := range files {
		out[i] = f
		if len(f.Data) > 0 && !containsNUL(f.Data) && (all || strings.HasSuffix(strings.ToUpper(f.Name), ".SRC")) {
			out[i].Data = append([]byte(fmt.Sprintf("* benchmark copy %d\r\n", n)), f.Data...)
		}
	}
	return out
}

func containsNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// BenchmarkSearchIndexing measures, for the Tormach corpus package, upload
// → ready with and without the search index, and ready → searchable: with
// a new .SRC (the libraries stored before, as on a server in use) and with
// every file new. Search indexing runs after the version is ready, so
// "with" and "without" should not differ.
func BenchmarkSearchIndexing(b *testing.B) {
	var tormach testenv.CorpusPackage
	for _, p := range testenv.CorpusPackages(b) {
		if p.Name == "tormach-pcnc1100" {
			tormach = p
		}
	}
	if tormach.Name == "" {
		b.Skip("SKIPPING: the tormach-pcnc1100 corpus package is not there")
	}
	files := servertest.CorpusFiles(tormach)
	for _, be := range servertest.Backends() {
		for _, c := range []struct {
			name            string
			withSearch, all bool
		}{{"new-src/with-search", true, false}, {"new-src/without-search", false, false}, {"all-new/with-search", true, true}} {
			b.Run(be.Name+"/"+c.name, func(b *testing.B) {
				app := servertest.Start(b, be.Config(b), func(a *server.App) {
					if !c.withSearch {
						a.Pipeline.Search = nil
					}
				})
				if c.withSearch {
					app.WaitSearchable(app.Upload(files, nil).PackageID) // the libraries are known
				} else {
					app.WaitReady(app.Upload(files, nil).PackageID)
				}
				b.ResetTimer()
				var ready, searchable time.Duration
				for i := range b.N {
					start := time.Now()
					res := app.Upload(newContent(files, i, c.all), nil)
					app.WaitReady(res.PackageID)
					ready += time.Since(start)
					if c.withSearch {
						app.WaitSearchable(res.PackageID)
						searchable += time.Since(start)
					}
				}
				b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-ready")
				if c.withSearch {
					b.ReportMetric(float64(searchable.Milliseconds())/float64(b.N), "ms-to-searchable")
				}
			})
		}
	}
}

// BenchmarkSearch is the short form of bench/search: the corpus only, one
// client, each kind of request.
func BenchmarkSearch(b *testing.B) {
	pkgs := testenv.CorpusPackages(b)
	for _, be := range servertest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			app := servertest.Start(b, be.Config(b))
			var id string
			for _, p := range pkgs {
				id = uploadSearchable(b, app, p.Name, servertest.CorpusFiles(p))
			}
			for _, q := range []struct{ name, path string }{
				{"lexical-identifier", "/api/v1/search?q=SPINDLE_DIR"},
				{"lexical-word", "/api/v1/search?q=spindle"},
				{"lexical-literal", "/api/v1/search?q=" + url.QueryEscape("G91.1")},
				{"hybrid", "/api/v1/search?q=" + url.QueryEscape("which posts handle a 4th axis")},
				{"similar-posts", "/api/v1/packages/" + id + "/similar"},
			} {
				b.Run(q.name, func(b *testing.B) {
					for range b.N {
						if status, _, body := app.Get(q.path); status != 200 {
							b.Fatalf("%s: %d %s", q.path, status, body)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/request")
				})
			}
		})
	}
}
