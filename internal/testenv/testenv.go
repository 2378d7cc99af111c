// Package testenv gives tests the things outside the package under test: the
// repository root, the shared corpus of real UPG post-processor packages, a
// fresh PostgreSQL database, a fresh S3 bucket and a Chromium binary.
//
// The services come from the environment that scripts/test.sh (or
// scripts/services.sh for a hand-run `go test`) sets up:
//
//	VERIPOST_TEST_DATABASE_URL   postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
//	VERIPOST_TEST_S3_ENDPOINT    http://127.0.0.1:PORT
//	VERIPOST_TEST_S3_ACCESS_KEY, VERIPOST_TEST_S3_SECRET_KEY, VERIPOST_TEST_S3_REGION
//	VERIPOST_TEST_CHROMIUM       /usr/bin/chromium
//	VERIPOST_REQUIRE_SERVICES=1  a missing service fails the test instead of skipping it
//
// It is a normal package so that any test can import it, but only tests should.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"
)

// Environment variable names read by this package.
const (
	EnvRequireServices = "VERIPOST_REQUIRE_SERVICES"
	EnvDatabaseURL     = "VERIPOST_TEST_DATABASE_URL"
	EnvS3Endpoint      = "VERIPOST_TEST_S3_ENDPOINT"
	EnvS3AccessKey     = "VERIPOST_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey     = "VERIPOST_TEST_S3_SECRET_KEY"
	EnvS3Region        = "VERIPOST_TEST_S3_REGION"
	EnvChromium        = "VERIPOST_TEST_CHROMIUM"
	// EnvPGVector is "1" when the test PostgreSQL server has the pgvector
	// extension available, "0" when the test script found it is not.
	EnvPGVector = "VERIPOST_TEST_PGVECTOR"
)

const modulePath = "github.com/veripost/veripost"

// RequireServices reports whether missing services must fail tests
// (VERIPOST_REQUIRE_SERVICES=1, as in CI) instead of skipping them.
func RequireServices() bool { return os.Getenv(EnvRequireServices) == "1" }

// missing fails or skips t, loudly, because a service is not configured.
func missing(t testing.TB, what, env string) {
	t.Helper()
	if RequireServices() {
		t.Fatalf("%s is required (%s=1) but %s is not set; run the tests with scripts/test.sh", what, EnvRequireServices, env)
	}
	t.Skipf("SKIPPING: %s not available (%s is not set) — this test did NOT run. "+
		"Run scripts/test.sh, or scripts/services.sh and export what it prints.", what, env)
}

// RepoRoot returns the repository root: the nearest directory above the
// working directory whose go.mod declares the VeriPost module.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module "+modulePath+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testenv: no go.mod for %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// LookupCorpus returns where the shared corpus of real post-processor
// packages is (../shared/corpus beside the repository) and whether it is
// there, for tests that can run without it (fuzz targets seed from it).
func LookupCorpus(t testing.TB) (string, bool) {
	t.Helper()
	dir := filepath.Clean(filepath.Join(RepoRoot(t), "..", "shared", "corpus"))
	fi, err := os.Stat(dir)
	return dir, err == nil && fi.IsDir()
}

// CorpusDir returns the shared corpus directory. When it is absent the test
// is skipped with a loud message.
func CorpusDir(t testing.TB) string {
	t.Helper()
	dir, ok := LookupCorpus(t)
	if !ok {
		t.Skipf("!!!!! SKIPPING: shared corpus not found at %s — corpus tests did NOT run !!!!!", dir)
	}
	return dir
}

// CorpusFile is one file of a corpus package.
type CorpusFile struct {
	Name string
	Data []byte
}

// CorpusPackage is one post-processor package of the corpus (one sub-folder).
type CorpusPackage struct {
	Name  string
	Files []CorpusFile
}

// CorpusPackages reads every package of the shared corpus, sorted by name,
// each with its files sorted by name. README.md files are left out.
func CorpusPackages(t testing.TB) []CorpusPackage {
	t.Helper()
	dir := CorpusDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("testenv: read corpus: %v", err)
	}
	var pkgs []CorpusPackage
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pkg := CorpusPackage{Name: e.Name()}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("testenv: read corpus package %s: %v", e.Name(), err)
		}
		for _, f := range files {
			if !f.Type().IsRegular() || strings.EqualFold(f.Name(), "README.md") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name(), f.Name()))
			if err != nil {
				t.Fatalf("testenv: read corpus file: %v", err)
			}
			pkg.Files = append(pkg.Files, CorpusFile{Name: f.Name(), Data: data})
		}
		sort.Slice(pkg.Files, func(i, j int) bool { return pkg.Files[i].Name < pkg.Files[j].Name })
		pkgs = append(pkgs, pkg)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	if len(pkgs) == 0 {
		t.Fatalf("testenv: shared corpus at %s has no packages", dir)
	}
	return pkgs
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// PostgresURL creates a fresh, empty database on the test server and returns
// its URL. The database is dropped (WITH (FORCE), so leftover connections do
// not block it) when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDatabaseURL)
	if admin == "" {
		missing(t, "PostgreSQL", EnvDatabaseURL)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: %s: %v", EnvDatabaseURL, err)
	}
	name := "vp_" + randomSuffix(t)

	run := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testenv: create database %s on %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() {
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// S3Config describes a fresh bucket on the test S3 server.
type S3Config struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Bucket    string
	// URL opens the bucket with blob.Open: s3://Bucket?endpoint=...&region=...
	// &use_path_style=true&access_key_id=...&secret_access_key=...
	URL string
}

// Client returns an S3 client for the test server, e.g. to look at the
// bucket behind a blob.Store.
func (c S3Config) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       c.Region,
		BaseEndpoint: aws.String(c.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""),
		// Only what the server requires: S3-compatible servers differ in
		// their support of the newer flexible checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// S3 creates a fresh bucket on the test S3 server; it is emptied and deleted
// when the test ends.
func S3(t testing.TB) S3Config {
	t.Helper()
	cfg := S3Config{
		Endpoint:  os.Getenv(EnvS3Endpoint),
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
		Region:    os.Getenv(EnvS3Region),
		Bucket:    "vp-" + randomSuffix(t),
	}
	if cfg.Endpoint == "" {
		missing(t, "S3 object storage", EnvS3Endpoint)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		missing(t, "S3 credentials", EnvS3AccessKey+"/"+EnvS3SecretKey)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	q := url.Values{}
	q.Set("endpoint", cfg.Endpoint)
	q.Set("region", cfg.Region)
	q.Set("use_path_style", "true")
	q.Set("access_key_id", cfg.AccessKey)
	q.Set("secret_access_key", cfg.SecretKey)
	cfg.URL = "s3://" + cfg.Bucket + "?" + q.Encode()

	client := cfg.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		t.Fatalf("testenv: create bucket %s at %s: %v", cfg.Bucket, cfg.Endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		if err := deleteBucket(ctx, client, cfg.Bucket); err != nil {
			t.Errorf("testenv: delete bucket %s: %v", cfg.Bucket, err)
		}
	})
	return cfg
}

func deleteBucket(ctx context.Context, client *s3.Client, bucket string) error {
	var errs []error
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, obj := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: obj.Key}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if ups, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}); err == nil {
		for _, up := range ups.Uploads {
			_, _ = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: up.Key, UploadId: up.UploadId})
		}
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Chromium returns the path of a Chromium binary for UI tests:
// VERIPOST_TEST_CHROMIUM, else chromium found on PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("testenv: %s=%s: %v", EnvChromium, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "Chromium", EnvChromium)
	return ""
}
