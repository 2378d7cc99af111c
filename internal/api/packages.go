package api

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/httpguard"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/upload"
)

func (h *handlers) register(api huma.API) {
	tags := []string{"packages"}
	huma.Register(api, huma.Operation{
		OperationID: "upload-package", Method: http.MethodPost, Path: Prefix + "/packages",
		Summary:       "Upload a package (one .zip, or one or more loose UPG files) as a new package or a new version",
		Tags:          tags,
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{400, 404, 413, 422, 503},
		Parameters: []*huma.Param{{Name: "Idempotency-Key", In: "header", Schema: &huma.Schema{Type: "string", MaxLength: &maxKeyLength},
			Description: "a key (such as a UUID) the client makes up per upload and sends again when it retries: a retry answers with the version the first attempt recorded and creates nothing (header Idempotent-Replayed: true). Keys are remembered for 24 hours."}},
	}, h.upload)
	// The body is streamed by the handler itself, so it is described in the
	// document after registration (declared before, huma would buffer it).
	api.OpenAPI().Paths[Prefix+"/packages"].Post.RequestBody = uploadRequestBody()
	huma.Register(api, huma.Operation{
		OperationID: "list-packages", Method: http.MethodGet, Path: Prefix + "/packages",
		Summary: "List packages, newest first, each with its latest version's files; or, with search/filters/sort, browse them (as the web UI's list does)", Tags: tags, Errors: []int{400},
	}, h.list)
	huma.Register(api, huma.Operation{
		OperationID: "package-facets", Method: http.MethodGet, Path: Prefix + "/packages/facets",
		Summary: "The machine, controller and status values packages have, with counts (for filters)", Tags: tags,
	}, h.facets)
	huma.Register(api, huma.Operation{
		OperationID: "get-package", Method: http.MethodGet, Path: Prefix + "/packages/{id}",
		Summary: "Get a package with its latest version's files", Tags: tags, Errors: []int{404},
	}, h.get)
	huma.Register(api, huma.Operation{
		OperationID: "edit-package", Method: http.MethodPatch, Path: Prefix + "/packages/{id}",
		Summary: "Edit a package's name, machine, controller or platform", Tags: tags, Errors: []int{404, 422},
	}, h.edit)
	huma.Register(api, huma.Operation{
		OperationID: "list-versions", Method: http.MethodGet, Path: Prefix + "/packages/{id}/versions",
		Summary: "List a package's versions, newest first, paged", Tags: tags, Errors: []int{400, 404},
	}, h.versions)
	huma.Register(api, huma.Operation{
		OperationID: "version-files", Method: http.MethodGet, Path: Prefix + "/packages/{id}/versions/{number}",
		Summary: "One version of a package with its files", Tags: tags, Errors: []int{404},
	}, h.versionFiles)
	huma.Register(api, huma.Operation{
		OperationID: "package-status", Method: http.MethodGet, Path: Prefix + "/packages/{id}/status",
		Summary: "Ingestion status of a package's latest version (poll this after an upload)", Tags: tags, Errors: []int{404},
	}, h.status)
	huma.Register(api, huma.Operation{
		OperationID: "download-file", Method: http.MethodGet, Path: Prefix + "/packages/{id}/files/{file_id}/download",
		Summary: "Download one file's original bytes (supports Range and If-None-Match)", Tags: tags, Errors: []int{404, 416, 503},
	}, h.downloadFile)
	huma.Register(api, huma.Operation{
		OperationID: "download-package", Method: http.MethodGet, Path: Prefix + "/packages/{id}/download",
		Summary: "Download a version (default: the latest) as a ZIP, streamed", Tags: tags, Errors: []int{404, 503},
	}, h.downloadZip)
	huma.Register(api, huma.Operation{
		OperationID: "delete-package", Method: http.MethodDelete, Path: Prefix + "/packages/{id}",
		Summary: "Delete a package, all its versions, and every stored file no other package uses", Tags: tags,
		DefaultStatus: http.StatusNoContent, Errors: []int{404},
	}, h.delete)
}

var maxKeyLength = catalog.MaxKeyLength

