// Package catalog is VeriPost's domain: post packages, their immutable
// versions and files, the ingestion status of each version, and the
// operations on them. Storage, queue and HTTP code depend on this package;
// it depends on none of them.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"time"
)

// Status is where a version is in ingestion.
type Status string

// Ingestion moves a version through these stages in order; it ends in Ready
// or, when the system itself failed, Error.
const (
	StatusPending    Status = "pending"
	StatusValidating Status = "validating"
	StatusStoring    Status = "storing"
	StatusParsing    Status = "parsing"
	StatusReady      Status = "ready"
	StatusError      Status = "error"
)

// Terminal reports whether no more work will happen on this status.
func (s Status) Terminal() bool { return s == StatusReady || s == StatusError }

// The version status machine. An ingestion attempt starts at validating
// from any status (a first attempt, a retry after a failed attempt, or
// re-analysis of a ready version), then moves forward one stage at a time
// to ready; any stage still in progress may end in error. Storage persists
// a move only from one of the statuses returned by From.
var statusFrom = map[Status][]Status{
	StatusValidating: {StatusPending, StatusValidating, StatusStoring, StatusParsing, StatusReady, StatusError},
	StatusStoring:    {StatusValidating},
	StatusParsing:    {StatusStoring},
	StatusReady:      {StatusParsing},
	StatusError:      {StatusPending, StatusValidating, StatusStoring, StatusParsing},
}

// From lists the statuses a version may move to s from.
func (s Status) From() []Status { return statusFrom[s] }

// CanMoveTo reports whether a version in status s may move to next.
func (s Status) CanMoveTo(next Status) bool {
	for _, f := range statusFrom[next] {
		if f == s {
			return true
		}
	}
	return false
}

// ErrStatusConflict is returned when a version is not in a status the
// requested move may start from (another worker moved it, or it was
// re-queued); the move did not happen.
var ErrStatusConflict = errors.New("version status changed meanwhile")

// DefaultPlatform is the CAM platform a package belongs to unless told otherwise.
const DefaultPlatform = "camworks"

// Package is a post package as people see it: its metadata and the state of
// its latest version.
type Package struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	MachineType    string    `json:"machine_type"`
	ControllerType string    `json:"controller_type"`
	Platform       string    `json:"platform"`
	System         string    `json:"system"`         // :SYSTEM= of the source (MILL, LATHE …)
	ControlFamily  string    `json:"control_family"` // first-line marker (FANUCM, PathPilot …)
	MetadataEdited bool      `json:"metadata_edited"`
	LatestVersion  int       `json:"latest_version"`
	Status         Status    `json:"status"`
	ErrorMessage   string    `json:"error_message,omitempty"`
	ErrorDetail    string    `json:"error_detail,omitempty"`
	FileCount      int       `json:"file_count"`
	SectionCount   int       `json:"section_count"`
	ErrorCount     int       `json:"error_count"`   // UPG diagnostics of severity error
	WarningCount   int       `json:"warning_count"` // and of severity warning
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// Files of the latest version; filled by list and get.
	Files []File `json:"files"`
}

// Version is one immutable upload of a package.
type Version struct {
	ID           string    `json:"id"`
	PackageID    string    `json:"package_id"`
	Number       int       `json:"number"`
	UploadedAt   time.Time `json:"uploaded_at"`
	UploadedBy   string    `json:"uploaded_by"`
	Note         string    `json:"note"`
	Status       Status    `json:"status"`
	ErrorMessage string    `json:"error_message,omitempty"`
	ErrorDetail  string    `json:"error_detail,omitempty"`
	FileCount    int       `json:"file_count"`
	SectionCount int       `json:"section_count"`
	ErrorCount   int       `json:"error_count"`
	WarningCount int       `json:"warning_count"`
	InfoCount    int       `json:"info_count"`
	// ParserVersion is the analysis version that indexed this version
	// ("" until it has been indexed).
	ParserVersion string `json:"parser_version"`
	// ContentKey names the version's file names and contents: two versions
	// with the same key hold the same files.
	ContentKey string    `json:"content_key"`
	JobID      int64     `json:"job_id"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// File is one file of a version. Its bytes live in the blob store under
// BlobKey, which is the SHA256 of the content.
type File struct {
	ID        string    `json:"id"`
	VersionID string    `json:"version_id"`
	Filename  string    `json:"filename"`
	Extension string    `json:"extension"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	BlobKey   string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// Facts recorded by the parsing stage.
	LineCount   int    `json:"line_count"`
	ContentKind string `json:"content_kind,omitempty"` // "text" or "binary"
	Encoding    string `json:"encoding,omitempty"`     // "ascii", "utf-8", "windows-1252", "binary"
}

