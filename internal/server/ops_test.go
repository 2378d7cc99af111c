package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server/servertest"
)

// TestParallelVersionsOfOnePackage: rounds of 20 uploads at once of new
// versions of the same package, while workers ingest the earlier ones,
// are all accepted (on PostgreSQL they used to deadlock and answer 503),
// numbered without gaps, and end ready; the library counters agree with
// the packages' latest files.
func TestParallelVersionsOfOnePackage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		first := app.Upload([]servertest.NamedFile{{Name: "P.SRC", Data: []byte("* v0\r\n")}, {Name: "MILL.LIB", Data: []byte("* lib 0\r\n")}}, nil)
		// A second package shares the libraries, so counters are contended.
		other := app.Upload([]servertest.NamedFile{{Name: "Q.SRC", Data: []byte("* q\r\n:SECTION=P0\r\n:T:%<EOL>\r\n")}, {Name: "MILL.LIB", Data: []byte("* lib 1\r\n:SECTION=L1\r\n")}}, nil)
		const rounds, parallel = 5, 20
		for r := range rounds {
			var wg sync.WaitGroup
			failures := make(chan string, parallel)
			for i := range parallel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					files := []servertest.NamedFile{
						// Names shared with the other package and between uploads,
						// so the symbol counters are contended too.
						{Name: "P.SRC", Data: fmt.Appendf(nil, "* round %d upload %d\r\n:SECTION=P%d\r\n:T:%%<EOL>\r\n", r, i, i%5)},
						{Name: "MILL.LIB", Data: fmt.Appendf(nil, "* lib %d\r\n:SECTION=L%d\r\n", i%3, i%3)},
						{Name: fmt.Sprintf("X%d.LIB", i%4), Data: []byte("* extra\r\n")},
					}
					body, ct := servertest.Multipart(t, files, map[string]string{"package_id": first.PackageID})
					resp, err := app.Client.Post(app.URL+"/api/v1/packages", ct, body)
					if err != nil {
						failures <- err.Error()
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						failures <- fmt.Sprintf("status %d", resp.StatusCode)
					}
				}()
			}
			wg.Wait()
			close(failures)
			for f := range failures {
				t.Errorf("round %d: an upload of a new version failed: %s", r, f)
			}
		}
		if t.Failed() {
			return
		}
		st := app.WaitReady(first.PackageID)
		if st.Version != rounds*parallel+1 {
			t.Fatalf("latest version %d, want %d", st.Version, rounds*parallel+1)
		}
		versions := waitVersionsDone(t, app, first.PackageID)
		for i, v := range versions {
			if v.Number != rounds*parallel+1-i {
				t.Fatalf("version numbers have a gap or repeat at %d: %d", i, v.Number)
			}
			if v.Status != catalog.StatusReady {
				t.Fatalf("version %d ended %s: %s", v.Number, v.Status, v.ErrorMessage)
			}
		}
		app.WaitReady(other.PackageID)
		checkLibraryCounters(t, app)
		checkSymbolCounters(t, app, true)
	})
}

