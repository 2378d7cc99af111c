package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/apperror"
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

type parseOutput struct{ Body analysis.Result }

type namedContent struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// parse answers with the one analysis of the files (the same JSON as
// `veripost parse --json`).
func (h *handlers) parse(ctx context.Context, in *parseInput) (*parseOutput, error) {
	files, err := h.readParseRequest(in)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, apperror.New(http.StatusBadRequest, apperror.CodeNoFiles,
			"Send at least one file to parse.", "no files in the request")
	}
	inputs := make([]analysis.Input, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		if f.Name == "" || seen[f.Name] {
			return nil, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
				"Every file needs a name, and names must differ.", "file %d is named %q", i+1, f.Name)
		}
		seen[f.Name] = true
		inputs[i] = analysis.Input{Name: f.Name, Data: []byte(f.Content)}
		if err := h.AnalysisLimits.CheckSize(f.Name, inputs[i].Data); err != nil {
			var le *analysis.LimitError
			errors.As(err, &le)
			return nil, apperror.New(http.StatusUnprocessableEntity, apperror.CodeIngestLimit, le.Message(), err.Error())
		}
	}
	return &parseOutput{Body: analysis.Analyze(inputs)}, nil
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
