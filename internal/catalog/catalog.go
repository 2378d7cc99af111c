// Package catalog is VeriPost's domain: post packages, their immutable
// versions and files, the ingestion status of each version, and the
// operations on them. Storage, queue and HTTP code depend on this package;
// it depends on none of them.
package catalog

import (
	"context"
	"database/sql"
	"errors"
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
	// ParserVersion is the UPG parser version that indexed this version
	// ("" until it has been indexed).
	ParserVersion string    `json:"parser_version"`
	JobID         int64     `json:"job_id"`
	UpdatedAt     time.Time `json:"updated_at"`
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
type NewVersion struct {
	PackageID  string
	Name       string
	Note       string
	UploadedBy string
	Files      []NewFile
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

// EnqueueFunc inserts the ingestion job for a version inside tx, the
// transaction that records the version, and returns the job id.
type EnqueueFunc func(ctx context.Context, tx *sql.Tx, versionID string) (int64, error)

// Repository is the persistence the domain needs. The SQL store implements it.
type Repository interface {
	// CreateVersion records the package (when new), the version and its
	// files, and calls enqueue in the same transaction. confirmBlobs is called
	// inside the transaction, after the content-address locks are held, so
	// the caller can confirm each blob still exists (see Service.Accept).
	CreateVersion(ctx context.Context, nv NewVersion, confirmBlobs func(ctx context.Context) error, enqueue EnqueueFunc) (Package, Version, error)
	ListPackages(ctx context.Context, limit int, cursor string) (Page[Package], error)
	GetPackage(ctx context.Context, id string) (Package, error)
	ListVersions(ctx context.Context, packageID string) ([]Version, error)
	GetVersion(ctx context.Context, versionID string) (Version, error)
	// VersionFiles lists the files of a version in name order.
	VersionFiles(ctx context.Context, versionID string) ([]File, error)
	GetFile(ctx context.Context, packageID, fileID string) (File, error)
	// LatestVersion returns the latest version of a package.
	LatestVersion(ctx context.Context, packageID string) (Version, error)
	SetVersionStatus(ctx context.Context, versionID string, status Status, message, detail string) error
	SetFileFacts(ctx context.Context, fileID string, lineCount int, contentKind, encoding string) error
	EditMetadata(ctx context.Context, packageID string, edit MetadataEdit) (Package, error)
	// SetVersionNote changes the note of a package's version number.
	SetVersionNote(ctx context.Context, packageID string, number int, note string) (Version, error)
	// DeletePackage removes the package and returns the content hashes its
	// files referenced.
	DeletePackage(ctx context.Context, id string) ([]string, error)
	// ReleaseBlob calls remove for sha while holding its content-address
	// lock, if and only if no file references sha any more.
	ReleaseBlob(ctx context.Context, sha string, remove func(ctx context.Context) error) error
	Ping(ctx context.Context) error
}