// waitVersionsDone waits until every version of a package has ended
// (ready or error) and returns them, newest first.
func waitVersionsDone(t *testing.T, app *servertest.App, packageID string) []catalog.Version {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var page catalog.Page[catalog.Version]
		app.GetJSON("/api/v1/packages/"+packageID+"/versions?limit=500", &page)
		pending := 0
		for _, v := range page.Items {
			if !v.Status.Terminal() {
				pending++
			}
		}
		if pending == 0 {
			return page.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d versions of %s still not done", pending, packageID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkLibraryCounters compares the maintained library counters with a
// count from the latest files (by analysis.NameKey of their names).
func checkLibraryCounters(t *testing.T, app *servertest.App) {
	t.Helper()
	rows, err := app.DB.R.QueryContext(t.Context(), `SELECT filename, package_id, sha256 FROM latest_files WHERE kind IN ('lib', 'atr', 'include')`)
	if err != nil {
		t.Fatal(err)
	}
	packages, variants := map[string]map[string]bool{}, map[string]map[string]bool{}
	for rows.Next() {
		var name, pkg string
		var sha []byte // text or bytes, as the engine stores it
		if err := rows.Scan(&name, &pkg, &sha); err != nil {
			t.Fatal(err)
		}
		key := analysis.NameKey(name)
		if packages[key] == nil {
			packages[key], variants[key] = map[string]bool{}, map[string]bool{}
		}
		packages[key][pkg], variants[key][string(sha)] = true, true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = app.DB.R.QueryContext(t.Context(), `SELECT name_key, packages, variants FROM library_names`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key string
		var p, v int
		if err := rows.Scan(&key, &p, &v); err != nil {
			t.Fatal(err)
		}
		n++
		if p != len(packages[key]) || v != len(variants[key]) {
			t.Errorf("library %s: counters say %d packages and %d variants, the latest files %d and %d", key, p, v, len(packages[key]), len(variants[key]))
		}
		delete(packages, key)
	}
	if n == 0 {
		t.Fatal("no library counters at all")
	}
	if len(packages) > 0 {
		t.Errorf("library names in the latest files have no counter: %v", packages)
	}
}

// TestPathologicalUpload: a .SRC of a million short lines (7 MB) used to
// keep the embedded server busy for 80 s, with list and status requests
// timing out. Now the version ends in error at once with a message naming
// the limit, reads answer quickly meanwhile, and the next upload is
// ingested as usual. A file with more findings than allowed ends the same
// way.
func TestPathologicalUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.IngestMaxDiagnostics = 50
		app := servertest.Start(t, cfg)
		seed := app.Upload([]servertest.NamedFile{{Name: "S.SRC", Data: []byte("* seed\r\n")}}, nil)
		app.WaitReady(seed.PackageID)

		stop := make(chan struct{})
		slowest := make(chan time.Duration)
		go func() { // a reader, all along
			var worst time.Duration
			defer func() { slowest <- worst }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				app.Get("/api/v1/packages")
				app.Get("/api/v1/packages/" + seed.PackageID + "/status")
				worst = max(worst, time.Since(start))
				time.Sleep(20 * time.Millisecond)
			}
		}()
		start := time.Now()
		huge := app.Upload([]servertest.NamedFile{{Name: "HUGE.SRC", Data: bytes.Repeat([]byte("A=1;\r\n"), 1_000_000)}}, nil)
		st := app.WaitDone(huge.PackageID, time.Minute)
		took := time.Since(start)
		close(stop)
		worst := <-slowest
		t.Logf("1,000,000-line upload ended %s after %s; slowest read meanwhile %s", st.Status, took, worst)
		if st.Status != "error" || !strings.Contains(st.ErrorMessage, "1000000 lines") || !strings.Contains(st.ErrorMessage, "VERIPOST_INGEST_MAX_LINES") {
			t.Fatalf("the huge upload: %+v", st)
		}
		if worst > 5*time.Second {
			t.Errorf("a list and status read took %s while the huge upload was ingested", worst)
		}

		noisy := app.Upload([]servertest.NamedFile{{Name: "NOISY.SRC", Data: bytes.Repeat([]byte("@@@@@\r\n"), 200)}}, nil)
		if st := app.WaitDone(noisy.PackageID, time.Minute); st.Status != "error" || !strings.Contains(st.ErrorMessage, "more than 50 findings") {
			t.Fatalf("a file with too many findings: %+v", st)
		}
		after := app.Upload([]servertest.NamedFile{{Name: "AFTER.SRC", Data: []byte("* after\r\n")}}, nil)
		app.WaitReady(after.PackageID)
	})
}

// checkSymbolCounters compares the maintained symbol name counters with a
// count of the latest files' symbols; some says whether names are expected.
func checkSymbolCounters(t *testing.T, app *servertest.App, some bool) {
	t.Helper()
	drift, err := app.DB.SymbolCounterDrift(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(drift) > 0 {
		t.Errorf("%d symbol names whose counters differ from the latest files, first %q", len(drift), drift[0])
	}
	var n int
	if err := app.DB.R.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM symbol_names`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if some != (n > 0) {
		t.Errorf("%d symbol names counted, want some: %v", n, some)
	}
}
