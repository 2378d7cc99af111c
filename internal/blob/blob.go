// Package blob stores VeriPost's files by content address: every object is
// kept under the lower-case hex SHA-256 of its bytes, so identical files are
// stored once and a key can never point at different content.
//
// Two back ends are chosen by URL and both are built on gocloud.dev/blob:
//
//	file:///abs/dir                         local disk (the directory is created if missing)
//	s3://bucket?region=us-east-1            Amazon S3, credentials from the standard AWS chain
//	s3://bucket?endpoint=http://127.0.0.1:8333&region=us-east-1&use_path_style=true
//	    &access_key_id=AK&secret_access_key=SK
//	                                        any S3-compatible server (SeaweedFS, MinIO, ...)
//
// S3 query parameters: access_key_id, secret_access_key and session_token
// (optional static credentials; without them the standard AWS chain is used:
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config, ...), and every
// parameter gocloud.dev's s3blob understands: region, endpoint, profile,
// use_path_style, disable_https, anonymous, request_checksum_calculation,
// response_checksum_validation, ... . When endpoint is set, use_path_style
// defaults to true and region to us-east-1, which is what S3-compatible servers
// expect. A path after the bucket (s3://bucket/some/prefix) puts all objects
// under that prefix.
//
// Objects live at sha256/ab/cd/abcdef… (two levels of fan-out from the first
// four hex digits), so that a local directory never holds millions of entries.
//
// Verification: Put hashes the bytes as they stream to the back end and refuses
// to finish the write (the source reader fails before EOF and the write context
// is cancelled, so the back end discards the temporary file / upload) when the
// SHA-256 or the size is not what the caller announced. After a successful
// write, Put reads back the object's attributes and compares the stored size
// and, where the back end reports one (fileblob always, S3 for single-part
// uploads via the ETag), the stored MD5 with the MD5 computed while writing;
// a mismatch deletes the object and fails the Put. It does not re-download the
// object, which would double the cost of every upload.
package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcaws "gocloud.dev/aws"
	gblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Store is a content-addressed object store.
type Store interface {
	// Put stores the bytes under their content address (lower-case hex sha256).
	// It verifies while writing that the received bytes hash to key and have
	// size bytes, and aborts the write (nothing left behind) when they do not.
	// Put of a key that already exists (with the announced size) is a cheap
	// no-op success that does not read r.
	Put(ctx context.Context, key string, size int64, r io.Reader) error
	// Open returns the object for reading. ctx must stay alive while the
	// object is read: seeking re-opens the object with it. The object works
	// with http.ServeContent (range requests). Missing keys give ErrNotFound.
	Open(ctx context.Context, key string) (Object, error)
	// Exists reports whether key is stored.
	Exists(ctx context.Context, key string) (bool, error)
	// Stat returns a stored object's size and modification time without
	// reading it (ErrNotFound when it is missing).
	Stat(ctx context.Context, key string) (Info, error)
	// List calls fn for every stored object, in no particular order, until fn
	// returns an error. Objects that are not content-addressed are skipped.
	List(ctx context.Context, fn func(Info) error) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Object is a stored object opened for reading.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

var (
	// ErrNotFound is returned by Open for a key that is not stored.
	ErrNotFound = errors.New("blob: object not found")
	// ErrInvalidKey is returned for a key that is not 64 lower-case hex digits.
	ErrInvalidKey = errors.New("blob: invalid key (want 64 lower-case hex digits of a sha256)")
	// ErrHashMismatch is returned by Put when the bytes do not hash to key.
	ErrHashMismatch = errors.New("blob: content does not match its sha256 key")
	// ErrSizeMismatch is returned by Put when the bytes are not size long.
	ErrSizeMismatch = errors.New("blob: content size does not match the announced size")
	// ErrVerify is returned by Put when the stored object does not match what
	// was sent (the object is deleted again).
	ErrVerify = errors.New("blob: stored object failed verification")
)

// ValidKey reports whether key is a lower-case hex sha256 (64 characters).
func ValidKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ObjectPath is where key is stored inside the bucket or directory.
func ObjectPath(key string) string {
	return "sha256/" + key[0:2] + "/" + key[2:4] + "/" + key
}

// Open opens the store described by rawURL (see the package documentation).
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob: parse store URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		return openFile(u)
	case "s3":
		return openS3(ctx, u)
	default:
		return nil, fmt.Errorf("blob: unsupported store URL scheme %q (want file:// or s3://)", u.Scheme)
	}
}

