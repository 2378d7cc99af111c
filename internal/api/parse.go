package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/ingest"
	"github.com/veripost/veripost/internal/upg"
)

func (h *handlers) registerParse(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "parse", Method: http.MethodPost, Path: Prefix + "/parse",
		Summary: "Parse UPG text or files without storing anything: outline, diagnostics, libraries, metadata",
		Tags:    []string{"index"}, Errors: []int{400, 413, 422},
	}, h.parse)
	api.OpenAPI().Paths[Prefix+"/parse"].Post.RequestBody = &huma.RequestBody{
		Required:    true,
		Description: "Either JSON `{\"files\": [{\"name\": \"POST.SRC\", \"content\": \"…\"}]}` or multipart/form-data with one or more files.",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
				"files": {Type: "array", Items: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
					"name": {Type: "string"}, "content": {Type: "string"},
				}, Required: []string{"name", "content"}}},
			}, Required: []string{"files"}}},
			"multipart/form-data": {Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
				"files": {Type: "array", Items: &huma.Schema{Type: "string", Format: "binary"}},
			}}},
		},
	}
}

type parseInput struct{ rawRequest }

// ParsedFile is one file of a parse answer.
type ParsedFile struct {
	Filename     string             `json:"filename"`
	Kind         string             `json:"kind"`
	LineCount    int                `json:"line_count"`
	ErrorCount   int                `json:"error_count"`
	WarningCount int                `json:"warning_count"`
	Outline      json.RawMessage    `json:"outline"`
	Diagnostics  []index.Diagnostic `json:"diagnostics"`
}

// ParsedLibrary is one include of a parse answer.
type ParsedLibrary struct {
	File         string `json:"file"`
	DeclaredPath string `json:"declared_path"`
	Line         int    `json:"line"`
	Resolved     string `json:"resolved,omitempty"`
	How          string `json:"how"`
}

// ParsedDiagnostic is a cross-file finding of a parse answer.
type ParsedDiagnostic struct {
	File string `json:"file"`
	index.Diagnostic
}

// ParseBody is the parse answer.
type ParseBody struct {
	ParserVersion string             `json:"parser_version"`
	Files         []ParsedFile       `json:"files"`
	Libraries     []ParsedLibrary    `json:"libraries"`
	Diagnostics   []ParsedDiagnostic `json:"diagnostics"`
	Metadata      index.Metadata     `json:"metadata"`
	SectionCount  int                `json:"section_count"`
}

type parseOutput struct{ Body ParseBody }

type namedContent struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

func (h *handlers) parse(ctx context.Context, in *parseInput) (*parseOutput, error) {
	files, err := h.readParseRequest(in)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, apperror.New(http.StatusBadRequest, apperror.CodeNoFiles,
			"Send at least one file to parse.", "no files in the request")
	}
	contents := make([]ingest.FileContent, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		if f.Name == "" || seen[f.Name] {
			return nil, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
				"Every file needs a name, and names must differ.", "file %d is named %q", i+1, f.Name)
		}
		seen[f.Name] = true
		sum := sha256.Sum256([]byte(f.Content))
		contents[i] = ingest.FileContent{
			File: catalog.File{ID: f.Name, Filename: f.Name, Size: int64(len(f.Content)), SHA256: hex.EncodeToString(sum[:])},
			Data: []byte(f.Content),
		}
	}
	results, v := ingest.Analyze("", ingest.ParserVersion, contents)
	body := ParseBody{ParserVersion: ingest.ParserVersion, Metadata: v.Metadata, SectionCount: v.SectionCount,
		Files: []ParsedFile{}, Libraries: []ParsedLibrary{}, Diagnostics: []ParsedDiagnostic{}}
	for i, r := range results {
		diags := r.Diagnostics
		if diags == nil {
			diags = []index.Diagnostic{}
		}
		body.Files = append(body.Files, ParsedFile{Filename: contents[i].Filename, Kind: r.Kind, LineCount: r.LineCount,
			ErrorCount: r.ErrorCount, WarningCount: r.WarningCount, Outline: json.RawMessage(r.Outline), Diagnostics: diags})
	}
	for _, l := range v.Libraries {
		body.Libraries = append(body.Libraries, ParsedLibrary{File: l.FileID, DeclaredPath: l.DeclaredPath, Line: l.Line, Resolved: l.ResolvedName, How: l.How})
	}
	for _, d := range v.Diagnostics {
		body.Diagnostics = append(body.Diagnostics, ParsedDiagnostic{File: d.FileID, Diagnostic: d.Diagnostic})
	}
	return &parseOutput{Body: body}, nil
}

// readParseRequest reads JSON or multipart files within the request limit.
func (h *handlers) readParseRequest(in *parseInput) ([]namedContent, error) {
	r := in.r
	body := http.MaxBytesReader(in.w, r.Body, h.Limits.MaxRequestBytes)
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tooBig := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(-1, h.Limits.MaxRequestBytes)
		}
		return nil
	}
	switch mediaType {
	case "application/json":
		var req struct {
			Files []namedContent `json:"files"`
		}
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
				`The JSON body is not valid. Send {"files": [{"name": "POST.SRC", "content": "..."}]}.`, err.Error())
		}
		return req.Files, nil
	case "multipart/form-data":
		mr := multipart.NewReader(body, params["boundary"])
		var files []namedContent
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return files, nil
			}
			if err != nil {
				if e := tooBig(err); e != nil {
					return nil, e
				}
				return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "The multipart body could not be read.", err.Error())
			}
			if part.FileName() == "" {
				continue
			}
			data, err := io.ReadAll(part)
			if err != nil {
				if e := tooBig(err); e != nil {
					return nil, e
				}
				return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "The multipart body could not be read.", err.Error())
			}
			files = append(files, namedContent{Name: upg.BaseName(part.FileName()), Content: string(data)})
		}
	}
	return nil, apperror.New(http.StatusUnsupportedMediaType, apperror.CodeBadRequest,
		"Send the files as JSON or as multipart/form-data.", fmt.Sprintf("Content-Type %q", r.Header.Get("Content-Type")))
}
