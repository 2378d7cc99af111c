// Package analysis is VeriPost's one analysis of a post package: it turns
// the files of a package into a Result — per-file facts (outline, sections,
// attributes, symbols, includes, diagnostics, highlighting tokens) and
// package facts (library resolution, cross-file diagnostics, metadata).
// Ingestion, POST /api/v1/parse, `veripost parse --json` and the web UI all
// use it, so they agree, and the CLI and the API print the same JSON.
//
// It is pure: no I/O. A File is a function of a file's bytes and the parser
// version (ParserVersion), so it is stored once per content; Resolve
// combines stored Files into a package Result without parsing again.
package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
	"github.com/veripost/veripost/internal/upg/resolve"
)

// formatVersion changes when the shape of a stored File or the resolution
// of stored files changes without the parser changing (2: SECTIONEXIST
// guards on references, guard analysis across the call graph, aggregated
// infos, stock library names, registry libraries).
const formatVersion = 2

// ParserVersion keys stored analyses: the UPG parser version and this
// package's format. When it changes, `veripost reindex` analyses again.
var ParserVersion = fmt.Sprintf("%d.%d", upg.ParserVersion, formatVersion)

// Input is one file of a package.
type Input struct {
	Name string
	Data []byte
}

// File is the analysis of one file's bytes. Nothing in it depends on the
// file's name beyond how it is read (Reader), so one File serves every
// package that holds the same content.
type File struct {
	SHA256        string `json:"sha256"`
	ParserVersion string `json:"parser_version"`
	// Reader is how the bytes were read: "upg" (source: .SRC, .LIB, .ATR,
	// includes), "cnf", "kin", "pinf", "lng", "ctl" or "other".
	Reader      string `json:"reader"`
	Size        int    `json:"size"`
	ContentKind string `json:"content_kind"` // "text" or "binary"
	Encoding    string `json:"encoding"`
	LineEnding  string `json:"line_ending,omitempty"`
	LineCount   int    `json:"line_count"`
	// Counts of the file's own diagnostics.
	ErrorCount   int `json:"error_count"`
	WarningCount int `json:"warning_count"`
	InfoCount    int `json:"info_count"`
	// ControlFamily and System are the first-line marker and :SYSTEM= of a source.
	ControlFamily string `json:"control_family,omitempty"`
	System        string `json:"system,omitempty"`
	// Outline is the table of contents of a source file.
	Outline *upg.Outline `json:"outline,omitempty"`
	// Sections are the source's sections with their byte ranges and the
	// SHA-256 of their bytes (for finding identical sections elsewhere).
	Sections []Section `json:"sections,omitempty"`
	// Facts is what resolution needs (definitions, references, includes,
	// the file's own diagnostics, a side file's parsed content).
	Facts *resolve.Facts `json:"-"`
	// Tokens is the lexer's token stream, packed (see Tokens).
	Tokens []byte `json:"-"`
}

// Section is one :SECTION= block of a source file.
type Section struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // system, calc or user
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	StartByte int    `json:"start_byte"`
	EndByte   int    `json:"end_byte"`
	// ContentHash identifies the section's bytes: the first 16 hex digits
	// (64 bits) of their SHA-256, enough to find identical sections.
	ContentHash string `json:"content_hash"`
}

// Readers of File.Reader.
const (
	ReaderUPG   = "upg"
	ReaderOther = "other"
)

// ReaderOf says how a file of this name is read. Stored analyses are keyed
// by (content, parser version, reader).
func ReaderOf(name string) string {
	k := upg.KindOf(name)
	switch {
	case k.IsSource():
		return ReaderUPG
	case k == upg.KindOther:
		return ReaderOther
	}
	return string(k)
}

// Diagnostics returns the file's own findings.
func (f *File) Diagnostics() []upg.Diagnostic {
	if f.Facts == nil {
		return nil
	}
	return f.Facts.Diagnostics
}

// AnalyzeFile analyses one file's bytes. name decides how the bytes are
// read (by extension) and names the file in diagnostics.
func AnalyzeFile(name string, data []byte) *File {
	f, _ := analyzeFile(name, data)
	return f
}

