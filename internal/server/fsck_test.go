package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/fsck"
	"github.com/veripost/veripost/internal/server/servertest"
	"github.com/veripost/veripost/internal/testenv"
)

// TestFsck: a consistent store passes; then an original is deleted,
// another overwritten with other bytes of the same size, an orphan is
// stored, a version is marked as indexed by an older analysis and another
// is left stuck without a job. fsck finds each; --repair queues the two
// versions again and removes the orphan; what cannot be repaired stays.
func TestFsck(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		cfg := b.Config(t)
		app := servertest.Start(t, cfg)
		ctx := context.Background()
		var ids []string
		for _, p := range pkgs[:3] {
			res := app.Upload(servertest.CorpusFiles(p), nil)
			app.WaitReady(res.PackageID)
			ids = append(ids, res.PackageID)
		}
		lost := app.Upload([]servertest.NamedFile{{Name: "LOST.SRC", Data: []byte("* lost\r\n")}}, nil)
		damaged := app.Upload([]servertest.NamedFile{{Name: "DAMAGED.SRC", Data: []byte("* damaged\r\n")}}, nil)
		app.WaitReady(lost.PackageID)
		app.WaitReady(damaged.PackageID)

		checker := app.Fsck(false)
		rep, err := checker.Check(ctx)
		if err != nil || !rep.OK() || rep.Files == 0 || rep.Blobs != rep.Contents || rep.Versions != 5 {
			t.Fatalf("consistent store: %v %+v", err, rep)
		}

		if err := app.Blobs.Delete(ctx, sha([]byte("* lost\r\n"))); err != nil {
			t.Fatal(err)
		}
		overwrite(t, app, cfg.BlobURL, sha([]byte("* damaged\r\n")), []byte("* DAMAGED\r\n"))
		orphan := []byte("* nobody uses me\r\n")
		if err := app.Blobs.Put(ctx, sha(orphan), int64(len(orphan)), bytes.NewReader(orphan)); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB.SQL.ExecContext(ctx, `UPDATE package_versions SET parser_version = 'older' WHERE package_id = $1`, ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB.SQL.ExecContext(ctx, `UPDATE package_versions SET status = 'parsing', job_id = 0, updated_at = $2 WHERE package_id = $1`,
			ids[1], time.Now().Add(-time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		// Search entries nothing uses, as a reindex racing a deletion can
		// leave them: a document of a content no file holds, and a file
		// set no version points at.
		app.WaitSearchable(ids[2])
		gone := strings.Repeat("f", 64)
		if _, err := app.DB.SQL.ExecContext(ctx, `INSERT INTO search_docs (sha256, index_version, kind, line_count, bytes, vector, signature, created_at)
			SELECT $1, index_version, kind, line_count, bytes, vector, signature, created_at FROM search_docs LIMIT 1`, gone); err != nil {
			t.Fatal(err)
		}
		leftOver := `INSERT INTO search_filesets (key, index_version, signature, embedding)
			SELECT 'left over', index_version, signature, embedding FROM search_filesets LIMIT 1`
		if b.Name != servertest.SQLite.Name { // PostgreSQL keeps a file set's bands on its row (00158)
			leftOver = `INSERT INTO search_filesets (key, index_version, signature, embedding, bands)
			SELECT 'left over', index_version, signature, embedding, bands FROM search_filesets LIMIT 1`
		}
		if _, err := app.DB.SQL.ExecContext(ctx, leftOver); err != nil {
			t.Fatal(err)
		}
		checker.Grace = time.Nanosecond
		rep, err = checker.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{fsck.MissingBlob: 1, fsck.HashMismatch: 1, fsck.Orphan: 1, fsck.NotIndexed: 1, fsck.Stuck: 1, fsck.UnusedSearchEntry: 2}
		for kind, n := range want {
			if rep.Count(kind) != n {
				t.Errorf("%s: found %d, want %d (%+v)", kind, rep.Count(kind), n, rep.Problems)
			}
		}
		if len(rep.Problems) != 7 {
			t.Errorf("%d problems, want 7: %+v", len(rep.Problems), rep.Problems)
		}
		app.Collector.Grace = time.Nanosecond
		if err := checker.Repair(ctx, rep, app.FsckRepairer()); err != nil || len(rep.Repaired) != 3 {
			t.Fatalf("repair: %v %v", err, rep.Repaired)
		}
		app.WaitReady(ids[0])
		app.WaitReady(ids[1])
		rep, err = checker.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Problems) != 2 || rep.Count(fsck.MissingBlob) != 1 || rep.Count(fsck.HashMismatch) != 1 {
			t.Fatalf("after the repair, only the lost and the damaged original should remain: %+v", rep.Problems)
		}
		if !strings.Contains(rep.Problems[0].Fix, "backup") {
			t.Errorf("the fix of a lost original does not point at the backup: %q", rep.Problems[0].Fix)
		}
	})
}

// overwrite replaces a stored original's bytes behind the store's back.
func overwrite(t *testing.T, app *servertest.App, blobURL, key string, data []byte) {
	t.Helper()
	if blobURL == "" {
		path := filepath.Join(app.Config.DataDir, "blobs", filepath.FromSlash(blob.ObjectPath(key)))
		if err := os.WriteFile(path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		return
	}
	s3cfg := testenv.S3Config{Endpoint: os.Getenv(testenv.EnvS3Endpoint), AccessKey: os.Getenv(testenv.EnvS3AccessKey),
		SecretKey: os.Getenv(testenv.EnvS3SecretKey), Region: "us-east-1"}
	bucket := strings.TrimPrefix(blobURL[:strings.Index(blobURL, "?")], "s3://")
	if _, err := s3cfg.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(blob.ObjectPath(key)),
		Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}