// NewFile describes a validated file about to be recorded.
type NewFile struct {
	Filename  string
	Extension string
	Size      int64
	SHA256    string
}

// NewVersion describes an accepted upload. PackageID empty creates a new
// package; otherwise the upload becomes the next version of that package.
// LeaseID names the blob lease the recording transaction ends.
type NewVersion struct {
	PackageID  string
	Name       string
	Platform   string // of a new package; "" means DefaultPlatform
	Note       string
	UploadedBy string
	LeaseID    string
	Files      []NewFile
	// Key, when set, is recorded with the version in the same transaction
	// (ErrKeyTaken when another version holds it).
	Key *UploadKey
}

// ContentKey names a set of files by their names and contents (order does
// not matter): equal keys mean identical uploads.
func ContentKey(files []NewFile) string {
	parts := make([]string, len(files))
	for i, f := range files {
		parts[i] = f.Filename + "\x00" + f.SHA256
	}
	sort.Strings(parts)
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Page is one page of a list, newest first.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// MetadataEdit changes the person-editable fields of a package; nil leaves
// a field as it is.
type MetadataEdit struct {
	Name           *string
	MachineType    *string
	ControllerType *string
	Platform       *string
}

// ErrNotFound is returned by repositories for a missing row.
var ErrNotFound = errors.New("not found")

// ErrBadCursor is returned for a page cursor this server did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// VersionRecorder records an accepted upload: the package (when new), the
// version, its files and its ingestion job, in one transaction, so an
// upload is never recorded without its job nor the job without the upload.
// The transaction does no blob I/O: the blobs are written and verified
// before, under a lease (BlobLeases) that the same transaction ends.
type VersionRecorder interface {
	RecordVersion(ctx context.Context, nv NewVersion) (Package, Version, error)
}

// Repository is the persistence the domain needs. The SQL store implements it.
type Repository interface {
	ListPackages(ctx context.Context, limit int, cursor string) (Page[Package], error)
	GetPackage(ctx context.Context, id string) (Package, error)
	// ListVersions pages a package's versions, newest first.
	ListVersions(ctx context.Context, packageID string, limit int, cursor string) (Page[Version], error)
	// VersionByNumber returns version number n of a package.
	VersionByNumber(ctx context.Context, packageID string, n int) (Version, error)
	GetVersion(ctx context.Context, versionID string) (Version, error)
	// VersionFiles lists the files of a version in name order.
	VersionFiles(ctx context.Context, versionID string) ([]File, error)
	GetFile(ctx context.Context, packageID, fileID string) (File, error)
	// LatestVersion returns the latest version of a package.
	LatestVersion(ctx context.Context, packageID string) (Version, error)
	// VersionByContent finds the newest version of a package whose
	// ContentKey is key.
	VersionByContent(ctx context.Context, packageID, key string) (Version, error)
	// SetVersionStatus moves a version to status, only from one of
	// status.From() (ErrStatusConflict otherwise).
	SetVersionStatus(ctx context.Context, versionID string, status Status, message, detail string) error
	EditMetadata(ctx context.Context, packageID string, edit MetadataEdit) (Package, error)
	// SetVersionNote changes the note of a package's version number.
	SetVersionNote(ctx context.Context, packageID string, number int, note string) (Version, error)
	// DeletePackage removes the package, its versions and files, and the
	// analyses no remaining file needs. Blobs are left to the collector.
	DeletePackage(ctx context.Context, id string) error
	Ping(ctx context.Context) error
}
