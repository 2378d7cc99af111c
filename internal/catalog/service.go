package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/veripost/veripost/internal/apperror"
)

// BlobStore is the part of the object store the domain uses; keys are
// lower-case hex SHA256 of the content.
type BlobStore interface {
	// Put writes the content under key and verifies it (hash and size);
	// a write that fails verification leaves nothing behind.
	Put(ctx context.Context, key string, size int64, r io.Reader) error
	Exists(ctx context.Context, key string) (bool, error)
	Delete(ctx context.Context, key string) error
}

// BlobLeases protect contents an upload is writing from the collector, from
// before the first blob is written until the upload's rows commit (the
// recording transaction ends the lease) or the upload fails (Release).
type BlobLeases interface {
	// Lease records that leaseID is writing these contents until expires.
	// It fails with ErrCondemned while the collector is deleting one of them.
	Lease(ctx context.Context, leaseID string, shas []string, expires time.Time) error
	// Release ends a lease early (the upload failed).
	Release(ctx context.Context, leaseID string) error
}

// ErrCondemned says the collector is deleting a content's blob right now;
// the upload waits and leases again.
var ErrCondemned = errors.New("content is being collected")

// Upload is a validated upload: files with their bytes.
type Upload struct {
	PackageID string
	Name      string
	// Platform of a new package (default DefaultPlatform); an upload to an
	// existing package leaves its platform alone.
	Platform   string
	Note       string
	UploadedBy string
	Files      []UploadFile
	// IdempotencyKey, when set, makes a retry of this exact upload answer
	// with the version the first attempt recorded (see UploadKeys).
	IdempotencyKey string
}

// UploadFile is one validated file and its content.
type UploadFile struct {
	NewFile
	Data []byte
}

// Service holds the operations on packages that involve more than one
// store: accepting uploads and deleting packages.
type Service struct {
	Repo     Repository
	Recorder VersionRecorder
	Blobs    BlobStore
	Leases   BlobLeases
	// Keys answers retried uploads that carry an Idempotency-Key (nil:
	// keys are ignored).
	Keys UploadKeys
	Log  *slog.Logger
	// LeaseTTL bounds how long a lease protects blobs of an upload that
	// never finished (a crashed process); default one hour.
	LeaseTTL time.Duration
}

// Accepted is what an accepted upload returns.
type Accepted struct {
	Package Package
	Version Version
	// Created is false when the upload was identical to the package's latest
	// version: nothing new was recorded, and Version is that version.
	Created bool
	// IdenticalTo is the number of an earlier version of the same package
	// with exactly these files (0 when none).
	IdenticalTo int
	// Replayed is true when the upload carried an Idempotency-Key an
	// earlier request already used: nothing new was recorded, and Package
	// and Version are what that request recorded.
	Replayed bool
}

// Accept stores an upload: it leases the contents, writes and verifies
// every blob, then records the version, its files and its ingestion job in
// one transaction (which ends the lease). The transaction does no blob I/O.
// If anything fails, nothing is recorded and the lease is released; blobs
// this upload wrote that nothing references are removed by the collector.
//
// An upload to an existing package that is identical to its latest version
// records nothing and says so (Created false).
func (s *Service) Accept(ctx context.Context, up Upload) (Accepted, error) {
	if len(up.Files) == 0 {
		return Accepted{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeNoFiles,
			"The upload contained no files.", "")
	}
	nv := NewVersion{PackageID: up.PackageID, Name: up.Name, Platform: up.Platform, Note: up.Note, UploadedBy: up.UploadedBy, LeaseID: uuid.NewString()}
	for _, f := range up.Files {
		nv.Files = append(nv.Files, f.NewFile)
	}
	key := ContentKey(nv.Files)
	if up.IdempotencyKey != "" && s.Keys != nil {
		if err := ValidKey(up.IdempotencyKey); err != nil {
			return Accepted{}, err
		}
		nv.Key = &UploadKey{Scope: up.UploadedBy, Key: up.IdempotencyKey, Fingerprint: fingerprint(up, nv.Files)}
		if acc, found, err := s.replay(ctx, up, *nv.Key); found || err != nil {
			return acc, err
		}
	}
	var identicalTo int
	if up.PackageID != "" {
		pkg, err := s.Repo.GetPackage(ctx, up.PackageID)
		if err != nil {
			return Accepted{}, notFoundOr(err, "package", up.PackageID)
		}
		same, err := s.Repo.VersionByContent(ctx, up.PackageID, key)
		switch {
		case err == nil && same.Number == pkg.LatestVersion && (up.Name == "" || up.Name == pkg.Name):
			return Accepted{Package: pkg, Version: same, IdenticalTo: same.Number}, nil
		case err == nil:
			identicalTo = same.Number
		case !errors.Is(err, ErrNotFound):
			return Accepted{}, databaseUnavailable(err)
		}
	}
	if err := s.lease(ctx, nv); err != nil {
		return Accepted{}, err
	}
	pkg, ver, err := s.store(ctx, up, nv)
	if err != nil {
		if rerr := s.Leases.Release(context.WithoutCancel(ctx), nv.LeaseID); rerr != nil {
			s.logger().Warn("releasing the blob lease of a failed upload", "err", rerr)
		}
		if errors.Is(err, ErrKeyTaken) {
			// The same request, sent again while the first was still
			// running, lost the race: answer with what the first recorded.
			acc, _, err := s.replay(ctx, up, *nv.Key)
			return acc, err
		}
		return Accepted{}, err
	}
	return Accepted{Package: pkg, Version: ver, Created: true, IdenticalTo: identicalTo}, nil
}

