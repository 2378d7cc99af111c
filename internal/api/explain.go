package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/copilot"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/loader"
)

func (h *handlers) registerExplain(api huma.API) {
	tags := []string{"explain"}
	huma.Register(api, huma.Operation{
		OperationID: "explain-package", Method: http.MethodGet, Path: Prefix + "/packages/{id}/explain",
		Summary: "Overview of a package in plain words: machine, libraries and variants, its own sections, overrides, notable settings, questions, diagnostics; every sentence cites its lines",
		Tags:    tags, Errors: []int{404, 422, 503},
	}, h.explainPackage)
	huma.Register(api, huma.Operation{
		OperationID: "explain-section", Method: http.MethodGet, Path: Prefix + "/packages/{id}/files/{file_id}/sections/{name}/explain",
		Summary: "Explain a section of a file: when it runs, what it outputs, what it computes, what it depends on",
		Tags:    tags, Errors: []int{404, 422, 503},
	}, h.explainSection)
	huma.Register(api, huma.Operation{
		OperationID: "explain-lines", Method: http.MethodGet, Path: Prefix + "/packages/{id}/files/{file_id}/explain",
		Summary: "Explain a range of lines of a file (each header, library, attribute and the selected part of each section)",
		Tags:    tags, Errors: []int{404, 422, 503},
	}, h.explainLines)
	huma.Register(api, huma.Operation{
		OperationID: "explain-attribute", Method: http.MethodGet, Path: Prefix + "/packages/{id}/attributes/{name}/explain",
		Summary: "Explain an attribute, :DEFINE constant, system variable or question by name: what it controls, type, values, default, where it is used",
		Tags:    tags, Errors: []int{404, 422, 503},
	}, h.explainAttribute)
}

// ExplainBody is every explain answer: the offline explanation (structured
// and as Markdown) and the copilot slot beside it.
type ExplainBody struct {
	PackageID   string               `json:"package_id"`
	Version     int                  `json:"version"`
	Explanation *explain.Explanation `json:"explanation"`
	Markdown    string               `json:"markdown" doc:"the explanation as Markdown; citations link into the web source view"`
	Copilot     explain.Copilot      `json:"copilot" doc:"the LLM copilot's answer next to the offline explanation; status not_configured while no provider is set up"`
}

type explainOutput struct{ Body ExplainBody }

type explainPackageInput struct {
	ID      string `path:"id"`
	Version int    `query:"version" minimum:"0" doc:"version number (default: the latest)"`
}

type explainSectionInput struct {
	ID     string `path:"id"`
	FileID string `path:"file_id"`
	Name   string `path:"name" maxLength:"200" doc:"section name as written (a case-insensitive match is used when there is no exact one)"`
}

type explainLinesInput struct {
	ID     string `path:"id"`
	FileID string `path:"file_id"`
	From   int    `query:"from" required:"true" minimum:"1" doc:"first line (1-based)"`
	To     int    `query:"to" minimum:"0" doc:"last line (inclusive; default: from)"`
}

type explainAttributeInput struct {
	ID      string `path:"id"`
	Name    string `path:"name" maxLength:"200" doc:"attribute, constant or variable name; blanks and underscores are the same (MACHINE NAME = MACHINE_NAME)"`
	Version int    `query:"version" minimum:"0" doc:"version number (default: the latest)"`
}

func (h *handlers) explainPackage(ctx context.Context, in *explainPackageInput) (*explainOutput, error) {
	v, err := h.loadVersion(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	return h.explained(v, v.Package.Overview()), nil
}

func (h *handlers) explainAttribute(ctx context.Context, in *explainAttributeInput) (*explainOutput, error) {
	v, err := h.loadVersion(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Attribute(in.Name)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	return h.explained(v, e), nil
}

func (h *handlers) explainSection(ctx context.Context, in *explainSectionInput) (*explainOutput, error) {
	v, f, err := h.loadFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Section(f.Filename, in.Name)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	return h.explained(v, e), nil
}

func (h *handlers) explainLines(ctx context.Context, in *explainLinesInput) (*explainOutput, error) {
	v, f, err := h.loadFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, err
	}
	e, err := v.Package.Lines(f.Filename, in.From, in.To)
	if err != nil {
		return nil, h.fail(ctx, loader.Problem(err))
	}
	return h.explained(v, e), nil
}

// loadVersion loads version number n of a package (0: the latest).
func (h *handlers) loadVersion(ctx context.Context, id string, n int) (*loader.Version, error) {
	ver, err := h.version(ctx, id, n)
	if err != nil {
		return nil, err
	}
	v, err := h.Explain.Load(ctx, ver)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return v, nil
}

// loadFile loads the version a file belongs to and checks the file is UPG
// source.
func (h *handlers) loadFile(ctx context.Context, id, fileID string) (*loader.Version, catalog.File, error) {
	f, err := h.Repo.GetFile(ctx, id, fileID)
	if err != nil {
		return nil, f, h.repoErr(ctx, err, "file", fileID)
	}
	ver, err := h.Repo.GetVersion(ctx, f.VersionID)
	if err != nil {
		return nil, f, h.repoErr(ctx, err, "version", f.VersionID)
	}
	v, err := h.Explain.Load(ctx, ver)
	if err != nil {
		return nil, f, h.fail(ctx, err)
	}
	if v.Package.File(f.Filename) == nil {
		return nil, f, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
			f.Filename+" is not UPG source (it is a side file, a compiled post or binary), so it has no sections or lines to explain. Explain the package instead.",
			"file "+fileID+" was not parsed")
	}
	return v, f, nil
}

// explained fills the answer: file ids on every citation, the Markdown with
// links into the source view, and the copilot slot.
func (h *handlers) explained(v *loader.Version, e *explain.Explanation) *explainOutput {
	e.SetFileIDs(v.FileID)
	pkg := v.Version.PackageID
	md := explain.Markdown(e, func(c explain.Cite) string { return loader.SourceURL(pkg, c) })
	return &explainOutput{Body: ExplainBody{
		PackageID: pkg, Version: v.Version.Number, Explanation: e, Markdown: md,
		Copilot: copilot.Slot(h.Copilot, Prefix+loader.AskPath(pkg, v.Version.Number, e)),
	}}
}
