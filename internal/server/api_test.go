package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
	"github.com/veripost/veripost/internal/upload"
)

// forEachBackend runs body once on SQLite + local disk and once on
// PostgreSQL + S3.
func forEachBackend(t *testing.T, body func(t *testing.T, b servertest.Backend)) {
	for _, b := range servertest.Backends() {
		t.Run(b.Name, func(t *testing.T) { body(t, b) })
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestCorpusRoundTrip uploads every corpus package, as loose files and as a
// ZIP with nested folders, and checks every file downloads byte for byte,
// alone, by range, and inside the package ZIP.
func TestCorpusRoundTrip(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		for _, p := range pkgs {
			files := servertest.CorpusFiles(p)
			for _, asZip := range []bool{false, true} {
				name := p.Name + map[bool]string{false: "/loose", true: "/zip"}[asZip]
				t.Run(name, func(t *testing.T) {
					app := app.With(t)
					upload := files
					if asZip {
						upload = []servertest.NamedFile{{Name: p.Name + ".zip", Data: servertest.Zip(t, "outer/"+p.Name, files)}}
					}
					res := app.Upload(upload, map[string]string{"name": name})
					if res.Version != 1 || res.Status != "pending" || res.JobID == 0 {
						t.Fatalf("unexpected upload answer %+v", res)
					}
					st := app.WaitReady(res.PackageID)
					if st.FileCount != len(files) {
						t.Fatalf("file_count %d, want %d", st.FileCount, len(files))
					}
					var pkg catalog.Package
					app.GetJSON("/api/v1/packages/"+res.PackageID, &pkg)
					if pkg.Name != name || len(pkg.Files) != len(files) {
						t.Fatalf("package %q has %d files, want %q with %d", pkg.Name, len(pkg.Files), name, len(files))
					}
					want := map[string][]byte{}
					for _, f := range files {
						want[f.Name] = f.Data
					}
					for _, f := range pkg.Files {
						orig, ok := want[f.Filename]
						if !ok {
							t.Fatalf("unexpected file %q", f.Filename)
						}
						url := fmt.Sprintf("/api/v1/packages/%s/files/%s/download", pkg.ID, f.ID)
						status, hdr, got := app.Get(url)
						if status != 200 || !bytes.Equal(got, orig) {
							t.Fatalf("%s: status %d, %d bytes, equal=%v", f.Filename, status, len(got), bytes.Equal(got, orig))
						}
						if hdr.Get("ETag") != `"`+sha(orig)+`"` || f.SHA256 != sha(orig) {
							t.Fatalf("%s: ETag %s, sha %s, want %s", f.Filename, hdr.Get("ETag"), f.SHA256, sha(orig))
						}
						if !strings.Contains(hdr.Get("Content-Disposition"), f.Filename) {
							t.Fatalf("%s: Content-Disposition %q", f.Filename, hdr.Get("Content-Disposition"))
						}
						if len(orig) > 20 {
							status, _, part := app.Get(url, "Range", "bytes=10-19")
							if status != http.StatusPartialContent || !bytes.Equal(part, orig[10:20]) {
								t.Fatalf("%s: range: status %d, %q", f.Filename, status, part)
							}
						}
						status, _, _ = app.Get(url, "If-None-Match", hdr.Get("ETag"))
						if status != http.StatusNotModified {
							t.Fatalf("%s: If-None-Match: status %d, want 304", f.Filename, status)
						}
					}
					status, _, zipped := app.Get("/api/v1/packages/" + pkg.ID + "/download")
					if status != 200 {
						t.Fatalf("zip download: %d %s", status, zipped)
					}
					zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
					if err != nil {
						t.Fatal(err)
					}
					if len(zr.File) != len(files) {
						t.Fatalf("zip has %d entries, want %d", len(zr.File), len(files))
					}
					for _, zf := range zr.File {
						rc, err := zf.Open()
						if err != nil {
							t.Fatal(err)
						}
						got, _ := io.ReadAll(rc)
						rc.Close()
						if !bytes.Equal(got, want[zf.Name]) {
							t.Fatalf("zip entry %s differs from the original", zf.Name)
						}
					}
				})
			}
		}
	})
}

