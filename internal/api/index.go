package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/ingest"
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

// IndexReader reads the structural index (the SQL store implements it).
type IndexReader interface {
	VersionOutline(ctx context.Context, versionID string) ([]index.FileOutline, error)
	VersionLibraries(ctx context.Context, versionID string) ([]index.LibraryUse, error)
	VersionDiagnostics(ctx context.Context, versionID, severity, fileID string) ([]index.DiagnosticRow, error)
	SymbolUsage(ctx context.Context, canonical string, limit, offset int) ([]index.SymbolPackage, int, error)
	LibraryPackages(ctx context.Context, sha string) ([]index.PackageRef, error)
	LibraryVariants(ctx context.Context, name string) ([]index.LibraryVariant, error)
}

// Reindexer starts and reports re-indexing after a parser upgrade.
type Reindexer interface {
	StartReindex(ctx context.Context) (queued int, err error)
	ReindexProgress(ctx context.Context) (parserVersion string, done, total int, err error)
}

func (h *handlers) registerIndex(api huma.API) {
	tags := []string{"index"}
	huma.Register(api, huma.Operation{
		OperationID: "package-outline", Method: http.MethodGet, Path: Prefix + "/packages/{id}/outline",
		Summary: "The structure of each file of a version: header, attributes, operations, libraries, sections with line ranges", Tags: tags, Errors: []int{404},
	}, h.outline)
	huma.Register(api, huma.Operation{
		OperationID: "package-diagnostics", Method: http.MethodGet, Path: Prefix + "/packages/{id}/diagnostics",
		Summary: "What the parser and resolver found wrong or doubtful, filterable by severity and file", Tags: tags, Errors: []int{404},
	}, h.diagnostics)
	huma.Register(api, huma.Operation{
		OperationID: "file-source", Method: http.MethodGet, Path: Prefix + "/packages/{id}/files/{file_id}/source",
		Summary: "A file's text, line by line, with its UPG token stream for highlighting", Tags: tags, Errors: []int{404, 415, 503},
	}, h.source)
	huma.Register(api, huma.Operation{
		OperationID: "symbol-usage", Method: http.MethodGet, Path: Prefix + "/symbols/{name}",
		Summary: "Definitions and references of an attribute or section across all packages, grouped by package", Tags: tags,
	}, h.symbol)
	huma.Register(api, huma.Operation{
		OperationID: "library-packages", Method: http.MethodGet, Path: Prefix + "/libraries/{sha256}/packages",
		Summary: "Packages whose latest version includes a library with exactly this content", Tags: tags, Errors: []int{422},
	}, h.libraryPackages)
	huma.Register(api, huma.Operation{
		OperationID: "library-variants", Method: http.MethodGet, Path: Prefix + "/libraries",
		Summary: "The distinct contents of a library file name (e.g. MILL.LIB) and how many packages use each", Tags: tags,
	}, h.libraryVariants)
	huma.Register(api, huma.Operation{
		OperationID: "start-reindex", Method: http.MethodPost, Path: Prefix + "/admin/reindex",
		Summary: "Re-parse every version not yet indexed by the current parser version (background)", Tags: []string{"admin"},
		DefaultStatus: http.StatusAccepted,
	}, h.startReindex)
	huma.Register(api, huma.Operation{
		OperationID: "reindex-progress", Method: http.MethodGet, Path: Prefix + "/admin/reindex",
		Summary: "How many versions are indexed by the current parser version", Tags: []string{"admin"},
	}, h.reindexProgress)
}

// latest returns the package's latest version, as a 404 if missing.
func (h *handlers) latest(ctx context.Context, id string) (catalog.Version, error) {
	v, err := h.Repo.LatestVersion(ctx, id)
	if err != nil {
		return v, h.repoErr(ctx, err, "package", id)
	}
	return v, nil
}

// OutlineFile is one file in the outline answer.
type OutlineFile struct {
	index.FileOutline
	Outline json.RawMessage `json:"outline"`
}

// OutlineBody is the outline answer.
type OutlineBody struct {
	PackageID     string             `json:"package_id"`
	Version       int                `json:"version"`
	Status        catalog.Status     `json:"status"`
	ParserVersion string             `json:"parser_version"`
	Files         []OutlineFile      `json:"files"`
	Libraries     []index.LibraryUse `json:"libraries"`
}

type outlineOutput struct{ Body OutlineBody }

