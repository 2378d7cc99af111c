package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/textfile"
	"github.com/veripost/veripost/internal/upg"
)

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
		Summary: "What the parser and resolver found wrong or doubtful, filterable by severity and file, paged", Tags: tags, Errors: []int{400, 404},
	}, h.diagnostics)
	huma.Register(api, huma.Operation{
		OperationID: "file-source", Method: http.MethodGet, Path: Prefix + "/packages/{id}/files/{file_id}/source",
		Summary: "A file's text, line by line, with its UPG token stream for highlighting", Tags: tags, Errors: []int{404, 415, 503},
	}, h.source)
	huma.Register(api, huma.Operation{
		OperationID: "package-symbol", Method: http.MethodGet, Path: Prefix + "/packages/{id}/symbols/{name}",
		Summary: "Definitions (first) and uses of a name in one version of a package", Tags: tags, Errors: []int{404},
	}, h.packageSymbol)
	huma.Register(api, huma.Operation{
		OperationID: "symbol-usage", Method: http.MethodGet, Path: Prefix + "/symbols/{name}",
		Summary: "Definitions and references of an attribute or section across all packages, grouped by package, paged", Tags: tags, Errors: []int{400},
	}, h.symbol)
	h.registerSymbolNames(api)
	huma.Register(api, huma.Operation{
		OperationID: "library-packages", Method: http.MethodGet, Path: Prefix + "/libraries/{sha256}/packages",
		Summary: "Packages whose latest version holds a file with exactly this content, newest first, paged", Tags: tags, Errors: []int{400, 422},
	}, h.libraryPackages)
	huma.Register(api, huma.Operation{
		OperationID: "libraries", Method: http.MethodGet, Path: Prefix + "/libraries",
		Summary: "Library file names in use (most used first), or with name=MILL.LIB the distinct contents of that name and how many packages use each; paged", Tags: tags, Errors: []int{400},
	}, h.libraries)
	huma.Register(api, huma.Operation{
		OperationID: "start-reindex", Method: http.MethodPost, Path: Prefix + "/admin/reindex",
		Summary: "Re-analyse every version not yet analysed by the current analysis version (background)", Tags: []string{"admin"},
		DefaultStatus: http.StatusAccepted,
	}, h.startReindex)
	huma.Register(api, huma.Operation{
		OperationID: "reindex-progress", Method: http.MethodGet, Path: Prefix + "/admin/reindex",
		Summary: "How many versions are analysed by the current analysis version", Tags: []string{"admin"},
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

// versionInput picks a package's version (default: the latest).
type versionInput struct {
	ID      string `path:"id" doc:"package id (UUID)"`
	Version int    `query:"version" minimum:"0" doc:"version number; 0 or absent means the latest"`
}

// version returns the requested version of a package, as a 404 if missing.
func (h *handlers) version(ctx context.Context, id string, number int) (catalog.Version, error) {
	var v catalog.Version
	var err error
	if number == 0 {
		v, err = h.Repo.LatestVersion(ctx, id)
	} else {
		v, err = h.Repo.VersionByNumber(ctx, id, number)
	}
	if errors.Is(err, catalog.ErrNotFound) && number != 0 {
		if _, perr := h.Repo.GetPackage(ctx, id); perr == nil {
			return v, apperror.Newf(http.StatusNotFound, apperror.CodeNotFound,
				fmt.Sprintf("This package has no version %d. %s/packages/%s/versions lists its versions.", number, Prefix, id),
				"version %d of package %s", number, id)
		}
	}
	if err != nil {
		return v, h.repoErr(ctx, err, "package", id)
	}
	return v, nil
}

// OutlineFile is one file in the outline answer.
type OutlineFile struct {
	FileID       string       `json:"file_id"`
	Filename     string       `json:"filename"`
	Extension    string       `json:"extension"`
	SHA256       string       `json:"sha256"`
	Kind         string       `json:"kind" doc:"how the file was read: upg (source), cnf, kin, pinf, lng, ctl or other; empty until analysed"`
	LineCount    int          `json:"line_count"`
	ErrorCount   int          `json:"error_count"`
	WarningCount int          `json:"warning_count"`
	Outline      *upg.Outline `json:"outline"`
}

// OutlineBody is the outline answer.
type OutlineBody struct {
	PackageID     string             `json:"package_id"`
	Version       int                `json:"version"`
	Status        catalog.Status     `json:"status"`
	ParserVersion string             `json:"parser_version"`
	Files         []OutlineFile      `json:"files"`
	Libraries     []analysis.Library `json:"libraries"`
}

type outlineOutput struct{ Body OutlineBody }

func (h *handlers) outline(ctx context.Context, in *versionInput) (*outlineOutput, error) {
	v, err := h.version(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	files, res, err := h.analysed(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	out := &outlineOutput{Body: OutlineBody{PackageID: v.PackageID, Version: v.Number, Status: v.Status, ParserVersion: v.ParserVersion,
		Files: []OutlineFile{}, Libraries: []analysis.Library{}}}
	if res != nil {
		out.Body.Libraries = res.Libraries
	}
	for _, f := range files {
		of := OutlineFile{FileID: f.ID, Filename: f.Filename, Extension: f.Extension, SHA256: f.SHA256, LineCount: f.LineCount}
		if a := f.Analysis; a != nil {
			of.Kind, of.LineCount, of.ErrorCount, of.WarningCount, of.Outline = a.Reader, a.LineCount, a.ErrorCount, a.WarningCount, a.Outline
		}
		out.Body.Files = append(out.Body.Files, of)
	}
	return out, nil
}

// analysed reads a version's files with their analyses and its package
// result (nil until analysed).
func (h *handlers) analysed(ctx context.Context, versionID string) ([]index.StoredFile, *index.VersionResult, error) {
	files, err := h.Index.AnalysedFiles(ctx, versionID)
	if err != nil {
		return nil, nil, h.fail(ctx, err)
	}
	res, err := h.Index.Result(ctx, versionID)
	if errors.Is(err, catalog.ErrNotFound) {
		return files, nil, nil
	}
	if err != nil {
		return nil, nil, h.fail(ctx, err)
	}
	return files, res, nil
}

type diagnosticsInput struct {
	ID       string `path:"id"`
	Version  int    `query:"version" minimum:"0" doc:"version number; 0 or absent means the latest"`
	Severity string `query:"severity" enum:"error,warning,info" doc:"only this severity"`
	FileID   string `query:"file_id" doc:"only this file"`
	Code     string `query:"code" maxLength:"100" doc:"only this diagnostic code (UPG_…)"`
	Each     bool   `query:"each" doc:"list every info at every location; by default infos come once per (code, name) with a count and the first locations"`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"200" doc:"page size"`
	Cursor   string `query:"cursor" doc:"next_cursor from the previous page"`
}

// DiagnosticsBody is the diagnostics answer.
type DiagnosticsBody struct {
	PackageID  string                  `json:"package_id"`
	Version    int                     `json:"version"`
	Counts     map[string]int          `json:"counts" doc:"all findings matching the filters, by severity (every location counted)"`
	Groups     []index.DiagnosticGroup `json:"groups" doc:"the findings matching the filters counted by severity, code and file"`
	Total      int                     `json:"total" doc:"number of items (rows) over all pages"`
	Items      []index.DiagnosticRow   `json:"items" doc:"errors and warnings one per location, then infos (aggregated unless each=true)"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

type diagnosticsOutput struct{ Body DiagnosticsBody }

func (h *handlers) diagnostics(ctx context.Context, in *diagnosticsInput) (*diagnosticsOutput, error) {
	v, err := h.version(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	offset, err := offsetCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	files, res, err := h.analysed(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	rows := index.Diagnostics(files, res, index.DiagnosticFilter{Severity: in.Severity, FileID: in.FileID, Code: in.Code})
	body := DiagnosticsBody{PackageID: v.PackageID, Version: v.Number, Counts: index.Count(rows), Groups: index.Groups(rows)}
	if !in.Each {
		rows = index.Findings(rows)
	}
	body.Total = len(rows)
	body.Items, body.NextCursor = pageSlice(rows, offset, in.Limit)
	return &diagnosticsOutput{Body: body}, nil
}

// offsetCursor reads a cursor of an offset-paged list.
func offsetCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return 0, badCursor(c)
	}
	return n, nil
}

func badCursor(c string) error {
	return apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
		"The page cursor is not valid. Start again from the first page.", "cursor "+strconv.Quote(c))
}

// pageSlice cuts one page out of an in-memory list.
func pageSlice[T any](items []T, offset, limit int) ([]T, string) {
	if offset >= len(items) {
		return []T{}, ""
	}
	end := min(offset+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[offset:end], next
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
	LineEnding string       `json:"line_ending" doc:"CRLF, LF, CR, a mix such as \"mixed CRLF and LF\", or empty (one line, or binary)"`
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
	etag := `"` + f.SHA256 + "-" + analysis.ParserVersion + `"`
	return &sourceOutput{ETag: etag, CacheControl: "private, max-age=3600", Body: SourceBody{
		FileID: f.ID, Filename: f.Filename, SHA256: f.SHA256, Encoding: facts.Encoding,
		LineEnding: facts.LineEnding, TokenKinds: upg.TokenKinds(), Lines: sourceLines(data, h.tokens(ctx, f, data), facts.Encoding),
	}}, nil
}

// tokens returns a file's highlighting tokens: the stored ones of its
// analysis, or (not analysed yet, or not a UPG source) the lexer's.
func (h *handlers) tokens(ctx context.Context, f catalog.File, data []byte) []analysis.PackedToken {
	if files, err := h.Index.AnalysedFiles(ctx, f.VersionID); err == nil {
		for _, sf := range files {
			if sf.ID == f.ID && sf.Analysis != nil && len(sf.Analysis.Tokens) > 0 {
				return analysis.Tokens(sf.Analysis.Tokens)
			}
		}
	}
	return analysis.Tokens(analysis.PackTokens(upg.Tokenize(data)))
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
func sourceLines(data []byte, toks []analysis.PackedToken, encoding string) []SourceLine {
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
		if t.End > len(data) {
			break
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
	Name      string `json:"name"`
	Canonical string `json:"canonical"`
	index.SymbolPage
	// Catalog explains the name when the UPG language itself defines it.
	Catalog []upg.CatalogEntry `json:"catalog,omitempty"`
}

type symbolOutput struct{ Body SymbolBody }

func (h *handlers) symbol(ctx context.Context, in *symbolInput) (*symbolOutput, error) {
	canonical := upg.CanonicalName(in.Name)
	page, err := h.Index.SymbolUsage(ctx, canonical, in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	return &symbolOutput{Body: SymbolBody{Name: in.Name, Canonical: canonical, SymbolPage: page, Catalog: upg.Lookup(in.Name)}}, nil
}

// cursorErr answers a bad cursor with a 400, anything else as a failure.
func (h *handlers) cursorErr(ctx context.Context, err error, cursor string) error {
	if errors.Is(err, catalog.ErrBadCursor) {
		return badCursor(cursor)
	}
	return h.fail(ctx, err)
}

type packageSymbolInput struct {
	ID      string `path:"id" doc:"package id (UUID)"`
	Name    string `path:"name" doc:"attribute or section name; spaces and underscores match, case-insensitive"`
	Version int    `query:"version" minimum:"0" doc:"version number; 0 or absent means the latest"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"200" doc:"page size"`
	Cursor  string `query:"cursor" doc:"next_cursor from the previous page"`
}

// PackageSymbolBody lists a name's occurrences in one version.
type PackageSymbolBody struct {
	PackageID   string                   `json:"package_id"`
	Version     int                      `json:"version"`
	Canonical   string                   `json:"canonical"`
	Total       int                      `json:"total"`
	Occurrences []index.SymbolOccurrence `json:"occurrences"`
	NextCursor  string                   `json:"next_cursor,omitempty"`
}

type packageSymbolOutput struct{ Body PackageSymbolBody }

func (h *handlers) packageSymbol(ctx context.Context, in *packageSymbolInput) (*packageSymbolOutput, error) {
	v, err := h.version(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	offset, err := offsetCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	canonical := upg.CanonicalName(in.Name)
	occ, err := h.Index.VersionSymbol(ctx, v.ID, canonical)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	body := PackageSymbolBody{PackageID: v.PackageID, Version: v.Number, Canonical: canonical, Total: len(occ)}
	body.Occurrences, body.NextCursor = pageSlice(occ, offset, in.Limit)
	return &packageSymbolOutput{Body: body}, nil
}

type pagedShaInput struct {
	SHA256 string `path:"sha256" pattern:"^[0-9a-fA-F]{64}$" doc:"SHA-256 of the library's content"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous page"`
}

type libraryPackagesOutput struct {
	Body struct {
		SHA256 string `json:"sha256"`
		catalog.Page[index.PackageRef]
	}
}

func (h *handlers) libraryPackages(ctx context.Context, in *pagedShaInput) (*libraryPackagesOutput, error) {
	page, err := h.Index.LibraryPackages(ctx, in.SHA256, in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	out := &libraryPackagesOutput{}
	out.Body.SHA256, out.Body.Page = strings.ToLower(in.SHA256), page
	return out, nil
}

type librariesInput struct {
	Name   string `query:"name" doc:"a library file name (e.g. MILL.LIB, case-insensitive): list its distinct contents instead of the names"`
	Filter string `query:"q" doc:"only names containing this text (case-insensitive)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous page"`
}

// LibrariesBody is the libraries answer: names, or one name's variants.
type LibrariesBody struct {
	Name       string                 `json:"name,omitempty"`
	Names      []index.LibraryName    `json:"names,omitempty"`
	Variants   []index.LibraryVariant `json:"variants,omitempty"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

type librariesOutput struct{ Body LibrariesBody }

func (h *handlers) libraries(ctx context.Context, in *librariesInput) (*librariesOutput, error) {
	out := &librariesOutput{}
	if in.Name == "" {
		page, err := h.Index.LibraryNames(ctx, in.Filter, in.Limit, in.Cursor)
		if err != nil {
			return nil, h.cursorErr(ctx, err, in.Cursor)
		}
		out.Body.Names, out.Body.NextCursor = page.Items, page.NextCursor
		return out, nil
	}
	page, err := h.Index.LibraryVariants(ctx, upg.BaseName(in.Name), in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	out.Body.Name, out.Body.Variants, out.Body.NextCursor = in.Name, page.Items, page.NextCursor
	if out.Body.Variants == nil {
		out.Body.Variants = []index.LibraryVariant{}
	}
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