// TestBadUploads: each kind of bad input gets its own status and code, and
// nothing is recorded or stored.
func TestBadUploads(t *testing.T) {
	src := servertest.NamedFile{Name: "P.SRC", Data: []byte(":SYSTEM=MILL\r\n")}
	lib := servertest.NamedFile{Name: "P.LIB", Data: []byte("* lib\r\n")}
	zipOf := func(files ...servertest.NamedFile) servertest.NamedFile {
		return servertest.NamedFile{Name: "p.zip", Data: servertest.Zip(t, "", files)}
	}
	bomb := func() servertest.NamedFile {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("BOMB.SRC")
		zero := make([]byte, 1<<20)
		for i := 0; i < 64; i++ {
			w.Write(zero)
		}
		zw.Close()
		return servertest.NamedFile{Name: "bomb.zip", Data: buf.Bytes()}
	}()
	corrupt := zipOf(src, lib)
	corrupt.Data = append([]byte(nil), corrupt.Data...)
	corrupt.Data[30+len(src.Name)+2] ^= 0xff // inside P.SRC's compressed bytes
	cases := []struct {
		name   string
		files  []servertest.NamedFile
		fields map[string]string
		status int
		code   string
	}{
		{"not a zip", []servertest.NamedFile{{Name: "x.zip", Data: []byte("hello, not a zip")}}, nil, 400, "NOT_A_ZIP"},
		{"not a UPG type", []servertest.NamedFile{src, {Name: "setup.exe", Data: []byte("MZ")}}, nil, 400, "UNSUPPORTED_FILE_TYPE"},
		{"corrupt zip", []servertest.NamedFile{corrupt}, nil, 422, "CORRUPT_ZIP"},
		{"empty zip", []servertest.NamedFile{zipOf()}, nil, 422, "EMPTY_PACKAGE"},
		{"no SRC", []servertest.NamedFile{zipOf(lib)}, nil, 422, "NO_SRC_FILE"},
		{"no SRC loose", []servertest.NamedFile{lib}, nil, 422, "NO_SRC_FILE"},
		{"unknown extensions", []servertest.NamedFile{zipOf(src, servertest.NamedFile{Name: "readme.txt", Data: []byte("x")})}, nil, 422, "UNKNOWN_EXTENSIONS"},
		{"duplicate after flattening", []servertest.NamedFile{{Name: "d.zip", Data: func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, n := range []string{"a/P.SRC", "b/p.src"} {
				w, _ := zw.Create(n)
				w.Write(src.Data)
			}
			zw.Close()
			return buf.Bytes()
		}()}}, nil, 422, "DUPLICATE_FILE_NAME"},
		{"zip bomb", []servertest.NamedFile{bomb}, nil, 422, "SUSPICIOUS_COMPRESSION"},
		{"unknown package id", []servertest.NamedFile{src}, map[string]string{"package_id": "00000000-0000-0000-0000-000000000000"}, 404, "NOT_FOUND"},
		{"no files", nil, map[string]string{"name": "x"}, 400, "NO_FILES"},
	}
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		app := servertest.Start(t, cfg)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				app := app.With(t)
				status, body := app.PostUpload(c.files, c.fields)
				var e servertest.APIError
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body is not JSON: %s", body)
				}
				if status != c.status || (c.code != "" && e.Code != c.code) || e.Message == "" || e.Code == "" {
					t.Fatalf("got %d %+v, want %d %s", status, e, c.status, c.code)
				}
			})
		}
		var page catalog.Page[catalog.Package]
		app.GetJSON("/api/v1/packages", &page)
		if len(page.Items) != 0 {
			t.Fatalf("bad uploads left %d packages behind", len(page.Items))
		}
		if n := app.BlobCount(); n > 0 {
			t.Fatalf("bad uploads left %d blobs behind", n)
		}
	})
}