func openFile(u *url.URL) (Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("blob: file URL must be file:///absolute/dir, got host %q", u.Host)
	}
	if len(u.Query()) > 0 {
		return nil, fmt.Errorf("blob: file URL takes no query parameters, got %q", u.RawQuery)
	}
	dir := filepath.FromSlash(u.Path)
	if dir == "" || !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("blob: file URL needs an absolute directory, got %q", u.Path)
	}
	dir = filepath.Clean(dir)
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		CreateDir:   true,
		DirFileMode: 0o750,
		// Temporary files next to the final ones: the rename then never crosses
		// file systems, whatever TMPDIR is.
		NoTempDir: true,
		// No .attrs sidecar files: a sidecar is rewritten in place, so a
		// concurrent Put of the same content (a shared MILL.LIB uploaded
		// twice at once) could read it half-written. Without it every write
		// is one atomic rename, and size comes from the file itself.
		Metadata: fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: open directory %s: %w", dir, err)
	}
	ping := func(context.Context) error {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("blob: store directory: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("blob: store directory %s is not a directory", dir)
		}
		return nil
	}
	return &store{b: b, ping: ping, desc: "file://" + filepath.ToSlash(dir)}, nil
}

func openS3(ctx context.Context, u *url.URL) (Store, error) {
	bucketName := u.Host
	if bucketName == "" {
		return nil, errors.New("blob: s3 URL needs a bucket: s3://bucket?...")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if clean := path.Clean(prefix); clean != prefix || strings.HasPrefix(clean, "..") {
			return nil, fmt.Errorf("blob: invalid s3 prefix %q", u.Path)
		}
	}
	q := u.Query()
	take := func(k string) string {
		v := q.Get(k)
		q.Del(k)
		return v
	}
	accessKey, secretKey, sessionToken := take("access_key_id"), take("secret_access_key"), take("session_token")
	if (accessKey == "") != (secretKey == "") {
		return nil, errors.New("blob: s3 URL needs both access_key_id and secret_access_key, or neither")
	}
	s3opts := []func(*s3.Options){func(o *s3.Options) {
		// S3-compatible servers often send no checksum headers; the SDK
		// would log a debug line for every such GetObject.
		o.DisableLogOutputChecksumValidationSkipped = true
	}}
	pathStyleSet := false
	for _, k := range []string{"use_path_style", "s3ForcePathStyle"} {
		if v := take(k); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("blob: invalid value for %s: %w", k, err)
			}
			pathStyleSet = true
			s3opts = append(s3opts, func(o *s3.Options) { o.UsePathStyle = b })
		}
	}
	if v := take("disable_https"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("blob: invalid value for disable_https: %w", err)
		}
		s3opts = append(s3opts, func(o *s3.Options) { o.EndpointOptions.DisableHTTPS = b })
	}
	customEndpoint := q.Get("endpoint") != ""
	if customEndpoint && !pathStyleSet {
		s3opts = append(s3opts, func(o *s3.Options) { o.UsePathStyle = true })
	}

	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 URL: %w", err)
	}
	if cfg.Region == "" && customEndpoint {
		cfg.Region = "us-east-1"
	}
	if accessKey != "" {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(accessKey, secretKey, sessionToken))
	}
	client := s3.NewFromConfig(cfg, s3opts...)
	b, err := s3blob.OpenBucket(ctx, client, bucketName, &s3blob.Options{
		RequestChecksumCalculation: cfg.RequestChecksumCalculation,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: open s3 bucket %s: %w", bucketName, err)
	}
	if prefix != "" {
		b = gblob.PrefixedBucket(b, prefix+"/")
	}
	ping := func(ctx context.Context) error {
		// One attempt only: a readiness probe should answer now, not after
		// the SDK's retries and back-off.
		_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucketName)},
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			return fmt.Errorf("blob: s3 bucket %s not reachable: %w", bucketName, err)
		}
		return nil
	}
	desc := "s3://" + bucketName
	if prefix != "" {
		desc += "/" + prefix
	}
	return &store{b: b, ping: ping, desc: desc}, nil
}

