// Package index is the domain side of the structural index of post
// packages: the stored analysis of every content (internal/analysis) and of
// every version, and the read models built on them (outlines, diagnostics,
// symbols across packages, library variants). The SQL store implements
// Writer and Reader; ingestion writes, the API and the web UI read through
// the same Reader, so the UI shows nothing the API cannot give.
package index

import (
	"context"
	"time"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// Severity names of diagnostics.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// ContentKey names one stored file analysis: a content read one way.
type ContentKey struct {
	SHA256 string
	Reader string // analysis.ReaderOf(file name)
}

// VersionResult is the package-level part of a version's analysis. It is
// stored once per set of files (FileSet) and shared by identical versions.
type VersionResult struct {
	FileSet     string             `json:"-"`
	Libraries   []analysis.Library `json:"libraries"`
	Diagnostics []upg.Diagnostic   `json:"diagnostics"` // cross-file findings
	Metadata    resolve.Metadata   `json:"metadata"`
	Summary     analysis.Summary   `json:"summary"`
}

// ResultOf keeps what is stored of a package analysis.
func ResultOf(fileSet string, r analysis.Result) *VersionResult {
	return &VersionResult{FileSet: fileSet, Libraries: r.Libraries, Diagnostics: r.Diagnostics, Metadata: r.Metadata, Summary: r.Summary}
}

// AnalysedFile is one file of a version with its analysis.
type AnalysedFile struct {
	FileID string
	Name   string
	// Stored says the analysis was read from the store (StoredAnalyses):
	// it is only referenced, not encoded and written again.
	Stored bool
	*analysis.File
}

// VersionAnalysis is what ingestion stores for a version: the analysis of
// each file (new ones are stored, known ones referenced) and the package
// result; the version moves to ready in the same transaction.
type VersionAnalysis struct {
	VersionID string
	Files     []AnalysedFile
	// Registry are stock libraries from the library registry the package
	// resolved against (FileID empty): their analyses are stored too.
	Registry []AnalysedFile
	// Needs are the library file names the version declares but does not
	// ship (upper case), so a registry change finds it.
	Needs  []string
	Result *VersionResult
	// ResultStored says Result was read from the store (StoredResult).
	ResultStored bool
	// Status is the status the version moves to (from Status.From()).
	Status catalog.Status
}

// Writer stores analyses.
type Writer interface {
	// StoredAnalyses returns the analyses already stored for these
	// contents under the current parser version; unknown ones are absent.
	StoredAnalyses(ctx context.Context, keys []ContentKey) (map[ContentKey]*analysis.File, error)
	// StoredResult returns the package result stored for a file set, or
	// catalog.ErrNotFound.
	StoredResult(ctx context.Context, fileSet string) (*VersionResult, error)
	// SaveAnalysis stores a version's analysis and moves it to a.Status in
	// one transaction.
	SaveAnalysis(ctx context.Context, a VersionAnalysis) error
}

// StoredFile is a file of a version with its stored analysis (nil until the
// version has been analysed).
type StoredFile struct {
	catalog.File
	Analysis *analysis.File
}

// Reader reads the index. Every list is paged.
type Reader interface {
	// AnalysedFiles lists a version's files, in name order, with their
	// stored analyses (outline, sections, facts, tokens).
	AnalysedFiles(ctx context.Context, versionID string) ([]StoredFile, error)
	// Result returns a version's package result (catalog.ErrNotFound until
	// it has been analysed).
	Result(ctx context.Context, versionID string) (*VersionResult, error)
	// VersionSymbol lists a name's definitions (first) and uses in one
	// version's files.
	VersionSymbol(ctx context.Context, versionID, canonical string) ([]SymbolOccurrence, error)
	// ContentSymbol lists a name's definitions (first) and uses in one
	// stored content read as UPG source under the current analysis version
	// (a stock library the registry resolved a package to); none when the
	// content has no such analysis.
	ContentSymbol(ctx context.Context, sha256, canonical string) ([]analysis.Occurrence, error)
	// SymbolUsage pages the packages whose latest version defines or uses
	// a name, newest package first.
	SymbolUsage(ctx context.Context, canonical string, limit int, cursor string) (SymbolPage, error)
	// SymbolNames pages the names (canonical form) that the packages'
	// latest versions define or use, in name order, optionally only those
	// starting with prefix, each with how widely it is used.
	SymbolNames(ctx context.Context, prefix string, limit int, cursor string) (catalog.Page[SymbolName], error)
	// LibraryNames pages the library file names in use, most used first.
	LibraryNames(ctx context.Context, filter string, limit int, cursor string) (catalog.Page[LibraryName], error)
	// LibraryVariants pages the distinct contents of a library file name.
	LibraryVariants(ctx context.Context, name string, limit int, cursor string) (catalog.Page[LibraryVariant], error)
	// LibraryPackages pages the packages whose latest version holds a file
	// with this content, newest first.
	LibraryPackages(ctx context.Context, sha string, limit int, cursor string) (catalog.Page[PackageRef], error)
}

// SymbolOccurrence is one definition or use found in a package's file.
type SymbolOccurrence struct {
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	// SHA256 names the file's content (to show the occurrence's line).
	SHA256 string `json:"sha256,omitempty"`
	analysis.Occurrence
}

// SymbolPackage groups a name's occurrences in one package.
type SymbolPackage struct {
	PackageID   string             `json:"package_id"`
	PackageName string             `json:"package_name"`
	Machine     string             `json:"machine_type,omitempty"`
	Controller  string             `json:"controller_type,omitempty"`
	Version     int                `json:"version"`
	UploadedAt  time.Time          `json:"uploaded_at"`
	Definitions int                `json:"definitions"`
	References  int                `json:"references"`
	Occurrences []SymbolOccurrence `json:"occurrences"`
}

// SymbolPage is one page of a name's packages.
type SymbolPage struct {
	Packages []SymbolPackage `json:"packages"`
	// Total counts the packages; when TotalExact is false it is a lower
	// bound (a very common name: counting them all is not worth the time).
	Total      int    `json:"total_packages"`
	TotalExact bool   `json:"total_exact"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// SymbolName is one name of the symbol index: how many packages' latest
// versions have it, and how often they define and use it. For a very
// common name the counts stop early (PackagesExact false): they are then
// lower bounds.
type SymbolName struct {
	Name          string `json:"name"`
	Kind          string `json:"kind,omitempty"` // attribute, section, define … as first seen
	Packages      int    `json:"packages"`
	PackagesExact bool   `json:"packages_exact"`
	Definitions   int    `json:"definitions"`
	Uses          int    `json:"uses"`
}

// PackageRef names a file of a package's latest version.
type PackageRef struct {
	PackageID   string    `json:"package_id"`
	PackageName string    `json:"package_name"`
	Machine     string    `json:"machine_type,omitempty"`
	Controller  string    `json:"controller_type,omitempty"`
	Version     int       `json:"version"`
	UploadedAt  time.Time `json:"uploaded_at"`
	FileID      string    `json:"file_id"`
	Filename    string    `json:"filename"`
}

// LibraryName is a library file name (.LIB, .ATR or include) in use in the
// latest versions: how many packages have it and how many contents it has.
type LibraryName struct {
	Name     string `json:"name"`
	Packages int    `json:"packages"`
	Variants int    `json:"variants"`
}

// LibraryVariant is one distinct content of a library file name.
type LibraryVariant struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Packages int    `json:"packages"`
}