// TestRequestLimits: over-size requests are refused before anything is stored.
func TestRequestLimits(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.MaxRequestBytes = 4096
	cfg.MaxFiles = 2
	app := servertest.Start(t, cfg)
	big := servertest.NamedFile{Name: "BIG.SRC", Data: bytes.Repeat([]byte("*x\r\n"), 4000)}
	status, body := app.PostUpload([]servertest.NamedFile{big}, nil)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "REQUEST_TOO_LARGE") {
		t.Fatalf("oversize request: %d %s", status, body)
	}
	three := []servertest.NamedFile{{Name: "A.SRC", Data: []byte("*")}, {Name: "B.LIB", Data: []byte("*")}, {Name: "C.LIB", Data: []byte("*")}}
	status, body = app.PostUpload(three, nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "TOO_MANY_FILES") {
		t.Fatalf("too many files: %d %s", status, body)
	}
	if n := app.BlobCount(); n != 0 {
		t.Fatalf("refused uploads stored %d blobs", n)
	}
}

// TestIdenticalReupload: an upload identical to a package's latest version
// records nothing and says so; one identical to an older version becomes a
// new version that says which; the same files as a new package are a new
// package whose analysis is the stored one (no rows copied).
func TestIdenticalReupload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		v1 := []servertest.NamedFile{{Name: "I.SRC", Data: []byte(":SYSTEM=MILL\r\n:SECTION=START_OF_TAPE\r\n:T:%<EOL>\r\n")}}
		first := app.Upload(v1, nil)
		app.WaitReady(first.PackageID)
		if !first.Created || first.Version != 1 {
			t.Fatalf("first upload: %+v", first)
		}
		status, body := app.PostUpload(v1, map[string]string{"package_id": first.PackageID})
		var same servertest.UploadResult
		json.Unmarshal(body, &same)
		if status != http.StatusOK || same.Created || same.IdenticalTo != 1 || same.Version != 1 || same.VersionID != first.VersionID {
			t.Fatalf("identical re-upload: %d %s", status, body)
		}
		changed := []servertest.NamedFile{{Name: "I.SRC", Data: append(append([]byte(nil), v1[0].Data...), "* changed\r\n"...)}}
		second := app.Upload(changed, map[string]string{"package_id": first.PackageID})
		back := app.Upload(v1, map[string]string{"package_id": first.PackageID})
		if second.Version != 2 || second.IdenticalTo != 0 || back.Version != 3 || back.IdenticalTo != 1 || !back.Created {
			t.Fatalf("versions: %+v / %+v", second, back)
		}
		app.WaitReady(first.PackageID)
		app.WaitVersionReady(first.PackageID, 2)
		var rows1, rows2 int
		count := `SELECT (SELECT COUNT(*) FROM analyses) + (SELECT COUNT(*) FROM symbol_index) + (SELECT COUNT(*) FROM version_analyses)`
		app.DB.SQL.QueryRow(count).Scan(&rows1)
		copyPkg := app.Upload(v1, nil)
		if st := app.WaitReady(copyPkg.PackageID); st.Status != "ready" {
			t.Fatalf("copy: %+v", st)
		}
		app.DB.SQL.QueryRow(count).Scan(&rows2)
		if rows1 != rows2 {
			t.Fatalf("the same files as a new package added %d analysis rows", rows2-rows1)
		}
	})
}

// TestVersionsAndMetadata: uploading to an existing package adds a
// version; the package shows the latest.
func TestVersionsAndMetadata(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		v1 := app.Upload([]servertest.NamedFile{{Name: "M.SRC", Data: []byte("*v1\r\n")}}, map[string]string{"note": "first"})
		app.WaitReady(v1.PackageID)
		v2 := app.Upload([]servertest.NamedFile{{Name: "M.SRC", Data: []byte("*v2\r\n")}, {Name: "M.LIB", Data: []byte("*lib\r\n")}},
			map[string]string{"package_id": v1.PackageID, "note": "second"})
		if v2.PackageID != v1.PackageID || v2.Version != 2 {
			t.Fatalf("second upload: %+v", v2)
		}
		st := app.WaitReady(v1.PackageID)
		if st.Version != 2 || st.FileCount != 2 {
			t.Fatalf("status after v2: %+v", st)
		}
		var versions struct{ Items []catalog.Version }
		app.GetJSON("/api/v1/packages/"+v1.PackageID+"/versions", &versions)
		if len(versions.Items) != 2 || versions.Items[0].Number != 2 || versions.Items[0].Note != "second" || versions.Items[1].Note != "first" {
			t.Fatalf("versions: %+v", versions.Items)
		}
		status, zipped := func() (int, []byte) {
			s, _, b := app.Get("/api/v1/packages/" + v1.PackageID + "/download?version=1")
			return s, b
		}()
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if status != 200 || err != nil || len(zr.File) != 1 {
			t.Fatalf("version 1 zip: %d %v", status, err)
		}
		if s, _, _ := app.Get("/api/v1/packages/" + v1.PackageID + "/download?version=9"); s != 404 {
			t.Fatalf("missing version zip: %d", s)
		}

		machine := "Haas VF-2"
		status, body := app.Do(http.MethodPatch, "/api/v1/packages/"+v1.PackageID, map[string]any{"machine_type": machine})
		var pkg catalog.Package
		json.Unmarshal(body, &pkg)
		if status != 200 || pkg.MachineType != machine || !pkg.MetadataEdited || pkg.LatestVersion != 2 {
			t.Fatalf("edit: %d %s", status, body)
		}
	})
}

