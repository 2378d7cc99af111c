package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/diff"
)

func (h *handlers) registerCompare(api huma.API) {
	if h.Compare == nil {
		return
	}
	huma.Register(api, huma.Operation{
		OperationID: "compare", Method: http.MethodGet, Path: Prefix + "/compare",
		Summary: "Compare two versions, two packages or two library variants: files paired, line diffs and a UPG-aware diff",
		Description: "Each side is `a`/`b` = PACKAGE[@VERSION] (a package id or exact name; the latest version when @VERSION is absent), " +
			"or `a_sha`/`b_sha` = the SHA-256 of a stored file (a library variant). `a_file`/`b_file` keep only one file of a package side " +
			"(a package's MILL.LIB against a variant). Every item of `result.semantic` carries line ranges on both sides (`a`, `b`: file, line, end_line).",
		Tags: []string{"compare"}, Errors: []int{400, 404, 409, 422, 503},
	}, h.compare)
	huma.Register(api, huma.Operation{
		OperationID: "edit-version", Method: http.MethodPatch, Path: Prefix + "/packages/{id}/versions/{number}",
		Summary: "Edit a version's change note", Tags: []string{"packages"}, Errors: []int{404, 422},
	}, h.editVersion)
}

type compareInput struct {
	A                string `query:"a" doc:"side A: PACKAGE[@VERSION], a package id or exact name" example:"Tormach PCNC1100@2"`
	ASHA             string `query:"a_sha" doc:"side A: the SHA-256 of a stored file (a library variant), instead of a"`
	AFile            string `query:"a_file" doc:"compare only this file of package side A"`
	B                string `query:"b" doc:"side B: PACKAGE[@VERSION]"`
	BSHA             string `query:"b_sha" doc:"side B: the SHA-256 of a stored file, instead of b"`
	BFile            string `query:"b_file" doc:"compare only this file of package side B"`
	IgnoreWhitespace bool   `query:"ignore_whitespace" doc:"ignore blanks inside lines, blank lines, line endings and the final newline"`
	IgnoreCase       bool   `query:"ignore_case" doc:"ignore letter case"`
	IgnoreComments   bool   `query:"ignore_comments" doc:"ignore changes that only touch comment (and blank) lines"`
	Context          int    `query:"context" minimum:"0" maximum:"1000000" default:"3" doc:"unchanged lines shown around each change"`
	Hunks            bool   `query:"hunks" default:"true" doc:"include the line diffs (false: summary and UPG-aware diff only)"`
}

type compareOutput struct {
	Body *compare.Comparison
}

// sideRef turns a side's query parameters into a reference.
func sideRef(which, ref, sha, file string) (compare.Ref, error) {
	ref, sha = strings.TrimSpace(ref), strings.TrimSpace(sha)
	switch {
	case ref != "" && sha != "":
		return compare.Ref{}, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
			"Give side "+which+" either as a package ("+which+"=PACKAGE@VERSION) or as a content ("+which+"_sha=SHA-256), not both.", "")
	case sha != "":
		return compare.Ref{SHA256: sha}, nil
	case ref == "":
		return compare.Ref{}, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
			"Say what side "+which+" is: "+which+"=PACKAGE[@VERSION] or "+which+"_sha=SHA-256.", "missing "+which)
	}
	r, err := compare.ParseRef(ref)
	r.File = strings.TrimSpace(file)
	return r, err
}

func (h *handlers) compare(ctx context.Context, in *compareInput) (*compareOutput, error) {
	a, err := sideRef("a", in.A, in.ASHA, in.AFile)
	if err != nil {
		return nil, err
	}
	b, err := sideRef("b", in.B, in.BSHA, in.BFile)
	if err != nil {
		return nil, err
	}
	opt := diff.Options{IgnoreWhitespace: in.IgnoreWhitespace, IgnoreCase: in.IgnoreCase, IgnoreComments: in.IgnoreComments,
		Context: in.Context, NoHunks: !in.Hunks}
	if opt.Context == 0 {
		opt.Context = -1 // none
	}
	c, err := h.Compare.Compare(ctx, a, b, opt)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &compareOutput{Body: c}, nil
}

type editVersionInput struct {
	ID     string `path:"id"`
	Number int    `path:"number" minimum:"1"`
	Body   struct {
		Note string `json:"note" maxLength:"2000" doc:"what changed in this version (empty clears it)"`
	}
}

type versionOutput struct {
	Body catalog.Version
}

func (h *handlers) editVersion(ctx context.Context, in *editVersionInput) (*versionOutput, error) {
	v, err := h.Repo.SetVersionNote(ctx, in.ID, in.Number, strings.TrimSpace(in.Body.Note))
	if err != nil {
		return nil, h.repoErr(ctx, err, "version", in.ID)
	}
	return &versionOutput{Body: v}, nil
}
