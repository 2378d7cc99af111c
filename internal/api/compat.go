package api

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/upload"
)

// The original VeriPost API (a Python service) published these routes;
// scripts written for it keep working against this server. Each is a thin
// translation onto what the /api/v1 routes use: the same repository reads,
// the same upload checks and catalog.Service.Accept, the same parse
// handler. Nothing here implements anything a second time. Two routes of
// the original already are /api/v1 routes (a package's status and a file's
// download); they carry the compatibility tag as well.

// CompatTag groups the original API's routes in the OpenAPI document.
const CompatTag = "compatibility"

func (h *handlers) registerCompat(api huma.API) {
	tags := []string{CompatTag}
	api.OpenAPI().Tags = append(api.OpenAPI().Tags, &huma.Tag{Name: CompatTag,
		Description: "The original VeriPost API's routes, kept so that clients written for it work unchanged. " +
			"They answer from the same services as the other routes; new clients should use those."})
	huma.Register(api, huma.Operation{
		OperationID: "compat-health", Method: http.MethodGet, Path: "/health",
		Summary: "The process is up (the original API's health check; see also /healthz and /readyz)", Tags: tags,
	}, h.compatHealth)
	list := huma.Operation{
		OperationID: "compat-list-posts", Method: http.MethodGet, Path: Prefix + "/posts/",
		Summary:     "List packages, newest first, each with its latest version's files, in the original API's shape",
		Description: "`count` is the number of packages in this answer. The original API returned every package; this one answers at most `limit` (default and maximum 200) and gives `next_cursor` when there are more.",
		Tags:        tags, Errors: []int{400},
	}
	huma.Register(api, list, h.compatListPosts)
	// Without the trailing slash too: the original answered it with a
	// redirect, which not every client follows.
	list.OperationID, list.Path, list.Summary = "compat-list-posts-no-slash", Prefix+"/posts", "The same as "+Prefix+"/posts/"
	huma.Register(api, list, h.compatListPosts)
	huma.Register(api, huma.Operation{
		OperationID: "compat-get-post", Method: http.MethodGet, Path: Prefix + "/posts/{package_id}",
		Summary: "One package with its latest version's files, in the original API's shape", Tags: tags, Errors: []int{404},
	}, h.compatGetPost)
	huma.Register(api, huma.Operation{
		OperationID: "compat-upload-post", Method: http.MethodPost, Path: Prefix + "/posts/upload",
		Summary:     "Upload one post file (or one .zip) as a new package named after the file",
		Description: "Answers 201 with the package (status `pending`); poll " + Prefix + "/packages/{id}/status until it is done.",
		Tags:        tags, DefaultStatus: http.StatusCreated, Errors: []int{400, 413, 422, 503},
	}, h.compatUploadPost)
	huma.Register(api, huma.Operation{
		OperationID: "compat-upload-zip", Method: http.MethodPost, Path: Prefix + "/packages/upload",
		Summary:     "Upload a package as one .zip; a new package named after the ZIP",
		Description: "400 `INVALID_FILE_TYPE` for a file not named .zip; 422 `INVALID_ZIP_CONTENTS` when the ZIP is not a valid post package (the reason's code and cause in `detail`).",
		Tags:        tags, DefaultStatus: http.StatusAccepted, Errors: []int{400, 413, 422, 503},
	}, h.compatUploadZip)
	// The same handler as POST /parse: the same analysis, the same JSON.
	huma.Register(api, huma.Operation{
		OperationID: "compat-analyze", Method: http.MethodPost, Path: Prefix + "/parsing/analyze",
		Summary: "Parse a file without storing anything (the same answer as " + Prefix + "/parse)", Tags: tags, Errors: []int{400, 413, 415, 422},
	}, h.parse)

	paths := api.OpenAPI().Paths
	for p, what := range map[string]string{
		Prefix + "/posts/upload":    "the post file (.SRC or another UPG file, or one .zip); optional `name` (default: the file name without its extension) and `note`",
		Prefix + "/packages/upload": "one .zip of the post package; optional `name` (default: the ZIP's name without .zip) and `note`",
		Prefix + "/parsing/analyze": "one or more files to parse (any field name)",
	} {
		paths[p].Post.RequestBody = &huma.RequestBody{Required: true, Description: "multipart/form-data: `file`, " + what + ".",
			Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{Type: "object",
				Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary"}, "name": {Type: "string"}, "note": {Type: "string"}},
				Required:   []string{"file"}}}}}
	}
	// Routes of the original API that /api/v1 already serves as they were.
	for _, op := range []*huma.Operation{paths[Prefix+"/packages/{id}/status"].Get, paths[Prefix+"/packages/{id}/files/{file_id}/download"].Get} {
		if !slices.Contains(op.Tags, CompatTag) {
			op.Tags = append(op.Tags, CompatTag)
		}
	}
}