// TestDeleteReleasesOnlyUnsharedBlobs: a library shared by two packages is
// stored once and survives the deletion of one of them.
func TestDeleteThenCollectKeepsSharedBlobs(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	app := servertest.Start(t, cfg)
	shared := servertest.NamedFile{Name: "MILL.LIB", Data: []byte("* the shared library\r\n")}
	a := app.Upload([]servertest.NamedFile{{Name: "A.SRC", Data: []byte("*a\r\n")}, shared}, nil)
	b := app.Upload([]servertest.NamedFile{{Name: "B.SRC", Data: []byte("*b\r\n")}, shared}, nil)
	app.WaitReady(a.PackageID)
	app.WaitReady(b.PackageID)
	if n := app.BlobCount(); n != 3 {
		t.Fatalf("stored %d blobs, want 3 (shared library once)", n)
	}
	if s, body := app.Do(http.MethodDelete, "/api/v1/packages/"+a.PackageID, nil); s != http.StatusNoContent {
		t.Fatalf("delete: %d %s", s, body)
	}
	// Deleting removes rows only; the collector removes the blobs nothing
	// references any more (after its grace period, none here).
	if n := app.BlobCount(); n != 3 {
		t.Fatalf("delete touched the blobs: %d left", n)
	}
	if rep := app.Collect(); rep.Deleted != 1 || app.BlobCount() != 2 {
		t.Fatalf("after deleting A and collecting: %+v, %d blobs, want 2", rep, app.BlobCount())
	}
	if s, _, _ := app.Get("/api/v1/packages/" + a.PackageID); s != 404 {
		t.Fatalf("deleted package answers %d", s)
	}
	var pkg catalog.Package
	app.GetJSON("/api/v1/packages/"+b.PackageID, &pkg)
	for _, f := range pkg.Files {
		if s, _, _ := app.Get("/api/v1/packages/" + b.PackageID + "/files/" + f.ID + "/download"); s != 200 {
			t.Fatalf("B's %s no longer downloads: %d", f.Filename, s)
		}
	}
	app.Do(http.MethodDelete, "/api/v1/packages/"+b.PackageID, nil)
	if app.Collect(); app.BlobCount() != 0 {
		t.Fatalf("after deleting both and collecting: %d blobs", app.BlobCount())
	}
	if s, body := app.Do(http.MethodDelete, "/api/v1/packages/"+b.PackageID, nil); s != 404 || !strings.Contains(string(body), "NOT_FOUND") {
		t.Fatalf("second delete: %d %s", s, body)
	}
	// A young blob survives a collection with the default grace period.
	c := app.Upload([]servertest.NamedFile{{Name: "C.SRC", Data: []byte("*c\r\n")}}, nil)
	app.WaitReady(c.PackageID)
	app.Do(http.MethodDelete, "/api/v1/packages/"+c.PackageID, nil)
	if rep, err := app.Collector.Collect(t.Context()); err != nil || rep.Young != 1 || app.BlobCount() != 1 {
		t.Fatalf("grace period: %+v %v, %d blobs", rep, err, app.BlobCount())
	}
}

