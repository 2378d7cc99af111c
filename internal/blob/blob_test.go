package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/testenv"
)

// backend is one store under test plus a way to see everything it holds,
// independently of the Store API.
type backend struct {
	name string
	// open returns a URL for a fresh, empty store and a function listing
	// every file / object kept for it (including temporary ones).
	open func(t *testing.T) (url string, list func(t *testing.T) []string)
}

var backends = []backend{
	{name: "file", open: func(t *testing.T) (string, func(*testing.T) []string) {
		dir := filepath.Join(t.TempDir(), "store") // does not exist yet: Open creates it
		list := func(t *testing.T) []string {
			var files []string
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					files = append(files, filepath.ToSlash(rel))
				}
				return nil
			})
			if err != nil {
				t.Fatalf("walk %s: %v", dir, err)
			}
			return files
		}
		return "file://" + filepath.ToSlash(dir), list
	}},
	{name: "s3", open: func(t *testing.T) (string, func(*testing.T) []string) {
		cfg := testenv.S3(t)
		client := cfg.Client()
		list := func(t *testing.T) []string {
			ctx := context.Background()
			var keys []string
			p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("list bucket: %v", err)
				}
				for _, o := range page.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
			}
			return keys
		}
		return cfg.URL, list
	}},
}

func keyOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func openStore(t *testing.T, url string) blob.Store {
	t.Helper()
	s, err := blob.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// failingReader must never be read.
type failingReader struct{ t *testing.T }

func (f failingReader) Read([]byte) (int, error) {
	f.t.Error("Put read the source although the key is already stored")
	return 0, errors.New("must not be read")
}

// brokenReader yields n good bytes, then an error.
type brokenReader struct {
	data []byte
	err  error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestStore(t *testing.T) {
	small := []byte("G-code post-processor test content\n" + strings.Repeat("N10 G01 X1 Y2\n", 100))
	other := bytes.ToUpper(small) // same size, different hash
	large := randomBytes(12<<20+12345, 1)

	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()

			t.Run("PutOpenServeContent", func(t *testing.T) {
				t.Parallel()
				url, list := be.open(t)
				s := openStore(t, url)
				for _, tc := range []struct {
					name string
					data []byte
				}{
					{"empty", nil},
					{"small", small},
					{"large", large},
				} {
					t.Run(tc.name, func(t *testing.T) {
						key := keyOf(tc.data)
						if err := s.Put(ctx, key, int64(len(tc.data)), bytes.NewReader(tc.data)); err != nil {
							t.Fatalf("Put: %v", err)
						}
						ok, err := s.Exists(ctx, key)
						if err != nil || !ok {
							t.Fatalf("Exists = %v, %v; want true", ok, err)
						}
						obj, err := s.Open(ctx, key)
						if err != nil {
							t.Fatalf("Open: %v", err)
						}
						defer obj.Close()
						if obj.Size() != int64(len(tc.data)) {
							t.Errorf("Size = %d, want %d", obj.Size(), len(tc.data))
						}
						if obj.ModTime().IsZero() || time.Since(obj.ModTime()) > time.Hour {
							t.Errorf("ModTime = %v, want about now", obj.ModTime())
						}
						got, err := io.ReadAll(obj)
						if err != nil {
							t.Fatalf("ReadAll: %v", err)
						}
						if !bytes.Equal(got, tc.data) {
							t.Fatalf("read %d bytes, differ from the %d put", len(got), len(tc.data))
						}
						if len(tc.data) < 100 {
							return
						}
						// Range requests through http.ServeContent, on a fresh
						// object per request as a handler would do.
						for _, rg := range []struct {
							header     string
							start, end int // inclusive
						}{
							{"bytes=10-19", 10, 19},
							{"bytes=-7", len(tc.data) - 7, len(tc.data) - 1},
							{"bytes=50-", 50, len(tc.data) - 1},
						} {
							obj, err := s.Open(ctx, key)
							if err != nil {
								t.Fatalf("Open: %v", err)
							}
							req := httptest.NewRequest(http.MethodGet, "/file", nil)
							req.Header.Set("Range", rg.header)
							rec := httptest.NewRecorder()
							http.ServeContent(rec, req, "file.bin", obj.ModTime(), obj)
							obj.Close()
							if rec.Code != http.StatusPartialContent {
								t.Fatalf("Range %s: status %d, want 206", rg.header, rec.Code)
							}
							if want := tc.data[rg.start : rg.end+1]; !bytes.Equal(rec.Body.Bytes(), want) {
								t.Errorf("Range %s: got %d bytes, want %d matching bytes", rg.header, rec.Body.Len(), len(want))
							}
						}
						// Seek on one object back and forth.
						if _, err := obj.Seek(5, io.SeekStart); err != nil {
							t.Fatalf("Seek: %v", err)
						}
						buf := make([]byte, 8)
						if _, err := io.ReadFull(obj, buf); err != nil || !bytes.Equal(buf, tc.data[5:13]) {
							t.Errorf("read after Seek: %q, %v", buf, err)
						}
					})
				}
				// Objects are stored under the fan-out layout, nothing else.
				objects := list(t)
				for _, o := range objects {
					base := o[strings.LastIndex(o, "/")+1:]
					base = strings.TrimSuffix(base, ".attrs") // fileblob's metadata sidecar
					if blob.ValidKey(base) && strings.HasSuffix(strings.TrimSuffix(o, ".attrs"), blob.ObjectPath(base)) {
						continue
					}
					t.Errorf("unexpected object %q", o)
				}
			})

			t.Run("Dedupe", func(t *testing.T) {
				t.Parallel()
				url, list := be.open(t)
				s := openStore(t, url)
				key := keyOf(small)
				if err := s.Put(ctx, key, int64(len(small)), bytes.NewReader(small)); err != nil {
					t.Fatalf("first Put: %v", err)
				}
				before := list(t)
				if err := s.Put(ctx, key, int64(len(small)), failingReader{t}); err != nil {
					t.Fatalf("second Put: %v", err)
				}
				if after := list(t); strings.Join(after, ",") != strings.Join(before, ",") {
					t.Errorf("objects changed by a duplicate Put: %v -> %v", before, after)
				}
				// Concurrent Puts of the same content all succeed.
				key2 := keyOf(other)
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = s.Put(ctx, key2, int64(len(other)), bytes.NewReader(other))
					}()
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("concurrent Put %d: %v", i, err)
					}
				}
				obj, err := s.Open(ctx, key2)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer obj.Close()
				if got, _ := io.ReadAll(obj); !bytes.Equal(got, other) {
					t.Error("content after concurrent Puts differs")
				}
			})

			t.Run("RejectedWritesLeaveNothing", func(t *testing.T) {
				t.Parallel()
				url, list := be.open(t)
				s := openStore(t, url)
				largeOther := bytes.Clone(large)
				largeOther[len(largeOther)-1] ^= 0xff
				for _, tc := range []struct {
					name string
					key  string
					size int64
					r    io.Reader
					want error
				}{
					{"hash mismatch", keyOf(small), int64(len(other)), bytes.NewReader(other), blob.ErrHashMismatch},
					{"hash mismatch large", keyOf(large), int64(len(largeOther)), bytes.NewReader(largeOther), blob.ErrHashMismatch},
					{"too short", keyOf(small), int64(len(small)) + 1, bytes.NewReader(small), blob.ErrSizeMismatch},
					{"too long", keyOf(small), int64(len(small)) - 1, bytes.NewReader(small), blob.ErrSizeMismatch},
					{"too long large", keyOf(large), int64(len(large)) - 1, bytes.NewReader(large), blob.ErrSizeMismatch},
					{"negative size", keyOf(small), -1, bytes.NewReader(small), blob.ErrSizeMismatch},
					{"source fails", keyOf(small), int64(len(small)), &brokenReader{data: small[:100], err: io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF},
				} {
					t.Run(tc.name, func(t *testing.T) {
						err := s.Put(ctx, tc.key, tc.size, tc.r)
						if !errors.Is(err, tc.want) {
							t.Fatalf("Put error = %v, want %v", err, tc.want)
						}
						if ok, err := s.Exists(ctx, tc.key); err != nil || ok {
							t.Errorf("Exists after rejected Put = %v, %v; want false", ok, err)
						}
						if _, err := s.Open(ctx, tc.key); !errors.Is(err, blob.ErrNotFound) {
							t.Errorf("Open after rejected Put: %v, want ErrNotFound", err)
						}
						if left := list(t); len(left) > 0 {
							t.Errorf("rejected Put left %v behind", left)
						}
					})
				}
			})

			t.Run("DeleteAndMissing", func(t *testing.T) {
				t.Parallel()
				url, list := be.open(t)
				s := openStore(t, url)
				key := keyOf(small)
				if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("Open missing: %v, want ErrNotFound", err)
				}
				if ok, err := s.Exists(ctx, key); err != nil || ok {
					t.Fatalf("Exists missing = %v, %v", ok, err)
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Fatalf("Delete missing: %v", err)
				}
				if err := s.Put(ctx, key, int64(len(small)), bytes.NewReader(small)); err != nil {
					t.Fatalf("Put: %v", err)
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				if ok, err := s.Exists(ctx, key); err != nil || ok {
					t.Fatalf("Exists after Delete = %v, %v", ok, err)
				}
				if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
				}
				if left := list(t); len(left) > 0 {
					t.Errorf("Delete left %v behind", left)
				}
				// Put again after Delete stores it again.
				if err := s.Put(ctx, key, int64(len(small)), bytes.NewReader(small)); err != nil {
					t.Fatalf("Put after Delete: %v", err)
				}
				if ok, _ := s.Exists(ctx, key); !ok {
					t.Fatal("Put after Delete did not store")
				}
			})

			t.Run("InvalidKeys", func(t *testing.T) {
				t.Parallel()
				url, list := be.open(t)
				s := openStore(t, url)
				valid := keyOf(small)
				for _, key := range []string{
					"",
					"abc",
					strings.ToUpper(valid),
					valid[:63],
					valid + "0",
					valid[:62] + "/x",
					"../../../../../../../../../../../../../../../../../../../../etc/pw",
					strings.Repeat("g", 64),
					"sha256/" + valid[:57],
					valid[:63] + "\n",
				} {
					if err := s.Put(ctx, key, int64(len(small)), bytes.NewReader(small)); !errors.Is(err, blob.ErrInvalidKey) {
						t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
					}
					if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
						t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
					}
					if _, err := s.Exists(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
						t.Errorf("Exists(%q) = %v, want ErrInvalidKey", key, err)
					}
					if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
						t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
					}
				}
				if left := list(t); len(left) > 0 {
					t.Errorf("invalid keys left %v behind", left)
				}
			})

			t.Run("Ping", func(t *testing.T) {
				t.Parallel()
				url, _ := be.open(t)
				s := openStore(t, url)
				if err := s.Ping(ctx); err != nil {
					t.Fatalf("Ping: %v", err)
				}
			})
		})
	}
}