func uploadRequestBody() *huma.RequestBody {
	return &huma.RequestBody{
		Required:    true,
		Description: "multipart/form-data: `files` (one .zip, or one or more loose .SRC/.LIB/.KIN/.PINF/.CNF/.LNG/.ATR/.CTL files); optional `package_id` (add a version to that package), `name`, `note`.",
		Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{
			Type: "object",
			Properties: map[string]*huma.Schema{
				"files":      {Type: "array", Items: &huma.Schema{Type: "string", Format: "binary"}},
				"package_id": {Type: "string", Format: "uuid", Description: "existing package: the upload becomes its next version"},
				"name":       {Type: "string", Description: "package name (default: the .SRC file's name)"},
				"platform":   {Type: "string", Description: "CAM platform of a new package (default: camworks)"},
				"note":       {Type: "string", Description: "a note about this version"},
			},
			Required: []string{"files"},
		}}},
	}
}

// rawRequest lets a handler read the request body itself (streamed
// multipart) instead of having huma buffer it.
type rawRequest struct {
	r *http.Request
	w http.ResponseWriter
}

func (rr *rawRequest) Resolve(ctx huma.Context) []error {
	rr.r, rr.w = humachi.Unwrap(ctx)
	return nil
}

type uploadInput struct {
	rawRequest
}

// UploadResult is the answer to an upload: 202 when a version was
// recorded, 200 when the upload was identical to the package's latest
// version and nothing new was recorded.
type UploadResult struct {
	PackageID string         `json:"package_id"`
	VersionID string         `json:"version_id"`
	Version   int            `json:"version"`
	JobID     int64          `json:"job_id"`
	Status    catalog.Status `json:"status"`
	StatusURL string         `json:"status_url"`
	Files     int            `json:"file_count"`
	Created   bool           `json:"created" doc:"false when the upload was identical to the latest version: no version was created"`
	// IdenticalTo is the number of an earlier version of the package with
	// exactly the same files (0 when none).
	IdenticalTo int `json:"identical_to,omitempty"`
}

type uploadOutput struct {
	Status   int
	Location string `header:"Location"`
	// Replayed is "true" when an earlier request with the same
	// Idempotency-Key recorded this version (nothing new was recorded).
	Replayed string `header:"Idempotent-Replayed"`
	Body     UploadResult
}

func (h *handlers) upload(ctx context.Context, in *uploadInput) (*uploadOutput, error) {
	up, err := h.readUpload(ctx, in.rawRequest, "files", upload.ReadMultipart)
	if err != nil {
		return nil, err
	}
	acc, err := h.accept(ctx, up, catalog.Upload{
		PackageID:      strings.TrimSpace(up.Fields["package_id"]),
		Name:           strings.TrimSpace(up.Fields["name"]),
		Platform:       strings.TrimSpace(up.Fields["platform"]),
		Note:           strings.TrimSpace(up.Fields["note"]),
		IdempotencyKey: in.r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		return nil, err
	}
	status := statusURL(acc.Package.ID)
	code := http.StatusAccepted
	if !acc.Created {
		code = http.StatusOK
	}
	replayed := ""
	if acc.Replayed {
		replayed = "true"
	}
	return &uploadOutput{Status: code, Location: status, Replayed: replayed, Body: UploadResult{
		PackageID: acc.Package.ID, VersionID: acc.Version.ID, Version: acc.Version.Number, JobID: acc.Version.JobID,
		Status: acc.Version.Status, StatusURL: status, Files: acc.Version.FileCount, Created: acc.Created, IdenticalTo: acc.IdenticalTo,
	}}, nil
}

func statusURL(packageID string) string { return Prefix + "/packages/" + packageID + "/status" }

// readUpload streams a multipart upload through the upload checks (read:
// upload.ReadMultipart or, for routes that take only a ZIP,
// upload.ReadZipMultipart) within the request size limit.
func (h *handlers) readUpload(ctx context.Context, in rawRequest, field string, read func(*multipart.Reader, upload.Limits) (*upload.Upload, error)) (*upload.Upload, error) {
	r := in.r
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
			"Send the upload as multipart/form-data with the file(s) in a field named \""+field+"\".",
			fmt.Sprintf("Content-Type %q", r.Header.Get("Content-Type")))
	}
	if r.ContentLength > h.Limits.MaxRequestBytes {
		return nil, tooLarge(r.ContentLength, h.Limits.MaxRequestBytes)
	}
	body := http.MaxBytesReader(in.w, r.Body, h.Limits.MaxRequestBytes)
	// The upload package reports a body cut off by MaxBytesReader as a 413.
	up, err := read(multipart.NewReader(body, params["boundary"]), h.Limits)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return up, nil
}