func (h *handlers) outline(ctx context.Context, in *idInput) (*outlineOutput, error) {
	v, err := h.latest(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	files, err := h.Index.VersionOutline(ctx, v.ID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	libs, err := h.Index.VersionLibraries(ctx, v.ID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &outlineOutput{Body: OutlineBody{PackageID: v.PackageID, Version: v.Number, Status: v.Status, ParserVersion: v.ParserVersion, Libraries: libs, Files: []OutlineFile{}}}
	for _, f := range files {
		raw := json.RawMessage(f.Outline)
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		out.Body.Files = append(out.Body.Files, OutlineFile{FileOutline: f, Outline: raw})
	}
	return out, nil
}

type diagnosticsInput struct {
	ID       string `path:"id"`
	Severity string `query:"severity" enum:"error,warning,info" doc:"only this severity"`
	FileID   string `query:"file_id" doc:"only this file"`
}

// DiagnosticsBody is the diagnostics answer.
type DiagnosticsBody struct {
	PackageID string                `json:"package_id"`
	Version   int                   `json:"version"`
	Counts    map[string]int        `json:"counts"`
	Items     []index.DiagnosticRow `json:"items"`
}

type diagnosticsOutput struct{ Body DiagnosticsBody }

func (h *handlers) diagnostics(ctx context.Context, in *diagnosticsInput) (*diagnosticsOutput, error) {
	v, err := h.latest(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	items, err := h.Index.VersionDiagnostics(ctx, v.ID, in.Severity, in.FileID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	counts := map[string]int{index.SeverityError: 0, index.SeverityWarning: 0, index.SeverityInfo: 0}
	for _, d := range items {
		counts[d.Severity]++
	}
	return &diagnosticsOutput{Body: DiagnosticsBody{PackageID: v.PackageID, Version: v.Number, Counts: counts, Items: items}}, nil
}

// SourceLine is one line of a source answer: its text (decoded for
// display) and its tokens as [kind index, length] pairs covering the text in
// order. Lengths count UTF-16 code units, as JavaScript strings do.
type SourceLine struct {
	Text   string   `json:"text"`
	Tokens [][2]int `json:"tokens"`
}

// SourceBody is the source answer.
type SourceBody struct {
	FileID     string       `json:"file_id"`
	Filename   string       `json:"filename"`
	SHA256     string       `json:"sha256"`
	Encoding   string       `json:"encoding"`
	LineEnding string       `json:"line_ending" doc:"CRLF, LF, mixed CRLF and LF, or empty"`
	TokenKinds []string     `json:"token_kinds" doc:"names of the kind indexes used in tokens"`
	Lines      []SourceLine `json:"lines"`
}

type sourceOutput struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         SourceBody
}

func (h *handlers) source(ctx context.Context, in *fileInput) (*sourceOutput, error) {
	f, err := h.Repo.GetFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "file", in.FileID)
	}
	obj, err := h.Blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return nil, h.blobErr(ctx, err, f.Filename)
	}
	defer obj.Close()
	data := make([]byte, f.Size)
	if _, err := readFull(obj, data); err != nil {
		return nil, h.blobErr(ctx, err, f.Filename)
	}
	facts := textfile.Inspect(data)
	if facts.Kind == "binary" {
		return nil, apperror.New(http.StatusUnsupportedMediaType, apperror.CodeBinaryFile,
			f.Filename+" is a compiled or binary file, so it has no source to show. Download it instead.",
			"file contains NUL bytes")
	}
	etag := `"` + f.SHA256 + "-" + ingest.ParserVersion + `"`
	return &sourceOutput{ETag: etag, CacheControl: "private, max-age=3600", Body: SourceBody{
		FileID: f.ID, Filename: f.Filename, SHA256: f.SHA256, Encoding: facts.Encoding,
		LineEnding: facts.LineEnding, TokenKinds: upg.TokenKinds(), Lines: sourceLines(data, facts.Encoding),
	}}, nil
}

func readFull(r interface{ Read([]byte) (int, error) }, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			if n == len(buf) {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}

// sourceLines splits the token stream into display lines. Line terminators
// are not part of the text; their tokens are dropped.
func sourceLines(data []byte, encoding string) []SourceLine {
	toks := upg.Tokenize(data)
	lines := make([]SourceLine, 0, strings.Count(string(data), "\n")+1)
	var text strings.Builder
	cur := SourceLine{Tokens: [][2]int{}}
	flush := func() {
		cur.Text = text.String()
		lines = append(lines, cur)
		text.Reset()
		cur = SourceLine{Tokens: [][2]int{}}
	}
	for _, t := range toks {
		if t.Kind == upg.TokEOL {
			flush()
			continue
		}
		s := textfile.Decode(data[t.Offset:t.End], encoding)
		text.WriteString(s)
		cur.Tokens = append(cur.Tokens, [2]int{int(t.Kind) - 1, utf16Len(s)})
	}
	if text.Len() > 0 || len(cur.Tokens) > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// utf16Len counts s in UTF-16 code units, as JavaScript measures strings
// (s is valid UTF-8: Decode made it so).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

type symbolInput struct {
	Name   string `path:"name" doc:"attribute or section name; spaces and underscores match, case-insensitive"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"packages per page"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous page"`
}

// SymbolBody is the symbol answer.
type SymbolBody struct {
	Name          string                `json:"name"`
	Canonical     string                `json:"canonical"`
	TotalPackages int                   `json:"total_packages"`
	Packages      []index.SymbolPackage `json:"packages"`
	NextCursor    string                `json:"next_cursor,omitempty"`
	// Catalog explains the name when the UPG language itself defines it.
	Catalog []upg.CatalogEntry `json:"catalog,omitempty"`
}

type symbolOutput struct{ Body SymbolBody }

func (h *handlers) symbol(ctx context.Context, in *symbolInput) (*symbolOutput, error) {
	offset := 0
	if in.Cursor != "" {
		n, err := strconv.Atoi(in.Cursor)
		if err != nil || n < 0 {
			return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
				"The page cursor is not valid. Start again from the first page.", "cursor "+strconv.Quote(in.Cursor))
		}
		offset = n
	}
	canonical := upg.CanonicalName(in.Name)
	pkgs, total, err := h.Index.SymbolUsage(ctx, canonical, in.Limit, offset)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	body := SymbolBody{Name: in.Name, Canonical: canonical, TotalPackages: total, Packages: pkgs, Catalog: upg.Lookup(in.Name)}
	if offset+len(pkgs) < total {
		body.NextCursor = strconv.Itoa(offset + len(pkgs))
	}
	return &symbolOutput{Body: body}, nil
}

type shaInput struct {
	SHA256 string `path:"sha256" pattern:"^[0-9a-fA-F]{64}$" doc:"SHA-256 of the library's content"`
}

type libraryPackagesOutput struct {
	Body struct {
		SHA256   string             `json:"sha256"`
		Packages []index.PackageRef `json:"packages"`
	}
}

func (h *handlers) libraryPackages(ctx context.Context, in *shaInput) (*libraryPackagesOutput, error) {
	refs, err := h.Index.LibraryPackages(ctx, in.SHA256)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &libraryPackagesOutput{}
	out.Body.SHA256, out.Body.Packages = strings.ToLower(in.SHA256), refs
	return out, nil
}

type libraryNameInput struct {
	Name string `query:"name" required:"true" minLength:"1" doc:"library file name, e.g. MILL.LIB (case-insensitive)"`
}

type libraryVariantsOutput struct {
	Body struct {
		Name     string                 `json:"name"`
		Variants []index.LibraryVariant `json:"variants"`
	}
}

func (h *handlers) libraryVariants(ctx context.Context, in *libraryNameInput) (*libraryVariantsOutput, error) {
	vs, err := h.Index.LibraryVariants(ctx, upg.BaseName(in.Name))
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &libraryVariantsOutput{}
	out.Body.Name, out.Body.Variants = in.Name, vs
	return out, nil
}

// ReindexBody reports re-indexing.
type ReindexBody struct {
	ParserVersion string `json:"parser_version"`
	Queued        int    `json:"queued,omitempty"`
	Done          int    `json:"done"`
	Total         int    `json:"total"`
	Complete      bool   `json:"complete"`
}

type reindexOutput struct{ Body ReindexBody }

func (h *handlers) startReindex(ctx context.Context, _ *struct{}) (*reindexOutput, error) {
	queued, err := h.Reindex.StartReindex(ctx)
	if err != nil {
		return nil, h.fail(ctx, fmt.Errorf("queueing re-index: %w", err))
	}
	// auth: record who started it.
	h.audit(ctx, auth.ActionReindex, fmt.Sprintf("queued re-indexing of %d versions", queued), "", map[string]any{"queued": queued})
	out, err := h.reindexProgress(ctx, nil)
	if err != nil {
		return nil, err
	}
	out.Body.Queued = queued
	return out, nil
}

func (h *handlers) reindexProgress(ctx context.Context, _ *struct{}) (*reindexOutput, error) {
	pv, done, total, err := h.Reindex.ReindexProgress(ctx)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &reindexOutput{Body: ReindexBody{ParserVersion: pv, Done: done, Total: total, Complete: done >= total}}, nil
}
