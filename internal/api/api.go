// Package api serves VeriPost's JSON API under /api/v1. The OpenAPI 3
// document at /api/v1/openapi.json is generated from the Go types of the
// handlers (huma), so it cannot drift from the code.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/blob"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/httpguard"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/loader"
	"github.com/veripost/veripost/internal/registry"
	"github.com/veripost/veripost/internal/search"
	"github.com/veripost/veripost/internal/upload"
)

// Deps is what the API needs.
type Deps struct {
	Repo    catalog.Repository
	Browser catalog.Browser
	Service *catalog.Service
	Blobs   blob.Store
	Index   index.Reader
	Reindex Reindexer
	Search  *search.Searcher // nil: the search routes answer 503
	Compare *compare.Service // optional
	Explain *loader.Loader   // loads and analyses stored versions for the explain endpoints
	// Registry is the stock library registry (nil: its routes are absent).
	Registry *registry.Service
	Limits   upload.Limits
	// AnalysisLimits bound the files POST /parse analyses.
	AnalysisLimits analysis.Limits
	Log            *slog.Logger
	Version        string
	// Auth serves accounts, tokens and the audit trail.
	Auth *auth.Service
	// Copilot answers questions with the configured LLM (nil: off, and the
	// ask routes answer LLM_DISABLED); Usage lists its provider calls.
	Copilot *llm.Copilot
	Usage   llm.UsageLister
}

// secretField matches the locations of request fields that hold secrets.
var secretField = regexp.MustCompile(`(?i)password|token|secret|code`)

// Prefix is where the API lives.
const Prefix = "/api/v1"

func init() {
	// Every error huma itself produces (bad parameters, schema validation)
	// takes VeriPost's {message, detail, code} shape.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		details := make([]string, 0, len(errs))
		for _, e := range errs {
			if e == nil {
				continue
			}
			// Validation errors quote the value; never a secret's.
			if d, ok := e.(*huma.ErrorDetail); ok && secretField.MatchString(d.Location) {
				details = append(details, d.Message+" ("+d.Location+")")
				continue
			}
			details = append(details, e.Error())
		}
		code := apperror.CodeBadRequest
		switch {
		case status == http.StatusNotFound:
			code = apperror.CodeNotFound
		case status == http.StatusUnprocessableEntity:
			code = apperror.CodeValidation
		case status == http.StatusRequestEntityTooLarge:
			code = apperror.CodeRequestTooLarge
		case status >= 500:
			code = apperror.CodeInternal
		}
		detail := strings.Join(details, "; ")
		if detail == "" {
			detail = msg
		}
		if strings.Contains(detail, errJSONNUL.Error()) {
			return httpguard.ErrNUL("the JSON body").(*apperror.Error)
		}
		if status >= 500 {
			// A framework failure on the server side: its text is for the log.
			return apperror.Server(fmt.Errorf("%s: %s", msg, detail))
		}
		// Some framework errors quote the request body; never echo it whole.
		const maxDetail = 600
		if len(detail) > maxDetail {
			detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
		}
		return apperror.New(status, code, friendly(status, msg), detail)
	}
}

func friendly(status int, msg string) string {
	switch {
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return "The request is not valid: " + msg + ". Check the parameters against the API documentation at " + Prefix + "/openapi.json."
	case status >= 500:
		return "Something went wrong on the server. Try again; if it keeps happening, ask your administrator to check the server log."
	default:
		return msg
	}
}

// Mount registers the API routes on r and returns the huma API (for the
// OpenAPI document).
func Mount(r chi.Router, d Deps) huma.API {
	cfg := huma.DefaultConfig("VeriPost API", d.Version)
	cfg.Info.Description = "Store, browse and download CAMWorks UPG post processor packages. Every error is a JSON object {message, detail, code}."
	cfg.OpenAPIPath = Prefix + "/openapi"
	cfg.DocsPath = "" // the built-in docs page loads scripts from a CDN; VeriPost must work offline
	cfg.SchemasPath = Prefix + "/schemas"
	cfg.CreateHooks = nil // no $schema links in responses
	// JSON bodies with a NUL character in a text are refused with a 400
	// before any handler runs: PostgreSQL cannot store one, SQLite would.
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	api := humachi.New(r, cfg)
	h := &handlers{Deps: d}
	h.register(api)
	h.registerIndex(api)
	h.registerParse(api)
	h.registerSearch(api)
	h.registerCompare(api)
	h.registerExplain(api)
	h.registerCopilot(api)
	h.registerAuth(api)
	h.registerRegistry(api)
	h.registerCompat(api)
	return api
}

var jsonFormat = huma.Format{
	Marshal: huma.DefaultJSONFormat.Marshal,
	Unmarshal: func(data []byte, v any) error {
		if httpguard.JSONHasNUL(data) {
			return errJSONNUL
		}
		return json.Unmarshal(data, v)
	},
}

// errJSONNUL reaches huma.NewError only as text, inside a validation error.
var errJSONNUL = errors.New("a JSON text value holds a NUL character")

// schemaName names a type's schema in the OpenAPI document. Types from other
// packages are prefixed with their package (CatalogPackage,
// ResolveSideFile), because packages reuse short names.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	if pkg == "" || t.Name() == "" || strings.HasSuffix(pkg, "/internal/api") {
		return name
	}
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	return strings.ToUpper(base[:1]) + base[1:] + name
}

type handlers struct{ Deps }

// fail converts any error into the API's error shape.
func (h *handlers) fail(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) {
		return apperror.New(499, apperror.CodeClientClosed, "The request was cancelled.", err.Error())
	}
	e := apperror.From(err)
	if e.Status >= 500 {
		// The answer names no internal detail; the request id leads from
		// it to this log line, which has the cause.
		id := middleware.GetReqID(ctx)
		h.Log.ErrorContext(ctx, "request failed", "code", e.Code, "err", err, "request_id", id)
		if id != "" {
			c := *e
			c.Detail += " (request id " + id + ")"
			e = &c
		}
	}
	return e
}

// repoErr maps repository errors for a thing of kind what with id.
func (h *handlers) repoErr(ctx context.Context, err error, what, id string) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return catalog.NotFound(what, id)
	}
	return h.fail(ctx, err)
}

// WriteError writes err as the API's JSON error; used by middleware and
// routes outside huma.
func WriteError(w http.ResponseWriter, err error) {
	e := apperror.From(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}