// accept records a validated upload (req with its files from up) through
// the catalogue service and audits it. Every upload route ends here.
func (h *handlers) accept(ctx context.Context, up *upload.Upload, req catalog.Upload) (catalog.Accepted, error) {
	if n := utf8.RuneCountInString(req.Platform); n > maxPlatform {
		return catalog.Accepted{}, apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeValidation,
			fmt.Sprintf("The platform name is too long: at most %d characters.", maxPlatform), "platform has %d characters", n)
	}
	// auth: who uploaded (the signed-in user, or the token's owner).
	req.UploadedBy = auth.ActorFrom(ctx).Name()
	for _, f := range up.Files {
		req.Files = append(req.Files, catalog.UploadFile{
			NewFile: catalog.NewFile{Filename: f.Name, Extension: f.Ext, Size: f.Size, SHA256: f.SHA256},
			Data:    f.Data,
		})
	}
	acc, err := h.Service.Accept(ctx, req)
	if err != nil {
		return acc, h.fail(ctx, err)
	}
	// auth: record the upload in the audit trail (an identical re-upload
	// or a replayed retry changes nothing, so there is nothing to record).
	if h.Auth != nil {
		RecordUpload(ctx, h.Auth, acc)
	}
	return acc, nil
}

// maxPlatform bounds a package's platform name (as editing does).
const maxPlatform = 100

func tooLarge(got, limit int64) error {
	detail := fmt.Sprintf("request body exceeds %d bytes", limit)
	if got > 0 {
		detail = fmt.Sprintf("request body is %d bytes; the limit is %d bytes", got, limit)
	}
	return apperror.New(http.StatusRequestEntityTooLarge, apperror.CodeRequestTooLarge,
		fmt.Sprintf("The upload is larger than this server accepts (%s). Remove files that are not part of the post, or ask your administrator to raise VERIPOST_MAX_REQUEST_BYTES.", upload.HumanBytes(limit)),
		detail)
}

