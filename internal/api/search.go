package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/search"
)

func (h *handlers) registerSearch(api huma.API) {
	tags := []string{"search"}
	huma.Register(api, huma.Operation{
		OperationID: "search", Method: http.MethodGet, Path: Prefix + "/search",
		Summary: "Find lines, names and sections across every package, grouped by package then file",
		Description: "The query language: a word (`spindle`) matches identifiers, words and identifier parts (parts rank lower); " +
			"an identifier with `_` (`SPINDLE_DIR`) matches exactly that identifier; `SPIN*` is a prefix; anything else " +
			"(`G43.4`, `%`) and a \"quoted phrase\" is a literal substring of the line or of what a :T: line outputs (`<M:06>` outputs M06). " +
			"`-term` leaves out files that match it. Qualifiers `package:` `machine:` `controller:` `platform:` `kind:` `file:` " +
			"`section:` (a name, or system, template, calc, user) `versions:all` `mode:` narrow the search like the parameters. " +
			"Case-insensitive. A file matches when it matches every term; its lines matching any term are the hits, " +
			"definitions ranked above assignments and uses, uses above comments.",
		Tags: tags, Errors: []int{400, 503},
	}, h.search)
	huma.Register(api, huma.Operation{
		OperationID: "similar-packages", Method: http.MethodGet, Path: Prefix + "/packages/{id}/similar",
		Summary: "Posts like this one (its latest version), by structural embedding, with the share of identical lines",
		Tags:    tags, Errors: []int{404, 409, 503},
	}, h.similarPackages)
	huma.Register(api, huma.Operation{
		OperationID: "similar-sections", Method: http.MethodGet, Path: Prefix + "/sections/{id}/similar",
		Summary: "Sections like this one across the packages' latest versions (ids come from search results and the source view)",
		Tags:    tags, Errors: []int{404, 503},
	}, h.similarSections)
}

type searchInput struct {
	Q           string `query:"q" maxLength:"500" doc:"the query (see the operation's description)"`
	Package     string `query:"package" maxLength:"200" doc:"a package id, or part of a package name"`
	Machine     string `query:"machine" maxLength:"200"`
	Controller  string `query:"controller" maxLength:"200"`
	Platform    string `query:"platform" maxLength:"100"`
	Kind        string `query:"kind" enum:"src,lib,atr,include,cnf,kin,pinf,lng,other," doc:"file kind"`
	File        string `query:"file" maxLength:"200" doc:"part of a file name"`
	Section     string `query:"section" maxLength:"200" doc:"a section name (NAME* for a prefix), or a kind: system, template, calc, user"`
	Versions    string `query:"versions" enum:"latest,all" default:"latest" doc:"each package's latest version, or every version"`
	Mode        string `query:"mode" enum:"auto,lexical,vector,hybrid" default:"auto" doc:"ranking; auto is hybrid for free-text questions, lexical otherwise"`
	Limit       int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"packages per page"`
	Cursor      string `query:"cursor" maxLength:"100" doc:"next_cursor from the previous page"`
	Context     int    `query:"context" minimum:"0" maximum:"5" default:"2" doc:"lines of context around each hit"`
	HitsPerFile int    `query:"hits_per_file" minimum:"1" maximum:"50" default:"5" doc:"hits shown per file (the rest are counted)"`
}

type searchOutput struct{ Body *search.Result }

func (h *handlers) searcher() (*search.Searcher, error) {
	if h.Search == nil {
		return nil, apperror.New(http.StatusServiceUnavailable, apperror.CodeUnavailable,
			"Search is not available on this server.", "no search index configured")
	}
	return h.Search, nil
}

func (h *handlers) search(ctx context.Context, in *searchInput) (*searchOutput, error) {
	s, err := h.searcher()
	if err != nil {
		return nil, err
	}
	mode := search.Mode(in.Mode)
	if in.Mode == "auto" {
		mode = search.ModeAuto
	}
	res, err := s.Search(ctx, search.Request{
		Query: in.Q, Mode: mode, Limit: in.Limit, Cursor: in.Cursor, Context: in.Context, HitsPerFile: in.HitsPerFile,
		Filter: search.Filter{Package: in.Package, Machine: in.Machine, Controller: in.Controller, Platform: in.Platform,
			FileKind: in.Kind, File: in.File, Section: in.Section, AllVersions: in.Versions == "all"},
	})
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &searchOutput{Body: res}, nil
}

type similarPackagesInput struct {
	ID       string `path:"id" doc:"package id (UUID)"`
	Limit    int    `query:"limit" minimum:"1" maximum:"100" default:"10"`
	Versions string `query:"versions" enum:"latest,all" default:"latest" doc:"compare with other packages' latest versions, or every version"`
}

// SimilarPackagesBody is the answer of similar-packages.
type SimilarPackagesBody struct {
	PackageID string                  `json:"package_id"`
	Version   int                     `json:"version"`
	Items     []search.SimilarPackage `json:"items"`
}

type similarPackagesOutput struct{ Body SimilarPackagesBody }

func (h *handlers) similarPackages(ctx context.Context, in *similarPackagesInput) (*similarPackagesOutput, error) {
	s, err := h.searcher()
	if err != nil {
		return nil, err
	}
	v, err := h.latest(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	items, err := s.SimilarPackages(ctx, v.ID, in.Limit, in.Versions == "all")
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &similarPackagesOutput{Body: SimilarPackagesBody{PackageID: v.PackageID, Version: v.Number, Items: items}}, nil
}

type similarSectionsInput struct {
	ID    string `path:"id" maxLength:"100" doc:"section id: <file SHA-256>-<position in the file>"`
	Limit int    `query:"limit" minimum:"1" maximum:"100" default:"10"`
}

type similarSectionsOutput struct{ Body *search.SimilarSections }

func (h *handlers) similarSections(ctx context.Context, in *similarSectionsInput) (*similarSectionsOutput, error) {
	s, err := h.searcher()
	if err != nil {
		return nil, err
	}
	res, err := s.SimilarSectionsOf(ctx, in.ID, in.Limit)
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &similarSectionsOutput{Body: res}, nil
}
