// Package diff compares two sets of UPG post files — two versions of a
// package, two packages, two variants of a library — and says what
// changed: which files were added, removed, renamed or left identical, a
// line diff of every changed text file (with intra-line highlights), and a
// UPG-aware diff built on the syntax tree: sections, headers, attributes,
// operations, defines, libraries and symbols.
//
// It is pure: the caller hands it named byte slices and gets one Result
// back. Every item of the result carries the line ranges it covers on both
// sides, so a user interface can link to them.
package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// File is one named file of a side.
type File struct {
	Name string
	Data []byte
	// SHA256 is the lower-case hex SHA-256 of Data; computed when empty.
	SHA256 string
	// ID is an opaque identifier the caller wants back on the file's
	// entries (for example the stored file's id, to build links).
	ID string
}

// Side is one of the two things compared.
type Side struct {
	Label string // shown in summaries, e.g. "Tormach v3"
	Files []File
}

// Options change what counts as a difference and how much is returned.
type Options struct {
	// IgnoreWhitespace compares lines with all blanks and tabs removed,
	// and also ignores changes that only add or remove blank lines, line
	// endings (CRLF/LF) and the newline at the end of the file.
	IgnoreWhitespace bool `json:"ignore_whitespace"`
	// IgnoreCase compares lines without regard to letter case.
	IgnoreCase bool `json:"ignore_case"`
	// IgnoreComments ignores changes that only touch comment lines ('*'
	// lines and *START COMMENTS … *END COMMENTS blocks) and blank lines.
	IgnoreComments bool `json:"ignore_comments"`
	// Context is the number of unchanged lines shown around each change
	// (default DefaultContext; negative means 0).
	Context int `json:"context"`
	// NoHunks leaves the text hunks out (summary and UPG-aware diff only).
	NoHunks bool `json:"no_hunks,omitempty"`
}

// DefaultContext is the number of unchanged lines shown around a change.
const DefaultContext = 3

// MaxContext bounds Options.Context (a "whole file" view asks for this).
const MaxContext = 1_000_000

// Limits that keep a diff of untrusted input bounded in time and memory.
const (
	// MaxTextBytes is the largest file that gets a line diff; larger
	// files are compared by content hash only.
	MaxTextBytes = 16 << 20
	// MaxItems bounds each list of UPG-aware items (the rest are counted).
	MaxItems = 2000
	// MaxStatements bounds the statements listed for one section.
	MaxStatements = 300
	// lineDiffTimeout bounds the line-diff search; past it the result is
	// still a correct diff, only possibly not the smallest one.
	lineDiffTimeout = 2 * time.Second
)

// File statuses.
const (
	StatusIdentical = "identical"
	StatusModified  = "modified"
	StatusAdded     = "added"
	StatusRemoved   = "removed"
	StatusRenamed   = "renamed" // paired by content similarity; may also be modified
)

// Result is everything found between side A and side B.
type Result struct {
	A SideInfo `json:"a"`
	B SideInfo `json:"b"`
	// Identical is true when nothing differs (under the options).
	Identical bool    `json:"identical"`
	Summary   string  `json:"summary"`
	Counts    Counts  `json:"counts"`
	Options   Options `json:"options"`
	// Files lists every file of both sides, paired: changed files first
	// in name order, then identical ones.
	Files    []FileDiff `json:"files"`
	Semantic Semantic   `json:"semantic"`
}