// CompatHealth is the original API's health answer.
type CompatHealth struct {
	Status  string `json:"status" enum:"healthy"`
	Service string `json:"service"`
	Version string `json:"version"`
}

type compatHealthOutput struct{ Body CompatHealth }

func (h *handlers) compatHealth(context.Context, *struct{}) (*compatHealthOutput, error) {
	return &compatHealthOutput{Body: CompatHealth{Status: "healthy", Service: "veripost", Version: h.Version}}, nil
}

// CompatPackage is a package in the original API's shape: its fields,
// then a few of ours. Values the original left empty are null.
type CompatPackage struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	MachineType    *string        `json:"machine_type" doc:"null until ingestion found it (or someone set it)"`
	ControllerType *string        `json:"controller_type"`
	Platform       string         `json:"platform"`
	Status         catalog.Status `json:"status" doc:"of the latest version: pending, validating, storing, parsing, ready or error"`
	ErrorMessage   *string        `json:"error_message"`
	FileCount      int            `json:"file_count"`
	SectionCount   int            `json:"section_count"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Files          []CompatFile   `json:"files" doc:"of the latest version"`
	LatestVersion  int            `json:"latest_version"`
	ErrorDetail    *string        `json:"error_detail"`
	ErrorCount     int            `json:"error_count"`
	WarningCount   int            `json:"warning_count"`
}

// CompatFile is a file in the original API's shape (and a few of ours).
type CompatFile struct {
	ID            string    `json:"id"`
	Filename      string    `json:"filename"`
	FileExtension string    `json:"file_extension" doc:"with its dot, upper-case: .SRC, .LIB, .CTL"`
	SizeBytes     int64     `json:"size_bytes"`
	SHA256        string    `json:"sha256"`
	CreatedAt     time.Time `json:"created_at"`
	DownloadURL   string    `json:"download_url"`
}

func compatPackage(p catalog.Package) CompatPackage {
	out := CompatPackage{
		ID: p.ID, Name: p.Name, MachineType: orNull(p.MachineType), ControllerType: orNull(p.ControllerType), Platform: p.Platform,
		Status: p.Status, ErrorMessage: orNull(p.ErrorMessage), FileCount: p.FileCount, SectionCount: p.SectionCount,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Files: make([]CompatFile, len(p.Files)),
		LatestVersion: p.LatestVersion, ErrorDetail: orNull(p.ErrorDetail), ErrorCount: p.ErrorCount, WarningCount: p.WarningCount,
	}
	for i, f := range p.Files {
		out.Files[i] = CompatFile{ID: f.ID, Filename: f.Filename, FileExtension: "." + f.Extension, SizeBytes: f.Size, SHA256: f.SHA256,
			CreatedAt: f.CreatedAt, DownloadURL: Prefix + "/packages/" + p.ID + "/files/" + f.ID + "/download"}
	}
	return out
}

// orNull is nil for "" (JSON null), else a pointer to s.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type postsInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"200" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous answer"`
}

// CompatPackageList is the original API's package list, paged.
type CompatPackageList struct {
	Packages   []CompatPackage `json:"packages"`
	Count      int             `json:"count" doc:"the number of packages in this answer"`
	NextCursor string          `json:"next_cursor,omitempty" doc:"present when there are more packages: pass it as cursor"`
}

type postsOutput struct{ Body CompatPackageList }