func TestPingFailures(t *testing.T) {
	ctx := context.Background()

	t.Run("file dir removed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		s := openStore(t, "file://"+dir)
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err == nil {
			t.Fatal("Ping of a removed directory succeeded")
		}
	})

	t.Run("s3 dead endpoint", func(t *testing.T) {
		// A loopback port that nothing listens on.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := openStore(t, "s3://bucket?endpoint=http://"+addr+"&region=us-east-1&access_key_id=a&secret_access_key=b")
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.Ping(cctx); err == nil {
			t.Fatal("Ping of a dead endpoint succeeded")
		} else {
			t.Logf("Ping error (%v): %v", time.Since(start).Round(time.Millisecond), err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Ping of a dead endpoint took %v; a readiness probe should fail fast", d)
		}
	})

	t.Run("s3 missing bucket", func(t *testing.T) {
		cfg := testenv.S3(t)
		s := openStore(t, strings.Replace(cfg.URL, cfg.Bucket, cfg.Bucket+"-missing", 1))
		if err := s.Ping(ctx); err == nil {
			t.Fatal("Ping of a missing bucket succeeded")
		}
	})

	t.Run("s3 wrong secret", func(t *testing.T) {
		cfg := testenv.S3(t)
		s := openStore(t, strings.Replace(cfg.URL, "secret_access_key="+cfg.SecretKey, "secret_access_key=wrong", 1))
		if err := s.Ping(ctx); err == nil {
			t.Fatal("Ping with a wrong secret succeeded: the S3 server does not check signatures")
		}
		key := keyOf([]byte("x"))
		if err := s.Put(ctx, key, 1, strings.NewReader("x")); err == nil {
			t.Fatal("Put with a wrong secret succeeded")
		}
	})
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url     string
		wantErr bool
	}{
		{"file://" + filepath.ToSlash(t.TempDir()) + "/a/b", false},
		{"file://relative/dir", true},
		{"file:///abs?create_dir=1", true},
		{"gs://bucket", true},
		{"not a url\x7f", true},
		{"s3://?region=us-east-1", true},
		{"s3://bucket?access_key_id=only", true},
		{"s3://bucket?use_path_style=maybe", true},
		{"s3://bucket?no_such_param=1", true},
		{"s3://bucket?endpoint=http://127.0.0.1:1&access_key_id=a&secret_access_key=b", false},
		{"s3://bucket/some/prefix?endpoint=http://127.0.0.1:1&region=eu-west-1&use_path_style=true&disable_https=true&access_key_id=a&secret_access_key=b", false},
		{"s3://bucket/../x?endpoint=http://127.0.0.1:1&access_key_id=a&secret_access_key=b", true},
	} {
		s, err := blob.Open(ctx, tc.url)
		if (err != nil) != tc.wantErr {
			t.Errorf("Open(%q) error = %v, wantErr %v", tc.url, err, tc.wantErr)
		}
		if s != nil {
			s.Close()
		}
	}
}