// TestCollectorRacesUploadsAndDeletes: packages that share a library are
// uploaded and deleted while the collector runs without a grace period; a
// blob some package still references is never lost, and in the end only
// referenced blobs remain.
func TestCollectorRacesUploadsAndDeletes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		shared := servertest.NamedFile{Name: "SHARED.LIB", Data: []byte("* a library every package ships\r\n")}
		stop := make(chan struct{})
		collected := make(chan int)
		go func() { // the collector, as fast as it can go
			n := 0
			defer func() { collected <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				app.Collect()
				n++
			}
		}()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var kept []string
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 8 {
					src := servertest.NamedFile{Name: "P.SRC", Data: fmt.Appendf(nil, "* worker %d package %d\r\n", w, i)}
					res := app.Upload([]servertest.NamedFile{src, shared}, nil)
					if i%2 == 0 { // delete every other one at once
						app.Do(http.MethodDelete, "/api/v1/packages/"+res.PackageID, nil)
						continue
					}
					mu.Lock()
					kept = append(kept, res.PackageID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(stop)
		if n := <-collected; n < 2 {
			t.Fatalf("the collector ran %d times during the uploads", n)
		}
		for _, id := range kept {
			if st := app.WaitReady(id); st.Status != string(catalog.StatusReady) {
				t.Fatalf("package %s ended %s: %s", id, st.Status, st.ErrorMessage)
			}
			var pkg catalog.Package
			app.GetJSON("/api/v1/packages/"+id, &pkg)
			for _, f := range pkg.Files {
				if s, _, body := app.Get("/api/v1/packages/" + id + "/files/" + f.ID + "/download"); s != 200 || sha(body) != f.SHA256 {
					t.Fatalf("%s of %s lost: %d", f.Filename, id, s)
				}
			}
		}
		app.Collect()
		if n := app.BlobCount(); n != len(kept)+1 {
			t.Fatalf("%d blobs remain, want %d (one per kept package and the shared library)", n, len(kept)+1)
		}
	})
}

// TestConcurrentUploads: 50 uploads at once all reach ready; none is lost.
func TestConcurrentUploads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		app := servertest.Start(t, b.Config(t))
		const n = 50
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := app.Upload([]servertest.NamedFile{
					{Name: fmt.Sprintf("P%02d.SRC", i), Data: fmt.Appendf(nil, "* package %d\r\n", i)},
					{Name: "MILL.LIB", Data: []byte("* shared\r\n")},
				}, nil)
				ids[i] = res.PackageID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if st := app.WaitReady(id); st.FileCount != 2 {
				t.Fatalf("package %s: %+v", id, st)
			}
		}
		seen := map[string]bool{}
		cursor := ""
		for {
			var page catalog.Page[catalog.Package]
			app.GetJSON("/api/v1/packages?limit=7&cursor="+cursor, &page)
			for _, p := range page.Items {
				if seen[p.ID] {
					t.Fatalf("package %s listed twice", p.ID)
				}
				seen[p.ID] = true
				if len(p.Files) != 2 || p.Status != catalog.StatusReady {
					t.Fatalf("listed package %+v", p)
				}
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != n {
			t.Fatalf("listed %d packages, want %d", len(seen), n)
		}
	})
}

// TestRestartFinishesQueuedJobs: jobs accepted by a process without
// workers are done by the next process that has them.
func TestRestartFinishesQueuedJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		cfg.Workers = 0
		first := servertest.Start(t, cfg)
		var ids []string
		for i := range 10 {
			res := first.Upload([]servertest.NamedFile{{Name: fmt.Sprintf("R%d.SRC", i), Data: fmt.Appendf(nil, "*%d\r\n", i)}}, nil)
			ids = append(ids, res.PackageID)
		}
		time.Sleep(300 * time.Millisecond)
		var st servertest.StatusBody
		first.GetJSON("/api/v1/packages/"+ids[0]+"/status", &st)
		if st.Status != "pending" {
			t.Fatalf("without workers the job ran anyway: %+v", st)
		}
		first.Stop()

		cfg.Workers = 2
		second := servertest.Start(t, cfg)
		for _, id := range ids {
			second.WaitReady(id)
		}
	})
}

