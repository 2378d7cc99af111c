package server_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/veripost/veripost/internal/backup"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/store"
	"github.com/veripost/veripost/internal/testenv"
)

// TestBackupRestore takes a snapshot of a running embedded deployment
// while uploads continue, restores it into an empty data folder, and
// compares every package, version and file (byte for byte) of the restored
// deployment with the original; fsck finds nothing wrong in it.
func TestBackupRestore(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	cfg := servertest.SQLite.Config(t)
	app := servertest.Start(t, cfg)
	var before []string
	for i, p := range pkgs {
		res := app.Upload(servertest.CorpusFiles(p), nil)
		if i == 0 { // a second version too
			files := append(servertest.CorpusFiles(p), servertest.NamedFile{Name: "EXTRA.LIB", Data: []byte("* v2\r\n")})
			app.Upload(files, map[string]string{"package_id": res.PackageID})
		}
		app.WaitReady(res.PackageID)
		before = append(before, res.PackageID)
	}
	// Uploads go on during the backup.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			app.Upload([]servertest.NamedFile{{Name: "DURING.SRC", Data: fmt.Appendf(nil, "* during %d\r\n", i)}}, nil)
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup")
	m, err := app.Snapshotter().Snapshot(context.Background(), dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Packages < len(before) || m.Files == 0 || m.Contents == 0 || m.DatabaseSHA256 == "" {
		t.Fatalf("manifest %+v", m)
	}

	restoredCfg := servertest.SQLite.Config(t)
	dst, err := blob.Open(context.Background(), restoredCfg.Blob())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(context.Background(), dest, filepath.Join(restoredCfg.DataDir, "veripost.db"), dst, store.Snapshots{}, nil); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	// Restoring again into the now full folder is refused.
	if _, err := backup.Restore(context.Background(), dest, filepath.Join(restoredCfg.DataDir, "veripost.db"), app.Blobs, store.Snapshots{}, nil); err == nil {
		t.Fatal("a restore over an existing database was accepted")
	}
	restored := servertest.Start(t, restoredCfg)

	var page catalog.Page[catalog.Package]
	restored.GetJSON("/api/v1/packages?limit=200", &page)
	if len(page.Items) != m.Packages {
		t.Fatalf("restored %d packages, the manifest says %d", len(page.Items), m.Packages)
	}
	got := map[string]bool{}
	files := 0
	for _, p := range page.Items {
		got[p.ID] = true
		var orig catalog.Package
		app.GetJSON("/api/v1/packages/"+p.ID, &orig)
		if orig.Name != p.Name || orig.LatestVersion != p.LatestVersion || len(orig.Files) != len(p.Files) {
			t.Errorf("package %s: restored %q v%d with %d files, original %q v%d with %d", p.ID, p.Name, p.LatestVersion, len(p.Files), orig.Name, orig.LatestVersion, len(orig.Files))
		}
		for n := 1; n <= p.LatestVersion; n++ {
			var rv, ov struct {
				catalog.Version
				Files []catalog.File `json:"files"`
			}
			restored.GetJSON(fmt.Sprintf("/api/v1/packages/%s/versions/%d", p.ID, n), &rv)
			app.GetJSON(fmt.Sprintf("/api/v1/packages/%s/versions/%d", p.ID, n), &ov)
			if rv.ContentKey != ov.ContentKey || len(rv.Files) != len(ov.Files) {
				t.Errorf("%s v%d differs after the restore", p.ID, n)
			}
			for _, f := range rv.Files {
				files++
				_, _, a := restored.Get(fmt.Sprintf("/api/v1/packages/%s/files/%s/download", p.ID, f.ID))
				_, _, b := app.Get(fmt.Sprintf("/api/v1/packages/%s/files/%s/download", p.ID, f.ID))
				if sha(a) != f.SHA256 || sha(b) != f.SHA256 {
					t.Errorf("%s of %s v%d: restored bytes differ", f.Filename, p.ID, n)
				}
			}
		}
	}
	if files != m.Files {
		t.Errorf("compared %d files, the manifest says %d", files, m.Files)
	}
	for _, id := range before {
		if !got[id] {
			t.Errorf("package %s, uploaded before the backup, is not in it", id)
		}
		restored.WaitReady(id)
	}
	rep, err := restored.Fsck(false).Check(context.Background())
	if err != nil || rep.Count("missing_blob")+rep.Count("hash_mismatch")+rep.Count("orphan_blob") > 0 {
		t.Fatalf("fsck of the restored deployment: %v %+v", err, rep.Problems)
	}

	// An export writes the same packages as JSON lines, with their originals.
	exp := filepath.Join(t.TempDir(), "export")
	em, err := backup.Export(context.Background(), exp, restored.DB, restored.Blobs, "test", nil)
	if err != nil || em.Packages != m.Packages || em.Files != m.Files || em.Contents != m.Contents {
		t.Fatalf("export: %v %+v (snapshot %+v)", err, em, m)
	}
	f, err := os.Open(filepath.Join(exp, backup.ExportFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	lines := 0
	for sc.Scan() {
		var p backup.ExportedPackage
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || len(p.Versions) != p.LatestVersion {
			t.Fatalf("export line %d: %v", lines+1, err)
		}
		lines++
	}
	if lines != m.Packages {
		t.Fatalf("%d export lines, want %d", lines, m.Packages)
	}
}

// TestExportToBucket exports a scaled deployment (PostgreSQL + S3) into an
// empty S3 bucket: packages.jsonl and manifest.json beside every original,
// each readable and matching its SHA-256, in VeriPost's own layout (the
// bucket can serve as a restored deployment's object store). A second
// export into the same bucket is refused.
func TestExportToBucket(t *testing.T) {
	app := servertest.Start(t, servertest.Postgres.Config(t))
	var files int
	for i := range 3 {
		res := app.Upload([]servertest.NamedFile{
			{Name: fmt.Sprintf("P%d.SRC", i), Data: fmt.Appendf(nil, "* package %d\r\n:LIBRARY=.\\SHARED.LIB\r\n", i)},
			{Name: "SHARED.LIB", Data: []byte("* shared by all\r\n")},
		}, nil)
		app.WaitReady(res.PackageID)
		files += 2
	}
	dest := testenv.S3(t).URL
	m, err := backup.Export(context.Background(), dest, app.DB, app.Blobs, "test", nil)
	if err != nil || m.Packages != 3 || m.Files != files || m.Contents != 4 {
		t.Fatalf("export into a bucket: %v %+v", err, m)
	}
	st, err := blob.Open(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	side := st.(blob.SideFiles)
	man, err := side.ReadSide(context.Background(), backup.ManifestFile)
	if err != nil || !strings.Contains(string(man), `"packages": 3`) {
		t.Fatalf("manifest in the bucket: %v %s", err, man)
	}
	lines, err := side.ReadSide(context.Background(), backup.ExportFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
		var p backup.ExportedPackage
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("export line: %v", err)
		}
		for _, v := range p.Versions {
			for _, f := range v.Files {
				data, err := blob.ReadAll(context.Background(), st, f.SHA256, f.Size)
				if err != nil {
					t.Fatalf("%s of %s in the bucket: %v", f.Filename, p.Name, err)
				}
				if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
					t.Fatalf("%s of %s does not match its SHA-256", f.Filename, p.Name)
				}
				seen++
			}
		}
	}
	if seen != files {
		t.Fatalf("checked %d files in the bucket, want %d", seen, files)
	}
	if _, err := backup.Export(context.Background(), dest, app.DB, app.Blobs, "test", nil); err == nil || !strings.Contains(err.Error(), "already holds files") {
		t.Fatalf("a second export into the same bucket: %v", err)
	}
}