func TestS3Prefix(t *testing.T) {
	cfg := testenv.S3(t)
	ctx := context.Background()
	s := openStore(t, strings.Replace(cfg.URL, cfg.Bucket+"?", cfg.Bucket+"/tenant/a?", 1))
	data := []byte("prefixed")
	key := keyOf(data)
	if err := s.Put(ctx, key, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	head, err := cfg.Client().HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(cfg.Bucket), Key: aws.String("tenant/a/" + blob.ObjectPath(key)),
	})
	if err != nil {
		t.Fatalf("object not under the prefix: %v", err)
	}
	// Put's read-back check compares this MD5 ETag when the server gives one.
	sum := md5.Sum(data)
	if etag := aws.ToString(head.ETag); etag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Logf("server ETag %s is not the MD5; Put verifies the stored size only", etag)
	}
}

func TestValidKey(t *testing.T) {
	valid := keyOf(nil)
	if !blob.ValidKey(valid) {
		t.Errorf("ValidKey(%q) = false", valid)
	}
	if got, want := blob.ObjectPath(valid), "sha256/e3/b0/"+valid; got != want {
		t.Errorf("ObjectPath = %q, want %q", got, want)
	}
	for _, k := range []string{"", strings.ToUpper(valid), valid[:63] + "G", valid[:63] + "/"} {
		if blob.ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
}

// TestSideFiles: named files kept beside the originals (an export's
// metadata) on both backends: written, read back, replaced, invisible to
// List, and never allowed among the originals' keys.
func TestSideFiles(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			url, _ := be.open(t)
			s := openStore(t, url)
			side, ok := s.(blob.SideFiles)
			if !ok {
				t.Fatal("the store keeps no side files")
			}
			if _, err := side.ReadSide(ctx, "manifest.json"); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("reading a missing side file: %v", err)
			}
			for _, v := range []string{"first", "second"} {
				if err := side.WriteSide(ctx, "manifest.json", strings.NewReader(v)); err != nil {
					t.Fatal(err)
				}
				if got, err := side.ReadSide(ctx, "manifest.json"); err != nil || string(got) != v {
					t.Fatalf("read back %q, %v; want %q", got, err, v)
				}
			}
			if err := s.List(ctx, func(i blob.Info) error { return fmt.Errorf("List saw %s", i.Key) }); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "sha256", "sha256x"} {
				if err := side.WriteSide(ctx, bad, strings.NewReader("x")); err == nil {
					t.Errorf("side file name %q accepted", bad)
				}
			}
		})
	}
}