// TestStoreDownRejectsCleanly: when the object store cannot be written, the
// client gets 503 and no package is recorded.
func TestStoreDownRejectsCleanly(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.BlobURL = "s3://nowhere?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true&access_key_id=x&secret_access_key=y"
	app := servertest.Start(t, cfg)
	status, body := app.PostUpload([]servertest.NamedFile{{Name: "P.SRC", Data: []byte("*")}}, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "SERVICE_UNAVAILABLE") {
		t.Fatalf("upload with store down: %d %s", status, body)
	}
	var page catalog.Page[catalog.Package]
	app.GetJSON("/api/v1/packages", &page)
	if len(page.Items) != 0 {
		t.Fatalf("a package was recorded without its blobs")
	}
	if s, _, _ := app.Get("/readyz"); s != http.StatusServiceUnavailable {
		t.Fatalf("readyz with store down: %d", s)
	}
}

// TestDatabaseDownRejectsCleanly: a database failure after the blobs are
// written answers 503 and leaves no job without its package.
func TestDatabaseDownRejectsCleanly(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	app.DB.SQL.Close()
	status, body := app.PostUpload([]servertest.NamedFile{{Name: "P.SRC", Data: []byte("*")}}, nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("upload with database down: %d %s", status, body)
	}
	if s, _, _ := app.Get("/readyz"); s != http.StatusServiceUnavailable {
		t.Fatalf("readyz with database down: %d", s)
	}
}

// TestErrorsAndDocs: every error is {message, detail, code}; the OpenAPI
// document is served and describes the routes.
func TestErrorsAndDocs(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/packages/not-a-uuid", 404, "NOT_FOUND"},
		{"GET", "/api/v1/packages/00000000-0000-0000-0000-000000000000/status", 404, "NOT_FOUND"},
		{"GET", "/api/v1/packages/00000000-0000-0000-0000-000000000000/files/00000000-0000-0000-0000-000000000000/download", 404, "NOT_FOUND"},
		{"GET", "/api/v1/packages?limit=0", 422, "VALIDATION_FAILED"},
		{"GET", "/api/v1/packages?cursor=garbage", 400, "BAD_REQUEST"},
		{"GET", "/api/v1/nothing-here", 404, "NOT_FOUND"},
		{"POST", "/api/v1/packages", 400, "BAD_REQUEST"},
	} {
		status, body := app.Do(c.method, c.path, nil)
		var e servertest.APIError
		if err := json.Unmarshal(body, &e); err != nil || status != c.status || e.Code != c.code || e.Message == "" || e.Detail == "" {
			t.Errorf("%s %s: %d %s; want %d %s", c.method, c.path, status, body, c.status, c.code)
		}
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	app.GetJSON("/api/v1/openapi.json", &doc)
	for _, p := range []string{"/api/v1/packages", "/api/v1/packages/{id}", "/api/v1/packages/{id}/status",
		"/api/v1/packages/{id}/versions", "/api/v1/packages/{id}/download", "/api/v1/packages/{id}/files/{file_id}/download"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	if !strings.Contains(string(doc.Paths["/api/v1/packages"]), "multipart/form-data") {
		t.Errorf("upload request body is not documented")
	}
	if s, _, body := app.Get("/healthz"); s != 200 || !strings.Contains(string(body), "ok") {
		t.Errorf("healthz: %d %s", s, body)
	}
	if s, _, _ := app.Get("/readyz"); s != 200 {
		t.Errorf("readyz: %d", s)
	}
	res := app.Upload([]servertest.NamedFile{{Name: "M.SRC", Data: []byte("*\r\n")}}, nil)
	app.WaitReady(res.PackageID)
	if s, _, body := app.Get("/metrics"); s != 200 || !strings.Contains(string(body), "veripost_http_requests_total") ||
		!strings.Contains(string(body), `veripost_ingest_attempts_total{result="ready"}`) {
		t.Errorf("metrics: %d", s)
	}
}

// TestMissingBlobEndsInError: when a stored original disappears before the
// job runs, retrying cannot help; the version ends in error and says why.
func TestMissingBlobEndsInError(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.Workers = 0
	first := servertest.Start(t, cfg)
	data := []byte("* will vanish\r\n")
	res := first.Upload([]servertest.NamedFile{{Name: "GONE.SRC", Data: data}}, nil)
	if err := first.Blobs.Delete(t.Context(), sha(data)); err != nil {
		t.Fatal(err)
	}
	first.Stop()

	cfg.Workers = 1
	second := servertest.Start(t, cfg)
	st := second.WaitDone(res.PackageID, time.Minute)
	if st.Status != "error" || !strings.Contains(st.ErrorMessage, "GONE.SRC") || st.ErrorDetail == "" {
		t.Fatalf("status after losing the blob: %+v", st)
	}
}

// flakyStore wraps the real store and fails the first reads, as an object
// store does while it restarts.
type flakyStore struct {
	blob.Store
	failures atomic.Int32
}

func (f *flakyStore) Open(ctx context.Context, key string) (blob.Object, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("connection refused (injected)")
	}
	return f.Store.Open(ctx, key)
}

