package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// largestCorpusPackage picks the corpus package with the most bytes.
func largestCorpusPackage(b *testing.B) testenv.CorpusPackage {
	var best testenv.CorpusPackage
	size := 0
	for _, p := range testenv.CorpusPackages(b) {
		n := 0
		for _, f := range p.Files {
			n += len(f.Data)
		}
		if n > size {
			best, size = p, n
		}
	}
	return best
}

// BenchmarkUploadToReady measures one upload of the largest corpus package
// (Tormach, 7 files, 344 KB) until its status reads ready, on each
// deployment: with a .SRC never seen before (its libraries known from an
// earlier upload, as on a server in use) and as an identical re-upload (a
// new package with the same files: nothing is parsed or stored again).
func BenchmarkUploadToReady(b *testing.B) {
	pkg := largestCorpusPackage(b)
	files := servertest.CorpusFiles(pkg)
	for _, be := range servertest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			app := servertest.Start(b, be.Config(b))
			app.PollInterval = 2 * time.Millisecond         // a 10 ms poll would add 5 ms on average
			app.WaitReady(app.Upload(files, nil).PackageID) // the libraries are known
			b.Run("new-content", func(b *testing.B) {
				for i := range b.N {
					fresh := append([]servertest.NamedFile(nil), files...)
					for j, f := range fresh {
						if strings.HasSuffix(f.Name, ".SRC") {
							fresh[j].Data = append(append([]byte(nil), f.Data...), fmt.Sprintf("* upload %d %d\r\n", i, time.Now().UnixNano())...)
						}
					}
					res := app.Upload(fresh, nil)
					app.WaitReady(res.PackageID)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/package")
			})
			b.Run("identical", func(b *testing.B) {
				for range b.N {
					res := app.Upload(files, nil)
					app.WaitReady(res.PackageID)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/package")
			})
		})
	}
}

// BenchmarkConcurrentUploaders measures sustained throughput with 50
// clients uploading at once until every package is ready.
func BenchmarkConcurrentUploaders(b *testing.B) {
	pkg := largestCorpusPackage(b)
	files := servertest.CorpusFiles(pkg)
	for _, be := range servertest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			app := servertest.Start(b, be.Config(b))
			const clients = 50
			var next atomic.Int64
			ids := make(chan string, b.N)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						ids <- app.Upload(files, nil).PackageID
					}
				}()
			}
			wg.Wait()
			close(ids)
			for id := range ids {
				app.WaitReady(id)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packages/s")
		})
	}
}

// BenchmarkSymbolLookup measures GET /symbols/{name} with the whole corpus
// loaded 100 times over (copies under other names, uploaded through the
// API, so every copy has its own package, version and file rows).
func BenchmarkSymbolLookup(b *testing.B) {
	pkgs := testenv.CorpusPackages(b)
	for _, be := range servertest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			app := servertest.Start(b, be.Config(b))
			const copies = 100
			ids := make(chan string, copies*len(pkgs))
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= copies*len(pkgs) {
							return
						}
						p := pkgs[i%len(pkgs)]
						ids <- app.Upload(servertest.CorpusFiles(p), map[string]string{"name": p.Name + " copy " + strconv.Itoa(i)}).PackageID
					}
				}()
			}
			wg.Wait()
			close(ids)
			for id := range ids {
				app.WaitReady(id)
			}
			for _, name := range []string{"USING_4TH_AXIS_LOCK", "MACHINE_NAME"} {
				b.Run(name, func(b *testing.B) {
					var body struct {
						TotalPackages int `json:"total_packages"`
					}
					app.GetJSON("/api/v1/symbols/"+name+"?limit=20", &body)
					if body.TotalPackages < copies {
						b.Fatalf("%s found in %d packages, want at least %d", name, body.TotalPackages, copies)
					}
					b.ResetTimer()
					for range b.N {
						status, _, _ := app.Get("/api/v1/symbols/" + name + "?limit=20")
						if status != 200 {
							b.Fatalf("status %d", status)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/lookup")
				})
			}
			// The symbol index: a page of 100 names with their counts, the
			// first page and a common prefix.
			for _, q := range []string{"limit=100", "limit=100&prefix=M"} {
				b.Run("index?"+q, func(b *testing.B) {
					for range b.N {
						status, _, _ := app.Get("/api/v1/symbols?" + q)
						if status != 200 {
							b.Fatalf("status %d", status)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
				})
			}
		})
	}
}