// lease takes the upload's blob lease, waiting briefly while the collector
// finishes deleting a content this upload brings again.
func (s *Service) lease(ctx context.Context, nv NewVersion) error {
	shas := make([]string, len(nv.Files))
	for i, f := range nv.Files {
		shas[i] = f.SHA256
	}
	ttl := s.LeaseTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	delay := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.Leases.Lease(ctx, nv.LeaseID, shas, time.Now().Add(ttl))
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrCondemned) || attempt >= 50 {
			return databaseUnavailable(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

func (s *Service) store(ctx context.Context, up Upload, nv NewVersion) (Package, Version, error) {
	// The files are stored at once: on S3 each is a round trip or more
	// (most are already there, which a lookup confirms).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, f := range up.Files {
		g.Go(func() error {
			if err := s.Blobs.Put(gctx, f.SHA256, f.Size, bytes.NewReader(f.Data)); err != nil {
				return storageUnavailable(fmt.Errorf("storing %s: %w", f.Filename, err))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Package{}, Version{}, err
	}
	pkg, ver, err := s.Recorder.RecordVersion(ctx, nv)
	if err != nil {
		if _, ok := apperror.As(err); ok || errors.Is(err, ErrKeyTaken) {
			return pkg, ver, err
		}
		if errors.Is(err, ErrNotFound) {
			return pkg, ver, NotFound("package", up.PackageID)
		}
		return pkg, ver, databaseUnavailable(err)
	}
	return pkg, ver, nil
}

// Delete removes a package with its versions and files. Stored blobs no
// other package uses are removed later by the collector.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.Repo.DeletePackage(ctx, id); err != nil {
		return notFoundOr(err, "package", id)
	}
	return nil
}

func (s *Service) logger() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// notFoundOr maps ErrNotFound to a 404 and anything else to a 503.
func notFoundOr(err error, what, id string) error {
	if errors.Is(err, ErrNotFound) {
		return NotFound(what, id)
	}
	if _, ok := apperror.As(err); ok {
		return err
	}
	return databaseUnavailable(err)
}

// NotFound is the 404 for a missing thing.
func NotFound(what, id string) error {
	return apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
		fmt.Sprintf("No %s with that id exists. It may have been deleted; check the id or reload the list.", what),
		"%s %q not found", what, id)
}

// The two 503s of accepting an upload keep the driver's text as the cause
// (for the log), never in the answer.
func storageUnavailable(err error) error {
	return apperror.Unavailable("The file store is not reachable, so the upload was not accepted and nothing was saved. Try again in a minute; if it persists, ask your administrator to check the object store.", err)
}

func databaseUnavailable(err error) error {
	return apperror.Unavailable("The database is not reachable, so nothing was saved. Try again in a minute; if it persists, ask your administrator to check the database.", err)
}
