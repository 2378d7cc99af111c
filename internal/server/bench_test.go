package server_test

import (
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
// until its status reads ready, on each deployment.
func BenchmarkUploadToReady(b *testing.B) {
	pkg := largestCorpusPackage(b)
	files := servertest.CorpusFiles(pkg)
	for _, be := range servertest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			app := servertest.Start(b, be.Config(b))
			b.ResetTimer()
			for range b.N {
				res := app.Upload(files, nil)
				app.WaitReady(res.PackageID)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/package")
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
