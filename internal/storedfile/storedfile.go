// Package storedfile reads a stored file's bytes for people: verified
// against the recorded SHA-256 and size (blob.ReadAll), with failures turned
// into the {message, detail, code} errors the API and the pages show. The
// source view, comparisons and explanations all read files through it.
package storedfile

import (
	"context"
	"errors"
	"net/http"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
)

// Read returns f's bytes, checked against its record.
func Read(ctx context.Context, blobs blob.Opener, f catalog.File) ([]byte, error) {
	data, err := blob.ReadAll(ctx, blobs, f.BlobKey, f.Size)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil, apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			"The stored copy of "+f.Filename+" is missing. Upload the package again.", err.Error())
	case errors.Is(err, blob.ErrStoredMismatch):
		return nil, apperror.New(http.StatusInternalServerError, apperror.CodeInternal,
			"The stored copy of "+f.Filename+" does not match what was uploaded. Upload the package again, and ask your administrator to check the object store.",
			err.Error())
	case err != nil:
		return nil, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
			"The file store is not reachable, so "+f.Filename+" cannot be read right now. Try again in a minute.", err.Error())
	}
	return data, nil
}