// AnalyzeParsed is Analyze that also returns the syntax tree of every UPG
// source (by name), for work on the trees themselves (comparing two
// packages, explaining a section) without parsing twice.
func AnalyzeParsed(inputs []Input) (Result, map[string]*upg.File) {
	files := make([]Named, len(inputs))
	trees := map[string]*upg.File{}
	for i, in := range inputs {
		f, tree := analyzeFile(in.Name, in.Data)
		files[i] = Named{Name: in.Name, File: f}
		if tree != nil {
			trees[in.Name] = tree
		}
	}
	return Resolve(files), trees
}

func analyzeFile(name string, data []byte) (*File, *upg.File) {
	sum := sha256.Sum256(data)
	tf := textfile.Inspect(data)
	facts, parsed := resolve.Extract(name, data)
	f := &File{
		SHA256: hex.EncodeToString(sum[:]), ParserVersion: ParserVersion, Reader: ReaderOf(name),
		Size: len(data), ContentKind: tf.Kind, Encoding: tf.Encoding, LineEnding: tf.LineEnding, LineCount: tf.Lines,
		Facts: facts,
	}
	for _, d := range facts.Diagnostics {
		f.count(d.Severity)
	}
	if parsed == nil {
		return f, nil
	}
	ol := parsed.Outline()
	ol.File = "" // the same bytes may be stored under other names
	f.Outline = ol
	f.ControlFamily, f.System = parsed.ControlFamily, ol.System
	for _, s := range ol.Sections {
		lo, hi := clamp(s.Offset, len(data)), clamp(s.End, len(data))
		sum := sha256.Sum256(data[lo:hi])
		f.Sections = append(f.Sections, Section{Name: s.Name, Kind: s.Kind, StartLine: s.Line, EndLine: s.EndLine,
			StartByte: s.Offset, EndByte: s.End, ContentHash: hex.EncodeToString(sum[:8])})
	}
	f.Tokens = PackTokens(parsed.Tokens())
	return f, parsed
}

func (f *File) count(s upg.Severity) {
	switch s {
	case upg.SeverityError:
		f.ErrorCount++
	case upg.SeverityWarning:
		f.WarningCount++
	default:
		f.InfoCount++
	}
}

func clamp(i, n int) int { return max(0, min(i, n)) }

// Named is a File under the name it has in one package.
type Named struct {
	Name string
	*File
	// Registry is the label of a stock library taken from the library
	// registry because the package does not ship it (see resolve.FileFacts).
	Registry string
}

// Result is the analysis of a package.
type Result struct {
	ParserVersion string      `json:"parser_version"`
	Files         []FileEntry `json:"files"`
	Libraries     []Library   `json:"libraries"`
	// Diagnostics are the findings that only show across files (undefined
	// references, missing libraries, sections defined twice …); each file's
	// own findings are on the file.
	Diagnostics []upg.Diagnostic `json:"diagnostics"`
	Metadata    resolve.Metadata `json:"metadata"`
	Summary     Summary          `json:"summary"`
	// Package is the full resolution (definitions, resolved references),
	// for explanations and comparisons; it is not part of the JSON.
	Package *resolve.Package `json:"-"`
}

// FileEntry is one file of an analysed package.
type FileEntry struct {
	Name string       `json:"name"`
	Kind upg.FileKind `json:"kind"` // from the name's extension
	Role string       `json:"role"`
	// Registry is set on a library taken from the library registry: its label.
	Registry string `json:"registry,omitempty"`
	*File
	// Diagnostics are the file's own findings, named after this file.
	Diagnostics []upg.Diagnostic `json:"diagnostics"`
	// Side is a parsed side file (.CNF, .KIN, .PINF, .LNG, .CTL).
	Side *resolve.SideFile `json:"side,omitempty"`
}

// Library is one :LIBRARY= or :INCLUDE= line and how it resolved, with the
// content it resolved to.
type Library struct {
	resolve.Library
	ResolvedSHA256 string `json:"resolved_sha256,omitempty"`
}

// Summary counts what the package holds.
type Summary struct {
	Files       int            `json:"files"`
	Sections    int            `json:"sections"`
	Definitions map[string]int `json:"definitions"` // by kind
	References  map[string]int `json:"references"`  // by resolution status
	Errors      int            `json:"errors"`
	Warnings    int            `json:"warnings"`
	Infos       int            `json:"infos"`
}

// Analyze analyses every file and resolves them as one package.
func Analyze(inputs []Input) Result {
	files := make([]Named, len(inputs))
	for i, in := range inputs {
		files[i] = Named{Name: in.Name, File: AnalyzeFile(in.Name, in.Data)}
	}
	return Resolve(files)
}