// SideInfo describes one side.
type SideInfo struct {
	Label string `json:"label"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// FileRef is one side of a file pair.
type FileRef struct {
	Name       string `json:"name"`
	ID         string `json:"id,omitempty"`
	SHA256     string `json:"sha256"`
	Size       int    `json:"size"`
	Lines      int    `json:"lines"`
	Encoding   string `json:"encoding"`              // ascii, utf-8, windows-1252, binary
	LineEnding string `json:"line_ending,omitempty"` // CRLF, LF, mixed CRLF and LF, or "" (one line)
	// NewlineAtEnd reports whether the last line ends with a line break.
	NewlineAtEnd bool `json:"newline_at_end"`
}

// FileDiff is one file pair (or a file on one side only).
type FileDiff struct {
	Status string   `json:"status"`
	Kind   string   `json:"kind"` // UPG file kind: src, lib, atr, cnf, kin, pinf, lng, ctl, include, other
	A      *FileRef `json:"a,omitempty"`
	B      *FileRef `json:"b,omitempty"`
	// Similarity of the two contents (0..1), for renamed and modified files.
	Similarity float64 `json:"similarity,omitempty"`
	Binary     bool    `json:"binary,omitempty"`
	// TooLarge is set when the file was too large for a line diff.
	TooLarge bool `json:"too_large,omitempty"`
	// Notes say what differs besides lines: line endings, encoding, the
	// newline at the end.
	Notes   []string `json:"notes,omitempty"`
	Added   int      `json:"added"`   // lines
	Removed int      `json:"removed"` // lines
	Hunks   []Hunk   `json:"hunks,omitempty"`
	// Equivalent is set when the bytes differ only in ways the options
	// ignore.
	Equivalent bool `json:"equivalent,omitempty"`
	// PerLineEOL is set when a side mixes CRLF and LF line endings: the
	// line break of each line is then part of the comparison, and hunk
	// lines carry their own (CR).
	PerLineEOL bool `json:"per_line_eol,omitempty"`
}

// Hunk is one region of change with its context, as in a unified diff.
type Hunk struct {
	AStart int `json:"a_start"` // first line on side A (1-based; the line before when ALines is 0)
	ALines int `json:"a_lines"`
	BStart int `json:"b_start"`
	BLines int `json:"b_lines"`
	// Section is the :SECTION= the hunk starts in (side B), for orientation.
	Section string `json:"section,omitempty"`
	Lines   []Line `json:"lines"`
}

// Line operations.
const (
	OpContext = "context"
	OpDelete  = "delete"
	OpInsert  = "insert"
)

// Line is one line of a hunk.
type Line struct {
	Op   string `json:"op"`
	A    int    `json:"a,omitempty"` // line number on side A (context and delete)
	B    int    `json:"b,omitempty"` // line number on side B (context and insert)
	Text string `json:"text"`        // decoded to UTF-8, without the line break
	// Marks are the changed parts of a line paired with a line on the
	// other side: [start, end) byte offsets into Text.
	Marks [][2]int `json:"marks,omitempty"`
	// CR is set on lines ending in CRLF when the file has PerLineEOL.
	CR bool `json:"cr,omitempty"`
	// Raw holds the line's original bytes when Text cannot be turned back
	// into them (Windows-1252 bytes that have no character).
	Raw []byte `json:"raw,omitempty"`
	// Ignored marks a change inside the hunk that the options ignore
	// (shown because a real change is next to it).
	Ignored bool `json:"ignored,omitempty"`
}

// Loc is a line range in one file of one side.
type Loc struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	EndLine int    `json:"end_line"`
}

// Counts are the numbers behind the summary.
type Counts struct {
	FilesAdded     int `json:"files_added"`
	FilesRemoved   int `json:"files_removed"`
	FilesRenamed   int `json:"files_renamed"`
	FilesModified  int `json:"files_modified"`
	FilesIdentical int `json:"files_identical"`
	LinesAdded     int `json:"lines_added"`
	LinesRemoved   int `json:"lines_removed"`

	SectionsAdded   int `json:"sections_added"`
	SectionsRemoved int `json:"sections_removed"`
	SectionsChanged int `json:"sections_changed"`
	SectionsRenamed int `json:"sections_renamed"`
	SectionsMoved   int `json:"sections_moved"`

	AttributesAdded   int `json:"attributes_added"`
	AttributesRemoved int `json:"attributes_removed"`
	AttributesChanged int `json:"attributes_changed"`

	OperationsAdded   int `json:"operations_added"`
	OperationsRemoved int `json:"operations_removed"`
	OperationsChanged int `json:"operations_changed"`

	HeadersChanged   int `json:"headers_changed"` // added, removed or changed
	DefinesChanged   int `json:"defines_changed"`
	LibrariesChanged int `json:"libraries_changed"`

	DefinitionsAdded    int `json:"definitions_added"`
	DefinitionsRemoved  int `json:"definitions_removed"`
	ReferencesAppeared  int `json:"references_appeared"`
	ReferencesGone      int `json:"references_disappeared"`
	ReferencesUndefined int `json:"references_now_undefined"`
}

// Compare diffs side a against side b.
func Compare(a, b Side, opt Options) *Result {
	switch {
	case opt.Context == 0:
		opt.Context = DefaultContext
	case opt.Context < 0:
		opt.Context = 0
	}
	opt.Context = min(opt.Context, MaxContext)
	c := newComparer(a, b, opt)
	c.pairFiles()
	if c.needsAnalysis() {
		c.anA, c.anB = analyse(c.a), analyse(c.b)
	}
	c.textDiffs()
	c.semantic()
	c.finish()
	return c.res
}

// sha256Hex is the lower-case hex SHA-256 of data (the blob store's key).
func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
