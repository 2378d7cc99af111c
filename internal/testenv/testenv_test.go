package testenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/veripost/veripost/internal/testenv"
)

func TestRepoRoot(t *testing.T) {
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv")); err != nil {
		t.Fatalf("RepoRoot %s is not the VeriPost repository: %v", root, err)
	}
}

func TestCorpusPackages(t *testing.T) {
	pkgs := testenv.CorpusPackages(t)
	for _, p := range pkgs {
		if len(p.Files) == 0 {
			t.Errorf("corpus package %s has no files", p.Name)
		}
		for _, f := range p.Files {
			if strings.EqualFold(f.Name, "README.md") {
				t.Errorf("corpus package %s lists its README", p.Name)
			}
			if len(f.Data) == 0 {
				t.Errorf("corpus file %s/%s is empty", p.Name, f.Name)
			}
		}
	}
	t.Logf("%d corpus packages", len(pkgs))
}

func TestPostgresURL(t *testing.T) {
	ctx := context.Background()
	var dbName string
	t.Run("fresh database", func(t *testing.T) {
		u1 := testenv.PostgresURL(t)
		u2 := testenv.PostgresURL(t)
		if u1 == u2 {
			t.Fatalf("two calls gave the same database %s", u1)
		}
		conn, err := pgx.Connect(ctx, u1)
		if err != nil {
			t.Fatalf("connect %s: %v", u1, err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(dbName, "vp_") {
			t.Errorf("database %q", dbName)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
			t.Errorf("fresh database has %d tables (%v)", n, err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
			t.Fatal(err)
		}
		if os.Getenv(testenv.EnvPGVector) == "1" {
			if _, err := conn.Exec(ctx, "CREATE EXTENSION vector"); err != nil {
				t.Errorf("VERIPOST_TEST_PGVECTOR=1 but CREATE EXTENSION vector failed: %v", err)
			}
		}
		// The connection stays open: cleanup must drop the database anyway.
	})
	if dbName == "" {
		return
	}
	conn, err := pgx.Connect(ctx, os.Getenv(testenv.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbName).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s still exists after the test (%d, %v)", dbName, n, err)
	}
}

func TestS3(t *testing.T) {
	ctx := context.Background()
	var cfg testenv.S3Config
	t.Run("fresh bucket", func(t *testing.T) {
		cfg = testenv.S3(t)
		if !strings.Contains(cfg.URL, "s3://"+cfg.Bucket+"?") {
			t.Errorf("URL %q does not name bucket %q", cfg.URL, cfg.Bucket)
		}
		c := cfg.Client()
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket)})
		if err != nil {
			t.Fatalf("list new bucket: %v", err)
		}
		if len(out.Contents) != 0 {
			t.Errorf("new bucket holds %d objects", len(out.Contents))
		}
		// Leave an object behind: cleanup must empty the bucket to delete it.
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(cfg.Bucket), Key: aws.String("a/b"), Body: strings.NewReader("x"),
		}); err != nil {
			t.Fatalf("put: %v", err)
		}
	})
	if cfg.Bucket == "" {
		return
	}
	if _, err := cfg.Client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err == nil {
		t.Errorf("bucket %s still exists after the test", cfg.Bucket)
	}
}

func TestChromium(t *testing.T) {
	p := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", p, err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