// Resolve combines analysed files (fresh or stored) into the package
// result. It parses nothing. Names must be unique within the package.
// Registry files (Named.Registry) answer only libraries no package file
// matches.
func Resolve(files []Named) Result {
	in := make([]resolve.FileFacts, len(files))
	shaByName := map[string]string{}
	for i, f := range files {
		in[i] = resolve.FileFacts{Name: f.Name, Facts: f.Facts, Registry: f.Registry}
		shaByName[f.Name] = f.SHA256
	}
	pkg := resolve.ResolveFacts(in)
	res := Result{ParserVersion: ParserVersion, Package: pkg, Metadata: pkg.Metadata,
		Files: make([]FileEntry, len(files)), Libraries: make([]Library, 0, len(pkg.Libraries)), Diagnostics: []upg.Diagnostic{},
		Summary: Summary{Files: len(files), Definitions: map[string]int{}, References: map[string]int{}}}

	// A diagnostic a file's own facts hold belongs to the file; the rest
	// were found across files.
	own := map[string]int{}
	side := map[string]*resolve.SideFile{}
	for i := range pkg.Side {
		side[pkg.Side[i].Name] = &pkg.Side[i]
	}
	for i, f := range files {
		e := FileEntry{Name: f.Name, Kind: upg.KindOf(f.Name), File: f.File, Diagnostics: []upg.Diagnostic{}, Side: side[f.Name], Registry: f.Registry}
		if i < len(pkg.Files) {
			e.Role = pkg.Files[i].Role
		}
		for _, d := range f.Diagnostics() {
			d.File = f.Name
			e.Diagnostics = append(e.Diagnostics, d)
			own[diagKey(d)]++
		}
		res.Files[i] = e
	}
	for _, d := range pkg.Diagnostics {
		if k := diagKey(d); own[k] > 0 {
			own[k]--
			continue
		}
		res.Diagnostics = append(res.Diagnostics, d)
	}
	for _, d := range pkg.Diagnostics {
		switch d.Severity {
		case upg.SeverityError:
			res.Summary.Errors++
		case upg.SeverityWarning:
			res.Summary.Warnings++
		default:
			res.Summary.Infos++
		}
	}
	for _, l := range pkg.Libraries {
		res.Libraries = append(res.Libraries, Library{Library: l, ResolvedSHA256: shaByName[l.Resolved]})
	}
	for _, d := range pkg.Definitions {
		res.Summary.Definitions[d.Kind]++
		if d.Kind == resolve.KindSection {
			res.Summary.Sections++
		}
	}
	for _, r := range pkg.References {
		res.Summary.References[r.Status]++
	}
	return res
}

func diagKey(d upg.Diagnostic) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s", d.File, d.Code, d.Line, d.Col, d.Message)
}

// FileSetKey identifies a package's content for its stored package-level
// result: the same file names with the same contents (and the same registry
// libraries standing in for unshipped ones), analysed by the same parser
// version, resolve the same way.
func FileSetKey(files []Named) string {
	parts := make([]string, len(files))
	for i, f := range files {
		parts[i] = f.Name + "\x00" + f.SHA256
		if f.Registry != "" {
			parts[i] += "\x00registry\x00" + f.Registry
		}
	}
	sort.Strings(parts)
	h := sha256.New()
	h.Write([]byte(ParserVersion + "\x01"))
	h.Write([]byte(strings.Join(parts, "\x01")))
	return hex.EncodeToString(h.Sum(nil))
}

// UnshippedLibraries lists the file names the :LIBRARY=/:INCLUDE= lines of
// these files name but no file of the package matches (by file name,
// case-insensitively), in first-seen order: what the library registry could
// stand in for. It reads the stored facts only.
func UnshippedLibraries(files []Named) []string {
	have := map[string]bool{}
	for _, f := range files {
		have[strings.ToUpper(upg.BaseName(f.Name))] = true
	}
	var out []string
	for _, f := range files {
		if f.File == nil || f.Facts == nil {
			continue
		}
		for _, inc := range f.Facts.Includes {
			b := upg.BaseName(inc.Path)
			if k := strings.ToUpper(b); b != "" && !have[k] {
				have[k] = true
				out = append(out, b)
			}
		}
	}
	return out
}