type store struct {
	b    *gblob.Bucket
	ping func(context.Context) error
	desc string // URL without credentials or query, for messages
}

func (s *store) String() string { return s.desc }

func (s *store) Put(ctx context.Context, key string, size int64, r io.Reader) (err error) {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSizeMismatch, size)
	}
	p := ObjectPath(key)
	attrs, err := s.b.Attributes(ctx, p)
	switch {
	case err == nil && attrs.Size == size:
		return nil // already stored
	case err == nil:
		// A stored object with the wrong size cannot be the right content:
		// overwrite it with verified bytes.
	case gcerrors.Code(err) != gcerrors.NotFound:
		return fmt.Errorf("blob: put %s: look up existing object: %w", key, err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.b.NewWriter(wctx, p, &gblob.WriterOptions{
		ContentType:                 "application/octet-stream",
		DisableContentTypeDetection: true,
	})
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	vr := &verifyingReader{r: r, key: key, size: size, sha: sha256.New(), md5: md5.New()}
	if _, err := io.Copy(w, vr); err != nil || !vr.ok {
		// Cancel before Close: both back ends then throw the partial write
		// away (fileblob removes its temporary file, s3blob fails the
		// upload) instead of committing it.
		cancel()
		_ = w.Close()
		if err == nil {
			err = errors.New("source ended without verification")
		}
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}

	stored, err := s.b.Attributes(ctx, p)
	if err != nil {
		return fmt.Errorf("blob: put %s: read back attributes: %w", key, err)
	}
	sum := vr.md5.Sum(nil)
	if stored.Size != size || (len(stored.MD5) > 0 && !bytes.Equal(stored.MD5, sum)) {
		_ = s.b.Delete(ctx, p)
		return fmt.Errorf("%w: %s stored as %d bytes md5 %x, sent %d bytes md5 %x",
			ErrVerify, key, stored.Size, stored.MD5, size, sum)
	}
	return nil
}

// verifyingReader passes r through while hashing it. It reads at most size+1
// bytes, and instead of io.EOF it returns an error when the bytes read are not
// exactly size long or do not hash to key, so the copy into the store fails
// before the write can complete.
type verifyingReader struct {
	r        io.Reader
	key      string
	size, n  int64
	sha, md5 hash.Hash
	err      error
	ok       bool
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.ok {
		return 0, io.EOF
	}
	if limit := v.size - v.n + 1; int64(len(p)) > limit {
		p = p[:limit]
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.n += int64(n)
		if v.n > v.size {
			v.err = fmt.Errorf("%w: got more than the announced %d bytes", ErrSizeMismatch, v.size)
			return 0, v.err
		}
		v.sha.Write(p[:n])
		v.md5.Write(p[:n])
	}
	switch {
	case err == io.EOF:
		if v.n != v.size {
			v.err = fmt.Errorf("%w: got %d bytes, announced %d", ErrSizeMismatch, v.n, v.size)
			return n, v.err
		}
		if got := hex.EncodeToString(v.sha.Sum(nil)); got != v.key {
			v.err = fmt.Errorf("%w: bytes hash to %s", ErrHashMismatch, got)
			return n, v.err
		}
		v.ok = true
		return n, io.EOF
	case err != nil:
		v.err = fmt.Errorf("read source: %w", err)
		return n, v.err
	}
	return n, nil
}

func (s *store) Open(ctx context.Context, key string) (Object, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	r, err := s.b.NewReader(ctx, ObjectPath(key), nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	return r, nil
}

func (s *store) Exists(ctx context.Context, key string) (bool, error) {
	if !ValidKey(key) {
		return false, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	ok, err := s.b.Exists(ctx, ObjectPath(key))
	if err != nil {
		return false, fmt.Errorf("blob: exists %s: %w", key, err)
	}
	return ok, nil
}

func (s *store) Stat(ctx context.Context, key string) (Info, error) {
	if !ValidKey(key) {
		return Info{}, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	a, err := s.b.Attributes(ctx, ObjectPath(key))
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return Info{Key: key, Size: a.Size, ModTime: a.ModTime}, nil
}

func (s *store) List(ctx context.Context, fn func(Info) error) error {
	it := s.b.List(&gblob.ListOptions{Prefix: "sha256/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blob: list: %w", err)
		}
		if obj.IsDir {
			continue
		}
		key := obj.Key[strings.LastIndex(obj.Key, "/")+1:]
		if !ValidKey(key) || ObjectPath(key) != obj.Key {
			continue // not ours (or a temporary file)
		}
		if err := fn(Info{Key: key, Size: obj.Size, ModTime: obj.ModTime}); err != nil {
			return err
		}
	}
}

func (s *store) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	err := s.b.Delete(ctx, ObjectPath(key))
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

func (s *store) Ping(ctx context.Context) error { return s.ping(ctx) }

// SideFiles is implemented by the stores Open returns: a few named files
// kept next to the originals, outside the content-addressed keys (an
// export's metadata and manifest in a bucket). List and the collector
// never see them.
type SideFiles interface {
	// WriteSide stores r under name, replacing what was there.
	WriteSide(ctx context.Context, name string, r io.Reader) error
	// ReadSide returns the file stored under name (ErrNotFound if none).
	ReadSide(ctx context.Context, name string) ([]byte, error)
}

// sideName checks a side file's name: a plain file name, not in the
// originals' folder.
func sideName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." || strings.HasPrefix(name, "sha256") {
		return fmt.Errorf("blob: invalid side file name %q", name)
	}
	return nil
}

func (s *store) WriteSide(ctx context.Context, name string, r io.Reader) error {
	if err := sideName(name); err != nil {
		return err
	}
	w, err := s.b.NewWriter(ctx, name, nil)
	if err != nil {
		return fmt.Errorf("blob: write %s: %w", name, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Close()
		return fmt.Errorf("blob: write %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("blob: write %s: %w", name, err)
	}
	return nil
}

func (s *store) ReadSide(ctx context.Context, name string) ([]byte, error) {
	if err := sideName(name); err != nil {
		return nil, err
	}
	data, err := s.b.ReadAll(ctx, name)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", name, err)
	}
	return data, nil
}

func (s *store) Close() error { return s.b.Close() }

// Opener is the part of a Store that reads.
type Opener interface {
	Open(ctx context.Context, key string) (Object, error)
}

// ErrStoredMismatch is returned by ReadAll when the stored bytes are not
// the recorded content (wrong size or hash): the store lost or changed them.
var ErrStoredMismatch = errors.New("blob: stored content does not match its record")

// ReadAll reads the content stored under key (its SHA-256) and checks it is
// exactly size bytes that hash to key. It is the one way VeriPost reads a
// stored file's bytes for work (ingestion, the source view, comparisons,
// explanations), so a changed or truncated object is never used silently.
// Errors: ErrNotFound, ErrStoredMismatch, or the store's own error.
func ReadAll(ctx context.Context, s Opener, key string, size int64) ([]byte, error) {
	obj, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	buf := make([]byte, 0, max(size, 0)+1)
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, io.LimitReader(obj, size+1)); err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", key, err)
	}
	data := w.Bytes()
	sum := sha256.Sum256(data)
	if int64(len(data)) != size || hex.EncodeToString(sum[:]) != key {
		return nil, fmt.Errorf("%w: %s: stored %d bytes with sha256 %x, recorded %d bytes", ErrStoredMismatch, key, len(data), sum, size)
	}
	return data, nil
}