type listInput struct {
	Limit      int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"page size"`
	Cursor     string `query:"cursor" doc:"next_cursor from the previous page"`
	Search     string `query:"search" maxLength:"200" doc:"browse: packages whose name contains this text (case-insensitive)"`
	Status     string `query:"status" enum:"pending,validating,storing,parsing,ready,error" doc:"browse: latest version's ingestion status"`
	Machine    string `query:"machine" maxLength:"200" doc:"browse: exact machine (use the value from /packages/facets; '-' for none)"`
	Controller string `query:"controller" maxLength:"200" doc:"browse: exact controller ('-' for none)"`
	Sort       string `query:"sort" enum:"uploaded,name,machine,controller,platform,status,files,diagnostics" doc:"browse: sort key"`
	Order      string `query:"order" enum:"asc,desc" doc:"browse: sort order (default desc for uploaded, asc otherwise)"`
}

// browsing reports whether any browse parameter is set.
func (in *listInput) browsing() bool {
	return in.Search != "" || in.Status != "" || in.Machine != "" || in.Controller != "" || in.Sort != "" || in.Order != ""
}

// PackageList is one page of packages; Total is set when browsing.
type PackageList struct {
	catalog.Page[catalog.Package]
	Total int `json:"total,omitempty"`
}

type listOutput struct {
	Body PackageList
}

func (h *handlers) list(ctx context.Context, in *listInput) (*listOutput, error) {
	if in.browsing() {
		return h.browse(ctx, in)
	}
	page, err := h.Repo.ListPackages(ctx, in.Limit, in.Cursor)
	if err != nil {
		return nil, h.cursorErr(ctx, err, in.Cursor)
	}
	if page.Items == nil {
		page.Items = []catalog.Package{}
	}
	return &listOutput{Body: PackageList{Page: page}}, nil
}

// BrowseQuery turns browse parameters into the catalogue's query; the web
// UI's list page uses it too, so both read the same.
func BrowseQuery(search, status, machine, controller, sort, order string, limit, offset int) catalog.BrowseQuery {
	q := catalog.BrowseQuery{Search: search, Status: catalog.Status(status), Sort: sort, Limit: limit, Offset: offset}
	q.Machine, q.Controller = catalog.FilterValue(machine), catalog.FilterValue(controller)
	if q.Sort == "" {
		q.Sort = catalog.BrowseSortUploaded
	}
	q.Desc = order == "desc" || (order == "" && q.Sort == catalog.BrowseSortUploaded)
	return q
}

func (h *handlers) browse(ctx context.Context, in *listInput) (*listOutput, error) {
	offset, err := offsetCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	res, err := h.Browser.BrowsePackages(ctx, BrowseQuery(in.Search, in.Status, in.Machine, in.Controller, in.Sort, in.Order, in.Limit, offset))
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	out := &listOutput{Body: PackageList{Total: res.Total, Page: catalog.Page[catalog.Package]{Items: []catalog.Package{}}}}
	for _, r := range res.Rows {
		if r.Files == nil {
			r.Files = []catalog.File{}
		}
		out.Body.Items = append(out.Body.Items, r.Package)
	}
	if next := offset + len(res.Rows); next < res.Total {
		out.Body.NextCursor = strconv.Itoa(next)
	}
	return out, nil
}

type facetsOutput struct{ Body catalog.BrowseFacets }

func (h *handlers) facets(ctx context.Context, _ *struct{}) (*facetsOutput, error) {
	f, err := h.Browser.BrowseFacets(ctx)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &facetsOutput{Body: f}, nil
}

type idInput struct {
	ID string `path:"id" doc:"package id (UUID)"`
}

type packageOutput struct {
	Body catalog.Package
}

func (h *handlers) get(ctx context.Context, in *idInput) (*packageOutput, error) {
	p, err := h.Repo.GetPackage(ctx, in.ID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	return &packageOutput{Body: p}, nil
}

type editInput struct {
	ID   string `path:"id"`
	Body struct {
		Name           *string `json:"name,omitempty" maxLength:"200"`
		MachineType    *string `json:"machine_type,omitempty" maxLength:"200"`
		ControllerType *string `json:"controller_type,omitempty" maxLength:"200"`
		Platform       *string `json:"platform,omitempty" maxLength:"100"`
	}
}

func (h *handlers) edit(ctx context.Context, in *editInput) (*packageOutput, error) {
	if in.Body.Name != nil && strings.TrimSpace(*in.Body.Name) == "" {
		return nil, apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation,
			"A package needs a name.", "name is empty")
	}
	// auth: the state before the edit, for the audit trail.
	before, err := h.Repo.GetPackage(ctx, in.ID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	p, err := h.Repo.EditMetadata(ctx, in.ID, catalog.MetadataEdit{
		Name: in.Body.Name, MachineType: in.Body.MachineType, ControllerType: in.Body.ControllerType, Platform: in.Body.Platform,
	})
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	h.audit(ctx, auth.ActionPackageEdit, "edited the details of "+p.Name, p.ID,
		map[string]any{"before": packageFacts(before), "after": packageFacts(p)})
	return &packageOutput{Body: p}, nil
}

type versionsInput struct {
	ID     string `path:"id" doc:"package id (UUID)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor from the previous page"`
}

type versionsOutput struct {
	Body catalog.Page[catalog.Version]
}

func (h *handlers) versions(ctx context.Context, in *versionsInput) (*versionsOutput, error) {
	page, err := h.Repo.ListVersions(ctx, in.ID, in.Limit, in.Cursor)
	if errors.Is(err, catalog.ErrBadCursor) {
		return nil, badCursor(in.Cursor)
	}
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	return &versionsOutput{Body: page}, nil
}

type versionNumberInput struct {
	ID     string `path:"id" doc:"package id (UUID)"`
	Number int    `path:"number" minimum:"1" doc:"version number"`
}

// VersionBody is one version with its files.
type VersionBody struct {
	catalog.Version
	Files []catalog.File `json:"files"`
}

type versionFilesOutput struct{ Body VersionBody }

func (h *handlers) versionFiles(ctx context.Context, in *versionNumberInput) (*versionFilesOutput, error) {
	v, err := h.version(ctx, in.ID, in.Number)
	if err != nil {
		return nil, err
	}
	files, err := h.Repo.VersionFiles(ctx, v.ID)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &versionFilesOutput{Body: VersionBody{Version: v, Files: files}}, nil
}

// StatusBody is the polling answer.
type StatusBody struct {
	PackageID string         `json:"package_id"`
	VersionID string         `json:"version_id"`
	Version   int            `json:"version"`
	Status    catalog.Status `json:"status"`
	Done      bool           `json:"done" doc:"true when status is ready or error"`
	// Null when there is none (always present: the original API's
	// clients read them).
	ErrorMessage *string   `json:"error_message"`
	ErrorDetail  *string   `json:"error_detail"`
	FileCount    int       `json:"file_count"`
	SectionCount int       `json:"section_count"`
	ErrorCount   int       `json:"error_count" doc:"UPG diagnostics of severity error (the package can be ready and still have them)"`
	WarningCount int       `json:"warning_count"`
	InfoCount    int       `json:"info_count"`
	JobID        int64     `json:"job_id"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Search: indexed once the version is ready (shortly after).
	SearchIndexed bool                  `json:"search_indexed" doc:"the version can be found by search (indexed after ready)"`
	NearDuplicate *search.NearDuplicate `json:"near_duplicate,omitempty" doc:"the stored version this one shares the most lines with, when at least 60 %"`
}

type statusOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         StatusBody
}

func (h *handlers) status(ctx context.Context, in *idInput) (*statusOutput, error) {
	v, err := h.Repo.LatestVersion(ctx, in.ID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	body := StatusBody{
		PackageID: v.PackageID, VersionID: v.ID, Version: v.Number, Status: v.Status, Done: v.Status.Terminal(),
		ErrorMessage: orNull(v.ErrorMessage), ErrorDetail: orNull(v.ErrorDetail), FileCount: v.FileCount, SectionCount: v.SectionCount,
		ErrorCount: v.ErrorCount, WarningCount: v.WarningCount, InfoCount: v.InfoCount, JobID: v.JobID, UpdatedAt: v.UpdatedAt,
	}
	if h.Search != nil && v.Status == catalog.StatusReady {
		if body.SearchIndexed, body.NearDuplicate, err = h.Search.VersionSearch(ctx, v.ID); err != nil {
			return nil, h.fail(ctx, err)
		}
	}
	return &statusOutput{CacheControl: "no-store", Body: body}, nil
}

type fileInput struct {
	ID     string `path:"id"`
	FileID string `path:"file_id"`
	rawRequest
}

type streamOutput struct {
	Body func(ctx huma.Context)
}

func (h *handlers) downloadFile(ctx context.Context, in *fileInput) (*streamOutput, error) {
	f, err := h.Repo.GetFile(ctx, in.ID, in.FileID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "file", in.FileID)
	}
	obj, err := h.Blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return nil, h.blobErr(ctx, err, f.Filename)
	}
	return &streamOutput{Body: func(hctx huma.Context) {
		defer obj.Close()
		r, w := humachi.Unwrap(hctx)
		header, decision := httpguard.CheckRange(r.Header.Get("Range"), obj.Size())
		if decision == httpguard.RangeUnsatisfiable && r.Header.Get("If-Range") == "" {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", obj.Size()))
			WriteError(w, rangeNotSatisfiable(r.Header.Get("Range"), obj.Size()))
			return
		}
		if header == "" {
			r.Header.Del("Range")
		} else {
			r.Header.Set("Range", header)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
		w.Header().Set("ETag", `"`+f.SHA256+`"`)
		w.Header().Set("X-Content-SHA256", f.SHA256)
		http.ServeContent(&jsonErrors{ResponseWriter: w, rangeHeader: r.Header.Get("Range"), size: obj.Size()}, r, f.Filename, f.CreatedAt, obj)
	}}, nil
}

func rangeNotSatisfiable(rangeHeader string, size int64) error {
	return apperror.Newf(http.StatusRequestedRangeNotSatisfiable, apperror.CodeRangeInvalid,
		"The requested byte range is outside the file. Ask for bytes within its size, or leave out the Range header to get the whole file.",
		"Range %q on %d bytes", rangeHeader, size)
}

// jsonErrors turns the plain-text errors http.ServeContent writes (416 for
// a range it cannot serve, 412 for a failed precondition) into the API's
// JSON errors.
type jsonErrors struct {
	http.ResponseWriter
	rangeHeader string
	size        int64
	replaced    bool
}

func (j *jsonErrors) WriteHeader(status int) {
	if status < 400 || j.replaced {
		j.ResponseWriter.WriteHeader(status)
		return
	}
	j.replaced = true
	var err error = apperror.New(status, apperror.CodeBadRequest, http.StatusText(status)+".", "")
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		err = rangeNotSatisfiable(j.rangeHeader, j.size)
	case http.StatusPreconditionFailed:
		err = apperror.New(status, apperror.CodeBadRequest, "The file changed since you last fetched it (If-Match or If-Unmodified-Since failed).", "")
	}
	WriteError(j.ResponseWriter, err)
}