// TestTransientFailureIsRetried: a store failure during ingestion is
// retried with backoff and the version still ends ready.
func TestTransientFailureIsRetried(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	cfg.Workers = 0
	first := servertest.Start(t, cfg)
	res := first.Upload([]servertest.NamedFile{{Name: "RETRY.SRC", Data: []byte("* retried\r\n")}}, nil)
	first.Stop()

	cfg.Workers = 1
	flaky := &flakyStore{}
	flaky.failures.Store(1)
	second := servertest.Start(t, cfg, func(app *server.App) {
		flaky.Store = app.Blobs
		app.Pipeline.Blobs = flaky
	})
	st := second.WaitDone(res.PackageID, time.Minute)
	if st.Status != "ready" || flaky.failures.Load() >= 0 {
		t.Fatalf("after a transient failure: %+v (failures left %d)", st, flaky.failures.Load())
	}
	job, err := second.Queue.Job(t.Context(), res.JobID)
	if err != nil || job.Attempt != 2 {
		t.Fatalf("job attempts: %+v %v", job, err)
	}
}

// TestDefaultLimitsAgree: the configuration's defaults are the upload
// package's defaults, so the server and the library do not drift apart.
func TestDefaultLimitsAgree(t *testing.T) {
	app := servertest.Start(t, servertest.SQLite.Config(t))
	got, want := app.Limits(), upload.DefaultLimits()
	if got.MaxRequestBytes != want.MaxRequestBytes || got.MaxFiles != want.MaxFiles || got.MaxFileBytes != want.MaxFileBytes ||
		got.MaxTotalBytes != want.MaxTotalBytes || got.MaxCompressionRatio != want.MaxCompressionRatio {
		t.Fatalf("configuration defaults %+v differ from upload.DefaultLimits() %+v", got, want)
	}
}

// failingPuts lets the first n Puts through and fails the rest.
type failingPuts struct {
	blob.Store
	allowed atomic.Int32
}

func (f *failingPuts) Put(ctx context.Context, key string, size int64, r io.Reader) error {
	if f.allowed.Add(-1) < 0 {
		return errors.New("disk full (injected)")
	}
	return f.Store.Put(ctx, key, size, r)
}

// TestFailedUploadReleasesItsBlobs: when storing fails half-way, the blobs
// already written for that upload are removed again, and nothing else.
func TestFailedUploadReleasesItsBlobs(t *testing.T) {
	cfg := servertest.SQLite.Config(t)
	puts := &failingPuts{}
	puts.allowed.Store(1000)
	app := servertest.Start(t, cfg, func(a *server.App) {
		puts.Store = a.Blobs
		a.Service.Blobs = puts
	})
	kept := app.Upload([]servertest.NamedFile{{Name: "KEEP.SRC", Data: []byte("* kept\r\n")}}, nil)
	app.WaitReady(kept.PackageID)

	puts.allowed.Store(2) // 0KEEP.LIB (shared with KEEP.SRC) and A.SRC pass, B.LIB fails
	status, body := app.PostUpload([]servertest.NamedFile{
		{Name: "A.SRC", Data: []byte("* a\r\n")}, {Name: "B.LIB", Data: []byte("* b\r\n")},
		{Name: "C.LIB", Data: []byte("* c\r\n")}, {Name: "0KEEP.LIB", Data: []byte("* kept\r\n")},
	}, nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("half-failed upload: %d %s", status, body)
	}
	// The failed upload's lease is released, so the collector takes the
	// blobs it wrote (the one it shares with the earlier package stays).
	if rep := app.Collect(); app.BlobCount() != 1 {
		t.Fatalf("%d blobs after the failed upload and a collection (%+v), want only the earlier package's 1", app.BlobCount(), rep)
	}
}