func (h *handlers) compatListPosts(ctx context.Context, in *postsInput) (*postsOutput, error) {
	page, err := h.Repo.ListPackages(ctx, in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	out := CompatPackageList{Packages: make([]CompatPackage, len(page.Items)), Count: len(page.Items), NextCursor: page.NextCursor}
	for i, p := range page.Items {
		out.Packages[i] = compatPackage(p)
	}
	return &postsOutput{Body: out}, nil
}

type postInput struct {
	PackageID string `path:"package_id" doc:"package id (UUID)"`
}

type postOutput struct{ Body CompatPackage }

type postCreatedOutput struct {
	Location string `header:"Location"`
	Body     CompatPackage
}

func (h *handlers) compatGetPost(ctx context.Context, in *postInput) (*postOutput, error) {
	p, err := h.Repo.GetPackage(ctx, in.PackageID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.PackageID)
	}
	return &postOutput{Body: compatPackage(p)}, nil
}

type compatUploadInput struct {
	Platform string `query:"platform" default:"camworks" maxLength:"100" doc:"CAM platform of the new package"`
	rawRequest
}

func (h *handlers) compatUploadPost(ctx context.Context, in *compatUploadInput) (*postCreatedOutput, error) {
	up, err := h.readUpload(ctx, in.rawRequest, "file", upload.ReadMultipart)
	if err != nil {
		return nil, err
	}
	if !up.FromZip && len(up.Files) > 1 {
		return nil, apperror.Newf(http.StatusBadRequest, apperror.CodeBadRequest,
			"Send one file here (field \"file\"). To upload a package of several files, send them together to "+Prefix+"/packages (field \"files\") or as one .zip.",
			"%d files uploaded", len(up.Files))
	}
	named := up.ZipName
	if !up.FromZip {
		named = up.Files[0].Name
	}
	acc, err := h.accept(ctx, up, compatUpload(up, named, in.Platform))
	if err != nil {
		return nil, err
	}
	return &postCreatedOutput{Location: Prefix + "/posts/" + acc.Package.ID, Body: compatPackage(acc.Package)}, nil
}

func (h *handlers) compatUploadZip(ctx context.Context, in *compatUploadInput) (*uploadOutput, error) {
	up, err := h.readUpload(ctx, in.rawRequest, "file", upload.ReadZipMultipart)
	if err != nil {
		return nil, invalidZipContents(err)
	}
	acc, err := h.accept(ctx, up, compatUpload(up, up.ZipName, in.Platform))
	if err != nil {
		return nil, err
	}
	status := statusURL(acc.Package.ID)
	return &uploadOutput{Status: http.StatusAccepted, Location: status, Body: UploadResult{
		PackageID: acc.Package.ID, VersionID: acc.Version.ID, Version: acc.Version.Number, JobID: acc.Version.JobID,
		Status: acc.Version.Status, StatusURL: status, Files: acc.Version.FileCount, Created: acc.Created,
	}}, nil
}

// compatUpload is a new package named after the uploaded file (without
// its extension) unless the form names it, as the original API did.
func compatUpload(up *upload.Upload, file, platform string) catalog.Upload {
	name := strings.TrimSpace(up.Fields["name"])
	if name == "" {
		name = strings.TrimSpace(strings.TrimSuffix(file, path.Ext(file)))
	}
	return catalog.Upload{Name: name, Platform: strings.TrimSpace(platform), Note: strings.TrimSpace(up.Fields["note"])}
}

// zipContentCodes are the upload checks' findings about what a ZIP holds.
var zipContentCodes = []string{
	apperror.CodeNotZip, apperror.CodeCorruptZip, apperror.CodeEmptyPackage, apperror.CodeNoSource,
	apperror.CodeUnknownExtensions, apperror.CodeDuplicateName, apperror.CodeTooManyFiles, apperror.CodeZipBomb, apperror.CodeUnsafePath,
}

// invalidZipContents reports the upload checks' findings about a ZIP's
// contents as the original API's one code, INVALID_ZIP_CONTENTS (422),
// with the finding's own code and cause in detail. Other errors (size
// limits, a malformed form, a file not named .zip) pass unchanged.
func invalidZipContents(err error) error {
	e, ok := apperror.As(err)
	if !ok || !slices.Contains(zipContentCodes, e.Code) {
		return err
	}
	return apperror.New(http.StatusUnprocessableEntity, apperror.CodeInvalidZipContents, e.Message, fmt.Sprintf("%s: %s", e.Code, e.Detail))
}