func (j *jsonErrors) Write(p []byte) (int, error) {
	if j.replaced {
		return len(p), nil // the plain-text body, replaced by the JSON one
	}
	return j.ResponseWriter.Write(p)
}

func (j *jsonErrors) Unwrap() http.ResponseWriter { return j.ResponseWriter }

func (h *handlers) blobErr(ctx context.Context, err error, name string) error {
	if errors.Is(err, blob.ErrNotFound) {
		return apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			"The stored copy of "+name+" is missing. Upload the package again.", err.Error())
	}
	return h.fail(ctx, apperror.Unavailable("The file store is not reachable right now. Try again in a minute.", err))
}

type zipInput struct {
	ID      string `path:"id"`
	Version int    `query:"version" minimum:"0" doc:"version number; 0 or absent means the latest"`
}

func (h *handlers) downloadZip(ctx context.Context, in *zipInput) (*streamOutput, error) {
	pkg, err := h.Repo.GetPackage(ctx, in.ID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	files := pkg.Files
	number := pkg.LatestVersion
	if in.Version != 0 && in.Version != pkg.LatestVersion {
		v, err := h.version(ctx, in.ID, in.Version)
		if err != nil {
			return nil, err
		}
		if files, err = h.Repo.VersionFiles(ctx, v.ID); err != nil {
			return nil, h.fail(ctx, err)
		}
		number = v.Number
	}
	// Check the store answers before the 200 goes out; a failure after
	// that can only abort the stream.
	if err := h.Blobs.Ping(ctx); err != nil {
		return nil, h.blobErr(ctx, err, "the package")
	}
	name := zipName(pkg.Name, number)
	return &streamOutput{Body: func(hctx huma.Context) {
		r, w := humachi.Unwrap(hctx)
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return // the headers are the answer; do not read every file
		}
		if err := h.writeZip(r.Context(), w, files); err != nil {
			h.Log.ErrorContext(r.Context(), "zip download aborted", "package", pkg.ID, "err", err)
			// Abort the connection so the client sees a failed download, not a truncated ZIP.
			panic(http.ErrAbortHandler)
		}
	}}, nil
}

func (h *handlers) writeZip(ctx context.Context, w io.Writer, files []catalog.File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		obj, err := h.Blobs.Open(ctx, f.BlobKey)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: f.Filename, Method: zip.Deflate, Modified: f.CreatedAt}
		if f.ContentKind == "binary" {
			hdr.Method = zip.Store
		}
		dst, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = io.Copy(dst, obj)
		}
		obj.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

func zipName(pkgName string, version int) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`\/:*?"<>|`, r) {
			return '_'
		}
		return r
	}, pkgName)
	return fmt.Sprintf("%s-v%d.zip", clean, version)
}

type deleteOutput struct{}

func (h *handlers) delete(ctx context.Context, in *idInput) (*deleteOutput, error) {
	// auth: engineers and reviewers delete only packages they uploaded
	// themselves; administrators any.
	pkg, err := h.Repo.GetPackage(ctx, in.ID)
	if err != nil {
		return nil, h.repoErr(ctx, err, "package", in.ID)
	}
	var uploaders []string
	for cursor := ""; ; {
		page, err := h.Repo.ListVersions(ctx, in.ID, 500, cursor)
		if err != nil {
			return nil, h.repoErr(ctx, err, "package", in.ID)
		}
		for _, v := range page.Items {
			uploaders = append(uploaders, v.UploadedBy)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if !auth.MayDeletePackage(auth.ActorFrom(ctx), uploaders) {
		return nil, auth.ErrForbidden("You may delete only packages whose every version you uploaded yourself. Ask an administrator to delete this one.")
	}
	if err := h.Service.Delete(ctx, in.ID); err != nil {
		return nil, h.fail(ctx, err)
	}
	h.audit(ctx, auth.ActionPackageDelete, "deleted "+pkg.Name, pkg.ID,
		map[string]any{"before": packageFacts(pkg), "versions": len(uploaders)})
	return &deleteOutput{}, nil
}

func packageFacts(p catalog.Package) map[string]any {
	return map[string]any{"name": p.Name, "machine_type": p.MachineType, "controller_type": p.ControllerType, "platform": p.Platform}
}
