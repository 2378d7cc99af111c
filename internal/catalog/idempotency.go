package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/veripost/veripost/internal/apperror"
)

// UploadKeys remembers the version an upload with an Idempotency-Key
// recorded. The recorder stores the key in the transaction that records
// the version (NewVersion.Key), so a key exists exactly when its version
// does; a retry of the same request then answers with that version.
type UploadKeys interface {
	// UploadByKey returns the fingerprint of the request that used key in
	// scope and the version it recorded, or ErrNotFound.
	UploadByKey(ctx context.Context, scope, key string) (fingerprint, versionID string, err error)
}

// UploadKey is a client's Idempotency-Key with what the request sent.
type UploadKey struct {
	Scope       string // who sent it (the uploader); keys of different uploaders never meet
	Key         string
	Fingerprint string
}

// ErrKeyTaken is returned by a VersionRecorder when another request
// recorded a version under the same key first (nothing was recorded).
var ErrKeyTaken = errors.New("idempotency key already used")

// MaxKeyLength bounds an Idempotency-Key.
const MaxKeyLength = 255

// ValidKey checks an Idempotency-Key: 1 to 255 visible ASCII characters.
func ValidKey(key string) error {
	ok := key != "" && len(key) <= MaxKeyLength
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] > ' ' && key[i] < 0x7f
	}
	if !ok {
		return apperror.Newf(http.StatusBadRequest, apperror.CodeBadRequest,
			"The Idempotency-Key header must be 1 to 255 visible ASCII characters, such as a UUID.",
			"Idempotency-Key of %d bytes", len(key))
	}
	return nil
}

// fingerprint names what an upload asks for: the same key with another
// fingerprint is a client bug, not a retry.
func fingerprint(up Upload, files []NewFile) string {
	h := sha256.New()
	for _, s := range []string{up.PackageID, up.Name, up.Note, ContentKey(files)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// replay answers a retried upload with the version its key recorded;
// found is false when the key is unknown.
func (s *Service) replay(ctx context.Context, up Upload, k UploadKey) (acc Accepted, found bool, err error) {
	fp, versionID, err := s.Keys.UploadByKey(ctx, k.Scope, k.Key)
	if errors.Is(err, ErrNotFound) {
		return acc, false, nil
	}
	if err != nil {
		return acc, false, databaseUnavailable(err)
	}
	if fp != k.Fingerprint {
		return acc, true, apperror.New(http.StatusUnprocessableEntity, apperror.CodeIdempotencyReused,
			"This Idempotency-Key was already used for a different upload. Use a new key for each new upload, and the same key only to retry the same one.",
			"same Idempotency-Key, different package, name, note or files")
	}
	ver, err := s.Repo.GetVersion(ctx, versionID)
	if err != nil {
		return acc, true, notFoundOr(err, "version", versionID)
	}
	pkg, err := s.Repo.GetPackage(ctx, ver.PackageID)
	if err != nil {
		return acc, true, notFoundOr(err, "package", ver.PackageID)
	}
	return Accepted{Package: pkg, Version: ver, Created: true, Replayed: true}, true, nil
}
