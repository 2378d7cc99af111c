package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/veripost/veripost/internal/apperror"
)

// BlobStore is the part of the object store the domain uses; keys are
// lower-case hex SHA256 of the content.
type BlobStore interface {
	Put(ctx context.Context, key string, size int64, r io.Reader) error
	Exists(ctx context.Context, key string) (bool, error)
	Delete(ctx context.Context, key string) error
}

// Upload is a validated upload: files with their bytes.
type Upload struct {
	PackageID  string
	Name       string
	Note       string
	UploadedBy string
	Files      []UploadFile
}

// UploadFile is one validated file and its content.
type UploadFile struct {
	NewFile
	Data []byte
}

// Service holds the operations on packages that involve more than one
// store: accepting uploads and deleting packages.
type Service struct {
	Repo    Repository
	Blobs   BlobStore
	Enqueue EnqueueFunc
	Log     *slog.Logger
}

// Accepted is what an accepted upload returns.
type Accepted struct {
	Package Package
	Version Version
}

// Accept stores the upload's blobs, then records the version and its
// ingestion job in one transaction. If anything fails, no version row is
// left behind, the blobs this call wrote are released again (unless another
// package uses them), and the error says what to do.
func (s *Service) Accept(ctx context.Context, up Upload) (_ Accepted, err error) {
	if len(up.Files) == 0 {
		return Accepted{}, apperror.New(http.StatusUnprocessableEntity, apperror.CodeNoFiles,
			"The upload contained no files.", "")
	}
	if up.PackageID != "" {
		if _, err := s.Repo.GetPackage(ctx, up.PackageID); err != nil {
			return Accepted{}, notFoundOr(err, "package", up.PackageID)
		}
	}
	var written []string
	defer func() {
		if err != nil {
			s.release(context.WithoutCancel(ctx), written)
		}
	}()
	for _, f := range up.Files {
		if err := s.Blobs.Put(ctx, f.SHA256, f.Size, bytes.NewReader(f.Data)); err != nil {
			return Accepted{}, storageUnavailable(fmt.Errorf("storing %s: %w", f.Filename, err))
		}
		written = append(written, f.SHA256)
	}
	// Inside the transaction, with each content address locked, make sure
	// every blob is still there: a concurrent delete of another package
	// sharing a file may have released it between the Put above and now.
	confirm := func(ctx context.Context) error {
		for _, f := range up.Files {
			ok, err := s.Blobs.Exists(ctx, f.SHA256)
			if err != nil {
				return storageUnavailable(err)
			}
			if !ok {
				if err := s.Blobs.Put(ctx, f.SHA256, f.Size, bytes.NewReader(f.Data)); err != nil {
					return storageUnavailable(err)
				}
			}
		}
		return nil
	}
	nv := NewVersion{PackageID: up.PackageID, Name: up.Name, Note: up.Note, UploadedBy: up.UploadedBy}
	for _, f := range up.Files {
		nv.Files = append(nv.Files, f.NewFile)
	}
	pkg, ver, err := s.Repo.CreateVersion(ctx, nv, confirm, s.Enqueue)
	if err != nil {
		if _, ok := apperror.As(err); ok {
			return Accepted{}, err
		}
		if errors.Is(err, ErrNotFound) {
			return Accepted{}, NotFound("package", up.PackageID)
		}
		return Accepted{}, databaseUnavailable(err)
	}
	return Accepted{Package: pkg, Version: ver}, nil
}

// release removes blobs that no file references (best effort: a blob
// left behind only costs space, and is reused by the next identical file).
func (s *Service) release(ctx context.Context, shas []string) {
	var failed []error
	for _, sha := range shas {
		if err := s.Repo.ReleaseBlob(ctx, sha, func(ctx context.Context) error { return s.Blobs.Delete(ctx, sha) }); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 && s.Log != nil {
		s.Log.Warn("some stored files could not be released", "err", errors.Join(failed...))
	}
}

// Delete removes a package and every blob that no other file references.
func (s *Service) Delete(ctx context.Context, id string) error {
	shas, err := s.Repo.DeletePackage(ctx, id)
	if err != nil {
		return notFoundOr(err, "package", id)
	}
	// The package is gone; blobs are released after, each under its lock.
	s.release(ctx, shas)
	return nil
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

func storageUnavailable(err error) error {
	return apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
		"The file store is not reachable, so the upload was not accepted and nothing was saved. Try again in a minute; if it persists, ask your administrator to check the object store.",
		err.Error())
}

func databaseUnavailable(err error) error {
	return apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
		"The database is not reachable, so nothing was saved. Try again in a minute; if it persists, ask your administrator to check the database.",
		err.Error())
}
