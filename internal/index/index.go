// Package index holds the structural index of post packages: what the UPG
// parser found in each file (sections, attributes, symbols, diagnostics,
// includes) and what the package resolver found across a version
// (libraries, cross-file diagnostics, metadata). It is the domain side of
// the index; the SQL store implements Repository.
//
// File results are a pure function of a file's bytes and the parser
// version, so they are keyed by (SHA256, ParserVersion) and stored once for
// all packages that share the content.
package index

import "context"

// Severity of a diagnostic.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// FileResult is what parsing one file's bytes yields.
type FileResult struct {
	SHA256        string
	ParserVersion string
	// Kind says how the file was read: "upg" (SRC/LIB/ATR source), "pinf",
	// "cnf", "kin", "lng", "binary" (compiled .CTL and other non-text).
	Kind          string
	LineCount     int
	ErrorCount    int
	WarningCount  int
	ControlFamily string // first-line marker, e.g. "FANUCM"
	System        string // :SYSTEM= value
	// Outline is the parser's outline of the file as JSON (header,
	// attributes, operations, libraries, sections), served as is.
	Outline     []byte
	Sections    []Section
	Attributes  []Attribute
	Symbols     []Symbol
	Diagnostics []Diagnostic
	Includes    []Include
}

// Section is one :SECTION= block.
type Section struct {
	Name        string `json:"name"`
	Canonical   string `json:"canonical"`
	Kind        string `json:"kind"` // system, calc or user
	StartLine   int    `json:"start_line"`
	EndLine     int    `json:"end_line"`
	StartByte   int    `json:"start_byte"`
	EndByte     int    `json:"end_byte"`
	ContentHash string `json:"content_hash"` // sha256 of the section's bytes
}

// Attribute is one :ATTRNAME= block.
type Attribute struct {
	Name         string `json:"name"`
	Canonical    string `json:"canonical"`
	Type         string `json:"type"`
	VType        string `json:"vtype"`
	DefaultValue string `json:"default_value"`
	AttrID       string `json:"attr_id"`
	Line         int    `json:"line"`
}

// Symbol is one definition of, or reference to, a named thing.
type Symbol struct {
	Name      string `json:"name"`      // as written
	Canonical string `json:"canonical"` // matching form (upper case, spaces as underscores)
	Kind      string `json:"kind"`      // attribute, section, define …
	Role      string `json:"role"`      // definition or reference
	Context   string `json:"context"`   // for references: token, expr, call, var … (see upg.Ref*)
	Line      int    `json:"line"`
	Col       int    `json:"col"`
	Section   string `json:"section,omitempty"` // enclosing section, if any
}

// Diagnostic is one finding of the parser or resolver.
type Diagnostic struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
}

// Include is one :LIBRARY= or :INCLUDE= line as declared.
type Include struct {
	Path string `json:"path"`
	Line int    `json:"line"`
}

// VersionResult is what the resolver found across one version's files.
type VersionResult struct {
	VersionID     string
	ParserVersion string
	Libraries     []Library
	// Diagnostics found across files (undefined references, missing
	// libraries, duplicate sections…), each placed in a file.
	Diagnostics  []FileDiagnostic
	SectionCount int
	Metadata     Metadata
}

// Library is one include and how it resolved.
type Library struct {
	FileID         string `json:"file_id"` // the file that declares it
	DeclaredPath   string `json:"declared_path"`
	Line           int    `json:"line"`
	ResolvedFileID string `json:"resolved_file_id,omitempty"`
	ResolvedName   string `json:"resolved_name,omitempty"`
	ResolvedSHA256 string `json:"resolved_sha256,omitempty"`
	How            string `json:"how"` // e.g. exact, by-name, unresolved
}

// FileDiagnostic is a diagnostic in a given file of the version.
type FileDiagnostic struct {
	FileID string
	Diagnostic
}

// Metadata is what the source says about the machine.
type Metadata struct {
	MachineName    string
	ControllerType string
	System         string
	ControlFamily  string
}

// Repository stores and reads the index.
type Repository interface {
	// HasFileResult reports whether content sha was already indexed by
	// parserVersion (then it need not be parsed again).
	HasFileResult(ctx context.Context, sha, parserVersion string) (bool, error)
	// SaveVersion writes the file results not stored yet, replaces the
	// version's results and marks the version ready, in one transaction.
	SaveVersion(ctx context.Context, files []FileResult, v VersionResult) error
}

// FileOutline is one file of a version with its parse summary.
type FileOutline struct {
	FileID       string `json:"file_id"`
	Filename     string `json:"filename"`
	Extension    string `json:"extension"`
	SHA256       string `json:"sha256"`
	Kind         string `json:"kind"`
	LineCount    int    `json:"line_count"`
	ErrorCount   int    `json:"error_count"`
	WarningCount int    `json:"warning_count"`
	// Outline is the parser's outline JSON (nil when the file was not indexed).
	Outline []byte `json:"-"`
}

// DiagnosticRow is a diagnostic of a version, from the parser (per file)
// or the resolver (across files).
type DiagnosticRow struct {
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
	Source   string `json:"source"` // parser or resolver
	Diagnostic
}

// SymbolOccurrence is one definition or reference found in a package.
type SymbolOccurrence struct {
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	Symbol
}

// SymbolPackage groups a symbol's occurrences in one package.
type SymbolPackage struct {
	PackageID   string             `json:"package_id"`
	PackageName string             `json:"package_name"`
	Version     int                `json:"version"`
	Definitions int                `json:"definitions"`
	References  int                `json:"references"`
	Occurrences []SymbolOccurrence `json:"occurrences"`
}

// PackageRef names a package (its latest version).
type PackageRef struct {
	PackageID   string `json:"package_id"`
	PackageName string `json:"package_name"`
	Version     int    `json:"version"`
	FileID      string `json:"file_id"`
	Filename    string `json:"filename"`
}

// LibraryVariant is one distinct content of a library file name.
type LibraryVariant struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Packages int    `json:"packages"`
}

// LibraryUse is how a version uses a library.
type LibraryUse struct {
	Library
	Filename string `json:"filename"` // declaring file's name
}
